//! JSON and YAML documents as tables: the rows are found with the source's `rows:` selector
//! (`$.agents[*]`; by default the document itself must be a list), each row a mapping. Columns
//! are the declared ones, else inferred from the rows. Documents are read whole (they are
//! registries and configuration, not bulk data: use NDJSON, CSV or Parquet for that), so a
//! size cap guards memory.

use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::json::reader::{infer_json_schema_from_iterator, ReaderBuilder};
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;
use serde_json::Value;
use widgettdc_compiler::source::{FileId, SourceFile};
use widgettdc_compiler::spec::sources::file::FileSource;
use widgettdc_compiler::Code;

use crate::error::{Result, RuntimeError};

/// Documents larger than this are refused (read whole into memory).
pub const MAX_DOCUMENT_BYTES: u64 = 256 * 1024 * 1024;

pub async fn open(
    source: &str,
    path: &Path,
    display: &str,
    spec: &FileSource,
    declared: Option<SchemaRef>,
    batch_size: usize,
) -> Result<Arc<dyn TableProvider>> {
    let fail = |msg: String| {
        RuntimeError::new(
            Code::SourceRead,
            format!("cannot read `{display}` (source `{source}`): {msg}"),
        )
    };
    let meta = tokio::fs::metadata(path).await.map_err(|e| {
        RuntimeError::new(
            Code::SourceUnavailable,
            format!("cannot open `{display}` (source `{source}`): {e}"),
        )
    })?;
    if meta.len() > MAX_DOCUMENT_BYTES {
        return Err(fail(format!(
            "the document is {} MB; documents are read whole, up to {} MB",
            meta.len() / (1024 * 1024),
            MAX_DOCUMENT_BYTES / (1024 * 1024)
        ))
        .help("store bulk data as NDJSON, CSV or Parquet (streamed, not read whole)"));
    }
    let bytes = tokio::fs::read(path).await.map_err(|e| {
        RuntimeError::new(
            Code::SourceUnavailable,
            format!("cannot open `{display}` (source `{source}`): {e}"),
        )
    })?;
    let text = String::from_utf8(bytes).map_err(|_| fail("the file is not UTF-8 text".into()))?;
    let yaml = spec.effective_format() == Some("yaml");
    let doc = if yaml {
        parse_yaml(path, text).map_err(&fail)?
    } else {
        serde_json::from_str::<Value>(&text).map_err(|e| fail(format!("invalid JSON: {e}")))?
    };
    let rows: Vec<&Value> = match &spec.rows {
        Some(sel) => widgettdc_stdlib::select(&sel.value.0, &doc),
        None => match &doc {
            Value::Array(items) => items.iter().collect(),
            other => {
                return Err(fail(format!(
                    "the document is {}, not a list of rows",
                    json_kind(other)
                ))
                .help(format!("add `rows:` to source `{source}` to say where the rows are, e.g. `rows: $.items[*]`")))
            }
        },
    };
    // a selector that matched one list means its items
    let rows: Vec<&Value> = match rows.as_slice() {
        [Value::Array(items)] => items.iter().collect(),
        _ => rows,
    };
    for (i, r) in rows.iter().enumerate() {
        if !r.is_object() {
            return Err(fail(format!(
                "row {} is {}, not a mapping of column values",
                i + 1,
                json_kind(r)
            )));
        }
    }
    let schema = match declared {
        Some(s) => s,
        None => Arc::new(
            infer_json_schema_from_iterator(rows.iter().map(|r| Ok((*r).clone())))
                .map_err(|e| fail(e.to_string()))?,
        ),
    };
    let mut decoder = ReaderBuilder::new(Arc::clone(&schema))
        .with_batch_size(batch_size.max(1))
        .build_decoder()
        .map_err(|e| fail(e.to_string()))?;
    let mut batches = Vec::new();
    for (chunk_no, chunk) in rows.chunks(batch_size.max(1)).enumerate() {
        decoder.serialize(chunk).map_err(|e| {
            fail(format!(
                "rows {}–{}: {e}",
                chunk_no * batch_size + 1,
                chunk_no * batch_size + chunk.len()
            ))
            .help(format!(
                "check the values against the declared `columns:` of source `{source}`"
            ))
        })?;
        if let Some(b) = decoder.flush().map_err(|e| fail(e.to_string()))? {
            batches.push(b);
        }
    }
    let table = MemTable::try_new(schema, vec![batches]).map_err(|e| fail(e.to_string()))?;
    Ok(Arc::new(table))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// YAML text → JSON value, with the YAML error's line and column.
fn parse_yaml(path: &Path, text: String) -> std::result::Result<Value, String> {
    let file = SourceFile::new(path.to_path_buf(), path.display().to_string(), text);
    let (node, diags) = widgettdc_compiler::yaml::load(FileId(0), &file);
    if let Some(d) = diags.iter().find(|d| d.is_error()) {
        let (line, col) = file.line_col(d.primary.span.range.start);
        return Err(format!("{} (line {line}, column {col})", d.message));
    }
    Ok(node
        .map(|n| widgettdc_compiler::params::node_to_json(&n))
        .unwrap_or(Value::Null))
}
