//! Join keys that are aggregate results are checked as a join filter, so that the join's
//! run-time filter can reach the rows under the aggregate.
//!
//! A correlated scalar subquery compared by equality becomes a join with an aggregate grouped
//! by the correlated column. TPC-H q02:
//!
//! ```sql
//! ... WHERE p_partkey = ps_partkey AND ps_supplycost = (
//!     SELECT min(ps_supplycost) FROM partsupp, supplier, ... WHERE p_partkey = ps_partkey ...)
//! ```
//!
//! is planned as `outer LEFT SEMI JOIN (SELECT ps_partkey, min(ps_supplycost) ... GROUP BY
//! ps_partkey) ON p_partkey = ps_partkey AND ps_supplycost = min`. When the hash join has read its build
//! side (the outer rows, 642 of them), it filters its probe side at run time by both keys at
//! once; a filter on the aggregate's result cannot go below the aggregate, so every group is
//! computed: in q02 the minimum cost of 117,000 parts from 159,000 partsupp rows read from
//! SQLite, for 642 parts.
//!
//! This rule keeps, of an inner or semi equi-join's keys, those that are not aggregate results as the
//! join's keys, and checks the others as its filter (the same rows). The run-time filter is then
//! on the grouping key alone, which DataFusion pushes through the aggregate to the scan below:
//! only the groups the join can match are read. A join whose every key is an aggregate result
//! is left alone (it would have no key left).
//!
//! DataFusion's `ExtractEquijoinPredicate` moves equalities of a join filter into its keys, and
//! so does `join_groups::GroupSourceJoins` when it rebuilds a join tree: the rule runs after
//! both (after every DataFusion rule), in each optimizer pass.

use datafusion::common::tree_node::Transformed;
use datafusion::common::{Column, NullEquality};
use datafusion::error::Result;
use datafusion::logical_expr::{binary_expr, Expr, Join, JoinType, LogicalPlan, Operator};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};

#[derive(Debug, Default)]
pub struct AggregateKeysToFilter;

impl OptimizerRule for AggregateKeysToFilter {
    fn name(&self) -> &str {
        "widgettdc_aggregate_keys_to_filter"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::Join(join) = plan else {
            return Ok(Transformed::no(plan));
        };
        let kinds = [JoinType::Inner, JoinType::LeftSemi, JoinType::RightSemi];
        if !kinds.contains(&join.join_type) || join.on.len() < 2 {
            return Ok(Transformed::no(LogicalPlan::Join(join)));
        }
        let (moved, kept): (Vec<_>, Vec<_>) = join.on.iter().cloned().partition(|(l, r)| {
            is_aggregate_result(&join.left, l) || is_aggregate_result(&join.right, r)
        });
        if moved.is_empty() || kept.is_empty() {
            return Ok(Transformed::no(LogicalPlan::Join(join)));
        }
        let null_equality = join.null_equality;
        let filter = moved
            .into_iter()
            .map(|(l, r)| match null_equality {
                NullEquality::NullEqualsNothing => l.eq(r),
                NullEquality::NullEqualsNull => binary_expr(l, Operator::IsNotDistinctFrom, r),
            })
            .chain(join.filter.clone())
            .reduce(Expr::and);
        Ok(Transformed::yes(LogicalPlan::Join(Join {
            on: kept,
            filter,
            ..join
        })))
    }
}

/// Whether `key`, an expression over `plan`'s output, is a column that `plan` takes unchanged
/// from an aggregate's result (not from its grouping keys).
fn is_aggregate_result(plan: &LogicalPlan, key: &Expr) -> bool {
    matches!(key, Expr::Column(c) if column_is_aggregate_result(plan, c))
}

/// Whether the `i`th output column of `plan` is an aggregate's result, passed on unchanged.
fn output_is_aggregate_result(plan: &LogicalPlan, i: usize) -> bool {
    match plan {
        LogicalPlan::Aggregate(a) => a.group_expr_len().is_ok_and(|groups| i >= groups),
        LogicalPlan::Projection(p) => match p.expr.get(i) {
            Some(Expr::Column(c)) => column_is_aggregate_result(&p.input, c),
            Some(Expr::Alias(a)) => {
                matches!(a.expr.as_ref(), Expr::Column(c) if column_is_aggregate_result(&p.input, c))
            }
            _ => false,
        },
        // these keep their input's columns, in order
        LogicalPlan::SubqueryAlias(s) => output_is_aggregate_result(&s.input, i),
        LogicalPlan::Filter(f) => output_is_aggregate_result(&f.input, i),
        LogicalPlan::Sort(s) => output_is_aggregate_result(&s.input, i),
        LogicalPlan::Limit(l) => output_is_aggregate_result(&l.input, i),
        _ => false,
    }
}

fn column_is_aggregate_result(plan: &LogicalPlan, c: &Column) -> bool {
    plan.schema()
        .maybe_index_of_column(c)
        .is_some_and(|i| output_is_aggregate_result(plan, i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::functions_aggregate::expr_fn::min;
    use datafusion::logical_expr::logical_plan::builder::LogicalTableSource;
    use datafusion::logical_expr::{col, LogicalPlanBuilder};
    use datafusion::optimizer::OptimizerContext;
    use std::sync::Arc;

    fn scan(name: &str, columns: &[&str]) -> LogicalPlanBuilder {
        let schema = Schema::new(
            columns
                .iter()
                .map(|c| Field::new(*c, DataType::Int64, false))
                .collect::<Vec<_>>(),
        );
        LogicalPlanBuilder::scan(
            name,
            Arc::new(LogicalTableSource::new(Arc::new(schema))),
            None,
        )
        .unwrap()
    }

    fn rewrite(plan: LogicalPlan) -> Transformed<LogicalPlan> {
        AggregateKeysToFilter
            .rewrite(plan, &OptimizerContext::new())
            .unwrap()
    }

    /// q02's shape: the aggregate's result becomes a filter, the grouping key stays a key.
    #[test]
    fn an_aggregate_result_key_becomes_a_filter() {
        let sub = scan("ps", &["partkey", "cost"])
            .aggregate(vec![col("partkey")], vec![min(col("cost")).alias("lowest")])
            .unwrap()
            .alias("sq")
            .unwrap()
            .build()
            .unwrap();
        let plan = scan("outer", &["p", "c"])
            .join_on(
                sub,
                JoinType::Inner,
                vec![
                    col("outer.p").eq(col("sq.partkey")),
                    col("outer.c").eq(col("sq.lowest")),
                ],
            )
            .unwrap()
            .build()
            .unwrap();
        // `join_on` keeps equalities as the filter; DataFusion's optimizer makes them keys
        let plan = match plan {
            LogicalPlan::Join(j) => LogicalPlan::Join(Join {
                on: vec![
                    (col("outer.p"), col("sq.partkey")),
                    (col("outer.c"), col("sq.lowest")),
                ],
                filter: None,
                ..j
            }),
            other => panic!("{other}"),
        };
        let t = rewrite(plan);
        assert!(t.transformed);
        let LogicalPlan::Join(j) = t.data else {
            panic!("a join")
        };
        assert_eq!(j.on, vec![(col("outer.p"), col("sq.partkey"))]);
        assert_eq!(j.filter, Some(col("outer.c").eq(col("sq.lowest"))));
    }

    /// Keys that are all grouping keys or plain columns, or all aggregate results, stay keys.
    #[test]
    fn other_joins_are_left_alone() {
        let agg = || {
            scan("ps", &["partkey", "cost"])
                .aggregate(vec![col("partkey")], vec![min(col("cost")).alias("lowest")])
                .unwrap()
                .alias("sq")
                .unwrap()
                .build()
                .unwrap()
        };
        let with_keys = |keys: Vec<(Expr, Expr)>| {
            let plan = scan("outer", &["p", "c"])
                .cross_join(agg())
                .unwrap()
                .build()
                .unwrap();
            let LogicalPlan::Join(j) = plan else {
                panic!("a join")
            };
            LogicalPlan::Join(Join {
                on: keys,
                join_type: JoinType::Inner,
                ..j
            })
        };
        // the only key is an aggregate result
        assert!(!rewrite(with_keys(vec![(col("outer.c"), col("sq.lowest"))])).transformed);
        // no key is an aggregate result
        assert!(
            !rewrite(with_keys(vec![
                (col("outer.p"), col("sq.partkey")),
                (col("outer.c"), col("sq.partkey")),
            ]))
            .transformed
        );
    }
}
