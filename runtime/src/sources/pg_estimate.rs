//! Row estimates for what federation sends to Postgres (and, through [`super::pg_learnt`],
//! run-time join filters).
//!
//! DataFusion picks the build side of a hash join by size, and when one side has no statistics
//! it keeps the order the query was written in. A federated Postgres sub-plan has none of its
//! own (datafusion-federation asks the executor, and the provider's executor does not know), so
//! a join of a million-row scan with a one-row Postgres result could build its hash table from
//! the million rows, and the small side could not narrow the big one at run time.
//!
//! [`Estimated`] wraps the provider's executor: when a sub-plan is planned, its SQL (the same the
//! executor will be sent) is explained — `EXPLAIN (FORMAT JSON)`, planning only, nothing runs —
//! and Postgres's own row estimate becomes the plan's (inexact) row count. Estimates are kept a
//! minute per statement; when Postgres cannot be asked, the statistics stay unknown, as before.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use datafusion::catalog::TableProvider;
use datafusion::common::stats::Precision;
use datafusion::common::Statistics;
use datafusion::error::Result;
use datafusion::logical_expr::LogicalPlan;
use datafusion_federation::sql::{SQLExecutor, SQLFederationProvider, SQLTableSource};
use datafusion_federation::FederatedTableProviderAdaptor;
use datafusion_table_providers::sql::db_connection_pool::postgrespool::PostgresConnectionPool;

use super::wrapped_executor::{Hooks, Wrapped};

/// How long an estimate is reused, and how long Postgres is given to make one.
const KEEP: Duration = Duration::from_secs(60);
const ASK: Duration = Duration::from_secs(2);
/// Estimates kept at most (the map is emptied when full).
const MAX_KEPT: usize = 1_000;

/// Postgres's row estimates as statistics, for a wrapped provider executor.
pub struct Estimated {
    pool: Arc<PostgresConnectionPool>,
    kept: Mutex<HashMap<String, (Instant, Option<usize>)>>,
}

/// The same Postgres table, its federated sub-plans estimated by Postgres; other providers
/// as they are.
pub fn table(
    provider: Arc<dyn TableProvider>,
    pool: &Arc<PostgresConnectionPool>,
    source_name: &str,
) -> Arc<dyn TableProvider> {
    let Some(adaptor) = provider.downcast_ref::<FederatedTableProviderAdaptor>() else {
        return provider;
    };
    let Some(source) =
        (adaptor.source.as_ref() as &dyn std::any::Any).downcast_ref::<SQLTableSource>()
    else {
        return provider;
    };
    // the statements' rows are fetched and converted here (`pg_fetch.rs`)
    let fetched = Arc::new(Wrapped {
        inner: Arc::clone(&source.provider.executor),
        hooks: super::pg_fetch::Fetch::new(Arc::clone(pool), source_name.to_string()),
    });
    let estimated = Arc::new(Wrapped {
        inner: fetched as Arc<dyn SQLExecutor>,
        hooks: Estimated {
            pool: Arc::clone(pool),
            kept: Mutex::new(HashMap::new()),
        },
    });
    // and what joins learn at run time narrows the statements (`pg_learnt.rs`)
    let executor = Arc::new(Wrapped {
        inner: estimated as Arc<dyn SQLExecutor>,
        hooks: super::pg_learnt::Learnt::default(),
    });
    let source = Arc::new(SQLTableSource::new_with_table(
        Arc::new(SQLFederationProvider::new(executor)),
        Arc::clone(&source.table),
    ));
    match &adaptor.table_provider {
        Some(fallback) => Arc::new(FederatedTableProviderAdaptor::new_with_provider(
            source,
            Arc::clone(fallback),
        )),
        None => Arc::new(FederatedTableProviderAdaptor::new(source)),
    }
}

impl Estimated {
    async fn rows(&self, sql: &str) -> Option<usize> {
        if let Some((at, rows)) = self.kept.lock().unwrap_or_else(|p| p.into_inner()).get(sql) {
            if at.elapsed() < KEEP {
                return *rows;
            }
        }
        let asked = tokio::time::timeout(ASK, async {
            let conn = self.pool.connect_direct().await.ok()?;
            let explained = conn
                .conn
                .simple_query(&format!("EXPLAIN (FORMAT JSON) {sql}"))
                .await
                .ok()?;
            explained.iter().find_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).and_then(plan_rows),
                _ => None,
            })
        })
        .await;
        let rows = match asked {
            Ok(rows) => rows,
            // not kept: the server may only be slow now
            Err(_) => return None,
        };
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() >= MAX_KEPT {
            kept.clear();
        }
        kept.insert(sql.to_string(), (Instant::now(), rows));
        rows
    }
}

/// The estimated rows of the top node of `EXPLAIN (FORMAT JSON)` output.
pub fn plan_rows(json: &str) -> Option<usize> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let rows = v.get(0)?.get("Plan")?.get("Plan Rows")?.as_f64()?;
    (rows.is_finite() && rows >= 0.0).then_some(rows as usize)
}

#[async_trait]
impl Hooks for Estimated {
    async fn statistics(
        &self,
        inner: &Arc<dyn SQLExecutor>,
        plan: &LogicalPlan,
    ) -> Result<Statistics> {
        let mut stats = inner.statistics(plan).await?;
        if stats.num_rows.get_value().is_some() {
            return Ok(stats);
        }
        // a statement with unbound placeholders cannot be explained
        let has_placeholders = plan
            .get_parameter_types()
            .map(|t| !t.is_empty())
            .unwrap_or(true);
        if has_placeholders {
            return Ok(stats);
        }
        let Some(sql) = crate::direct::federated_sql(plan, inner) else {
            return Ok(stats);
        };
        if let Some(rows) = self.rows(&sql).await {
            stats.num_rows = Precision::Inexact(rows);
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::plan_rows;

    #[test]
    fn the_top_plan_rows_are_the_estimate() {
        let json =
            r#"[{"Plan": {"Node Type": "Limit", "Plan Rows": 3, "Plans": [{"Plan Rows": 900}]}}]"#;
        assert_eq!(plan_rows(json), Some(3));
        assert_eq!(plan_rows("[]"), None);
        assert_eq!(plan_rows("not json"), None);
    }
}
