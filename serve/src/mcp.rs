//! The MCP server: tools, resources and change notifications, over rmcp's `ServerHandler`.
//!
//! - Tools: each served tool, with `inputSchema` from its typed parameters (plus `cursor`, the
//!   paging argument), `outputSchema` from its Arrow schema when it is known offline, and
//!   `readOnlyHint`/`destructiveHint`/`idempotentHint`/`openWorldHint` derived from the
//!   compiled plan (what the statement does and which kinds of sources it reads).
//! - A call returns a page of rows as `structuredContent` (`rows`, `columns`, `truncated`,
//!   `next_cursor`) and a text table. Invalid arguments and source failures are tool errors
//!   (`isError`, naming the parameter and the rule, or the source), never protocol errors; an
//!   unknown tool is `invalid_params`.
//! - Resources: `widgettdc://sources/<name>` (a source's kind and tables with their columns)
//!   and `widgettdc://widgets/<name>` (the widget's data, fetched when read).

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, NumberOrString,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult,
    Resource, ResourceContents, ServerCapabilities, ServerConfig, ServerJsonRpcMessage,
    ServerResult, Tool, ToolAnnotations,
};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{json, Map, Value};
use widgettdc_compiler::CompiledTool;
use widgettdc_runtime::{Runtime, RuntimeError};

use crate::results::{self, Limits};
use crate::{served_tool, served_tools, Service};

/// The argument that asks for the page after a truncated one (`check` refuses a tool parameter
/// of this name: E309, `compiler/src/checks/reserved_parameter.rs`).
pub const CURSOR: &str = "cursor";

const SOURCE_PREFIX: &str = "widgettdc://sources/";
const WIDGET_PREFIX: &str = "widgettdc://widgets/";

/// One MCP session's view of the service (all tools, or one toolset's).
#[derive(Clone)]
pub struct McpHandler {
    service: Arc<Service>,
    toolset: Option<String>,
}

impl McpHandler {
    pub fn new(service: Arc<Service>, toolset: Option<String>) -> Self {
        McpHandler { service, toolset }
    }

    fn find<'a>(&self, rt: &'a Runtime, name: &str) -> Option<&'a CompiledTool> {
        served_tool(rt, self.toolset.as_deref(), name)
    }
}

/// The kinds of sources a tool reads.
fn source_kinds(rt: &Runtime, tool: &CompiledTool) -> Vec<&'static str> {
    tool.sources
        .iter()
        .filter_map(|s| rt.project.sources.get(s))
        .map(|s| s.value.kind())
        .collect()
}

/// A compiled tool as an MCP tool.
pub fn mcp_tool(rt: &Runtime, tool: &CompiledTool) -> Tool {
    let mut input = match tool.input_schema() {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    if let Some(Value::Object(props)) = input.get_mut("properties") {
        props.insert(
            CURSOR.into(),
            json!({"type": "string", "description": "The `next_cursor` of a truncated result: fetches the rows after it."}),
        );
    }
    let description = tool
        .description
        .clone()
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| format!("Runs the SQL tool `{}`.", tool.name));
    let mut t = Tool::new(tool.name.clone(), description, input);
    if let Some(out) = &tool.output {
        if let Value::Object(schema) = results::page_schema(out) {
            t = t.with_raw_output_schema(Arc::new(schema));
        }
    }
    // derived, not declared: a read tool changes nothing (and so can be repeated); it reaches
    // outside the project's own data when it reads an API or an MCP server
    let open_world = source_kinds(rt, tool)
        .iter()
        .any(|k| matches!(*k, "rest" | "graphql" | "mcp"));
    t.with_annotations(
        ToolAnnotations::new()
            .read_only(tool.read_only)
            .destructive(!tool.read_only)
            .idempotent(tool.read_only)
            .open_world(open_world),
    )
}

/// A page as a tool result: structured, with a text table.
fn page_result(page: &results::Page) -> CallToolResult {
    let value = serde_json::to_value(page).unwrap_or(Value::Null);
    let text = results::page_text(page);
    // (not `CallToolResult::structured`, which would write the value out as text first, only for
    // the table to replace it)
    let mut r = CallToolResult::success(vec![ContentBlock::text(text)]);
    r.structured_content = Some(value);
    r
}

/// An error as a tool result: text only (structured content would have to fit the tool's
/// `outputSchema`, which describes rows).
fn error_result(errors: &[RuntimeError]) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(crate::errors_text(errors))])
}

/// Run a call: arguments checked and bound by the runtime, a page of the result back.
pub async fn call(
    rt: &Runtime,
    tool: &CompiledTool,
    mut args: Map<String, Value>,
) -> Result<results::Page, Vec<RuntimeError>> {
    let offset = results::take_offset(&mut args, CURSOR).map_err(|e| {
        vec![RuntimeError::new(widgettdc_compiler::Code::ParameterType, e).help(
            "pass the `next_cursor` of the previous result unchanged, or leave it out for the first rows",
        )]
    })?;
    results::tool_page(rt, &tool.name, &args, offset, Limits::of(tool)).await
}

/// Run a call and turn its page, or its errors, into a tool result.
pub(crate) async fn call_result(
    rt: &Runtime,
    tool: &CompiledTool,
    args: Map<String, Value>,
) -> CallToolResult {
    match call(rt, tool, args).await {
        Ok(page) => page_result(&page),
        Err(errors) => error_result(&errors),
    }
}

/// The JSON-RPC answer (revision `2026-07-28`) to a call with `id`, written for the direct path
/// (`mcp_direct`): the bytes rmcp writes for [`call_result`]'s result, except that a page's
/// structured rows go out as they came from Arrow instead of through a `serde_json::Value` (the
/// same JSON values, without parsing them into a tree and writing it out again; a number keeps
/// its digits, such as a decimal's trailing zeros, as in the HTTP API).
pub(crate) async fn call_answer(
    rt: &Runtime,
    tool: &CompiledTool,
    args: Map<String, Value>,
    id: NumberOrString,
) -> serde_json::Result<Vec<u8>> {
    match call(rt, tool, args).await {
        Ok(page) => page_answer(&page, &id),
        Err(errors) => serde_json::to_vec(&ServerJsonRpcMessage::response(
            ServerResult::from(CallToolResponse::from(error_result(&errors))),
            id,
        )),
    }
}

/// A page as a JSON-RPC answer, field for field as rmcp writes a [`page_result`] (the tests
/// compare the two).
fn page_answer(page: &results::Page, id: &NumberOrString) -> serde_json::Result<Vec<u8>> {
    let text = results::page_text(page);
    let rows_len: usize = page.rows.iter().map(|r| r.get().len() + 1).sum();
    let mut out = Vec::with_capacity(256 + 2 * text.len() + rows_len);
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    serde_json::to_writer(&mut out, id)?;
    out.extend_from_slice(
        br#","result":{"resultType":"complete","content":[{"type":"text","text":"#,
    );
    serde_json::to_writer(&mut out, &text)?;
    out.extend_from_slice(br#"}],"structuredContent":"#);
    serde_json::to_writer(&mut out, page)?;
    out.extend_from_slice(br#","isError":false}}"#);
    Ok(out)
}

/// A source's schema as JSON (the resource `widgettdc://sources/<name>`).
pub fn source_json(rt: &Runtime, name: &str) -> Option<Value> {
    let src = rt.project.sources.get(name)?;
    let tables: Map<String, Value> = rt
        .catalog
        .sources
        .get(name)
        .map(|c| {
            c.tables
                .iter()
                .map(|((schema, table), t)| {
                    let key = match schema {
                        Some(s) => format!("{s}.{table}"),
                        None => table.clone(),
                    };
                    (
                        key,
                        Value::Array(
                            t.schema
                                .fields()
                                .iter()
                                .map(|f| json!({"name": f.name(), "type": results::type_name(f.data_type()), "nullable": f.is_nullable()}))
                                .collect(),
                        ),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Some(json!({
        "name": name,
        "kind": src.value.kind(),
        "description": src.value.description(),
        "tables": tables,
    }))
}

/// Tell every connected session (2025-11-25 handshake) and every `subscriptions/listen` stream
/// (2026-07-28) that the tools changed.
pub async fn notify_tools_changed(service: &Service) {
    let sinks: Vec<rmcp::service::SubscriptionSink> = service
        .sinks
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .cloned()
        .collect();
    for s in sinks {
        let _ = s.notify_tool_list_changed().await;
    }
    let peers: Vec<rmcp::Peer<RoleServer>> =
        std::mem::take(&mut *service.peers.lock().unwrap_or_else(|e| e.into_inner()));
    let mut alive = Vec::new();
    for p in peers {
        if !p.is_transport_closed() && p.notify_tool_list_changed().await.is_ok() {
            alive.push(p);
        }
    }
    service
        .peers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend(alive);
}

impl ServerHandler for McpHandler {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new("widgettdc", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "SQL tools over the project's data sources. Results are pages of rows; when `truncated` is true, call the tool again with `cursor` set to `next_cursor`.",
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(
            self.service.mcp_tools(self.toolset.as_deref()),
        ))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.service.mcp_tool(self.toolset.as_deref(), name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let rt = self.service.runtime();
        let Some(tool) = self.find(&rt, &request.name) else {
            let names: Vec<String> = served_tools(&rt, self.toolset.as_deref())
                .iter()
                .map(|t| t.name.clone())
                .collect();
            let hint = widgettdc_compiler::diagnostic::did_you_mean(
                &request.name,
                names.iter().map(String::as_str),
            )
            .map(|h| format!(" ({h})"))
            .unwrap_or_default();
            return Err(ErrorData::invalid_params(
                format!("there is no tool `{}`{hint}", request.name),
                Some(json!({"tools": names})),
            ));
        };
        let args = request.arguments.unwrap_or_default();
        tokio::select! {
            _ = context.ct.cancelled() => Err(ErrorData::internal_error("the call was cancelled", None)),
            r = call_result(&rt, tool, args) => Ok(r.into()),
        }
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let rt = self.service.runtime();
        let mut out: Vec<Resource> = Vec::new();
        for (name, src) in rt.project.sources.iter() {
            let mut r = Resource::new(format!("{SOURCE_PREFIX}{name}"), format!("source {name}"))
                .with_mime_type("application/json");
            r = r.with_description(src.value.description().map(str::to_string).unwrap_or_else(
                || {
                    format!(
                        "The {} source `{name}`: its tables and columns.",
                        src.value.kind()
                    )
                },
            ));
            out.push(r);
        }
        for (name, w) in &rt.compiled.widgets {
            let r = Resource::new(format!("{WIDGET_PREFIX}{name}"), format!("widget {name}"))
                .with_mime_type("application/json")
                .with_description(
                    w.title
                        .clone()
                        .unwrap_or_else(|| format!("The data of widget `{name}`.")),
                );
            out.push(r);
        }
        Ok(ListResourcesResult::with_all_items(out))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(Vec::new()))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let rt = self.service.runtime();
        let uri = request.uri.clone();
        let body = if let Some(name) = uri.strip_prefix(SOURCE_PREFIX) {
            source_json(&rt, name)
        } else if let Some(name) = uri.strip_prefix(WIDGET_PREFIX) {
            match rt.compiled.widgets.get(name) {
                Some(w) => Some(crate::widgets::data(&rt, w).await),
                None => None,
            }
        } else {
            None
        };
        match body {
            Some(v) => Ok(ReadResourceResult::new(vec![ResourceContents::text(
                serde_json::to_string_pretty(&v).unwrap_or_default(),
                uri,
            )
            .with_mime_type("application/json")])
            .into()),
            None => Err(ErrorData::resource_not_found(
                format!("there is no resource `{uri}`"),
                Some(json!({"uri": uri})),
            )),
        }
    }

    fn accepted_subscription_filter(
        &self,
        requested: &rmcp::model::SubscriptionFilter,
    ) -> Option<rmcp::model::SubscriptionFilter> {
        Some(requested.supported_by(&self.get_info().capabilities))
    }

    async fn listen(&self, context: rmcp::service::SubscriptionContext) -> Result<(), ErrorData> {
        let id = self
            .service
            .next_sink
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.service
            .sinks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, context.sink().clone());
        context.cancelled().await;
        self.service
            .sinks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        Ok(())
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        self.service
            .peers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(context.peer.clone());
    }
}
