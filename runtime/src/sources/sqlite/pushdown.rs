//! Filters pushed into the SQL sent to SQLite.
//!
//! A DataFusion filter is translated only where SQLite's semantics match DataFusion's, or where
//! SQLite returns a superset of the rows (then the filter is `Inexact`: DataFusion filters the
//! rows again). Anything else stays in DataFusion (`Unsupported`). In particular:
//! - comparisons of a column with a literal, `AND`/`OR`, `NOT` of an exact filter, `IS [NOT]
//!   NULL`, `IN (...)` and `BETWEEN` on numbers, text and booleans are exact;
//! - timestamps and dates may be stored as text or as Unix seconds, so they are compared as
//!   seconds with a millisecond of slack either way, and the filter is inexact;
//! - SQLite's `LIKE` ignores ASCII case, so `LIKE` is inexact (a superset) and `NOT LIKE`,
//!   `ILIKE` are not pushed.

use arrow::datatypes::{DataType, Schema, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{
    Between, BinaryExpr, Expr, Like, Operator, TableProviderFilterPushDown,
};

/// How well SQLite can evaluate a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fit {
    /// SQLite returns a superset of the rows; DataFusion filters again.
    Inexact,
    /// SQLite returns exactly the rows.
    Exact,
}

impl Fit {
    pub fn pushdown(f: Option<Fit>) -> TableProviderFilterPushDown {
        match f {
            Some(Fit::Exact) => TableProviderFilterPushDown::Exact,
            Some(Fit::Inexact) => TableProviderFilterPushDown::Inexact,
            None => TableProviderFilterPushDown::Unsupported,
        }
    }
}

/// Quote an identifier for SQLite.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The filter as SQLite SQL, and how exact it is; `None` if it cannot be pushed.
pub fn filter_sql(e: &Expr, schema: &Schema) -> Option<(String, Fit)> {
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And | Operator::Or => {
                let (l, lf) = filter_sql(left, schema)?;
                let (r, rf) = filter_sql(right, schema)?;
                let word = if *op == Operator::And { "AND" } else { "OR" };
                Some((format!("({l} {word} {r})"), lf.min(rf)))
            }
            Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq => comparison(left, *op, right, schema),
            _ => None,
        },
        Expr::Not(inner) => {
            let (s, fit) = filter_sql(inner, schema)?;
            // NOT of a superset is a subset: only an exact filter can be negated
            (fit == Fit::Exact).then(|| (format!("(NOT {s})"), Fit::Exact))
        }
        Expr::IsNull(inner) => {
            column(inner, schema).map(|(c, _)| (format!("({c} IS NULL)"), Fit::Exact))
        }
        Expr::IsNotNull(inner) => {
            column(inner, schema).map(|(c, _)| (format!("({c} IS NOT NULL)"), Fit::Exact))
        }
        Expr::InList(list) => {
            let (c, ty) = column(&list.expr, schema)?;
            if is_temporal(&ty) || list.list.is_empty() {
                return None;
            }
            let items: Option<Vec<String>> = list
                .list
                .iter()
                .map(|i| literal(i).and_then(|v| plain_literal(&v, &ty)))
                .collect();
            let not = if list.negated { "NOT " } else { "" };
            Some((format!("({c} {not}IN ({}))", items?.join(", ")), Fit::Exact))
        }
        Expr::Between(Between {
            expr,
            negated,
            low,
            high,
        }) => {
            let (lo, lf) = comparison(expr, Operator::GtEq, low, schema)?;
            let (hi, hf) = comparison(expr, Operator::LtEq, high, schema)?;
            let fit = lf.min(hf);
            if *negated {
                (fit == Fit::Exact).then(|| (format!("(NOT ({lo} AND {hi}))"), Fit::Exact))
            } else {
                Some((format!("({lo} AND {hi})"), fit))
            }
        }
        Expr::Like(Like {
            negated: false,
            expr,
            pattern,
            escape_char,
            case_insensitive: false,
        }) => {
            let (c, ty) = column(expr, schema)?;
            if !matches!(
                ty,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            ) {
                return None;
            }
            let p = match literal(pattern)? {
                ScalarValue::Utf8(Some(p))
                | ScalarValue::LargeUtf8(Some(p))
                | ScalarValue::Utf8View(Some(p)) => p,
                _ => return None,
            };
            // DataFusion treats `\` as the escape character unless told otherwise
            let esc = escape_char.unwrap_or('\\');
            Some((
                format!("({c} LIKE {} ESCAPE {})", text(&p), text(&esc.to_string())),
                Fit::Inexact,
            ))
        }
        _ => None,
    }
}

fn column(e: &Expr, schema: &Schema) -> Option<(String, DataType)> {
    match e {
        Expr::Column(c) => {
            let field = schema.field_with_name(&c.name).ok()?;
            Some((ident(&c.name), field.data_type().clone()))
        }
        _ => None,
    }
}

fn literal(e: &Expr) -> Option<ScalarValue> {
    match e {
        Expr::Literal(v, _) if !v.is_null() => Some(v.clone()),
        _ => None,
    }
}

fn is_temporal(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64
    )
}

fn is_numeric(t: &DataType) -> bool {
    t.is_integer() || t.is_floating()
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// A literal compared with a column of type `ty`, when the comparison means the same in SQLite.
fn plain_literal(v: &ScalarValue, ty: &DataType) -> Option<String> {
    match v {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s))
            if is_text(ty) =>
        {
            Some(text(s))
        }
        ScalarValue::Boolean(Some(b)) if *ty == DataType::Boolean => {
            Some(if *b { "1" } else { "0" }.into())
        }
        v if is_numeric(ty) => match v {
            ScalarValue::Int8(Some(x)) => Some(x.to_string()),
            ScalarValue::Int16(Some(x)) => Some(x.to_string()),
            ScalarValue::Int32(Some(x)) => Some(x.to_string()),
            ScalarValue::Int64(Some(x)) => Some(x.to_string()),
            ScalarValue::UInt8(Some(x)) => Some(x.to_string()),
            ScalarValue::UInt16(Some(x)) => Some(x.to_string()),
            ScalarValue::UInt32(Some(x)) => Some(x.to_string()),
            ScalarValue::UInt64(Some(x)) if *x <= i64::MAX as u64 => Some(x.to_string()),
            ScalarValue::Float32(Some(x)) if x.is_finite() => Some(format!("{:?}", *x as f64)),
            ScalarValue::Float64(Some(x)) if x.is_finite() => Some(format!("{x:?}")),
            _ => None,
        },
        _ => None,
    }
}

/// Seconds since the epoch of a temporal literal.
fn literal_seconds(v: &ScalarValue) -> Option<f64> {
    Some(match v {
        ScalarValue::Date32(Some(d)) => *d as f64 * 86_400.0,
        ScalarValue::Date64(Some(ms)) => *ms as f64 / 1e3,
        ScalarValue::TimestampSecond(Some(s), _) => *s as f64,
        ScalarValue::TimestampMillisecond(Some(x), _) => *x as f64 / 1e3,
        ScalarValue::TimestampMicrosecond(Some(x), _) => *x as f64 / 1e6,
        ScalarValue::TimestampNanosecond(Some(x), _) => *x as f64 / 1e9,
        _ => return None,
    })
}

/// A temporal column as seconds since the epoch: Unix seconds stored as numbers, text parsed
/// by SQLite's date functions.
fn seconds_expr(col: &str) -> String {
    format!("(CASE WHEN typeof({col}) IN ('integer', 'real') THEN {col} ELSE unixepoch({col}, 'subsec') END)")
}

fn flip(op: Operator) -> Operator {
    match op {
        Operator::Lt => Operator::Gt,
        Operator::LtEq => Operator::GtEq,
        Operator::Gt => Operator::Lt,
        Operator::GtEq => Operator::LtEq,
        other => other,
    }
}

fn op_sql(op: Operator) -> &'static str {
    match op {
        Operator::Eq => "=",
        Operator::NotEq => "<>",
        Operator::Lt => "<",
        Operator::LtEq => "<=",
        Operator::Gt => ">",
        _ => ">=",
    }
}

fn comparison(left: &Expr, op: Operator, right: &Expr, schema: &Schema) -> Option<(String, Fit)> {
    let ((c, ty), v, op) = match (column(left, schema), literal(right)) {
        (Some(c), Some(v)) => (c, v, op),
        _ => (column(right, schema)?, literal(left)?, flip(op)),
    };
    if is_temporal(&ty) {
        // seconds with a millisecond of slack: a superset, filtered again by DataFusion
        if matches!(
            ty,
            DataType::Timestamp(
                TimeUnit::Second
                    | TimeUnit::Millisecond
                    | TimeUnit::Microsecond
                    | TimeUnit::Nanosecond,
                _
            ) | DataType::Date32
                | DataType::Date64
        ) {
            let s = literal_seconds(&v)?;
            let col = seconds_expr(&c);
            let slack = 0.001;
            let sql = match op {
                Operator::Eq => format!("({col} BETWEEN {:?} AND {:?})", s - slack, s + slack),
                Operator::NotEq => return None,
                Operator::Lt | Operator::LtEq => format!("({col} <= {:?})", s + slack),
                _ => format!("({col} >= {:?})", s - slack),
            };
            return Some((sql, Fit::Inexact));
        }
        return None;
    }
    let lit = plain_literal(&v, &ty)?;
    Some((format!("({c} {} {lit})", op_sql(op)), Fit::Exact))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::Field;
    use datafusion::prelude::{col, lit};

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("n", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        ])
    }

    #[test]
    fn comparisons_translate() {
        let s = schema();
        let (sql, fit) = filter_sql(&col("n").gt(lit(5i64)), &s).unwrap();
        assert_eq!(sql, "(\"n\" > 5)");
        assert_eq!(fit, Fit::Exact);
        let (sql, _) = filter_sql(&lit(5i64).gt(col("n")), &s).unwrap();
        assert_eq!(sql, "(\"n\" < 5)");
        let (sql, _) = filter_sql(&col("s").eq(lit("it's")), &s).unwrap();
        assert_eq!(sql, "(\"s\" = 'it''s')");
    }

    #[test]
    fn timestamps_are_inexact() {
        let s = schema();
        let e = col("ts").gt_eq(lit(ScalarValue::TimestampMicrosecond(
            Some(1_000_000),
            None,
        )));
        let (sql, fit) = filter_sql(&e, &s).unwrap();
        assert!(sql.contains("unixepoch"), "{sql}");
        assert!(sql.contains(">= 0.999"), "{sql}");
        assert_eq!(fit, Fit::Inexact);
        // NOT of an inexact filter is not pushed
        assert!(filter_sql(&Expr::Not(Box::new(e)), &s).is_none());
    }

    #[test]
    fn mismatched_types_and_functions_stay_in_datafusion() {
        let s = schema();
        assert!(filter_sql(&col("s").eq(lit(5i64)), &s).is_none());
        assert!(filter_sql(&(col("n") + lit(1i64)).gt(lit(5i64)), &s).is_none());
        assert!(filter_sql(&col("missing").eq(lit(1i64)), &s).is_none());
    }

    #[test]
    fn like_is_a_superset() {
        let s = schema();
        let (sql, fit) = filter_sql(&col("s").like(lit("a%")), &s).unwrap();
        assert_eq!(sql, "(\"s\" LIKE 'a%' ESCAPE '\\')");
        assert_eq!(fit, Fit::Inexact);
        assert!(filter_sql(&col("s").not_like(lit("a%")), &s).is_none());
        assert!(filter_sql(&col("s").ilike(lit("a%")), &s).is_none());
    }

    #[test]
    fn in_lists_and_null_checks() {
        let s = schema();
        let (sql, fit) =
            filter_sql(&col("n").in_list(vec![lit(1i64), lit(2i64)], false), &s).unwrap();
        assert_eq!(sql, "(\"n\" IN (1, 2))");
        assert_eq!(fit, Fit::Exact);
        let (sql, _) = filter_sql(&col("s").is_null().or(col("n").is_not_null()), &s).unwrap();
        assert_eq!(sql, "((\"s\" IS NULL) OR (\"n\" IS NOT NULL))");
    }
}
