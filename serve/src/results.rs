//! Tool results as pages of JSON rows, bounded for their readers: at most `max_rows` rows and
//! about `max_bytes` bytes of JSON per page (the tool's `max_rows`/`max_bytes`, defaults 1,000
//! and 1 MiB), with `truncated` and a `next_cursor` that fetches the next page. A page is
//! computed by running the tool and skipping the rows of the pages before it: paging is
//! stateless, so it is stable when the tool's SQL orders its rows.

use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use base64::Engine as _;
use futures::StreamExt;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use widgettdc_compiler::{Code, CompiledTool};
use widgettdc_runtime::{Runtime, RuntimeError};

pub const DEFAULT_MAX_ROWS: usize = 1000;
pub const DEFAULT_MAX_BYTES: usize = 1 << 20;

/// One column of a result: its name and type (the spec's type name where there is one).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
}

/// A page of a result.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub columns: Vec<Column>,
    /// Each row a JSON object, as written from the Arrow batch (sent on as it is).
    pub rows: Vec<Box<RawValue>>,
    /// True when more rows follow (fetch them with `next_cursor`).
    pub truncated: bool,
    pub next_cursor: Option<String>,
}

/// How much of a result one page holds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_rows: usize,
    pub max_bytes: usize,
}

impl Limits {
    pub fn of(tool: &CompiledTool) -> Limits {
        Limits {
            max_rows: tool
                .max_rows
                .map_or(DEFAULT_MAX_ROWS, |n| n as usize)
                .max(1),
            max_bytes: tool
                .max_bytes
                .map_or(DEFAULT_MAX_BYTES, |n| n as usize)
                .max(1),
        }
    }
}

/// The spec type name of an Arrow type (`int64`, `string`, …), or Arrow's own name.
pub fn type_name(t: &DataType) -> String {
    widgettdc_compiler::types::from_arrow(t)
        .map(|t| t.to_string())
        .unwrap_or_else(|| t.to_string())
}

pub fn columns(schema: &SchemaRef) -> Vec<Column> {
    schema
        .fields()
        .iter()
        .map(|f| Column {
            name: f.name().clone(),
            ty: type_name(f.data_type()),
        })
        .collect()
}

/// The JSON Schema of one value of an Arrow type, as the JSON writer renders it.
pub fn value_schema(t: &DataType, nullable: bool) -> Value {
    let base = match t {
        DataType::Boolean => json!({"type": "boolean"}),
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => json!({"type": "integer"}),
        DataType::Float16 | DataType::Float32 | DataType::Float64 => json!({"type": "number"}),
        // the JSON writer renders decimals as numbers
        DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => json!({"type": "number"}),
        DataType::Date32 | DataType::Date64 => json!({"type": "string", "format": "date"}),
        DataType::Timestamp(..) => json!({"type": "string", "format": "date-time"}),
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            json!({"type": "array", "items": value_schema(f.data_type(), f.is_nullable())})
        }
        DataType::Struct(fields) => {
            let props: Map<String, Value> = fields
                .iter()
                .map(|f| {
                    (
                        f.name().clone(),
                        value_schema(f.data_type(), f.is_nullable()),
                    )
                })
                .collect();
            json!({"type": "object", "properties": props})
        }
        DataType::Null => json!({"type": "null"}),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => json!({"type": "string"}),
        _ => json!({}),
    };
    match (nullable, base.get("type").and_then(Value::as_str)) {
        (true, Some(t)) if t != "null" => {
            let mut b = base.clone();
            b["type"] = json!([t, "null"]);
            b
        }
        _ => base,
    }
}

/// The JSON Schema of a page of this tool's result (MCP `outputSchema`): `rows` typed from the
/// compiled output schema, plus `columns`, `truncated` and `next_cursor`.
pub fn page_schema(output: &SchemaRef) -> Value {
    let props: Map<String, Value> = output
        .fields()
        .iter()
        .map(|f| {
            (
                f.name().clone(),
                value_schema(f.data_type(), f.is_nullable()),
            )
        })
        .collect();
    json!({
        "type": "object",
        "properties": {
            "rows": {"type": "array", "items": {"type": "object", "properties": props}},
            "columns": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "type": {"type": "string"}}}},
            "truncated": {"type": "boolean"},
            "next_cursor": {"type": ["string", "null"]},
        },
        "required": ["rows", "columns", "truncated"],
    })
}

/// A cursor: the number of rows before the page, opaque to clients.
pub fn encode_cursor(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("o:{offset}"))
}

pub fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .ok()?;
    std::str::from_utf8(&bytes)
        .ok()?
        .strip_prefix("o:")?
        .parse()
        .ok()
}

/// Rows of a batch as JSON objects (nulls written as `null`), each with the length of its JSON
/// text (what it adds to a page).
pub fn batch_rows(batch: &RecordBatch) -> Result<Vec<(Box<RawValue>, usize)>, RuntimeError> {
    let mut w = arrow::json::WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, arrow::json::writer::LineDelimited>(Vec::new());
    w.write(batch).map_err(RuntimeError::internal)?;
    w.finish().map_err(RuntimeError::internal)?;
    w.into_inner()
        .split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            let text = std::str::from_utf8(line).map_err(RuntimeError::internal)?;
            RawValue::from_string(text.to_string())
                .map(|v| (v, line.len() + 1))
                .map_err(RuntimeError::internal)
        })
        .collect()
}

/// Take the paging argument out of a call's arguments: the number of rows to skip.
pub fn take_offset(args: &mut Map<String, Value>, key: &str) -> Result<usize, String> {
    match args.remove(key) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::String(c)) => {
            decode_cursor(&c).ok_or_else(|| format!("`{key}` is not a cursor this server gave"))
        }
        Some(other) => Err(format!("`{key}` must be a string, not {other}")),
    }
}

/// Run a tool and return the page that starts `offset` rows in.
pub async fn tool_page(
    rt: &Runtime,
    name: &str,
    args: &Map<String, Value>,
    offset: usize,
    limits: Limits,
) -> Result<Page, Vec<RuntimeError>> {
    let record = |errors: &[RuntimeError]| {
        if let (Ok(tool), Some(e)) = (rt.tool(name), errors.first()) {
            rt.record_failure(&tool, e);
        }
    };
    let stream = rt
        .tool_stream(name, args)
        .await
        .inspect_err(|e| record(e))?;
    page_of(stream, offset, limits).await.map_err(|e| {
        let errors = vec![e];
        record(&errors);
        errors
    })
}

/// Read a result until the page is full (one row more tells whether it is truncated).
pub async fn page_of(
    mut stream: datafusion::execution::SendableRecordBatchStream,
    offset: usize,
    limits: Limits,
) -> Result<Page, RuntimeError> {
    let schema: SchemaRef = Arc::clone(&stream.schema());
    let mut rows = Vec::new();
    let mut skipped = 0usize;
    let mut bytes = 0usize;
    let mut truncated = false;
    'read: while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| RuntimeError::from_datafusion(e, Code::QueryExecution))?;
        let mut batch = batch;
        if skipped < offset {
            let skip = (offset - skipped).min(batch.num_rows());
            skipped += skip;
            batch = batch.slice(skip, batch.num_rows() - skip);
        }
        if batch.num_rows() == 0 {
            continue;
        }
        for (row, size) in batch_rows(&batch)? {
            if rows.len() >= limits.max_rows
                || (!rows.is_empty() && bytes + size > limits.max_bytes)
            {
                truncated = true;
                break 'read;
            }
            bytes += size;
            rows.push(row);
        }
    }
    let next_cursor = truncated.then(|| encode_cursor(offset + rows.len()));
    Ok(Page {
        columns: columns(&schema),
        rows,
        truncated,
        next_cursor,
    })
}

/// A text rendering of a page (its rows parsed: `rows`) for readers without structured output
/// (an aligned table, then a line saying how to get more).
pub fn page_text(page: &Page, rows: &[Value]) -> String {
    let header: Vec<String> = page.columns.iter().map(|c| c.name.clone()).collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            page.columns
                .iter()
                .map(|c| match r.get(&c.name) {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                })
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &cells {
        for (i, c) in row.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count().min(60));
        }
    }
    let line = |values: &[String]| {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let v: String = if v.chars().count() > 60 {
                    v.chars().take(59).chain(std::iter::once('…')).collect()
                } else {
                    v.clone()
                };
                format!("{v:<w$}", w = widths[i])
            })
            .collect::<Vec<_>>()
            .join(" | ")
            .trim_end()
            .to_string()
    };
    let mut out = line(&header);
    out.push('\n');
    for row in &cells {
        out.push_str(&line(row));
        out.push('\n');
    }
    out.push_str(&format!(
        "({} row{})",
        page.rows.len(),
        if page.rows.len() == 1 { "" } else { "s" }
    ));
    if let Some(c) = &page.next_cursor {
        out.push_str(&format!(
            "\n(truncated: call again with cursor = \"{c}\" for the next rows)"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(1234)), Some(1234));
        assert_eq!(decode_cursor("not a cursor"), None);
        assert_eq!(decode_cursor(""), None);
    }

    #[test]
    fn nullable_values_allow_null() {
        assert_eq!(
            value_schema(&DataType::Int64, true),
            json!({"type": ["integer", "null"]})
        );
        assert_eq!(
            value_schema(&DataType::Utf8, false),
            json!({"type": "string"})
        );
    }
}
