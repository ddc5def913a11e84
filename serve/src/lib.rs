//! `widgettdc serve`: a compiled project served to AI agents over MCP and to widgets over an
//! HTTP/JSON API.
//!
//! - [`mcp`]: every read tool is an MCP tool (`inputSchema` from the typed parameters,
//!   `outputSchema` from the Arrow schema, annotations from the plan), each source's schema and
//!   each widget's data a resource; served over stdio ([`serve_stdio`]) and streamable HTTP at
//!   `/mcp` and `/mcp/<toolset>` with rmcp, which speaks the stateless `2026-07-28` revision and
//!   the `2025-11-25` initialize handshake.
//! - [`http`]: `/v1/sources`, `/v1/tools`, `/v1/tools/{name}`, `/v1/query`,
//!   `/v1/widgets/{name}` and its Server-Sent Events.
//! - [`mcp_direct`]: a plain stateless `tools/call` over HTTP answered without rmcp's
//!   per-request machinery (everything else goes to rmcp).
//! - [`results`]: results as bounded pages of JSON rows with a cursor.
//! - [`widgets`]: a widget's data, fetched concurrently; change detection for its events.
//!
//! Dependencies flow one way: this crate uses the runtime and the compiler; the CLI uses it.

pub mod codegen;
pub mod http;
pub mod mcp;
pub mod mcp_direct;
pub mod results;
pub mod widgets;

use std::sync::{Arc, RwLock};

use widgettdc_compiler::CompiledTool;
use widgettdc_runtime::Runtime;

/// Errors that stop the server from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("there is no toolset `{name}`{hint}")]
    UnknownToolset { name: String, hint: String },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("the server stopped: {0}")]
    Io(#[from] std::io::Error),
    #[error("the MCP session failed: {0}")]
    Mcp(String),
}

/// What the server may do.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Serve `POST /v1/query` (ad-hoc read-only SQL).
    pub query_enabled: bool,
    /// Serve only this toolset's tools (over stdio, and at `/mcp` over HTTP).
    pub toolset: Option<String>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            query_enabled: true,
            toolset: None,
        }
    }
}

/// The state every request shares: the loaded project (swapped whole on reload) and the
/// connected MCP sessions to tell about it.
pub struct Service {
    current: RwLock<Current>,
    pub options: ServeOptions,
    pub(crate) peers: std::sync::Mutex<Vec<rmcp::Peer<rmcp::RoleServer>>>,
    /// `subscriptions/listen` streams (2026-07-28 clients), by a private id.
    pub(crate) sinks:
        std::sync::Mutex<std::collections::HashMap<u64, rmcp::service::SubscriptionSink>>,
    pub(crate) next_sink: std::sync::atomic::AtomicU64,
}

impl Service {
    pub fn new(runtime: Runtime, options: ServeOptions) -> Result<Arc<Service>, ServeError> {
        if let Some(t) = &options.toolset {
            check_toolset(&runtime, t)?;
        }
        Ok(Arc::new(Service {
            current: RwLock::new(Current::of(runtime)),
            options,
            peers: std::sync::Mutex::new(Vec::new()),
            sinks: std::sync::Mutex::new(std::collections::HashMap::new()),
            next_sink: std::sync::atomic::AtomicU64::new(0),
        }))
    }

    /// The current project. Requests hold it while they run, so a reload never cuts one short.
    pub fn runtime(&self) -> Arc<Runtime> {
        Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .runtime,
        )
    }

    /// The current project's served tool `name` (of `toolset`, when given) as an MCP tool (made
    /// once per project: rmcp asks for it on every call, to check the request's headers against
    /// its input schema).
    pub fn mcp_tool(&self, toolset: Option<&str>, name: &str) -> Option<rmcp::model::Tool> {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        served_tool(&current.runtime, toolset, name)?;
        current.mcp_tools.get(name).cloned()
    }

    /// Every served tool (of `toolset`, when given) as an MCP tool.
    pub fn mcp_tools(&self, toolset: Option<&str>) -> Vec<rmcp::model::Tool> {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        served_tools(&current.runtime, toolset)
            .into_iter()
            .filter_map(|t| current.mcp_tools.get(&t.name).cloned())
            .collect()
    }

    /// Put a newly loaded project in place and tell MCP sessions that the tools changed.
    pub async fn reload(&self, runtime: Runtime) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Current::of(runtime);
        mcp::notify_tools_changed(self).await;
    }
}

/// The loaded project, and what is derived from it once.
struct Current {
    runtime: Arc<Runtime>,
    mcp_tools: std::collections::HashMap<String, rmcp::model::Tool>,
}

impl Current {
    fn of(runtime: Runtime) -> Current {
        let mcp_tools = served_tools(&runtime, None)
            .into_iter()
            .map(|t| (t.name.clone(), mcp::mcp_tool(&runtime, t)))
            .collect();
        Current {
            runtime: Arc::new(runtime),
            mcp_tools,
        }
    }
}

/// Fail unless the project defines `name` as a toolset.
pub fn check_toolset(rt: &Runtime, name: &str) -> Result<(), ServeError> {
    if rt.compiled.toolsets.contains_key(name) {
        return Ok(());
    }
    let names: Vec<&str> = rt.compiled.toolsets.keys().map(String::as_str).collect();
    let hint = widgettdc_compiler::diagnostic::did_you_mean(name, names.iter().copied())
        .map(|h| format!(" ({h})"))
        .unwrap_or_else(|| {
            if names.is_empty() {
                " (the project declares no `toolsets:`)".to_string()
            } else {
                format!(" (toolsets: {})", names.join(", "))
            }
        });
    Err(ServeError::UnknownToolset {
        name: name.to_string(),
        hint,
    })
}

/// The tools served: every tool that reads (write tools are not run by this version), or only
/// those of a toolset.
pub fn served_tools<'a>(rt: &'a Runtime, toolset: Option<&str>) -> Vec<&'a CompiledTool> {
    rt.compiled
        .tools
        .values()
        .filter(|t| t.read_only && in_toolset(rt, toolset, &t.name))
        .collect()
}

/// The served tool `name` (of a toolset, when given), if there is one.
pub fn served_tool<'a>(
    rt: &'a Runtime,
    toolset: Option<&str>,
    name: &str,
) -> Option<&'a CompiledTool> {
    rt.compiled
        .tools
        .get(name)
        .filter(|t| t.read_only && in_toolset(rt, toolset, name))
}

fn in_toolset(rt: &Runtime, toolset: Option<&str>, name: &str) -> bool {
    match toolset {
        None => true,
        Some(t) => rt
            .compiled
            .toolsets
            .get(t)
            .is_some_and(|names| names.iter().any(|n| n == name)),
    }
}

/// A runtime error as JSON: `{code, name, message, help}`.
pub fn error_json(e: &widgettdc_runtime::RuntimeError) -> serde_json::Value {
    serde_json::json!({
        "code": e.code.as_str(),
        "name": e.code.name(),
        "message": e.message,
        "help": e.help,
    })
}

/// Errors as one line each: `E605 parameter-type: message (help)`.
pub fn errors_text(errors: &[widgettdc_runtime::RuntimeError]) -> String {
    errors
        .iter()
        .map(|e| {
            let mut s = format!("{} {}: {}", e.code.as_str(), e.code.name(), e.message);
            if let Some(h) = &e.help {
                s.push_str(&format!(" (help: {h})"));
            }
            s
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Serve MCP over stdin/stdout until the client closes it.
pub async fn serve_stdio(service: Arc<Service>) -> Result<(), ServeError> {
    use rmcp::ServiceExt;
    let toolset = service.options.toolset.clone();
    let handler = mcp::McpHandler::new(service, toolset);
    let running = handler
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| ServeError::Mcp(e.to_string()))?;
    running
        .waiting()
        .await
        .map_err(|e| ServeError::Mcp(e.to_string()))?;
    Ok(())
}
