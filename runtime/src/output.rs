//! Result writers. Every format streams: batches are written as they arrive and none of them
//! holds the whole result (the table format sizes its columns from the first rows).

use std::io::Write;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;
use widgettdc_compiler::Code;

use crate::error::{Result, RuntimeError};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A text table for people.
    Table,
    /// One JSON array of row objects (NULLs written as `null`).
    Json,
    /// One JSON object per line (NULLs written as `null`).
    Ndjson,
    Csv,
    Parquet,
    /// Arrow IPC stream.
    Arrow,
}

impl Format {
    pub const ALL: &'static [(&'static str, Format)] = &[
        ("table", Format::Table),
        ("json", Format::Json),
        ("ndjson", Format::Ndjson),
        ("csv", Format::Csv),
        ("parquet", Format::Parquet),
        ("arrow", Format::Arrow),
    ];

    /// Binary formats are not written to a terminal.
    pub fn is_binary(self) -> bool {
        matches!(self, Format::Parquet | Format::Arrow)
    }
}

fn output_error(e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::new(Code::Output, format!("cannot write the result: {e}"))
        .help("check the output path and free disk space")
}

/// Rows the table format looks at to size its columns.
const TABLE_WINDOW: usize = 1000;
/// Widest a table cell gets (longer values are cut with `…`; other formats keep them whole).
const MAX_CELL: usize = 80;

/// Write the stream in `format`; `progress` is told the running row count after each batch.
/// Returns the number of rows.
pub async fn write<W: Write + Send>(
    mut stream: SendableRecordBatchStream,
    format: Format,
    out: W,
    progress: &mut dyn FnMut(u64),
) -> Result<u64> {
    let schema = stream.schema();
    let mut rows: u64 = 0;
    macro_rules! next {
        () => {
            match stream.next().await {
                None => None,
                Some(Ok(b)) => {
                    rows += b.num_rows() as u64;
                    progress(rows);
                    Some(b)
                }
                Some(Err(e)) => return Err(RuntimeError::from_datafusion(e, Code::QueryExecution)),
            }
        };
    }
    match format {
        Format::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(out);
            let mut wrote = false;
            while let Some(b) = next!() {
                w.write(&b).map_err(output_error)?;
                wrote = true;
            }
            if !wrote {
                // still print the header
                w.write(&RecordBatch::new_empty(schema))
                    .map_err(output_error)?;
            }
            w.into_inner().flush().map_err(output_error)?;
        }
        Format::Ndjson => {
            let mut w = arrow::json::WriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, arrow::json::writer::LineDelimited>(out);
            while let Some(b) = next!() {
                w.write(&b).map_err(output_error)?;
            }
            w.finish().map_err(output_error)?;
            w.into_inner().flush().map_err(output_error)?;
        }
        Format::Json => {
            // `finish` writes `[]` for an empty result
            let mut w = arrow::json::WriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, arrow::json::writer::JsonArray>(out);
            while let Some(b) = next!() {
                w.write(&b).map_err(output_error)?;
            }
            w.finish().map_err(output_error)?;
            let mut out = w.into_inner();
            out.write_all(b"\n").map_err(output_error)?;
            out.flush().map_err(output_error)?;
        }
        Format::Parquet => {
            let props = parquet::file::properties::WriterProperties::builder()
                .set_max_row_group_row_count(Some(128 * 1024))
                .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
                .build();
            let mut w = parquet::arrow::ArrowWriter::try_new(out, schema, Some(props))
                .map_err(output_error)?;
            while let Some(b) = next!() {
                w.write(&b).map_err(output_error)?;
                // keep the buffered row group small
                if w.in_progress_size() > 64 * 1024 * 1024 {
                    w.flush().map_err(output_error)?;
                }
            }
            w.close().map_err(output_error)?;
        }
        Format::Arrow => {
            let mut w =
                arrow::ipc::writer::StreamWriter::try_new(out, &schema).map_err(output_error)?;
            while let Some(b) = next!() {
                w.write(&b).map_err(output_error)?;
            }
            w.finish().map_err(output_error)?;
        }
        Format::Table => {
            let mut window = Vec::new();
            let mut in_window = 0;
            let mut done = false;
            while in_window < TABLE_WINDOW {
                match next!() {
                    Some(b) => {
                        in_window += b.num_rows();
                        window.push(b);
                    }
                    None => {
                        done = true;
                        break;
                    }
                }
            }
            let mut t = TableWriter::new(&schema, &window, out)?;
            for b in &window {
                t.rows(b)?;
            }
            if !done {
                while let Some(b) = next!() {
                    t.rows(&b)?;
                }
            }
            t.finish(rows)?;
        }
    }
    Ok(rows)
}

struct TableWriter<W: Write> {
    out: W,
    widths: Vec<usize>,
    options: FormatOptions<'static>,
}

fn cell(text: String, width: usize) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    let n = one_line.chars().count();
    if n > width {
        let mut s: String = one_line.chars().take(width.saturating_sub(1)).collect();
        s.push('…');
        s
    } else {
        format!("{one_line}{}", " ".repeat(width - n))
    }
}

impl<W: Write> TableWriter<W> {
    fn new(schema: &SchemaRef, window: &[RecordBatch], out: W) -> Result<Self> {
        let options = FormatOptions::default().with_null("NULL");
        let mut widths: Vec<usize> = schema
            .fields()
            .iter()
            .map(|f| f.name().chars().count())
            .collect();
        for b in window {
            for (i, col) in b.columns().iter().enumerate() {
                let f = ArrayFormatter::try_new(col.as_ref(), &options).map_err(output_error)?;
                for r in 0..b.num_rows() {
                    let w = f.value(r).to_string().chars().count();
                    widths[i] = widths[i].max(w.min(MAX_CELL));
                }
            }
        }
        let mut t = TableWriter {
            out,
            widths,
            options,
        };
        t.rule()?;
        let header: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        t.line(header)?;
        t.rule()?;
        Ok(t)
    }

    fn rule(&mut self) -> Result<()> {
        let parts: Vec<String> = self.widths.iter().map(|w| "-".repeat(w + 2)).collect();
        writeln!(self.out, "+{}+", parts.join("+")).map_err(output_error)
    }

    fn line(&mut self, cells: Vec<String>) -> Result<()> {
        let parts: Vec<String> = cells
            .into_iter()
            .zip(&self.widths)
            .map(|(c, w)| format!(" {} ", cell(c, *w)))
            .collect();
        writeln!(self.out, "|{}|", parts.join("|")).map_err(output_error)
    }

    fn rows(&mut self, b: &RecordBatch) -> Result<()> {
        let formatters = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &self.options))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(output_error)?;
        for r in 0..b.num_rows() {
            let cells = formatters.iter().map(|f| f.value(r).to_string()).collect();
            self.line(cells)?;
        }
        Ok(())
    }

    fn finish(mut self, rows: u64) -> Result<()> {
        self.rule()?;
        writeln!(self.out, "{rows} row{}", if rows == 1 { "" } else { "s" })
            .map_err(output_error)?;
        self.out.flush().map_err(output_error)
    }
}
