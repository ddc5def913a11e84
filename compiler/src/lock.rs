//! The schema lock file (`schema.lock.yaml` in the project directory), written by
//! `widgettdc schema pull` and committed next to the spec so that `check` types SQL offline.
//!
//! ```yaml
//! version: 1
//! sources:
//!   crm:
//!     tables:
//!       customers: { columns: { id: int64, name: string } }
//!       sales.orders: { columns: { id: int64 } }
//! ```

use crate::decode::{Cx, Decode, KeyedMap, MapReader};
use crate::spec::columns::TableDecl;
use crate::yaml::Node;

/// Source → table key → columns `(name, type, nullable)`.
pub type LockedColumns = std::collections::BTreeMap<
    String,
    std::collections::BTreeMap<String, Vec<(String, String, bool)>>,
>;

pub const LOCK_FILE: &str = "schema.lock.yaml";

#[derive(Debug, Clone, Default, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LockFile {
    pub version: Option<i64>,
    pub sources: KeyedMap<LockSource>,
}

#[derive(Debug, Clone, Default, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LockSource {
    /// Table key (`table`, `schema.table`, or for a file source its name) → columns.
    pub tables: KeyedMap<TableDecl>,
}

impl Decode for LockFile {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let mut m = MapReader::new(node, cx, "lock file", &["version", "sources"])?;
        let l = LockFile {
            version: m.opt(cx, "version"),
            sources: m.opt(cx, "sources").unwrap_or_default(),
        };
        m.finish(cx);
        Some(l)
    }
}

impl Decode for LockSource {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let mut m = MapReader::new(node, cx, "locked source", &["tables"])?;
        let l = LockSource {
            tables: m.opt(cx, "tables").unwrap_or_default(),
        };
        m.finish(cx);
        Some(l)
    }
}

/// Render a lock file from schemas: source → table key → columns `(name, type, nullable)`.
pub fn render(sources: &LockedColumns) -> String {
    let mut out = String::from("# Written by `widgettdc schema pull`; commit it so `widgettdc check` types SQL offline.\nversion: 1\nsources:\n");
    for (src, tables) in sources {
        out.push_str(&format!("  {}:\n    tables:\n", yaml_key(src)));
        for (table, cols) in tables {
            out.push_str(&format!("      {}:\n        columns:\n", yaml_key(table)));
            for (name, ty, nullable) in cols {
                if *nullable {
                    out.push_str(&format!("          {}: {}\n", yaml_key(name), yaml_key(ty)));
                } else {
                    out.push_str(&format!(
                        "          {}: {{ type: {}, nullable: false }}\n",
                        yaml_key(name),
                        yaml_key(ty)
                    ));
                }
            }
        }
    }
    out
}

fn yaml_key(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | '.' | '-' | '<' | '>' | '(' | ')' | ' ' | ',')
        })
        && !s.starts_with(['-', ' '])
        && !s.ends_with(' ')
        && crate::yaml::scalar_kind(s) == crate::yaml::ScalarKind::Str;
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }
}
