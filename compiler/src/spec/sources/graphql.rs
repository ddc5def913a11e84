//! `kind: graphql`: a GraphQL endpoint whose declared queries are tables `<source>.<table>`.

use super::http::HttpClient;
use super::rest::RestColumn;
use crate::decode::{Cx, Decode, KeyedMap, MapReader};
use crate::source::Spanned;
use crate::spec::values::SelectorValue;
use crate::yaml::Node;

#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct GraphqlSource {
    pub description: Option<String>,
    /// The GraphQL endpoint URL.
    pub url: Spanned<String>,
    #[schemars(flatten)]
    pub http: HttpClient,
    pub tables: KeyedMap<GraphqlTable>,
}

pub const KEYS: &[&str] = &[
    "kind",
    "description",
    "url",
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
    let url = m.req(cx, "url");
    let http = HttpClient::read(m, cx);
    let tables = m.req(cx, "tables");
    Some(super::SourceConfig::Graphql(GraphqlSource {
        description,
        url: url?,
        http,
        tables: tables.unwrap_or_default(),
    }))
}

#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct GraphqlTable {
    pub description: Option<String>,
    /// The GraphQL query document; `$name` variables come from filters on columns of that name.
    pub query: Spanned<String>,
    /// Fixed variables.
    pub variables: Option<KeyedMap<Node>>,
    /// Where the rows are in `data`, e.g. `$.data.repository.issues.nodes[*]`.
    pub rows: Spanned<SelectorValue>,
    pub columns: KeyedMap<RestColumn>,
}

/// The variables a GraphQL document declares: `(name, required)`; required means a non-null
/// type (`String!`) without a default.
pub fn declared_variables(document: &str) -> Vec<(String, bool)> {
    let head = document.split('{').next().unwrap_or("");
    let Some(open) = head.find('(') else {
        return Vec::new();
    };
    let inner = head[open + 1..].split(')').next().unwrap_or("");
    inner
        .split('$')
        .skip(1)
        .filter_map(|def| {
            let (name, rest) = def.split_once(':')?;
            let rest = rest.trim().trim_end_matches(',').trim();
            let (ty, default) = match rest.split_once('=') {
                Some((t, _)) => (t.trim(), true),
                None => (rest, false),
            };
            Some((name.trim().to_string(), ty.ends_with('!') && !default))
        })
        .collect()
}

impl GraphqlTable {
    /// Required variables that neither `variables:` gives nor can be left out: each needs
    /// `WHERE <name> = <value>`.
    pub fn required_variables(&self) -> Vec<String> {
        declared_variables(&self.query.value)
            .into_iter()
            .filter(|(n, required)| {
                *required && !self.variables.as_ref().is_some_and(|v| v.0.contains_key(n))
            })
            .map(|(n, _)| n)
            .collect()
    }

    pub const KEYS: &'static [&'static str] =
        &["description", "query", "variables", "rows", "columns"];
}

impl Decode for GraphqlTable {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let mut m = MapReader::new(node, cx, "GraphQL table", Self::KEYS)?;
        let description = m.opt(cx, "description");
        let query = m.req(cx, "query");
        let variables = m.opt(cx, "variables");
        let rows = m.req(cx, "rows");
        let columns = m.req(cx, "columns");
        m.finish(cx);
        Some(GraphqlTable {
            description,
            query: query?,
            variables,
            rows: rows?,
            columns: columns?,
        })
    }
}
