//! `kind: sqlite`: a SQLite database file. SQL sees its tables as `<source>.<table>`.

use crate::decode::{Cx, KeyedMap, MapReader};
use crate::source::Spanned;
use crate::spec::columns::TableDecl;
use crate::spec::values::DurationValue;

#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SqliteSource {
    pub description: Option<String>,
    /// The database file, relative to the spec file that names it.
    pub path: Spanned<String>,
    /// How long to wait on a locked database (default 5s).
    pub busy_timeout: Option<DurationValue>,
    /// Declared tables for offline checking (else the lock file or the file itself).
    #[schemars(default)]
    pub tables: KeyedMap<TableDecl>,
}

pub const KEYS: &[&str] = &["kind", "description", "path", "busy_timeout", "tables"];

pub fn decode(m: &mut MapReader, cx: &mut Cx) -> Option<super::SourceConfig> {
    let description = m.opt(cx, "description");
    let path = m.req(cx, "path");
    let busy_timeout = m.opt(cx, "busy_timeout");
    let tables = m.opt(cx, "tables").unwrap_or_default();
    Some(super::SourceConfig::Sqlite(SqliteSource {
        description,
        path: path?,
        busy_timeout,
        tables,
    }))
}
