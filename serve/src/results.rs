//! Tool results as pages of JSON rows, bounded for their readers: at most `max_rows` rows and
//! about `max_bytes` bytes of JSON per page (the tool's `max_rows`/`max_bytes`, defaults 1,000
//! and 1 MiB), with `truncated` and a `next_cursor` that fetches the next page. A page is
//! computed by running the tool and skipping the rows of the pages before it: paging is
//! stateless, so it is stable when the tool's SQL orders its rows.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::{Arc, Weak};

use arrow::datatypes::{DataType, Schema, SchemaRef};
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
    #[serde(serialize_with = "slice")]
    pub columns: Arc<[Column]>,
    /// Each row a JSON object, as written from the Arrow batch (sent on as it is).
    pub rows: Vec<Box<RawValue>>,
    /// Where each row's values are in its JSON text (byte ranges, in column order), when the
    /// rows were written here: the text table reads them without parsing the rows again.
    #[serde(skip)]
    pub cells: Vec<Vec<(usize, usize)>>,
    /// True when more rows follow (fetch them with `next_cursor`).
    pub truncated: bool,
    pub next_cursor: Option<String>,
}

fn slice<S: serde::Serializer>(columns: &Arc<[Column]>, s: S) -> Result<S::Ok, S::Error> {
    columns.as_ref().serialize(s)
}

/// The columns of a result's schema, made once per schema and thread: a tool's result has the
/// same schema (the same `Arc`) on every call, and naming its types costs a few allocations a
/// column.
fn columns_of(schema: &SchemaRef) -> Arc<[Column]> {
    type Made = (Weak<Schema>, Arc<[Column]>);
    const KEPT: usize = 16;
    thread_local! {
        static MADE: RefCell<Vec<Made>> = const { RefCell::new(Vec::new()) };
    }
    MADE.with_borrow_mut(|made| {
        // (a `Weak` keeps the key's address from being reused while it is here)
        if let Some(i) = made
            .iter()
            .position(|(k, _)| std::ptr::eq(k.as_ptr(), Arc::as_ptr(schema)))
        {
            let found = made.remove(i);
            let columns = Arc::clone(&found.1);
            made.push(found);
            return columns;
        }
        made.retain(|(k, _)| k.strong_count() > 0);
        if made.len() >= KEPT {
            made.remove(0);
        }
        let columns: Arc<[Column]> = columns(schema).into();
        made.push((Arc::downgrade(schema), Arc::clone(&columns)));
        columns
    })
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
/// text (what it adds to a page) and where its values are in it (see [`Page::cells`]). Each
/// value is written by Arrow's JSON writer's own encoder for its column, so the text is the
/// writer's; the rows are put together here, which for a page's few rows costs less than the
/// writer's whole-batch setup.
pub fn batch_rows(batch: &RecordBatch) -> Result<Vec<BatchRow>, RuntimeError> {
    let options = arrow::json::writer::EncoderOptions::default().with_explicit_nulls(true);
    let schema = batch.schema();
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (field, array) in schema.fields().iter().zip(batch.columns()) {
        let encoder = arrow::json::writer::make_encoder(field, array.as_ref(), &options)
            .map_err(RuntimeError::internal)?;
        let name = serde_json::to_string(field.name()).map_err(RuntimeError::internal)?;
        columns.push((name, encoder));
    }
    let mut rows = Vec::with_capacity(batch.num_rows());
    let mut out = Vec::with_capacity(64);
    for i in 0..batch.num_rows() {
        out.clear();
        let mut cells = Vec::with_capacity(columns.len());
        out.push(b'{');
        for (n, (name, encoder)) in columns.iter_mut().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(name.as_bytes());
            out.push(b':');
            let start = out.len();
            if encoder.is_null(i) {
                out.extend_from_slice(b"null");
            } else {
                encoder.encode(i, &mut out);
            }
            cells.push((start, out.len()));
        }
        out.push(b'}');
        let text = String::from_utf8(out.clone()).map_err(RuntimeError::internal)?;
        let size = text.len() + 1;
        let row = RawValue::from_string(text).map_err(RuntimeError::internal)?;
        rows.push((row, size, cells));
    }
    Ok(rows)
}

/// A row as [`batch_rows`] writes it: its JSON, the length it adds to a page, and where its
/// values are in it.
pub type BatchRow = (Box<RawValue>, usize, Vec<(usize, usize)>);

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
    let mut cells = Vec::new();
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
        for (row, size, row_cells) in batch_rows(&batch)? {
            if rows.len() >= limits.max_rows
                || (!rows.is_empty() && bytes + size > limits.max_bytes)
            {
                truncated = true;
                break 'read;
            }
            bytes += size;
            rows.push(row);
            cells.push(row_cells);
        }
    }
    let next_cursor = truncated.then(|| encode_cursor(offset + rows.len()));
    Ok(Page {
        columns: columns_of(&schema),
        rows,
        cells,
        truncated,
        next_cursor,
    })
}

/// A text rendering of a page for readers without structured output: an aligned table (a
/// value as its JSON text, strings unquoted, nulls empty, cells cut at 60 characters), then a
/// line saying how to get more.
pub fn page_text(page: &Page) -> String {
    const WIDEST: usize = 60;
    // (borrowed from the row's text unless a string has escapes to undo)
    fn cell(raw: &str) -> Cow<'_, str> {
        match raw {
            "null" => Cow::Borrowed(""),
            t if t.len() >= 2 && t.starts_with('"') && !t.contains('\\') => {
                Cow::Borrowed(&t[1..t.len() - 1])
            }
            t if t.starts_with('"') => {
                Cow::Owned(serde_json::from_str::<String>(t).unwrap_or_default())
            }
            t => Cow::Borrowed(t),
        }
    }
    let cells: Vec<Vec<Cow<'_, str>>> = page
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| match page.cells.get(i) {
            Some(spans) if spans.len() == page.columns.len() => spans
                .iter()
                .map(|&(a, b)| r.get().get(a..b).map(cell).unwrap_or_default())
                .collect(),
            // (rows from elsewhere: parsed; a row is an object, anything else has no cells)
            _ => {
                let values: std::collections::HashMap<Cow<'_, str>, &RawValue> =
                    serde_json::from_str(r.get()).unwrap_or_default();
                page.columns
                    .iter()
                    .map(|c| {
                        values
                            .get(c.name.as_str())
                            .map(|v| cell(v.get()))
                            .unwrap_or_default()
                    })
                    .collect()
            }
        })
        .collect();
    let mut widths: Vec<usize> = page
        .columns
        .iter()
        .map(|c| c.name.chars().count())
        .collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count().min(WIDEST));
        }
    }
    let mut out = String::new();
    let mut line = |values: &mut dyn Iterator<Item = &str>| {
        let start = out.len();
        for (i, (v, w)) in values.zip(&widths).enumerate() {
            if i > 0 {
                out.push_str(" | ");
            }
            let n = match v.char_indices().nth(WIDEST) {
                None => {
                    out.push_str(v);
                    v.chars().count()
                }
                // longer than WIDEST: cut, marked by an ellipsis
                Some(_) => {
                    let cut = v.char_indices().nth(WIDEST - 1).map_or(v.len(), |(i, _)| i);
                    out.push_str(&v[..cut]);
                    out.push('…');
                    WIDEST
                }
            };
            out.extend(std::iter::repeat_n(' ', w.saturating_sub(n)));
        }
        let kept = out[start..].trim_end().len();
        out.truncate(start + kept);
        out.push('\n');
    };
    line(&mut page.columns.iter().map(|c| c.name.as_str()));
    for row in &cells {
        line(&mut row.iter().map(|c| c.as_ref()));
    }
    let n = page.rows.len();
    let _ = write!(out, "({n} row{})", if n == 1 { "" } else { "s" });
    if let Some(c) = &page.next_cursor {
        let _ = write!(
            out,
            "\n(truncated: call again with cursor = \"{c}\" for the next rows)"
        );
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

    /// The rows are the lines Arrow's JSON writer writes for the batch.
    #[test]
    fn rows_are_what_the_json_writer_writes() {
        use arrow::array::{
            ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array,
            ListArray, StringArray, StructArray, TimestampMicrosecondArray,
        };
        use arrow::datatypes::{Field, Int32Type};
        let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1), None]),
            None,
            Some(vec![]),
        ]);
        let strukt = StructArray::from(vec![(
            Arc::new(Field::new("k", DataType::Utf8, true)),
            Arc::new(StringArray::from(vec![Some("v"), None, Some("w")])) as ArrayRef,
        )]);
        let batch = RecordBatch::try_from_iter(vec![
            (
                "i",
                Arc::new(Int32Array::from(vec![Some(1), None, Some(-3)])) as ArrayRef,
            ),
            (
                "f \"quoted\"",
                Arc::new(Float64Array::from(vec![Some(1.5), Some(f64::NAN), None])),
            ),
            (
                "s",
                Arc::new(StringArray::from(vec![Some("a\"b\\c\n"), None, Some("é")])),
            ),
            (
                "b",
                Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
            ),
            (
                "d",
                Arc::new(
                    Decimal128Array::from(vec![Some(87_307_600), None, Some(-1)])
                        .with_precision_and_scale(12, 2)
                        .unwrap(),
                ),
            ),
            (
                "day",
                Arc::new(Date32Array::from(vec![Some(20_000), None, Some(0)])),
            ),
            (
                "at",
                Arc::new(
                    TimestampMicrosecondArray::from(vec![
                        Some(1_700_000_000_000_000),
                        None,
                        Some(0),
                    ])
                    .with_timezone("UTC"),
                ),
            ),
            ("l", Arc::new(list)),
            ("st", Arc::new(strukt)),
        ])
        .unwrap();
        let mut w = arrow::json::WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, arrow::json::writer::LineDelimited>(Vec::new());
        w.write(&batch).unwrap();
        w.finish().unwrap();
        let written = String::from_utf8(w.into_inner()).unwrap();
        let expected: Vec<&str> = written.lines().collect();
        let rows = batch_rows(&batch).unwrap();
        let ours: Vec<&str> = rows.iter().map(|(r, ..)| r.get()).collect();
        assert_eq!(ours, expected);
        assert!(rows.iter().all(|(r, n, _)| *n == r.get().len() + 1));
        // the text table from the values' places is the one from the parsed rows
        let mut page = Page {
            columns: columns(&batch.schema()).into(),
            rows: rows.iter().map(|(r, ..)| r.clone()).collect(),
            cells: rows.iter().map(|(.., c)| c.clone()).collect(),
            truncated: false,
            next_cursor: None,
        };
        let from_places = page_text(&page);
        page.cells.clear();
        assert_eq!(from_places, page_text(&page));
        assert!(from_places.contains("| 873076.00 |"), "{from_places}");
        // and of a slice (a page that starts inside a batch)
        let sliced = batch_rows(&batch.slice(1, 2)).unwrap();
        let ours: Vec<&str> = sliced.iter().map(|(r, ..)| r.get()).collect();
        assert_eq!(ours, expected[1..]);
    }

    #[test]
    fn a_schemas_columns_are_made_once_and_match_it() {
        use arrow::datatypes::Field;
        let schema = |ty| Arc::new(Schema::new(vec![Field::new("a", ty, true)]));
        let (ints, floats) = (schema(DataType::Int64), schema(DataType::Float64));
        let first = columns_of(&ints);
        assert!(Arc::ptr_eq(&first, &columns_of(&ints)));
        assert_eq!(first.as_ref(), columns(&ints).as_slice());
        // an equal schema in another `Arc`, and another schema, get their own
        let again = schema(DataType::Int64);
        assert_eq!(columns_of(&again).as_ref(), first.as_ref());
        assert_eq!(columns_of(&floats).as_ref(), columns(&floats).as_slice());
        assert_ne!(columns_of(&floats).as_ref(), first.as_ref());
        // more schemas than are kept: each still gets its own columns
        for i in 0..40 {
            let s = Arc::new(Schema::new(vec![Field::new(
                format!("c{i}"),
                DataType::Utf8,
                true,
            )]));
            assert_eq!(columns_of(&s)[0].name, format!("c{i}"));
        }
        assert!(Arc::ptr_eq(&columns_of(&ints), &columns_of(&ints)));
    }

    #[test]
    fn a_page_as_text_is_an_aligned_table() {
        let row = |t: &str| RawValue::from_string(t.to_string()).unwrap();
        let long = "x".repeat(70);
        let page = Page {
            columns: ["id", "name", "balance", "tags"]
                .map(|n| Column {
                    name: n.into(),
                    ty: "string".into(),
                })
                .into(),
            rows: vec![
                row(r#"{"id":1,"name":"a \"q\" é","balance":873076.00,"tags":["x",null]}"#),
                row(&format!(
                    r#"{{"id":22,"name":"{long}","balance":null,"tags":{{"k":1}}}}"#
                )),
            ],
            cells: vec![],
            truncated: true,
            next_cursor: Some(encode_cursor(2)),
        };
        let cut = format!("{}…", "x".repeat(59));
        let pad = " ".repeat(60 - "a \"q\" é".chars().count());
        assert_eq!(
            page_text(&page),
            format!(
                "id | name{} | balance   | tags\n\
                 1  | a \"q\" é{pad} | 873076.00 | [\"x\",null]\n\
                 22 | {cut} |           | {{\"k\":1}}\n\
                 (2 rows)\n(truncated: call again with cursor = \"{}\" for the next rows)",
                " ".repeat(56),
                encode_cursor(2)
            )
        );
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
