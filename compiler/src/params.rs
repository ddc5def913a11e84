//! Parameter values: coercion of caller input to a declared type, and constraint checks.
//!
//! Shared by `check` (defaults, enum values, widget params) and the runtime (CLI and API
//! arguments), so a value is judged the same way everywhere. Values are normalised JSON:
//! integers as JSON integers, numbers as JSON numbers, dates as `YYYY-MM-DD` strings,
//! timestamps as RFC 3339 strings, lists as arrays.

use serde_json::Value;
use widgettdc_grammar::TypeExpr;

use crate::yaml::{parse_float, parse_int, Node, NodeKind, Style};

/// The constraints of a parameter, as data.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Constraints {
    #[serde(rename = "enum", skip_serializing_if = "Option::is_none")]
    pub enum_values: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

/// Turn a YAML node into JSON (no interpolation; plain scalars resolved by the core schema).
pub fn node_to_json(node: &Node) -> Value {
    match &node.kind {
        NodeKind::Null => Value::Null,
        NodeKind::Scalar { text, style } => {
            if *style == Style::Plain {
                match text.as_str() {
                    "true" | "True" | "TRUE" => return Value::Bool(true),
                    "false" | "False" | "FALSE" => return Value::Bool(false),
                    _ => {}
                }
                if let Some(i) = parse_int(text) {
                    return Value::from(i);
                }
                if let Some(f) = parse_float(text).and_then(serde_json::Number::from_f64) {
                    return Value::Number(f);
                }
            }
            Value::String(text.clone())
        }
        NodeKind::Seq(items) => Value::Array(items.iter().map(node_to_json).collect()),
        NodeKind::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.scalar_text().unwrap_or("").to_string(), node_to_json(v)))
                .collect(),
        ),
    }
}

/// Coerce a JSON value to a parameter type. Strings are accepted for every scalar type (as
/// from a command line), and parsed.
pub fn coerce(ty: &TypeExpr, v: &Value) -> Result<Value, String> {
    match ty {
        TypeExpr::List(inner) => match v {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, x)| coerce(inner, x).map_err(|e| format!("item {i}: {e}")))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Value::String(s) => {
                // `a,b,c` from a command line
                let parts: Vec<Value> = if s.trim().is_empty() {
                    Vec::new()
                } else {
                    s.split(',')
                        .map(|p| Value::String(p.trim().to_string()))
                        .collect()
                };
                coerce(ty, &Value::Array(parts))
            }
            other => Err(format!("expected a list, found {}", describe(other))),
        },
        _ => coerce_scalar(ty, v),
    }
}

fn coerce_scalar(ty: &TypeExpr, v: &Value) -> Result<Value, String> {
    let s = match v {
        Value::String(s) => Some(s.as_str()),
        _ => None,
    };
    match ty {
        TypeExpr::String | TypeExpr::Json | TypeExpr::Uuid => match v {
            Value::String(_) => Ok(v.clone()),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            Value::Bool(b) => Ok(Value::String(b.to_string())),
            other => Err(format!("expected a string, found {}", describe(other))),
        },
        TypeExpr::Integer
        | TypeExpr::Int8
        | TypeExpr::Int16
        | TypeExpr::Int32
        | TypeExpr::Int64
        | TypeExpr::UInt8
        | TypeExpr::UInt16
        | TypeExpr::UInt32
        | TypeExpr::UInt64 => {
            if let Some(i) = v.as_i64() {
                return Ok(Value::from(i));
            }
            if let Some(f) = v.as_f64() {
                if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    return Ok(Value::from(f as i64));
                }
            }
            match s.and_then(parse_int) {
                Some(i) => Ok(Value::from(i)),
                None => Err(format!("expected an integer, found {}", describe(v))),
            }
        }
        TypeExpr::Number | TypeExpr::Float32 | TypeExpr::Float64 | TypeExpr::Decimal { .. } => {
            // a JSON number is always finite
            if v.is_number() {
                return Ok(v.clone());
            }
            match s.and_then(|s| parse_float(s).or_else(|| parse_int(s).map(|i| i as f64))) {
                Some(f) => serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| "expected a finite number".to_string()),
                None => Err(format!("expected a number, found {}", describe(v))),
            }
        }
        TypeExpr::Boolean => match (v, s) {
            (Value::Bool(_), _) => Ok(v.clone()),
            (_, Some("true" | "True" | "TRUE" | "1" | "yes")) => Ok(Value::Bool(true)),
            (_, Some("false" | "False" | "FALSE" | "0" | "no")) => Ok(Value::Bool(false)),
            _ => Err(format!("expected true or false, found {}", describe(v))),
        },
        TypeExpr::Date => match s {
            Some(s) if is_date(s) => Ok(Value::String(s.to_string())),
            _ => Err(format!(
                "expected a date like 2024-01-31, found {}",
                describe(v)
            )),
        },
        TypeExpr::Timestamp => match s {
            Some(s) if is_timestamp(s) => Ok(Value::String(s.to_string())),
            _ => Err(format!(
                "expected a timestamp like 2024-01-31T12:00:00Z, found {}",
                describe(v)
            )),
        },
        TypeExpr::Binary | TypeExpr::Time | TypeExpr::Interval => match s {
            Some(_) => Ok(v.clone()),
            None => Err(format!("expected a string, found {}", describe(v))),
        },
        TypeExpr::List(_) => coerce(ty, v),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("`{n}`"),
        Value::String(s) => format!("`{}`", truncate(s)),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}

/// `YYYY-MM-DD` with a real calendar day.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Ok(y), Ok(m), Ok(d)) = (
        s[0..4].parse::<u32>(),
        s[5..7].parse::<u32>(),
        s[8..10].parse::<u32>(),
    ) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// `YYYY-MM-DD[T ]HH:MM[:SS[.frac]][Z|±HH:MM]`, or a date alone.
pub fn is_timestamp(s: &str) -> bool {
    if s.len() < 10 || !s.is_char_boundary(10) || !is_date(&s[..10]) {
        return false;
    }
    let rest = &s[10..];
    if rest.is_empty() {
        return true;
    }
    let re = regex::Regex::new(
        r"^[T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3]):?[0-5]\d)?$",
    );
    re.map(|re| re.is_match(rest)).unwrap_or(false)
}

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// Not of the declared type.
    Type(String),
    /// Of the type, but a constraint (enum, bounds, pattern) refuses it.
    Constraint(String),
}

/// What every supplied value goes through: coerce to the type, then check the constraints.
pub fn validate(ty: &TypeExpr, c: &Constraints, v: &Value) -> Result<Value, Invalid> {
    let v = coerce(ty, v).map_err(Invalid::Type)?;
    check_constraints(ty, c, &v).map_err(Invalid::Constraint)?;
    Ok(v)
}

/// A YAML value as JSON, coerced to `ty` where it fits and as written where it does not
/// (a check reports the misfit).
pub fn node_value(ty: &TypeExpr, node: &Node) -> Value {
    let j = node_to_json(node);
    coerce(ty, &j).unwrap_or(j)
}

/// Check a coerced value against constraints; the error names the rule.
pub fn check_constraints(ty: &TypeExpr, c: &Constraints, v: &Value) -> Result<(), String> {
    if let (TypeExpr::List(inner), Value::Array(items)) = (ty, v) {
        let per_item = Constraints {
            enum_values: c.enum_values.clone(),
            pattern: c.pattern.clone(),
            ..Default::default()
        };
        for item in items {
            check_constraints(inner, &per_item, item)?;
        }
        let count = Constraints {
            minimum: c.minimum,
            maximum: c.maximum,
            ..Default::default()
        };
        return check_constraints_scalar(ty, &count, v);
    }
    check_constraints_scalar(ty, c, v)
}

fn check_constraints_scalar(ty: &TypeExpr, c: &Constraints, v: &Value) -> Result<(), String> {
    if let Some(allowed) = &c.enum_values {
        if !allowed.iter().any(|a| json_eq(a, v)) {
            let list = allowed.iter().map(render).collect::<Vec<_>>().join(", ");
            return Err(format!(
                "{} is not one of the allowed values: {list}",
                render(v)
            ));
        }
    }
    let measure = match (ty, v) {
        (TypeExpr::String, Value::String(s)) => Some((s.chars().count() as f64, "length")),
        (TypeExpr::List(_), Value::Array(a)) => Some((a.len() as f64, "number of items")),
        (_, Value::Number(n)) => n.as_f64().map(|f| (f, "value")),
        _ => None,
    };
    if let Some((m, what)) = measure {
        if let Some(min) = c.minimum {
            if m < min {
                return Err(format!(
                    "{what} {} is below the minimum {}",
                    fmt_num(m),
                    fmt_num(min)
                ));
            }
        }
        if let Some(max) = c.maximum {
            if m > max {
                return Err(format!(
                    "{what} {} is above the maximum {}",
                    fmt_num(m),
                    fmt_num(max)
                ));
            }
        }
    }
    if let (Some(p), Value::String(s)) = (&c.pattern, v) {
        let re = regex::Regex::new(&format!("^(?:{p})$"))
            .map_err(|e| format!("invalid pattern: {e}"))?;
        if !re.is_match(s) {
            return Err(format!(
                "`{}` does not match the pattern `{p}`",
                truncate(s)
            ));
        }
    }
    Ok(())
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn render(v: &Value) -> String {
    match v {
        Value::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    }
}

fn fmt_num(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}
