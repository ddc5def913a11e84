//! `json_path_bool(json, path)`: extracts a boolean from JSON text.
//!
//! # Signature
//!
//! ```text
//! json_path_bool(json, path) -> Boolean
//! ```
//!
//! Arguments as for `json_path`: `json` is JSON text (`Utf8`, `LargeUtf8`,
//! `Utf8View`), `path` a **constant** selector such as `$.user.admin`.
//!
//! # Semantics
//!
//! If the path matches exactly one value, it is converted:
//!
//! * JSON `true` / `false` → that boolean;
//! * the strings `"true"` / `"false"` (ASCII case-insensitive, surrounding
//!   whitespace ignored) → that boolean.
//!
//! Anything else is NULL — numbers (`1`/`0` are not booleans), other
//! strings, objects, arrays, JSON `null`, no match, or several matches.
//!
//! ```sql
//! SELECT count(*) FILTER (WHERE json_path_bool(payload, '$.user.admin')) FROM events;
//! SELECT json_path_bool('{"ok": "TRUE"}', '$.ok');                -- true
//! ```
//!
//! # NULLs and errors
//!
//! NULL for a NULL `json` or `path`, for text that is not valid JSON, and
//! for values that do not convert (above). An invalid path is an error with
//! the grammar's message (at planning time for a literal); a non-constant
//! path is an error.

use arrow_array::BooleanArray;
use arrow_schema::DataType;
use datafusion_common::Result;
use datafusion_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF};
use serde_json::Value;

use super::json_common::{evaluate, single, Extract, JsonPathUdf};

const NAME: &str = "json_path_bool";

/// The `json_path_bool` UDF.
pub fn udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(JsonPathBool::new())
}

/// Implementation of `json_path_bool`; see the module documentation.
pub type JsonPathBool = JsonPathUdf<BoolPath>;

/// What `json_path_bool` makes of the values a path matched.
#[derive(Debug)]
pub struct BoolPath;

impl Extract for BoolPath {
    const NAME: &'static str = NAME;

    fn return_type() -> DataType {
        DataType::Boolean
    }

    fn invoke(args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        evaluate::<BooleanArray, bool>(NAME, args, |matches, _| to_bool(single(matches)?))
    }
}

/// The boolean a JSON value stands for, if any.
fn to_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => {
            let s = s.trim();
            if s.eq_ignore_ascii_case("true") {
                Some(true)
            } else if s.eq_ignore_ascii_case("false") {
                Some(false)
            } else {
                None
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::functions::test_support::*;
    use arrow_array::cast::AsArray;
    use arrow_array::{Array, StringArray, StringViewArray};
    use datafusion_common::ScalarValue;

    fn run(json: Vec<Option<&str>>, path: &str) -> Vec<Option<bool>> {
        let n = json.len();
        let out = invoke_array(
            &udf(),
            vec![array(Arc::new(StringArray::from(json))), text(path)],
            n,
        );
        assert_eq!(out.data_type(), &DataType::Boolean);
        out.as_boolean().iter().collect()
    }

    fn one(json: &str) -> Option<bool> {
        run(vec![Some(json)], "$.v").remove(0)
    }

    #[test]
    fn booleans_and_boolean_strings() {
        assert_eq!(one(r#"{"v": true}"#), Some(true));
        assert_eq!(one(r#"{"v": false}"#), Some(false));
        assert_eq!(one(r#"{"v": "true"}"#), Some(true));
        assert_eq!(one(r#"{"v": " FALSE "}"#), Some(false));
        assert_eq!(one(r#"{"v": "True"}"#), Some(true));
    }

    #[test]
    fn other_values_are_null() {
        assert_eq!(one(r#"{"v": 1}"#), None);
        assert_eq!(one(r#"{"v": 0}"#), None);
        assert_eq!(one(r#"{"v": "yes"}"#), None);
        assert_eq!(one(r#"{"v": null}"#), None);
        assert_eq!(one(r#"{"v": [true]}"#), None);
        assert_eq!(one(r#"{"w": true}"#), None);
        assert_eq!(one("tru"), None);
        assert_eq!(run(vec![None], "$.v"), vec![None]);
    }

    #[test]
    fn wildcards() {
        let doc = r#"{"flags": [true, false]}"#;
        assert_eq!(run(vec![Some(doc)], "$.flags[*]"), vec![None]);
        assert_eq!(run(vec![Some(doc)], "$.flags[-1]"), vec![Some(false)]);
    }

    #[test]
    fn string_views_and_scalars() {
        let view = StringViewArray::from(vec![Some(r#"{"v": true}"#), None]);
        let out = invoke_array(&udf(), vec![array(Arc::new(view)), text("$.v")], 2);
        let got: Vec<_> = out.as_boolean().iter().collect();
        assert_eq!(got, vec![Some(true), None]);
        let got = invoke_scalar(&udf(), vec![text(r#"{"v": false}"#), text("$.v")]);
        assert_eq!(got, ScalarValue::Boolean(Some(false)));
    }

    #[test]
    fn errors() {
        let e = error(invoke(&udf(), vec![text("{}"), text("$[*")], 1));
        assert!(e.contains("json_path_bool: invalid path '$[*'"), "{e}");
        let paths = array(Arc::new(StringArray::from(vec!["$.v"])));
        let e = error(invoke(&udf(), vec![text("{}"), paths], 1));
        assert!(e.contains("must be a constant"), "{e}");
    }
}
