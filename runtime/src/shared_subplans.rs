//! A sub-plan that occurs more than once in a query is computed once.
//!
//! A common table expression used twice is planned twice: DataFusion inlines it where it is
//! referenced, so `WITH revenue AS (SELECT ... GROUP BY ...) SELECT ... FROM revenue WHERE total =
//! (SELECT max(total) FROM revenue)` (TPC-H q15) reads and aggregates its table twice, once for
//! the scalar subquery and once for the main query. Here the repeated part is computed by the
//! first reader and its rows are handed to the others.
//!
//! Three stages, each keeping the answer the same:
//!
//! - [`ShareRepeatedAggregates`], a logical rule that runs after federation (the last rule):
//!   every `Aggregate` whose whole sub-plan occurs at least twice in the query (plan equality:
//!   the same tables, columns, filters and expressions), that neither refers to an outer query
//!   nor calls a volatile function, is wrapped in a [`Shared`] node; equal sub-plans get the same
//!   number. Aggregates only: an aggregate gives its rows only once it has read all of its input,
//!   so keeping its result for a second reader loses no streaming, and its result is usually
//!   small. Nothing is pushed into a `Shared` node (filters, limits, columns), so the copies stay
//!   equal.
//! - [`SharedPlanner`] plans each `Shared` node as a [`SharedExec`] over the copy's own physical
//!   plan. No run-time filter (a join's, a TopK's) passes a `SharedExec`: what one reader learns
//!   must not narrow what another reads.
//! - [`LinkShared`], the last physical optimizer rule, gives the `SharedExec`s of one number
//!   one state when their inputs are the same physical plan (same partitions, same ordering,
//!   same description). When they are not, each computes its own input, as without this module.
//!
//! At run time the first reader of a partition computes it, keeping its batches (counted in the
//! memory pool); every other reader of that partition waits for them and reads them. The
//! state lives with the physical plan (one query); `explain --analyze` shows each `SharedExec`'s
//! `partitions_computed` (the copy that did the work) and `partitions_shared`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{internal_err, DFSchemaRef};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::context::QueryPlanner;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::{
    Expr, Extension, LogicalPlan, UserDefinedLogicalNode, UserDefinedLogicalNodeCore,
};
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::execution_plan::{ChildrenPropertiesMode, ReplaceChildrenOptions};
use datafusion::physical_plan::metrics::{ExecutionPlanMetricsSet, MetricBuilder, MetricsSet};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    displayable, DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties,
};
use datafusion::physical_planner::{DefaultPhysicalPlanner, ExtensionPlanner, PhysicalPlanner};
use futures::{StreamExt, TryStreamExt};

/// A sub-plan that occurs `readers` times in the query; all its copies carry the same `id`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Hash)]
pub struct Shared {
    pub id: usize,
    pub readers: usize,
    pub input: LogicalPlan,
}

impl UserDefinedLogicalNodeCore for Shared {
    fn name(&self) -> &str {
        "Shared"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.input]
    }

    fn schema(&self) -> &DFSchemaRef {
        self.input.schema()
    }

    fn expressions(&self) -> Vec<Expr> {
        vec![]
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "Shared: #{} (computed once for {} readers)",
            self.id, self.readers
        )
    }

    fn with_exprs_and_inputs(
        &self,
        exprs: Vec<Expr>,
        mut inputs: Vec<LogicalPlan>,
    ) -> Result<Self> {
        if !exprs.is_empty() || inputs.len() != 1 {
            return internal_err!("Shared takes one input and no expressions");
        }
        Ok(Shared {
            id: self.id,
            readers: self.readers,
            input: inputs.swap_remove(0),
        })
    }
}

fn as_shared(plan: &LogicalPlan) -> Option<&Shared> {
    match plan {
        LogicalPlan::Extension(Extension { node }) => node.as_any().downcast_ref::<Shared>(),
        _ => None,
    }
}

/// A sub-plan worth computing once when it repeats: an aggregate whose result is the same
/// wherever it is read.
fn candidate(plan: &LogicalPlan) -> bool {
    matches!(plan, LogicalPlan::Aggregate(_))
        && !plan.contains_outer_reference()
        && !plan
            .exists(|p| Ok(p.expressions().iter().any(Expr::is_volatile)))
            .unwrap_or(true)
}

/// The logical rule (see the module comment).
#[derive(Debug, Default)]
pub struct ShareRepeatedAggregates;

impl OptimizerRule for ShareRepeatedAggregates {
    fn name(&self) -> &str {
        "widgettdc_share_repeated_aggregates"
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        // how often each candidate occurs (those inside a shared one are already taken care of),
        // and the number its copies get
        let mut counts: HashMap<LogicalPlan, (usize, Option<usize>)> = HashMap::new();
        let mut next_id = 1;
        plan.apply_with_subqueries(|p| {
            if let Some(s) = as_shared(p) {
                next_id = next_id.max(s.id + 1);
                return Ok(TreeNodeRecursion::Jump);
            }
            if candidate(p) {
                counts.entry(p.clone()).or_default().0 += 1;
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        counts.retain(|_, (n, _)| *n > 1);
        if counts.is_empty() {
            return Ok(Transformed::no(plan));
        }
        // the outermost repeated ones are wrapped, each copy with its sub-plan's number
        plan.transform_down_with_subqueries(|p| {
            if as_shared(&p).is_some() {
                return Ok(Transformed::new(p, false, TreeNodeRecursion::Jump));
            }
            let Some((readers, id)) = counts.get_mut(&p) else {
                return Ok(Transformed::no(p));
            };
            let readers = *readers;
            let id = *id.get_or_insert_with(|| {
                next_id += 1;
                next_id - 1
            });
            let node = LogicalPlan::Extension(Extension {
                node: Arc::new(Shared {
                    id,
                    readers,
                    input: p,
                }),
            });
            Ok(Transformed::new(node, true, TreeNodeRecursion::Jump))
        })
    }
}

/// Plans a [`Shared`] node as a [`SharedExec`] (not yet linked to its other copies).
#[derive(Debug, Default)]
pub struct SharedPlanner;

#[async_trait]
impl ExtensionPlanner for SharedPlanner {
    async fn plan_extension(
        &self,
        _planner: &dyn PhysicalPlanner,
        node: &dyn UserDefinedLogicalNode,
        _logical_inputs: &[&LogicalPlan],
        physical_inputs: &[Arc<dyn ExecutionPlan>],
        _session_state: &dyn Session,
        _planning_ctx: &PhysicalPlanningContext,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        let Some(shared) = node.as_any().downcast_ref::<Shared>() else {
            return Ok(None);
        };
        let [input] = physical_inputs else {
            return internal_err!("Shared has one input, got {}", physical_inputs.len());
        };
        Ok(Some(Arc::new(SharedExec::new(
            shared.id,
            Arc::clone(input),
            SharedState::new(partitions(input), 1),
        ))))
    }
}

/// widgettdc's query planner: DataFusion's, with the planners of federated sub-plans
/// (datafusion-federation) and of [`Shared`] nodes.
#[derive(Debug, Default)]
pub struct Planner;

#[async_trait]
impl QueryPlanner for Planner {
    async fn create_physical_plan(
        &self,
        logical_plan: &LogicalPlan,
        session_state: &dyn Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        DefaultPhysicalPlanner::with_extension_planners(vec![
            Arc::new(datafusion_federation::FederatedPlanner::new()),
            Arc::new(SharedPlanner),
        ])
        .create_physical_plan(logical_plan, session_state)
        .await
    }
}

fn partitions(plan: &Arc<dyn ExecutionPlan>) -> usize {
    plan.properties().output_partitioning().partition_count()
}

/// One partition's computed batches, with the memory they hold.
struct Computed {
    batches: Vec<RecordBatch>,
    _reservation: MemoryReservation,
}

type Cell = Arc<tokio::sync::OnceCell<Computed>>;

/// What the copies of one shared sub-plan share: each partition's batches, once computed.
pub struct SharedState {
    cells: Mutex<Vec<Cell>>,
    /// How many `SharedExec`s read this state.
    readers: usize,
}

impl SharedState {
    fn new(partitions: usize, readers: usize) -> Arc<Self> {
        Arc::new(SharedState {
            cells: Mutex::new(Self::fresh(partitions)),
            readers,
        })
    }

    fn fresh(partitions: usize) -> Vec<Cell> {
        (0..partitions).map(|_| Cell::default()).collect()
    }

    fn cell(&self, partition: usize) -> Result<Cell> {
        let cells = self
            .cells
            .lock()
            .map_err(|_| DataFusionError::Internal("shared sub-plan state poisoned".into()))?;
        match cells.get(partition) {
            Some(c) => Ok(Arc::clone(c)),
            None => internal_err!(
                "SharedExec has {} partitions, not {}",
                cells.len(),
                partition + 1
            ),
        }
    }
}

impl fmt::Debug for SharedState {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("SharedState")
            .field("readers", &self.readers)
            .finish_non_exhaustive()
    }
}

/// One copy of a shared sub-plan (see the module comment).
#[derive(Debug)]
pub struct SharedExec {
    id: usize,
    input: Arc<dyn ExecutionPlan>,
    state: Arc<SharedState>,
    metrics: ExecutionPlanMetricsSet,
}

impl SharedExec {
    fn new(id: usize, input: Arc<dyn ExecutionPlan>, state: Arc<SharedState>) -> Self {
        SharedExec {
            id,
            input,
            state,
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }

    /// The number its copies share.
    pub fn id(&self) -> usize {
        self.id
    }

    /// How many copies read its state (1 when it is not linked to any other).
    pub fn readers(&self) -> usize {
        self.state.readers
    }
}

impl DisplayAs for SharedExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "SharedExec: #{} readers={}", self.id, self.readers())
    }
}

impl ExecutionPlan for SharedExec {
    fn name(&self) -> &str {
        "SharedExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn replace_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.len() != 1 {
            return internal_err!("SharedExec takes one child, got {}", children.len());
        }
        let input = children.swap_remove(0);
        if Arc::ptr_eq(&input, &self.input) {
            return Ok(self);
        }
        // a new input is a new plan: its own state until `LinkShared` links it again
        let state = SharedState::new(partitions(&input), 1);
        Ok(Arc::new(SharedExec::new(self.id, input, state)))
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )
    }

    /// Run again (a recursive query's step): what was computed is forgotten, for every copy.
    fn reset_state(self: Arc<Self>) -> Result<Arc<dyn ExecutionPlan>> {
        if let Ok(mut cells) = self.state.cells.lock() {
            *cells = SharedState::fresh(partitions(&self.input));
        }
        Ok(Arc::new(SharedExec {
            id: self.id,
            input: Arc::clone(&self.input),
            state: Arc::clone(&self.state),
            metrics: ExecutionPlanMetricsSet::new(),
        }))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let cell = self.state.cell(partition)?;
        let input = Arc::clone(&self.input);
        let rows = MetricBuilder::new(&self.metrics).output_rows(partition);
        let computed = MetricBuilder::new(&self.metrics).counter("partitions_computed", partition);
        let shared = MetricBuilder::new(&self.metrics).counter("partitions_shared", partition);
        let stream = futures::stream::once(async move {
            let mut first = false;
            let done = cell
                .get_or_try_init(|| async {
                    first = true;
                    let reservation = MemoryConsumer::new(format!("SharedExec[{partition}]"))
                        .register(context.memory_pool());
                    let mut stream = input.execute(partition, Arc::clone(&context))?;
                    let mut batches = vec![];
                    while let Some(batch) = stream.next().await {
                        let batch = batch?;
                        reservation.try_grow(batch.get_array_memory_size())?;
                        batches.push(batch);
                    }
                    Ok::<_, DataFusionError>(Computed {
                        batches,
                        _reservation: reservation,
                    })
                })
                .await?;
            if first {
                computed.add(1);
            } else {
                shared.add(1);
            }
            Ok::<_, DataFusionError>(futures::stream::iter(
                done.batches.clone().into_iter().map(Ok),
            ))
        })
        .try_flatten()
        .inspect_ok(move |b| rows.add(b.num_rows()));
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema(),
            stream,
        )))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}

/// Gives the copies of each shared sub-plan one state (see the module comment); runs last.
#[derive(Debug, Default)]
pub struct LinkShared;

impl PhysicalOptimizerRule for LinkShared {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        // the copies, by number, as (description, partitions) of their inputs
        let mut copies: HashMap<usize, Vec<(String, usize)>> = HashMap::new();
        plan.apply(|node| {
            if let Some(s) = node.downcast_ref::<SharedExec>() {
                copies.entry(s.id).or_default().push((
                    displayable(s.input.as_ref()).indent(true).to_string(),
                    partitions(&s.input),
                ));
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        // one state per number whose copies are the same plan
        let mut states: HashMap<usize, Arc<SharedState>> = HashMap::new();
        for (id, plans) in &copies {
            let (first, partitions) = &plans[0];
            if plans.len() > 1 && plans.iter().all(|(p, _)| p == first) {
                states.insert(*id, SharedState::new(*partitions, plans.len()));
            }
        }
        if states.is_empty() {
            return Ok(plan);
        }
        plan.transform_up(|node| {
            let Some(s) = node.downcast_ref::<SharedExec>() else {
                return Ok(Transformed::no(node));
            };
            let Some(state) = states.get(&s.id) else {
                return Ok(Transformed::no(node));
            };
            Ok(Transformed::yes(Arc::new(SharedExec::new(
                s.id,
                Arc::clone(&s.input),
                Arc::clone(state),
            )) as Arc<dyn ExecutionPlan>))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "widgettdc_link_shared"
    }

    fn schema_check(&self) -> bool {
        true
    }
}
