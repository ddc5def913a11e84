//! How a federated Postgres statement's rows are fetched and made Arrow.
//!
//! The provider's executor (datafusion-table-providers) reads a statement's rows 4,000 at a
//! time and converts them with `rows_to_arrow`, which copies every text value into a `String`
//! and every numeric into a `BigDecimal` before appending it to a boxed builder it finds by
//! type, for each value. [`Fetch`] takes the place of that executor's `execute`: the same
//! statement, on a connection of the same pool, sent as one round trip (no separate prepare),
//! its rows converted by [`super::pg_rows`]: straight into the sub-plan's schema, each value
//! read where it lies in the row. A batch with a column type `pg_rows` does not take (or a
//! value it cannot convert exactly) goes the provider's way, so every batch is what the
//! provider would have made. Failures name the source, as direct statements' do.

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::PhysicalExpr;
use datafusion_federation::sql::SQLExecutor;
use datafusion_table_providers::sql::db_connection_pool::postgrespool::PostgresConnectionPool;
use futures::{StreamExt, TryStreamExt};
use tokio_postgres::types::{ToSql, Type};
use widgettdc_compiler::Code;

use super::pg_rows;
use super::pg_statement::{error, postgres_message};
use super::wrapped_executor::Hooks;

/// Rows per batch: DataFusion's default batch size.
const BATCH: usize = 8_192;

/// Runs a Postgres source's federated statements (see the module's comment).
pub struct Fetch {
    pub pool: Arc<PostgresConnectionPool>,
    /// The source's name, for errors.
    pub source: String,
}

impl Hooks for Fetch {
    fn execute(
        &self,
        _inner: &Arc<dyn SQLExecutor>,
        query: &str,
        schema: SchemaRef,
        _filters: &[Arc<dyn PhysicalExpr>],
    ) -> Result<SendableRecordBatchStream> {
        let pool = Arc::clone(&self.pool);
        let source = self.source.clone();
        let query = query.to_string();
        let out = Arc::clone(&schema);
        let batches = futures::stream::once(async move {
            let conn = pool
                .connect_direct()
                .await
                .map_err(|e| error(&source, &e, Code::SourceUnavailable))?;
            let rows = conn
                .conn
                .query_typed_raw(
                    query.as_str(),
                    std::iter::empty::<(&(dyn ToSql + Sync), Type)>(),
                )
                .await
                .map_err(|e| error(&source, &postgres_message(&e), Code::QueryExecution))?;
            Ok::<_, DataFusionError>(rows.chunks(BATCH).map(move |rows| {
                // the connection goes back to the pool once the rows are read (or dropped)
                let _held = &conn;
                let rows = rows
                    .into_iter()
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|e| error(&source, &postgres_message(&e), Code::QueryExecution))?;
                pg_rows::to_arrow(&rows, &schema, &schema)
            }))
        })
        .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            out,
            batches.boxed(),
        )))
    }
}
