//! Dynamic filters: what a join learns at run time, added to the SQL sent to SQLite.
//!
//! A scan of a SQLite table on a hash join's probe side takes the join's filter when its
//! statement starts (see [`crate::sources::learnt`]), so SQLite uses its indexes and returns
//! only the rows that can join. The superset of the filter goes through
//! [`super::pushdown::filter_sql`], which only emits SQL whose rows are a superset of
//! DataFusion's.

use std::sync::Arc;

use arrow::datatypes::Schema;
use datafusion::physical_expr::PhysicalExpr;

use super::pushdown::filter_sql;
use crate::sources::learnt::supersets;

/// The conditions (SQLite SQL) a row must meet to pass the filters as they are now; empty when
/// nothing can be said.
pub fn conditions(filters: &[Arc<dyn PhysicalExpr>], schema: &Schema) -> Vec<String> {
    supersets(filters, schema)
        .iter()
        .filter_map(|e| filter_sql(e, schema).map(|(sql, _)| sql))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{DataType, Field};
    use datafusion::common::ScalarValue;
    use datafusion::logical_expr::Operator;
    use datafusion::physical_expr::expressions::{
        col, lit, BinaryExpr as PBinary, CaseExpr, InListExpr,
    };

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
