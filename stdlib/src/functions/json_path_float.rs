//! `json_path_float(json, path)`: extracts a floating-point number from JSON
//! text.
//!
//! # Signature
//!
//! ```text
//! json_path_float(json, path) -> Float64
//! ```
//!
//! Arguments as for `json_path`: `json` is JSON text (`Utf8`, `LargeUtf8`,
//! `Utf8View`), `path` a **constant** selector such as `$.metrics.p95`.
//!
//! # Semantics
//!
//! If the path matches exactly one value, it is converted:
//!
//! * any JSON number → that number as `Float64` (integers beyond 2^53 are
//!   rounded to the nearest double);
//! * a string holding a finite number, surrounding whitespace ignored
//!   (`"1.5"`, `" 42 "`, `"1e-3"`) → that number.
//!
//! Anything else is NULL: booleans, other strings (including `"NaN"` and
//! `"inf"`: JSON has no such numbers), objects, arrays, JSON `null`, no
//! match, or several matches.
//!
//! ```sql
//! SELECT avg(json_path_float(payload, '$.latency_ms')) FROM requests;
//! SELECT json_path_float('{"p": "0.25"}', '$.p');                -- 0.25
//! ```
//!
//! # NULLs and errors
//!
//! NULL for a NULL `json` or `path`, for text that is not valid JSON, and
//! for values that do not convert (above). An invalid path is an error with
//! the grammar's message (at planning time for a literal); a non-constant
//! path is an error.

use arrow_array::Float64Array;
use arrow_schema::DataType;
use datafusion_common::Result;
use datafusion_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF};
use serde_json::Value;

use super::json_common::{evaluate, single, Extract, JsonPathUdf};

const NAME: &str = "json_path_float";

/// The `json_path_float` UDF.
pub fn udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(JsonPathFloat::new())
}

/// Implementation of `json_path_float`; see the module documentation.
pub type JsonPathFloat = JsonPathUdf<FloatPath>;

/// What `json_path_float` makes of the values a path matched.
#[derive(Debug)]
pub struct FloatPath;

impl Extract for FloatPath {
    const NAME: &'static str = NAME;

    fn return_type() -> DataType {
        DataType::Float64
    }

    fn invoke(args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        evaluate::<Float64Array, f64>(NAME, args, |matches, _| to_float(single(matches)?))
    }
}

/// The number a JSON value stands for, if any.
fn to_float(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::functions::test_support::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float64Type;
    use arrow_array::{Array, StringArray};
    use datafusion_common::ScalarValue;

    fn run(json: Vec<Option<&str>>, path: &str) -> Vec<Option<f64>> {
        let n = json.len();
        let out = invoke_array(
            &udf(),
            vec![array(Arc::new(StringArray::from(json))), text(path)],
            n,
        );
        assert_eq!(out.data_type(), &DataType::Float64);
        out.as_primitive::<Float64Type>().iter().collect()
    }

    fn one(json: &str) -> Option<f64> {
        run(vec![Some(json)], "$.v").remove(0)
    }

    #[test]
    fn numbers() {
        assert_eq!(one(r#"{"v": 1.5}"#), Some(1.5));
        assert_eq!(one(r#"{"v": 42}"#), Some(42.0));
        assert_eq!(one(r#"{"v": -1e-3}"#), Some(-0.001));
        assert_eq!(
            one(r#"{"v": 18446744073709551615}"#),
            Some(18_446_744_073_709_551_615.0)
        );
    }

    #[test]
    fn numeric_strings() {
        assert_eq!(one(r#"{"v": "0.25"}"#), Some(0.25));
        assert_eq!(one(r#"{"v": " 42 "}"#), Some(42.0));
        assert_eq!(one(r#"{"v": "1e3"}"#), Some(1000.0));
        assert_eq!(one(r#"{"v": "NaN"}"#), None);
        assert_eq!(one(r#"{"v": "inf"}"#), None);
        assert_eq!(one(r#"{"v": "1,5"}"#), None);
        assert_eq!(one(r#"{"v": ""}"#), None);
    }

    #[test]
    fn other_values_are_null() {
        assert_eq!(one(r#"{"v": false}"#), None);
        assert_eq!(one(r#"{"v": null}"#), None);
        assert_eq!(one(r#"{"v": [1.0]}"#), None);
        assert_eq!(one(r#"{"v": {}}"#), None);
        assert_eq!(one("{"), None);
        assert_eq!(
            run(vec![None, Some(r#"{"v": 2}"#)], "$.v"),
            vec![None, Some(2.0)]
        );
    }

    #[test]
    fn wildcards() {
        let doc = r#"{"xs": [1.5, 2.5]}"#;
        assert_eq!(run(vec![Some(doc)], "$.xs[*]"), vec![None]);
        assert_eq!(run(vec![Some(doc)], "$.xs[1]"), vec![Some(2.5)]);
        assert_eq!(
            run(vec![Some(r#"{"a": {"v": 3}}"#)], "$..v"),
            vec![Some(3.0)]
        );
    }

    #[test]
    fn scalars_and_errors() {
        let got = invoke_scalar(&udf(), vec![text(r#"{"v": 0.5}"#), text("$.v")]);
        assert_eq!(got, ScalarValue::Float64(Some(0.5)));
        let e = error(invoke(&udf(), vec![text("{}"), text("v")], 1));
        assert!(e.contains("json_path_float: invalid path 'v'"), "{e}");
        let paths = array(Arc::new(StringArray::from(vec!["$.v"])));
        let e = error(invoke(&udf(), vec![text("{}"), paths], 1));
        assert!(e.contains("must be a constant"), "{e}");
    }
}
