//! HTTP settings shared by the API source kinds (rest, graphql, mcp over HTTP).

use crate::decode::{one_of, Cx, Decode, KeyedMap, MapReader};
use crate::source::Spanned;
use crate::spec::values::DurationValue;
use crate::yaml::Node;

/// `auth:` of an HTTP source.
#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Auth {
    /// bearer | basic | header | query
    #[schemars(rename = "type")]
    pub kind: Spanned<String>,
    /// bearer: the token.
    pub token: Option<String>,
    /// basic: user name.
    pub username: Option<String>,
    /// basic: password.
    pub password: Option<String>,
    /// header/query: the header or query parameter name.
    pub name: Option<String>,
    /// header/query: its value.
    pub value: Option<String>,
}

impl Auth {
    pub const KEYS: &'static [&'static str] =
        &["type", "token", "username", "password", "name", "value"];
    pub const KINDS: &'static [&'static str] = &["bearer", "basic", "header", "query"];
}

impl Decode for Auth {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let mut m = MapReader::new(node, cx, "auth", Self::KEYS)?;
        let kind = match m.node("type") {
            Some(n) => one_of(n, cx, Self::KINDS, "auth type"),
            None => {
                let _: Option<String> = m.req(cx, "type");
                None
            }
        };
        let a = Auth {
            kind: kind.unwrap_or_else(|| Spanned::new(String::new(), node.span.clone())),
            token: m.opt(cx, "token"),
            username: m.opt(cx, "username"),
            password: m.opt(cx, "password"),
            name: m.opt(cx, "name"),
            value: m.opt(cx, "value"),
        };
        match a.kind.value.as_str() {
            "bearer" if a.token.is_none() => m.missing_one_of(&["token"]),
            "basic" if a.username.is_none() => m.missing_one_of(&["username"]),
            "header" | "query" if a.name.is_none() => m.missing_one_of(&["name"]),
            "header" | "query" if a.value.is_none() => m.missing_one_of(&["value"]),
            _ => {}
        }
        m.finish(cx);
        Some(a)
    }
}

/// Retries on 429 and 5xx, with exponential backoff and jitter.
#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Retry {
    /// Attempts in all, including the first (default 3).
    pub max_attempts: Option<u32>,
    /// Backoff before the first retry (default 200ms).
    pub initial_backoff: Option<DurationValue>,
    /// Longest backoff (default 10s).
    pub max_backoff: Option<DurationValue>,
}

impl Retry {
    pub const KEYS: &'static [&'static str] = &["max_attempts", "initial_backoff", "max_backoff"];
}

impl Decode for Retry {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let mut m = MapReader::new(node, cx, "retry", Self::KEYS)?;
        let r = Retry {
            max_attempts: m.opt(cx, "max_attempts"),
            initial_backoff: m.opt(cx, "initial_backoff"),
            max_backoff: m.opt(cx, "max_backoff"),
        };
        m.finish(cx);
        Some(r)
    }
}

/// Settings every HTTP API source has.
#[derive(Debug, Clone, Default, schemars::JsonSchema)]
pub struct HttpClient {
    pub auth: Option<Auth>,
    /// Headers sent with every request.
    pub headers: Option<KeyedMap<String>>,
    /// Per-request timeout (default 30s).
    pub timeout: Option<DurationValue>,
    /// Requests per second at most.
    pub rate_limit: Option<f64>,
    pub retry: Option<Retry>,
    /// Largest response body accepted, in bytes (default 64 MiB).
    pub max_response_bytes: Option<u32>,
}

impl HttpClient {
    pub const KEYS: &'static [&'static str] = &[
        "auth",
        "headers",
        "timeout",
        "rate_limit",
        "retry",
        "max_response_bytes",
    ];

    pub fn read(m: &mut MapReader, cx: &mut Cx) -> Self {
        HttpClient {
            auth: m.opt(cx, "auth"),
            headers: m.opt(cx, "headers"),
            timeout: m.opt(cx, "timeout"),
            rate_limit: m.opt(cx, "rate_limit"),
            retry: m.opt(cx, "retry"),
            max_response_bytes: m.opt(cx, "max_response_bytes"),
        }
    }
}
