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
//!   fs:                       # an MCP server: its tools (and resource templates)
//!     tools:
//!       search_files:
//!         arguments: { path: { type: string, required: true }, pattern: string }
//!         columns: { name: string, size: int64 }   # absent: known only when it runs
//! ```

use crate::decode::{Cx, Decode, KeyedMap, MapReader};
use crate::mcp::{ToolArgument, ToolSignature};
use crate::spec::columns::{ColumnDecl, TableDecl};
use crate::yaml::{Node, NodeKind};

/// Source → table key → columns `(name, type, nullable)`.
pub type LockedColumns = std::collections::BTreeMap<
    String,
    std::collections::BTreeMap<String, Vec<(String, String, bool)>>,
>;

/// Source → MCP tool name → signature.
pub type LockedTools =
    std::collections::BTreeMap<String, std::collections::BTreeMap<String, ToolSignature>>;

/// Everything a lock file holds, as data (what `schema pull` writes).
#[derive(Debug, Clone, Default)]
pub struct Locked {
    pub tables: LockedColumns,
    pub tools: LockedTools,
}

impl Locked {
    /// The sources this holds anything for.
    pub fn sources(&self) -> std::collections::BTreeSet<&String> {
        self.tables.keys().chain(self.tools.keys()).collect()
    }

    /// Whether `source` was read (has an entry of either kind).
    pub fn has(&self, source: &str) -> bool {
        self.tables.contains_key(source) || self.tools.contains_key(source)
    }

    /// Take `other`'s entries for each source it has, replacing this one's.
    pub fn merge(&mut self, other: Locked) {
        for s in other.sources() {
            self.tables.remove(s.as_str());
            self.tools.remove(s.as_str());
        }
        self.tables.extend(other.tables);
        self.tools.extend(other.tools);
    }
}

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
    /// An MCP server's tools and resource templates.
    pub tools: KeyedMap<LockedTool>,
}

/// A locked MCP tool: its arguments and, when the server declares an `outputSchema`, the
/// columns of its result.
#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LockedTool {
    pub arguments: KeyedMap<LockedArgument>,
    pub columns: Option<KeyedMap<ColumnDecl>>,
}

/// `path: string` or `path: { type: string, required: true }` (the JSON type of the argument).
#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LockedArgument {
    #[schemars(rename = "type")]
    pub json_type: String,
    pub required: bool,
}

impl LockedTool {
    pub fn signature(&self) -> ToolSignature {
        ToolSignature {
            arguments: self
                .arguments
                .iter()
                .map(|(name, a)| ToolArgument {
                    name: name.clone(),
                    json_type: a.json_type.clone(),
                    required: a.required,
                })
                .collect(),
            columns: self.columns.as_ref().map(|cols| {
                cols.iter()
                    .map(|(n, c)| (n.clone(), c.ty.value.0.clone()))
                    .collect()
            }),
        }
    }
}

const JSON_TYPES: &[&str] = &[
    "string", "integer", "number", "boolean", "array", "object", "any",
];

impl Decode for LockedTool {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let mut m = MapReader::new(node, cx, "locked tool", &["arguments", "columns"])?;
        let l = LockedTool {
            arguments: m.opt(cx, "arguments").unwrap_or_default(),
            columns: m.opt(cx, "columns"),
        };
        m.finish(cx);
        Some(l)
    }
}

/// An argument's JSON type name, one of [`JSON_TYPES`].
struct JsonTypeName(String);

impl Decode for JsonTypeName {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        crate::decode::one_of(node, cx, JSON_TYPES, "JSON type").map(|s| JsonTypeName(s.value))
    }
}

impl Decode for LockedArgument {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        if let NodeKind::Scalar { .. } = node.kind {
            return JsonTypeName::decode(node, cx).map(|t| LockedArgument {
                json_type: t.0,
                required: false,
            });
        }
        let mut m = MapReader::new(node, cx, "locked argument", &["type", "required"])?;
        let ty: Option<JsonTypeName> = m.req(cx, "type");
        let required = m.opt(cx, "required").unwrap_or(false);
        m.finish(cx);
        Some(LockedArgument {
            json_type: ty?.0,
            required,
        })
    }
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
        let mut m = MapReader::new(node, cx, "locked source", &["tables", "tools"])?;
        let l = LockSource {
            tables: m.opt(cx, "tables").unwrap_or_default(),
            tools: m.opt(cx, "tools").unwrap_or_default(),
        };
        m.finish(cx);
        Some(l)
    }
}

/// Render a lock file.
pub fn render(locked: &Locked) -> String {
    let mut out = String::from("# Written by `widgettdc schema pull`; commit it so `widgettdc check` types SQL offline.\nversion: 1\nsources:\n");
    for src in locked.sources() {
        out.push_str(&format!("  {}:\n", yaml_key(src)));
        if let Some(tables) = locked.tables.get(src.as_str()) {
            render_tables(&mut out, tables);
        }
        if let Some(tools) = locked.tools.get(src.as_str()) {
            render_tools(&mut out, tools);
        }
    }
    out
}

fn render_tools(out: &mut String, tools: &std::collections::BTreeMap<String, ToolSignature>) {
    out.push_str("    tools:\n");
    for (tool, sig) in tools {
        out.push_str(&format!("      {}:\n", yaml_key(tool)));
        if sig.arguments.is_empty() {
            out.push_str("        arguments: {}\n");
        } else {
            out.push_str("        arguments:\n");
        }
        for a in &sig.arguments {
            let ty = if JSON_TYPES.contains(&a.json_type.as_str()) {
                a.json_type.as_str()
            } else {
                "any"
            };
            out.push_str(&format!(
                "          {}: {{ type: {ty}, required: {} }}\n",
                yaml_key(&a.name),
                a.required
            ));
        }
        if let Some(cols) = &sig.columns {
            out.push_str("        columns:\n");
            for (name, ty) in cols {
                out.push_str(&format!(
                    "          {}: {}\n",
                    yaml_key(name),
                    yaml_key(&ty.to_string())
                ));
            }
        }
    }
}

fn render_tables(
    out: &mut String,
    tables: &std::collections::BTreeMap<String, Vec<(String, String, bool)>>,
) {
    out.push_str("    tables:\n");
    {
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
