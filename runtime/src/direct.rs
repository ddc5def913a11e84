//! Tools that run wholly inside one database skip DataFusion when they are called.
//!
//! A tool's statement is planned once (with its `$placeholders` unbound) and kept for a while
//! (`engine::PLAN_TTL`). When datafusion-federation sends the *whole* optimised plan to one
//! database — the physical plan is nothing but the federated SQL scan — every call would repeat
//! the same optimisation and physical planning only to arrive at the same statement. Here the
//! federated sub-plan is kept instead, and a call binds its arguments into it and hands it to the
//! source's SQL executor directly: the SQL text is produced by the same unparser as on the
//! planned path (so the database receives the same statement), and results go through the same
//! schema cast. Only the planning work is skipped.
//!
//! Plans that keep any work in DataFusion (a join across sources, a stdlib function, an MCP tool
//! call) are not direct and run as before.
//!
//! A federated statement for a Postgres source goes one step further
//! ([`crate::sources::pg_statement`]): its SQL is rendered once with positional parameters and
//! each call sends only the arguments, as typed parameters, in one round trip.

use std::sync::{Arc, Mutex};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::ScanArgs;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{ParamValues, Statistics};
use datafusion::datasource::source_as_provider;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, SessionState, TaskContext};
use datafusion::logical_expr::expr_rewriter::unnormalize_cols;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::physical_plan::coop::CooperativeExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties, PhysicalExpr};
use datafusion_federation::schema_cast::SchemaCastScanExec;
use datafusion_federation::sql::{SQLExecutor, SQLTableSource, VirtualExecutionPlan};
use datafusion_federation::FederatedTableProviderAdaptor;

use crate::sources::pg_statement::{PgStatement, Placeholders};
use crate::sources::wrapped_executor::{Hooks, Wrapped};

/// A statement that runs inside one database, with its arguments still to bind.
pub struct Direct {
    /// The whole statement as one scan of a database table, or the federated sub-plan that is
    /// the whole statement; with placeholders.
    plan: LogicalPlan,
    how: How,
    /// The statement's result schema.
    schema: SchemaRef,
    /// The statement as Postgres SQL with positional parameters, when its source is Postgres.
    postgres: Option<PgStatement>,
}

enum How {
    /// datafusion-federation's SQL scan: the statement is unparsed to the database's SQL.
    Federated {
        executor: Arc<dyn SQLExecutor>,
        statistics: Statistics,
    },
    /// The table provider's own scan, with the statement's columns, filters and limit.
    Scan { state: Box<SessionState> },
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Direct")
            .field("source", &self.source())
            .finish_non_exhaustive()
    }
}

/// The direct form of a planned statement, if the whole of it runs inside one database.
pub async fn prepare(state: &SessionState, plan: &LogicalPlan) -> Option<Direct> {
    let optimized = state.optimize(plan).ok()?;
    let physical = state
        .query_planner()
        .create_physical_plan(&optimized, state)
        .await
        .ok()?;
    // the physical optimizer's wrapper for cooperative scheduling; our caller reads one stream
    let root = uncooperative(&physical);
    if let Some(cast) = root.downcast_ref::<SchemaCastScanExec>() {
        let [scan] = cast.children()[..] else {
            return None;
        };
        let scan = uncooperative(scan);
        let scan = scan.downcast_ref::<VirtualExecutionPlan>()?;
        return Some(Direct {
            plan: scan.plan().clone(),
            how: How::Federated {
                executor: Arc::clone(scan.executor()),
                statistics: scan.statistics().clone(),
            },
            schema: root.schema(),
            postgres: None,
        });
    }
    // a lone scan of one database table (filters, columns and limit handed to the provider)
    let LogicalPlan::TableScan(t) = &optimized else {
        return None;
    };
    let provider = source_as_provider(&t.source).ok()?;
    // every database table is wrapped for federation
    let is_database = provider
        .downcast_ref::<FederatedTableProviderAdaptor>()
        .is_some();
    if !is_database
        || !root.children().is_empty()
        || root.output_partitioning().partition_count() != 1
    {
        return None;
    }
    Some(Direct {
        plan: optimized.clone(),
        how: How::Scan {
            state: Box::new(state.clone()),
        },
        schema: root.schema(),
        postgres: None,
    })
}

/// The plan below the physical optimizer's wrapper for cooperative scheduling, if it has one.
fn uncooperative(plan: &Arc<dyn ExecutionPlan>) -> Arc<dyn ExecutionPlan> {
    match plan.downcast_ref::<CooperativeExec>() {
        Some(c) => Arc::clone(c.input()),
        None => Arc::clone(plan),
    }
}

impl Direct {
    /// Bind the arguments and send the statement.
    pub async fn execute(
        &self,
        values: ParamValues,
        task: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if let (Some(pg), ParamValues::Map(values)) = (&self.postgres, &values) {
            if let Some(rows) = pg.execute(values).await? {
                return Ok(rows);
            }
        }
        let plan = self.plan.clone().with_param_values(values)?;
        let exec: Arc<dyn ExecutionPlan> = match &self.how {
            How::Federated {
                executor,
                statistics,
            } => {
                let scan =
                    VirtualExecutionPlan::new(plan, Arc::clone(executor), statistics.clone());
                Arc::new(SchemaCastScanExec::new(
                    Arc::new(scan),
                    Arc::clone(&self.schema),
                ))
            }
            How::Scan { state } => {
                let LogicalPlan::TableScan(t) = plan else {
                    return Err(DataFusionError::Internal(
                        "a direct scan's plan is not a table scan".into(),
                    ));
                };
                // as DataFusion's physical planner does
                let provider = source_as_provider(&t.source)?;
                let filters: Vec<_> = unnormalize_cols(t.filters).into_iter().collect();
                let args = ScanArgs::default()
                    .with_projection(t.projection.as_deref())
                    .with_filters(Some(&filters))
                    .with_limit(t.fetch);
                let scanned = provider.scan_with_args(state.as_ref(), args).await?;
                Arc::clone(scanned.plan())
            }
        };
        if exec.schema() != self.schema {
            return Err(DataFusionError::Internal(format!(
                "a direct statement's schema changed: {} instead of {}",
                exec.schema(),
                self.schema
            )));
        }
        exec.execute(0, task)
    }

    /// Send the statement to this Postgres source with typed parameters (when its placeholders
    /// all have a Postgres type; else it keeps the provider's path).
    pub fn send_to_postgres(
        &mut self,
        source: String,
        connections: Arc<crate::sources::pg_statement::Connections>,
    ) {
        let executor = match &self.how {
            How::Federated { executor, .. } => Arc::clone(executor),
            // the SQL federation would send for the scan alone
            How::Scan { .. } => match scan_executor(&self.plan) {
                Some(e) => e,
                None => return,
            },
        };
        let Some((sql, params)) = positional_sql(&self.plan, &executor) else {
            return;
        };
        let rows_schema = Arc::new(self.plan.schema().as_arrow().clone());
        self.postgres = PgStatement::new(
            source,
            connections,
            sql,
            params,
            rows_schema,
            Arc::clone(&self.schema),
        );
    }

    /// The SQL sent with positional parameters, if the statement is sent that way.
    pub fn positional_sql(&self) -> Option<&str> {
        self.postgres.as_ref().and_then(|p| p.sql())
    }

    /// The source the statement runs in (the first part of its tables' names).
    pub fn source(&self) -> String {
        let mut source = String::new();
        let _ = self.plan.apply_with_subqueries(|node| {
            if let LogicalPlan::TableScan(t) = node {
                source = match (t.table_name.catalog(), t.table_name.schema()) {
                    (Some(c), _) if c != "datafusion" => c.to_string(),
                    (_, Some(s)) if s != "public" => s.to_string(),
                    _ => t.table_name.table().to_string(),
                };
                return Ok(TreeNodeRecursion::Stop);
            }
            Ok(TreeNodeRecursion::Continue)
        });
        source
    }
}

/// The SQL executor of the database table a lone scan reads.
fn scan_executor(plan: &LogicalPlan) -> Option<Arc<dyn SQLExecutor>> {
    let LogicalPlan::TableScan(t) = plan else {
        return None;
    };
    let provider = source_as_provider(&t.source).ok()?;
    let adaptor = provider.downcast_ref::<FederatedTableProviderAdaptor>()?;
    let source =
        (adaptor.source.as_ref() as &dyn std::any::Any).downcast_ref::<SQLTableSource>()?;
    Some(Arc::clone(&source.provider.executor))
}

/// The federated statement as the database's SQL with `$1, $2, ...` for its placeholders, and
/// the placeholder (name without `$`) and its inferred type (if any) behind each.
fn positional_sql(
    plan: &LogicalPlan,
    executor: &Arc<dyn SQLExecutor>,
) -> Option<(String, Placeholders)> {
    let types = plan.get_parameter_types().ok()?;
    let mut order: Vec<String> = Vec::new();
    let renamed = plan
        .clone()
        .transform_up_with_subqueries(|node| {
            node.map_expressions(|e| {
                e.transform_up(|e| match e {
                    Expr::Placeholder(mut p) => {
                        let n = match order.iter().position(|id| *id == p.id) {
                            Some(i) => i + 1,
                            None => {
                                order.push(p.id.clone());
                                order.len()
                            }
                        };
                        p.id = format!("${n}");
                        Ok(Transformed::yes(Expr::Placeholder(p)))
                    }
                    e => Ok(Transformed::no(e)),
                })
            })
        })
        .ok()?
        .data;
    let params = order
        .into_iter()
        .map(|id| {
            let t = types.get(&id).cloned().flatten();
            (id.trim_start_matches('$').to_string(), t)
        })
        .collect();
    Some((federated_sql(&renamed, executor)?, params))
}

/// The SQL federation's scan of `plan` sends to `executor`'s database (caught on its way to
/// the executor: the same unparser, analyzers and rewriters).
pub fn federated_sql(plan: &LogicalPlan, executor: &Arc<dyn SQLExecutor>) -> Option<String> {
    let capture = Arc::new(Wrapped {
        inner: Arc::clone(executor),
        hooks: Capture {
            sql: Mutex::new(None),
        },
    });
    let scan = VirtualExecutionPlan::new(
        plan.clone(),
        Arc::clone(&capture) as Arc<dyn SQLExecutor>,
        Statistics::new_unknown(plan.schema().as_arrow()),
    );
    drop(scan.execute(0, Arc::new(TaskContext::default())).ok()?);
    let sql = capture.hooks.sql.lock().ok()?.take();
    sql
}

/// Keeps the SQL the wrapped executor is given, and runs nothing.
struct Capture {
    sql: Mutex<Option<String>>,
}

impl Hooks for Capture {
    fn execute(
        &self,
        _: &Arc<dyn SQLExecutor>,
        query: &str,
        schema: SchemaRef,
        _filters: &[Arc<dyn PhysicalExpr>],
    ) -> Result<SendableRecordBatchStream> {
        if let Ok(mut sql) = self.sql.lock() {
            *sql = Some(query.to_string());
        }
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            schema,
            futures::stream::empty(),
        )))
    }
}
