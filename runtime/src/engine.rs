//! The runtime: a compiled project, and a DataFusion session whose catalog holds every source.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use datafusion::common::metadata::ScalarAndMetadata;
use datafusion::common::ParamValues;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::SessionStateBuilder;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{DataFrame, SQLOptions, SessionConfig, SessionContext};
use datafusion::sql::parser::{DFParserBuilder, Statement as DFStatement};
use serde_json::{Map, Value};
use sqlparser::dialect::GenericDialect;
use widgettdc_compiler::catalog::{Catalog, ExternalSchemas};
use widgettdc_compiler::diagnostic::Diagnostics;
use widgettdc_compiler::plan::CompiledTool;
use widgettdc_compiler::sql::{statement_kind, StatementKind};
use widgettdc_compiler::{
    compile, project, Code, CompiledProject, Diagnostic, Env, LoadError, Project,
};

use crate::direct;
use crate::error::{Result, RuntimeError};
use crate::params;
use crate::sources::{self, DefaultSchema, Registration, SourceCx};

/// Settings of a runtime.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Rows per record batch (DataFusion's default when unset).
    pub batch_size: Option<usize>,
    /// Worker threads of DataFusion's partitions (the machine's cores when unset).
    pub target_partitions: Option<usize>,
    /// Read every source's live schema, ignoring `schema.lock.yaml` (for `schema pull`).
    pub ignore_lock: bool,
}

/// A loaded project, ready to run queries. Sources open on first use.
pub struct Runtime {
    pub project: Project,
    pub compiled: CompiledProject,
    /// The schemas the project was compiled against (declared, locked, read from local files).
    pub catalog: Catalog,
    /// What `check` would report (sorted). Tools cannot run while there are errors.
    pub diagnostics: Vec<Diagnostic>,
    ctx: SessionContext,
    /// MCP sources by name: their tools are called before a statement is planned.
    mcp: HashMap<String, Arc<sources::mcp::McpServer>>,
    /// The schema holding MCP tool results while a statement is planned.
    mcp_results: Arc<datafusion::catalog::MemorySchemaProvider>,
    next_call: std::sync::atomic::AtomicUsize,
    /// The last failure seen per source (for `discover`'s health), with when it happened.
    failures: std::sync::Mutex<HashMap<String, (std::time::SystemTime, String)>>,
    /// Planned tool statements (before parameter values are bound), by tool and statement
    /// text, kept [`PLAN_TTL`]: a tool called again skips SQL planning.
    plans: std::sync::Mutex<HashMap<(String, String), Arc<Planned>>>,
    /// The context direct statements run in (made once: making one copies the session's
    /// function registries).
    task: Arc<datafusion::execution::TaskContext>,
}

/// How long a planned tool statement is reused (as long as the table providers it holds are).
const PLAN_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// The DataFusion configuration: the compiler's planner settings, plus the runtime's.
pub fn session_config(options: &Options) -> SessionConfig {
    session_config_with(options, &BTreeMap::new()).expect("no settings from the environment")
}

/// [`session_config`], with DataFusion's settings taken from environment variables named as
/// DataFusion and datafusion-cli name them (`datafusion.execution.batch_size` is
/// `DATAFUSION_EXECUTION_BATCH_SIZE`): they apply over widgettdc's own choices and under the
/// explicit [`Options`], so a setting can be tuned for a machine, or measured, without a rebuild.
/// An invalid value is an error naming the variable.
pub fn session_config_with(
    options: &Options,
    vars: &BTreeMap<String, String>,
) -> std::result::Result<SessionConfig, String> {
    let mut o = widgettdc_compiler::sql::provider::config_options();
    o.catalog.information_schema = true;
    o.catalog.default_catalog = "datafusion".into();
    o.catalog.default_schema = "public".into();
    // a join tells a scan on its probe side the keys it can match: a SQLite table gets them as
    // `key IN (...)` (see `sources::sqlite::dynamic`), which its indexes serve. DataFusion's
    // default stops at 150 keys per partition (then only a min/max range is learnt).
    o.optimizer.hash_join_inlist_pushdown_max_distinct_values = 2_000;
    for entry in o.entries() {
        let name = entry.key.to_uppercase().replace('.', "_");
        if let Some(value) = vars.get(&name) {
            o.set(&entry.key, value)
                .map_err(|e| format!("environment variable {name}={value:?}: {e}"))?;
        }
    }
    let mut config = SessionConfig::from(o);
    if let Some(b) = options.batch_size {
        config = config.with_batch_size(b.max(1));
    }
    if let Some(p) = options.target_partitions {
        config = config.with_target_partitions(p.max(1));
    }
    Ok(config)
}

/// A session with the stdlib's functions and no sources.
pub fn session(config: SessionConfig, env: Arc<RuntimeEnv>) -> SessionContext {
    // datafusion-federation: a sub-plan over one database runs there as one statement
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(env)
        .with_optimizer_rules(crate::federation::optimizer_rules())
        .with_query_planner(Arc::new(crate::shared_subplans::Planner))
        .with_default_features()
        // after DataFusion's rules: a Parquet scan with a join's run-time filter reads a file
        // with a row filter when that filter keeps few of its rows
        .with_physical_optimizer_rule(Arc::new(
            crate::sources::parquet_row_filter::RowFilterWhenSelective,
        ))
        // last: the copies of a shared sub-plan share what the first computes
        .with_physical_optimizer_rule(Arc::new(crate::shared_subplans::LinkShared))
        .build();
    let ctx = SessionContext::new_with_state(state);
    for f in widgettdc_stdlib::scalar_functions() {
        ctx.register_udf(f.as_ref().clone());
    }
    ctx
}

/// Options for SQL that must not change anything.
pub fn read_only() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

impl Runtime {
    /// Load and compile the project in `dir`, and register its sources (nothing is opened).
    pub fn load(dir: &Path, env: &Env, options: &Options) -> Result<Runtime, LoadError> {
        let mut diags = Diagnostics::default();
        let mut project = project::load(dir, env, &mut diags)?;
        if options.ignore_lock {
            project.lock = None;
        }
        // local files and SQLite databases without declared or locked columns are typed from
        // the files, as `check` does (warnings about unreadable ones are `check`'s to show)
        let external = if options.ignore_lock {
            ExternalSchemas::new()
        } else {
            crate::schemas::read_local(&project).0
        };
        let functions = crate::functions();
        let compiled = compile::compile(&project, &external, &functions, &mut diags);
        let catalog = Catalog::build(&project, &external);
        let config = session_config_with(options, &env.vars).map_err(|e| {
            LoadError::Io(
                dir.to_path_buf(),
                std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
            )
        })?;
        let rt_env =
            Arc::new(RuntimeEnvBuilder::new().build().map_err(|e| {
                LoadError::Io(dir.to_path_buf(), std::io::Error::other(e.to_string()))
            })?);
        let ctx = session(config.clone(), Arc::clone(&rt_env));
        let mut default_schema = DefaultSchema::default();
        let df_catalog = ctx.catalog("datafusion").ok_or_else(|| {
            LoadError::Io(
                dir.to_path_buf(),
                std::io::Error::other("internal error: no default catalog"),
            )
        })?;
        let mut mcp = HashMap::new();
        let mcp_results = Arc::new(datafusion::catalog::MemorySchemaProvider::new());
        let _ = df_catalog.register_schema(
            "__mcp",
            Arc::clone(&mcp_results) as Arc<dyn datafusion::catalog::SchemaProvider>,
        );
        for (name, src) in project.sources.iter() {
            let file = project.file(&src.key_span);
            let base_dir = file
                .path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| dir.to_path_buf());
            let cx = SourceCx {
                name,
                config: &src.value,
                base_dir,
                catalog: catalog.sources.get(name),
                session_config: config.clone(),
                env: Arc::clone(&rt_env),
            };
            match sources::register(&cx) {
                Ok(Registration::Table(t)) => default_schema.add(name, t),
                Ok(Registration::Server { provider, server }) => {
                    let _ = df_catalog.register_schema(name, provider);
                    mcp.insert(name.clone(), server);
                }
                Ok(Registration::Schema { provider, catalog }) => {
                    let _ = df_catalog.register_schema(name, provider);
                    if let Some(catalog) = catalog {
                        ctx.register_catalog(name, catalog);
                    }
                }
                Err(e) => diags.push(Diagnostic::error(
                    e.code,
                    src.key_span.clone(),
                    format!("source `{name}`: {}", e.message),
                )),
            }
        }
        let _ = df_catalog.register_schema("public", Arc::new(default_schema));
        Ok(Runtime {
            project,
            compiled,
            catalog,
            diagnostics: diags.into_sorted(),
            mcp,
            mcp_results,
            next_call: std::sync::atomic::AtomicUsize::new(0),
            failures: std::sync::Mutex::new(HashMap::new()),
            plans: std::sync::Mutex::new(HashMap::new()),
            task: ctx.task_ctx(),
            ctx,
        })
    }

    /// Remember that running `tool` failed because of a source: the source the error names, or
    /// the tool's only source. Argument and planning errors are not the source's.
    pub fn record_failure(&self, tool: &CompiledTool, e: &RuntimeError) {
        if !matches!(
            e.code,
            Code::SourceUnavailable | Code::SourceRead | Code::QueryExecution
        ) || e.internal
        {
            return;
        }
        let named = tool
            .sources
            .iter()
            .find(|s| e.message.contains(&format!("`{s}`")));
        let source = match (named, tool.sources.as_slice()) {
            (Some(s), _) => s.clone(),
            (None, [only]) => only.clone(),
            _ => return,
        };
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(source, (std::time::SystemTime::now(), e.message.clone()));
    }

    /// The last failure recorded for a source.
    pub fn last_failure(&self, source: &str) -> Option<(std::time::SystemTime, String)> {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(source)
            .cloned()
    }

    /// Notifications on a Postgres source's `LISTEN` channel (a widget's `channel:`).
    pub async fn listen(
        &self,
        source: &str,
        channel: &str,
    ) -> Result<tokio::sync::mpsc::Receiver<String>> {
        let schema = self
            .ctx
            .catalog("datafusion")
            .and_then(|c| c.schema(source))
            .ok_or_else(|| {
                RuntimeError::new(
                    Code::SourceUnavailable,
                    format!("there is no source `{source}`"),
                )
            })?;
        match schema.downcast_ref::<crate::sources::database::DatabaseSchema>() {
            Some(db) => db.listen(channel).await,
            None => Err(RuntimeError::new(
                Code::SourceUnavailable,
                format!(
                    "source `{source}` is not a postgres source: it has no LISTEN/NOTIFY channels"
                ),
            )
            .help("remove `channel:` from the widget data, or use `refresh:`")),
        }
    }

    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The MCP server behind source `name`, if it is one.
    pub fn mcp_server(&self, name: &str) -> Option<&Arc<sources::mcp::McpServer>> {
        self.mcp.get(name)
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Plan ad-hoc, read-only SQL over every source.
    pub async fn query(&self, sql: &str) -> Result<DataFrame> {
        let dialect = GenericDialect {};
        let mut statements = DFParserBuilder::new(sql)
            .with_dialect(&dialect)
            .build()
            .and_then(|mut p| p.parse_statements())
            .map_err(|e| RuntimeError::from_datafusion(e, Code::QueryPlan))?;
        if statements.len() != 1 {
            return Err(RuntimeError::new(
                Code::QueryPlan,
                format!("expected one SQL statement, found {}", statements.len()),
            )
            .help("run one statement at a time"));
        }
        let statement = statements.pop_front().expect("one statement");
        if let DFStatement::Statement(s) = &statement {
            if statement_kind(s) == StatementKind::Write {
                return Err(read_only_error());
            }
        } else if !matches!(statement, DFStatement::Explain(_)) {
            return Err(read_only_error());
        }
        let mut statement = statement;
        let calls = match &mut statement {
            DFStatement::Statement(s) => self.call_mcp_tools(s, &HashMap::new()).await?,
            _ => Vec::new(),
        };
        let state = self.ctx.state();
        let planned = state.statement_to_plan(statement).await;
        self.forget_mcp_results(&calls);
        let plan = planned.map_err(|e| self.plan_error(e))?;
        read_only()
            .verify_plan(&plan)
            .map_err(|_| read_only_error())?;
        self.ctx
            .execute_logical_plan(plan)
            .await
            .map_err(|e| RuntimeError::from_datafusion(e, Code::QueryPlan))
    }

    /// Call the MCP tools a statement names (`src.tool(name => value)`) and put their results
    /// where the calls were; returns the result tables, to drop once the statement is planned
    /// (the plan holds them).
    async fn call_mcp_tools(
        &self,
        statement: &mut sqlparser::ast::Statement,
        params: &HashMap<String, Value>,
    ) -> Result<Vec<String>> {
        if self.mcp.is_empty() {
            return Ok(Vec::new());
        }
        let first = self
            .next_call
            .fetch_add(1000, std::sync::atomic::Ordering::Relaxed);
        let calls = sources::mcp::calls_in(statement, &self.mcp, params, first)?;
        let mut registered = Vec::new();
        for (table, call) in calls {
            let result = async {
                let server = &self.mcp[&call.source];
                let is_tool = server.tools().await?.iter().any(|t| t.name == call.tool);
                let batch = match is_tool {
                    true => None,
                    // not a tool: a resource template of that name?
                    false => server.read_template(&call.tool, &call.args).await?,
                };
                let batch = match batch {
                    Some(b) => b,
                    None => {
                        server.check_arguments(&call.tool, &call.args).await?;
                        let value = server.call(&call.tool, call.args.clone()).await?;
                        server.result_table(&call.tool, &value).await?
                    }
                };
                datafusion::datasource::MemTable::try_new(batch.schema(), vec![vec![batch]])
                    .map_err(RuntimeError::internal)
            }
            .await;
            match result {
                Ok(t) => {
                    let _ = datafusion::catalog::SchemaProvider::register_table(
                        self.mcp_results.as_ref(),
                        table.clone(),
                        Arc::new(t),
                    );
                    registered.push(table);
                }
                Err(e) => {
                    self.forget_mcp_results(&registered);
                    return Err(e);
                }
            }
        }
        Ok(registered)
    }

    fn forget_mcp_results(&self, tables: &[String]) {
        for t in tables {
            let _ =
                datafusion::catalog::SchemaProvider::deregister_table(self.mcp_results.as_ref(), t);
        }
    }

    /// A planning error; an unknown table gets the known names as help.
    fn plan_error(&self, e: datafusion::error::DataFusionError) -> RuntimeError {
        let mut r = RuntimeError::from_datafusion(e, Code::QueryPlan);
        if r.code != Code::QueryPlan {
            return r;
        }
        let missing = r
            .message
            .strip_prefix("table '")
            .and_then(|m| m.strip_suffix("' not found"))
            .map(|t| {
                t.trim_start_matches("datafusion.")
                    .trim_start_matches("public.")
                    .to_string()
            });
        if let Some(t) = missing {
            let names = self.table_names();
            r.message = format!("there is no table `{t}`");
            r.help = Some(
                widgettdc_compiler::diagnostic::did_you_mean(&t, names.iter().map(String::as_str))
                    .unwrap_or_else(|| format!("tables: {}", names.join(", "))),
            );
        }
        r
    }

    /// Every table's SQL name (opening database sources to list theirs).
    pub fn table_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(cat) = self.ctx.catalog("datafusion") {
            for schema in cat.schema_names() {
                if schema == "information_schema" {
                    continue;
                }
                if let Some(s) = cat.schema(&schema) {
                    for t in s.table_names() {
                        out.push(if schema == "public" {
                            t
                        } else {
                            format!("{schema}.{t}")
                        });
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// The compiled tool called `name` (a built-in tool `<source>.<tool>` too).
    pub fn tool(&self, name: &str) -> Result<Cow<'_, CompiledTool>> {
        if let Some(t) = self.compiled.tools.get(name) {
            return Ok(Cow::Borrowed(t));
        }
        if let Some(t) = widgettdc_compiler::builtins::builtin_tool(&self.project, name) {
            return Ok(Cow::Owned(t));
        }
        let names: Vec<&str> = self.compiled.tools.keys().map(String::as_str).collect();
        let help = widgettdc_compiler::diagnostic::did_you_mean(name, names.iter().copied())
            .unwrap_or_else(|| {
                if names.is_empty() {
                    "the project defines no tools".to_string()
                } else {
                    format!("tools: {}", names.join(", "))
                }
            });
        Err(RuntimeError::new(Code::ToolNotFound, format!("there is no tool `{name}`")).help(help))
    }

    /// Validate and bind a tool's arguments, and find its planned statement (planned now, or
    /// reused): the plan with placeholders, and the values to bind.
    async fn prepare(
        &self,
        name: &str,
        args: &Map<String, Value>,
    ) -> Result<(Arc<Planned>, HashMap<String, ScalarAndMetadata>), Vec<RuntimeError>> {
        let tool = self.tool(name).map_err(|e| vec![e])?;
        if self.has_errors() {
            let n = self.diagnostics.iter().filter(|d| d.is_error()).count();
            return Err(vec![RuntimeError::new(
                Code::ProjectInvalid,
                format!(
                    "the project has {n} error{}, so tool `{name}` cannot run",
                    if n == 1 { "" } else { "s" }
                ),
            )
            .help("run `widgettdc check` and fix them")]);
        }
        if !tool.read_only {
            return Err(vec![RuntimeError::new(
                Code::QueryNotReadOnly,
                format!("tool `{name}` writes (`mode: write`); this version of widgettdc opens sources read-only"),
            )
            .help("run write tools against the database directly for now")]);
        }
        let tool = tool.as_ref();
        let bound = params::bind(tool, args)?;
        // the statement (with its optional predicates dropped, lists expanded) is the same for
        // every call of the same shape: that identifies the plan
        let key = (name.to_string(), bound.shape());
        let cached = self
            .plans
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .filter(|p| p.at.elapsed() < PLAN_TTL)
            .map(Arc::clone);
        let planned = match cached {
            Some(p) => p,
            // (boxed: planning's future is large, and every call's future would carry it)
            None => Box::pin(self.plan_fresh(tool, &bound, key)).await?,
        };
        let values =
            params::cast_to_inferred(bound.values, &planned.inferred, tool).map_err(|e| vec![e])?;
        let values = values
            .into_iter()
            .map(|(k, v)| (k, ScalarAndMetadata::from(v)))
            .collect();
        Ok((planned, values))
    }

    /// Plan a tool's statement for arguments of `bound`'s shape (a cache miss of
    /// [`Runtime::prepare`]), and keep the plan under `key` unless it holds MCP results.
    async fn plan_fresh(
        &self,
        tool: &CompiledTool,
        bound: &params::Bound,
        key: (String, String),
    ) -> Result<Arc<Planned>, Vec<RuntimeError>> {
        let mut statement = bound.statement(tool).map_err(|e| vec![e])?;
        let json_values: HashMap<String, Value> = bound
            .values
            .iter()
            .map(|(k, v)| (k.clone(), crate::sources::rest::scalar_json(v)))
            .collect();
        let calls = self
            .call_mcp_tools(&mut statement, &json_values)
            .await
            .map_err(|e| vec![e])?;
        let state = self.ctx.state();
        let planned = state
            .statement_to_plan(DFStatement::Statement(Box::new(statement)))
            .await;
        self.forget_mcp_results(&calls);
        let plan = planned.map_err(|e| vec![tool_error(tool, e)])?;
        let inferred = Arc::new(
            plan.get_parameter_types()
                .map_err(|e| vec![tool_error(tool, e)])?,
        );
        // a plan holding MCP results is for this call only
        let direct = match calls.is_empty() {
            true => direct::prepare(&state, &plan)
                .await
                .map(|d| Arc::new(self.to_postgres(d))),
            false => None,
        };
        let planned = Arc::new(Planned {
            at: std::time::Instant::now(),
            plan,
            inferred,
            direct,
        });
        if calls.is_empty() {
            let mut plans = self.plans.lock().unwrap_or_else(|p| p.into_inner());
            plans.retain(|_, p| p.at.elapsed() < PLAN_TTL);
            plans.insert(key, Arc::clone(&planned));
        }
        Ok(planned)
    }

    /// Plan a tool with its arguments bound: validated, typed, optional predicates dropped.
    pub async fn tool_plan(
        &self,
        name: &str,
        args: &Map<String, Value>,
    ) -> Result<LogicalPlan, Vec<RuntimeError>> {
        let (planned, values) = self.prepare(name, args).await?;
        self.bind(name, &planned, values)
    }

    /// The planned statement with the values in place of its placeholders.
    fn bind(
        &self,
        name: &str,
        planned: &Planned,
        values: HashMap<String, ScalarAndMetadata>,
    ) -> Result<LogicalPlan, Vec<RuntimeError>> {
        planned
            .plan
            .clone()
            .with_param_values(ParamValues::Map(values))
            .map_err(|e| vec![self.bind_error(name, e)])
    }

    /// A bound plan, ready to execute.
    async fn frame(&self, plan: LogicalPlan) -> Result<DataFrame, Vec<RuntimeError>> {
        self.ctx
            .execute_logical_plan(plan)
            .await
            .map_err(|e| vec![RuntimeError::from_datafusion(e, Code::QueryPlan)])
    }

    /// A tool, ready to execute (always through DataFusion's planner; [`Runtime::tool_stream`]
    /// runs it).
    pub async fn tool_frame(
        &self,
        name: &str,
        args: &Map<String, Value>,
    ) -> Result<DataFrame, Vec<RuntimeError>> {
        let plan = self.tool_plan(name, args).await?;
        self.frame(plan).await
    }

    /// Run a tool. A tool that runs wholly inside one database goes there directly: its
    /// statement, planned once, is sent with the arguments bound, and DataFusion's optimizer and
    /// physical planner are skipped (see [`direct`]). Other tools run as [`Runtime::tool_frame`].
    pub async fn tool_stream(
        &self,
        name: &str,
        args: &Map<String, Value>,
    ) -> Result<SendableRecordBatchStream, Vec<RuntimeError>> {
        let (planned, values) = self.prepare(name, args).await?;
        if let Some(d) = &planned.direct {
            return d
                .execute(ParamValues::Map(values), Arc::clone(&self.task))
                .await
                .map_err(|e| vec![self.bind_error(name, e)]);
        }
        let plan = self.bind(name, &planned, values)?;
        self.frame(plan)
            .await?
            .execute_stream()
            .await
            .map_err(|e| vec![RuntimeError::from_datafusion(e, Code::QueryExecution)])
    }

    /// The database a tool (called with `args`) runs in directly, as one statement, if it does.
    pub async fn runs_directly_in(
        &self,
        name: &str,
        args: &Map<String, Value>,
    ) -> Result<Option<DirectRun>, Vec<RuntimeError>> {
        let (planned, _) = self.prepare(name, args).await?;
        Ok(planned.direct.as_ref().map(|d| DirectRun {
            source: d.source(),
            parameterised: d.positional_sql().map(str::to_string),
        }))
    }

    /// A direct statement for a Postgres source, sent with typed parameters (see
    /// [`crate::sources::pg_statement`]).
    fn to_postgres(&self, mut d: direct::Direct) -> direct::Direct {
        let source = d.source();
        let pool = self
            .ctx
            .catalog("datafusion")
            .and_then(|c| c.schema(&source))
            .and_then(|s| {
                s.downcast_ref::<crate::sources::database::DatabaseSchema>()
                    .and_then(|db| db.postgres_connections())
            });
        if let Some(connections) = pool {
            d.send_to_postgres(source, connections);
        }
        d
    }

    fn bind_error(&self, name: &str, e: datafusion::error::DataFusionError) -> RuntimeError {
        match self.tool(name) {
            Ok(tool) => tool_error(&tool, e),
            Err(_) => RuntimeError::from_datafusion(e, Code::QueryPlan),
        }
    }
}

/// How a tool runs when the whole of it runs inside one database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectRun {
    /// The source it runs in.
    pub source: String,
    /// The SQL sent with the arguments as typed parameters (`$1, $2, ...`), when they are sent
    /// that way (Postgres) rather than written into the statement.
    pub parameterised: Option<String>,
}

/// A planned tool statement, before its arguments are bound.
struct Planned {
    at: std::time::Instant,
    plan: LogicalPlan,
    /// The types the planner inferred for its placeholders (`$name`).
    inferred: Arc<HashMap<String, Option<arrow::datatypes::DataType>>>,
    /// When the whole statement runs inside one database: what to send there.
    direct: Option<Arc<direct::Direct>>,
}

fn tool_error(tool: &CompiledTool, e: datafusion::error::DataFusionError) -> RuntimeError {
    let mut r = RuntimeError::from_datafusion(e, Code::QueryPlan);
    if r.code == Code::QueryPlan {
        r.message = format!("tool `{}`: {}", tool.name, r.message);
        r.help = Some("the live sources differ from what `check` saw: run `widgettdc check`, and compare the lock file with the data".into());
    }
    r
}

fn read_only_error() -> RuntimeError {
    RuntimeError::new(
        Code::QueryNotReadOnly,
        "`query` runs read-only SQL: SELECT, WITH, VALUES, SHOW, DESCRIBE and EXPLAIN",
    )
    .help("to change data, declare a tool with `mode: write`")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn datafusion_settings_come_from_environment_variables_under_the_explicit_options() {
        let options = Options {
            target_partitions: Some(3),
            ..Options::default()
        };
        let config = session_config_with(
            &options,
            &vars(&[
                (
                    "DATAFUSION_OPTIMIZER_HASH_JOIN_INLIST_PUSHDOWN_MAX_DISTINCT_VALUES",
                    "50",
                ),
                ("DATAFUSION_EXECUTION_TARGET_PARTITIONS", "7"),
                ("DATAFUSION_EXECUTION_PARQUET_PUSHDOWN_FILTERS", "true"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        let o = config.options();
        assert_eq!(
            o.optimizer.hash_join_inlist_pushdown_max_distinct_values,
            50
        );
        assert!(o.execution.parquet.pushdown_filters);
        // the explicit option wins over the variable
        assert_eq!(config.target_partitions(), 3);
        // without variables, widgettdc's own choice
        let config = session_config(&Options::default());
        assert_eq!(
            config
                .options()
                .optimizer
                .hash_join_inlist_pushdown_max_distinct_values,
            2_000
        );
    }

    #[test]
    fn an_invalid_datafusion_setting_is_an_error_naming_the_variable() {
        let e = session_config_with(
            &Options::default(),
            &vars(&[("DATAFUSION_EXECUTION_BATCH_SIZE", "lots")]),
        )
        .unwrap_err();
        assert!(
            e.contains("DATAFUSION_EXECUTION_BATCH_SIZE=\"lots\""),
            "{e}"
        );
    }
}
