//! Run-time join filters for what federation sends to Postgres.
//!
//! datafusion-federation hands a federated sub-plan's executor the dynamic filters pushed down
//! to it (a hash join's keys, a TopK's bound; see [`crate::sources::learnt`]), and the
//! provider's Postgres executor ignores them. [`Learnt`] wraps that executor: when a statement
//! starts (after the join read its build side), the filters as they are then become a `WHERE`
//! around the statement,
//!
//! ```sql
//! SELECT * FROM (<statement>) AS "wt_learnt"("c_custkey", "c_name", ...) WHERE "c_custkey" IN (...)
//! ```
//!
//! which Postgres pushes into the statement (its indexes serve it), so only the rows that can
//! join cross the wire. The column list names the statement's columns as the sub-plan's schema
//! does, whatever the statement calls them. Every statement's rows are counted, and
//! `explain --analyze` shows, per statement, what was added and how many rows came back.
//!
//! Only what Postgres evaluates as DataFusion does (or more loosely) is sent: comparisons and
//! `IN` lists of integer, decimal and date columns with literals; equality and `IN` of text
//! (compared as `::text`, byte-wise under deterministic collations, and never an error for a
//! uuid or enum column); `IS NULL`; `AND`/`OR`. Everything else is left out, which only widens
//! the rows: DataFusion applies the exact filter again.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator};
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::PhysicalExpr;
use datafusion_federation::sql::SQLExecutor;
use futures::{StreamExt, TryStreamExt};

use super::by_sql::{self, BySql};
use super::learnt::{is_text, supersets};
use super::sqlite::pushdown::ident;
use super::wrapped_executor::Hooks;

/// Adds what joins learnt at run time to the statements a Postgres executor runs, and counts
/// the rows each statement sends back.
#[derive(Default)]
pub struct Learnt {
    sent: Arc<Sent>,
}

/// What each statement federation made became when it last ran: the conditions added to it
/// and the rows Postgres sent back, by the statement federation made. Shown by `explain
/// --analyze` through the sub-plan's metrics (`statements`).
pub type Sent = BySql<Run>;

/// One run of a statement.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// The conditions a join added (none: the statement ran as made).
    pub conditions: Vec<String>,
    /// The rows Postgres sent back (so far, while it runs).
    pub rows: Arc<AtomicUsize>,
    /// The statement sent (with the conditions).
    pub sent: String,
}

impl Hooks for Learnt {
    fn execute(
        &self,
        inner: &Arc<dyn SQLExecutor>,
        query: &str,
        schema: SchemaRef,
        filters: &[Arc<dyn PhysicalExpr>],
    ) -> Result<SendableRecordBatchStream> {
        // the filters are complete only once the join has read its build side, which is when
        // the join first asks this stream for rows: the statement is made then
        let inner = Arc::clone(inner);
        let query = query.to_string();
        let filters = filters.to_vec();
        let sent = Arc::clone(&self.sent);
        let out = Arc::clone(&schema);
        let rows = futures::stream::once(async move {
            let conditions = conditions(&filters, &schema);
            let sql = if conditions.is_empty() {
                query.clone()
            } else {
                wrap(&query, &schema, &conditions)
            };
            let counted = Arc::new(AtomicUsize::new(0));
            sent.remember(
                &query,
                Run {
                    conditions,
                    rows: Arc::clone(&counted),
                    sent: sql.clone(),
                },
            );
            Ok::<_, DataFusionError>(inner.execute(&sql, schema, &[])?.inspect_ok(move |b| {
                counted.fetch_add(b.num_rows(), Ordering::Relaxed);
            }))
        })
        .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(out, rows.boxed())))
    }

    fn metrics(&self, inner: &Arc<dyn SQLExecutor>) -> Option<MetricsSet> {
        let mut set = inner.metrics().unwrap_or_default();
        set.push(self.sent.metric("statements"));
        Some(set)
    }
}

/// The last run of `sql` (a federated statement), from a sub-plan's metrics.
pub fn last_run(metrics: Option<&MetricsSet>, sql: &str) -> Option<Run> {
    by_sql::find(metrics, "statements", sql)
}

/// `query` with `conditions` on its rows, its columns named as `schema`'s.
pub fn wrap(query: &str, schema: &Schema, conditions: &[String]) -> String {
    let columns: Vec<String> = schema.fields().iter().map(|f| ident(f.name())).collect();
    format!(
        "SELECT * FROM ({query}) AS \"wt_learnt\"({}) WHERE {}",
        columns.join(", "),
        conditions.join(" AND ")
    )
}

/// The Postgres conditions a row must meet to pass the filters as they are now.
pub fn conditions(filters: &[Arc<dyn PhysicalExpr>], schema: &Schema) -> Vec<String> {
    // a name two columns share (a join of two tables with a `region` each) is ambiguous in the
    // wrapper: conditions on it are left out
    let shared = |name: &str| schema.fields().iter().filter(|f| f.name() == name).count() > 1;
    supersets(filters, schema, MAX_KEYS)
        .iter()
        .filter(|e| !e.column_refs().iter().any(|c| shared(&c.name)))
        .filter_map(|e| condition(e, schema))
        .collect()
}

/// A condition whose rows include every row `e` keeps, if one can be said.
fn condition(e: &Expr, schema: &Schema) -> Option<String> {
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            // either side alone keeps a superset of both
            Operator::And => match (condition(left, schema), condition(right, schema)) {
                (Some(l), Some(r)) => Some(format!("({l} AND {r})")),
                (Some(x), None) | (None, Some(x)) => Some(x),
                (None, None) => None,
            },
            Operator::Or => Some(format!(
                "({} OR {})",
                condition(left, schema)?,
                condition(right, schema)?
            )),
            Operator::Eq | Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq => {
                comparison(left, *op, right, schema)
            }
            _ => None,
        },
        Expr::InList(list) if !list.negated && !list.list.is_empty() => {
            let (c, ty) = column(&list.expr, schema)?;
            if list.list.len() > MAX_IN_LIST {
                if let Some(array) = array(&list.list, &ty) {
                    return Some(format!("({} = ANY ({array}))", operand(&c, &ty)));
                }
            }
            let items: Option<Vec<String>> = list.list.iter().map(|i| literal(i, &ty)).collect();
            Some(format!("({} IN ({}))", operand(&c, &ty), items?.join(", ")))
        }
        Expr::IsNull(inner) => column(inner, schema).map(|(c, _)| format!("({c} IS NULL)")),
        Expr::Literal(ScalarValue::Boolean(Some(false)), _) => Some("FALSE".into()),
        _ => None,
    }
}

/// The most keys sent as an `IN (...)` list; more are sent as one array constant,
/// `key = ANY ('{1,2,...}'::int8[])`. Postgres parses and plans every item of an `IN` list as an
/// expression of its own; an array constant is parsed as one value, and Postgres checks
/// membership in it through a hash table, as in an `IN` list.
pub const MAX_IN_LIST: usize = 100;

/// The most keys of one list sent to Postgres (as an array of up to a few MB of SQL text; a
/// longer list is left out, the join's bounds beside it are sent).
pub const MAX_KEYS: usize = 200_000;

/// `items` as one Postgres array constant of the column's type, if each is a literal that
/// Postgres compares as DataFusion does (see [`literal`]).
fn array(items: &[Expr], ty: &DataType) -> Option<String> {
    let element = match ty {
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => "int2",
        DataType::Int32 | DataType::UInt16 => "int4",
        DataType::Int64 | DataType::UInt32 => "int8",
        DataType::UInt64 | DataType::Decimal128(..) | DataType::Decimal256(..) => "numeric",
        DataType::Date32 => "date",
        t if is_text(t) => "text",
        _ => return None,
    };
    let mut out = String::with_capacity(items.len() * 8 + 16);
    out.push_str("'{");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let Expr::Literal(v, _) = item else {
            return None;
        };
        // the same values `literal` sends, written as array elements: numbers and dates bare,
        // text in double quotes with `"` and `\` escaped (and `'` doubled for the SQL string)
        literal(item, ty)?;
        match v {
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)) => {
                out.push('"');
                for ch in s.chars() {
                    match ch {
                        '"' | '\\' => {
                            out.push('\\');
                            out.push(ch);
                        }
                        '\'' => out.push_str("''"),
                        _ => out.push(ch),
                    }
                }
                out.push('"');
            }
            v => out.push_str(&v.to_string()),
        }
    }
    out.push_str("}'::");
    out.push_str(element);
    out.push_str("[]");
    Some(out)
}

/// `column op literal` (either way round).
fn comparison(left: &Expr, op: Operator, right: &Expr, schema: &Schema) -> Option<String> {
    let (c, ty, lit, op) = match (column(left, schema), column(right, schema)) {
        (Some((c, ty)), None) => (c, ty, right, op),
        (None, Some((c, ty))) => (c, ty, left, op.swap()?),
        _ => return None,
    };
    // text is ordered by collation in Postgres, by bytes in DataFusion: only equality agrees
    if is_text(&ty) && op != Operator::Eq {
        return None;
    }
    let word = match op {
        Operator::Eq => "=",
        Operator::Lt => "<",
        Operator::LtEq => "<=",
        Operator::Gt => ">",
        Operator::GtEq => ">=",
        _ => return None,
    };
    Some(format!(
        "({} {word} {})",
        operand(&c, &ty),
        literal(lit, &ty)?
    ))
}

/// A column of the statement, quoted, with its Arrow type.
fn column(e: &Expr, schema: &Schema) -> Option<(String, DataType)> {
    let Expr::Column(c) = e else { return None };
    let field = schema.field_with_name(&c.name).ok()?;
    Some((ident(&c.name), field.data_type().clone()))
}

/// The column as compared: text as `::text` (a uuid, enum or varchar column compares as text,
/// and a literal that is no valid uuid is then no error).
fn operand(column: &str, ty: &DataType) -> String {
    if is_text(ty) {
        format!("{column}::text")
    } else {
        column.to_string()
    }
}

/// A literal compared with a column of type `ty`, if Postgres compares it as DataFusion does.
fn literal(e: &Expr, ty: &DataType) -> Option<String> {
    let Expr::Literal(v, _) = e else { return None };
    let number = |s: String| {
        (ty.is_integer() || matches!(ty, DataType::Decimal128(..) | DataType::Decimal256(..)))
            .then_some(s)
    };
    match v {
        ScalarValue::Int8(Some(x)) => number(x.to_string()),
        ScalarValue::Int16(Some(x)) => number(x.to_string()),
        ScalarValue::Int32(Some(x)) => number(x.to_string()),
        ScalarValue::Int64(Some(x)) => number(x.to_string()),
        ScalarValue::UInt8(Some(x)) => number(x.to_string()),
        ScalarValue::UInt16(Some(x)) => number(x.to_string()),
        ScalarValue::UInt32(Some(x)) => number(x.to_string()),
        ScalarValue::UInt64(Some(x)) => number(x.to_string()),
        ScalarValue::Decimal128(Some(_), _, _) => number(v.to_string()),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s))
            if is_text(ty) && !s.contains('\0') =>
        {
            Some(format!("'{}'", s.replace('\'', "''")))
        }
        ScalarValue::Date32(Some(_)) if *ty == DataType::Date32 => Some(format!("DATE '{v}'")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::Field;
    use datafusion::physical_expr::expressions::{col, lit, BinaryExpr as PBinary, InListExpr};

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("k", DataType::Int32, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("odd\"name", DataType::Date32, true),
        ])
    }

    #[test]
    fn join_keys_become_postgres_conditions() {
        let s = schema();
        let k = col("k", &s).unwrap();
        let name = col("name", &s).unwrap();
        let keys = Arc::new(
            InListExpr::try_new(Arc::clone(&k), vec![lit(3i32), lit(9i32)], false, &s).unwrap(),
        ) as Arc<dyn PhysicalExpr>;
        let bounds: Arc<dyn PhysicalExpr> = Arc::new(PBinary::new(
            Arc::new(PBinary::new(Arc::clone(&k), Operator::GtEq, lit(3i32))),
            Operator::And,
            Arc::new(PBinary::new(Arc::clone(&k), Operator::LtEq, lit(9i32))),
        ));
        // text: equality only, as text; a range of text is left out (collations differ)
        let text_eq: Arc<dyn PhysicalExpr> =
            Arc::new(PBinary::new(Arc::clone(&name), Operator::Eq, lit("o'k")));
        let text_range: Arc<dyn PhysicalExpr> =
            Arc::new(PBinary::new(Arc::clone(&name), Operator::Lt, lit("m")));
        let got = conditions(&[keys, bounds, text_eq, text_range], &s);
        assert_eq!(
            got,
            vec![
                r#"("k" IN (3, 9))"#,
                r#"(("k" >= 3) AND ("k" <= 9))"#,
                r#"("name"::text = 'o''k')"#,
            ]
        );
        assert_eq!(
            wrap("SELECT a, b FROM t", &s, &got[..1]),
            r#"SELECT * FROM (SELECT a, b FROM t) AS "wt_learnt"("k", "name", "odd""name") WHERE ("k" IN (3, 9))"#
        );
    }

    #[test]
    fn a_long_key_list_is_sent_as_one_array_constant() {
        let s = schema();
        let list = |c: &str, items: Vec<Arc<dyn PhysicalExpr>>| {
            Arc::new(InListExpr::try_new(col(c, &s).unwrap(), items, false, &s).unwrap())
                as Arc<dyn PhysicalExpr>
        };
        let keys = list("k", (0..=MAX_IN_LIST as i32).map(lit).collect());
        let numbers: Vec<String> = (0..=MAX_IN_LIST).map(|i| i.to_string()).collect();
        assert_eq!(
            conditions(&[keys], &s),
            vec![format!(
                r#"("k" = ANY ('{{{}}}'::int4[]))"#,
                numbers.join(",")
            )]
        );
        // text: each element quoted, `"` and `\` escaped for the array, `'` for the SQL string
        let mut names: Vec<Arc<dyn PhysicalExpr>> =
            (0..MAX_IN_LIST).map(|i| lit(format!("n{i}"))).collect();
        names.push(lit(r#"it's "a\b""#));
        let got = conditions(&[list("name", names)], &s);
        assert!(
            got[0].starts_with(r#"("name"::text = ANY ('{"n0","n1","#)
                && got[0].ends_with(r#","it''s \"a\\b\""}'::text[]))"#),
            "{got:?}"
        );
        // a join of Postgres text with SQLite or Parquet text casts the Postgres side's keys to
        // `Utf8View`: the same values, sent as the column's
        let cast = Arc::new(datafusion::physical_expr::expressions::CastExpr::new(
            col("name", &s).unwrap(),
            DataType::Utf8View,
            None,
        )) as Arc<dyn PhysicalExpr>;
        let viewed = Arc::new(
            InListExpr::try_new(
                cast,
                vec![lit(ScalarValue::Utf8View(Some("a".into())))],
                false,
                &s,
            )
            .unwrap(),
        ) as Arc<dyn PhysicalExpr>;
        assert_eq!(
            conditions(&[viewed], &s),
            vec![r#"("name"::text IN ('a'))"#]
        );
        // up to the limit, an IN list
        let short = list("k", (0..MAX_IN_LIST as i32).map(lit).collect());
        assert!(conditions(&[short], &s)[0].starts_with(r#"("k" IN (0, 1, "#));
    }

    #[test]
    fn a_name_two_columns_share_gets_no_condition() {
        // a join of two tables that each have `region`, sent as one statement
        let s = Schema::new(vec![
            Field::new("region", DataType::Int32, true),
            Field::new("k", DataType::Int32, false),
            Field::new("region", DataType::Int32, true),
        ]);
        let on = |i: usize, name: &str| -> Arc<dyn PhysicalExpr> {
            Arc::new(PBinary::new(
                Arc::new(datafusion::physical_expr::expressions::Column::new(name, i)),
                Operator::Eq,
                lit(7i32),
            ))
        };
        assert_eq!(
            conditions(&[on(0, "region"), on(1, "k"), on(2, "region")], &s),
            vec![r#"("k" = 7)"#]
        );
    }
}
