//! `discover`: every source with its kind, health (a cheap probe, its latency, the error if
//! any), its tables, and for MCP servers their tools (with arguments) and resources.
//!
//! Probes: a file table is opened (its format read); a database or SQLite source is asked for a
//! table that does not exist, which lists its tables (one round trip); an MCP server lists its
//! tools and resources. REST and GraphQL tables are declared and fetched per query, so they are
//! not probed (health `declared`).

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use crate::engine::Runtime;

#[derive(Debug, Clone, Serialize)]
pub struct SourceInfo {
    pub name: String,
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// ok | degraded (the probe answered, but slowly or after a recent failure of a query) |
    /// down | declared (an API: nothing to probe)
    pub health: &'static str,
    /// How long the probe took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The last failure of a query that read this source (while serving), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<LastError>,
    /// SQL names of its tables.
    pub tables: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolInfo>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
}

/// An MCP tool as a table function.
#[derive(Debug, Clone, Serialize)]
pub struct ToolInfo {
    /// `src.tool(arg => type, ...)`
    pub call: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LastError {
    /// RFC 3339, UTC.
    pub at: String,
    pub message: String,
}

const PROBE_TIMEOUT: Duration = Duration::from_secs(15);
/// A probe slower than this makes a source `degraded`.
const SLOW_PROBE: Duration = Duration::from_secs(1);
/// A failure this recent makes a source that answers its probe `degraded`.
const RECENT_FAILURE: Duration = Duration::from_secs(300);

impl Runtime {
    /// Describe and probe every source (concurrently bounded by the probe timeout each).
    pub async fn discover(&self) -> Vec<SourceInfo> {
        let mut out = Vec::new();
        for (name, src) in self.project.sources.iter() {
            let kind = src.value.kind();
            let mut info = SourceInfo {
                name: name.clone(),
                kind,
                description: src.value.description().map(str::to_string),
                health: "ok",
                latency_ms: None,
                error: None,
                last_error: None,
                tables: Vec::new(),
                tools: Vec::new(),
                resources: Vec::new(),
            };
            let started = Instant::now();
            let probed =
                tokio::time::timeout(PROBE_TIMEOUT, self.probe(name, kind, &mut info)).await;
            match probed {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    info.health = "down";
                    info.error = Some(e);
                }
                Err(_) => {
                    info.health = "down";
                    info.error = Some(format!("no answer within {PROBE_TIMEOUT:?}"));
                }
            }
            let took = started.elapsed();
            if info.health != "declared" {
                info.latency_ms = Some((took.as_secs_f64() * 1e4).round() / 10.0);
            }
            if let Some((at, message)) = self.last_failure(name) {
                let recent = at.elapsed().map(|d| d < RECENT_FAILURE).unwrap_or(true);
                if recent && matches!(info.health, "ok" | "declared") {
                    info.health = "degraded";
                }
                info.last_error = Some(LastError {
                    at: chrono::DateTime::<chrono::Utc>::from(at).to_rfc3339(),
                    message,
                });
            }
            if info.health == "ok" && took > SLOW_PROBE {
                info.health = "degraded";
            }
            out.push(info);
        }
        out
    }

    async fn probe(&self, name: &str, kind: &str, info: &mut SourceInfo) -> Result<(), String> {
        let catalog = self
            .context()
            .catalog("datafusion")
            .ok_or("no default catalog")?;
        match kind {
            "file" => {
                info.tables = vec![name.to_string()];
                let public = catalog.schema("public").ok_or("no default schema")?;
                public.table(name).await.map_err(message)?;
            }
            "mcp" => {
                let server = self.mcp_server(name).ok_or("not registered")?;
                info.tables = vec![format!("{name}.resources")];
                let tools = server.tools().await.map_err(|e| e.message)?;
                info.tools = tools
                    .iter()
                    .map(|t| {
                        let schema = Value::Object(t.input_schema.as_ref().clone());
                        let required: Vec<&str> = schema["required"]
                            .as_array()
                            .map(|r| r.iter().filter_map(Value::as_str).collect())
                            .unwrap_or_default();
                        let args: Vec<String> = schema["properties"]
                            .as_object()
                            .map(|p| {
                                p.iter()
                                    .map(|(k, v)| {
                                        let ty = v["type"].as_str().unwrap_or("value");
                                        let opt = if required.contains(&k.as_str()) {
                                            ""
                                        } else {
                                            "?"
                                        };
                                        format!("{k}{opt} => {ty}")
                                    })
                                    .collect()
                            })
                            .unwrap_or_default();
                        let tool = if t
                            .name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_')
                        {
                            t.name.to_string()
                        } else {
                            format!("\"{}\"", t.name)
                        };
                        ToolInfo {
                            call: format!("{name}.{tool}({})", args.join(", ")),
                            description: t.description.as_ref().map(|d| d.to_string()),
                        }
                    })
                    .collect();
                for t in server.resource_templates().await.map_err(|e| e.message)? {
                    let template = t["uriTemplate"].as_str().unwrap_or_default();
                    let vars: Vec<String> = template
                        .split('{')
                        .skip(1)
                        .filter_map(|p| p.split_once('}').map(|(v, _)| format!("{v} => string")))
                        .collect();
                    info.tools.push(ToolInfo {
                        call: format!(
                            "{name}.\"{}\"({})",
                            t["name"].as_str().unwrap_or_default(),
                            vars.join(", ")
                        ),
                        description: Some(format!("reads the resource {template}")),
                    });
                }
                info.resources = server
                    .resources()
                    .await
                    .map_err(|e| e.message)?
                    .iter()
                    .filter_map(|r| r["uri"].as_str().map(str::to_string))
                    .collect();
            }
            _ => {
                let schema = catalog.schema(name).ok_or("not registered")?;
                if matches!(kind, "rest" | "graphql") {
                    info.health = "declared";
                } else {
                    // asking for a table that is not there lists the tables: one round trip
                    schema.table("__widgettdc_probe__").await.map_err(message)?;
                }
                info.tables = schema
                    .table_names()
                    .into_iter()
                    .map(|t| format!("{name}.{t}"))
                    .collect();
            }
        }
        Ok(())
    }
}

fn message(e: datafusion::error::DataFusionError) -> String {
    crate::error::RuntimeError::from_datafusion(e, widgettdc_compiler::Code::SourceUnavailable)
        .message
}
