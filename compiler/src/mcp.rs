//! The typed signature of an MCP tool (or resource template), read from its JSON Schemas: the
//! arguments from `inputSchema`, the result's columns from `outputSchema`. The runtime shapes
//! a tool's result with [`OutputShape`] so that its columns are the ones `check` typed against
//! (from `schema.lock.yaml` or a live `check`). Pure data in, data out: no IO.

use serde_json::Value;
use widgettdc_grammar::TypeExpr;

/// One argument of a tool: its JSON type (`string`, `integer`, `number`, `boolean`, `array`,
/// `object`, or `any`) and whether it must be given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolArgument {
    pub name: String,
    pub json_type: String,
    pub required: bool,
}

/// What a tool takes and (when its server says) what it gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolSignature {
    pub arguments: Vec<ToolArgument>,
    /// `None` when the result's columns are known only once it runs (no `outputSchema`).
    pub columns: Option<Vec<(String, TypeExpr)>>,
}

/// Where the rows of a structured result are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputShape {
    /// The result object is one row.
    Object(Vec<(String, TypeExpr)>),
    /// The rows are the items of this array-of-objects property of the result.
    List {
        property: String,
        columns: Vec<(String, TypeExpr)>,
    },
}

impl OutputShape {
    pub fn columns(&self) -> &[(String, TypeExpr)] {
        match self {
            OutputShape::Object(c) | OutputShape::List { columns: c, .. } => c,
        }
    }
}

/// The columns of a resource template's rows (one per content of the resource read).
pub fn template_columns() -> Vec<(String, TypeExpr)> {
    ["uri", "mime_type", "text"]
        .iter()
        .map(|n| (n.to_string(), TypeExpr::String))
        .collect()
}

/// A tool's arguments, from its `inputSchema` (properties in the server's order).
pub fn arguments(input_schema: &Value) -> Vec<ToolArgument> {
    let required: Vec<&str> = input_schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    input_schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, p)| ToolArgument {
            name: name.clone(),
            json_type: json_type(p).unwrap_or("any").to_string(),
            required: required.contains(&name.as_str()),
        })
        .collect()
}

/// The arguments of a resource template: its `{variables}`, all required strings.
pub fn template_arguments(uri_template: &str) -> Vec<ToolArgument> {
    let mut out: Vec<ToolArgument> = Vec::new();
    let mut rest = uri_template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = &rest[open + 1..open + close];
        if !name.is_empty() && !out.iter().any(|a| a.name == name) {
            out.push(ToolArgument {
                name: name.to_string(),
                json_type: "string".into(),
                required: true,
            });
        }
        rest = &rest[open + close + 1..];
    }
    out
}

/// How a tool with this `outputSchema` gives rows: the one property that is an array of
/// objects holds them (`{"items": [{...}]}`), else the result object is one row. `None` when
/// the schema does not describe an object with properties, or when its only property is a
/// string: servers use such a wrapper to carry JSON text (`server-filesystem`'s
/// `{"content": "[...]"}`), whose rows are known only when the tool runs.
pub fn output_shape(output_schema: &Value) -> Option<OutputShape> {
    let props = output_schema.get("properties")?.as_object()?;
    if props.is_empty() {
        return None;
    }
    if props.len() == 1 && props.values().all(|p| json_type(p) == Some("string")) {
        return None;
    }
    let lists: Vec<(&String, &Value)> = props
        .iter()
        .filter(|(_, p)| {
            json_type(p) == Some("array")
                && p.get("items")
                    .is_some_and(|i| i.get("properties").is_some_and(Value::is_object))
        })
        .collect();
    if let [(property, p)] = lists.as_slice() {
        let columns = object_columns(&p["items"]);
        if !columns.is_empty() {
            return Some(OutputShape::List {
                property: (*property).clone(),
                columns,
            });
        }
    }
    Some(OutputShape::Object(object_columns(output_schema)))
}

fn object_columns(schema: &Value) -> Vec<(String, TypeExpr)> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, p)| (name.clone(), column_type(p)))
        .collect()
}

/// The column type of a JSON Schema property: scalars map to their types, arrays of scalars
/// to lists, anything else (objects, mixed arrays, unions) to `json` text.
pub fn column_type(p: &Value) -> TypeExpr {
    match json_type(p) {
        Some("string") => TypeExpr::String,
        Some("integer") => TypeExpr::Int64,
        Some("number") => TypeExpr::Float64,
        Some("boolean") => TypeExpr::Boolean,
        Some("array") => match p.get("items").map(column_type) {
            Some(
                inner
                @ (TypeExpr::String | TypeExpr::Int64 | TypeExpr::Float64 | TypeExpr::Boolean),
            ) => TypeExpr::List(Box::new(inner)),
            _ => TypeExpr::Json,
        },
        _ => TypeExpr::Json,
    }
}

/// The JSON type a schema names: `"type": "string"`, or `["string", "null"]` (the non-null
/// one); `None` when it names none or several.
pub fn json_type(p: &Value) -> Option<&str> {
    match p.get("type")? {
        Value::String(s) => Some(s.as_str()),
        Value::Array(types) => {
            let non_null: Vec<&str> = types
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .collect();
            match non_null.as_slice() {
                [one] => Some(one),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether a JSON value fits an argument's JSON type (null fits all: "not given").
pub fn fits(json_type: &str, v: &Value) -> bool {
    let ok = match json_type {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => true,
    };
    ok || v.is_null()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_list_property_holds_the_rows() {
        let s = json!({"type": "object", "properties": {
            "total": {"type": "integer"},
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}},
                "meta": {"type": "object"}, "score": {"type": ["number", "null"]}
            }}}
        }});
        assert_eq!(
            output_shape(&s),
            Some(OutputShape::List {
                property: "items".into(),
                columns: vec![
                    ("id".into(), TypeExpr::Int64),
                    ("tags".into(), TypeExpr::List(Box::new(TypeExpr::String))),
                    ("meta".into(), TypeExpr::Json),
                    ("score".into(), TypeExpr::Float64),
                ]
            })
        );
    }

    #[test]
    fn an_object_is_one_row() {
        let s = json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {}}});
        assert_eq!(
            output_shape(&s),
            Some(OutputShape::Object(vec![
                ("a".into(), TypeExpr::String),
                ("b".into(), TypeExpr::Json)
            ]))
        );
        assert_eq!(output_shape(&json!({"type": "object"})), None);
        // a JSON-text wrapper: untyped
        let wrapper = json!({"type": "object", "properties": {"content": {"type": "string"}}});
        assert_eq!(output_shape(&wrapper), None);
    }

    #[test]
    fn arguments_and_template_variables() {
        let a = arguments(&json!({"type": "object", "properties": {
            "path": {"type": "string"}, "depth": {"type": "integer"}
        }, "required": ["path"]}));
        assert_eq!(a.len(), 2);
        assert!(a[0].required && a[0].json_type == "string");
        assert!(!a[1].required && a[1].json_type == "integer");
        let t = template_arguments("file:///{dir}/{name}.txt");
        assert_eq!(
            t.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
            ["dir", "name"]
        );
    }
}
