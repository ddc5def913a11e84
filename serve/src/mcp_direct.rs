//! A plain stateless `tools/call` over streamable HTTP, answered without rmcp's per-request
//! machinery.
//!
//! rmcp serves each stateless (`2026-07-28`) request by parsing it into its message model,
//! serialising that model back to a JSON value to compare it with the `Mcp-*` headers,
//! starting a one-shot service with its own tasks, channels and cancellation tokens, and
//! handing the answer back over a channel. For the one request an agent sends again and again
//! (a tool call) that machinery costs about as much as the call itself. So a request that is
//! *plainly* a well-formed stateless tool call of a served tool is answered here, with the same
//! function the rmcp handler uses ([`crate::mcp::call`]) and the answer written as rmcp writes it
//! (`mcp::call_answer`), so the bytes are the same either way, except that a page's rows
//! go out as Arrow wrote them (a decimal keeps its digits, where rmcp's `Value` holds an f64).
//!
//! Everything else goes to rmcp unchanged, the body it was sent with included: sessions, other
//! methods, any header this module does not know, progress tokens or any other `_meta` entry,
//! an unknown tool, and every request that is wrong in any way (rmcp says what is wrong). The
//! tests send the same call both ways and compare the answers (`tests/serve.rs`).

use std::borrow::Cow;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use rmcp::model::NumberOrString;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{served_tool, Service};

/// The only protocol revision answered here (the stateless one).
const REVISION: &str = "2026-07-28";
// (names made once: looking a header up by a `&str` parses the name on every call)
const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");
const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
/// Bodies up to this size are read here; larger ones go to rmcp unread.
const MAX_BODY: usize = 64 * 1024;

/// What became of a request: answered here, or to be handed to rmcp as it came.
pub enum Outcome {
    Answered(Response),
    Delegate(Request<Body>),
}

/// The body of a plain tool call, read without copying its strings. Any other key fails the
/// parse, and the request goes to rmcp.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    #[serde(borrow)]
    jsonrpc: Cow<'a, str>,
    #[serde(borrow)]
    id: Id<'a>,
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(borrow)]
    params: Params<'a>,
}

/// A JSON-RPC id: an integer that fits an `i64`, or a string (anything else goes to rmcp).
#[derive(Deserialize)]
#[serde(untagged)]
enum Id<'a> {
    Number(i64),
    String(#[serde(borrow)] Cow<'a, str>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(default)]
    arguments: Option<Map<String, Value>>,
    #[serde(rename = "_meta", borrow)]
    meta: Meta<'a>,
}

/// The `_meta` revision `2026-07-28` requires, and nothing else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Meta<'a> {
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", borrow)]
    version: Cow<'a, str>,
    /// (an object; its entries do not change how a tool call is answered)
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities")]
    _capabilities: IgnoredObject,
    #[serde(
        rename = "io.modelcontextprotocol/clientInfo",
        default,
        deserialize_with = "present"
    )]
    _client: Option<ClientInfo<'a>>,
}

/// `clientInfo` as rmcp reads it: a name and a version (other entries are not looked at).
#[derive(Deserialize)]
struct ClientInfo<'a> {
    #[serde(rename = "name", borrow)]
    _name: Cow<'a, str>,
    #[serde(rename = "version", borrow)]
    _version: Cow<'a, str>,
}

/// A value present in the body (an explicit `null` is refused).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// A JSON object whose entries are skipped.
struct IgnoredObject;

impl<'de> Deserialize<'de> for IgnoredObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = IgnoredObject;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Self::Value, A::Error> {
                while m
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(IgnoredObject)
            }
        }
        d.deserialize_map(Visit)
    }
}

/// Answer `request` if it is plainly a stateless call of a tool served at this endpoint (all
/// tools, or `toolset`'s); `allowed_hosts` is the endpoint's DNS-rebinding allowlist (rmcp's
/// `StreamableHttpServerConfig::allowed_hosts`: a request for another host goes to rmcp, which
/// refuses it).
pub async fn try_call(
    service: &Arc<Service>,
    toolset: Option<&str>,
    allowed_hosts: &AllowedHosts,
    request: Request<Body>,
) -> Outcome {
    let Some(tool_name) = plain_call_headers(request.method(), request.headers(), allowed_hosts)
    else {
        return Outcome::Delegate(request);
    };
    let tool_name = tool_name.to_string();
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        // the length was checked; a body that cannot be read is a client that went away
        Err(e) => {
            return Outcome::Answered(
                (
                    StatusCode::BAD_REQUEST,
                    format!("Bad Request: the body could not be read: {e}"),
                )
                    .into_response(),
            )
        }
    };
    let delegate =
        |parts, bytes: Bytes| Outcome::Delegate(Request::from_parts(parts, Body::from(bytes)));
    let Some((id, name, args)) = plain_call_body(&bytes, &tool_name) else {
        return delegate(parts, bytes);
    };
    let rt = service.runtime();
    let Some(tool) = served_tool(&rt, toolset, &name) else {
        return delegate(parts, bytes);
    };
    Outcome::Answered(match crate::mcp::call_answer(&rt, tool, args, id).await {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Internal Server Error: the answer could not be written: {e}"),
        )
            .into_response(),
    })
}

/// The tool named in the headers of a request that looks, by its headers, like a plain
/// stateless tool call: a POST with no session, revision `2026-07-28`, `Mcp-Method:
/// tools/call`, one `Mcp-Name` and no `Mcp-Param-*`, JSON in and both JSON and SSE accepted, a
/// host the endpoint allows, no `Origin`, and a body of known, small length.
fn plain_call_headers<'h>(
    method: &Method,
    headers: &'h HeaderMap,
    allowed_hosts: &AllowedHosts,
) -> Option<&'h str> {
    if method != Method::POST {
        return None;
    }
    let one = |name: &HeaderName| -> Option<&'h str> {
        let mut values = headers.get_all(name).iter();
        let first = values.next()?.to_str().ok()?;
        values.next().is_none().then_some(first)
    };
    if one(&MCP_PROTOCOL_VERSION)? != REVISION || one(&MCP_METHOD)? != "tools/call" {
        return None;
    }
    let tool = one(&MCP_NAME)?;
    if headers.contains_key(&MCP_SESSION_ID) || headers.contains_key(header::ORIGIN) {
        return None;
    }
    if headers.keys().any(|k| k.as_str().starts_with("mcp-param-")) {
        return None;
    }
    let content_type = one(&header::CONTENT_TYPE)?;
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return None;
    }
    // both media types named plainly (no parameters: a weight of 0 would refuse one)
    let accept = one(&header::ACCEPT)?;
    if accept.contains(';') || accept.contains('"') {
        return None;
    }
    let entries = || accept.split(',').map(str::trim);
    if !entries().any(|e| e.eq_ignore_ascii_case("application/json"))
        || !entries().any(|e| e.eq_ignore_ascii_case("text/event-stream"))
    {
        return None;
    }
    let length: usize = one(&header::CONTENT_LENGTH)?.parse().ok()?;
    if length > MAX_BODY {
        return None;
    }
    allowed_hosts.allows(one(&header::HOST)?).then_some(tool)
}

/// An endpoint's DNS-rebinding allowlist (rmcp's `StreamableHttpServerConfig::allowed_hosts`),
/// read once: each entry's host, lower-cased and without brackets, and its port if it names one.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts(Vec<(String, Option<u16>)>);

impl AllowedHosts {
    pub fn new(entries: &[String]) -> AllowedHosts {
        AllowedHosts(
            entries
                .iter()
                .map(
                    |entry| match entry.trim().parse::<axum::http::uri::Authority>() {
                        Ok(a) => (normal_host(a.host()), a.port_u16()),
                        Err(_) => (normal_host(entry.trim()), None),
                    },
                )
                .collect(),
        )
    }

    /// rmcp's rule: the `Host` is allowed when the list is empty, or when an entry names its
    /// host (and its port, when the entry has one).
    fn allows(&self, host: &str) -> bool {
        if self.0.is_empty() {
            return true;
        }
        let Ok(authority) = host.parse::<axum::http::uri::Authority>() else {
            return false;
        };
        let (host, port) = (
            authority.host().trim_matches(['[', ']']),
            authority.port_u16(),
        );
        self.0
            .iter()
            .any(|(h, p)| h.eq_ignore_ascii_case(host) && p.is_none_or(|p| Some(p) == port))
    }
}

fn normal_host(h: &str) -> String {
    h.trim_matches(['[', ']']).to_ascii_lowercase()
}

/// The id, tool and arguments of a body that is plainly a call of `tool` in revision
/// `2026-07-28`, with the `_meta` that revision requires and nothing else.
fn plain_call_body(
    body: &[u8],
    tool: &str,
) -> Option<(NumberOrString, String, Map<String, Value>)> {
    let e: Envelope = serde_json::from_slice(body).ok()?;
    if e.jsonrpc != "2.0"
        || e.method != "tools/call"
        || e.params.name != tool
        || e.params.meta.version != REVISION
    {
        return None;
    }
    let id = match e.id {
        Id::Number(n) => NumberOrString::Number(n),
        Id::String(s) => NumberOrString::String(s.as_ref().into()),
    };
    Some((
        id,
        e.params.name.into_owned(),
        e.params.arguments.unwrap_or_default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(extra: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("host", "127.0.0.1:8080"),
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("content-length", "100"),
            ("mcp-protocol-version", REVISION),
            ("mcp-method", "tools/call"),
            ("mcp-name", "t"),
        ] {
            h.insert(k, HeaderValue::from_static(v));
        }
        for (k, v) in extra {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn loopback() -> AllowedHosts {
        AllowedHosts::new(&["localhost".into(), "127.0.0.1".into(), "::1".into()])
    }

    fn host_allowed(host: &str, allowed: &AllowedHosts) -> bool {
        allowed.allows(host)
    }

    #[test]
    fn only_plain_stateless_calls_are_taken_by_their_headers() {
        let ok = |h: &HeaderMap| plain_call_headers(&Method::POST, h, &loopback()).is_some();
        assert!(ok(&headers(&[])));
        assert!(plain_call_headers(&Method::GET, &headers(&[]), &loopback()).is_none());
        for extra in [
            ("mcp-session-id", "abc"),
            ("origin", "http://evil.example"),
            ("mcp-param-region", "eu"),
            ("mcp-name", "u"),
            ("mcp-protocol-version", "2025-11-25"),
        ] {
            assert!(!ok(&headers(&[extra])), "{extra:?}");
        }
        let mut h = headers(&[]);
        h.insert("host", HeaderValue::from_static("evil.example:8080"));
        assert!(!ok(&h));
        h.insert("host", HeaderValue::from_static("[::1]:8080"));
        assert!(ok(&h));
        h.insert(
            "accept",
            HeaderValue::from_static("application/json;q=0, text/event-stream"),
        );
        assert!(!ok(&h));
        h.insert("accept", HeaderValue::from_static("application/json"));
        assert!(!ok(&h));
        let mut h = headers(&[]);
        h.insert("content-length", HeaderValue::from_static("1000000"));
        assert!(!ok(&h));
        h.remove("content-length");
        assert!(!ok(&h));
        let mut h = headers(&[]);
        h.insert("content-type", HeaderValue::from_static("text/plain"));
        assert!(!ok(&h));
        h.insert(
            "content-type",
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        assert!(ok(&h));
    }

    #[test]
    fn hosts_follow_the_allowlist_with_and_without_ports() {
        assert!(host_allowed("localhost:1", &loopback()));
        assert!(host_allowed("LOCALHOST", &loopback()));
        assert!(!host_allowed("example.com", &loopback()));
        assert!(host_allowed("example.com", &AllowedHosts::new(&[])));
        let with_port = AllowedHosts::new(&["example.com:8080".to_string()]);
        assert!(host_allowed("example.com:8080", &with_port));
        assert!(!host_allowed("example.com:9090", &with_port));
        assert!(!host_allowed("not a host", &loopback()));
    }

    #[test]
    fn only_plain_call_bodies_are_taken() {
        let meta = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;
        let body = |id: &str, params: &str| {
            format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{{params}}}}}"#)
        };
        let take = |b: String| plain_call_body(b.as_bytes(), "t");
        let (id, name, args) = take(body(
            "7",
            &format!(r#""name":"t","arguments":{{"a":1}},{meta}"#),
        ))
        .unwrap();
        assert_eq!((id, name.as_str()), (NumberOrString::Number(7), "t"));
        assert_eq!(args.get("a"), Some(&Value::from(1)));
        let (id, ..) = take(body(r#""x\"y""#, &format!(r#""name":"t",{meta}"#))).unwrap();
        assert_eq!(id, NumberOrString::String("x\"y".into()));
        let (id, ..) = take(body("-3", &format!(r#""name":"t",{meta}"#))).unwrap();
        assert_eq!(id, NumberOrString::Number(-3));
        let client =
            r#""io.modelcontextprotocol/clientInfo":{"name":"c","version":"1","title":"C"}"#;
        let meta_with_client = format!("{},{client}}}", &meta[..meta.len() - 1]);
        assert!(take(body("8", &format!(r#""name":"t",{meta_with_client}"#))).is_some());
        for refused in [
            body("7", &format!(r#""name":"u",{meta}"#)),
            body("1.5", &format!(r#""name":"t",{meta}"#)),
            body("null", &format!(r#""name":"t",{meta}"#)),
            body("18446744073709551615", &format!(r#""name":"t",{meta}"#)),
            body("{}", &format!(r#""name":"t",{meta}"#)),
            body("7", &format!(r#""name":"t","arguments":[1],{meta}"#)),
            body("7", &format!(r#""name":"t","task":{{}},{meta}"#)),
            body(
                "7",
                r#""name":"t","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}"#,
            ),
            body(
                "7",
                r#""name":"t","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"progressToken":1}"#,
            ),
            body(
                "7",
                r#""name":"t","_meta":{"io.modelcontextprotocol/protocolVersion":"2025-11-25","io.modelcontextprotocol/clientCapabilities":{}}"#,
            ),
            body(
                "7",
                r#""name":"t","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":1}}"#,
            ),
            body(
                "7",
                r#""name":"t","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":[]}"#,
            ),
            body(
                "7",
                r#""name":"t","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":null}"#,
            ),
            body("9223372036854775808", &format!(r#""name":"t",{meta}"#)),
            body("7", r#""name":"t""#),
            "not json".to_string(),
            format!(
                r#"{{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{{"name":"t",{meta}}}}}"#
            ),
        ] {
            assert!(take(refused.clone()).is_none(), "{refused}");
        }
    }
}
