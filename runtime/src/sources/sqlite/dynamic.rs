//! Dynamic filters: what a join learns at run time, added to the SQL sent to SQLite.
//!
//! A scan of a SQLite table on a hash join's probe side takes the join's filter when its
//! statement starts (see [`crate::sources::learnt`]), so SQLite uses its indexes and returns
//! only the rows that can join. The superset of the filter goes through
//! [`super::pushdown::filter_sql`], which only emits SQL whose rows are a superset of
//! DataFusion's.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::Schema;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator};
use datafusion::physical_expr::PhysicalExpr;

use super::pushdown::filter_sql;
use crate::sources::learnt::supersets;

/// The most keys of one list sent to SQLite, which parses and plans each item of an `IN` list
/// (a longer list is left out; the join's bounds beside it are sent).
pub const MAX_KEYS: usize = 2_000;

/// What the filters say now: the conditions (SQLite SQL) a row must meet to pass them, empty
/// when nothing can be said; and whether an index would fetch so many rows
/// one by one that reading the table in order is cheaper (`NOT INDEXED`).
///
/// SQLite serves `key IN (...)` from an index on `key` whenever there is one, one lookup per
/// key and one row fetch per match. With `ANALYZE`'s statistics (`keys`: table rows and rows per
/// value of each indexed column) the rows an `IN` list would fetch can be estimated; when even
/// the smallest such estimate is over an eighth of the table, a scan in rowid order (split over
/// partitions) is the faster read.
pub fn learnt(
    filters: &[Arc<dyn PhysicalExpr>],
    schema: &Schema,
    keys: Option<(usize, &BTreeMap<String, f64>)>,
) -> (Vec<String>, bool) {
    let said = supersets(filters, schema, MAX_KEYS);
    let conditions = said
        .iter()
        .filter_map(|e| filter_sql(e, schema).map(|(sql, _)| sql))
        .collect();
    let not_indexed = keys.is_some_and(|(rows, per_key)| {
        let mut listed: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &said {
            in_lists(e, &mut listed);
        }
        let fetched = listed
            .iter()
            .filter_map(|(c, n)| per_key.get(*c).map(|r| *n as f64 * r))
            .fold(f64::INFINITY, f64::min);
        fetched.is_finite() && fetched > rows as f64 / 8.0
    });
    (conditions, not_indexed)
}

/// The keys listed per column by the `IN` lists a filter's rows must meet (through `AND`, and
/// added up through `OR`).
fn in_lists<'a>(e: &'a Expr, out: &mut BTreeMap<&'a str, usize>) {
    match e {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::And | Operator::Or,
            right,
        }) => {
            in_lists(left, out);
            in_lists(right, out);
        }
        Expr::InList(l) if !l.negated => {
            if let Expr::Column(c) = l.expr.as_ref() {
                *out.entry(c.name.as_str()).or_default() += l.list.len();
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conditions(filters: &[Arc<dyn PhysicalExpr>], schema: &Schema) -> Vec<String> {
        learnt(filters, schema, None).0
    }
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
        let bounds = between(&k, 3, 9);
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

    /// `k IN (0, 1, ..., n - 1)`
    fn key_list(k: &Arc<dyn PhysicalExpr>, n: i64, s: &Schema) -> Arc<dyn PhysicalExpr> {
        Arc::new(InListExpr::try_new(Arc::clone(k), (0..n).map(lit).collect(), false, s).unwrap())
    }

    /// `k >= lo AND k <= hi`
    fn between(k: &Arc<dyn PhysicalExpr>, lo: i64, hi: i64) -> Arc<dyn PhysicalExpr> {
        Arc::new(PBinary::new(
            Arc::new(PBinary::new(Arc::clone(k), Operator::GtEq, lit(lo))),
            Operator::And,
            Arc::new(PBinary::new(Arc::clone(k), Operator::LtEq, lit(hi))),
        ))
    }

    #[test]
    fn a_key_list_too_long_for_sqlite_leaves_the_bounds_beside_it() {
        let s = schema();
        let k = col("k", &s).unwrap();
        let keys = |n: i64| key_list(&k, n, &s);
        let with_bounds = |n: i64| -> Arc<dyn PhysicalExpr> {
            Arc::new(PBinary::new(between(&k, 0, n - 1), Operator::And, keys(n)))
        };
        let listed = conditions(&[with_bounds(MAX_KEYS as i64)], &s);
        assert!(listed[0].starts_with(r#"("k" IN (0, 1, "#), "{listed:?}");
        assert_eq!(
            conditions(&[with_bounds(MAX_KEYS as i64 + 1)], &s),
            vec![format!(r#"(("k" >= 0) AND ("k" <= {MAX_KEYS}))"#)]
        );
    }

    #[test]
    fn an_index_is_avoided_only_when_every_key_list_would_fetch_much_of_the_table() {
        let s = schema();
        let k = col("k", &s).unwrap();
        let keys = |n: i64| key_list(&k, n, &s);
        // 800,000 rows, 80 per key: 396 keys fetch 31,680 rows (the index serves them), 1,990
        // keys fetch 159,200 (more than an eighth: the table is read in order)
        let per_key = BTreeMap::from([("k".to_string(), 80.0)]);
        let stats = Some((800_000, &per_key));
        assert!(!learnt(&[keys(396)], &s, stats).1);
        let (sql, not_indexed) = learnt(&[keys(1_990)], &s, stats);
        assert!(not_indexed && sql.len() == 1);
        // a join's bounds beside its key list are left out (they would lead SQLite to scan
        // the index by range)
        let both: Arc<dyn PhysicalExpr> =
            Arc::new(PBinary::new(between(&k, 0, 2), Operator::And, keys(3)));
        assert_eq!(conditions(&[both], &s), vec![r#"("k" IN (0, 1, 2))"#]);
        // without statistics, or for a column that leads no index, SQLite decides
        assert!(!learnt(&[keys(1_990)], &s, None).1);
        let other = BTreeMap::from([("name".to_string(), 80.0)]);
        assert!(!learnt(&[keys(1_990)], &s, Some((800_000, &other))).1);
    }
}
