//! Typed scalar values written in the expression language: types, durations, selectors.
//! Each parses with the pest grammar in `widgettdc-grammar`; errors point into the YAML file.

use std::time::Duration;

use widgettdc_grammar::{
    parse_duration, parse_selector, parse_type, GrammarError, Selector, TypeExpr,
};

use crate::codes::Code;
use crate::decode::{content_offset, Cx, Decode};
use crate::diagnostic::Diagnostic;
use crate::source::Span;
use crate::yaml::{Node, NodeKind};

fn grammar_error(cx: &mut Cx, node: &Node, text: &str, err: GrammarError, what: &str, help: &str) {
    let span = match &node.kind {
        NodeKind::Scalar { style, .. } => match content_offset(node, text, *style) {
            Some(b) => Span::new(node.span.file, b + err.span.start..b + err.span.end),
            None => node.span.clone(),
        },
        _ => node.span.clone(),
    };
    cx.error(
        Diagnostic::error(
            Code::ExpressionSyntax,
            span,
            format!("invalid {what}: {}", err.message),
        )
        .label("here")
        .help(err.help.unwrap_or_else(|| help.to_string())),
    );
}

/// A type such as `integer` or `list<string>`.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeRef(pub TypeExpr);

impl Decode for TypeRef {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = String::decode(node, cx)?;
        match parse_type(&text) {
            Ok(t) => Some(TypeRef(t)),
            Err(e) => {
                grammar_error(
                    cx,
                    node,
                    &text,
                    e,
                    "type",
                    "types are string, integer, number, boolean, date, timestamp and list<T>",
                );
                None
            }
        }
    }
}

impl schemars::JsonSchema for TypeRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Type".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A type: string, integer, number, boolean, date, timestamp, list<T>; for columns also int8..int64, uint8..uint64, float32, float64, decimal(p, s), json, uuid, binary, time, interval.",
            "examples": ["string", "integer", "list<string>", "decimal(12, 2)"]
        })
    }
}

/// A duration such as `30s`, `5m` or `1h30m`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DurationValue(pub Duration);

impl Decode for DurationValue {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = String::decode(node, cx)?;
        match parse_duration(&text) {
            Ok(d) => Some(DurationValue(d)),
            Err(e) => {
                grammar_error(
                    cx,
                    node,
                    &text,
                    e,
                    "duration",
                    "write a duration such as `30s`, `5m` or `1h30m`",
                );
                None
            }
        }
    }
}

impl schemars::JsonSchema for DurationValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A duration: integer amounts with units ms, s, m, h, d, w in descending order.",
            "pattern": "^\\s*\\d+\\s*(ms|s|m|h|d|w)(\\s*\\d+\\s*(ms|s|m|h|d|w))*\\s*$",
            "examples": ["30s", "5m", "1h30m"]
        })
    }
}

/// A row selector such as `$.data.items[*]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectorValue(pub Selector);

impl Decode for SelectorValue {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = String::decode(node, cx)?;
        match parse_selector(&text) {
            Ok(s) => Some(SelectorValue(s)),
            Err(e) => {
                grammar_error(
                    cx,
                    node,
                    &text,
                    e,
                    "selector",
                    "a selector starts with `$`, e.g. `$.data.items[*]`",
                );
                None
            }
        }
    }
}

impl schemars::JsonSchema for SelectorValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Selector".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A JSONPath-like selector: `$`, `.name`, `['name']`, `[N]`, `[*]`, `..name`.",
            "pattern": "^\\$",
            "examples": ["$.data.items[*]", "$.rows"]
        })
    }
}

impl schemars::JsonSchema for Node {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Value".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "description": "Any YAML value." })
    }
}

impl schemars::JsonSchema for crate::decode::RawText {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Text".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string" })
    }
}
