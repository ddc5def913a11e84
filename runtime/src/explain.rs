//! `explain`: the optimised logical plan, the physical plan, and per source what it is asked to
//! do (the SQL text sent to a database; the files, projection, predicate and pruning of a file
//! scan). With `analyze` the query runs and the plan carries its metrics (rows, row groups
//! pruned by statistics, time).

use std::sync::Arc;

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::display::DisplayableExecutionPlan;
use datafusion::physical_plan::{displayable, ExecutionPlan};
use datafusion::prelude::DataFrame;
use futures::StreamExt;
use widgettdc_compiler::Code;

use crate::error::{Result, RuntimeError};
use crate::sources::sqlite::table::SqliteExec;

/// What one scan asks of its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceWork {
    /// `sqlite`, `file`, `memory`.
    pub kind: &'static str,
    /// The source name where known.
    pub source: Option<String>,
    /// SQL text for a database, the scan's description for files.
    pub detail: String,
    /// With `analyze`: the scan's metrics.
    pub metrics: Option<String>,
}

/// A table scan of the optimised plan: what DataFusion asks the table for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableScan {
    pub table: String,
    pub columns: Vec<String>,
    pub filters: Vec<String>,
    pub limit: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct Explained {
    pub scans: Vec<TableScan>,
    pub logical: String,
    pub physical: String,
    pub sources: Vec<SourceWork>,
}

impl std::fmt::Display for Explained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "Tables read:")?;
        if self.scans.is_empty() {
            writeln!(f, "  (none)")?;
        }
        for s in &self.scans {
            writeln!(f, "  {}: columns [{}]", s.table, s.columns.join(", "))?;
            if !s.filters.is_empty() {
                writeln!(
                    f,
                    "    filters offered to the source: {}",
                    s.filters.join(" AND ")
                )?;
            }
            if let Some(n) = s.limit {
                writeln!(f, "    limit offered to the source: {n}")?;
            }
        }
        writeln!(f)?;
        writeln!(f, "What each source is asked:")?;
        if self.sources.is_empty() {
            writeln!(f, "  (no source scans)")?;
        }
        for s in &self.sources {
            let name = s.source.as_deref().unwrap_or("-");
            writeln!(f, "  {name} ({}):", s.kind)?;
            writeln!(f, "    {}", s.detail)?;
            if let Some(m) = &s.metrics {
                writeln!(f, "    metrics: {m}")?;
            }
        }
        writeln!(f)?;
        writeln!(f, "Logical plan:")?;
        for l in self.logical.lines() {
            writeln!(f, "  {l}")?;
        }
        writeln!(f)?;
        writeln!(f, "Physical plan:")?;
        for l in self.physical.lines() {
            writeln!(f, "  {l}")?;
        }
        Ok(())
    }
}

/// The line saying what joins added to a statement at run time (cut short), or nothing.
fn learnt(conditions: &[String]) -> String {
    if conditions.is_empty() {
        return String::new();
    }
    let mut added = conditions.join(" AND ");
    if added.len() > 300 {
        let cut = (0..=300)
            .rev()
            .find(|&i| added.is_char_boundary(i))
            .unwrap_or(0);
        added.truncate(cut);
        added.push_str(" …");
    }
    format!("\n    plus what a join learnt at run time: {added}")
}

fn collect(plan: &Arc<dyn ExecutionPlan>, analyze: bool, out: &mut Vec<SourceWork>) {
    let metrics = || {
        analyze
            .then(|| {
                plan.metrics().map(|m| {
                    m.aggregate_by_name()
                        .sorted_for_display()
                        .timestamps_removed()
                        .to_string()
                })
            })
            .flatten()
    };
    if let Some(r) = plan.downcast_ref::<crate::sources::rest::RestExec>() {
        out.push(SourceWork {
            kind: "rest",
            source: Some(r.source().to_string()),
            detail: format!("request: {}", r.request()),
            metrics: metrics(),
        });
    } else if let Some(g) = plan.downcast_ref::<crate::sources::graphql::GraphqlExec>() {
        out.push(SourceWork {
            kind: "graphql",
            source: Some(g.source().to_string()),
            detail: format!("request: {}", g.request()),
            metrics: metrics(),
        });
    } else if let Some(s) = plan.downcast_ref::<SqliteExec>() {
        out.push(SourceWork {
            kind: "sqlite",
            source: Some(s.source().to_string()),
            detail: {
                let mut d = format!("SQL: {}", s.sql());
                d.push_str(&learnt(&s.learnt()));
                d
            },
            metrics: metrics(),
        });
    } else if displayable(plan.as_ref())
        .one_line()
        .to_string()
        .starts_with("VirtualExecutionPlan")
    {
        // a sub-plan federated to a database: the statement it runs there
        let line = displayable(plan.as_ref()).one_line().to_string();
        let engine = line
            .split("name=")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or("database")
            .to_string();
        // the statement as each rewrite left it (in this order, each shown only if it changed
        // something): the last one shown is the one sent
        let sql = [
            " rewritten_sql_query=",
            " rewritten_ast_analyzer=",
            " rewritten_executor_sql=",
            " rewritten_logical_sql=",
            " base_sql=",
        ]
        .iter()
        .find_map(|m| line.split_once(m).map(|(_, sql)| sql))
        .unwrap_or(&line)
        .trim()
        .to_string();
        let mut detail = format!("SQL: {sql}");
        if analyze {
            if let Some(run) = crate::sources::pg_learnt::last_run(plan.metrics().as_ref(), &sql) {
                detail.push_str(&learnt(&run.conditions));
                detail.push_str(&format!(
                    "\n    rows received: {}",
                    run.rows.load(std::sync::atomic::Ordering::Relaxed)
                ));
                if let Some(split) =
                    crate::sources::pg_fetch::ranges_of(plan.metrics().as_ref(), &run.sent)
                {
                    detail.push_str(&format!(
                        "\n    read in {} ranges of {}'s pages, at once",
                        split.ranges, split.table
                    ));
                }
            }
        }
        out.push(SourceWork {
            kind: "database",
            source: Some(engine),
            detail,
            metrics: metrics(),
        });
    } else if let Some(sql) = {
        let line = displayable(plan.as_ref()).one_line().to_string();
        let line = line.trim();
        line.strip_prefix("SqlExec sql=")
            .or_else(|| line.strip_prefix("MySQLSQLExec sql="))
            .map(str::to_string)
    } {
        // a database table scanned on its own (not federated): its filters and columns
        out.push(SourceWork {
            kind: "database",
            source: None,
            detail: format!("SQL: {sql}"),
            metrics: metrics(),
        });
    } else if plan.name() == "DataSourceExec" {
        let line = displayable(plan.as_ref()).one_line().to_string();
        let kind = if line.contains("file_groups") {
            "file"
        } else {
            "in memory"
        };
        out.push(SourceWork {
            kind,
            source: None,
            detail: line
                .trim()
                .trim_start_matches("DataSourceExec: ")
                .to_string(),
            metrics: metrics(),
        });
    }
    for c in plan.children() {
        collect(c, analyze, out);
    }
}

/// Explain a planned query; with `analyze`, run it first (its rows are discarded).
pub async fn explain(df: DataFrame, analyze: bool) -> Result<Explained> {
    let task_ctx = Arc::new(df.task_ctx());
    let logical = df
        .clone()
        .into_optimized_plan()
        .map_err(|e| RuntimeError::from_datafusion(e, Code::QueryPlan))?;
    let physical = df
        .create_physical_plan()
        .await
        .map_err(|e| RuntimeError::from_datafusion(e, Code::QueryPlan))?;
    if analyze {
        let mut stream = datafusion::physical_plan::execute_stream(Arc::clone(&physical), task_ctx)
            .map_err(|e| RuntimeError::from_datafusion(e, Code::QueryExecution))?;
        while let Some(b) = stream.next().await {
            b.map_err(|e| RuntimeError::from_datafusion(e, Code::QueryExecution))?;
        }
    }
    let mut sources = Vec::new();
    collect(&physical, analyze, &mut sources);
    let mut scans = Vec::new();
    let _ = logical.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(t) = node {
            scans.push(TableScan {
                table: t.table_name.to_string(),
                columns: t
                    .projected_schema
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect(),
                filters: t.filters.iter().map(|e| e.to_string()).collect(),
                limit: t.fetch,
            });
        }
        Ok(TreeNodeRecursion::Continue)
    });
    let physical_text = if analyze {
        DisplayableExecutionPlan::with_metrics(physical.as_ref())
            .indent(true)
            .to_string()
    } else {
        displayable(physical.as_ref()).indent(true).to_string()
    };
    Ok(Explained {
        scans,
        logical: format!("{}", logical.display_indent()),
        physical: physical_text,
        sources,
    })
}
