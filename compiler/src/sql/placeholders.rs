//! Placeholders (`$name`) in a statement: where they are, and dropping the predicates of
//! optional parameters that a caller left out.

use std::collections::HashSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, JoinConstraint, JoinOperator, LimitClause, ObjectName, Query, Select,
    Statement, TableFactor, Value, Visit, VisitMut, Visitor, VisitorMut,
};

/// One use of a placeholder.
#[derive(Debug, Clone)]
pub struct Use {
    /// The name without `$` (or the raw text for `?`/`$1`).
    pub name: String,
    pub raw: String,
    pub span: sqlparser::tokenizer::Span,
    /// Directly an item of `x IN (...)`.
    pub in_list: bool,
}

impl Use {
    /// `$1` and `?` are positional: tools use named parameters.
    pub fn is_positional(&self) -> bool {
        self.raw == "?" || self.name.chars().all(|c| c.is_ascii_digit())
    }
}

/// Relations and placeholders of a statement.
#[derive(Debug, Default)]
pub struct Scan {
    pub uses: Vec<Use>,
    /// Table names (not CTEs), with the arguments of table-function calls.
    pub relations: Vec<(ObjectName, Option<Vec<sqlparser::ast::FunctionArg>>)>,
    pub ctes: HashSet<String>,
}

pub fn placeholder_name(v: &Value) -> Option<&str> {
    match v {
        Value::Placeholder(p) => Some(p.as_str()),
        _ => None,
    }
}

struct Scanner {
    scan: Scan,
    in_list_spans: HashSet<(u64, u64)>,
}

impl Visitor for Scanner {
    type Break = ();

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                self.scan.ctes.insert(normalize(&cte.alias.name));
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table { name, args, .. } = t {
            self.scan
                .relations
                .push((name.clone(), args.as_ref().map(|a| a.args.clone())));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if let Expr::InList { list, .. } = e {
            for item in list {
                if let Expr::Value(v) = item {
                    if placeholder_name(&v.value).is_some() {
                        self.in_list_spans
                            .insert((v.span.start.line, v.span.start.column));
                    }
                }
            }
        }
        if let Expr::Value(v) = e {
            if let Some(raw) = placeholder_name(&v.value) {
                let name = raw.trim_start_matches(['$', ':', '@']).to_string();
                self.scan.uses.push(Use {
                    name,
                    raw: raw.to_string(),
                    span: v.span,
                    in_list: self
                        .in_list_spans
                        .contains(&(v.span.start.line, v.span.start.column)),
                });
            }
        }
        ControlFlow::Continue(())
    }
}

/// Normalise an identifier as DataFusion does: unquoted names are lower-cased.
pub fn normalize(ident: &sqlparser::ast::Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

pub fn scan(stmt: &Statement) -> Scan {
    let mut s = Scanner {
        scan: Scan::default(),
        in_list_spans: HashSet::new(),
    };
    let _ = stmt.visit(&mut s);
    s.scan
}

fn mentions_any(e: &Expr, absent: &HashSet<String>) -> bool {
    struct Finder<'a>(&'a HashSet<String>, bool);
    impl Visitor for Finder<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if let Expr::Value(v) = e {
                if let Some(p) = placeholder_name(&v.value) {
                    if self.0.contains(p.trim_start_matches('$')) {
                        self.1 = true;
                        return ControlFlow::Break(());
                    }
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut f = Finder(absent, false);
    let _ = e.visit(&mut f);
    f.1
}

/// Drop the conjuncts that mention an absent parameter from `expr`; `None` if nothing is left.
fn drop_conjuncts(expr: Expr, absent: &HashSet<String>) -> Option<Expr> {
    match expr {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            let l = drop_conjuncts(*left, absent);
            let r = drop_conjuncts(*right, absent);
            match (l, r) {
                (Some(l), Some(r)) => Some(Expr::BinaryOp {
                    left: Box::new(l),
                    op: BinaryOperator::And,
                    right: Box::new(r),
                }),
                (Some(x), None) | (None, Some(x)) => Some(x),
                (None, None) => None,
            }
        }
        Expr::Nested(inner)
            if matches!(
                *inner,
                Expr::BinaryOp {
                    op: BinaryOperator::And,
                    ..
                }
            ) =>
        {
            drop_conjuncts(*inner, absent).map(|e| Expr::Nested(Box::new(e)))
        }
        e if mentions_any(&e, absent) => None,
        e => Some(e),
    }
}

struct Specializer<'a> {
    absent: &'a HashSet<String>,
}

fn is_absent_placeholder(e: &Expr, absent: &HashSet<String>) -> bool {
    matches!(e, Expr::Value(v) if placeholder_name(&v.value).is_some_and(|p| absent.contains(p.trim_start_matches('$'))))
}

impl VisitorMut for Specializer<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, q: &mut Query) -> ControlFlow<()> {
        if let Some(LimitClause::LimitOffset { limit, offset, .. }) = &mut q.limit_clause {
            if limit
                .as_ref()
                .is_some_and(|l| is_absent_placeholder(l, self.absent))
            {
                *limit = None;
            }
            if offset
                .as_ref()
                .is_some_and(|o| is_absent_placeholder(&o.value, self.absent))
            {
                *offset = None;
            }
        }
        // WHERE/HAVING/JOIN ON are handled in `pre_visit_select`
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<()> {
        self.select(select);
        ControlFlow::Continue(())
    }
}

impl Specializer<'_> {
    fn select(&self, select: &mut Select) {
        if let Some(w) = select.selection.take() {
            select.selection = drop_conjuncts(w, self.absent);
        }
        if let Some(h) = select.having.take() {
            select.having = drop_conjuncts(h, self.absent);
        }
        for twj in &mut select.from {
            for join in &mut twj.joins {
                let constraint = match &mut join.join_operator {
                    JoinOperator::Join(c)
                    | JoinOperator::Inner(c)
                    | JoinOperator::Left(c)
                    | JoinOperator::LeftOuter(c)
                    | JoinOperator::Right(c)
                    | JoinOperator::RightOuter(c)
                    | JoinOperator::FullOuter(c) => c,
                    _ => continue,
                };
                if let JoinConstraint::On(on) = constraint {
                    let e = std::mem::replace(on, Expr::Value(Value::Boolean(true).into()));
                    *on = drop_conjuncts(e, self.absent)
                        .unwrap_or(Expr::Value(Value::Boolean(true).into()));
                }
            }
        }
    }
}

/// The statement with every predicate (WHERE/HAVING/JOIN ON conjunct) and LIMIT/OFFSET that
/// uses an absent optional parameter removed. Parameters never reach the SQL text; this only
/// removes structure.
pub fn specialize(stmt: &Statement, absent: &HashSet<String>) -> Statement {
    let mut out = stmt.clone();
    if absent.is_empty() {
        return out;
    }
    let mut s = Specializer { absent };
    let _ = VisitMut::visit(&mut out, &mut s);
    out
}

/// Rename named placeholders to positional ones (`$region` → `$1`, by first appearance).
/// DataFusion plans named placeholders in queries, but not in `INSERT ... VALUES`, which
/// types its placeholders from the target columns by position. Returns the statement and the
/// names in position order.
pub fn to_positional(stmt: &Statement) -> (Statement, Vec<String>) {
    struct Renamer {
        names: Vec<String>,
    }
    impl VisitorMut for Renamer {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
            if let Expr::Value(v) = e {
                if let Value::Placeholder(p) = &mut v.value {
                    let name = p.trim_start_matches('$').to_string();
                    if !name.is_empty() && !name.chars().all(|c| c.is_ascii_digit()) {
                        let i = match self.names.iter().position(|n| *n == name) {
                            Some(i) => i,
                            None => {
                                self.names.push(name);
                                self.names.len() - 1
                            }
                        };
                        *p = format!("${}", i + 1);
                    }
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut out = stmt.clone();
    let mut r = Renamer { names: Vec::new() };
    let _ = VisitMut::visit(&mut out, &mut r);
    (out, r.names)
}
