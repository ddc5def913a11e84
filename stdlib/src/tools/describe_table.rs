//! `<source>.describe_table`: the columns of one table of a source.
//!
//! Parameter `table` (string; for a file source it defaults to the source's one table). Output:
//! `column` (text), `type` (the Arrow type, e.g. `Int64`, `Timestamp(µs)`), `nullable`
//! (boolean), in column order. An unknown table gives no rows.

use arrow_schema::DataType;

use super::{tables_of, BuiltinParam, BuiltinTool, SourceShape};

pub const TOOL: BuiltinTool = BuiltinTool {
    name: "describe_table",
    description:
        "Describe the columns of a table of this source: name, type and whether it can be null.",
    params: &[BuiltinParam {
        name: "table",
        ty: "string",
        description: "The table's name, as list_tables shows it.",
        required: true,
    }],
    output: &[
        ("column", DataType::Utf8, false),
        ("type", DataType::Utf8, false),
        ("nullable", DataType::Boolean, false),
    ],
    sql,
    default: |param, source, shape| {
        (param == "table" && shape == SourceShape::File).then(|| source.to_string())
    },
};

fn sql(source: &str, shape: SourceShape) -> String {
    format!(
        "SELECT column_name AS \"column\", data_type AS \"type\", is_nullable = 'YES' AS nullable \
         FROM information_schema.columns WHERE {} AND table_name = $table ORDER BY ordinal_position",
        tables_of(source, shape)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_source_defaults_to_its_table() {
        assert_eq!(
            (TOOL.default)("table", "metrics", SourceShape::File).as_deref(),
            Some("metrics")
        );
        assert_eq!((TOOL.default)("table", "events", SourceShape::Schema), None);
        assert!(sql("events", SourceShape::Schema).contains("table_name = $table"));
    }
}
