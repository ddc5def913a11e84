//! `kind: mcp`: an MCP server, reached with `rmcp` as a client over stdio (`command:`, `args:`,
//! `env:`, `cwd:`) or streamable HTTP (`url:` with the source's auth and headers).
//!
//! - Each tool of the server is a table function: `SELECT * FROM fs.search_files(path =>
//!   '/data', pattern => '*.csv')`. Before planning, the runtime finds these calls in the
//!   statement ([`calls_in`]), calls the tools (arguments checked against each tool's
//!   `inputSchema`), and puts each result in the statement's place as an in-memory table.
//!   Rows: `structuredContent` when present, else the JSON of the text content, else one row
//!   per content item (type, text, mime_type, uri). A list of objects (or an object with one
//!   such list) is one row per object.
//! - The server's resources are the table `<source>.resources` (uri, name, title, mime_type,
//!   description, text; the text is read only when the query asks for it).
//! - The connection opens on first use, with the protocol revision negotiated by rmcp
//!   (`server/discover` of 2026-07-28, falling back to the initialize handshake). A server whose
//!   process has exited is started again on the next call (a tool call in flight when it dies
//!   fails that query and is not repeated, since it may have had effects; listings are); every request has the source's
//!   `timeout:` (default 30 s), so a server that never answers fails the query, it does not
//!   hang it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use datafusion::catalog::{SchemaProvider, Session, TableProvider};
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;
use rmcp::model::{CallToolRequestParams, ProtocolVersion, ReadResourceRequestParams};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RoleClient, RunningService};
use serde_json::{Map, Value};
use widgettdc_compiler::spec::sources::mcp::McpSource;
use widgettdc_compiler::spec::sources::SourceConfig;
use widgettdc_compiler::Code;

use super::{Registration, SourceCx};
use crate::error::{Result, RuntimeError};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

pub fn register(cx: &SourceCx) -> Result<Registration> {
    let SourceConfig::Mcp(spec) = cx.config else {
        return Err(RuntimeError::internal("mcp registration for another kind"));
    };
    let server = Arc::new(McpServer {
        source: cx.name.to_string(),
        spec: spec.clone(),
        base_dir: cx.base_dir.clone(),
        timeout: spec
            .http
            .timeout
            .as_ref()
            .map(|d| d.0)
            .unwrap_or(DEFAULT_TIMEOUT),
        service: tokio::sync::Mutex::new(None),
        tools: tokio::sync::Mutex::new(None),
    });
    Ok(Registration::Server {
        provider: Arc::new(McpSchema {
            server: Arc::clone(&server),
        }),
        server,
    })
}

/// One MCP server: its connection (opened on first use, reopened after the server exits).
pub struct McpServer {
    source: String,
    spec: McpSource,
    base_dir: PathBuf,
    timeout: Duration,
    service: tokio::sync::Mutex<Option<RunningService<RoleClient, ()>>>,
    /// The server's tools, listed once per connection.
    tools: tokio::sync::Mutex<Option<Arc<Vec<rmcp::model::Tool>>>>,
}

impl std::fmt::Debug for McpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServer")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl McpServer {
    pub fn source(&self) -> &str {
        &self.source
    }

    fn error(&self, code: Code, message: String) -> RuntimeError {
        RuntimeError::new(code, format!("MCP source `{}`: {message}", self.source))
    }

    fn unavailable(&self, what: &str, e: impl std::fmt::Display) -> RuntimeError {
        let how = match (&self.spec.command, &self.spec.url) {
            (Some(c), _) => format!("the command `{}`", c.value),
            (None, Some(u)) => format!("`{}`", u.value),
            _ => "the server".into(),
        };
        self.error(Code::SourceUnavailable, format!("{what}: {e}"))
            .help(format!("check that {how} starts an MCP server (and its `args:`/`env:`), or raise `timeout:` (now {:?})", self.timeout))
    }

    async fn connect(&self) -> Result<RunningService<RoleClient, ()>> {
        let lifecycle = ClientLifecycleMode::Auto {
            preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            legacy_version: Some(ProtocolVersion::V_2025_11_25),
        };
        let connecting = async {
            if let Some(command) = &self.spec.command {
                let mut cmd = tokio::process::Command::new(&command.value);
                cmd.args(self.spec.args.clone().unwrap_or_default());
                for (k, v) in self
                    .spec
                    .env
                    .as_ref()
                    .map(|e| e.0.iter())
                    .into_iter()
                    .flatten()
                {
                    cmd.env(k, &v.value);
                }
                cmd.current_dir(match &self.spec.cwd {
                    Some(d) => self.base_dir.join(d),
                    None => self.base_dir.clone(),
                });
                let (transport, _stderr) = rmcp::transport::TokioChildProcess::builder(cmd)
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .map_err(|e| self.unavailable("cannot start the server", e))?;
                ().serve_with_lifecycle(transport, lifecycle)
                    .await
                    .map_err(|e| self.unavailable("the server did not start a session", e))
            } else if let Some(url) = &self.spec.url {
                use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
                // rmcp's HTTP client uses rustls without a default crypto provider: ring, as
                // the rest of the binary (installing twice is harmless)
                let _ = rustls::crypto::ring::default_provider().install_default();
                let mut config = StreamableHttpClientTransportConfig::with_uri(url.value.clone());
                let mut headers = HashMap::new();
                for (k, v) in self
                    .spec
                    .http
                    .headers
                    .as_ref()
                    .map(|h| h.0.iter())
                    .into_iter()
                    .flatten()
                {
                    if let (Ok(n), Ok(v)) = (
                        http::HeaderName::from_bytes(k.as_bytes()),
                        http::HeaderValue::from_str(&v.value),
                    ) {
                        headers.insert(n, v);
                    }
                }
                if let Some(a) = &self.spec.http.auth {
                    match a.kind.value.as_str() {
                        "bearer" => {
                            config = config.auth_header(a.token.clone().unwrap_or_default())
                        }
                        "header" => {
                            if let (Ok(n), Ok(v)) = (
                                http::HeaderName::from_bytes(
                                    a.name.clone().unwrap_or_default().as_bytes(),
                                ),
                                http::HeaderValue::from_str(a.value.as_deref().unwrap_or_default()),
                            ) {
                                headers.insert(n, v);
                            }
                        }
                        _ => {}
                    }
                }
                if !headers.is_empty() {
                    config = config.custom_headers(headers);
                }
                let transport = rmcp::transport::StreamableHttpClientTransport::from_config(config);
                ().serve_with_lifecycle(transport, lifecycle)
                    .await
                    .map_err(|e| self.unavailable("the server did not start a session", e))
            } else {
                Err(self.error(
                    Code::SourceUnavailable,
                    "neither `command:` nor `url:` is set".into(),
                ))
            }
        };
        match tokio::time::timeout(self.timeout, connecting).await {
            Ok(r) => r,
            Err(_) => Err(self.unavailable(
                "no session",
                format!("the server did not answer within {:?}", self.timeout),
            )),
        }
    }

    /// A live peer: the open session, or a new one if there is none or it has closed.
    async fn peer(&self) -> Result<rmcp::service::Peer<RoleClient>> {
        let mut guard = self.service.lock().await;
        if guard
            .as_ref()
            .is_some_and(|s| s.is_closed() || s.is_transport_closed())
        {
            *guard = None;
            *self.tools.lock().await = None;
        }
        if guard.is_none() {
            *guard = Some(self.connect().await?);
        }
        Ok(guard.as_ref().expect("connected").peer().clone())
    }

    /// Forget the session (after a transport failure): the next call starts the server again.
    async fn reset(&self) {
        if let Some(s) = self.service.lock().await.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), s.cancel()).await;
        }
        *self.tools.lock().await = None;
    }

    /// Run `f` against the server with the source's timeout; a transport failure is retried
    /// once on a fresh session (the server restarted).
    async fn request<T, F, Fut>(&self, what: &str, f: F) -> Result<T>
    where
        F: Fn(rmcp::service::Peer<RoleClient>) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, rmcp::ServiceError>>,
    {
        self.request_with(what, true, f).await
    }

    /// As [`Self::request`]; with `repeatable` false (a tool call, which may have effects) the
    /// request is sent again only if it never reached the server, not when the connection
    /// closed while it ran.
    async fn request_with<T, F, Fut>(&self, what: &str, repeatable: bool, f: F) -> Result<T>
    where
        F: Fn(rmcp::service::Peer<RoleClient>) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, rmcp::ServiceError>>,
    {
        for attempt in 0..2 {
            let peer = self.peer().await?;
            match tokio::time::timeout(self.timeout, f(peer)).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => {
                    let not_sent = matches!(e, rmcp::ServiceError::TransportSend(_));
                    let closed = matches!(e, rmcp::ServiceError::TransportClosed);
                    if (not_sent || (closed && repeatable)) && attempt == 0 {
                        self.reset().await;
                        continue;
                    }
                    if closed {
                        self.reset().await;
                        return Err(self
                            .error(
                                Code::SourceRead,
                                format!("{what} failed: the server closed the connection while it ran"),
                            )
                            .help("the server is started again for the next query; the call is not repeated, as it may have had effects"));
                    }
                    return Err(self
                        .error(Code::SourceRead, format!("{what} failed: {e}"))
                        .help("the MCP server answered with an error; its message is above"));
                }
                Err(_) => {
                    self.reset().await;
                    return Err(self.unavailable(
                        &format!("{what} failed"),
                        format!("no answer within {:?}", self.timeout),
                    ));
                }
            }
        }
        Err(self.unavailable(what, "the server closed the connection twice"))
    }

    /// The server's tools (listed once per session).
    pub async fn tools(&self) -> Result<Arc<Vec<rmcp::model::Tool>>> {
        if let Some(t) = self.tools.lock().await.as_ref() {
            return Ok(Arc::clone(t));
        }
        let tools = Arc::new(
            self.request("listing tools", |p| async move { p.list_all_tools().await })
                .await?,
        );
        *self.tools.lock().await = Some(Arc::clone(&tools));
        Ok(tools)
    }

    /// Whether the server offers resources (and so resource templates).
    async fn has_resources(&self) -> bool {
        match self.peer().await {
            Ok(p) => p
                .peer_info()
                .is_none_or(|i| i.capabilities.resources.is_some()),
            Err(_) => true,
        }
    }

    /// The signatures of the server's tools and resource templates, for the lock file.
    pub async fn signatures(
        &self,
    ) -> Result<std::collections::BTreeMap<String, widgettdc_compiler::mcp::ToolSignature>> {
        use widgettdc_compiler::mcp;
        let mut out = std::collections::BTreeMap::new();
        for t in self.tools().await?.iter() {
            let input = Value::Object(t.input_schema.as_ref().clone());
            let columns = t
                .output_schema
                .as_ref()
                .and_then(|o| mcp::output_shape(&Value::Object(o.as_ref().clone())))
                .map(|shape| shape.columns().to_vec());
            out.insert(
                t.name.to_string(),
                mcp::ToolSignature {
                    arguments: mcp::arguments(&input),
                    columns,
                },
            );
        }
        if self.has_resources().await {
            for t in self.resource_templates().await? {
                let (Some(name), Some(template)) = (t["name"].as_str(), t["uriTemplate"].as_str())
                else {
                    continue;
                };
                out.entry(name.to_string())
                    .or_insert_with(|| mcp::ToolSignature {
                        arguments: mcp::template_arguments(template),
                        columns: Some(mcp::template_columns()),
                    });
            }
        }
        Ok(out)
    }

    /// Call a tool with arguments already checked: its result as JSON.
    pub async fn call(&self, tool: &str, args: Map<String, Value>) -> Result<Value> {
        let name = tool.to_string();
        let result = self
            .request_with(&format!("calling tool `{tool}`"), false, |p| {
                let mut params = CallToolRequestParams::new(name.clone());
                params.arguments = Some(args.clone());
                async move { p.call_tool(params).await }
            })
            .await?;
        serde_json::to_value(result).map_err(RuntimeError::internal)
    }

    pub async fn resources(&self) -> Result<Vec<Value>> {
        let list = self
            .request("listing resources", |p| async move {
                p.list_all_resources().await
            })
            .await?;
        list.into_iter()
            .map(|r| serde_json::to_value(r).map_err(RuntimeError::internal))
            .collect()
    }

    /// The server's resource templates (`uriTemplate`, `name`, …) as JSON.
    pub async fn resource_templates(&self) -> Result<Vec<Value>> {
        let list = self
            .request("listing resource templates", |p| async move {
                p.list_all_resource_templates().await
            })
            .await?;
        list.into_iter()
            .map(|r| serde_json::to_value(r).map_err(RuntimeError::internal))
            .collect()
    }

    /// A call of a resource template (`src."Template name"(var => value)`): the URI its
    /// variables make, read; one row per content (uri, mime_type, text). `None` if the server
    /// has no template of that name.
    pub async fn read_template(
        &self,
        name: &str,
        args: &Map<String, Value>,
    ) -> Result<Option<RecordBatch>> {
        let templates = self.resource_templates().await?;
        let Some(t) = templates.iter().find(|t| t["name"] == name) else {
            return Ok(None);
        };
        let template = t["uriTemplate"].as_str().unwrap_or_default();
        let (uri, unused, missing) = expand_template(template, args);
        if !missing.is_empty() || !unused.is_empty() {
            let mut problems: Vec<String> = missing
                .iter()
                .map(|m| format!("`{m}` is required"))
                .collect();
            problems.extend(
                unused
                    .iter()
                    .map(|u| format!("`{u}` is not a variable of `{template}`")),
            );
            return Err(self
                .error(
                    Code::QueryPlan,
                    format!("{}.\"{name}\"(...): {}", self.source, problems.join("; ")),
                )
                .help(format!(
                    "the template is `{template}`; give each `{{name}}` as `name => value`"
                )));
        }
        let read = self.read_resource(&uri).await?;
        let contents = read["contents"].as_array().cloned().unwrap_or_default();
        let rows: Vec<Map<String, Value>> = contents
            .iter()
            .map(|c| {
                let mut m = Map::new();
                m.insert("uri".into(), c.get("uri").cloned().unwrap_or(Value::Null));
                m.insert(
                    "mime_type".into(),
                    c.get("mimeType").cloned().unwrap_or(Value::Null),
                );
                m.insert(
                    "text".into(),
                    c.get("text")
                        .or_else(|| c.get("blob"))
                        .cloned()
                        .unwrap_or(Value::Null),
                );
                m
            })
            .collect();
        let columns = widgettdc_compiler::mcp::template_columns();
        shaped_batch(&rows, &columns).map(Some).map_err(|e| {
            self.error(
                Code::SourceRead,
                format!("the resource `{uri}` cannot be made a table: {e}"),
            )
        })
    }

    pub async fn read_resource(&self, uri: &str) -> Result<Value> {
        let uri = uri.to_string();
        let r = self
            .request(&format!("reading `{uri}`"), |p| {
                let params = ReadResourceRequestParams::new(uri.clone());
                async move { p.read_resource(params).await }
            })
            .await?;
        serde_json::to_value(r).map_err(RuntimeError::internal)
    }

    /// Check call arguments against the tool's `inputSchema`: unknown names (with a
    /// suggestion), missing required ones, and JSON types.
    pub async fn check_arguments(&self, tool: &str, args: &Map<String, Value>) -> Result<()> {
        let tools = self.tools().await?;
        let Some(t) = tools.iter().find(|t| t.name == tool) else {
            let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
            return Err(self
                .error(Code::QueryPlan, format!("the server has no tool `{tool}`"))
                .help(
                    widgettdc_compiler::diagnostic::did_you_mean(tool, names.iter().copied())
                        .unwrap_or_else(|| format!("its tools: {}", names.join(", "))),
                ));
        };
        let schema = t.input_schema.as_ref();
        let props = schema.get("properties").and_then(Value::as_object);
        let mut problems = Vec::new();
        for (name, value) in args {
            match props.and_then(|p| p.get(name)) {
                None => {
                    let known: Vec<&str> = props
                        .map(|p| p.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    let hint =
                        widgettdc_compiler::diagnostic::did_you_mean(name, known.iter().copied())
                            .map(|h| format!(" ({h})"))
                            .unwrap_or_default();
                    problems.push(format!("`{name}` is not an argument of `{tool}`{hint}"));
                }
                Some(p) => {
                    if let Some(expected) = p.get("type").and_then(Value::as_str) {
                        let ok = match expected {
                            "string" => value.is_string(),
                            "integer" => value.is_i64() || value.is_u64(),
                            "number" => value.is_number(),
                            "boolean" => value.is_boolean(),
                            "array" => value.is_array(),
                            "object" => value.is_object(),
                            _ => true,
                        } || value.is_null();
                        if !ok {
                            problems.push(format!(
                                "`{name}` must be {expected}, not {}",
                                super::api_rows::kind(value)
                            ));
                        }
                    }
                }
            }
        }
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !args.contains_key(r) {
                problems.push(format!("`{r}` is required"));
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        let params: Vec<String> = props
            .map(|p| {
                p.iter()
                    .map(|(k, v)| {
                        format!(
                            "{k} => {}",
                            v.get("type").and_then(Value::as_str).unwrap_or("value")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Err(self
            .error(
                Code::QueryPlan,
                format!("{}.{tool}(...): {}", self.source, problems.join("; ")),
            )
            .help(format!(
                "call it as {}.{tool}({})",
                self.source,
                params.join(", ")
            )))
    }

    /// A tool's result as a table: shaped by the tool's `outputSchema` when it has one (the
    /// columns `check` typed against), else inferred from the result.
    pub async fn result_table(&self, tool: &str, result: &Value) -> Result<RecordBatch> {
        if result.get("isError").and_then(Value::as_bool) == Some(true) {
            let text: Vec<&str> = result
                .get("content")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| c.get("text").and_then(Value::as_str))
                .collect();
            return Err(self
                .error(
                    Code::SourceRead,
                    format!("tool `{tool}` answered with an error: {}", text.join(" ")),
                )
                .help("check the arguments given to the tool"));
        }
        let shape = self
            .tools()
            .await?
            .iter()
            .find(|t| t.name == tool)
            .and_then(|t| t.output_schema.clone())
            .and_then(|o| {
                widgettdc_compiler::mcp::output_shape(&Value::Object(o.as_ref().clone()))
            });
        if let Some(shape) = shape {
            return shaped_rows(result, &shape)
                .and_then(|rows| shaped_batch(&rows, shape.columns()))
                .map_err(|e| {
                    self.error(
                        Code::SourceRead,
                        format!("the result of tool `{tool}` does not fit its outputSchema: {e}"),
                    )
                    .help("the server's tool changed or answers outside its declared outputSchema; run `widgettdc schema pull` to see its current signature")
                });
        }
        let rows = result_rows(result);
        rows_to_batch(&rows).map_err(|e| {
            self.error(
                Code::SourceRead,
                format!("the result of tool `{tool}` cannot be made a table: {e}"),
            )
        })
    }
}

/// Expand the `{var}` parts of a URI template (RFC 6570 level 1, values percent-encoded):
/// the URI, the arguments it did not use, and the variables it lacked.
fn expand_template(
    template: &str,
    args: &Map<String, Value>,
) -> (String, Vec<String>, Vec<String>) {
    let mut out = String::new();
    let mut used = Vec::new();
    let mut missing = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let var = &rest[open + 1..open + close];
        match args.get(var) {
            Some(v) => {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                out.push_str(
                    &percent_encoding::utf8_percent_encode(
                        &text,
                        percent_encoding::NON_ALPHANUMERIC,
                    )
                    .to_string(),
                );
                used.push(var.to_string());
            }
            None => missing.push(var.to_string()),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    let unused = args.keys().filter(|k| !used.contains(k)).cloned().collect();
    (out, unused, missing)
}

/// The rows of a tool result (see the module comment).
fn result_rows(result: &Value) -> Vec<Map<String, Value>> {
    fn rows_of(v: &Value) -> Option<Vec<Map<String, Value>>> {
        match v {
            Value::Array(items) if items.iter().all(Value::is_object) => Some(
                items
                    .iter()
                    .filter_map(|i| i.as_object().cloned())
                    .collect(),
            ),
            Value::Object(m) => {
                let lists: Vec<&Value> = m
                    .values()
                    .filter(|v| matches!(v, Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_object)))
                    .collect();
                if let [one] = lists.as_slice() {
                    rows_of(one)
                } else {
                    Some(vec![m.clone()])
                }
            }
            Value::Null => None,
            other => {
                let mut m = Map::new();
                m.insert("value".into(), other.clone());
                Some(vec![m])
            }
        }
    }
    if let Some(s) = result.get("structuredContent") {
        // some servers wrap JSON text in their structured result: `{"content": "[{...}]"}`
        if let Some(Value::String(text)) = s
            .as_object()
            .filter(|m| m.len() == 1)
            .and_then(|m| m.values().next())
        {
            if let Ok(parsed @ Value::Array(_)) = serde_json::from_str::<Value>(text) {
                if let Some(rows) = rows_of(&parsed) {
                    return rows;
                }
            }
        }
        if let Some(rows) = rows_of(s) {
            return rows;
        }
    }
    let content: Vec<&Value> = result
        .get("content")
        .and_then(Value::as_array)
        .map(|c| c.iter().collect())
        .unwrap_or_default();
    if let [one] = content.as_slice() {
        if let Some(text) = one.get("text").and_then(Value::as_str) {
            if let Ok(parsed) = serde_json::from_str::<Value>(text) {
                if parsed.is_object() || parsed.is_array() {
                    if let Some(rows) = rows_of(&parsed) {
                        return rows;
                    }
                }
            }
        }
    }
    content
        .iter()
        .map(|c| {
            let mut m = Map::new();
            m.insert("type".into(), c.get("type").cloned().unwrap_or(Value::Null));
            let text = c
                .get("text")
                .or_else(|| c.get("resource").and_then(|r| r.get("text")))
                .cloned()
                .unwrap_or(Value::Null);
            m.insert("text".into(), text);
            let mime = c
                .get("mimeType")
                .or_else(|| c.get("resource").and_then(|r| r.get("mimeType")))
                .cloned()
                .unwrap_or(Value::Null);
            m.insert("mime_type".into(), mime);
            let uri = c
                .get("uri")
                .or_else(|| c.get("resource").and_then(|r| r.get("uri")))
                .cloned()
                .unwrap_or(Value::Null);
            m.insert("uri".into(), uri);
            m
        })
        .collect()
}

/// The rows of a structured result whose shape the tool's `outputSchema` gives: from
/// `structuredContent`, or (for servers that send only text) the JSON of its text content.
fn shaped_rows(
    result: &Value,
    shape: &widgettdc_compiler::mcp::OutputShape,
) -> std::result::Result<Vec<Map<String, Value>>, String> {
    use widgettdc_compiler::mcp::OutputShape;
    let parsed_text;
    let structured = match result.get("structuredContent") {
        Some(s) if !s.is_null() => s,
        _ => {
            let text = result
                .get("content")
                .and_then(Value::as_array)
                .and_then(|c| c.iter().find_map(|i| i.get("text").and_then(Value::as_str)))
                .ok_or("it has no structuredContent and no text content")?;
            parsed_text = serde_json::from_str::<Value>(text).map_err(|e| {
                format!("it has no structuredContent and its text is not JSON ({e})")
            })?;
            &parsed_text
        }
    };
    let object = structured.as_object().ok_or_else(|| {
        format!(
            "the structured result is {}, not an object",
            super::api_rows::kind(structured)
        )
    })?;
    match shape {
        OutputShape::Object(_) => Ok(vec![object.clone()]),
        OutputShape::List { property, .. } => match object.get(property) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    item.as_object().cloned().ok_or_else(|| {
                        format!(
                            "item {i} of `{property}` is {}, not an object",
                            super::api_rows::kind(item)
                        )
                    })
                })
                .collect(),
            Some(other) => Err(format!(
                "`{property}` is {}, not a list",
                super::api_rows::kind(other)
            )),
        },
    }
}

/// Rows as a batch with exactly these columns (missing fields are null, extra ones ignored,
/// `json` columns hold the JSON text of whatever value is there).
fn shaped_batch(
    rows: &[Map<String, Value>],
    columns: &[(String, widgettdc_grammar::TypeExpr)],
) -> std::result::Result<RecordBatch, String> {
    use widgettdc_grammar::TypeExpr;
    let schema: SchemaRef = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, t)| Field::new(n, widgettdc_compiler::types::to_arrow(t), true))
            .collect::<Vec<_>>(),
    ));
    let values: Vec<Value> = rows
        .iter()
        .map(|r| {
            let mut m = Map::new();
            for (name, ty) in columns {
                let v = r.get(name).cloned().unwrap_or(Value::Null);
                let v = match (ty, v) {
                    (
                        TypeExpr::Json | TypeExpr::String,
                        v @ (Value::Object(_) | Value::Array(_)),
                    ) => Value::String(v.to_string()),
                    (TypeExpr::Json, v @ (Value::Number(_) | Value::Bool(_))) => {
                        Value::String(v.to_string())
                    }
                    (_, v) => v,
                };
                m.insert(name.clone(), v);
            }
            Value::Object(m)
        })
        .collect();
    let mut decoder = arrow::json::ReaderBuilder::new(Arc::clone(&schema))
        .with_batch_size(values.len().max(1))
        .build_decoder()
        .map_err(|e| e.to_string())?;
    for (i, v) in values.iter().enumerate() {
        decoder
            .serialize(std::slice::from_ref(v))
            .map_err(|e| format!("row {i}: {e}"))?;
    }
    Ok(decoder
        .flush()
        .map_err(|e| e.to_string())?
        .unwrap_or_else(|| RecordBatch::new_empty(schema)))
}

/// JSON objects as one batch: columns in order of first appearance, types inferred by
/// arrow-json (nested objects become structs, lists lists).
fn rows_to_batch(rows: &[Map<String, Value>]) -> std::result::Result<RecordBatch, String> {
    if rows.is_empty() {
        return Ok(RecordBatch::new_empty(Arc::new(Schema::new(vec![
            Field::new("value", DataType::Utf8, true),
        ]))));
    }
    let values: Vec<Value> = rows.iter().cloned().map(Value::Object).collect();
    let inferred =
        arrow::json::reader::infer_json_schema_from_iterator(values.iter().map(|v| Ok(v.clone())))
            .map_err(|e| e.to_string())?;
    // keep the order the server wrote the fields in
    let mut order: Vec<String> = Vec::new();
    for r in rows {
        for k in r.keys() {
            if !order.contains(k) {
                order.push(k.clone());
            }
        }
    }
    let fields: Vec<Field> = order
        .iter()
        .filter_map(|k| inferred.field_with_name(k).ok().cloned())
        .map(|f| f.with_nullable(true))
        .collect();
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    let mut decoder = arrow::json::ReaderBuilder::new(Arc::clone(&schema))
        .with_batch_size(values.len())
        .build_decoder()
        .map_err(|e| e.to_string())?;
    decoder.serialize(&values).map_err(|e| e.to_string())?;
    Ok(decoder
        .flush()
        .map_err(|e| e.to_string())?
        .unwrap_or_else(|| RecordBatch::new_empty(schema)))
}

/// `<source>.resources`.
#[derive(Debug)]
struct McpSchema {
    server: Arc<McpServer>,
}

#[async_trait]
impl SchemaProvider for McpSchema {
    fn table_names(&self) -> Vec<String> {
        vec!["resources".into()]
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        Ok((name == "resources").then(|| {
            Arc::new(Resources {
                server: Arc::clone(&self.server),
            }) as Arc<dyn TableProvider>
        }))
    }

    fn table_exist(&self, name: &str) -> bool {
        name == "resources"
    }
}

#[derive(Debug)]
struct Resources {
    server: Arc<McpServer>,
}

fn resources_schema() -> SchemaRef {
    Arc::new(Schema::new(
        ["uri", "name", "title", "mime_type", "description", "text"]
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, *n != "uri" && *n != "name"))
            .collect::<Vec<_>>(),
    ))
}

#[async_trait]
impl TableProvider for Resources {
    fn schema(&self) -> SchemaRef {
        resources_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let external = |e: RuntimeError| DataFusionError::External(Box::new(e));
        let mut list = self.server.resources().await.map_err(external)?;
        if let Some(l) = limit {
            list.truncate(l);
        }
        let wants_text = projection.is_none_or(|p| p.contains(&5));
        let mut columns: Vec<Vec<Option<String>>> = vec![Vec::new(); 6];
        for r in &list {
            let s = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
            let uri = s("uri");
            let text = match (&uri, wants_text) {
                (Some(u), true) => {
                    let read = self.server.read_resource(u).await.map_err(external)?;
                    read.get("contents")
                        .and_then(Value::as_array)
                        .and_then(|c| c.first())
                        .and_then(|c| c.get("text"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                }
                _ => None,
            };
            for (i, v) in [
                uri,
                s("name"),
                s("title"),
                s("mimeType"),
                s("description"),
                text,
            ]
            .into_iter()
            .enumerate()
            {
                columns[i].push(v);
            }
        }
        let schema = resources_schema();
        let arrays: Vec<arrow::array::ArrayRef> = columns
            .into_iter()
            .map(|c| Arc::new(arrow::array::StringArray::from(c)) as arrow::array::ArrayRef)
            .collect();
        let batch = RecordBatch::try_new(Arc::clone(&schema), arrays)?;
        let table = MemTable::try_new(schema, vec![vec![batch]])?;
        table.scan(state, projection, &[], limit).await
    }
}

/// A call of an MCP tool in a statement: `source.tool(name => value, ...)`.
#[derive(Debug, Clone)]
pub struct ToolCall {
    pub source: String,
    pub tool: String,
    pub args: Map<String, Value>,
}

/// A SQL expression given to a tool as a JSON value: literals, negative numbers, arrays of
/// them, and tool parameters (`$name`, from `params`).
fn json_arg(
    e: &sqlparser::ast::Expr,
    params: &HashMap<String, Value>,
) -> std::result::Result<Value, String> {
    use sqlparser::ast::{Expr as E, UnaryOperator, Value as V};
    match e {
        E::Value(v) => match &v.value {
            V::Number(n, _) => serde_json::from_str::<serde_json::Number>(n)
                .map(Value::Number)
                .map_err(|_| format!("`{n}` is not a number")),
            V::SingleQuotedString(s) | V::DoubleQuotedString(s) => Ok(Value::String(s.clone())),
            V::Boolean(b) => Ok(Value::Bool(*b)),
            V::Null => Ok(Value::Null),
            V::Placeholder(p) => params
                .get(p.trim_start_matches('$'))
                .cloned()
                .ok_or_else(|| format!("no value for `{p}`")),
            other => Err(format!("`{other}` cannot be a tool argument")),
        },
        E::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match json_arg(expr, params)? {
            Value::Number(n) => serde_json::from_str::<serde_json::Number>(&format!("-{n}"))
                .map(Value::Number)
                .map_err(|e| e.to_string()),
            _ => Err("only numbers can be negative".into()),
        },
        E::Array(a) => a
            .elem
            .iter()
            .map(|x| json_arg(x, params))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map(Value::Array),
        E::Nested(inner) => json_arg(inner, params),
        other => Err(format!(
            "`{other}` cannot be a tool argument: give a literal or a parameter"
        )),
    }
}

/// Find the calls of MCP tools in a statement's FROM clauses and replace each with the name of
/// the table that will hold its result (`__mcp.call_<n>`, aliased as the tool unless the query
/// gives an alias). Returns the calls in the order of their tables.
pub fn calls_in(
    statement: &mut sqlparser::ast::Statement,
    servers: &HashMap<String, Arc<McpServer>>,
    params: &HashMap<String, Value>,
    first_id: usize,
) -> Result<Vec<(String, ToolCall)>> {
    use sqlparser::ast::{
        FunctionArg, FunctionArgExpr, Ident, ObjectName, TableAlias, TableFactor, VisitMut,
        VisitorMut,
    };
    use std::ops::ControlFlow;
    struct Finder<'a> {
        servers: &'a HashMap<String, Arc<McpServer>>,
        params: &'a HashMap<String, Value>,
        next: usize,
        out: Vec<(String, ToolCall)>,
    }
    impl VisitorMut for Finder<'_> {
        type Break = RuntimeError;
        fn pre_visit_table_factor(&mut self, t: &mut TableFactor) -> ControlFlow<RuntimeError> {
            let TableFactor::Table {
                name, args, alias, ..
            } = t
            else {
                return ControlFlow::Continue(());
            };
            let parts: Vec<String> = name
                .0
                .iter()
                .filter_map(|p| p.as_ident())
                .map(|i| i.value.clone())
                .collect();
            let [source, tool] = parts.as_slice() else {
                return ControlFlow::Continue(());
            };
            if !self.servers.contains_key(source) {
                return ControlFlow::Continue(());
            }
            let Some(fargs) = args.take() else {
                if tool == "resources" {
                    return ControlFlow::Continue(());
                }
                return ControlFlow::Break(
                    RuntimeError::new(
                        Code::QueryPlan,
                        format!("`{source}.{tool}` is an MCP tool: call it as a table function"),
                    )
                    .help(format!("write `{source}.{tool}(name => value, ...)`")),
                );
            };
            let mut call = ToolCall {
                source: source.clone(),
                tool: tool.clone(),
                args: Map::new(),
            };
            for a in &fargs.args {
                let (arg_name, expr) = match a {
                    FunctionArg::Named {
                        name,
                        arg: FunctionArgExpr::Expr(e),
                        ..
                    } => (name.value.clone(), e),
                    FunctionArg::ExprNamed {
                        name: sqlparser::ast::Expr::Identifier(name),
                        arg: FunctionArgExpr::Expr(e),
                        ..
                    } => (name.value.clone(), e),
                    other => {
                        return ControlFlow::Break(
                            RuntimeError::new(
                                Code::QueryPlan,
                                format!("{source}.{tool}: argument `{other}` has no name"),
                            )
                            .help("MCP tool arguments are named: `name => value`"),
                        )
                    }
                };
                match json_arg(expr, self.params) {
                    Ok(v) => {
                        call.args.insert(arg_name, v);
                    }
                    Err(e) => {
                        return ControlFlow::Break(RuntimeError::new(
                            Code::QueryPlan,
                            format!("{source}.{tool}: argument `{arg_name}`: {e}"),
                        ))
                    }
                }
            }
            let table = format!("call_{}", self.next);
            self.next += 1;
            *name = ObjectName::from(vec![Ident::new("__mcp"), Ident::new(&table)]);
            if alias.is_none() {
                *alias = Some(TableAlias {
                    name: Ident::new(tool.clone()),
                    columns: Vec::new(),
                    explicit: true,
                    at: None,
                });
            }
            self.out.push((table, call));
            ControlFlow::Continue(())
        }
    }
    let mut f = Finder {
        servers,
        params,
        next: first_id,
        out: Vec::new(),
    };
    match statement.visit(&mut f) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(f.out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_become_rows() {
        let structured = serde_json::json!({
            "content": [{"type": "text", "text": "{}"}],
            "structuredContent": {"temperature": 33, "conditions": "Cloudy"}
        });
        let rows = result_rows(&structured);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["temperature"], 33);
        let listed = serde_json::json!({
            "content": [{"type": "text", "text": "{\"items\": [{\"a\": 1}, {\"a\": 2}]}"}]
        });
        assert_eq!(result_rows(&listed).len(), 2);
        let plain = serde_json::json!({
            "content": [{"type": "text", "text": "hello"}, {"type": "image", "data": "xx", "mimeType": "image/png"}]
        });
        let rows = result_rows(&plain);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1]["mime_type"], "image/png");
        let b = rows_to_batch(&rows).unwrap();
        assert_eq!(b.num_rows(), 2);
        assert_eq!(b.schema().field(0).name(), "type");
    }
}
