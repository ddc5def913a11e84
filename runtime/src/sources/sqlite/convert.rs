//! SQLite values → Arrow columns of the table's declared types.
//!
//! SQLite is dynamically typed: a column declared `TIMESTAMP` may hold text or Unix seconds.
//! Every value is converted to the column's Arrow type; a value that does not fit is an error
//! that names the column and row (never a silent NULL).

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder,
    StringBuilder, StringViewBuilder, TimestampMicrosecondBuilder,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use rusqlite::types::ValueRef;

/// Why a value did not convert: the message for the user.
pub type ConvertError = String;

enum Builder {
    Int(Int64Builder),
    Float(Float64Builder),
    Bool(BooleanBuilder),
    Text(StringBuilder),
    TextView(StringViewBuilder),
    Binary(BinaryBuilder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    /// Decimal128 values at the column's scale (10^scale kept to convert numbers directly).
    Decimal(arrow::array::Decimal128Builder, i8, i128),
}

/// Builds record batches of a fixed schema from SQLite rows.
pub struct BatchBuilder {
    schema: SchemaRef,
    builders: Vec<Builder>,
    rows: usize,
}

fn builder_for(t: &DataType) -> Builder {
    match t {
        t if t.is_integer() => Builder::Int(Int64Builder::new()),
        t if t.is_floating() => Builder::Float(Float64Builder::new()),
        DataType::Boolean => Builder::Bool(BooleanBuilder::new()),
        DataType::Utf8View => Builder::TextView(StringViewBuilder::new()),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            Builder::Binary(BinaryBuilder::new())
        }
        DataType::Date32 | DataType::Date64 => Builder::Date(Date32Builder::new()),
        DataType::Timestamp(..) => Builder::Timestamp(TimestampMicrosecondBuilder::new()),
        DataType::Decimal128(p, sc) if (0..=18).contains(sc) => Builder::Decimal(
            arrow::array::Decimal128Builder::new()
                .with_precision_and_scale(*p, *sc)
                .unwrap_or_default(),
            *sc,
            10i128.pow(*sc as u32),
        ),
        // text, and anything else arrow can cast from text (decimals, times, intervals)
        _ => Builder::Text(StringBuilder::new()),
    }
}

fn describe(v: &ValueRef) -> String {
    match v {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Text(t) => {
            let s = String::from_utf8_lossy(t);
            if s.chars().count() > 40 {
                format!("'{}…'", s.chars().take(40).collect::<String>())
            } else {
                format!("'{s}'")
            }
        }
        ValueRef::Blob(b) => format!("a blob of {} bytes", b.len()),
    }
}

fn text_of(t: &[u8]) -> Result<&str, ConvertError> {
    std::str::from_utf8(t).map_err(|_| "text that is not valid UTF-8".to_string())
}

/// Microseconds since the epoch of text SQLite's date functions would accept.
pub fn parse_timestamp_micros(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(ns) = arrow::compute::kernels::cast_utils::string_to_timestamp_nanos(s) {
        return Some(ns.div_euclid(1000));
    }
    // `YYYY-MM-DD` alone
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp() * 1_000_000)
}

/// Microseconds since the epoch of a stored date or timestamp: Unix seconds, or text.
fn temporal_micros(v: ValueRef) -> Result<Option<i64>, ConvertError> {
    Ok(match v {
        ValueRef::Integer(i) => i.checked_mul(1_000_000),
        ValueRef::Real(f) => seconds_to_micros(f),
        ValueRef::Text(t) => parse_timestamp_micros(text_of(t)?),
        _ => None,
    })
}

fn seconds_to_micros(s: f64) -> Option<i64> {
    let us = (s * 1e6).round();
    (us.is_finite() && us.abs() < 9.2e18).then_some(us as i64)
}

impl BatchBuilder {
    pub fn new(schema: SchemaRef) -> Self {
        let builders = schema
            .fields()
            .iter()
            .map(|f| builder_for(f.data_type()))
            .collect();
        BatchBuilder {
            schema,
            builders,
            rows: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Append one value to column `i`.
    pub fn push(&mut self, i: usize, v: ValueRef) -> Result<(), ConvertError> {
        let BatchBuilder {
            schema, builders, ..
        } = self;
        let bad = |v: &ValueRef| {
            format!(
                "{} is not {}",
                describe(v),
                type_word(schema.field(i).data_type())
            )
        };
        match (&mut builders[i], v) {
            (b, ValueRef::Null) => match b {
                Builder::Int(b) => b.append_null(),
                Builder::Float(b) => b.append_null(),
                Builder::Bool(b) => b.append_null(),
                Builder::Text(b) => b.append_null(),
                Builder::TextView(b) => b.append_null(),
                Builder::Binary(b) => b.append_null(),
                Builder::Date(b) => b.append_null(),
                Builder::Timestamp(b) => b.append_null(),
                Builder::Decimal(b, ..) => b.append_null(),
            },
            (Builder::Decimal(b, scale, factor), v) => {
                // numbers directly (SQLite keeps DECIMAL values as integers or reals); text
                // through arrow's decimal parser
                let x = match v {
                    ValueRef::Integer(n) => i128::from(n).checked_mul(*factor),
                    ValueRef::Real(f) if f.is_finite() => {
                        let scaled = (f * *factor as f64).round();
                        (scaled.abs() < 1e37).then_some(scaled as i128)
                    }
                    ValueRef::Text(t) => {
                        let (p, _) = match schema.field(i).data_type() {
                            DataType::Decimal128(p, s) => (*p, *s),
                            _ => (38, *scale),
                        };
                        arrow::compute::kernels::cast_utils::parse_decimal::<
                            arrow::datatypes::Decimal128Type,
                        >(text_of(t)?.trim(), p, *scale)
                        .ok()
                    }
                    _ => None,
                };
                b.append_value(x.ok_or_else(|| bad(&v))?)
            }
            (Builder::Int(b), v) => {
                let x = match v {
                    ValueRef::Integer(i) => i,
                    ValueRef::Real(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => f as i64,
                    ValueRef::Text(t) => text_of(t)?.trim().parse().map_err(|_| bad(&v))?,
                    _ => return Err(bad(&v)),
                };
                b.append_value(x)
            }
            (Builder::Float(b), v) => {
                let x = match v {
                    ValueRef::Integer(i) => i as f64,
                    ValueRef::Real(f) => f,
                    ValueRef::Text(t) => text_of(t)?.trim().parse().map_err(|_| bad(&v))?,
                    _ => return Err(bad(&v)),
                };
                b.append_value(x)
            }
            (Builder::Bool(b), v) => {
                let x = match v {
                    ValueRef::Integer(i) => i != 0,
                    ValueRef::Real(f) => f != 0.0,
                    ValueRef::Text(t) => match text_of(t)?.trim().to_ascii_lowercase().as_str() {
                        "1" | "true" | "t" | "yes" | "y" => true,
                        "0" | "false" | "f" | "no" | "n" => false,
                        _ => return Err(bad(&v)),
                    },
                    _ => return Err(bad(&v)),
                };
                b.append_value(x)
            }
            (Builder::Text(b), v) => match v {
                ValueRef::Integer(i) => b.append_value(i.to_string()),
                ValueRef::Real(f) => b.append_value(f.to_string()),
                ValueRef::Text(t) => b.append_value(text_of(t)?),
                ValueRef::Blob(x) => b.append_value(String::from_utf8_lossy(x)),
                ValueRef::Null => b.append_null(),
            },
            (Builder::TextView(b), v) => match v {
                ValueRef::Integer(i) => b.append_value(i.to_string()),
                ValueRef::Real(f) => b.append_value(f.to_string()),
                ValueRef::Text(t) => b.append_value(text_of(t)?),
                ValueRef::Blob(x) => b.append_value(String::from_utf8_lossy(x)),
                ValueRef::Null => b.append_null(),
            },
            (Builder::Binary(b), v) => match v {
                ValueRef::Blob(x) | ValueRef::Text(x) => b.append_value(x),
                _ => return Err(bad(&v)),
            },
            (Builder::Date(b), v) => {
                let micros = temporal_micros(v)?.ok_or_else(|| bad(&v))?;
                let days = micros.div_euclid(86_400_000_000);
                b.append_value(i32::try_from(days).map_err(|_| bad(&v))?)
            }
            (Builder::Timestamp(b), v) => {
                b.append_value(temporal_micros(v)?.ok_or_else(|| bad(&v))?)
            }
        }
        Ok(())
    }

    /// Count a finished row.
    pub fn end_row(&mut self) {
        self.rows += 1;
    }

    /// The rows so far as a batch of the schema; the builder starts empty again.
    pub fn finish(&mut self) -> Result<RecordBatch, ConvertError> {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.builders.len());
        for (b, field) in self.builders.iter_mut().zip(self.schema.fields()) {
            let array: ArrayRef = match b {
                Builder::Int(b) => Arc::new(b.finish()),
                Builder::Float(b) => Arc::new(b.finish()),
                Builder::Bool(b) => Arc::new(b.finish()),
                Builder::Text(b) => Arc::new(b.finish()),
                Builder::TextView(b) => Arc::new(b.finish()),
                Builder::Binary(b) => Arc::new(b.finish()),
                Builder::Date(b) => Arc::new(b.finish()),
                Builder::Timestamp(b) => Arc::new(b.finish()),
                Builder::Decimal(b, ..) => Arc::new(b.finish()),
            };
            let array = if array.data_type() == field.data_type() {
                array
            } else {
                cast(&array, field.data_type()).map_err(|e| {
                    format!(
                        "column `{}` does not convert to {}: {e}",
                        field.name(),
                        type_word(field.data_type())
                    )
                })?
            };
            columns.push(array);
        }
        let rows = std::mem::take(&mut self.rows);
        RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .map_err(|e| e.to_string())
    }
}

/// "an integer", "a timestamp", … for messages.
pub fn type_word(t: &DataType) -> String {
    match t {
        t if t.is_integer() => "an integer".into(),
        t if t.is_floating() => "a number".into(),
        DataType::Boolean => "a boolean".into(),
        DataType::Date32 | DataType::Date64 => "a date".into(),
        DataType::Timestamp(
            TimeUnit::Second | TimeUnit::Millisecond | TimeUnit::Microsecond | TimeUnit::Nanosecond,
            _,
        ) => "a timestamp".into(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "text".into(),
        other => format!("of type {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Field, Schema, TimestampMicrosecondType};

    #[test]
    fn values_convert_to_declared_types() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
            Field::new("n", DataType::Int32, true),
        ]));
        let mut b = BatchBuilder::new(schema);
        b.push(0, ValueRef::Text(b"2026-01-02T03:04:05Z")).unwrap();
        b.push(1, ValueRef::Integer(7)).unwrap();
        b.end_row();
        b.push(0, ValueRef::Integer(60)).unwrap();
        b.push(1, ValueRef::Null).unwrap();
        b.end_row();
        let batch = b.finish().unwrap();
        let ts = batch.column(0).as_primitive::<TimestampMicrosecondType>();
        assert_eq!(ts.value(0), 1_767_323_045_000_000);
        assert_eq!(ts.value(1), 60_000_000);
        assert_eq!(batch.column(1).data_type(), &DataType::Int32);
        assert!(batch.column(1).is_null(1));
    }

    #[test]
    fn a_misfit_value_is_an_error_not_a_null() {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)]));
        let mut b = BatchBuilder::new(schema);
        let e = b.push(0, ValueRef::Text(b"abc")).unwrap_err();
        assert_eq!(e, "'abc' is not an integer");
    }
}
