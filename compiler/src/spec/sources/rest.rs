//! `kind: rest`: an HTTP/JSON API whose declared endpoints are tables `<source>.<table>`.

use super::http::HttpClient;
use crate::decode::{one_of, Cx, Decode, KeyedMap, MapReader};
use crate::source::Spanned;
use crate::spec::columns::ColumnDecl;
use crate::spec::values::{SelectorValue, TypeRef};
use crate::yaml::{Node, NodeKind};

#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RestSource {
    pub description: Option<String>,
    /// Base URL that table paths are appended to.
    pub base_url: Spanned<String>,
    #[schemars(flatten)]
    pub http: HttpClient,
    pub tables: KeyedMap<RestTable>,
}

pub const KEYS: &[&str] = &[
    "kind",
    "description",
    "base_url",
    "auth",
    "headers",
    "timeout",
    "rate_limit",
    "retry",
    "max_response_bytes",
    "tables",
];

pub fn decode(m: &mut MapReader, cx: &mut Cx) -> Option<super::SourceConfig> {
    let description = m.opt(cx, "description");
    let base_url = m.req(cx, "base_url");
    let http = HttpClient::read(m, cx);
    let tables = m.req(cx, "tables");
    Some(super::SourceConfig::Rest(RestSource {
        description,
        base_url: base_url?,
        http,
        tables: tables.unwrap_or_default(),
    }))
}

/// One endpoint as a table.
#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RestTable {
    pub description: Option<String>,
    /// GET (default) or POST.
    pub method: Option<Spanned<String>>,
    /// Path template, e.g. `/repos/{owner}/{repo}/issues`; `{name}` comes from `WHERE name = ...`.
    pub path: Spanned<String>,
    /// Fixed query parameters.
    pub query: Option<KeyedMap<String>>,
    /// Where the rows are in the response (default `$`, the response is a list).
    pub rows: Option<Spanned<SelectorValue>>,
    pub columns: KeyedMap<RestColumn>,
    pub pagination: Option<Pagination>,
}

impl RestTable {
    /// The `{name}` parts of the path template, in order.
    pub fn path_params(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = self.path.value.as_str();
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            out.push(rest[open + 1..open + close].to_string());
            rest = &rest[open + close + 1..];
        }
        out
    }

    pub const KEYS: &'static [&'static str] = &[
        "description",
        "method",
        "path",
        "query",
        "rows",
        "columns",
        "pagination",
    ];
}

impl Decode for RestTable {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let mut m = MapReader::new(node, cx, "REST table", Self::KEYS)?;
        let description = m.opt(cx, "description");
        let method = m
            .node("method")
            .and_then(|n| one_of(n, cx, &["GET", "POST"], "HTTP method"));
        let path = m.req(cx, "path");
        let query = m.opt(cx, "query");
        let rows = m.opt(cx, "rows");
        let columns = m.req(cx, "columns");
        let pagination = m.opt(cx, "pagination");
        m.finish(cx);
        Some(RestTable {
            description,
            method,
            path: path?,
            query,
            rows,
            columns: columns?,
            pagination,
        })
    }
}

/// A column of an API table: `name: type`, or with a selector and pushdown target.
#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RestColumn {
    #[schemars(rename = "type")]
    pub ty: Spanned<TypeRef>,
    /// Where the value is within a row (default `$.<column name>`).
    pub selector: Option<Spanned<SelectorValue>>,
    /// Query parameter that an equality filter on this column is pushed into.
    pub filter: Option<String>,
    pub nullable: Option<bool>,
    pub description: Option<String>,
}

impl RestColumn {
    pub const KEYS: &'static [&'static str] =
        &["type", "selector", "filter", "nullable", "description"];
}

impl Decode for RestColumn {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        if let NodeKind::Scalar { .. } = node.kind {
            let c = ColumnDecl::decode(node, cx)?;
            return Some(RestColumn {
                ty: c.ty,
                selector: None,
                filter: None,
                nullable: None,
                description: None,
            });
        }
        let mut m = MapReader::new(node, cx, "column", Self::KEYS)?;
        let ty = m.req(cx, "type");
        let c = RestColumn {
            ty: ty.unwrap_or_else(|| {
                Spanned::new(
                    TypeRef(widgettdc_grammar::TypeExpr::String),
                    node.span.clone(),
                )
            }),
            selector: m.opt(cx, "selector"),
            filter: m.opt(cx, "filter"),
            nullable: m.opt(cx, "nullable"),
            description: m.opt(cx, "description"),
        };
        m.finish(cx);
        Some(c)
    }
}

/// How to fetch further pages.
#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Pagination {
    /// link (RFC 8288 `Link: rel="next"`) | cursor | page | offset
    #[schemars(rename = "type")]
    pub kind: Spanned<String>,
    /// cursor: where the next cursor is in the response, e.g. `$.meta.next`.
    pub cursor: Option<Spanned<SelectorValue>>,
    /// The query parameter that carries the cursor, page number or offset.
    pub param: Option<String>,
    /// page/offset: the query parameter for the page size.
    pub size_param: Option<String>,
    /// Rows per page to ask for.
    pub page_size: Option<u32>,
    /// Stop after this many pages (default 100).
    pub max_pages: Option<u32>,
}

impl Pagination {
    pub const KEYS: &'static [&'static str] = &[
        "type",
        "cursor",
        "param",
        "size_param",
        "page_size",
        "max_pages",
    ];
    pub const KINDS: &'static [&'static str] = &["link", "cursor", "page", "offset"];
}

impl Decode for Pagination {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let mut m = MapReader::new(node, cx, "pagination", Self::KEYS)?;
        let kind = match m.node("type") {
            Some(n) => one_of(n, cx, Self::KINDS, "pagination type"),
            None => m
                .req::<String>(cx, "type")
                .map(|s| Spanned::new(s, node.span.clone())),
        };
        let p = Pagination {
            kind: kind.unwrap_or_else(|| Spanned::new(String::new(), node.span.clone())),
            cursor: m.opt(cx, "cursor"),
            param: m.opt(cx, "param"),
            size_param: m.opt(cx, "size_param"),
            page_size: m.opt(cx, "page_size"),
            max_pages: m.opt(cx, "max_pages"),
        };
        match p.kind.value.as_str() {
            "cursor" if p.cursor.is_none() => m.missing_one_of(&["cursor"]),
            "cursor" | "page" | "offset" if p.param.is_none() => m.missing_one_of(&["param"]),
            _ => {}
        }
        m.finish(cx);
        Some(p)
    }
}
