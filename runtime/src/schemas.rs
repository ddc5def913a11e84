//! Schemas of local sources, read for the compiler: a file or SQLite source without declared
//! columns or a lock entry is typed offline from the file itself (`check` and `compile` do this;
//! nothing leaves the machine). A source that cannot be read gets an `E503` warning, and its
//! tools stay untyped (`E501`), as for a remote source.

use std::path::Path;

use datafusion::execution::runtime_env::RuntimeEnv;
use widgettdc_compiler::catalog::{Catalog, ExternalSchemas};
use widgettdc_compiler::lock::Locked;
use widgettdc_compiler::spec::sources::SourceConfig;
use widgettdc_compiler::{Code, Diagnostic, Project};

use crate::sources::{self, LazyTable, Registration, SourceCx};

/// Read the schemas of local sources whose tables are not declared or locked.
///
/// Reading a file's schema is async (object_store), and runs on a runtime made for it. A thread
/// that already runs async tasks cannot block on another runtime (tokio panics: a project loaded
/// from inside an async function, as the runtime benchmark's loop does), so there the
/// read runs on a thread of its own, which this one waits for.
pub fn read_local(project: &Project) -> (ExternalSchemas, Vec<Diagnostic>) {
    if tokio::runtime::Handle::try_current().is_err() {
        return read_local_here(project);
    }
    std::thread::scope(|s| match s.spawn(|| read_local_here(project)).join() {
        Ok(out) => out,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

fn read_local_here(project: &Project) -> (ExternalSchemas, Vec<Diagnostic>) {
    let mut out = ExternalSchemas::new();
    let mut diags = Vec::new();
    let catalog = Catalog::build(project, &ExternalSchemas::new());
    let wanted: Vec<_> = project
        .sources
        .iter()
        .filter(|(name, src)| {
            let local = match &src.value {
                SourceConfig::Sqlite(_) => true,
                SourceConfig::File(f) => {
                    let p = f.path.value.to_ascii_lowercase();
                    !(p.starts_with("s3://")
                        || p.starts_with("http://")
                        || p.starts_with("https://"))
                }
                _ => false,
            };
            local
                && catalog
                    .sources
                    .get(*name)
                    .is_some_and(|c| c.tables.is_empty())
        })
        .collect();
    if wanted.is_empty() {
        return (out, diags);
    }
    let Ok(exec) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return (out, diags);
    };
    let env = std::sync::Arc::new(RuntimeEnv::default());
    let config = crate::engine::session_config(&crate::Options::default());
    for (name, src) in wanted {
        let file = project.file(&src.key_span);
        let base_dir = file
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| project.dir.clone());
        let cx = SourceCx {
            name,
            config: &src.value,
            base_dir: base_dir.clone(),
            catalog: None,
            session_config: config.clone(),
            env: std::sync::Arc::clone(&env),
        };
        let read = match &src.value {
            SourceConfig::Sqlite(s) => crate::sources::sqlite::open(
                name,
                base_dir.join(&s.path.value),
                s.path.value.clone(),
                std::time::Duration::from_secs(1),
                None,
            )
            .map(|db| db.tables.into_iter().collect()),
            _ => match sources::register(&cx) {
                Ok(Registration::Table(t)) => exec
                    .block_on(LazyTable::open(t.as_ref()))
                    .map(|p| [(name.clone(), p.schema())].into_iter().collect()),
                Ok(_) => continue,
                Err(e) => Err(e),
            },
        };
        match read {
            Ok(tables) => {
                out.tables.insert(name.clone(), tables);
            }
            Err(e) => diags.push(
                Diagnostic::warning(
                    Code::SchemaRead,
                    src.key_span.clone(),
                    format!("cannot read the schema of source `{name}`: {}", e.message),
                )
                .label("schema not read")
                .help("check `path:`, or declare the columns (tables for a database) in the spec or schema.lock.yaml"),
            ),
        }
    }
    (out, diags)
}

/// `schema pull`: every table of every source the runtime can open, with its live schema, as
/// lock-file columns, and every tool and resource template of every MCP server with its
/// signature. The runtime must be loaded with `Options::ignore_lock`. Sources that fail are
/// reported and left out (the caller keeps their old entries).
pub async fn pull(rt: &crate::Runtime) -> (Locked, Vec<(String, crate::RuntimeError)>) {
    use widgettdc_compiler::types::from_arrow;
    let mut out = Locked::default();
    let mut errors = Vec::new();
    let ctx = rt.context();
    for (name, src) in rt.project.sources.iter() {
        if let SourceConfig::Mcp(_) = &src.value {
            if let Some(server) = rt.mcp_server(name) {
                match server.signatures().await {
                    Ok(tools) => {
                        out.tools.insert(name.clone(), tools);
                    }
                    Err(e) => errors.push((name.clone(), e)),
                }
            }
            continue;
        }
        // (schema key prefix, schema provider) pairs to read
        let mut schemas: Vec<(
            Option<String>,
            std::sync::Arc<dyn datafusion::catalog::SchemaProvider>,
        )> = Vec::new();
        let mut only: Option<String> = None;
        match &src.value {
            // declared columns are the schema: nothing to lock
            SourceConfig::File(f) if f.columns.is_some() => continue,
            SourceConfig::File(_) => {
                if let Some(s) = ctx.catalog("datafusion").and_then(|c| c.schema("public")) {
                    schemas.push((None, s));
                    only = Some(name.clone());
                }
            }
            SourceConfig::Sqlite(_) | SourceConfig::Postgres(_) | SourceConfig::Mysql(_) => {
                if let Some(s) = ctx.catalog("datafusion").and_then(|c| c.schema(name)) {
                    schemas.push((None, s));
                }
                // other Postgres schemas the spec names (`tables: { sales.orders: ... }`, or a
                // tool's `crm.sales.orders`)
                if let (SourceConfig::Postgres(p), Some(cat)) = (&src.value, ctx.catalog(name)) {
                    let mut others: Vec<String> = p
                        .tables
                        .0
                        .keys()
                        .filter_map(|k| k.split_once('.').map(|(s, _)| s.to_string()))
                        .chain(schemas_named_by_tools(rt, name))
                        .collect();
                    others.sort();
                    others.dedup();
                    for o in others {
                        if let Some(s) = cat.schema(&o) {
                            schemas.push((Some(o), s));
                        }
                    }
                }
            }
            _ => continue,
        }
        let mut tables = std::collections::BTreeMap::new();
        let mut failed = false;
        for (prefix, schema) in schemas {
            let names = match &only {
                Some(t) => vec![t.clone()],
                None => match live_table_names(&schema).await {
                    Ok(n) => n,
                    Err(e) => {
                        errors.push((name.clone(), e));
                        failed = true;
                        continue;
                    }
                },
            };
            for t in names {
                let provider = match schema.table(&t).await {
                    Ok(Some(p)) => p,
                    Ok(None) => continue,
                    Err(e) => {
                        errors.push((
                            name.clone(),
                            crate::RuntimeError::from_datafusion(e, Code::SchemaRead),
                        ));
                        failed = true;
                        continue;
                    }
                };
                let mut cols = Vec::new();
                for f in provider.schema().fields() {
                    match from_arrow(f.data_type()) {
                        Some(ty) => cols.push((f.name().clone(), ty.to_string(), f.is_nullable())),
                        None => errors.push((
                            name.clone(),
                            crate::RuntimeError::new(
                                Code::SchemaRead,
                                format!(
                                    "source `{name}`, table `{t}`: column `{}` has type {} which the spec language has no type for",
                                    f.name(),
                                    f.data_type()
                                ),
                            )
                            .help("the column is left out of the lock file; cast it in a view to use it"),
                        )),
                    }
                }
                let key = match &prefix {
                    Some(p) => format!("{p}.{t}"),
                    None => t,
                };
                tables.insert(key, cols);
            }
        }
        if !failed || !tables.is_empty() {
            out.tables.insert(name.clone(), tables);
        }
    }
    (out, errors)
}

/// The schemas of database `source` that tools name (`<source>.<schema>.<table>`).
fn schemas_named_by_tools(rt: &crate::Runtime, source: &str) -> Vec<String> {
    let mut out = Vec::new();
    for tool in rt.compiled.tools.values() {
        let Some(statement) = &tool.statement else {
            continue;
        };
        let _ = sqlparser::ast::visit_relations(statement, |name| {
            let parts: Vec<String> = name
                .0
                .iter()
                .filter_map(|p| p.as_ident())
                .map(widgettdc_compiler::sql::placeholders::normalize)
                .collect();
            if let [s, schema, _] = parts.as_slice() {
                if s == source {
                    out.push(schema.clone());
                }
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
    }
    out
}

/// A schema's tables, with the error when the source cannot be listed (`table_names` cannot
/// fail, so it falls back to the declared names).
async fn live_table_names(
    schema: &std::sync::Arc<dyn datafusion::catalog::SchemaProvider>,
) -> Result<Vec<String>, crate::RuntimeError> {
    if let Some(db) = schema.downcast_ref::<crate::sources::database::DatabaseSchema>() {
        return db.list().await;
    }
    if let Some(sqlite) = schema.downcast_ref::<crate::sources::sqlite::SqliteSchema>() {
        return Ok(sqlite.db()?.tables.keys().cloned().collect());
    }
    Ok(schema.table_names())
}

/// The lock file's entries as data (to keep the entries of sources a pull could not read).
pub fn locked(lock: &widgettdc_compiler::lock::LockFile) -> Locked {
    let tools = lock
        .sources
        .0
        .iter()
        .filter(|(_, l)| !l.value.tools.0.is_empty())
        .map(|(src, l)| {
            let tools = l
                .value
                .tools
                .iter()
                .map(|(t, decl)| (t.clone(), decl.signature()))
                .collect();
            (src.clone(), tools)
        })
        .collect();
    let tables = lock
        .sources
        .0
        .iter()
        .filter(|(_, l)| !l.value.tables.0.is_empty() || l.value.tools.0.is_empty())
        .map(|(src, l)| {
            let tables = l
                .value
                .tables
                .0
                .iter()
                .map(|(t, decl)| {
                    let cols = decl
                        .value
                        .columns
                        .0
                        .iter()
                        .map(|(c, col)| {
                            (
                                c.clone(),
                                col.value.ty.value.0.to_string(),
                                col.value.nullable,
                            )
                        })
                        .collect();
                    (t.clone(), cols)
                })
                .collect();
            (src.clone(), tables)
        })
        .collect();
    Locked { tables, tools }
}

/// `check --live`: where `schema.lock.yaml` and the live schemas differ, as `E504` warnings at
/// the lock file's entries. Only sources that were read (`live`) are compared.
pub fn drift(project: &Project, live: &Locked) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let Some(lock) = &project.lock else {
        return out;
    };
    let warn = |span: &widgettdc_compiler::source::Span, msg: String, label: &str| {
        Diagnostic::warning(Code::SchemaDrift, span.clone(), msg)
            .label(label.to_string())
            .help("run `widgettdc schema pull` to update schema.lock.yaml, and check the tools that use it")
    };
    for (src, locked) in lock.sources.0.iter() {
        if let Some(live_tools) = live.tools.get(src) {
            tool_drift(src, locked, live_tools, &warn, &mut out);
        }
        let Some(live_tables) = live.tables.get(src) else {
            continue;
        };
        for (table, decl) in locked.value.tables.0.iter() {
            let Some(live_cols) = live_tables.get(table) else {
                out.push(warn(
                    &decl.key_span,
                    format!("table `{table}` of source `{src}` is locked but the source no longer has it"),
                    "not in the live source",
                ));
                continue;
            };
            for (col, c) in decl.value.columns.0.iter() {
                match live_cols.iter().find(|(n, _, _)| n == col) {
                    None => out.push(warn(
                        &c.key_span,
                        format!("column `{col}` of `{src}.{table}` is locked but the live table has no such column"),
                        "not in the live table",
                    )),
                    Some((_, ty, nullable)) => {
                        let locked_ty = c.value.ty.value.0.to_string();
                        if *ty != locked_ty {
                            out.push(warn(
                                &c.value.ty.span,
                                format!("column `{col}` of `{src}.{table}` is locked as {locked_ty} but is {ty} in the live table"),
                                "the live type differs",
                            ));
                        } else if *nullable != c.value.nullable {
                            out.push(warn(
                                &c.key_span,
                                format!(
                                    "column `{col}` of `{src}.{table}` is locked as {} but is {} in the live table",
                                    if c.value.nullable { "nullable" } else { "not null" },
                                    if *nullable { "nullable" } else { "not null" }
                                ),
                                "nullability differs",
                            ));
                        }
                    }
                }
            }
            for (col, ty, _) in live_cols {
                if !decl.value.columns.0.contains_key(col) {
                    out.push(warn(
                        &decl.key_span,
                        format!("the live table `{src}.{table}` has a column `{col}` ({ty}) that the lock file lacks"),
                        "a live column is missing here",
                    ));
                }
            }
        }
        for table in live_tables.keys() {
            if !locked.value.tables.0.contains_key(table) {
                out.push(warn(
                    &locked.key_span,
                    format!("source `{src}` has a table `{table}` that the lock file lacks"),
                    "a live table is missing here",
                ));
            }
        }
    }
    out
}

/// Where the locked tools of an MCP source differ from the live server's.
fn tool_drift(
    src: &str,
    locked: &widgettdc_compiler::decode::Keyed<widgettdc_compiler::lock::LockSource>,
    live: &std::collections::BTreeMap<String, widgettdc_compiler::mcp::ToolSignature>,
    warn: &dyn Fn(&widgettdc_compiler::source::Span, String, &str) -> Diagnostic,
    out: &mut Vec<Diagnostic>,
) {
    for (tool, decl) in locked.value.tools.0.iter() {
        let Some(sig) = live.get(tool) else {
            out.push(warn(
                &decl.key_span,
                format!(
                    "tool `{tool}` of MCP server `{src}` is locked but the server no longer has it"
                ),
                "not on the live server",
            ));
            continue;
        };
        let locked_sig = decl.value.signature();
        if locked_sig.arguments != sig.arguments {
            let show = |s: &widgettdc_compiler::mcp::ToolSignature| {
                s.arguments
                    .iter()
                    .map(|a| {
                        format!(
                            "{}{}: {}",
                            a.name,
                            if a.required { "" } else { "?" },
                            a.json_type
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            out.push(warn(
                &decl.key_span,
                format!(
                    "the arguments of `{src}.{tool}` changed: locked ({}), live ({})",
                    show(&locked_sig),
                    show(sig)
                ),
                "arguments differ",
            ));
        }
        if locked_sig.columns != sig.columns {
            let show = |c: &Option<Vec<(String, widgettdc_grammar::TypeExpr)>>| match c {
                None => "not declared".to_string(),
                Some(c) => c
                    .iter()
                    .map(|(n, t)| format!("{n}: {t}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            out.push(warn(
                &decl.key_span,
                format!(
                    "the result columns of `{src}.{tool}` changed: locked ({}), live ({})",
                    show(&locked_sig.columns),
                    show(&sig.columns)
                ),
                "columns differ",
            ));
        }
    }
    for tool in live.keys() {
        if !locked.value.tools.0.contains_key(tool) {
            out.push(warn(
                &locked.key_span,
                format!("MCP server `{src}` has a tool `{tool}` that the lock file lacks"),
                "a live tool is missing here",
            ));
        }
    }
}

/// Live columns and tools as schemas for the compiler.
pub fn external(live: &Locked) -> ExternalSchemas {
    use std::sync::Arc;
    let tables = live
        .tables
        .iter()
        .map(|(src, tables)| {
            let tables = tables
                .iter()
                .map(|(t, cols)| {
                    let fields: Vec<arrow::datatypes::Field> = cols
                        .iter()
                        .filter_map(|(n, ty, nullable)| {
                            let ty = widgettdc_grammar::parse_type(ty).ok()?;
                            Some(arrow::datatypes::Field::new(
                                n,
                                widgettdc_compiler::types::to_arrow(&ty),
                                *nullable,
                            ))
                        })
                        .collect();
                    (t.clone(), Arc::new(arrow::datatypes::Schema::new(fields)))
                })
                .collect();
            (src.clone(), tables)
        })
        .collect();
    ExternalSchemas {
        tables,
        tools: live.tools.clone(),
    }
}
