//! Source kinds. Each kind is one file with its config struct, its keys and its decoder,
//! registered in [`SOURCE_KINDS`].
//!
//! How to add a source kind: create `<kind>.rs` with a `<Kind>Source` struct (derive
//! `JsonSchema`, `deny_unknown_fields`), a `KEYS` list that includes `kind` and `description`,
//! and `decode(&mut MapReader, &mut Cx) -> Option<SourceConfig>`; add a variant to
//! [`SourceConfig`] and an entry to [`SOURCE_KINDS`]; then teach the runtime to build a table
//! provider for it (runtime/src/sources/).

pub mod connection;
pub mod file;
pub mod graphql;
pub mod http;
pub mod mcp;
pub mod mysql;
pub mod postgres;
pub mod rest;
pub mod sqlite;

use crate::codes::Code;
use crate::decode::{Cx, Decode, MapReader};
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::yaml::Node;

/// One registered source kind.
pub struct SourceKind {
    pub name: &'static str,
    pub summary: &'static str,
    pub keys: &'static [&'static str],
    pub decode: fn(&mut MapReader, &mut Cx) -> Option<SourceConfig>,
}

/// The dispatch table of source kinds.
pub const SOURCE_KINDS: &[SourceKind] = &[
    SourceKind {
        name: "postgres",
        summary: "PostgreSQL database",
        keys: postgres::KEYS,
        decode: postgres::decode,
    },
    SourceKind {
        name: "mysql",
        summary: "MySQL or MariaDB database",
        keys: mysql::KEYS,
        decode: mysql::decode,
    },
    SourceKind {
        name: "sqlite",
        summary: "SQLite database file",
        keys: sqlite::KEYS,
        decode: sqlite::decode,
    },
    SourceKind {
        name: "file",
        summary: "CSV/TSV/Parquet/JSON/NDJSON/Arrow/YAML file(s)",
        keys: file::KEYS,
        decode: file::decode,
    },
    SourceKind {
        name: "rest",
        summary: "HTTP/JSON API",
        keys: rest::KEYS,
        decode: rest::decode,
    },
    SourceKind {
        name: "graphql",
        summary: "GraphQL API",
        keys: graphql::KEYS,
        decode: graphql::decode,
    },
    SourceKind {
        name: "mcp",
        summary: "MCP server (stdio or streamable HTTP)",
        keys: mcp::KEYS,
        decode: mcp::decode,
    },
];

/// A source's configuration, by kind.
#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(tag = "kind", rename_all = "lowercase")]
pub enum SourceConfig {
    Postgres(postgres::PostgresSource),
    Mysql(mysql::MysqlSource),
    Sqlite(sqlite::SqliteSource),
    File(file::FileSource),
    Rest(rest::RestSource),
    Graphql(graphql::GraphqlSource),
    Mcp(mcp::McpSource),
}

impl SourceConfig {
    /// The source's `description:`.
    pub fn description(&self) -> Option<&str> {
        match self {
            SourceConfig::Postgres(s) => s.description.as_deref(),
            SourceConfig::Mysql(s) => s.description.as_deref(),
            SourceConfig::Sqlite(s) => s.description.as_deref(),
            SourceConfig::File(s) => s.description.as_deref(),
            SourceConfig::Rest(s) => s.description.as_deref(),
            SourceConfig::Graphql(s) => s.description.as_deref(),
            SourceConfig::Mcp(s) => s.description.as_deref(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            SourceConfig::Postgres(_) => "postgres",
            SourceConfig::Mysql(_) => "mysql",
            SourceConfig::Sqlite(_) => "sqlite",
            SourceConfig::File(_) => "file",
            SourceConfig::Rest(_) => "rest",
            SourceConfig::Graphql(_) => "graphql",
            SourceConfig::Mcp(_) => "mcp",
        }
    }
}

impl Decode for SourceConfig {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let key_span = cx.key_span.clone();
        let Some(kind_node) = node.get("kind") else {
            if node.as_map().is_none() {
                cx.wrong_type(node, "a mapping (source)");
                return None;
            }
            let span = key_span.unwrap_or_else(|| node.span.clone());
            cx.error(
                Diagnostic::error(
                    Code::MissingField,
                    span,
                    "source is missing the required key `kind`",
                )
                .label("`kind` missing here")
                .help(format!(
                    "add `kind:` with one of: {}",
                    kind_names().join(", ")
                )),
            );
            return None;
        };
        let kind = String::decode(kind_node, cx)?;
        let Some(def) = SOURCE_KINDS.iter().find(|k| k.name == kind) else {
            let help = did_you_mean(&kind, SOURCE_KINDS.iter().map(|k| k.name))
                .unwrap_or_else(|| format!("known kinds: {}", kind_names().join(", ")));
            cx.error(
                Diagnostic::error(
                    Code::UnknownSourceKind,
                    kind_node.span.clone(),
                    format!("unknown source kind `{kind}`"),
                )
                .label("unknown kind")
                .help(help),
            );
            return None;
        };
        cx.key_span = key_span;
        let mut m = MapReader::new(node, cx, format!("{kind} source"), def.keys)?;
        let out = (def.decode)(&mut m, cx);
        m.finish(cx);
        out
    }
}

fn kind_names() -> Vec<&'static str> {
    SOURCE_KINDS.iter().map(|k| k.name).collect()
}
