//! `kind: mcp`: an MCP server; its tools are table functions `<source>.<tool>(...)` and its
//! resources the table `<source>.resources`.

use super::http::HttpClient;
use crate::decode::{Cx, KeyedMap, MapReader};
use crate::source::Spanned;

#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct McpSource {
    pub description: Option<String>,
    /// stdio transport: the server command.
    pub command: Option<Spanned<String>>,
    pub args: Option<Vec<String>>,
    /// Environment for the server process.
    pub env: Option<KeyedMap<String>>,
    /// Working directory for the server process.
    pub cwd: Option<String>,
    /// Streamable HTTP transport: the server URL.
    pub url: Option<Spanned<String>>,
    #[schemars(flatten)]
    pub http: HttpClient,
}

pub const KEYS: &[&str] = &[
    "kind",
    "description",
    "command",
    "args",
    "env",
    "cwd",
    "url",
    "auth",
    "headers",
    "timeout",
    "rate_limit",
    "retry",
    "max_response_bytes",
];

pub fn decode(m: &mut MapReader, cx: &mut Cx) -> Option<super::SourceConfig> {
    let s = McpSource {
        description: m.opt(cx, "description"),
        command: m.opt(cx, "command"),
        args: m.opt(cx, "args"),
        env: m.opt(cx, "env"),
        cwd: m.opt(cx, "cwd"),
        url: m.opt(cx, "url"),
        http: HttpClient::read(m, cx),
    };
    if s.command.is_none() && s.url.is_none() {
        m.missing_one_of(&["command", "url"]);
    }
    Some(super::SourceConfig::Mcp(s))
}
