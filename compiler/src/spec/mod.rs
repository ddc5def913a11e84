//! The spec format, version 1: the types a spec file decodes into.
//!
//! Every struct lists its keys (`KEYS`); unknown keys are errors. The JSON Schema in
//! `docs/spec.schema.json` is generated from these types (`widgettdc schema json`), and a test
//! checks that each struct's `KEYS` match its schema properties.

pub mod columns;
pub mod sources;
pub mod values;

use crate::decode::{one_of, Cx, Decode, KeyedMap, MapReader, RawText};
use crate::source::Spanned;
use crate::yaml::Node;
use sources::SourceConfig;
use values::{DurationValue, TypeRef};

/// One spec file. A project merges several.
#[derive(Debug, Clone, Default, schemars::JsonSchema)]
#[schemars(deny_unknown_fields, title = "widgettdc spec file")]
pub struct SpecFile {
    /// The spec format version; only 1 exists.
    pub version: Option<Spanned<i64>>,
    /// Data sources by name.
    #[schemars(default)]
    pub sources: KeyedMap<SourceConfig>,
    /// Named, typed, parameterised queries.
    #[schemars(default)]
    pub tools: KeyedMap<Tool>,
    /// Named groups of tools that can be served together.
    #[schemars(default)]
    pub toolsets: KeyedMap<Vec<Spanned<String>>>,
    /// Widget data declarations.
    #[schemars(default)]
    pub widgets: KeyedMap<Widget>,
}

impl SpecFile {
    pub const KEYS: &'static [&'static str] =
        &["version", "sources", "tools", "toolsets", "widgets"];
}

impl Decode for SpecFile {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let mut m = MapReader::new(node, cx, "spec file", Self::KEYS)?;
        let s = SpecFile {
            version: m.opt(cx, "version"),
            sources: m.opt(cx, "sources").unwrap_or_default(),
            tools: m.opt(cx, "tools").unwrap_or_default(),
            toolsets: m.opt(cx, "toolsets").unwrap_or_default(),
            widgets: m.opt(cx, "widgets").unwrap_or_default(),
        };
        m.finish(cx);
        Some(s)
    }
}

/// A tool: a named, typed, parameterised query.
#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Tool {
    /// What the tool does (shown to agents and people).
    pub description: Option<String>,
    /// Parameters by name; the SQL refers to them as `$name`.
    #[schemars(default)]
    pub parameters: KeyedMap<Parameter>,
    /// One SQL statement over the project's sources. Not interpolated: use parameters.
    pub sql: Spanned<RawText>,
    /// `read` (default) or `write`; only write tools may INSERT/UPDATE/DELETE.
    pub mode: Option<Spanned<String>>,
    /// Most rows returned to an agent in one call (default 1000).
    pub max_rows: Option<u32>,
    /// Most bytes returned to an agent in one call (default 1 MiB).
    pub max_bytes: Option<u32>,
}

impl Tool {
    pub const KEYS: &'static [&'static str] = &[
        "description",
        "parameters",
        "sql",
        "mode",
        "max_rows",
        "max_bytes",
    ];

    pub fn is_write(&self) -> bool {
        self.mode.as_ref().is_some_and(|m| m.value == "write")
    }
}

impl Decode for Tool {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let mut m = MapReader::new(node, cx, "tool", Self::KEYS)?;
        let description = m.opt(cx, "description");
        let parameters = m.opt(cx, "parameters").unwrap_or_default();
        let sql = m.req(cx, "sql");
        let mode = m
            .node("mode")
            .and_then(|n| one_of(n, cx, &["read", "write"], "tool mode"));
        let max_rows = m.opt(cx, "max_rows");
        let max_bytes = m.opt(cx, "max_bytes");
        m.finish(cx);
        Some(Tool {
            description,
            parameters,
            sql: sql?,
            mode,
            max_rows,
            max_bytes,
        })
    }
}

/// A tool parameter.
#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Parameter {
    /// string | integer | number | boolean | date | timestamp | list<T>
    #[schemars(rename = "type")]
    pub ty: Spanned<TypeRef>,
    pub description: Option<String>,
    /// The allowed values.
    #[schemars(rename = "enum")]
    pub enum_values: Option<Spanned<Vec<Node>>>,
    /// Smallest allowed value (numbers), or length (strings, lists).
    pub minimum: Option<Spanned<f64>>,
    /// Largest allowed value (numbers), or length (strings, lists).
    pub maximum: Option<Spanned<f64>>,
    /// A regular expression a string must match (whole value).
    pub pattern: Option<Spanned<String>>,
    /// Value used when the caller gives none; makes the parameter optional.
    pub default: Option<Node>,
    /// Required unless a default is given or `required: false`.
    pub required: Option<Spanned<bool>>,
}

impl Parameter {
    pub const KEYS: &'static [&'static str] = &[
        "type",
        "description",
        "enum",
        "minimum",
        "maximum",
        "pattern",
        "default",
        "required",
    ];

    /// Whether a caller must give a value.
    pub fn is_required(&self) -> bool {
        match &self.required {
            Some(r) => r.value && self.default.is_none(),
            None => self.default.is_none(),
        }
    }
}

impl Decode for Parameter {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let mut m = MapReader::new(node, cx, "parameter", Self::KEYS)?;
        let ty = m.req(cx, "type");
        let p = Parameter {
            ty: ty.unwrap_or_else(|| {
                Spanned::new(
                    TypeRef(widgettdc_grammar::TypeExpr::String),
                    node.span.clone(),
                )
            }),
            description: m.opt(cx, "description"),
            enum_values: m.opt(cx, "enum"),
            minimum: m.opt(cx, "minimum"),
            maximum: m.opt(cx, "maximum"),
            pattern: m.opt(cx, "pattern"),
            default: m.node("default").cloned(),
            required: m.opt(cx, "required"),
        };
        let ok = m.node("type").is_some();
        m.finish(cx);
        ok.then_some(p)
    }
}

/// A widget data declaration.
#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Widget {
    pub title: Option<String>,
    pub description: Option<String>,
    /// Named data the widget needs.
    pub data: KeyedMap<WidgetData>,
}

impl Widget {
    pub const KEYS: &'static [&'static str] = &["title", "description", "data"];
}

impl Decode for Widget {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let mut m = MapReader::new(node, cx, "widget", Self::KEYS)?;
        let title = m.opt(cx, "title");
        let description = m.opt(cx, "description");
        let data = m.req(cx, "data");
        m.finish(cx);
        Some(Widget {
            title,
            description,
            data: data?,
        })
    }
}

/// One piece of widget data: a tool call and how fresh it must be.
#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct WidgetData {
    /// The tool that provides the data.
    pub tool: Spanned<String>,
    /// Parameter values for the tool.
    #[schemars(default)]
    pub params: KeyedMap<Node>,
    /// How often to refresh, e.g. `30s`.
    pub refresh: Option<Spanned<DurationValue>>,
    /// A Postgres LISTEN/NOTIFY channel that signals fresh data.
    pub channel: Option<String>,
    #[schemars(skip)]
    pub params_node_span: Option<crate::source::Span>,
}

impl WidgetData {
    /// Where `params:` is written, if it is.
    pub fn params_span(&self) -> Option<crate::source::Span> {
        self.params_node_span.clone()
    }

    pub const KEYS: &'static [&'static str] = &["tool", "params", "refresh", "channel"];
}

impl Decode for WidgetData {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let mut m = MapReader::new(node, cx, "widget data", Self::KEYS)?;
        let tool = m.req(cx, "tool");
        let params = m.opt(cx, "params").unwrap_or_default();
        let params_node_span = m.entry("params").map(|(k, _)| k.span.clone());
        let refresh = m.opt(cx, "refresh");
        let channel = m.opt(cx, "channel");
        m.finish(cx);
        Some(WidgetData {
            tool: tool?,
            params,
            refresh,
            channel,
            params_node_span,
        })
    }
}

/// The JSON Schema of a spec file.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(SpecFile);
    serde_json::to_value(schema).unwrap_or(serde_json::Value::Null)
}
