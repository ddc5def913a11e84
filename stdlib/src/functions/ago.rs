//! `ago(duration)`: the query's start time minus a duration.
//!
//! # Signature
//!
//! ```text
//! ago(duration) -> Timestamp(Nanosecond, "+00:00")
//! ```
//!
//! * `duration` — a **constant**: a string in widgettdc's duration syntax
//!   (`'30s'`, `'15m'`, `'1h30m'`, `'7d'`, `'2w'`) or an interval
//!   (`INTERVAL '1 month'`). Interval months step back whole calendar months
//!   (clamped to the end of shorter months, in UTC); days count as 24 hours.
//!   A negative interval gives a time in the future.
//!
//! # Semantics
//!
//! `ago(d)` is `now() - d`, where "now" is the instant the query started, the
//! same instant DataFusion's `now()` uses: every `ago` in one query sees the
//! same "now". The planner folds each call into a timestamp literal
//! (`simplify`), so `WHERE ts > ago('1h')` is a plain comparison with a
//! constant that can be pushed down to sources. Outside a planner that
//! provides a start time (e.g. a bare `invoke`), the current clock is used.
//!
//! ```sql
//! SELECT * FROM events WHERE ts > ago('15m');
//! SELECT count(*) FROM orders WHERE created_at BETWEEN ago('7d') AND now();
//! SELECT ago(INTERVAL '1 month');
//! ```
//!
//! The result is in UTC (`Timestamp(Nanosecond, "+00:00")`); comparing it with
//! a timestamp column of any time zone compares instants.
//!
//! # NULLs and errors
//!
//! `ago(NULL)` is NULL. A duration that is not a constant, cannot be parsed,
//! or reaches before 1677-09-21 / after 2262-04-11 (the range of a
//! nanosecond timestamp) is an error naming the value, with an example.
//!
//! # Volatility
//!
//! `ago` is declared `Volatile` although, like `now()`, its value is fixed
//! per query. DataFusion 55's simplifier evaluates every `Stable` call with
//! constant arguments (its `ConstEvaluator`) *before* asking the function to
//! simplify itself, which would stamp each call with the clock at that
//! moment instead of the query start time. `now()` avoids this by failing
//! in `invoke`; `ago` keeps a working `invoke` as a fallback and is excluded
//! from constant evaluation by being `Volatile`, so `simplify` is always the
//! path that folds it.

use std::sync::Arc;

use arrow_schema::{DataType, Field, FieldRef, TimeUnit};
use chrono::{DateTime, Months, Utc};
use datafusion_common::{exec_err, plan_err, DataFusionError, Result, ScalarValue};
use datafusion_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion_expr::{
    ColumnarValue, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use super::duration_arg::{duration_from_scalar, is_duration_type, show, DurationArg};

const NAME: &str = "ago";
const EXAMPLE: &str = "e.g. ago('15m'), ago('1h30m'), ago('7d') or ago(INTERVAL '1 month')";
/// The time zone of the result, as DataFusion spells UTC offsets.
pub const UTC: &str = "+00:00";

/// The `ago` UDF.
pub fn udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(Ago::new())
}

/// Implementation of `ago`; see the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Ago {
    signature: Signature,
}

impl Default for Ago {
    fn default() -> Self {
        Self::new()
    }
}

impl Ago {
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Volatile),
        }
    }
}

/// The result type of `ago`.
pub fn return_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some(UTC.into()))
}

impl ScalarUDFImpl for Ago {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [DataType::Null] => Ok(vec![DataType::Utf8]),
            [t] if is_duration_type(t) => Ok(vec![t.clone()]),
            [other] => plan_err!(
                "ago's argument must be a duration string or an interval, got {other}; {EXAMPLE}"
            ),
            _ => plan_err!(
                "ago takes 1 argument (a duration), got {}; {EXAMPLE}",
                arg_types.len()
            ),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(return_type())
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        // Check a literal duration while planning.
        if let Some(Some(value)) = args.scalar_arguments.first() {
            duration(value).map_err(DataFusionError::Plan)?;
        }
        Ok(Arc::new(Field::new(NAME, return_type(), true)))
    }

    fn is_strict(&self) -> bool {
        true
    }

    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        let Some(now) = info.query_execution_start_time() else {
            return Ok(ExprSimplifyResult::Original(args));
        };
        let [Expr::Literal(value, _)] = args.as_slice() else {
            // Not (yet) a constant: leave it to `invoke`, which reports
            // non-constant arguments.
            return Ok(ExprSimplifyResult::Original(args));
        };
        let nanos = match duration(value).map_err(DataFusionError::Plan)? {
            Some(d) => Some(subtract(now, d, value).map_err(DataFusionError::Plan)?),
            None => None,
        };
        Ok(ExprSimplifyResult::Simplified(Expr::Literal(
            ScalarValue::TimestampNanosecond(nanos, Some(UTC.into())),
            None,
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let value = match args.args.as_slice() {
            [ColumnarValue::Scalar(value)] => value,
            [ColumnarValue::Array(_)] => {
                return exec_err!(
                    "ago's duration must be a constant such as '15m', not a column or expression; {EXAMPLE}"
                )
            }
            other => {
                return exec_err!("ago takes 1 argument (a duration), got {}; {EXAMPLE}", other.len())
            }
        };
        let nanos = match duration(value).map_err(DataFusionError::Execution)? {
            Some(d) => Some(subtract(Utc::now(), d, value).map_err(DataFusionError::Execution)?),
            None => None,
        };
        Ok(ColumnarValue::Scalar(ScalarValue::TimestampNanosecond(
            nanos,
            Some(UTC.into()),
        )))
    }
}

/// Reads the duration argument (`None` for NULL).
fn duration(value: &ScalarValue) -> std::result::Result<Option<DurationArg>, String> {
    duration_from_scalar(value).map_err(|e| format!("ago's duration is invalid: {e}; {EXAMPLE}"))
}

/// `now - d` in nanoseconds since the epoch.
fn subtract(
    now: DateTime<Utc>,
    d: DurationArg,
    value: &ScalarValue,
) -> std::result::Result<i64, String> {
    let out_of_range = || {
        format!(
            "ago({}) is outside the range of timestamps (1677-09-21 to 2262-04-11)",
            show(value)
        )
    };
    let months = Months::new(d.months.unsigned_abs());
    let shifted = if d.months >= 0 {
        now.checked_sub_months(months)
    } else {
        now.checked_add_months(months)
    }
    .ok_or_else(out_of_range)?;
    let base = shifted.timestamp_nanos_opt().ok_or_else(out_of_range)?;
    i128::from(base)
        .checked_sub(d.nanos)
        .and_then(|n| i64::try_from(n).ok())
        .ok_or_else(out_of_range)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::test_support::*;
    use arrow_array::types::IntervalMonthDayNano;
    use arrow_array::StringArray;
    use chrono::TimeZone;
    use datafusion_expr::lit;

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, 31, 12, 0, 0).unwrap()
    }

    fn context() -> SimplifyContext {
        SimplifyContext::builder()
            .with_query_execution_start_time(Some(start()))
            .build()
    }

    fn folded(arg: Expr) -> Result<ScalarValue> {
        match udf().simplify(vec![arg], &context())? {
            ExprSimplifyResult::Simplified(Expr::Literal(v, None)) => Ok(v),
            other => panic!("expected a literal, got {other:?}"),
        }
    }

    fn ts(dt: DateTime<Utc>) -> ScalarValue {
        ScalarValue::TimestampNanosecond(dt.timestamp_nanos_opt(), Some(UTC.into()))
    }

    #[test]
    fn simplify_folds_relative_to_query_start() {
        let hour = chrono::Duration::hours(1);
        assert_eq!(folded(lit("15m")).unwrap(), ts(start() - hour / 4));
        assert_eq!(folded(lit("1h30m")).unwrap(), ts(start() - hour * 3 / 2));
        assert_eq!(folded(lit("7d")).unwrap(), ts(start() - hour * 24 * 7));
        assert_eq!(folded(lit("0s")).unwrap(), ts(start()));
        // Every call in the query sees the same instant.
        assert_eq!(folded(lit("1h")).unwrap(), folded(lit("60m")).unwrap());
        // The literal has exactly the declared return type.
        assert_eq!(folded(lit("1m")).unwrap().data_type(), return_type());
    }

    #[test]
    fn simplify_intervals() {
        let interval = |m, d, n| {
            Expr::Literal(
                ScalarValue::IntervalMonthDayNano(Some(IntervalMonthDayNano::new(m, d, n))),
                None,
            )
        };
        // 2024-03-31 minus one month clamps to 2024-02-29.
        assert_eq!(
            folded(interval(1, 0, 0)).unwrap(),
            ts(Utc.with_ymd_and_hms(2024, 2, 29, 12, 0, 0).unwrap())
        );
        assert_eq!(
            folded(interval(0, 1, 1)).unwrap(),
            ts(start() - chrono::Duration::days(1) - chrono::Duration::nanoseconds(1))
        );
        // Negative intervals look into the future.
        assert_eq!(
            folded(interval(-1, 0, 0)).unwrap(),
            ts(Utc.with_ymd_and_hms(2024, 4, 30, 12, 0, 0).unwrap())
        );
        let ym = Expr::Literal(ScalarValue::IntervalYearMonth(Some(12)), None);
        assert_eq!(
            folded(ym).unwrap(),
            ts(Utc.with_ymd_and_hms(2023, 3, 31, 12, 0, 0).unwrap())
        );
    }

    #[test]
    fn simplify_nulls_and_errors() {
        assert_eq!(
            folded(Expr::Literal(ScalarValue::Utf8(None), None)).unwrap(),
            ScalarValue::TimestampNanosecond(None, Some(UTC.into()))
        );
        let e = folded(lit("15 minutes")).unwrap_err().to_string();
        assert!(e.contains("'15 minutes' is not a duration"), "{e}");
        assert!(e.contains("ago('15m')"), "{e}");
        let e = folded(lit("100000w")).unwrap_err().to_string();
        assert!(e.contains("outside the range"), "{e}");
    }

    #[test]
    fn simplify_leaves_non_literals_and_missing_start_time() {
        let u = udf();
        let col = datafusion_expr::col("d");
        assert!(matches!(
            u.simplify(vec![col], &context()).unwrap(),
            ExprSimplifyResult::Original(_)
        ));
        assert!(matches!(
            u.simplify(vec![lit("1h")], &SimplifyContext::default())
                .unwrap(),
            ExprSimplifyResult::Original(_)
        ));
    }

    #[test]
    fn invoke_uses_the_clock() {
        let u = udf();
        let before = Utc::now();
        let got = invoke_scalar(&u, vec![text("1h")]);
        let after = Utc::now();
        let hour = chrono::Duration::hours(1);
        let ScalarValue::TimestampNanosecond(Some(n), Some(tz)) = got else {
            panic!("unexpected {got:?}");
        };
        assert_eq!(&*tz, UTC);
        assert!((before - hour).timestamp_nanos_opt().unwrap() <= n);
        assert!(n <= (after - hour).timestamp_nanos_opt().unwrap());

        let got = invoke_scalar(&u, vec![scalar(ScalarValue::Null)]);
        assert_eq!(
            got,
            ScalarValue::TimestampNanosecond(None, Some(UTC.into()))
        );
    }

    #[test]
    fn invoke_errors() {
        let u = udf();
        let e = error(invoke(&u, vec![text("soon")], 1));
        assert!(e.contains("'soon' is not a duration"), "{e}");
        assert!(e.starts_with("Error during planning"), "{e}");

        let column = array(Arc::new(StringArray::from(vec!["1h", "2h"])));
        let e = error(invoke(&u, vec![column], 2));
        assert!(
            e.contains("ago's duration must be a constant such as '15m'"),
            "{e}"
        );

        let field = Arc::new(Field::new("t", return_type(), true));
        let e = error(invoke_unplanned(&u, vec![text("x")], 1, Arc::clone(&field)));
        assert!(e.starts_with("Execution error"), "{e}");
        assert!(invoke_unplanned(&u, vec![], 1, field).is_err());
    }

    #[test]
    fn volatile_so_only_simplify_folds_it() {
        // See the module documentation: `Stable` would let DataFusion's
        // constant evaluator call `invoke` (the wall clock) before
        // `simplify` (the query start time) gets a chance.
        assert_eq!(udf().signature().volatility, Volatility::Volatile);
    }

    #[test]
    fn coercion() {
        let u = udf();
        assert_eq!(
            u.coerce_types(&[DataType::Null]).unwrap(),
            vec![DataType::Utf8]
        );
        assert_eq!(
            u.coerce_types(&[DataType::Utf8View]).unwrap(),
            vec![DataType::Utf8View]
        );
        assert!(u.coerce_types(&[DataType::Int32]).is_err());
        assert!(u.coerce_types(&[]).is_err());
        assert!(u.coerce_types(&[DataType::Utf8, DataType::Utf8]).is_err());
        assert_eq!(u.return_type(&[DataType::Utf8]).unwrap(), return_type());
    }
}
