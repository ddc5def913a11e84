//! A large Postgres scan read in ranges of its table's pages, each range on its own connection.
//!
//! One statement's rows come back on one connection, and turning them into Arrow happens in one
//! task: for a statement that reads a large table (TPC-H q10's 150,000 customers with their
//! names, addresses and comments), that one task is the slowest part, and the Postgres backend
//! waits on it. DuckDB's Postgres scanner reads such a table in ranges of `ctid` (the row's page
//! and slot): `WHERE ctid >= '(p,0)' AND ctid < '(q,0)'` is a TID range scan since Postgres 14,
//! which reads just those pages. Here, a federated statement that is a plain scan or an inner
//! join of tables (columns only: no aggregate, DISTINCT, GROUP BY, ORDER BY, LIMIT, window or
//! subquery; run-time conditions wrapped around it are fine) is split on its largest table when
//! that table has at least [`MIN_PAGES`] pages: each range is the same statement with the range
//! added to its `WHERE`, so every row of the statement comes from exactly one range, and the
//! ranges are read at once, each on a connection of the source's pool, their rows converted in
//! their own tasks. The last range is open-ended (rows added while the statement runs are
//! read as one statement would read them).
//!
//! Only a connection the pool hands over at once is used for a second range ([`EXTRA_WAIT`]):
//! a statement holding one connection never waits for another, so statements cannot deadlock on
//! a small pool; ranges without a connection of their own are read after the others on the
//! connections there are.

use sqlparser::ast::{
    BinaryOperator, Expr, GroupByExpr, JoinOperator, ObjectName, Query, SelectItem, SetExpr,
    Statement, TableFactor, TableWithJoins,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use std::ops::ControlFlow;
use std::time::Duration;

/// Tables smaller than this (8 KB pages: 8 MB) are read as one statement.
pub const MIN_PAGES: i64 = 1_000;

/// How long a range waits for a connection of its own before it is left to the others.
pub const EXTRA_WAIT: Duration = Duration::from_millis(50);

/// At most this many ranges per statement.
const MAX_RANGES: usize = 4;

/// A statement that can be read in ranges of one of its tables.
#[derive(Debug, Clone)]
pub struct Splittable {
    statement: Statement,
    /// The tables it reads: their names as written, and how the statement refers to each
    /// (alias, or the table's own name).
    pub tables: Vec<(String, String)>,
}

/// The statement, if it can be read in ranges.
pub fn splittable(sql: &str) -> Option<Splittable> {
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?;
    if statements.len() != 1 {
        return None;
    }
    let mut statement = statements.pop()?;
    let Statement::Query(query) = &mut statement else {
        return None;
    };
    let tables = tables(target(query)?)?;
    Some(Splittable { statement, tables })
}

impl Splittable {
    /// The statements of `ranges` ranges of the table `tables[table]`'s `pages` pages, in
    /// order; together they read every row once.
    pub fn ranges(&self, table: usize, pages: i64, ranges: usize) -> Vec<String> {
        let Some((_, qualifier)) = self.tables.get(table) else {
            return vec![self.statement.to_string()];
        };
        let ranges = ranges.clamp(1, MAX_RANGES) as i64;
        let step = (pages + ranges - 1) / ranges;
        (0..ranges)
            .map(|i| {
                let (lo, hi) = (i * step, (i + 1) * step);
                let column = format!("{qualifier}.ctid");
                let condition = match (i, i == ranges - 1) {
                    (0, true) => return self.statement.to_string(),
                    (0, false) => format!("{column} < '({hi},0)'::tid"),
                    (_, true) => format!("{column} >= '({lo},0)'::tid"),
                    _ => format!("{column} >= '({lo},0)'::tid AND {column} < '({hi},0)'::tid"),
                };
                self.with_condition(&condition)
                    .unwrap_or_else(|| self.statement.to_string())
            })
            .collect()
    }

    fn with_condition(&self, condition: &str) -> Option<String> {
        let condition = Parser::new(&PostgreSqlDialect {})
            .try_with_sql(condition)
            .ok()?
            .parse_expr()
            .ok()?;
        let mut statement = self.statement.clone();
        let Statement::Query(query) = &mut statement else {
            return None;
        };
        let SetExpr::Select(select) = target(query)?.body.as_mut() else {
            return None;
        };
        select.selection = Some(match select.selection.take() {
            Some(e) => Expr::BinaryOp {
                left: Box::new(match e {
                    Expr::Nested(_) => e,
                    e => Expr::Nested(Box::new(e)),
                }),
                op: BinaryOperator::And,
                right: Box::new(condition),
            },
            None => condition,
        });
        Some(statement.to_string())
    }
}

/// How many ranges a table of `pages` pages is read in, with `parallelism` tasks: 1 below
/// [`MIN_PAGES`], each range at least half of that.
pub fn ranges_for(pages: i64, parallelism: usize) -> usize {
    if pages < MIN_PAGES {
        return 1;
    }
    let by_size = (pages / (MIN_PAGES / 2)).max(1) as usize;
    parallelism.clamp(1, MAX_RANGES).min(by_size)
}

/// The query whose `WHERE` a range goes into: the statement itself, or the one inside the
/// `SELECT * FROM (...) AS "wt_learnt"(...) WHERE ...` that run-time conditions wrap it in.
fn target(query: &mut Query) -> Option<&mut Query> {
    if query.with.is_some()
        || query.order_by.is_some()
        || query.limit_clause.is_some()
        || query.fetch.is_some()
        || !query.locks.is_empty()
        || query.for_clause.is_some()
        || !query.pipe_operators.is_empty()
    {
        return None;
    }
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    if select.distinct.is_some()
        || select.top.is_some()
        || select.into.is_some()
        || !select.lateral_views.is_empty()
        || select.prewhere.is_some()
        || !select.connect_by.is_empty()
        || !matches!(&select.group_by, GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty())
        || !select.cluster_by.is_empty()
        || !select.distribute_by.is_empty()
        || !select.sort_by.is_empty()
        || select.having.is_some()
        || !select.named_window.is_empty()
        || select.qualify.is_some()
        || select.value_table_mode.is_some()
    {
        return None;
    }
    // no subquery anywhere in its expressions (each range would run it again)
    let mut subquery = false;
    let _ = sqlparser::ast::visit_expressions(&select.selection, |e| {
        if matches!(
            e,
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. }
        ) {
            subquery = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    if subquery {
        return None;
    }
    let columns_only = select.projection.iter().all(|item| match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
            matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
        }
        SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => true,
        _ => false,
    });
    if !columns_only {
        return None;
    }
    // the wrapper of run-time conditions: the range goes into the statement inside it
    let wrapped = matches!(
        select.from.as_slice(),
        [TableWithJoins {
            relation: TableFactor::Derived {
                lateral: false,
                sample: None,
                ..
            },
            joins,
        }] if joins.is_empty()
    );
    if wrapped {
        if !matches!(select.projection.as_slice(), [SelectItem::Wildcard(_)]) {
            return None;
        }
        let SetExpr::Select(select) = query.body.as_mut() else {
            return None;
        };
        let TableFactor::Derived { subquery, .. } = &mut select.from[0].relation else {
            return None;
        };
        return target(subquery);
    }
    Some(query)
}

/// The tables a query reads, if they are plain tables joined by inner joins:
/// (name as written, how the query refers to it).
fn tables(query: &mut Query) -> Option<Vec<(String, String)>> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    let mut out = vec![];
    for from in &select.from {
        out.push(table(&from.relation)?);
        for join in &from.joins {
            match &join.join_operator {
                JoinOperator::Join(_) | JoinOperator::Inner(_) | JoinOperator::CrossJoin(_) => {}
                _ => return None,
            }
            out.push(table(&join.relation)?);
        }
    }
    (!out.is_empty()).then_some(out)
}

fn table(relation: &TableFactor) -> Option<(String, String)> {
    let TableFactor::Table {
        name,
        alias,
        args: None,
        with_hints,
        version: None,
        with_ordinality: false,
        partitions,
        json_path: None,
        sample: None,
        index_hints,
    } = relation
    else {
        return None;
    };
    if !with_hints.is_empty() || !partitions.is_empty() || !index_hints.is_empty() {
        return None;
    }
    let refer = match alias {
        Some(a) if a.columns.is_empty() => a.name.to_string(),
        Some(_) => return None,
        None => last_part(name)?,
    };
    Some((name.to_string(), refer))
}

fn last_part(name: &ObjectName) -> Option<String> {
    name.0.last().map(|p| p.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOIN: &str = r#"SELECT "customer"."c_custkey", "nation"."n_name" FROM "s"."customer" INNER JOIN "s"."nation" ON "customer"."c_nationkey" = "nation"."n_nationkey""#;

    #[test]
    fn a_join_of_tables_is_split_on_the_table_asked_for() {
        let s = splittable(JOIN).expect("a plain join can be split");
        assert_eq!(
            s.tables,
            vec![
                (r#""s"."customer""#.to_string(), r#""customer""#.to_string()),
                (r#""s"."nation""#.to_string(), r#""nation""#.to_string())
            ]
        );
        let ranges = s.ranges(0, 3000, 2);
        assert_eq!(ranges.len(), 2);
        ends_with(&ranges[0], r#"WHERE "customer".ctid < '(1500,0)'::tid"#);
        ends_with(&ranges[1], r#"WHERE "customer".ctid >= '(1500,0)'::tid"#);
        let three = s.ranges(0, 3000, 3);
        ends_with(
            &three[1],
            r#"WHERE "customer".ctid >= '(1000,0)'::tid AND "customer".ctid < '(2000,0)'::tid"#,
        );
    }

    fn ends_with(sql: &str, end: &str) {
        assert!(sql.ends_with(end), "{sql}\ndoes not end with\n{end}");
    }

    #[test]
    fn the_range_goes_inside_the_run_time_conditions_and_keeps_the_where() {
        let sql = r#"SELECT * FROM (SELECT "t"."a", "t"."b" AS "bee" FROM "t" AS "x" WHERE ("t"."a" > 3 OR "t"."b" = 1)) AS "wt_learnt"("a", "bee") WHERE "a" IN (4, 5)"#;
        let s = splittable(sql).expect("the wrapped statement can be split");
        assert_eq!(s.tables, vec![(r#""t""#.to_string(), r#""x""#.to_string())]);
        let ranges = s.ranges(0, 2000, 2);
        assert!(
            ranges[0].contains(
                r#"WHERE ("t"."a" > 3 OR "t"."b" = 1) AND "x".ctid < '(1000,0)'::tid) AS "wt_learnt""#
            ),
            "{}",
            ranges[0]
        );
        ends_with(&ranges[0], r#"WHERE "a" IN (4, 5)"#);
    }

    #[test]
    fn statements_whose_rows_are_not_a_union_of_ranges_are_not_split() {
        for sql in [
            r#"SELECT count(*) FROM "t""#,
            r#"SELECT "t"."a" FROM "t" GROUP BY "t"."a""#,
            r#"SELECT DISTINCT "t"."a" FROM "t""#,
            r#"SELECT "t"."a" FROM "t" ORDER BY "t"."a""#,
            r#"SELECT "t"."a" FROM "t" LIMIT 5"#,
            r#"SELECT "t"."a" + 1 FROM "t""#,
            r#"SELECT "t"."a" FROM "t" WHERE "t"."a" > (SELECT avg("a") FROM "t")"#,
            r#"SELECT "t"."a" FROM "t" LEFT JOIN "u" ON "t"."a" = "u"."a""#,
            r#"SELECT "v"."a" FROM (SELECT "a" FROM "t" GROUP BY "a") AS "v""#,
            r#"SELECT * FROM (SELECT "t"."a" FROM "t" LIMIT 3) AS "wt_learnt"("a") WHERE "a" = 1"#,
            r#"WITH w AS (SELECT 1) SELECT "t"."a" FROM "t""#,
            "not sql at all",
        ] {
            assert!(splittable(sql).is_none(), "{sql}");
        }
    }

    #[test]
    fn small_tables_are_one_range() {
        assert_eq!(ranges_for(999, 2), 1);
        assert_eq!(ranges_for(1_000, 2), 2);
        assert_eq!(ranges_for(1_000, 8), 2);
        assert_eq!(ranges_for(100_000, 8), MAX_RANGES);
        assert_eq!(ranges_for(100_000, 1), 1);
    }
}
