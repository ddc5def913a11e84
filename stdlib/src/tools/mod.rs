//! Built-in tools: tools every source has, which a toolset opts into by naming them
//! `<source>.<tool>` (e.g. `toolsets: { ops: [events.list_tables, events.describe_table] }`);
//! `widgettdc run events.list_tables` runs one directly.
//!
//! Each tool is one file and is written as SQL over DataFusion's `information_schema`, so it
//! runs like any other tool (and, like any other, is read-only).
//!
//! How to add a built-in tool: create `<name>.rs` with a `pub const TOOL: BuiltinTool`, give it
//! parameters, an output schema and an `sql` function of the source, add it to [`BUILTIN_TOOLS`],
//! and document it in `docs/stdlib.md`.

pub mod describe_table;
pub mod list_tables;

use arrow_schema::DataType;

/// Where a source's tables live in the runtime's catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceShape {
    /// A file source: one table named after the source, in the default schema.
    File,
    /// A database or API source: a schema named after the source.
    Schema,
}

/// A built-in tool's parameter.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinParam {
    pub name: &'static str,
    /// A spec type (`string`, `integer`, ...).
    pub ty: &'static str,
    pub description: &'static str,
    /// Required unless the tool's `default` gives a value for this source.
    pub required: bool,
}

/// A built-in tool.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinTool {
    pub name: &'static str,
    pub description: &'static str,
    pub params: &'static [BuiltinParam],
    /// Output columns: name, type, nullable.
    pub output: &'static [(&'static str, DataType, bool)],
    /// The SQL for a source (with `$param` placeholders).
    pub sql: fn(source: &str, shape: SourceShape) -> String,
    /// A default for a parameter, given the source (e.g. a file source's only table).
    pub default: fn(param: &str, source: &str, shape: SourceShape) -> Option<String>,
}

/// Every built-in tool.
pub const BUILTIN_TOOLS: &[BuiltinTool] = &[list_tables::TOOL, describe_table::TOOL];

/// The built-in tool called `name` (the part after `<source>.`).
pub fn builtin(name: &str) -> Option<&'static BuiltinTool> {
    BUILTIN_TOOLS.iter().find(|t| t.name == name)
}

/// A SQL string literal.
pub(crate) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The `information_schema` condition selecting a source's tables.
pub(crate) fn tables_of(source: &str, shape: SourceShape) -> String {
    match shape {
        SourceShape::File => format!(
            "table_catalog = 'datafusion' AND table_schema = 'public' AND table_name = {}",
            quote(source)
        ),
        SourceShape::Schema => format!(
            "table_catalog = 'datafusion' AND table_schema = {}",
            quote(source)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        for t in BUILTIN_TOOLS {
            assert_eq!(builtin(t.name).map(|b| b.name), Some(t.name));
            assert_eq!(BUILTIN_TOOLS.iter().filter(|o| o.name == t.name).count(), 1);
        }
    }

    #[test]
    fn source_names_are_quoted() {
        assert_eq!(
            tables_of("o'brien", SourceShape::Schema),
            "table_catalog = 'datafusion' AND table_schema = 'o''brien'"
        );
    }
}
