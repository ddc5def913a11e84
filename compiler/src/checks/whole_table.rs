//! A tool that reads a whole database table (no filter, limit or aggregate reaches the source)
//! moves every row of it into widgettdc on each call: warn (`E505`). Judged on the plan after
//! DataFusion's optimizer has pushed filters and limits down, the way the runtime runs it (a
//! filter, limit or aggregate right above the table runs inside the database).

use datafusion_common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion_common::TableReference;
use datafusion_expr::{Expr, LogicalPlan};
use datafusion_optimizer::push_down_filter::PushDownFilter;
use datafusion_optimizer::push_down_limit::PushDownLimit;
use datafusion_optimizer::{Optimizer, OptimizerContext};

use super::CheckCx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;

fn source_of(r: &TableReference) -> (String, String) {
    match r {
        TableReference::Bare { table } => (table.to_string(), table.to_string()),
        TableReference::Partial { schema, table } => (schema.to_string(), table.to_string()),
        TableReference::Full { catalog, table, .. } => (catalog.to_string(), table.to_string()),
    }
}

/// The tables a plan scans: `(source, table, reduced)`, where `reduced` says the scan itself
/// carries a real filter or a limit.
fn scans(plan: &LogicalPlan) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    let _ = plan.apply_with_subqueries(|p| {
        if let LogicalPlan::TableScan(scan) = p {
            // `x IS NOT NULL` is what the optimizer infers from a join key: it selects nearly
            // every row, so it does not count as a filter
            let filtered = scan
                .filters
                .iter()
                .any(|f| !matches!(f, Expr::IsNotNull(_)));
            let (s, t) = source_of(&scan.table_name);
            out.push((s, t, filtered || scan.fetch.is_some()));
        }
        Ok(TreeNodeRecursion::Continue)
    });
    out
}

/// Whether anything in the plan cuts down the rows: a filter, limit, aggregate or distinct.
fn reduces(plan: &LogicalPlan) -> bool {
    plan.exists(|p| {
        Ok(matches!(
            p,
            LogicalPlan::Filter(_)
                | LogicalPlan::Limit(_)
                | LogicalPlan::Aggregate(_)
                | LogicalPlan::Distinct(_)
        ))
    })
    .unwrap_or(true)
        || scans(plan).iter().any(|(_, _, reduced)| *reduced)
}

/// Database tables read whole. The largest sub-plan over one database runs inside it
/// (federation); only its result moves. If nothing in it cuts the rows down, its tables are
/// read whole.
fn whole_tables(
    plan: &LogicalPlan,
    is_database: &dyn Fn(&str) -> bool,
    out: &mut Vec<(String, String)>,
) {
    let scanned = scans(plan);
    let mut sources: Vec<&str> = scanned.iter().map(|(s, _, _)| s.as_str()).collect();
    sources.sort();
    sources.dedup();
    if let [one] = sources.as_slice() {
        if is_database(one) {
            if !reduces(plan) {
                out.extend(scanned.into_iter().map(|(s, t, _)| (s, t)));
            }
            return;
        }
    }
    for input in plan.inputs() {
        whole_tables(input, is_database, out);
    }
}

/// The database tables a tool's plan would read whole: `(source, table)`. Runs during analysis
/// (on the analysis threads) with only the rules that matter here, filter and limit pushdown
/// (the full optimizer costs more than planning itself).
pub fn find(plan: &LogicalPlan, catalog: &crate::catalog::Catalog) -> Vec<(String, String)> {
    let is_database = |source: &str| {
        catalog
            .sources
            .get(source)
            .is_some_and(|s| matches!(s.kind, "postgres" | "mysql"))
    };
    // nothing to judge without a database table
    if !scans(plan).iter().any(|(s, _, _)| is_database(s)) {
        return Vec::new();
    }
    let optimizer = Optimizer::with_rules(vec![
        std::sync::Arc::new(PushDownFilter::new()),
        std::sync::Arc::new(PushDownLimit::new()),
    ]);
    let Ok(optimized) = optimizer.optimize(plan.clone(), &OptimizerContext::new(), |_, _| {})
    else {
        return Vec::new();
    };
    let mut found = Vec::new();
    whole_tables(&optimized, &is_database, &mut found);
    found.sort();
    found.dedup();
    found
}

pub fn run(cx: &CheckCx, out: &mut Vec<Diagnostic>) {
    for (name, a) in cx.analyses {
        for (source, table) in &a.whole_tables {
            let span = a.table_span(cx.project, source, table);
            out.push(
                Diagnostic::warning(
                    Code::WholeRemoteTable,
                    span,
                    format!("tool `{name}` reads all of `{source}.{table}` on every call: no filter or limit reaches the database"),
                )
                .label("read whole")
                .help("filter it (`WHERE ...` on its own columns), add a LIMIT, or aggregate it so the database does the work"),
            );
        }
    }
}
