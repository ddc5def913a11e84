//! Federation with local functions kept local.
//!
//! datafusion-federation sends the largest sub-plan that touches only one database to that
//! database as SQL. It does not know that a database lacks widgettdc's own SQL functions
//! (`time_bucket`, `json_path`, …), so `SELECT time_bucket('1h', ts) FROM pg.t` would reach
//! Postgres and fail there. This rule wraps `FederationOptimizerRule`: a plan node that calls a
//! local function stays in DataFusion, and federation runs on its inputs instead (which still go
//! to the database with their filters, projections and limits).
//!
//! It runs after DataFusion's own rules, so table scans already carry the filters, columns and
//! limits that were pushed down: the SQL a database receives for its part of a cross-source
//! query includes them.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use datafusion_federation::FederationOptimizerRule;

#[derive(Debug)]
pub struct Federation {
    inner: FederationOptimizerRule,
    /// Functions only DataFusion can run.
    local: HashSet<String>,
}

impl Federation {
    pub fn new(local: impl IntoIterator<Item = String>) -> Self {
        Federation {
            inner: FederationOptimizerRule::new(),
            local: local.into_iter().collect(),
        }
    }

    fn calls_local(&self, e: &Expr) -> bool {
        e.exists(|e| Ok(matches!(e, Expr::ScalarFunction(f) if self.local.contains(f.name()))))
            .unwrap_or(true)
    }

    fn node_calls_local(&self, plan: &LogicalPlan) -> bool {
        plan.expressions().iter().any(|e| self.calls_local(e))
    }

    fn contains_local(&self, plan: &LogicalPlan) -> bool {
        let mut found = false;
        let _ = plan.apply_with_subqueries(|p| {
            if self.node_calls_local(p) {
                found = true;
                return Ok(TreeNodeRecursion::Stop);
            }
            Ok(TreeNodeRecursion::Continue)
        });
        found
    }

    /// Keep `plan` (which contains a local call) in DataFusion; federate what is below it.
    fn split(
        &self,
        plan: LogicalPlan,
        config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let inputs: Vec<LogicalPlan> = plan.inputs().into_iter().cloned().collect();
        if inputs.is_empty() {
            return Ok(Transformed::no(plan));
        }
        let mut changed = false;
        let mut new_inputs = Vec::with_capacity(inputs.len());
        for input in inputs {
            let t = if self.contains_local(&input) {
                self.split(input, config)?
            } else {
                self.inner.rewrite(input, config)?
            };
            changed |= t.transformed;
            new_inputs.push(t.data);
        }
        if !changed {
            return Ok(Transformed::no(plan));
        }
        let exprs = plan.expressions();
        Ok(Transformed::yes(plan.with_new_exprs(exprs, new_inputs)?))
    }
}

impl OptimizerRule for Federation {
    fn name(&self) -> &str {
        "widgettdc_federation"
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        if self.contains_local(&plan) {
            self.split(plan, config)
        } else {
            self.inner.rewrite(plan, config)
        }
    }
}

/// DataFusion's optimizer rules, then ours, then federation (keeping the stdlib's functions local).
pub fn optimizer_rules() -> Vec<Arc<dyn OptimizerRule + Send + Sync>> {
    let mut rules = datafusion::optimizer::Optimizer::new().rules;
    let local = widgettdc_stdlib::scalar_functions()
        .iter()
        .flat_map(|f| std::iter::once(f.name().to_string()).chain(f.aliases().iter().cloned()))
        .collect::<Vec<_>>();
    // the tables of one database that join each other are brought together first, so that
    // federation sends their join to the database (`join_groups.rs`)
    rules.push(Arc::new(crate::join_groups::GroupSourceJoins));
    // a join key that is an aggregate's result is checked as a filter, so the join's run-time
    // filter (on the grouping key) reaches the scan under the aggregate (`aggregate_keys.rs`);
    // after the regrouping, which makes every equality of an inner join tree a key again
    rules.push(Arc::new(crate::aggregate_keys::AggregateKeysToFilter));
    rules.push(Arc::new(Federation::new(local)));
    // last: an aggregate that occurs twice (a CTE read twice) is computed once
    // (`shared_subplans.rs`)
    rules.push(Arc::new(crate::shared_subplans::ShareRepeatedAggregates));
    rules
}
