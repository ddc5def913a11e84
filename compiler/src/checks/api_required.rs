//! A tool over an API table whose path part (`/repos/{owner}/...`) or required GraphQL variable
//! (`$owner: String!`) no `WHERE owner = <value or $param>` fills can never run (`E614`, the
//! same code the runtime gives). Judged on the plan after filter pushdown, so an alias or a
//! join does not hide the equality.

use datafusion_common::tree_node::TreeNodeRecursion;
use datafusion_expr::{Expr, LogicalPlan, Operator};
use datafusion_optimizer::push_down_filter::PushDownFilter;
use datafusion_optimizer::{Optimizer, OptimizerContext};

use super::CheckCx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::project::Project;
use crate::spec::sources::SourceConfig;

/// The names a table of an API source needs from WHERE.
fn required(project: &Project, source: &str, table: &str) -> Vec<String> {
    let Some(src) = project.sources.get(source) else {
        return Vec::new();
    };
    match &src.value {
        SourceConfig::Rest(r) => r
            .tables
            .0
            .get(table)
            .map(|t| t.value.path_params())
            .unwrap_or_default(),
        SourceConfig::Graphql(g) => g
            .tables
            .0
            .get(table)
            .map(|t| t.value.required_variables())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Whether `e` is `<column> = <literal or placeholder>`.
fn fills(e: &Expr, column: &str) -> bool {
    let Expr::BinaryExpr(b) = e else {
        return false;
    };
    let value = |e: &Expr| {
        matches!(e, Expr::Literal(..) | Expr::Placeholder(_))
            || matches!(e, Expr::Cast(c) if matches!(c.expr.as_ref(), Expr::Literal(..) | Expr::Placeholder(_)))
    };
    let col = |e: &Expr| matches!(e, Expr::Column(c) if c.name == column);
    b.op == Operator::Eq && ((col(&b.left) && value(&b.right)) || (col(&b.right) && value(&b.left)))
}

/// `(source, table, name)` for each value an API table scanned by the plan is not given.
pub fn find(plan: &LogicalPlan, project: &Project) -> Vec<(String, String, String)> {
    let is_api = |s: &str| {
        project.sources.get(s).is_some_and(|src| {
            matches!(src.value, SourceConfig::Rest(_) | SourceConfig::Graphql(_))
        })
    };
    let mut any = false;
    let _ = plan.apply_with_subqueries(|p| {
        if let LogicalPlan::TableScan(scan) = p {
            any |= scan.table_name.schema().is_some_and(is_api);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    if !any {
        return Vec::new();
    }
    let optimizer = Optimizer::with_rules(vec![std::sync::Arc::new(PushDownFilter::new())]);
    let Ok(optimized) = optimizer.optimize(plan.clone(), &OptimizerContext::new(), |_, _| {})
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let _ = optimized.apply_with_subqueries(|p| {
        if let LogicalPlan::TableScan(scan) = p {
            if let Some(source) = scan.table_name.schema().filter(|s| is_api(s)) {
                let table = scan.table_name.table();
                for name in required(project, source, table) {
                    if !scan.filters.iter().any(|f| fills(f, &name)) {
                        out.push((source.to_string(), table.to_string(), name));
                    }
                }
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    out.sort();
    out.dedup();
    out
}

pub fn run(cx: &CheckCx, out: &mut Vec<Diagnostic>) {
    for (tool, a) in cx.analyses {
        for (source, table, name) in &a.api_missing {
            let span = a.table_span(cx.project, source, table);
            out.push(
                Diagnostic::error(
                    Code::ApiFilterRequired,
                    span,
                    format!("tool `{tool}` reads `{source}.{table}`, which needs `{name}` = ... in WHERE"),
                )
                .label(format!("needs `{name}`"))
                .help(format!(
                    "add `WHERE {name} = $param` (a tool parameter) or `= '<value>'` for this table"
                )),
            );
        }
    }
}
