//! What a join learns at run time, as a filter a database can be sent.
//!
//! When a hash join has read its build side, DataFusion narrows the probe side with a dynamic
//! filter (`key IN (...)` for a small build side, `key BETWEEN min AND max`, per partition in a
//! `CASE` on the key's hash). A source on the probe side that runs SQL can add that filter to
//! its statement when the statement starts (the join reads its probe side only after its build
//! side), so the database uses its indexes and returns only the rows that can join, instead of
//! the whole table: SQLite tables (`sqlite::dynamic`) and federated Postgres sub-plans
//! (`pg_learnt`).
//!
//! [`supersets`] turns the filters, as they are now, into logical filters whose rows are a
//! *superset* of theirs: an `AND` keeps the parts that can be said, a `CASE` becomes the `OR` of
//! its branches, and what cannot be said is left out. DataFusion still applies the exact filter
//! (sources report it as not pushed down), so a superset is always correct. Each source then
//! translates what it can evaluate the same way DataFusion does, and leaves the rest out.

use std::sync::Arc;

use arrow::datatypes::{DataType, Schema};
use datafusion::common::{Column, ScalarValue};
use datafusion::logical_expr::{BinaryExpr, Expr, Operator};
use datafusion::physical_expr::expressions::{
    BinaryExpr as PBinary, CaseExpr, CastExpr, Column as PColumn, InListExpr, IsNullExpr, Literal,
};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr_common::physical_expr::snapshot_physical_expr;

/// The filters as they are now, as logical filters over `schema`'s columns (each keeps at least
/// the rows its filter keeps); filters that say nothing are left out. Key lists longer than
/// `max_keys` are left out too (what a source can take differs: SQLite parses every item of an
/// `IN` list, Postgres takes one array).
pub fn supersets(filters: &[Arc<dyn PhysicalExpr>], schema: &Schema, max_keys: usize) -> Vec<Expr> {
    filters
        .iter()
        .filter_map(|f| snapshot_physical_expr(Arc::clone(f)).ok())
        .filter_map(|f| superset(&f, schema, max_keys))
        .map(without_spanned_ranges)
        .filter(|e| !matches!(e, Expr::Literal(v, _) if v == &ScalarValue::Boolean(Some(true))))
        .collect()
}

/// `e` without the comparisons of a column that an `IN` list beside them (in the same `AND`)
/// already lists: a join's filter bounds its keys by their min and max *and* lists them, and
/// the bounds add nothing but may lead a database to scan an index by range instead of looking
/// the keys up. Leaving out part of an `AND` keeps a superset.
fn without_spanned_ranges(e: Expr) -> Expr {
    match e {
        Expr::BinaryExpr(BinaryExpr {
            op: Operator::Or,
            left,
            right,
        }) => without_spanned_ranges(*left).or(without_spanned_ranges(*right)),
        Expr::BinaryExpr(BinaryExpr {
            op: Operator::And, ..
        }) => {
            let mut parts = Vec::new();
            conjuncts(e, &mut parts);
            let parts: Vec<Expr> = parts.into_iter().map(without_spanned_ranges).collect();
            let listed: Vec<&Column> = parts
                .iter()
                .filter_map(|p| match p {
                    Expr::InList(l) if !l.negated => match l.expr.as_ref() {
                        Expr::Column(c) => Some(c),
                        _ => None,
                    },
                    _ => None,
                })
                .collect();
            let spanned = |p: &Expr| match p {
                Expr::BinaryExpr(BinaryExpr {
                    left,
                    op: Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq,
                    right,
                }) => [left, right]
                    .iter()
                    .any(|s| matches!(s.as_ref(), Expr::Column(c) if listed.contains(&c))),
                _ => false,
            };
            let kept: Vec<Expr> = parts.iter().filter(|p| !spanned(p)).cloned().collect();
            kept.into_iter()
                .reduce(Expr::and)
                .unwrap_or(Expr::Literal(ScalarValue::Boolean(Some(true)), None))
        }
        other => other,
    }
}

/// The operands of nested `AND`s, in order.
fn conjuncts(e: Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::BinaryExpr(BinaryExpr {
            op: Operator::And,
            left,
            right,
        }) => {
            conjuncts(*left, out);
            conjuncts(*right, out);
        }
        other => out.push(other),
    }
}

/// A logical filter whose rows include every row `e` keeps; `None` when it cannot be said.
fn superset(e: &Arc<dyn PhysicalExpr>, schema: &Schema, max_keys: usize) -> Option<Expr> {
    if let Some(b) = e.downcast_ref::<PBinary>() {
        let op = *b.op();
        return match op {
            // either side alone is a superset of both
            Operator::And => match (
                superset(b.left(), schema, max_keys),
                superset(b.right(), schema, max_keys),
            ) {
                (Some(l), Some(r)) => Some(l.and(r)),
                (Some(x), None) | (None, Some(x)) => Some(x),
                (None, None) => None,
            },
            Operator::Or => Some(superset(b.left(), schema, max_keys)?.or(superset(
                b.right(),
                schema,
                max_keys,
            )?)),
            Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq => Some(Expr::BinaryExpr(BinaryExpr::new(
                Box::new(operand(b.left(), schema)?),
                op,
                Box::new(operand(b.right(), schema)?),
            ))),
            _ => None,
        };
    }
    if let Some(l) = e.downcast_ref::<InListExpr>() {
        if l.negated() || l.list().len() > max_keys {
            return None;
        }
        let list: Option<Vec<Expr>> = l.list().iter().map(|i| operand(i, schema)).collect();
        return Some(operand(l.expr(), schema)?.in_list(list?, false));
    }
    if let Some(n) = e.downcast_ref::<IsNullExpr>() {
        return Some(operand(n.arg(), schema)?.is_null());
    }
    if let Some(c) = e.downcast_ref::<CaseExpr>() {
        // each row takes one branch: the rows kept are within the union of all branches
        let branches = c
            .when_then_expr()
            .iter()
            .map(|(_, then)| then)
            .chain(c.else_expr());
        let mut any: Option<Expr> = None;
        for b in branches {
            if is_false(b) {
                continue;
            }
            let b = superset(b, schema, max_keys)?;
            any = Some(match any {
                Some(a) => a.or(b),
                None => b,
            });
        }
        return Some(any.unwrap_or_else(|| Expr::Literal(false.into(), None)));
    }
    if let Some(l) = e.downcast_ref::<Literal>() {
        return Some(Expr::Literal(l.value().clone(), None));
    }
    None
}

fn is_false(e: &Arc<dyn PhysicalExpr>) -> bool {
    e.downcast_ref::<Literal>()
        .is_some_and(|l| l.value() == &ScalarValue::Boolean(Some(false)))
}

/// A column of the scan (by its position) or a literal. A cast of a text column to another
/// text type is the column: the values are the same (a join of text keys of two sources casts
/// one side's, Postgres text being `Utf8` and SQLite's and Parquet's `Utf8View`).
fn operand(e: &Arc<dyn PhysicalExpr>, schema: &Schema) -> Option<Expr> {
    if let Some(c) = e.downcast_ref::<PColumn>() {
        let field = schema.fields().get(c.index())?;
        return (field.name() == c.name()).then(|| Expr::Column(Column::from_name(c.name())));
    }
    if let Some(c) = e.downcast_ref::<CastExpr>() {
        let column = c.expr().downcast_ref::<PColumn>()?;
        let from = schema.fields().get(column.index())?.data_type();
        return (is_text(from) && is_text(c.cast_type()))
            .then(|| operand(c.expr(), schema))
            .flatten();
    }
    if let Some(l) = e.downcast_ref::<Literal>() {
        return Some(Expr::Literal(l.value().clone(), None));
    }
    None
}

/// Whether values of `ty` are text.
pub fn is_text(ty: &DataType) -> bool {
    matches!(
        ty,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}
