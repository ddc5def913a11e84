//! One way to wrap a database's federation executor (`SQLExecutor`) and change part of what it
//! does: the wrapper hands everything to the executor it wraps (name, compute context, dialect,
//! analyzers, table listing) except what its [`Hooks`] change — the statement it sends, or the
//! statistics of a sub-plan. Used for MySQL's time limits (`mysql_timeout.rs`), Postgres's row
//! estimates (`pg_estimate.rs`) and for catching the SQL a sub-plan becomes (`direct.rs`),
//! adding what joins learn at run time to Postgres statements (`pg_learnt.rs`), and fetching
//! Postgres rows (`pg_fetch.rs`).

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::Statistics;
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::physical_plan::PhysicalExpr;
use datafusion::sql::unparser::dialect::Dialect;
use datafusion_federation::sql::{AstAnalyzer, LogicalOptimizer, SQLExecutor};

/// What a wrapper does differently; by default, what the wrapped executor does.
#[async_trait]
pub trait Hooks: Send + Sync + 'static {
    fn execute(
        &self,
        inner: &Arc<dyn SQLExecutor>,
        query: &str,
        schema: SchemaRef,
        filters: &[Arc<dyn PhysicalExpr>],
    ) -> Result<SendableRecordBatchStream> {
        inner.execute(query, schema, filters)
    }

    async fn statistics(
        &self,
        inner: &Arc<dyn SQLExecutor>,
        plan: &LogicalPlan,
    ) -> Result<Statistics> {
        inner.statistics(plan).await
    }

    fn metrics(&self, inner: &Arc<dyn SQLExecutor>) -> Option<MetricsSet> {
        inner.metrics()
    }
}

/// An executor with some of its behaviour changed by `hooks`.
pub struct Wrapped<H> {
    pub inner: Arc<dyn SQLExecutor>,
    pub hooks: H,
}

#[async_trait]
impl<H: Hooks> SQLExecutor for Wrapped<H> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn compute_context(&self) -> Option<String> {
        self.inner.compute_context()
    }
    fn dialect(&self) -> Arc<dyn Dialect> {
        self.inner.dialect()
    }
    fn logical_optimizer(&self) -> Option<LogicalOptimizer> {
        self.inner.logical_optimizer()
    }
    fn ast_analyzer(&self) -> Option<AstAnalyzer> {
        self.inner.ast_analyzer()
    }
    fn execute(
        &self,
        query: &str,
        schema: SchemaRef,
        filters: &[Arc<dyn PhysicalExpr>],
    ) -> Result<SendableRecordBatchStream> {
        self.hooks.execute(&self.inner, query, schema, filters)
    }
    async fn statistics(&self, plan: &LogicalPlan) -> Result<Statistics> {
        self.hooks.statistics(&self.inner, plan).await
    }
    async fn table_names(&self) -> Result<Vec<String>> {
        self.inner.table_names().await
    }
    async fn get_table_schema(&self, table_name: &str) -> Result<SchemaRef> {
        self.inner.get_table_schema(table_name).await
    }
    fn metrics(&self) -> Option<MetricsSet> {
        self.hooks.metrics(&self.inner)
    }
}
