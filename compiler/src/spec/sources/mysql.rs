//! `kind: mysql`: a MySQL or MariaDB database. SQL sees its tables as `<source>.<table>` (the
//! connection's database) and `<source>.<database>.<table>`.

use super::connection::Connection;
use crate::decode::{Cx, KeyedMap, MapReader};
use crate::spec::columns::TableDecl;

#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct MysqlSource {
    pub description: Option<String>,
    #[schemars(flatten)]
    pub connection: Connection,
    /// Declared tables (`table` or `database.table`) for offline checking.
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
    "pool",
    "tls",
    "timeout",
    "tables",
];

pub fn decode(m: &mut MapReader, cx: &mut Cx) -> Option<super::SourceConfig> {
    Some(super::SourceConfig::Mysql(MysqlSource {
        description: m.opt(cx, "description"),
        connection: Connection::read(m, cx),
        tables: m.opt(cx, "tables").unwrap_or_default(),
    }))
}
