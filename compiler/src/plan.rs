//! The output of compilation: typed plans for tools and widgets.

use std::collections::HashMap;

use arrow_schema::{DataType, SchemaRef};
use indexmap::IndexMap;
use serde_json::{json, Value};
use sqlparser::ast::Statement;
use widgettdc_grammar::TypeExpr;

use crate::params::Constraints;

/// A compiled parameter.
#[derive(Debug, Clone)]
pub struct CompiledParam {
    pub name: String,
    pub ty: TypeExpr,
    pub description: Option<String>,
    pub required: bool,
    /// The default, coerced to the type.
    pub default: Option<Value>,
    pub constraints: Constraints,
    /// The Arrow type the planner expects where the parameter is used (if it could infer one).
    pub inferred: Option<DataType>,
}

impl CompiledParam {
    /// The parameter as JSON Schema (what MCP `inputSchema` shows).
    pub fn json_schema(&self) -> Value {
        let mut s = type_schema(&self.ty);
        let obj = s.as_object_mut().expect("type_schema returns an object");
        if let Some(d) = &self.description {
            obj.insert("description".into(), json!(d));
        }
        if let Some(d) = &self.default {
            obj.insert("default".into(), d.clone());
        }
        let target = if let TypeExpr::List(_) = self.ty {
            if let (Some(min), true) = (self.constraints.minimum, true) {
                obj.insert("minItems".into(), json!(min as u64));
            }
            if let Some(max) = self.constraints.maximum {
                obj.insert("maxItems".into(), json!(max as u64));
            }
            obj.get_mut("items")
                .and_then(Value::as_object_mut)
                .expect("list schema has items")
        } else {
            obj
        };
        if let Some(e) = &self.constraints.enum_values {
            target.insert("enum".into(), Value::Array(e.clone()));
        }
        if let Some(p) = &self.constraints.pattern {
            target.insert("pattern".into(), json!(format!("^(?:{p})$")));
        }
        if !matches!(self.ty, TypeExpr::List(_)) {
            let is_string = matches!(self.ty, TypeExpr::String);
            if let Some(min) = self.constraints.minimum {
                target.insert(
                    if is_string { "minLength" } else { "minimum" }.into(),
                    num(min),
                );
            }
            if let Some(max) = self.constraints.maximum {
                target.insert(
                    if is_string { "maxLength" } else { "maximum" }.into(),
                    num(max),
                );
            }
        }
        s
    }
}

fn num(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9e15 {
        json!(f as i64)
    } else {
        json!(f)
    }
}

/// JSON Schema of a spec type.
pub fn type_schema(t: &TypeExpr) -> Value {
    match t {
        TypeExpr::String
        | TypeExpr::Json
        | TypeExpr::Uuid
        | TypeExpr::Binary
        | TypeExpr::Interval => json!({"type": "string"}),
        TypeExpr::Integer
        | TypeExpr::Int8
        | TypeExpr::Int16
        | TypeExpr::Int32
        | TypeExpr::Int64
        | TypeExpr::UInt8
        | TypeExpr::UInt16
        | TypeExpr::UInt32
        | TypeExpr::UInt64 => json!({"type": "integer"}),
        TypeExpr::Number | TypeExpr::Float32 | TypeExpr::Float64 | TypeExpr::Decimal { .. } => {
            json!({"type": "number"})
        }
        TypeExpr::Boolean => json!({"type": "boolean"}),
        TypeExpr::Date => json!({"type": "string", "format": "date"}),
        TypeExpr::Timestamp => json!({"type": "string", "format": "date-time"}),
        TypeExpr::Time => json!({"type": "string", "format": "time"}),
        TypeExpr::List(inner) => json!({"type": "array", "items": type_schema(inner)}),
    }
}

/// A compiled tool: parameter types in, Arrow schema out.
#[derive(Debug, Clone)]
pub struct CompiledTool {
    pub name: String,
    pub description: Option<String>,
    pub params: Vec<CompiledParam>,
    /// The SQL text as written.
    pub sql: String,
    /// The parsed statement; the runtime specialises it (drops absent optional predicates),
    /// plans it with the same planner settings, and binds parameters as typed values.
    pub statement: Option<Statement>,
    /// The output schema, when the SQL could be typed offline.
    pub output: Option<SchemaRef>,
    pub read_only: bool,
    pub max_rows: Option<u32>,
    pub max_bytes: Option<u32>,
    /// Sources the SQL reads from.
    pub sources: Vec<String>,
}

impl CompiledTool {
    pub fn param(&self, name: &str) -> Option<&CompiledParam> {
        self.params.iter().find(|p| p.name == name)
    }

    /// JSON Schema of the tool's arguments.
    pub fn input_schema(&self) -> Value {
        let props: serde_json::Map<String, Value> = self
            .params
            .iter()
            .map(|p| (p.name.clone(), p.json_schema()))
            .collect();
        let required: Vec<&str> = self
            .params
            .iter()
            .filter(|p| p.required)
            .map(|p| p.name.as_str())
            .collect();
        json!({"type": "object", "properties": props, "required": required, "additionalProperties": false})
    }
}

/// The Arrow schema as JSON: `[{name, type, nullable}]`.
pub fn schema_json(schema: &SchemaRef) -> Value {
    Value::Array(
        schema
            .fields()
            .iter()
            .map(|f| json!({"name": f.name(), "type": f.data_type().to_string(), "nullable": f.is_nullable()}))
            .collect(),
    )
}

#[derive(Debug, Clone)]
pub struct CompiledWidgetData {
    pub tool: String,
    pub params: serde_json::Map<String, Value>,
    pub refresh: Option<std::time::Duration>,
    pub channel: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CompiledWidget {
    pub name: String,
    pub title: Option<String>,
    pub data: IndexMap<String, CompiledWidgetData>,
}

/// Everything compiled.
#[derive(Debug, Clone, Default)]
pub struct CompiledProject {
    pub tools: IndexMap<String, CompiledTool>,
    pub widgets: IndexMap<String, CompiledWidget>,
    pub toolsets: IndexMap<String, Vec<String>>,
}

impl CompiledProject {
    /// The typed plans as JSON (`widgettdc compile --format json`).
    pub fn to_json(&self) -> Value {
        let tools: serde_json::Map<String, Value> = self
            .tools
            .iter()
            .map(|(name, t)| {
                (
                    name.clone(),
                    json!({
                        "description": t.description,
                        "read_only": t.read_only,
                        "parameters": t.input_schema(),
                        "output": t.output.as_ref().map(schema_json),
                        "sources": t.sources,
                    }),
                )
            })
            .collect();
        let widgets: serde_json::Map<String, Value> = self
            .widgets
            .iter()
            .map(|(name, w)| {
                let data: serde_json::Map<String, Value> = w
                    .data
                    .iter()
                    .map(|(k, d)| {
                        let output = self
                            .tools
                            .get(&d.tool)
                            .and_then(|t| t.output.as_ref())
                            .map(schema_json);
                        (
                            k.clone(),
                            json!({
                                "tool": d.tool,
                                "params": d.params,
                                "refresh_seconds": d.refresh.map(|r| r.as_secs_f64()),
                                "output": output,
                            }),
                        )
                    })
                    .collect();
                (name.clone(), json!({"title": w.title, "data": data}))
            })
            .collect();
        json!({"tools": tools, "widgets": widgets, "toolsets": self.toolsets})
    }
}

/// Inferred parameter types by name.
pub type ParamTypes = HashMap<String, Option<DataType>>;
