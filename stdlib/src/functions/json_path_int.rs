//! `json_path_int(json, path)`: extracts an integer from JSON text.
//!
//! # Signature
//!
//! ```text
//! json_path_int(json, path) -> Int64
//! ```
//!
//! Arguments as for `json_path`: `json` is JSON text (`Utf8`, `LargeUtf8`,
//! `Utf8View`), `path` a **constant** selector such as `$.user.id`.
//!
//! # Semantics
//!
//! If the path matches exactly one value, it is converted:
//!
//! * a JSON integer in the `Int64` range → that integer;
//! * a JSON number with no fractional part (`42.0`, `1e3`) in range → that
//!   integer;
//! * a string holding such a number, surrounding whitespace ignored
//!   (`"42"`, `" -7 "`, `"42.0"`) → that integer.
//!
//! Anything else is NULL: fractional numbers (`1.5` — no silent rounding),
//! numbers outside the `Int64` range, booleans, other strings, objects,
//! arrays, JSON `null`, no match, or several matches.
//!
//! ```sql
//! SELECT json_path_int(payload, '$.user.id') FROM events;          -- 42
//! SELECT sum(json_path_int(payload, '$.cart.items')) FROM orders;
//! SELECT json_path_int('{"n": "17"}', '$.n');                      -- 17
//! ```
//!
//! # NULLs and errors
//!
//! NULL for a NULL `json` or `path`, for text that is not valid JSON, and
//! for values that do not convert (above). An invalid path is an error with
//! the grammar's message (at planning time for a literal); a non-constant
//! path is an error.

use arrow_array::Int64Array;
use arrow_schema::DataType;
use datafusion_common::Result;
use datafusion_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF};
use serde_json::Value;

use super::json_common::{evaluate, single, Extract, JsonPathUdf};

const NAME: &str = "json_path_int";

/// The `json_path_int` UDF.
pub fn udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(JsonPathInt::new())
}

/// Implementation of `json_path_int`; see the module documentation.
pub type JsonPathInt = JsonPathUdf<IntPath>;

/// What `json_path_int` makes of the values a path matched.
#[derive(Debug)]
pub struct IntPath;

impl Extract for IntPath {
    const NAME: &'static str = NAME;

    fn return_type() -> DataType {
        DataType::Int64
    }

    fn invoke(args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        evaluate::<Int64Array, i64>(NAME, args, |matches, _| to_int(single(matches)?))
    }
}

/// The integer a JSON value stands for, if any.
fn to_int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().and_then(integral)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>()
                .ok()
                .or_else(|| s.parse::<f64>().ok().and_then(integral))
        }
        _ => None,
    }
}

/// `f` as an `i64` if it is a whole number in range.
fn integral(f: f64) -> Option<i64> {
    // 2^63 is exactly representable; every f64 in [-2^63, 2^63) converts.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (f.is_finite() && f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f)).then_some(f as i64)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::functions::test_support::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    use arrow_array::{Array, StringArray};
    use datafusion_common::ScalarValue;

    fn run(json: Vec<Option<&str>>, path: &str) -> Vec<Option<i64>> {
        let n = json.len();
        let out = invoke_array(
            &udf(),
            vec![array(Arc::new(StringArray::from(json))), text(path)],
            n,
        );
        assert_eq!(out.data_type(), &DataType::Int64);
        out.as_primitive::<Int64Type>().iter().collect()
    }

    fn one(json: &str) -> Option<i64> {
        run(vec![Some(json)], "$.v").remove(0)
    }

    #[test]
    fn numbers() {
        assert_eq!(one(r#"{"v": 42}"#), Some(42));
        assert_eq!(one(r#"{"v": -7}"#), Some(-7));
        assert_eq!(one(r#"{"v": 42.0}"#), Some(42));
        assert_eq!(one(r#"{"v": 1e3}"#), Some(1000));
        assert_eq!(one(r#"{"v": 9223372036854775807}"#), Some(i64::MAX));
        assert_eq!(one(r#"{"v": -9223372036854775808}"#), Some(i64::MIN));
        assert_eq!(one(r#"{"v": 9223372036854775808}"#), None);
        assert_eq!(one(r#"{"v": 1e300}"#), None);
        assert_eq!(one(r#"{"v": 1.5}"#), None);
    }

    #[test]
    fn numeric_strings() {
        assert_eq!(one(r#"{"v": "42"}"#), Some(42));
        assert_eq!(one(r#"{"v": " -7 "}"#), Some(-7));
        assert_eq!(one(r#"{"v": "42.0"}"#), Some(42));
        assert_eq!(one(r#"{"v": "4.2"}"#), None);
        assert_eq!(one(r#"{"v": "forty-two"}"#), None);
        assert_eq!(one(r#"{"v": ""}"#), None);
        assert_eq!(one(r#"{"v": "NaN"}"#), None);
        assert_eq!(one(r#"{"v": "inf"}"#), None);
    }

    #[test]
    fn other_values_are_null() {
        assert_eq!(one(r#"{"v": true}"#), None);
        assert_eq!(one(r#"{"v": null}"#), None);
        assert_eq!(one(r#"{"v": [1]}"#), None);
        assert_eq!(one(r#"{"v": {"a": 1}}"#), None);
        assert_eq!(one(r#"{"w": 1}"#), None);
        assert_eq!(one("not json"), None);
        assert_eq!(run(vec![None], "$.v"), vec![None]);
    }

    #[test]
    fn wildcards() {
        let doc = r#"{"xs": [{"v": 1}, {"v": 2}], "ys": [{"v": 3}]}"#;
        assert_eq!(run(vec![Some(doc)], "$.xs[*].v"), vec![None]);
        assert_eq!(run(vec![Some(doc)], "$.ys[*].v"), vec![Some(3)]);
        assert_eq!(run(vec![Some(doc)], "$.xs[-1].v"), vec![Some(2)]);
    }

    #[test]
    fn scalars_and_errors() {
        let got = invoke_scalar(&udf(), vec![text(r#"{"v": "12"}"#), text("$.v")]);
        assert_eq!(got, ScalarValue::Int64(Some(12)));
        let got = invoke_scalar(&udf(), vec![text("{}"), scalar(ScalarValue::Utf8(None))]);
        assert_eq!(got, ScalarValue::Int64(None));
        let e = error(invoke(&udf(), vec![text("{}"), text("$.")], 1));
        assert!(e.contains("json_path_int: invalid path '$.'"), "{e}");
        let paths = array(Arc::new(StringArray::from(vec!["$.v"])));
        let e = error(invoke(&udf(), vec![text("{}"), paths], 1));
        assert!(e.contains("must be a constant"), "{e}");
    }
}
