//! `<source>.list_tables`: the tables a source provides, with their kind and column count.
//!
//! No parameters. Output: `table` (text), `kind` (`BASE TABLE` or `VIEW`), `columns` (integer).
//! For a file source, its one table (named after the source).

use arrow_schema::DataType;

use super::{tables_of, BuiltinTool, SourceShape};

pub const TOOL: BuiltinTool = BuiltinTool {
    name: "list_tables",
    description: "List the tables of this source, with the number of columns of each.",
    params: &[],
    output: &[
        ("table", DataType::Utf8, false),
        ("kind", DataType::Utf8, false),
        ("columns", DataType::Int64, false),
    ],
    sql,
    default: |_, _, _| None,
};

fn sql(source: &str, shape: SourceShape) -> String {
    let tables = tables_of(source, shape);
    format!(
        "SELECT t.table_name AS \"table\", t.table_type AS kind, \
         (SELECT count(*) FROM information_schema.columns c \
          WHERE c.table_catalog = t.table_catalog AND c.table_schema = t.table_schema AND c.table_name = t.table_name) AS columns \
         FROM information_schema.tables t WHERE {} ORDER BY t.table_name",
        tables.replace("table_", "t.table_")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sql_names_the_source() {
        let s = sql("events", SourceShape::Schema);
        assert!(s.contains("t.table_schema = 'events'"), "{s}");
        let s = sql("metrics", SourceShape::File);
        assert!(s.contains("t.table_name = 'metrics'"), "{s}");
    }
}
