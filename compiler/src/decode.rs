//! Strict decoding of YAML nodes into spec types.
//!
//! Every spec struct implements [`Decode`] with a [`MapReader`] that knows the struct's keys:
//! an unknown key is an error with "did you mean", a missing required key is an error at the
//! mapping, and a value of the wrong shape is an error at the value. Decoding goes on after an
//! error so that one run reports everything.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use widgettdc_grammar::{parse_template, Part};

use crate::codes::Code;
use crate::diagnostic::{did_you_mean, Diagnostic, Severity};
use crate::source::{Span, Spanned};
use crate::yaml::{parse_float, parse_int, Node, NodeKind, Style};

/// Values for `${VAR}` and `${secret:NAME}`, passed in as data (the compiler reads no env).
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub vars: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, String>,
    /// `--strict-env`: an unset variable without default is an error even where no value is needed.
    pub strict: bool,
}

impl Env {
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        Env {
            vars: vars.into_iter().collect(),
            ..Env::default()
        }
    }
}

/// A value whose interpolation could not be completed (its variable is unset).
#[derive(Debug, Clone)]
pub struct Unresolved {
    pub span: Span,
    pub name: String,
    pub secret: bool,
}

/// Decoding context: collects diagnostics and unresolved interpolations.
pub struct Cx<'a> {
    pub env: &'a Env,
    pub diags: Vec<Diagnostic>,
    pub unresolved: Vec<Unresolved>,
    /// Spans of values that came from secrets (never printed).
    pub secret_spans: Vec<Span>,
    /// The span of the key whose value is being decoded (where "missing key" errors point).
    pub key_span: Option<Span>,
}

impl<'a> Cx<'a> {
    pub fn new(env: &'a Env) -> Self {
        Cx {
            env,
            diags: Vec::new(),
            unresolved: Vec::new(),
            secret_spans: Vec::new(),
            key_span: None,
        }
    }

    pub fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    pub fn wrong_type(&mut self, node: &Node, expected: &str) {
        self.diags.push(
            Diagnostic::error(
                Code::WrongType,
                node.span.clone(),
                format!("expected {expected}, found {}", node.describe()),
            )
            .label(format!("expected {expected}")),
        );
    }

    /// Resolve `${...}` in a scalar's text. Spans of grammar errors and variables are mapped
    /// into the file when the scalar is written on one line (plain or quoted without escapes).
    pub fn interpolate(&mut self, node: &Node, text: &str, style: Style) -> String {
        if !text.contains("${") {
            return text.replace("$${", "${");
        }
        let base = content_offset(node, text, style);
        let sub = |r: std::ops::Range<usize>| match base {
            Some(b) => Span::new(node.span.file, b + r.start..b + r.end),
            None => node.span.clone(),
        };
        let template = match parse_template(text) {
            Ok(t) => t,
            Err(e) => {
                self.diags.push(
                    Diagnostic::error(
                        Code::ExpressionSyntax,
                        sub(e.span.clone()),
                        format!("invalid interpolation: {}", e.message),
                    )
                    .label("here")
                    .help(e.help.clone().unwrap_or_else(|| {
                        "write `${VAR}`, `${VAR:-default}` or `${secret:NAME}`; `$${` is a literal `${`".into()
                    })),
                );
                return text.to_string();
            }
        };
        let mut out = String::new();
        for part in &template.parts {
            match part {
                Part::Literal { text, .. } => out.push_str(text),
                Part::Env {
                    name,
                    default,
                    span,
                    ..
                } => match (self.env.vars.get(name), default) {
                    (Some(v), _) => out.push_str(v),
                    (None, Some(d)) => out.push_str(d),
                    (None, None) => {
                        let span = sub(span.clone());
                        self.unset(span, name, false);
                    }
                },
                Part::Secret { name, span, .. } => {
                    let v = self
                        .env
                        .secrets
                        .get(name)
                        .or_else(|| self.env.vars.get(name))
                        .cloned();
                    let span = sub(span.clone());
                    match v {
                        Some(v) => {
                            self.secret_spans.push(node.span.clone());
                            out.push_str(&v)
                        }
                        None => self.unset(span, name, true),
                    }
                }
            }
        }
        out
    }

    fn unset(&mut self, span: Span, name: &str, secret: bool) {
        let severity = if self.env.strict {
            Severity::Error
        } else {
            Severity::Warning
        };
        let (code, message, help) = if secret {
            (
                Code::UndefinedSecret,
                format!("secret `{name}` is not set"),
                format!("set the environment variable `{name}` or add `{name}:` to secrets.yaml in the project directory"),
            )
        } else {
            (
                Code::UndefinedEnv,
                format!("environment variable `{name}` is not set and has no default"),
                format!("set `{name}`, or give a default: `${{{name}:-value}}`"),
            )
        };
        let mut d = Diagnostic::error(code, span.clone(), message)
            .label("unset")
            .help(help);
        d.severity = severity;
        self.diags.push(d);
        self.unresolved.push(Unresolved {
            span,
            name: name.to_string(),
            secret,
        });
    }
}

/// Byte offset in the file where a single-line scalar's content starts, when its text maps
/// one-to-one onto the file (no escapes, no folding).
pub fn content_offset(node: &Node, text: &str, style: Style) -> Option<usize> {
    let start = node.span.range.start;
    match style {
        Style::Plain => Some(start),
        Style::SingleQuoted | Style::DoubleQuoted => {
            let raw_len = node.span.range.end.saturating_sub(start);
            // quoted text maps exactly when the raw form is the text plus two quotes
            (raw_len == text.len() + 2 && !text.contains('\n')).then_some(start + 1)
        }
        Style::Literal | Style::Folded => None,
    }
}

/// Something that can be read from a YAML node.
pub trait Decode: Sized {
    /// Decode, pushing diagnostics into `cx`. `None` means the value was unusable (and a
    /// diagnostic says why).
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self>;
}

impl Decode for String {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        match &node.kind {
            NodeKind::Scalar { text, style } => Some(cx.interpolate(node, text, *style)),
            _ => {
                cx.wrong_type(node, "a string");
                None
            }
        }
    }
}

/// A string taken verbatim, without interpolation (SQL text).
#[derive(Debug, Clone)]
pub struct RawText {
    pub text: String,
    pub style: Style,
}

impl Decode for RawText {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        match &node.kind {
            NodeKind::Scalar { text, style } => Some(RawText {
                text: text.clone(),
                style: *style,
            }),
            _ => {
                cx.wrong_type(node, "a string");
                None
            }
        }
    }
}

fn scalar_after_interp(node: &Node, cx: &mut Cx, expected: &str) -> Option<String> {
    match &node.kind {
        NodeKind::Scalar { text, style } => Some(cx.interpolate(node, text, *style)),
        _ => {
            cx.wrong_type(node, expected);
            None
        }
    }
}

impl Decode for bool {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let t = scalar_after_interp(node, cx, "`true` or `false`")?;
        match t.as_str() {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            _ => {
                cx.wrong_type(node, "`true` or `false`");
                None
            }
        }
    }
}

impl Decode for i64 {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let t = scalar_after_interp(node, cx, "an integer")?;
        parse_int(&t).or_else(|| {
            cx.wrong_type(node, "an integer");
            None
        })
    }
}

impl Decode for u32 {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let t = scalar_after_interp(node, cx, "a whole number")?;
        match parse_int(&t).map(u32::try_from) {
            Some(Ok(v)) => Some(v),
            _ => {
                cx.wrong_type(node, "a whole number (0 or more)");
                None
            }
        }
    }
}

impl Decode for u16 {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let t = scalar_after_interp(node, cx, "a port number")?;
        match parse_int(&t).map(u16::try_from) {
            Some(Ok(v)) => Some(v),
            _ => {
                cx.wrong_type(node, "a number from 0 to 65535");
                None
            }
        }
    }
}

impl Decode for f64 {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let t = scalar_after_interp(node, cx, "a number")?;
        parse_float(&t)
            .or_else(|| parse_int(&t).map(|i| i as f64))
            .or_else(|| {
                cx.wrong_type(node, "a number");
                None
            })
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        match &node.kind {
            NodeKind::Seq(items) => Some(items.iter().filter_map(|n| T::decode(n, cx)).collect()),
            NodeKind::Null => Some(Vec::new()),
            _ => {
                cx.wrong_type(node, "a list");
                None
            }
        }
    }
}

impl<T: Decode> Decode for Spanned<T> {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        T::decode(node, cx).map(|v| Spanned::new(v, node.span.clone()))
    }
}

impl Decode for Node {
    fn decode(node: &Node, _cx: &mut Cx) -> Option<Self> {
        Some(node.clone())
    }
}

/// A map entry with the span of its key.
#[derive(Debug, Clone)]
pub struct Keyed<T> {
    pub key_span: Span,
    pub value_span: Span,
    pub value: T,
}

impl<T> std::ops::Deref for Keyed<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// A YAML mapping from user-chosen names to values, keeping key spans.
#[derive(Debug, Clone)]
pub struct KeyedMap<T>(pub IndexMap<String, Keyed<T>>);

impl<T> Default for KeyedMap<T> {
    fn default() -> Self {
        KeyedMap(IndexMap::new())
    }
}

impl<T> std::ops::Deref for KeyedMap<T> {
    type Target = IndexMap<String, Keyed<T>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<T> std::ops::DerefMut for KeyedMap<T> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl<T: Decode> Decode for KeyedMap<T> {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        match &node.kind {
            NodeKind::Map(entries) => {
                let mut out = IndexMap::new();
                for (k, v) in entries {
                    let Some(name) = k.scalar_text() else {
                        continue;
                    };
                    cx.key_span = Some(k.span.clone());
                    let value = T::decode(v, cx);
                    cx.key_span = None;
                    if let Some(value) = value {
                        out.insert(
                            name.to_string(),
                            Keyed {
                                key_span: k.span.clone(),
                                value_span: v.span.clone(),
                                value,
                            },
                        );
                    }
                }
                Some(KeyedMap(out))
            }
            NodeKind::Null => Some(KeyedMap(IndexMap::new())),
            _ => {
                cx.wrong_type(node, "a mapping of names to values");
                None
            }
        }
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for KeyedMap<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Map_of_{}", T::schema_name()).into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let item = generator.subschema_for::<T>();
        schemars::json_schema!({ "type": "object", "additionalProperties": item })
    }
}

/// Reads a mapping with a fixed set of keys.
pub struct MapReader<'n> {
    pub node: &'n Node,
    entries: &'n [(Node, Node)],
    what: String,
    missing: Vec<&'static str>,
    missing_any: Vec<&'static [&'static str]>,
    anchor: Option<Span>,
}

impl<'n> MapReader<'n> {
    /// `what` names the thing for messages ("tool `top_customers`"); `keys` are the allowed keys.
    /// Unknown keys are reported here. Returns `None` (after reporting) if `node` is no mapping.
    pub fn new(
        node: &'n Node,
        cx: &mut Cx,
        what: impl Into<String>,
        keys: &[&str],
    ) -> Option<Self> {
        let what = what.into();
        let anchor = cx.key_span.take();
        let entries: &[(Node, Node)] = match &node.kind {
            NodeKind::Map(m) => m,
            NodeKind::Null => &[],
            _ => {
                cx.wrong_type(node, &format!("a mapping ({what})"));
                return None;
            }
        };
        for (k, _) in entries {
            let Some(name) = k.scalar_text() else {
                continue;
            };
            if !keys.contains(&name) {
                let help = did_you_mean(name, keys.iter().copied())
                    .unwrap_or_else(|| format!("known keys of {what}: {}", keys.join(", ")));
                cx.error(
                    Diagnostic::error(
                        Code::UnknownKey,
                        k.span.clone(),
                        format!("unknown key `{name}` in {what}"),
                    )
                    .label("unknown key")
                    .help(help),
                );
            }
        }
        Some(MapReader {
            node,
            entries,
            what,
            missing: Vec::new(),
            missing_any: Vec::new(),
            anchor,
        })
    }

    pub fn what(&self) -> &str {
        &self.what
    }

    /// The value node of `key`, if present and not null.
    pub fn node(&self, key: &str) -> Option<&'n Node> {
        self.entry(key)
            .map(|(_, v)| v)
            .filter(|v| !matches!(v.kind, NodeKind::Null))
    }

    /// The key and value nodes of `key`.
    pub fn entry(&self, key: &str) -> Option<&'n (Node, Node)> {
        self.entries
            .iter()
            .find(|(k, _)| k.scalar_text() == Some(key))
    }

    pub fn opt<T: Decode>(&mut self, cx: &mut Cx, key: &str) -> Option<T> {
        let (k, v) = self.entry(key)?;
        if matches!(v.kind, NodeKind::Null) {
            return None;
        }
        cx.key_span = Some(k.span.clone());
        let out = T::decode(v, cx);
        cx.key_span = None;
        out
    }

    /// A required key: reported as missing (at [`MapReader::finish`]) when absent.
    pub fn req<T: Decode>(&mut self, cx: &mut Cx, key: &'static str) -> Option<T> {
        match self.node(key) {
            Some(_) => self.opt(cx, key),
            None => {
                self.missing.push(key);
                None
            }
        }
    }

    /// Report missing required keys.
    pub fn finish(self, cx: &mut Cx) {
        self.finish_with_help(cx, None)
    }

    pub fn finish_with_help(self, cx: &mut Cx, help: Option<&str>) {
        let span = self.anchor.clone().unwrap_or_else(|| {
            Span::new(
                self.node.span.file,
                self.node.span.range.start..self.node.span.range.start,
            )
        });
        for keys in &self.missing_any {
            let list = keys
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(" or ");
            cx.error(
                Diagnostic::error(
                    Code::MissingField,
                    span.clone(),
                    format!("{} needs {list}", self.what),
                )
                .label(format!("{list} missing here"))
                .help(format!("add `{}:` to {}", keys[0], self.what)),
            );
        }
        for key in self.missing {
            let span = span.clone();
            cx.error(
                Diagnostic::error(
                    Code::MissingField,
                    span,
                    format!("{} is missing the required key `{key}`", self.what),
                )
                .label(format!("`{key}` missing here"))
                .help(
                    help.map(str::to_string)
                        .unwrap_or_else(|| format!("add `{key}:` to {}", self.what)),
                ),
            );
        }
    }
}

/// Decode a string value that must be one of `allowed`.
pub fn one_of(node: &Node, cx: &mut Cx, allowed: &[&str], what: &str) -> Option<Spanned<String>> {
    let s = String::decode(node, cx)?;
    if allowed.contains(&s.as_str()) {
        return Some(Spanned::new(s, node.span.clone()));
    }
    let help = did_you_mean(&s, allowed.iter().copied())
        .unwrap_or_else(|| format!("use one of: {}", allowed.join(", ")));
    cx.error(
        Diagnostic::error(
            Code::InvalidValue,
            node.span.clone(),
            format!("`{s}` is not a valid {what}"),
        )
        .label(format!("not a {what}"))
        .help(help),
    );
    None
}

impl MapReader<'_> {
    /// Record that at least one of `keys` is required (reported by [`MapReader::finish`]).
    pub fn missing_one_of(&mut self, keys: &'static [&'static str]) {
        self.missing_any.push(keys);
    }
}
