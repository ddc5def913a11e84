//! `kind: postgres`: a PostgreSQL database. SQL sees its tables as `<source>.<table>` (default
//! schema) and `<source>.<schema>.<table>`.

use super::connection::Connection;
use crate::decode::{Cx, KeyedMap, MapReader};
use crate::spec::columns::TableDecl;

#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct PostgresSource {
    pub description: Option<String>,
    #[schemars(flatten)]
    pub connection: Connection,
    /// The schema unqualified table names refer to (default `public`).
    pub schema: Option<String>,
    /// Declared tables (`table` or `schema.table`) for offline checking.
    #[schemars(default)]
    pub tables: KeyedMap<TableDecl>,
}

pub const KEYS: &[&str] = &[
    "kind",
    "description",
    "url",
    "host",
    "port",
    "user",
    "password",
    "database",
    "schema",
    "pool",
    "tls",
    "timeout",
    "tables",
];

pub fn decode(m: &mut MapReader, cx: &mut Cx) -> Option<super::SourceConfig> {
    Some(super::SourceConfig::Postgres(PostgresSource {
        description: m.opt(cx, "description"),
        connection: Connection::read(m, cx),
        schema: m.opt(cx, "schema"),
        tables: m.opt(cx, "tables").unwrap_or_default(),
    }))
}
