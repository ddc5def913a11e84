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

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::ScanArgs;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{ParamValues, Statistics};
use datafusion::datasource::source_as_provider;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, SessionState, TaskContext};
use datafusion::logical_expr::expr_rewriter::unnormalize_cols;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::coop::CooperativeExec;
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties};
use datafusion_federation::schema_cast::SchemaCastScanExec;
use datafusion_federation::sql::{SQLExecutor, VirtualExecutionPlan};
use datafusion_federation::FederatedTableProviderAdaptor;

/// A statement that runs inside one database, with its arguments still to bind.
pub struct Direct {
    /// The whole statement as one scan of a database table, or the federated sub-plan that is
    /// the whole statement; with placeholders.
    plan: LogicalPlan,
    how: How,
    /// The statement's result schema.
    schema: SchemaRef,
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
