//! `json_path(json, path)`: extracts a value from JSON text, as text.
//!
//! # Signature
//!
//! ```text
//! json_path(json, path) -> Utf8
//! ```
//!
//! * `json` — JSON stored as text (`Utf8`, `LargeUtf8` or `Utf8View`).
//! * `path` — a **constant** row selector: `$` then steps `.name`,
//!   `['any name']`, `[0]`, `[-1]` (from the end), `[*]` / `.*` (every item
//!   or member value) and `..name` (recursive descent).
//!
//! # Semantics
//!
//! A *definite* path (only `.name` and `[N]` steps) selects at most one
//! value, which is returned as:
//!
//! * a JSON string → its contents, unquoted (`"abc"` → `abc`);
//! * a number or boolean → its JSON text (`42`, `1.5`, `true`);
//! * an object or array → compact JSON text (`{"a":1}`, `[1,2]`);
//! * JSON `null` → NULL.
//!
//! A path with `[*]`, `.*` or `..` can select several values and always
//! returns a JSON array text of all of them, in document order (`["a","b"]`,
//! also `["a"]` for a single match), so a column has the same shape on every
//! row (JSONPath's "indefinite paths return lists" rule). To get one element
//! as a plain value, index it: `$.items[0].id`.
//!
//! ```sql
//! SELECT json_path(payload, '$.user.name') FROM events;        -- alice
//! SELECT json_path(payload, '$.tags[-1]') FROM events;         -- last tag
//! SELECT json_path(payload, '$.items[*].id') FROM events;      -- [1,2,3]
//! SELECT json_path('{"a":{"b":[1,2]}}', '$.a');                -- {"b":[1,2]}
//! ```
//!
//! # NULLs and errors
//!
//! NULL when `json` or `path` is NULL, when the path matches nothing, when a
//! definite path matches JSON `null`, and when `json` is not valid JSON
//! (deliberately NULL rather than an error: one malformed row should not
//! fail a dashboard). An invalid path is an error with the grammar's message
//! (at planning time for a literal); a non-constant path is an error.

use arrow_array::StringArray;
use arrow_schema::DataType;
use datafusion_common::Result;
use datafusion_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF};
use serde_json::Value;

use super::json_common::{evaluate, Extract, JsonPathUdf};

const NAME: &str = "json_path";

/// The `json_path` UDF.
pub fn udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(JsonPath::new())
}

/// Implementation of `json_path`; see the module documentation.
pub type JsonPath = JsonPathUdf<TextPath>;

/// What `json_path` makes of the values a path matched.
#[derive(Debug)]
pub struct TextPath;

impl Extract for TextPath {
    const NAME: &'static str = NAME;

    fn return_type() -> DataType {
        DataType::Utf8
    }

    fn invoke(args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        evaluate::<StringArray, String>(NAME, args, render)
    }
}

/// The text result for the values a row matched.
fn render(matches: &[&Value], definite: bool) -> Option<String> {
    if !definite {
        if matches.is_empty() {
            return None;
        }
        return serde_json::to_string(matches).ok();
    }
    match matches.first()? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => serde_json::to_string(other).ok(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::functions::test_support::*;
    use arrow_array::cast::AsArray;
    use arrow_array::{Array, LargeStringArray, StringViewArray};
    use datafusion_common::ScalarValue;

    fn run(json: Vec<Option<&str>>, path: &str) -> Vec<Option<String>> {
        let n = json.len();
        let out = invoke_array(
            &udf(),
            vec![array(Arc::new(StringArray::from(json))), text(path)],
            n,
        );
        assert_eq!(out.data_type(), &DataType::Utf8);
        out.as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    }

    fn one(json: &str, path: &str) -> Option<String> {
        run(vec![Some(json)], path).remove(0)
    }

    #[test]
    fn single_values() {
        let doc = r#"{"user": {"name": "alice", "age": 42, "score": 1.5, "admin": true,
                      "tags": ["x", "y"], "meta": {"a": 1}, "none": null, "quote": "say \"hi\""}}"#;
        assert_eq!(one(doc, "$.user.name").as_deref(), Some("alice"));
        assert_eq!(one(doc, "$.user.age").as_deref(), Some("42"));
        assert_eq!(one(doc, "$.user.score").as_deref(), Some("1.5"));
        assert_eq!(one(doc, "$.user.admin").as_deref(), Some("true"));
        assert_eq!(one(doc, "$.user.tags").as_deref(), Some(r#"["x","y"]"#));
        assert_eq!(one(doc, "$.user.tags[-1]").as_deref(), Some("y"));
        assert_eq!(one(doc, "$.user.meta").as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(one(doc, "$.user.quote").as_deref(), Some(r#"say "hi""#));
        assert_eq!(one(doc, "$.user.none"), None);
        assert_eq!(one(doc, "$.user.missing"), None);
        assert_eq!(one(doc, "$.user.tags[5]"), None);
        assert_eq!(one("[1, 2]", "$").as_deref(), Some("[1,2]"));
        assert_eq!(one(r#""plain""#, "$").as_deref(), Some("plain"));
    }

    #[test]
    fn object_member_order_is_kept() {
        assert_eq!(
            one(r#"{"z": 1, "a": {"y": 2, "b": 3}}"#, "$").as_deref(),
            Some(r#"{"z":1,"a":{"y":2,"b":3}}"#)
        );
    }

    #[test]
    fn multiple_matches_are_a_json_array() {
        let doc = r#"{"items": [{"id": 1, "n": "a"}, {"id": 2, "n": null}, {"x": 0}]}"#;
        assert_eq!(one(doc, "$.items[*].id").as_deref(), Some("[1,2]"));
        assert_eq!(one(doc, "$.items[*].n").as_deref(), Some(r#"["a",null]"#));
        assert_eq!(one(doc, "$..id").as_deref(), Some("[1,2]"));
        assert_eq!(one(doc, "$.items[0].*").as_deref(), Some(r#"[1,"a"]"#));
        // One match through a wildcard is still a list.
        assert_eq!(one(doc, "$.items[*].x").as_deref(), Some("[0]"));
        // No match is NULL.
        assert_eq!(one(doc, "$.items[*].missing"), None);
        assert_eq!(one(doc, "$..missing"), None);
    }

    #[test]
    fn nulls_and_invalid_json() {
        let got = run(
            vec![
                Some(r#"{"a": "ok"}"#),
                None,
                Some("not json"),
                Some(""),
                Some(r#"{"a": "#),
                Some(r#"{"a": "x"} trailing"#),
            ],
            "$.a",
        );
        assert_eq!(got, vec![Some("ok".into()), None, None, None, None, None]);
    }

    #[test]
    fn null_path_gives_null() {
        let out = invoke(
            &udf(),
            vec![
                array(Arc::new(StringArray::from(vec![r#"{"a":1}"#]))),
                scalar(ScalarValue::Utf8(None)),
            ],
            1,
        )
        .unwrap();
        assert_eq!(out.to_array(1).unwrap().null_count(), 1);
    }

    #[test]
    fn invalid_path() {
        let e = error(invoke(&udf(), vec![text(r#"{"a":1}"#), text("$.a b")], 1));
        assert!(e.starts_with("Error during planning"), "{e}");
        assert!(e.contains("json_path: invalid path '$.a b'"), "{e}");
        assert!(e.contains("whitespace is not allowed"), "{e}");

        let e = error(invoke(&udf(), vec![text("{}"), text("a")], 1));
        assert!(e.contains("must start with `$`"), "{e}");
    }

    #[test]
    fn invalid_path_at_execution() {
        let field = Arc::new(arrow_schema::Field::new("j", DataType::Utf8, true));
        let e = error(invoke_unplanned(
            &udf(),
            vec![text("{}"), text("$[")],
            1,
            field,
        ));
        assert!(e.starts_with("Execution error"), "{e}");
        assert!(e.contains("invalid path '$['"), "{e}");
    }

    #[test]
    fn path_must_be_constant() {
        let paths = array(Arc::new(StringArray::from(vec!["$.a"])));
        let e = error(invoke(&udf(), vec![text(r#"{"a":1}"#), paths], 1));
        assert!(e.contains("json_path's path must be a constant"), "{e}");
    }

    #[test]
    fn other_string_types() {
        let large = LargeStringArray::from(vec![Some(r#"{"a": [1]}"#), None]);
        let out = invoke_array(&udf(), vec![array(Arc::new(large)), text("$.a[0]")], 2);
        let got: Vec<_> = out.as_string::<i32>().iter().collect();
        assert_eq!(got, vec![Some("1"), None]);

        let view = StringViewArray::from(vec![Some(r#"{"a": {"b": "c"}}"#)]);
        let out = invoke_array(&udf(), vec![array(Arc::new(view)), text("$.a.b")], 1);
        assert_eq!(out.as_string::<i32>().value(0), "c");

        let path = scalar(ScalarValue::Utf8View(Some("$.a".into())));
        let out = invoke_array(&udf(), vec![text(r#"{"a": 5}"#), path], 1);
        assert_eq!(out.as_string::<i32>().value(0), "5");
    }

    #[test]
    fn scalar_input_gives_scalar_output() {
        let got = invoke_scalar(&udf(), vec![text(r#"{"a": {"b": 1}}"#), text("$.a")]);
        assert_eq!(got, ScalarValue::Utf8(Some(r#"{"b":1}"#.into())));
        let got = invoke_scalar(&udf(), vec![scalar(ScalarValue::Utf8(None)), text("$.a")]);
        assert_eq!(got, ScalarValue::Utf8(None));
    }

    #[test]
    fn deeply_nested_json_is_null_not_a_crash() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert_eq!(one(&deep, "$..a"), None);
    }
}
