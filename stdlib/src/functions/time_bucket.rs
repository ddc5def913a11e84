//! `time_bucket(width, ts[, origin])`: floors a timestamp to the start of its
//! fixed-width bucket.
//!
//! # Signature
//!
//! ```text
//! time_bucket(width, ts)          -> same type as ts
//! time_bucket(width, ts, origin)  -> same type as ts
//! ```
//!
//! * `width` — a **constant** duration: a string in widgettdc's duration
//!   syntax (`'30s'`, `'5m'`, `'1h'`, `'1h30m'`, `'1d'`, `'1w'`) or an
//!   interval without months (`INTERVAL '15 minutes'`, `INTERVAL '1 day'`; a
//!   day is 24 hours).
//! * `ts` — `Timestamp(unit, tz)` of any unit and time zone; the result has
//!   exactly the same type. `Date32`/`Date64` are accepted too and give
//!   `Timestamp(Microsecond, None)` (midnight UTC of the date, then
//!   bucketed). A string is cast to `Timestamp(Nanosecond, None)`.
//! * `origin` — optional timestamp (or date) that buckets are aligned to;
//!   default `1970-01-01T00:00:00Z`, i.e. buckets start at whole multiples of
//!   `width` since the Unix epoch. A string origin is read in `ts`'s time zone
//!   (`'2024-01-01T00:00:00'` with a `+02:00` column is local midnight).
//!
//! # Semantics
//!
//! `time_bucket(w, ts, o) = o + floor((ts - o) / w) * w`, computed exactly on
//! the underlying instants (UTC), so timestamps before the origin floor
//! towards negative infinity (`-1ns` → the bucket starting at `-w`), and a
//! timestamp exactly on a boundary is the start of its own bucket. With a
//! time-zone-aware `ts`, buckets are aligned to UTC unless an origin says
//! otherwise: `time_bucket('1d', ts)` starts days at 00:00 UTC. If `width`
//! is finer than `ts`'s unit (`'500ms'` on a `Timestamp(Second)`), the bucket
//! start is truncated to that unit.
//!
//! Like DataFusion's `date_bin`, but with a duration-string width and
//! without month-based widths (use `date_trunc('month', ts)` for those).
//!
//! ```sql
//! SELECT time_bucket('5m', ts) AS bucket, count(*) FROM events GROUP BY 1;
//! -- 2024-05-01T10:07:30 -> 2024-05-01T10:05:00
//! SELECT time_bucket('1d', ts, TIMESTAMP '2024-01-01T06:00:00');  -- days start at 06:00
//! SELECT time_bucket(INTERVAL '15 minutes', ts);
//! ```
//!
//! # NULLs and errors
//!
//! A NULL `ts`, `width` or `origin` gives NULL. Errors (at planning time for
//! literal arguments, otherwise when executed):
//!
//! * a `width` that is not a constant (e.g. a column): "time_bucket's width
//!   must be a constant such as '5m'";
//! * an unparsable, zero or negative width, or an interval with months — the
//!   message names the value and gives an example;
//! * a bucket start outside the range of `ts`'s type (only near the extremes
//!   of the type).

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use arrow_array::{
    ArrayRef, TimestampMicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray,
    TimestampSecondArray,
};
use arrow_schema::{DataType, Field, FieldRef, TimeUnit};
use datafusion_common::{
    exec_datafusion_err, exec_err, plan_err, DataFusionError, Result, ScalarValue,
};
use datafusion_expr::sort_properties::{ExprProperties, SortProperties};
use datafusion_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use super::duration_arg::{duration_from_scalar, is_duration_type, show};

const NAME: &str = "time_bucket";
const EXAMPLE: &str =
    "e.g. time_bucket('5m', ts), time_bucket('1h', ts) or time_bucket(INTERVAL '1 day', ts)";
const NANOS_PER_DAY: i128 = 86_400 * 1_000_000_000;

/// The `time_bucket` UDF.
pub fn udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(TimeBucket::new())
}

/// Implementation of `time_bucket`; see the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TimeBucket {
    signature: Signature,
}

impl Default for TimeBucket {
    fn default() -> Self {
        Self::new()
    }
}

impl TimeBucket {
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for TimeBucket {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let (width, ts, origin) = match arg_types {
            [w, t] => (w, t, None),
            [w, t, o] => (w, t, Some(o)),
            _ => {
                return plan_err!(
                    "time_bucket takes 2 or 3 arguments (width, ts[, origin]), got {}; {EXAMPLE}",
                    arg_types.len()
                )
            }
        };
        let width = match width {
            DataType::Null => DataType::Utf8,
            t if is_duration_type(t) => t.clone(),
            other => {
                return plan_err!(
                    "time_bucket's width must be a duration string or an interval, got {other}; {EXAMPLE}"
                )
            }
        };
        let ts = match ts {
            DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => ts.clone(),
            DataType::Null | DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                DataType::Timestamp(TimeUnit::Nanosecond, None)
            }
            other => {
                return plan_err!(
                    "time_bucket's second argument must be a timestamp or a date, got {other}; {EXAMPLE}"
                )
            }
        };
        let mut out = vec![width, ts.clone()];
        if let Some(origin) = origin {
            out.push(match origin {
                DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => origin.clone(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => match &ts {
                    DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Nanosecond, tz.clone()),
                    _ => DataType::Timestamp(TimeUnit::Nanosecond, None),
                },
                DataType::Null => DataType::Timestamp(TimeUnit::Nanosecond, None),
                other => {
                    return plan_err!(
                        "time_bucket's origin must be a timestamp, got {other}; e.g. time_bucket('1d', ts, TIMESTAMP '2024-01-01T06:00:00')"
                    )
                }
            });
        }
        Ok(out)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types.get(1) {
            Some(ts) => output_type(ts),
            None => {
                plan_err!("time_bucket takes 2 or 3 arguments (width, ts[, origin]); {EXAMPLE}")
            }
        }
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        // Check a literal width while planning, so mistakes show up when the
        // spec is compiled rather than when the dashboard runs.
        if let Some(Some(width)) = args.scalar_arguments.first() {
            bucket_width(width).map_err(DataFusionError::Plan)?;
        }
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        Ok(Arc::new(Field::new(NAME, self.return_type(&types)?, true)))
    }

    fn is_strict(&self) -> bool {
        true
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let args = args.args;
        let (width, ts, origin) = match args.as_slice() {
            [w, t] => (w, t, None),
            [w, t, o] => (w, t, Some(o)),
            _ => {
                return exec_err!(
                    "time_bucket takes 2 or 3 arguments (width, ts[, origin]), got {}; {EXAMPLE}",
                    args.len()
                )
            }
        };
        let out_type = output_type(&ts.data_type())?;
        let null = || -> Result<ColumnarValue> {
            Ok(ColumnarValue::Scalar(ScalarValue::try_new_null(&out_type)?))
        };
        let width = match width {
            ColumnarValue::Scalar(w) => w,
            ColumnarValue::Array(_) => {
                return exec_err!(
                    "time_bucket's width must be a constant such as '5m', not a column or expression; {EXAMPLE}"
                )
            }
        };
        let Some(width) = bucket_width(width).map_err(DataFusionError::Execution)? else {
            return null();
        };
        let origin = match origin {
            None => Origin::Scalar(0),
            Some(ColumnarValue::Scalar(o)) => match to_nanos(&o.to_array()?)?.first() {
                Some(Some(o)) => Origin::Scalar(*o),
                _ => return null(),
            },
            Some(ColumnarValue::Array(o)) => Origin::Array(to_nanos(o)?),
        };
        match ts {
            ColumnarValue::Array(ts) => Ok(ColumnarValue::Array(bucket_array(
                ts, width, &origin, &out_type,
            )?)),
            ColumnarValue::Scalar(ts) => {
                let out = bucket_array(&ts.to_array()?, width, &origin, &out_type)?;
                Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
            }
        }
    }

    fn output_ordering(&self, input: &[ExprProperties]) -> Result<SortProperties> {
        // Flooring is monotonic in `ts` when width and origin are constant.
        let constant = |i: usize| {
            input
                .get(i)
                .is_none_or(|p| p.sort_properties == SortProperties::Singleton)
        };
        match input.get(1) {
            Some(ts) if constant(0) && constant(2) => Ok(ts.sort_properties),
            _ => Ok(SortProperties::Unordered),
        }
    }
}

/// The result type for a `ts` argument type.
fn output_type(ts: &DataType) -> Result<DataType> {
    match ts {
        DataType::Timestamp(unit, tz) => Ok(DataType::Timestamp(*unit, tz.clone())),
        DataType::Date32 | DataType::Date64 => Ok(DataType::Timestamp(TimeUnit::Microsecond, None)),
        DataType::Null | DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            Ok(DataType::Timestamp(TimeUnit::Nanosecond, None))
        }
        other => plan_err!(
            "time_bucket's second argument must be a timestamp or a date, got {other}; {EXAMPLE}"
        ),
    }
}

/// The bucket width in nanoseconds (`None` for NULL), or why it is unusable.
fn bucket_width(value: &ScalarValue) -> std::result::Result<Option<i128>, String> {
    let shown = show(value);
    let Some(d) = duration_from_scalar(value)
        .map_err(|e| format!("time_bucket's width is invalid: {e}; {EXAMPLE}"))?
    else {
        return Ok(None);
    };
    if d.months != 0 {
        return Err(format!(
            "time_bucket's width {shown} uses months or years, which have no fixed length; \
             use days or weeks such as '30d' or '1w', or date_trunc('month', ts)"
        ));
    }
    if d.nanos <= 0 {
        return Err(format!(
            "time_bucket's width must be positive, got {shown}; {EXAMPLE}"
        ));
    }
    Ok(Some(d.nanos))
}

/// The origin: one instant for every row, or one per row.
enum Origin {
    Scalar(i128),
    Array(Vec<Option<i128>>),
}

impl Origin {
    fn get(&self, row: usize) -> Option<i128> {
        match self {
            Origin::Scalar(o) => Some(*o),
            Origin::Array(os) => os.get(row).copied().flatten(),
        }
    }
}

fn unit_nanos(unit: TimeUnit) -> i128 {
    match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    }
}

/// Timestamps and dates as nanoseconds since the epoch (exact: `i128` holds
/// any `i64` count of seconds in nanoseconds).
fn to_nanos(array: &ArrayRef) -> Result<Vec<Option<i128>>> {
    fn scaled<I: Iterator<Item = Option<i64>>>(values: I, factor: i128) -> Vec<Option<i128>> {
        values.map(|v| v.map(|v| i128::from(v) * factor)).collect()
    }
    Ok(match array.data_type() {
        DataType::Timestamp(unit, _) => {
            let factor = unit_nanos(*unit);
            match unit {
                TimeUnit::Second => {
                    scaled(array.as_primitive::<TimestampSecondType>().iter(), factor)
                }
                TimeUnit::Millisecond => scaled(
                    array.as_primitive::<TimestampMillisecondType>().iter(),
                    factor,
                ),
                TimeUnit::Microsecond => scaled(
                    array.as_primitive::<TimestampMicrosecondType>().iter(),
                    factor,
                ),
                TimeUnit::Nanosecond => scaled(
                    array.as_primitive::<TimestampNanosecondType>().iter(),
                    factor,
                ),
            }
        }
        DataType::Date32 => array
            .as_primitive::<Date32Type>()
            .iter()
            .map(|v| v.map(|days| i128::from(days) * NANOS_PER_DAY))
            .collect(),
        DataType::Date64 => scaled(array.as_primitive::<Date64Type>().iter(), 1_000_000),
        DataType::Null => vec![None; array.len()],
        other => {
            return exec_err!("time_bucket expects a timestamp or a date, got {other}; {EXAMPLE}")
        }
    })
}

/// Buckets every value of `ts`, producing an array of `out_type`.
fn bucket_array(
    ts: &ArrayRef,
    width: i128,
    origin: &Origin,
    out_type: &DataType,
) -> Result<ArrayRef> {
    let DataType::Timestamp(unit, tz) = out_type else {
        return exec_err!("time_bucket cannot produce {out_type}");
    };
    let factor = unit_nanos(*unit);
    let values = to_nanos(ts)?
        .into_iter()
        .enumerate()
        .map(|(row, ts)| {
            let (Some(ts), Some(origin)) = (ts, origin.get(row)) else {
                return Ok(None);
            };
            let start = origin + (ts - origin).div_euclid(width) * width;
            i64::try_from(start.div_euclid(factor)).map(Some).map_err(|_| {
                exec_datafusion_err!(
                    "time_bucket: the bucket of {ts}ns since the epoch starts outside the range of {out_type}"
                )
            })
        })
        .collect::<Result<Vec<Option<i64>>>>()?;
    let tz = tz.clone();
    Ok(match unit {
        TimeUnit::Second => Arc::new(TimestampSecondArray::from(values).with_timezone_opt(tz)),
        TimeUnit::Millisecond => {
            Arc::new(TimestampMillisecondArray::from(values).with_timezone_opt(tz))
        }
        TimeUnit::Microsecond => {
            Arc::new(TimestampMicrosecondArray::from(values).with_timezone_opt(tz))
        }
        TimeUnit::Nanosecond => {
            Arc::new(TimestampNanosecondArray::from(values).with_timezone_opt(tz))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::test_support::*;
    use arrow_array::types::IntervalMonthDayNano;
    use arrow_array::{Array, Date32Array, Date64Array, Int64Array};

    const MIN: i64 = 60 * 1_000_000_000;

    fn ts_ns(values: Vec<Option<i64>>) -> ColumnarValue {
        array(Arc::new(TimestampNanosecondArray::from(values)))
    }

    fn ns_values(a: &ArrayRef) -> Vec<Option<i64>> {
        a.as_primitive::<TimestampNanosecondType>().iter().collect()
    }

    #[test]
    fn floors_to_bucket_start() {
        let u = udf();
        let out = invoke_array(
            &u,
            vec![
                text("5m"),
                ts_ns(vec![
                    Some(0),
                    Some(7 * MIN + 30_000_000_000),
                    Some(5 * MIN),     // exactly on a boundary
                    Some(5 * MIN - 1), // just before it
                    Some(-1),          // before the origin: floors down
                    Some(-5 * MIN),    // negative boundary
                    Some(-5 * MIN - 1),
                    None,
                ]),
            ],
            8,
        );
        assert_eq!(
            out.data_type(),
            &DataType::Timestamp(TimeUnit::Nanosecond, None)
        );
        assert_eq!(
            ns_values(&out),
            vec![
                Some(0),
                Some(5 * MIN),
                Some(5 * MIN),
                Some(0),
                Some(-5 * MIN),
                Some(-5 * MIN),
                Some(-10 * MIN),
                None
            ]
        );
    }

    #[test]
    fn keeps_unit_and_time_zone() {
        let u = udf();
        let ts = TimestampSecondArray::from(vec![Some(3_700), Some(-1), None])
            .with_timezone("Europe/Copenhagen");
        let out = invoke_array(&u, vec![text("1h"), array(Arc::new(ts))], 3);
        assert_eq!(
            out.data_type(),
            &DataType::Timestamp(TimeUnit::Second, Some("Europe/Copenhagen".into()))
        );
        let got: Vec<_> = out.as_primitive::<TimestampSecondType>().iter().collect();
        assert_eq!(got, vec![Some(3_600), Some(-3_600), None]);

        let ms = TimestampMillisecondArray::from(vec![Some(1_234)]).with_timezone("+00:00");
        let out = invoke_array(&u, vec![text("250ms"), array(Arc::new(ms))], 1);
        assert_eq!(
            out.data_type(),
            &DataType::Timestamp(TimeUnit::Millisecond, Some("+00:00".into()))
        );
        assert_eq!(
            out.as_primitive::<TimestampMillisecondType>().value(0),
            1_000
        );

        let us = TimestampMicrosecondArray::from(vec![Some(90_000_001)]);
        let out = invoke_array(&u, vec![text("1m"), array(Arc::new(us))], 1);
        assert_eq!(
            out.as_primitive::<TimestampMicrosecondType>().value(0),
            60_000_000
        );
    }

    #[test]
    fn width_finer_than_the_unit_truncates() {
        let u = udf();
        let ts = TimestampSecondArray::from(vec![Some(1), Some(-1)]);
        let out = invoke_array(&u, vec![text("300ms"), array(Arc::new(ts))], 2);
        let got: Vec<_> = out.as_primitive::<TimestampSecondType>().iter().collect();
        // Buckets start at 0.9s and -1.2s, truncated (floored) to seconds.
        assert_eq!(got, vec![Some(0), Some(-2)]);
    }

    #[test]
    fn weeks_and_days_align_to_the_epoch() {
        let u = udf();
        // 1970-01-01 was a Thursday: '1w' buckets start on Thursdays.
        let day = 86_400i64;
        let ts = TimestampSecondArray::from(vec![Some(10 * day + 5), Some(-day)]);
        let out = invoke_array(&u, vec![text("1w"), array(Arc::new(ts))], 2);
        let got: Vec<_> = out.as_primitive::<TimestampSecondType>().iter().collect();
        assert_eq!(got, vec![Some(7 * day), Some(-7 * day)]);
    }

    #[test]
    fn intervals_as_width() {
        let u = udf();
        let width = scalar(ScalarValue::IntervalMonthDayNano(Some(
            IntervalMonthDayNano::new(0, 1, 0),
        )));
        let out = invoke_array(
            &u,
            vec![width, ts_ns(vec![Some(90_000 * 1_000_000_000)])],
            1,
        );
        assert_eq!(ns_values(&out), vec![Some(86_400 * 1_000_000_000)]);

        let months = scalar(ScalarValue::IntervalMonthDayNano(Some(
            IntervalMonthDayNano::new(1, 0, 0),
        )));
        let e = error(invoke(&u, vec![months, ts_ns(vec![Some(0)])], 1));
        assert!(e.contains("months"), "{e}");
        assert!(e.contains("date_trunc"), "{e}");

        let ym = scalar(ScalarValue::IntervalYearMonth(Some(12)));
        let e = error(invoke(&u, vec![ym, ts_ns(vec![Some(0)])], 1));
        assert!(e.contains("months or years"), "{e}");
    }

    #[test]
    fn origin() {
        let u = udf();
        let hour = 3_600 * 1_000_000_000i64;
        let origin = scalar(ScalarValue::TimestampNanosecond(Some(15 * MIN), None));
        let out = invoke_array(
            &u,
            vec![
                text("1h"),
                ts_ns(vec![Some(hour), Some(14 * MIN), Some(15 * MIN), None]),
                origin,
            ],
            4,
        );
        assert_eq!(
            ns_values(&out),
            vec![Some(15 * MIN), Some(15 * MIN - hour), Some(15 * MIN), None]
        );

        // An origin of another unit, and a date origin.
        let origin = scalar(ScalarValue::TimestampSecond(Some(60), None));
        let out = invoke_array(&u, vec![text("1h"), ts_ns(vec![Some(0)]), origin], 1);
        assert_eq!(ns_values(&out), vec![Some(MIN - hour)]);
        let origin = scalar(ScalarValue::Date32(Some(1)));
        let out = invoke_array(&u, vec![text("1w"), ts_ns(vec![Some(0)]), origin], 1);
        assert_eq!(ns_values(&out), vec![Some(-6 * 86_400 * 1_000_000_000)]);

        // A per-row origin.
        let origins = array(Arc::new(TimestampNanosecondArray::from(vec![
            Some(0),
            Some(MIN),
            None,
        ])));
        let out = invoke_array(
            &u,
            vec![
                text("5m"),
                ts_ns(vec![Some(2 * MIN), Some(2 * MIN), Some(2 * MIN)]),
                origins,
            ],
            3,
        );
        assert_eq!(ns_values(&out), vec![Some(0), Some(MIN), None]);

        // A NULL origin gives NULL.
        let null_origin = scalar(ScalarValue::TimestampNanosecond(None, None));
        let out = invoke_array(&u, vec![text("5m"), ts_ns(vec![Some(0)]), null_origin], 1);
        assert_eq!(ns_values(&out), vec![None]);
    }

    #[test]
    fn dates() {
        let u = udf();
        let d32 = Date32Array::from(vec![Some(0), Some(-1), Some(10), None]);
        let out = invoke_array(&u, vec![text("1w"), array(Arc::new(d32))], 4);
        assert_eq!(
            out.data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, None)
        );
        let day = 86_400_000_000i64;
        let got: Vec<_> = out
            .as_primitive::<TimestampMicrosecondType>()
            .iter()
            .collect();
        assert_eq!(got, vec![Some(0), Some(-7 * day), Some(7 * day), None]);

        let d64 = Date64Array::from(vec![Some(86_400_000 + 5)]);
        let out = invoke_array(&u, vec![text("1d"), array(Arc::new(d64))], 1);
        let got: Vec<_> = out
            .as_primitive::<TimestampMicrosecondType>()
            .iter()
            .collect();
        assert_eq!(got, vec![Some(day)]);
    }

    #[test]
    fn scalars_in_scalars_out() {
        let u = udf();
        let got = invoke_scalar(
            &u,
            vec![
                text("15m"),
                scalar(ScalarValue::TimestampMillisecond(
                    Some(16 * 60_000),
                    Some("UTC".into()),
                )),
            ],
        );
        assert_eq!(
            got,
            ScalarValue::TimestampMillisecond(Some(15 * 60_000), Some("UTC".into()))
        );
        let got = invoke_scalar(
            &u,
            vec![
                text("15m"),
                scalar(ScalarValue::TimestampNanosecond(None, None)),
            ],
        );
        assert_eq!(got, ScalarValue::TimestampNanosecond(None, None));
    }

    #[test]
    fn null_width_gives_null() {
        let u = udf();
        let out = invoke_array(
            &u,
            vec![
                scalar(ScalarValue::Utf8(None)),
                ts_ns(vec![Some(1), Some(2)]),
            ],
            2,
        );
        assert_eq!(ns_values(&out), vec![None, None]);
    }

    #[test]
    fn bad_widths() {
        let u = udf();
        for (width, expected) in [
            ("0s", "must be positive, got '0s'"),
            ("0ms", "must be positive"),
            ("5 minutes", "'5 minutes' is not a duration"),
            ("5minutes", "did you mean `m`"),
            ("", "is not a duration"),
            ("abc", "time_bucket('5m', ts)"),
        ] {
            let e = error(invoke(&u, vec![text(width), ts_ns(vec![Some(0)])], 1));
            assert!(e.contains(expected), "{width}: {e}");
            assert!(e.starts_with("Error during planning"), "{width}: {e}");
        }
        let negative = scalar(ScalarValue::IntervalMonthDayNano(Some(
            IntervalMonthDayNano::new(0, 0, -5),
        )));
        let e = error(invoke(&u, vec![negative, ts_ns(vec![Some(0)])], 1));
        assert!(e.contains("must be positive"), "{e}");
    }

    #[test]
    fn bad_widths_at_execution() {
        // Reaching execution with a bad literal (e.g. planned elsewhere) is
        // an execution error, not a panic.
        let u = udf();
        let field = Arc::new(Field::new(
            "t",
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            true,
        ));
        let e = error(invoke_unplanned(
            &u,
            vec![text("0m"), ts_ns(vec![Some(0)])],
            1,
            field,
        ));
        assert!(e.contains("must be positive"), "{e}");
    }

    #[test]
    fn width_must_be_constant() {
        let u = udf();
        let widths = array(Arc::new(arrow_array::StringArray::from(vec!["5m"])));
        let e = error(invoke(&u, vec![widths, ts_ns(vec![Some(0)])], 1));
        assert!(
            e.contains("time_bucket's width must be a constant such as '5m'"),
            "{e}"
        );
    }

    #[test]
    fn out_of_range_is_an_error() {
        let u = udf();
        let e = error(invoke(&u, vec![text("1h"), ts_ns(vec![Some(i64::MIN)])], 1));
        assert!(e.contains("outside the range"), "{e}");
        // The largest value floors fine.
        let out = invoke_array(&u, vec![text("1ms"), ts_ns(vec![Some(i64::MAX)])], 1);
        assert_eq!(ns_values(&out), vec![Some(i64::MAX - i64::MAX % 1_000_000)]);
        // Seconds far outside the nanosecond range still work.
        let s = TimestampSecondArray::from(vec![Some(i64::MAX / 2), Some(i64::MIN / 2)]);
        let out = invoke_array(&u, vec![text("1d"), array(Arc::new(s))], 2);
        let got: Vec<_> = out.as_primitive::<TimestampSecondType>().iter().collect();
        let day = 86_400;
        assert_eq!(
            got,
            vec![
                Some((i64::MAX / 2).div_euclid(day) * day),
                Some((i64::MIN / 2).div_euclid(day) * day)
            ]
        );
    }

    #[test]
    fn coercion_and_types() {
        let u = udf();
        let ts = DataType::Timestamp(TimeUnit::Millisecond, Some("+02:00".into()));
        assert_eq!(
            u.coerce_types(&[DataType::Utf8, ts.clone(), DataType::Utf8])
                .unwrap(),
            vec![
                DataType::Utf8,
                ts.clone(),
                DataType::Timestamp(TimeUnit::Nanosecond, Some("+02:00".into()))
            ]
        );
        assert_eq!(
            u.coerce_types(&[DataType::Null, DataType::Utf8]).unwrap(),
            vec![
                DataType::Utf8,
                DataType::Timestamp(TimeUnit::Nanosecond, None)
            ]
        );
        assert!(u.coerce_types(&[DataType::Int64, ts.clone()]).is_err());
        assert!(u.coerce_types(&[DataType::Utf8, DataType::Int64]).is_err());
        assert!(u.coerce_types(&[DataType::Utf8]).is_err());
        assert!(u
            .coerce_types(&[DataType::Utf8, ts.clone(), DataType::Boolean])
            .is_err());
        assert_eq!(u.return_type(&[DataType::Utf8, ts.clone()]).unwrap(), ts);
        assert_eq!(
            u.return_type(&[DataType::Utf8, DataType::Date32]).unwrap(),
            DataType::Timestamp(TimeUnit::Microsecond, None)
        );
        assert!(u.return_type(&[DataType::Utf8, DataType::Int64]).is_err());
        assert!(u.return_type(&[]).is_err());
    }

    #[test]
    fn wrong_argument_types_at_execution_do_not_panic() {
        let u = udf();
        let field = Arc::new(Field::new(
            "t",
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            true,
        ));
        let ints = array(Arc::new(Int64Array::from(vec![1])));
        assert!(invoke_unplanned(&u, vec![text("5m"), ints], 1, Arc::clone(&field)).is_err());
        assert!(invoke_unplanned(&u, vec![text("5m")], 1, Arc::clone(&field)).is_err());
        let bad_origin = array(Arc::new(Int64Array::from(vec![1])));
        assert!(invoke_unplanned(
            &u,
            vec![text("5m"), ts_ns(vec![Some(0)]), bad_origin],
            1,
            field
        )
        .is_err());
    }

    #[test]
    fn ordering_follows_ts() {
        let u = TimeBucket::new();
        let sorted = ExprProperties::new_unknown()
            .with_order(SortProperties::Ordered(arrow_schema::SortOptions::default()));
        let constant = ExprProperties::new_unknown().with_order(SortProperties::Singleton);
        assert_eq!(
            u.output_ordering(&[constant.clone(), sorted.clone()])
                .unwrap(),
            sorted.sort_properties
        );
        assert_eq!(
            u.output_ordering(&[sorted.clone(), sorted.clone()])
                .unwrap(),
            SortProperties::Unordered
        );
        assert_eq!(
            u.output_ordering(&[constant, sorted.clone(), sorted])
                .unwrap(),
            SortProperties::Unordered
        );
    }
}
