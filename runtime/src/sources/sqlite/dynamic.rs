//! Dynamic filters: what a join learns at run time, added to the SQL sent to SQLite.
//!
//! When a hash join has read its build side, DataFusion narrows the probe side with a dynamic
//! filter (`key IN (...)` for a small build side, `key BETWEEN min AND max`, per partition in a
//! `CASE` on the key's hash). A scan of a SQLite table on the probe side takes that filter when
//! its statement starts — the join reads its probe side only after the build side — so SQLite
//! uses its indexes and returns only the rows that can join, instead of the whole table.
//!
//! The filter is translated to a *superset*: an `AND` keeps the parts SQLite can evaluate, a
//! `CASE` becomes the `OR` of its branches, and what cannot be translated is left out.
//! DataFusion still applies the exact filter (the scan reports it as not pushed down), so a
//! superset is always correct; translation then goes through [`super::pushdown::filter_sql`],
//! which only emits SQL whose rows are a superset of DataFusion's.

use std::sync::Arc;

use arrow::datatypes::Schema;
use datafusion::common::Column;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator};
use datafusion::physical_expr::expressions::{
    BinaryExpr as PBinary, CaseExpr, Column as PColumn, InListExpr, IsNullExpr, Literal,
};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr_common::physical_expr::snapshot_physical_expr;

use super::pushdown::filter_sql;

/// The conditions (SQLite SQL) a row must meet to pass the filters as they are now; empty when
/// nothing can be said.
pub fn conditions(filters: &[Arc<dyn PhysicalExpr>], schema: &Schema) -> Vec<String> {
    filters
        .iter()
        .filter_map(|f| snapshot_physical_expr(Arc::clone(f)).ok())
        .filter_map(|f| superset(&f, schema))
        .filter(|e| !matches!(e, Expr::Literal(v, _) if v == &datafusion::common::ScalarValue::Boolean(Some(true))))
        .filter_map(|e| filter_sql(&e, schema).map(|(sql, _)| sql))
        .collect()
}

/// A logical filter whose rows include every row `e` keeps; `None` when it cannot be said.
fn superset(e: &Arc<dyn PhysicalExpr>, schema: &Schema) -> Option<Expr> {
    if let Some(b) = e.downcast_ref::<PBinary>() {
        let op = *b.op();
        return match op {
            // either side alone is a superset of both
            Operator::And => match (superset(b.left(), schema), superset(b.right(), schema)) {
                (Some(l), Some(r)) => Some(l.and(r)),
                (Some(x), None) | (None, Some(x)) => Some(x),
                (None, None) => None,
            },
            Operator::Or => Some(superset(b.left(), schema)?.or(superset(b.right(), schema)?)),
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
        if l.negated() {
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
            let b = superset(b, schema)?;
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
        .is_some_and(|l| l.value() == &datafusion::common::ScalarValue::Boolean(Some(false)))
}

/// A column of the scan (by its position) or a literal.
fn operand(e: &Arc<dyn PhysicalExpr>, schema: &Schema) -> Option<Expr> {
    if let Some(c) = e.downcast_ref::<PColumn>() {
        let field = schema.fields().get(c.index())?;
        return (field.name() == c.name()).then(|| Expr::Column(Column::from_name(c.name())));
    }
    if let Some(l) = e.downcast_ref::<Literal>() {
        return Some(Expr::Literal(l.value().clone(), None));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{DataType, Field};
    use datafusion::common::ScalarValue;
    use datafusion::physical_expr::expressions::{col, lit};

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("k", DataType::Int64, false),
            Field::new("name", DataType::Utf8View, true),
        ])
    }

    #[test]
    fn join_filters_become_sql_supersets() {
        let s = schema();
        let k = col("k", &s).unwrap();
        let bounds: Arc<dyn PhysicalExpr> = Arc::new(PBinary::new(
            Arc::new(PBinary::new(Arc::clone(&k), Operator::GtEq, lit(3i64))),
            Operator::And,
            Arc::new(PBinary::new(Arc::clone(&k), Operator::LtEq, lit(9i64))),
        ));
        let list = Arc::new(
            InListExpr::try_new(Arc::clone(&k), vec![lit(3i64), lit(9i64)], false, &s).unwrap(),
        ) as Arc<dyn PhysicalExpr>;
        // an untranslatable part of an AND is left out
        let opaque: Arc<dyn PhysicalExpr> =
            Arc::new(PBinary::new(Arc::clone(&k), Operator::Modulo, lit(2i64)));
        let membership: Arc<dyn PhysicalExpr> =
            Arc::new(PBinary::new(Arc::clone(&list), Operator::And, opaque));
        let per_partition: Arc<dyn PhysicalExpr> = Arc::new(
            CaseExpr::try_new(
                Some(lit(ScalarValue::UInt64(Some(0)))),
                vec![
                    (lit(ScalarValue::UInt64(Some(0))), membership),
                    (lit(ScalarValue::UInt64(Some(1))), lit(false)),
                    (lit(ScalarValue::UInt64(Some(2))), bounds),
                ],
                Some(lit(false)),
            )
            .unwrap(),
        );
        let sql = conditions(&[per_partition], &s);
        assert_eq!(
            sql,
            vec![r#"(("k" IN (3, 9)) OR (("k" >= 3) AND ("k" <= 9)))"#.to_string()]
        );
        // a CASE with an untranslatable branch says nothing
        let hashed: Arc<dyn PhysicalExpr> = Arc::new(
            CaseExpr::try_new(
                Some(lit(ScalarValue::UInt64(Some(0)))),
                vec![(
                    lit(ScalarValue::UInt64(Some(0))),
                    Arc::new(PBinary::new(Arc::clone(&k), Operator::Modulo, lit(2i64)))
                        as Arc<dyn PhysicalExpr>,
                )],
                Some(lit(true)),
            )
            .unwrap(),
        );
        assert!(conditions(&[hashed], &s).is_empty());
        assert!(conditions(&[lit(true)], &s).is_empty());
    }
}
