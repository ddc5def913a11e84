//! Joins between the tables of one database, brought together so that the database runs them.
//!
//! DataFusion plans `FROM a, b, c WHERE …` as inner joins in the order the tables are written,
//! and datafusion-federation sends a database the largest sub-plans that touch only it. So in
//! `FROM pg.customer, orders, pg.nation WHERE c_custkey = o_custkey AND c_nationkey = n_nationkey`
//! customer and nation were two statements, and their join ran in DataFusion on all the rows of
//! both (TPC-H q08: 150,000 customers sent, where customer ⋈ nation ⋈ region in Postgres sends
//! the 30,000 of one region).
//!
//! This rule runs after DataFusion's rules and before federation. In a tree of inner joins it
//! finds, per database (a federation provider and its compute context), the inputs joined to
//! each other by equality conditions; when such a group is not already a sub-tree of its own, the
//! group's inputs are joined first (in the order written) and the group then takes the place of
//! its first input. Each condition is applied at the first join that has all its columns, and a
//! projection on top keeps the columns in their order. Anything it does not understand (another
//! join type, `IS NOT DISTINCT FROM` keys, inputs that no condition connects) is left as it was.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{internal_err, Column, NullEquality};
use datafusion::error::Result;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{
    Expr, Filter, Join, JoinConstraint, JoinType, LogicalPlan, Projection,
};
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};

#[derive(Debug, Default)]
pub struct GroupSourceJoins;

impl OptimizerRule for GroupSourceJoins {
    fn name(&self) -> &str {
        "widgettdc_group_source_joins"
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        regroup_all(plan)
    }
}

fn regroup_all(plan: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    plan.transform_down(|p| {
        if is_inner(&p) {
            // the whole join tree at once (its inputs are done inside)
            let t = regroup(p)?;
            Ok(Transformed::new(
                t.data,
                t.transformed,
                TreeNodeRecursion::Jump,
            ))
        } else {
            Ok(Transformed::no(p))
        }
    })
}

fn is_inner(p: &LogicalPlan) -> bool {
    matches!(p, LogicalPlan::Join(j) if is_inner_join(j))
}

fn is_inner_join(j: &Join) -> bool {
    j.join_type == JoinType::Inner
        && j.join_constraint == JoinConstraint::On
        && j.null_equality == NullEquality::NullEqualsNothing
        && !j.null_aware
}

/// A projection between joins of the tree that only drops columns (part of the tree, not an
/// input of it: [`flatten`] and [`replace_inputs`] both see through it).
fn drops_columns_of_a_join(p: &Projection) -> bool {
    is_inner(&p.input) && p.expr.iter().all(|e| matches!(e, Expr::Column(_)))
}

/// One join tree's inputs and conditions.
#[derive(Default)]
struct Flat {
    inputs: Vec<LogicalPlan>,
    /// `l = r` conditions (inner-join keys are filters on the joined rows).
    conditions: Vec<Expr>,
    /// The inputs under each join of the tree.
    subtrees: Vec<BTreeSet<usize>>,
}

fn flatten(plan: LogicalPlan, flat: &mut Flat) -> BTreeSet<usize> {
    match plan {
        LogicalPlan::Join(j) if is_inner_join(&j) => {
            let Join {
                left,
                right,
                on,
                filter,
                ..
            } = j;
            let mut under = flatten(Arc::unwrap_or_clone(left), flat);
            under.extend(flatten(Arc::unwrap_or_clone(right), flat));
            flat.conditions.extend(on.into_iter().map(|(l, r)| l.eq(r)));
            flat.conditions.extend(filter);
            flat.subtrees.push(under.clone());
            under
        }
        // the projection on top keeps the tree's own columns, and DataFusion prunes the rest
        LogicalPlan::Projection(p) if drops_columns_of_a_join(&p) => {
            flatten(Arc::unwrap_or_clone(p.input), flat)
        }
        other => {
            flat.inputs.push(other);
            BTreeSet::from([flat.inputs.len() - 1])
        }
    }
}

/// The database an input runs in, when every table it reads is in that one.
fn database(plan: &LogicalPlan) -> Option<String> {
    let mut found: Option<String> = None;
    let mut mixed = false;
    let _ = plan.apply_with_subqueries(|p| {
        if let LogicalPlan::TableScan(scan) = p {
            let key = datafusion_federation::get_table_source(&scan.source)
                .ok()
                .flatten()
                .map(|s| format!("{}", s.federation_provider()));
            match (key, &found) {
                (Some(k), None) => found = Some(k),
                (Some(k), Some(f)) if &k == f => {}
                _ => {
                    mixed = true;
                    return Ok(TreeNodeRecursion::Stop);
                }
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    if mixed {
        None
    } else {
        found
    }
}

/// The inputs whose columns `e` uses (`None`: a column no input has).
fn inputs_of(e: &Expr, inputs: &[LogicalPlan]) -> Option<BTreeSet<usize>> {
    let mut used = BTreeSet::new();
    for c in e.column_refs() {
        used.insert(inputs.iter().position(|p| p.schema().has_column(c))?);
    }
    Some(used)
}

/// `l = r` with `l` from inputs `left` and `r` from `right`, as a join key pair.
fn key(
    e: &Expr,
    left: &BTreeSet<usize>,
    right: &BTreeSet<usize>,
    inputs: &[LogicalPlan],
) -> Option<(Expr, Expr)> {
    let Expr::BinaryExpr(b) = e else {
        return None;
    };
    if b.op != datafusion::logical_expr::Operator::Eq {
        return None;
    }
    let (l, r) = (inputs_of(&b.left, inputs)?, inputs_of(&b.right, inputs)?);
    if l.is_empty() || r.is_empty() {
        return None;
    }
    if l.is_subset(left) && r.is_subset(right) {
        Some((b.left.as_ref().clone(), b.right.as_ref().clone()))
    } else if l.is_subset(right) && r.is_subset(left) {
        Some((b.right.as_ref().clone(), b.left.as_ref().clone()))
    } else {
        None
    }
}

/// A part of the tree being built: a plan and the inputs in it.
struct Part {
    plan: LogicalPlan,
    inputs: BTreeSet<usize>,
}

/// Join `parts` in order, each next the first one a condition connects to what is joined so
/// far; `None` if some part connects to nothing. Conditions used are removed from `pending`.
fn join_all(
    mut parts: Vec<Part>,
    pending: &mut Vec<Expr>,
    inputs: &[LogicalPlan],
) -> Result<Option<Part>> {
    if parts.is_empty() {
        return Ok(None);
    }
    let mut acc = parts.remove(0);
    while !parts.is_empty() {
        let Some(next) = parts.iter().position(|p| {
            pending
                .iter()
                .any(|e| key(e, &acc.inputs, &p.inputs, inputs).is_some())
        }) else {
            return Ok(None);
        };
        let part = parts.remove(next);
        let both: BTreeSet<usize> = acc.inputs.union(&part.inputs).copied().collect();
        let (mut on, mut filters, mut rest) = (Vec::new(), Vec::new(), Vec::new());
        for e in pending.drain(..) {
            if let Some(pair) = key(&e, &acc.inputs, &part.inputs, inputs) {
                on.push(pair);
            } else if inputs_of(&e, inputs).is_some_and(|u| !u.is_empty() && u.is_subset(&both)) {
                filters.push(e);
            } else {
                rest.push(e);
            }
        }
        *pending = rest;
        let join = Join::try_new(
            Arc::new(acc.plan),
            Arc::new(part.plan),
            on,
            conjunction(filters),
            JoinType::Inner,
            JoinConstraint::On,
            NullEquality::NullEqualsNothing,
            false,
        )?;
        acc = Part {
            plan: LogicalPlan::Join(join),
            inputs: both,
        };
    }
    Ok(Some(acc))
}

fn regroup(plan: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    let original = plan.clone();
    let mut flat = Flat::default();
    flatten(plan, &mut flat);
    // the inputs' own join trees first
    let mut changed_inside = false;
    let mut inputs = Vec::with_capacity(flat.inputs.len());
    for input in std::mem::take(&mut flat.inputs) {
        let t = regroup_all(input)?;
        changed_inside |= t.transformed;
        inputs.push(t.data);
    }
    let unchanged = |inputs: Vec<LogicalPlan>| -> Result<Transformed<LogicalPlan>> {
        if !changed_inside {
            return Ok(Transformed::no(original.clone()));
        }
        // only the inputs changed: the same tree over them
        let mut inputs = inputs.into_iter();
        Ok(Transformed::yes(replace_inputs(
            original.clone(),
            &mut inputs,
        )?))
    };
    if inputs.len() < 3 {
        return unchanged(inputs);
    }
    // the groups: per database, inputs connected by conditions among themselves
    let databases: Vec<Option<String>> = inputs.iter().map(database).collect();
    let mut by_database: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, d) in databases.iter().enumerate() {
        if let Some(d) = d {
            by_database.entry(d.as_str()).or_default().push(i);
        }
    }
    let mut groups: Vec<BTreeSet<usize>> = Vec::new();
    for members in by_database.values().filter(|m| m.len() >= 2) {
        let mut left: Vec<usize> = members.clone();
        while let Some(first) = left.first().copied() {
            let mut group = BTreeSet::from([first]);
            left.retain(|&i| i != first);
            loop {
                let found = left.iter().copied().find(|&i| {
                    let one = BTreeSet::from([i]);
                    flat.conditions
                        .iter()
                        .any(|e| key(e, &group, &one, &inputs).is_some())
                });
                match found {
                    Some(i) => {
                        group.insert(i);
                        left.retain(|&j| j != i);
                    }
                    None => break,
                }
            }
            if group.len() >= 2 {
                groups.push(group);
            }
        }
    }
    let needed: Vec<&BTreeSet<usize>> = groups
        .iter()
        .filter(|g| !flat.subtrees.contains(g))
        .collect();
    if needed.is_empty() {
        return unchanged(inputs);
    }
    let mut pending = flat.conditions.clone();
    let mut slots: Vec<Option<LogicalPlan>> = inputs.iter().cloned().map(Some).collect();
    let mut parts: Vec<(usize, Part)> = Vec::new();
    // every group is joined first (those already a sub-tree too, so they stay one)
    for group in &groups {
        let mut members = Vec::with_capacity(group.len());
        for &i in group {
            let Some(plan) = slots[i].take() else {
                return internal_err!("join input {i} is in two groups");
            };
            members.push(Part {
                plan,
                inputs: BTreeSet::from([i]),
            });
        }
        let Some(joined) = join_all(members, &mut pending, &inputs)? else {
            return unchanged(inputs);
        };
        parts.push((group.first().copied().unwrap_or_default(), joined));
    }
    for (i, slot) in slots.into_iter().enumerate() {
        if let Some(plan) = slot {
            parts.push((
                i,
                Part {
                    plan,
                    inputs: BTreeSet::from([i]),
                },
            ));
        }
    }
    parts.sort_by_key(|(i, _)| *i);
    let Some(joined) = join_all(
        parts.into_iter().map(|(_, p)| p).collect(),
        &mut pending,
        &inputs,
    )?
    else {
        return unchanged(inputs);
    };
    let mut plan = joined.plan;
    if let Some(rest) = conjunction(pending) {
        plan = LogicalPlan::Filter(Filter::try_new(rest, Arc::new(plan))?);
    }
    // the columns in the order the tree had them
    let columns: Vec<Expr> = original
        .schema()
        .columns()
        .into_iter()
        .map(|c: Column| Expr::Column(c))
        .collect();
    let projected = Projection::try_new(columns, Arc::new(plan))?;
    Ok(Transformed::yes(LogicalPlan::Projection(projected)))
}

/// `plan` (a join tree) with its inputs replaced by `inputs`, in the order [`flatten`] found them.
fn replace_inputs(
    plan: LogicalPlan,
    inputs: &mut impl Iterator<Item = LogicalPlan>,
) -> Result<LogicalPlan> {
    match plan {
        LogicalPlan::Join(j) if is_inner_join(&j) => {
            let left = replace_inputs(Arc::unwrap_or_clone(j.left), inputs)?;
            let right = replace_inputs(Arc::unwrap_or_clone(j.right), inputs)?;
            Ok(LogicalPlan::Join(Join::try_new(
                Arc::new(left),
                Arc::new(right),
                j.on,
                j.filter,
                j.join_type,
                j.join_constraint,
                j.null_equality,
                j.null_aware,
            )?))
        }
        LogicalPlan::Projection(p) if drops_columns_of_a_join(&p) => {
            let input = replace_inputs(Arc::unwrap_or_clone(p.input), inputs)?;
            Ok(LogicalPlan::Projection(Projection::try_new(
                p.expr,
                Arc::new(input),
            )?))
        }
        _ => match inputs.next() {
            Some(input) => Ok(input),
            None => internal_err!("a join tree has more inputs than were found in it"),
        },
    }
}
