//! Constant duration arguments, shared by `time_bucket` (its width) and `ago`.
//!
//! A duration argument is either
//!
//! * a string in widgettdc's duration syntax ([`widgettdc_grammar::parse_duration`]):
//!   `'250ms'`, `'30s'`, `'15m'`, `'1h30m'`, `'1h 30m'`, `'7d'`, `'2w'`
//!   (surrounding whitespace is ignored), or
//! * a SQL interval (`INTERVAL '15 minutes'`, any of Arrow's three interval
//!   types).
//!
//! A day counts as exactly 24 hours. Months cannot be converted to a fixed
//! length, so they are kept apart in [`DurationArg::months`] and each caller
//! decides what they mean (`time_bucket` rejects them, `ago` steps back
//! calendar months).

use arrow_schema::DataType;
use datafusion_common::ScalarValue;
use widgettdc_grammar::parse_duration;

const NANOS_PER_MILLI: i128 = 1_000_000;
const NANOS_PER_DAY: i128 = 86_400 * 1_000_000_000;

/// A duration read from a constant argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationArg {
    /// Calendar months (only intervals can have them).
    pub months: i32,
    /// Everything else, in nanoseconds (days count as 24 hours). Negative
    /// only for negative intervals.
    pub nanos: i128,
}

/// Whether `data_type` can hold a duration argument (before checking the value).
pub fn is_duration_type(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Interval(_)
            | DataType::Null
    )
}

/// Reads a constant duration argument.
///
/// Returns `Ok(None)` for a NULL of any type, and `Err(message)` — a
/// sentence saying what is wrong with the value, to be wrapped by the caller
/// with the function name and an example — for an unparsable string or a
/// value of another type.
pub fn duration_from_scalar(value: &ScalarValue) -> Result<Option<DurationArg>, String> {
    if value.is_null() {
        return Ok(None);
    }
    if let Some(Some(text)) = value.try_as_str() {
        let d = parse_duration(text.trim()).map_err(|e| {
            let mut message = format!("'{text}' is not a duration: {e}");
            if let Some(help) = &e.help {
                message.push_str(&format!(" ({help})"));
            }
            message
        })?;
        let nanos =
            i128::try_from(d.as_nanos()).map_err(|_| format!("'{text}' is too long a duration"))?;
        return Ok(Some(DurationArg { months: 0, nanos }));
    }
    match value {
        ScalarValue::IntervalMonthDayNano(Some(v)) => Ok(Some(DurationArg {
            months: v.months,
            nanos: i128::from(v.days) * NANOS_PER_DAY + i128::from(v.nanoseconds),
        })),
        ScalarValue::IntervalDayTime(Some(v)) => Ok(Some(DurationArg {
            months: 0,
            nanos: i128::from(v.days) * NANOS_PER_DAY
                + i128::from(v.milliseconds) * NANOS_PER_MILLI,
        })),
        ScalarValue::IntervalYearMonth(Some(months)) => Ok(Some(DurationArg {
            months: *months,
            nanos: 0,
        })),
        other => Err(format!(
            "expected a duration string or an interval, got a value of type {}",
            other.data_type()
        )),
    }
}

/// Renders an argument for an error message as SQL: `'15m'`,
/// `INTERVAL '1 months 2 days'`; other values as DataFusion prints them.
pub fn show(value: &ScalarValue) -> String {
    if let Some(Some(text)) = value.try_as_str() {
        return format!("'{text}'");
    }
    let (months, days, nanos) = match value {
        ScalarValue::IntervalMonthDayNano(Some(v)) => (v.months, v.days, i128::from(v.nanoseconds)),
        ScalarValue::IntervalDayTime(Some(v)) => {
            (0, v.days, i128::from(v.milliseconds) * NANOS_PER_MILLI)
        }
        ScalarValue::IntervalYearMonth(Some(m)) => (*m, 0, 0),
        other => return other.to_string(),
    };
    let mut parts = Vec::new();
    if months != 0 {
        parts.push(format!("{months} months"));
    }
    if days != 0 {
        parts.push(format!("{days} days"));
    }
    if nanos != 0 || parts.is_empty() {
        let secs = format!("{:.9}", nanos as f64 / 1e9);
        let secs = secs.trim_end_matches('0').trim_end_matches('.');
        parts.push(format!("{secs} seconds"));
    }
    format!("INTERVAL '{}'", parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::types::{IntervalDayTime, IntervalMonthDayNano};

    fn utf8(s: &str) -> ScalarValue {
        ScalarValue::Utf8(Some(s.to_string()))
    }

    fn nanos(n: i128) -> Option<DurationArg> {
        Some(DurationArg {
            months: 0,
            nanos: n,
        })
    }

    #[test]
    fn strings() {
        assert_eq!(
            duration_from_scalar(&utf8("5m")),
            Ok(nanos(300_000_000_000))
        );
        assert_eq!(
            duration_from_scalar(&utf8(" 1h 30m ")),
            Ok(nanos(5_400_000_000_000))
        );
        assert_eq!(duration_from_scalar(&utf8("250ms")), Ok(nanos(250_000_000)));
        assert_eq!(
            duration_from_scalar(&ScalarValue::LargeUtf8(Some("1w".into()))),
            Ok(nanos(7 * NANOS_PER_DAY))
        );
        assert_eq!(
            duration_from_scalar(&ScalarValue::Utf8View(Some("1d".into()))),
            Ok(nanos(NANOS_PER_DAY))
        );
        assert_eq!(duration_from_scalar(&utf8("0s")), Ok(nanos(0)));
    }

    #[test]
    fn bad_strings() {
        let e = duration_from_scalar(&utf8("5 minutes")).unwrap_err();
        assert!(e.contains("'5 minutes' is not a duration"), "{e}");
        let e = duration_from_scalar(&utf8("5minutes")).unwrap_err();
        assert!(e.contains("did you mean `m`"), "{e}");
        assert!(duration_from_scalar(&utf8("")).is_err());
        assert!(duration_from_scalar(&utf8("-5m")).is_err());
        assert!(duration_from_scalar(&utf8("99999999999999999999w")).is_err());
    }

    #[test]
    fn intervals() {
        let mdn = ScalarValue::IntervalMonthDayNano(Some(IntervalMonthDayNano::new(1, 2, 3)));
        assert_eq!(
            duration_from_scalar(&mdn),
            Ok(Some(DurationArg {
                months: 1,
                nanos: 2 * NANOS_PER_DAY + 3
            }))
        );
        let dt = ScalarValue::IntervalDayTime(Some(IntervalDayTime::new(1, 500)));
        assert_eq!(
            duration_from_scalar(&dt),
            Ok(nanos(NANOS_PER_DAY + 500 * NANOS_PER_MILLI))
        );
        let ym = ScalarValue::IntervalYearMonth(Some(14));
        assert_eq!(
            duration_from_scalar(&ym),
            Ok(Some(DurationArg {
                months: 14,
                nanos: 0
            }))
        );
    }

    #[test]
    fn nulls_and_other_types() {
        assert_eq!(duration_from_scalar(&ScalarValue::Null), Ok(None));
        assert_eq!(duration_from_scalar(&ScalarValue::Utf8(None)), Ok(None));
        assert_eq!(
            duration_from_scalar(&ScalarValue::IntervalMonthDayNano(None)),
            Ok(None)
        );
        let e = duration_from_scalar(&ScalarValue::Int64(Some(5))).unwrap_err();
        assert!(e.contains("Int64"), "{e}");
    }

    #[test]
    fn shows_values() {
        assert_eq!(show(&utf8("5m")), "'5m'");
        assert_eq!(show(&ScalarValue::Int64(Some(5))), "5");
        let mdn =
            |m, d, n| ScalarValue::IntervalMonthDayNano(Some(IntervalMonthDayNano::new(m, d, n)));
        assert_eq!(show(&mdn(1, 0, 0)), "INTERVAL '1 months'");
        assert_eq!(
            show(&mdn(0, 2, 1_500_000_000)),
            "INTERVAL '2 days 1.5 seconds'"
        );
        assert_eq!(show(&mdn(0, 0, -5)), "INTERVAL '-0.000000005 seconds'");
        assert_eq!(show(&mdn(0, 0, 0)), "INTERVAL '0 seconds'");
        assert_eq!(
            show(&mdn(0, 0, 3_600_000_000_000)),
            "INTERVAL '3600 seconds'"
        );
        let dt = ScalarValue::IntervalDayTime(Some(IntervalDayTime::new(1, 250)));
        assert_eq!(show(&dt), "INTERVAL '1 days 0.25 seconds'");
        assert_eq!(
            show(&ScalarValue::IntervalYearMonth(Some(12))),
            "INTERVAL '12 months'"
        );
    }
}
