//! The HTTP server: the widget data API under `/v1` and MCP over streamable HTTP at `/mcp`.
//!
//! | route | what |
//! |---|---|
//! | `GET /v1/sources` | every source: kind, health (`ok`/`down`/`declared`), probe latency, last error, tables |
//! | `GET /v1/tools` | the served tools: parameters (JSON Schema) and columns |
//! | `POST /v1/tools/{name}` | run a tool with a JSON object of arguments (`cursor` for the next page): `{columns, rows, truncated, next_cursor}`; `Accept: application/vnd.apache.arrow.stream` streams the whole result as Arrow IPC |
//! | `POST /v1/query` | `{sql, params, cursor}`: ad-hoc read-only SQL over every source (off with `--no-query`) |
//! | `GET /v1/widgets`, `GET /v1/widgets/{name}` | a widget's data, every piece fetched concurrently |
//! | `GET /v1/widgets/{name}/events` | Server-Sent Events: the data now, then again whenever a `refresh` elapses and it changed; `Last-Event-ID` skips data the client already has |
//! | `/mcp`, `/mcp/{toolset}` | MCP (rmcp's streamable HTTP service; `2026-07-28` and `2025-11-25`; a plain stateless tool call is answered by [`mcp_direct`], as rmcp would answer it) |
//!
//! Errors are JSON, `{"error": {code, name, message, help}}`, with a status that says whose
//! fault it is: 400 bad request or SQL, 404 unknown tool or widget, 422 bad arguments, 502 a
//! source failed, 500 a bug.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use datafusion::common::ParamValues;
use datafusion::scalar::ScalarValue;
use futures::StreamExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;
use widgettdc_compiler::Code;
use widgettdc_runtime::RuntimeError;

use crate::mcp::McpHandler;
use crate::mcp_direct;
use crate::results::{self, Limits};
use crate::{served_tool, served_tools, Service};

pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

type McpService = StreamableHttpService<McpHandler, LocalSessionManager>;

/// What every handler shares, behind one `Arc`: axum clones a handler's state for each request,
/// and cloning rmcp's service (its config, cancellation token and boxed factory) every time cost
/// about 5% of a tool call.
#[derive(Clone)]
struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

struct Shared {
    service: Arc<Service>,
    cancel: CancellationToken,
    /// rmcp's service for `/mcp`.
    root: McpService,
    toolsets: Mutex<HashMap<String, McpService>>,
    /// The hosts MCP requests may name (rmcp's DNS-rebinding allowlist, which the direct path
    /// follows too).
    allowed_hosts: mcp_direct::AllowedHosts,
}

fn mcp_config(cancel: &CancellationToken) -> StreamableHttpServerConfig {
    StreamableHttpServerConfig::default()
        .with_json_response(true)
        .with_cancellation_token(cancel.child_token())
}

fn mcp_service(
    service: Arc<Service>,
    toolset: Option<String>,
    cancel: &CancellationToken,
) -> McpService {
    let config = mcp_config(cancel);
    StreamableHttpService::new(
        move || Ok(McpHandler::new(Arc::clone(&service), toolset.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    )
}

/// The router (also for tests that drive it in-process).
pub fn router(service: Arc<Service>, cancel: CancellationToken) -> Router {
    let (_, router) = app(service, cancel);
    router
}

/// What [`serve`] answers with: the router, except that `POST /mcp`, the request an agent sends
/// again and again, goes straight to its handler. The router would match its path, clone and box
/// the route's service, and wrap its future twice, about 4% of a direct tool call; the handler
/// is the same either way (the MCP tests go through this, the in-process ones through the
/// router).
#[derive(Clone)]
struct Front {
    state: AppState,
    router: Router,
}

impl tower_service::Service<axum::extract::Request> for Front {
    type Response = Response;
    type Error = Infallible;
    type Future = futures::future::BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        tower_service::Service::<axum::extract::Request>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, req: axum::extract::Request) -> Self::Future {
        if req.method() == axum::http::Method::POST && req.uri().path() == "/mcp" {
            let state = self.state.clone();
            return Box::pin(async move { Ok(root_mcp(State(state), req).await) });
        }
        Box::pin(tower_service::Service::call(&mut self.router, req))
    }
}

fn app(service: Arc<Service>, cancel: CancellationToken) -> (AppState, Router) {
    let root = mcp_service(
        Arc::clone(&service),
        service.options.toolset.clone(),
        &cancel,
    );
    let allowed_hosts = mcp_direct::AllowedHosts::new(&mcp_config(&cancel).allowed_hosts);
    let state = AppState(Arc::new(Shared {
        service,
        cancel,
        root,
        toolsets: Mutex::new(HashMap::new()),
        allowed_hosts,
    }));
    let router = Router::new()
        .route("/v1/sources", get(sources))
        .route("/v1/tools", get(list_tools))
        .route("/v1/tools/{name}", post(call_tool))
        .route("/v1/query", post(query))
        .route("/v1/widgets", get(list_widgets))
        .route("/v1/widgets/{name}", get(widget))
        .route("/v1/widgets/{name}/events", get(widget_events))
        .route("/mcp", any(root_mcp))
        .route("/mcp/{toolset}", any(toolset_mcp))
        .fallback(not_found)
        .with_state(state.clone());
    (state, router)
}

/// Serve until `cancel` is cancelled; requests in flight finish first.
pub async fn serve(
    service: Arc<Service>,
    listener: tokio::net::TcpListener,
    cancel: CancellationToken,
) -> Result<(), crate::ServeError> {
    use axum::serve::ListenerExt;
    use axum::ServiceExt;
    let (state, router) = app(service, cancel.clone());
    let front = Front { state, router };
    // answers (and each Server-Sent Event) go out as soon as they are written, not held back
    // for the acknowledgement of the previous one
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, front.into_make_service())
        .with_graceful_shutdown(async move { cancel.cancelled_owned().await })
        .await?;
    Ok(())
}

fn error_status(e: &RuntimeError) -> StatusCode {
    if e.internal {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    match e.code {
        Code::ToolNotFound => StatusCode::NOT_FOUND,
        Code::ParameterType
        | Code::ParameterConstraint
        | Code::ParameterMissing
        | Code::ParameterUnknown => StatusCode::UNPROCESSABLE_ENTITY,
        Code::QueryPlan | Code::QueryNotReadOnly | Code::ApiFilterRequired => {
            StatusCode::BAD_REQUEST
        }
        Code::SourceUnavailable | Code::SourceRead => StatusCode::BAD_GATEWAY,
        Code::ProjectInvalid => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn errors_response(errors: &[RuntimeError]) -> Response {
    let status = errors
        .first()
        .map(error_status)
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        Json(json!({
            "error": errors.first().map(crate::error_json),
            "errors": errors.iter().map(crate::error_json).collect::<Vec<_>>(),
        })),
    )
        .into_response()
}

fn bad_request(message: String, help: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": {"code": "bad-request", "message": message, "help": help}})),
    )
        .into_response()
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": {"code": "not-found", "message": "no such endpoint", "help": "see /v1/sources, /v1/tools, /v1/widgets, /v1/query and /mcp"}})),
    )
        .into_response()
}

/// A JSON object body (an empty body is `{}`).
#[allow(clippy::result_large_err)]
fn object_body(body: &Bytes) -> Result<Map<String, Value>, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(bad_request(
            format!("the body must be a JSON object, not {}", kind(&other)),
            "send the arguments as {\"name\": value, ...}",
        )),
        Err(e) => Err(bad_request(
            format!("the body is not valid JSON: {e}"),
            "send the arguments as {\"name\": value, ...}",
        )),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wants_arrow(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains(ARROW_STREAM))
}

async fn sources(State(s): State<AppState>) -> Response {
    let rt = s.service.runtime();
    Json(rt.discover().await).into_response()
}

async fn list_tools(State(s): State<AppState>) -> Response {
    let rt = s.service.runtime();
    let tools: Vec<Value> = served_tools(&rt, None)
        .into_iter()
        .map(|t| {
            json!({
                "name": t.name,
                "description": t.description,
                "parameters": t.input_schema(),
                "columns": t.output.as_ref().map(results::columns),
                "max_rows": Limits::of(t).max_rows,
            })
        })
        .collect();
    Json(json!({"tools": tools})).into_response()
}

async fn call_tool(
    State(s): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let args = match object_body(&body) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let rt = s.service.runtime();
    let Some(tool) = served_tool(&rt, None, &name) else {
        return errors_response(&[rt.tool(&name).err().unwrap_or_else(|| {
            RuntimeError::new(
                Code::ToolNotFound,
                format!("tool `{name}` is not served: it writes, or it is a built-in tool"),
            )
            .help("`GET /v1/tools` lists the tools served")
        })]);
    };
    if wants_arrow(&headers) {
        let mut args = args;
        args.remove(crate::mcp::CURSOR);
        return match rt.tool_stream(&name, &args).await {
            Ok(stream) => arrow_response(stream, s.cancel.clone()).await,
            Err(errors) => errors_response(&errors),
        };
    }
    match crate::mcp::call(&rt, tool, args).await {
        Ok(page) => Json(page).into_response(),
        Err(errors) => errors_response(&errors),
    }
}

/// Stream a result as Arrow IPC, a batch at a time; a client that goes away stops the query.
async fn arrow_response(
    mut stream: datafusion::execution::SendableRecordBatchStream,
    cancel: CancellationToken,
) -> Response {
    let schema = stream.schema();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        let mut w = match arrow::ipc::writer::StreamWriter::try_new(Vec::new(), &schema) {
            Ok(w) => w,
            Err(e) => {
                let _ = tx.send(Err(std::io::Error::other(e))).await;
                return;
            }
        };
        loop {
            let bytes = std::mem::take(w.get_mut());
            if !bytes.is_empty() && tx.send(Ok(Bytes::from(bytes))).await.is_err() {
                return; // the client left: dropping the stream cancels the query
            }
            let next = tokio::select! {
                _ = cancel.cancelled() => return,
                n = stream.next() => n,
            };
            match next {
                Some(Ok(batch)) => {
                    if let Err(e) = w.write(&batch) {
                        let _ = tx.send(Err(std::io::Error::other(e))).await;
                        return;
                    }
                }
                Some(Err(e)) => {
                    let _ = tx.send(Err(std::io::Error::other(e))).await;
                    return;
                }
                None => break,
            }
        }
        if w.finish().is_ok() {
            let bytes = std::mem::take(w.get_mut());
            let _ = tx.send(Ok(Bytes::from(bytes))).await;
        }
    });
    let body = Body::from_stream(tokio_stream(rx));
    Response::builder()
        .header(header::CONTENT_TYPE, ARROW_STREAM)
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn tokio_stream<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> + Send + 'static {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// A JSON value as a SQL parameter value.
fn param_value(name: &str, v: &Value) -> Result<ScalarValue, RuntimeError> {
    Ok(match v {
        Value::Null => ScalarValue::Null,
        Value::Bool(b) => ScalarValue::Boolean(Some(*b)),
        Value::Number(n) if n.is_i64() => ScalarValue::Int64(n.as_i64()),
        Value::Number(n) => ScalarValue::Float64(n.as_f64()),
        Value::String(s) => ScalarValue::Utf8(Some(s.clone())),
        other => {
            return Err(RuntimeError::new(
                Code::ParameterType,
                format!(
                    "parameter `{name}` is {}: give a string, number, boolean or null",
                    kind(other)
                ),
            ))
        }
    })
}

async fn query(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if !s.service.options.query_enabled {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"error": {"code": "query-disabled", "message": "ad-hoc SQL is switched off on this server", "help": "call a tool (`/v1/tools`), or start the server without --no-query"}})),
        )
            .into_response();
    }
    let mut req = match object_body(&body) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(Value::String(sql)) = req.remove("sql") else {
        return bad_request(
            "the body needs `sql`, a string".into(),
            "send {\"sql\": \"SELECT ...\", \"params\": {\"name\": value}}",
        );
    };
    let params = match req.remove("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p,
        Some(other) => {
            return bad_request(
                format!("`params` must be an object, not {}", kind(&other)),
                "send {\"params\": {\"name\": value}} for `$name` in the SQL",
            )
        }
    };
    let offset = match results::take_offset(&mut req, crate::mcp::CURSOR) {
        Ok(o) => o,
        Err(e) => return bad_request(e, "pass `next_cursor` unchanged"),
    };
    if let Some(k) = req.keys().next() {
        return bad_request(
            format!("unknown key `{k}` in the body"),
            "the body has `sql`, `params` and `cursor`",
        );
    }
    let rt = s.service.runtime();
    let mut values = HashMap::new();
    for (k, v) in &params {
        match param_value(k, v) {
            Ok(x) => {
                values.insert(k.clone(), x.into());
            }
            Err(e) => return errors_response(&[e]),
        }
    }
    let df = match rt.query(&sql).await {
        Ok(df) => df,
        Err(e) => return errors_response(&[e]),
    };
    let df = if values.is_empty() {
        df
    } else {
        match df.with_param_values(ParamValues::Map(values)) {
            Ok(df) => df,
            Err(e) => return errors_response(&[RuntimeError::from_datafusion(e, Code::QueryPlan)]),
        }
    };
    let stream = match df.execute_stream().await {
        Ok(stream) => stream,
        Err(e) => {
            return errors_response(&[RuntimeError::from_datafusion(e, Code::QueryExecution)])
        }
    };
    if wants_arrow(&headers) {
        return arrow_response(stream, s.cancel.clone()).await;
    }
    let limits = Limits {
        max_rows: results::DEFAULT_MAX_ROWS,
        max_bytes: results::DEFAULT_MAX_BYTES,
    };
    match results::page_of(stream, offset, limits).await {
        Ok(page) => Json(page).into_response(),
        Err(e) => errors_response(&[e]),
    }
}

async fn list_widgets(State(s): State<AppState>) -> Response {
    let rt = s.service.runtime();
    let widgets: Vec<Value> = rt
        .compiled
        .widgets
        .values()
        .map(|w| {
            json!({
                "name": w.name,
                "title": w.title,
                "data": w.data.iter().map(|(k, d)| (k.clone(), json!({
                    "tool": d.tool,
                    "params": d.params,
                    "refresh_ms": d.refresh.map(|r| r.as_millis() as u64),
                    "channel": d.channel,
                }))).collect::<Map<String, Value>>(),
            })
        })
        .collect();
    Json(json!({"widgets": widgets})).into_response()
}

fn unknown_widget(rt: &widgettdc_runtime::Runtime, name: &str) -> Response {
    let names: Vec<&str> = rt.compiled.widgets.keys().map(String::as_str).collect();
    let help = widgettdc_compiler::diagnostic::did_you_mean(name, names.iter().copied())
        .unwrap_or_else(|| format!("widgets: {}", names.join(", ")));
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": {"code": "widget-not-found", "message": format!("there is no widget `{name}`"), "help": help}})),
    )
        .into_response()
}

async fn widget(State(s): State<AppState>, Path(name): Path<String>) -> Response {
    let rt = s.service.runtime();
    let Some(w) = rt.compiled.widgets.get(&name) else {
        return unknown_widget(&rt, &name);
    };
    Json(crate::widgets::data(&rt, w).await).into_response()
}

/// How often a widget's events re-fetch: its shortest `refresh` (none: the data once).
fn refresh_of(w: &widgettdc_compiler::plan::CompiledWidget) -> Option<Duration> {
    w.data
        .values()
        .filter_map(|d| d.refresh)
        .min()
        .map(|d| d.max(Duration::from_millis(100)))
}

async fn widget_events(
    State(s): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let rt = s.service.runtime();
    if !rt.compiled.widgets.contains_key(&name) {
        return unknown_widget(&rt, &name);
    }
    let last_seen = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // widget data with a Postgres `channel:` are fetched again when it is notified
    let (wake_tx, wake_rx) = tokio::sync::mpsc::channel::<()>(16);
    let mut listen_errors = Vec::new();
    if let Some(w) = rt.compiled.widgets.get(&name) {
        for d in w.data.values() {
            let Some(channel) = &d.channel else { continue };
            let source = rt.tool(&d.tool).ok().and_then(|t| {
                t.sources
                    .iter()
                    .find(|s| {
                        rt.project
                            .sources
                            .get(*s)
                            .is_some_and(|c| c.value.kind() == "postgres")
                    })
                    .cloned()
            });
            let Some(source) = source else {
                listen_errors.push(RuntimeError::new(
                    Code::SourceUnavailable,
                    format!("widget `{name}`: tool `{}` reads no postgres source, so channel `{channel}` is never notified", d.tool),
                ));
                continue;
            };
            match rt.listen(&source, channel).await {
                Ok(mut rx) => {
                    let wake = wake_tx.clone();
                    tokio::spawn(async move {
                        while rx.recv().await.is_some() {
                            // a full queue already holds a wake-up
                            let _ = wake.try_send(());
                            if wake.is_closed() {
                                break;
                            }
                        }
                    });
                }
                Err(e) => listen_errors.push(e),
            }
        }
    }
    drop(wake_tx);
    struct St {
        service: Arc<Service>,
        name: String,
        last: Option<String>,
        first: bool,
        cancel: CancellationToken,
        wake: tokio::sync::mpsc::Receiver<()>,
        wake_open: bool,
        errors: Vec<RuntimeError>,
    }
    let st = St {
        service: Arc::clone(&s.service),
        name,
        last: last_seen,
        first: true,
        cancel: s.cancel.clone(),
        wake: wake_rx,
        wake_open: true,
        errors: listen_errors,
    };
    let events = futures::stream::unfold(st, |mut st| async move {
        if let Some(e) = st.errors.pop() {
            let event = Event::default()
                .event("error")
                .json_data(json!({"error": crate::error_json(&e)}))
                .unwrap_or_else(|_| Event::default().event("error"));
            return Some((Ok::<_, Infallible>(event), st));
        }
        loop {
            let rt = st.service.runtime();
            let w = rt.compiled.widgets.get(&st.name)?.clone();
            if !st.first {
                let refresh = refresh_of(&w);
                let sleep = async {
                    match refresh {
                        Some(d) => tokio::time::sleep(d).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = st.cancel.cancelled() => return None,
                    _ = sleep => {}
                    woke = st.wake.recv(), if st.wake_open => {
                        if woke.is_none() {
                            st.wake_open = false;
                            if refresh.is_none() {
                                // no refresh and no channel left: the data will not be fetched again
                                st.cancel.cancelled().await;
                                return None;
                            }
                            continue;
                        }
                        // several notifications at once: one fetch
                        while st.wake.try_recv().is_ok() {}
                    }
                }
            }
            st.first = false;
            let data = crate::widgets::data(&rt, &w).await;
            let version = crate::widgets::version(&data);
            if st.last.as_deref() == Some(version.as_str()) {
                continue;
            }
            st.last = Some(version.clone());
            let event = Event::default()
                .event("data")
                .id(version)
                .json_data(&data)
                .unwrap_or_else(|_| Event::default().event("error"));
            return Some((Ok::<_, Infallible>(event), st));
        }
    });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

async fn toolset_mcp(
    State(s): State<AppState>,
    Path(toolset): Path<String>,
    req: axum::extract::Request,
) -> Response {
    let rt = s.service.runtime();
    if let Err(e) = crate::check_toolset(&rt, &toolset) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": {"code": "toolset-not-found", "message": e.to_string()}})),
        )
            .into_response();
    }
    let req = match mcp_direct::try_call(&s.service, Some(&toolset), &s.allowed_hosts, req).await {
        mcp_direct::Outcome::Answered(r) => return r,
        mcp_direct::Outcome::Delegate(req) => req,
    };
    let svc = {
        let mut map = s.toolsets.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(toolset.clone())
            .or_insert_with(|| mcp_service(Arc::clone(&s.service), Some(toolset), &s.cancel))
            .clone()
    };
    Box::pin(svc.handle(req)).await.into_response()
}

/// `/mcp`: a plain stateless tool call is answered directly ([`mcp_direct`]), the rest by rmcp.
async fn root_mcp(State(s): State<AppState>, req: axum::extract::Request) -> Response {
    let toolset = s.service.options.toolset.as_deref();
    match mcp_direct::try_call(&s.service, toolset, &s.allowed_hosts, req).await {
        mcp_direct::Outcome::Answered(r) => r,
        // (boxed: rmcp's future is large, and every direct call's future would carry it)
        mcp_direct::Outcome::Delegate(req) => Box::pin(s.root.handle(req)).await.into_response(),
    }
}
