//! Rows of a direct Postgres statement as Arrow, for the common column types, without the
//! provider's per-batch setup.
//!
//! A direct statement's rows ([`crate::sources::pg_statement`]) went through
//! datafusion-table-providers' `rows_to_arrow` and then federation's schema cast: for a point
//! query's one row, most of that work is setting up (a boxed builder per column found by type,
//! fields and a schema made anew, every column cast to the type it already has). Here the
//! columns are built straight into the tool's result schema when every column is one of the
//! types below, in the type the provider gives it, and every value converts exactly; any other
//! batch (another type, a value that does not fit, an error) takes the provider's way, so the
//! result is always the provider's. `tests/databases.rs` compares the two on every type here.
//!
//! | Postgres | Arrow |
//! |---|---|
//! | `smallint`, `integer`, `bigint` | `Int16`, `Int32`, `Int64` |
//! | `real`, `double precision` | `Float32`, `Float64` |
//! | `boolean` | `Boolean` |
//! | `text`, `varchar`, `name`; `char(n)` (trailing blanks trimmed, as the provider does) | `Utf8` |
//! | `numeric` | `Decimal128(p, s)` with p ≤ 28 (the provider reads numerics as `rust_decimal`, 28 digits) |

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, ArrowPrimitiveType, BooleanArray, PrimitiveArray, RecordBatch, RecordBatchOptions,
    StringArray,
};
use datafusion::arrow::buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use datafusion::arrow::datatypes::{
    DataType, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, SchemaRef,
};
use datafusion::error::{DataFusionError, Result};
use datafusion_federation::schema_cast::record_convert::{self, try_cast_to};
use datafusion_table_providers::sql::arrow_sql_gen::postgres::rows_to_arrow;
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::Row;

/// The most digits a numeric is converted here with (more: the provider's way).
const MAX_DECIMAL_DIGITS: u8 = 28;

/// `rows` as a batch of `schema` (the tool's result schema; `rows_schema`: the statement's own,
/// which the provider converts to): the common types here, anything else the provider's way.
pub fn to_arrow(rows: &[Row], rows_schema: &SchemaRef, schema: &SchemaRef) -> Result<RecordBatch> {
    match fast(rows, rows_schema, schema) {
        Some(batch) => Ok(batch),
        None => provider(rows, rows_schema, schema),
    }
}

/// `rows` converted by the provider (`rows_to_arrow`), then cast to `schema` as federation's
/// schema cast does.
pub fn provider(rows: &[Row], rows_schema: &SchemaRef, schema: &SchemaRef) -> Result<RecordBatch> {
    let batch = rows_to_arrow(rows, &Some(Arc::clone(rows_schema)))
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    cast_to(batch, schema)
}

/// The provider's batch in the result schema: cast (as federation's schema cast does) unless
/// its columns already have the result's types.
fn cast_to(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let same = batch.num_columns() == schema.fields().len()
        && batch
            .columns()
            .iter()
            .zip(schema.fields())
            .all(|(c, f)| c.data_type() == f.data_type());
    if same {
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        // (failing as the cast fails: a null in a column that has none)
        return RecordBatch::try_new_with_options(
            Arc::clone(schema),
            batch.columns().to_vec(),
            &options,
        )
        .map_err(|source| {
            DataFusionError::External(Box::new(
                record_convert::Error::UnableToConvertRecordBatch { source },
            ))
        });
    }
    try_cast_to(batch, Arc::clone(schema)).map_err(|e| DataFusionError::External(Box::new(e)))
}

/// `rows` as a batch of `schema`, when each of its columns is a type this module converts and
/// `rows_schema` (the types the provider would build) already has the same types; `None`
/// otherwise, or when a value does not convert exactly.
pub fn fast(rows: &[Row], rows_schema: &SchemaRef, schema: &SchemaRef) -> Option<RecordBatch> {
    let first = rows.first()?;
    let columns = first.columns();
    if columns.len() != schema.fields().len() || rows_schema.fields().len() != columns.len() {
        return None;
    }
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns.len());
    for (i, (column, field)) in columns.iter().zip(schema.fields()).enumerate() {
        if rows_schema.field(i).data_type() != field.data_type() {
            return None;
        }
        let array: ArrayRef = match (column.type_(), field.data_type()) {
            (&Type::INT2, DataType::Int16) => Arc::new(primitive::<Int16Type, i16>(rows, i, Some)?),
            (&Type::INT4, DataType::Int32) => Arc::new(primitive::<Int32Type, i32>(rows, i, Some)?),
            (&Type::INT8, DataType::Int64) => Arc::new(primitive::<Int64Type, i64>(rows, i, Some)?),
            (&Type::FLOAT4, DataType::Float32) => {
                Arc::new(primitive::<Float32Type, f32>(rows, i, Some)?)
            }
            (&Type::FLOAT8, DataType::Float64) => {
                Arc::new(primitive::<Float64Type, f64>(rows, i, Some)?)
            }
            (&Type::BOOL, DataType::Boolean) => {
                let values = rows
                    .iter()
                    .map(|row| row.try_get::<_, Option<bool>>(i).ok())
                    .collect::<Option<Vec<_>>>()?;
                Arc::new(BooleanArray::from(values))
            }
            (t, DataType::Utf8)
                if *t == Type::TEXT
                    || *t == Type::VARCHAR
                    || *t == Type::NAME
                    || *t == Type::BPCHAR =>
            {
                let trim = *t == Type::BPCHAR;
                let mut offsets = Vec::with_capacity(rows.len() + 1);
                let mut values = Vec::new();
                let mut valid = Vec::with_capacity(rows.len());
                offsets.push(0i32);
                for row in rows {
                    let v = row.try_get::<_, Option<&str>>(i).ok()?;
                    let v = if trim { v.map(str::trim_end) } else { v };
                    values.extend_from_slice(v.unwrap_or_default().as_bytes());
                    offsets.push(i32::try_from(values.len()).ok()?);
                    valid.push(v.is_some());
                }
                Arc::new(
                    StringArray::try_new(
                        OffsetBuffer::new(ScalarBuffer::from(offsets)),
                        Buffer::from_vec(values),
                        nulls(valid),
                    )
                    .ok()?,
                )
            }
            (&Type::NUMERIC, &DataType::Decimal128(precision, scale))
                if precision <= MAX_DECIMAL_DIGITS && scale >= 0 =>
            {
                let limit = 10i128.pow(u32::from(precision));
                let exact = |n: Numeric| n.mantissa(scale as u32).filter(|m| m.abs() < limit);
                Arc::new(
                    primitive::<Decimal128Type, Numeric>(rows, i, exact)?
                        .with_precision_and_scale(precision, scale)
                        .ok()?,
                )
            }
            _ => return None,
        };
        arrays.push(array);
    }
    let options = RecordBatchOptions::new().with_row_count(Some(rows.len()));
    RecordBatch::try_new_with_options(Arc::clone(schema), arrays, &options).ok()
}

/// Column `i` of `rows` read as `V` and made an Arrow value by `native` (`None`: not exactly).
fn primitive<'r, T, V>(
    rows: &'r [Row],
    i: usize,
    native: impl Fn(V) -> Option<T::Native>,
) -> Option<PrimitiveArray<T>>
where
    T: ArrowPrimitiveType,
    V: FromSql<'r>,
{
    let mut values = Vec::with_capacity(rows.len());
    let mut valid = Vec::with_capacity(rows.len());
    for row in rows {
        match row.try_get::<_, Option<V>>(i).ok()? {
            Some(v) => {
                values.push(native(v)?);
                valid.push(true);
            }
            None => {
                values.push(T::Native::default());
                valid.push(false);
            }
        }
    }
    Some(PrimitiveArray::new(
        ScalarBuffer::from(values),
        nulls(valid),
    ))
}

/// A null buffer, if any value is null.
fn nulls(valid: Vec<bool>) -> Option<NullBuffer> {
    valid.contains(&false).then(|| NullBuffer::from(valid))
}

/// A `numeric` as Postgres sends it in binary: digits in base 10,000, the weight of the first
/// (its power of 10,000), a sign (or NaN, ±infinity) and the display scale.
#[derive(Debug)]
struct Numeric<'a> {
    weight: i16,
    sign: u16,
    digits: &'a [u8],
}

const NUMERIC_POSITIVE: u16 = 0x0000;
const NUMERIC_NEGATIVE: u16 = 0x4000;

impl<'a> FromSql<'a> for Numeric<'a> {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> Result<Numeric<'a>, Box<dyn std::error::Error + Sync + Send>> {
        let header = |at: usize| -> Result<u16, Box<dyn std::error::Error + Sync + Send>> {
            raw.get(at..at + 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .ok_or_else(|| "a numeric shorter than its header".into())
        };
        let ndigits = usize::from(header(0)?);
        let weight = header(2)? as i16;
        let sign = header(4)?;
        let digits = raw
            .get(8..8 + 2 * ndigits)
            .ok_or("a numeric shorter than its digits")?;
        Ok(Numeric {
            weight,
            sign,
            digits,
        })
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

impl Numeric<'_> {
    /// The value times 10^`scale` as an integer, if it is one (and fits); `None` for NaN and
    /// the infinities.
    fn mantissa(&self, scale: u32) -> Option<i128> {
        let negative = match self.sign {
            NUMERIC_POSITIVE => false,
            NUMERIC_NEGATIVE => true,
            _ => return None,
        };
        let mut m: i128 = 0;
        for (i, d) in self.digits.chunks_exact(2).enumerate() {
            let d = i128::from(u16::from_be_bytes([d[0], d[1]]));
            if d >= 10_000 {
                return None;
            }
            // this digit's power of ten in the mantissa
            let power = 4 * (i64::from(self.weight) - i as i64) + i64::from(scale);
            let part = if power >= 0 {
                10i128
                    .checked_pow(u32::try_from(power).ok()?)?
                    .checked_mul(d)?
            } else {
                let div = 10i128
                    .checked_pow(u32::try_from(-power).ok()?)
                    .unwrap_or(i128::MAX);
                if d % div != 0 {
                    // digits below the scale: not exact
                    return None;
                }
                d / div
            };
            m = m.checked_add(part)?;
        }
        Some(if negative { -m } else { m })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(weight: i16, sign: u16, digits: &[u16]) -> Vec<u8> {
        let mut raw = Vec::new();
        raw.extend((digits.len() as u16).to_be_bytes());
        raw.extend(weight.to_be_bytes());
        raw.extend(sign.to_be_bytes());
        raw.extend(0u16.to_be_bytes());
        for d in digits {
            raw.extend(d.to_be_bytes());
        }
        raw
    }

    fn mantissa(weight: i16, sign: u16, digits: &[u16], scale: u32) -> Option<i128> {
        let raw = numeric(weight, sign, digits);
        Numeric::from_sql(&Type::NUMERIC, &raw)
            .unwrap()
            .mantissa(scale)
    }

    #[test]
    fn numerics_become_exact_mantissas_or_nothing() {
        // 873076.00 = 87 * 10000 + 3076 (weight 1)
        assert_eq!(
            mantissa(1, NUMERIC_POSITIVE, &[87, 3076], 2),
            Some(87_307_600)
        );
        // -0.01 = 100 * 10000^-1
        assert_eq!(mantissa(-1, NUMERIC_NEGATIVE, &[100], 2), Some(-1));
        // 0.000001 = 100 * 10000^-2, at scale 6
        assert_eq!(mantissa(-2, NUMERIC_POSITIVE, &[100], 6), Some(1));
        // zero has no digits
        assert_eq!(mantissa(0, NUMERIC_POSITIVE, &[], 2), Some(0));
        // 1.005 at scale 2 is not exact
        assert_eq!(mantissa(0, NUMERIC_POSITIVE, &[1, 50], 2), None);
        // NaN, +infinity
        assert_eq!(mantissa(0, 0xC000, &[], 2), None);
        assert_eq!(mantissa(0, 0xD000, &[], 2), None);
        // beyond i128
        assert_eq!(mantissa(20, NUMERIC_POSITIVE, &[1], 2), None);
        // a digit out of range, a short body
        assert_eq!(mantissa(0, NUMERIC_POSITIVE, &[10_000], 0), None);
        assert!(Numeric::from_sql(&Type::NUMERIC, &[0, 2, 0, 0]).is_err());
        assert!(Numeric::from_sql(&Type::NUMERIC, &numeric(0, 0, &[1])[..9]).is_err());
    }
}
