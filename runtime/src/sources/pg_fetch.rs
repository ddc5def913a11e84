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
//!
//! A statement over a large table is read in ranges of that table's pages, at once, on several
//! connections ([`super::pg_ranges`]); the ranges each statement was read in are kept for
//! `explain --analyze` ([`ranges_of`]).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::PhysicalExpr;
use datafusion_federation::sql::SQLExecutor;
use datafusion_table_providers::sql::db_connection_pool::dbconnection::postgresconn::PostgresConnection;
use datafusion_table_providers::sql::db_connection_pool::postgrespool::PostgresConnectionPool;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use tokio_postgres::types::{ToSql, Type};
use widgettdc_compiler::Code;

use super::by_sql::{self, BySql};
use super::pg_ranges;
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
    /// How many ranges each statement was last read in (by the SQL sent).
    pub ranges: Arc<Ranges>,
    /// The pages of the tables statements read, kept [`KEEP_PAGES`], so a statement over
    /// tables already asked about does not wait for the catalog.
    pages: Arc<Mutex<HashMap<String, (Instant, i64)>>>,
    /// The cores, read once (reading them looks at the cgroup's limits each time).
    parallelism: usize,
}

/// How long a table's page count is kept.
const KEEP_PAGES: Duration = Duration::from_secs(60);

impl Fetch {
    pub fn new(pool: Arc<PostgresConnectionPool>, source: String) -> Self {
        Fetch {
            pool,
            source,
            ranges: Arc::default(),
            pages: Arc::default(),
            parallelism: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// How a statement was last read: the table split and the number of ranges.
#[derive(Debug, Clone)]
pub struct Split {
    pub table: String,
    pub ranges: usize,
}

/// The splits of the statements read in ranges, by the SQL sent.
pub type Ranges = BySql<Split>;

/// How the statement `sql` (as sent) was split when it last ran, from a sub-plan's metrics.
pub fn ranges_of(metrics: Option<&MetricsSet>, sql: &str) -> Option<Split> {
    by_sql::find(metrics, "ranges", sql)
}

type Batches = BoxStream<'static, Result<RecordBatch>>;

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
        let seen = Arc::clone(&self.ranges);
        let kept = Arc::clone(&self.pages);
        let parallelism = self.parallelism;
        let batches = futures::stream::once(async move {
            let conn = pool
                .connect_direct()
                .await
                .map_err(|e| error(&source, &e, Code::SourceUnavailable))?;
            if let Some(split) = pg_ranges::splittable(&query) {
                let pages = table_pages(&conn, &split.tables, &kept).await;
                let largest = pages
                    .iter()
                    .enumerate()
                    .max_by_key(|(_, p)| **p)
                    .map(|(i, p)| (i, *p));
                if let Some((table, pages)) = largest {
                    let n = pg_ranges::ranges_for(pages, parallelism);
                    if n > 1 {
                        seen.remember(
                            &query,
                            Split {
                                table: split.tables[table].0.clone(),
                                ranges: n,
                            },
                        );
                        let statements = split.ranges(table, pages, n);
                        return in_ranges(conn, pool, statements, query, schema, source).await;
                    }
                }
            }
            Ok::<_, DataFusionError>(one(conn, query, schema, source))
        })
        .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            out,
            batches.boxed(),
        )))
    }

    fn metrics(&self, inner: &Arc<dyn SQLExecutor>) -> Option<MetricsSet> {
        let mut set = inner.metrics().unwrap_or_default();
        set.push(self.ranges.metric("ranges"));
        Some(set)
    }
}

/// The pages of each table (0 for what is not a table with storage, or cannot be asked); from
/// `kept` when all were asked about within [`KEEP_PAGES`].
async fn table_pages(
    conn: &PostgresConnection,
    tables: &[(String, String)],
    kept: &Mutex<HashMap<String, (Instant, i64)>>,
) -> Vec<i64> {
    let names: Vec<String> = tables.iter().map(|(n, _)| n.clone()).collect();
    let known: Option<Vec<i64>> = {
        let kept = kept.lock().unwrap_or_else(|p| p.into_inner());
        names
            .iter()
            .map(|n| {
                kept.get(n)
                    .filter(|(at, _)| at.elapsed() < KEEP_PAGES)
                    .map(|(_, p)| *p)
            })
            .collect()
    };
    if let Some(pages) = known {
        return pages;
    }
    let sql = "SELECT coalesce((SELECT pg_relation_size(c.oid) / current_setting('block_size')::bigint \
               FROM pg_class c WHERE c.oid = to_regclass(u.n) AND c.relkind IN ('r', 'm')), 0)::bigint \
               FROM unnest($1::text[]) WITH ORDINALITY AS u(n, i) ORDER BY u.i";
    match conn
        .conn
        .query_typed(sql, &[(&names as &(dyn ToSql + Sync), Type::TEXT_ARRAY)])
        .await
    {
        Ok(rows) if rows.len() == names.len() => {
            let pages: Vec<i64> = rows
                .iter()
                .map(|r| r.try_get::<_, i64>(0).unwrap_or(0))
                .collect();
            let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
            if kept.len() > 1_024 {
                kept.clear();
            }
            let now = Instant::now();
            for (n, p) in names.into_iter().zip(&pages) {
                kept.insert(n, (now, *p));
            }
            pages
        }
        _ => vec![0; names.len()],
    }
}

/// Sends `sql` on `conn` (unnamed, one round trip): its rows as they come.
async fn send(
    conn: &PostgresConnection,
    sql: &str,
    source: &str,
) -> Result<tokio_postgres::RowStream> {
    conn.conn
        .query_typed_raw(sql, std::iter::empty::<(&(dyn ToSql + Sync), Type)>())
        .await
        .map_err(|e| error(source, &postgres_message(&e), Code::QueryExecution))
}

/// A chunk of a statement's rows as a batch of `schema`.
fn batch(
    rows: Vec<std::result::Result<tokio_postgres::Row, tokio_postgres::Error>>,
    schema: &SchemaRef,
    source: &str,
) -> Result<RecordBatch> {
    let rows = rows
        .into_iter()
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| error(source, &postgres_message(&e), Code::QueryExecution))?;
    pg_rows::to_arrow(&rows, schema, schema)
}

/// One statement's rows, converted as they come.
fn one(conn: PostgresConnection, query: String, schema: SchemaRef, source: String) -> Batches {
    futures::stream::once(async move {
        let rows = send(&conn, &query, &source).await?;
        Ok::<_, DataFusionError>(rows.chunks(BATCH).map(move |rows| {
            // the connection goes back to the pool once the rows are read (or dropped)
            let _held = &conn;
            batch(rows, &schema, &source)
        }))
    })
    .try_flatten()
    .boxed()
}

/// A connection inside a read-only transaction. Dropped before it ends (a query cancelled or
/// failed), the transaction is rolled back before the connection goes back to the pool.
struct InTransaction(Option<PostgresConnection>);

impl InTransaction {
    /// Start a repeatable-read, read-only transaction; with `snapshot`, on that exported
    /// snapshot, else exporting its own (returned). One round trip.
    async fn begin(
        conn: PostgresConnection,
        snapshot: Option<&str>,
    ) -> std::result::Result<(Self, Option<String>), tokio_postgres::Error> {
        let tx = InTransaction(Some(conn));
        let Some(conn) = tx.0.as_ref() else {
            return Ok((tx, None));
        };
        let sql = match snapshot {
            Some(id) => format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT '{}'",
                id.replace('\'', "''")
            ),
            None => "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SELECT pg_export_snapshot()"
                .to_string(),
        };
        let messages = conn.conn.simple_query(&sql).await?;
        let exported = messages.iter().find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        });
        Ok((tx, exported))
    }

    fn conn(&self) -> Option<&PostgresConnection> {
        self.0.as_ref()
    }

    async fn commit(mut self) {
        if let Some(conn) = self.0.take() {
            let _ = conn.conn.simple_query("COMMIT").await;
        }
    }
}

impl Drop for InTransaction {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move {
                    let _ = conn.conn.simple_query("ROLLBACK").await;
                });
            }
        }
    }
}

/// The rows of `statements` (the ranges of one statement), read at once: each on a connection
/// of its own when the pool hands one over within [`pg_ranges::EXTRA_WAIT`], else after the
/// others; each reader converts its rows in its own task. All read one snapshot: the first
/// connection exports its transaction's snapshot and the others read in it (as
/// `pg_dump --jobs` does), so a row changed meanwhile is read once, as it was. Dropping the
/// stream stops the readers and rolls their transactions back.
async fn in_ranges(
    first: PostgresConnection,
    pool: Arc<PostgresConnectionPool>,
    statements: Vec<String>,
    whole: String,
    schema: SchemaRef,
    source: String,
) -> Result<Batches> {
    let (first, snapshot) = match InTransaction::begin(first, None).await {
        Ok((tx, Some(id))) => (tx, id),
        // no snapshot came back (the transaction is rolled back as `tx` goes)
        Ok((_tx, None)) => {
            return Err(error(
                &source,
                &format!("Postgres exported no snapshot to read `{whole}` in ranges"),
                Code::QueryExecution,
            ))
        }
        Err(e) => return Err(error(&source, &postgres_message(&e), Code::QueryExecution)),
    };
    let readers = statements.len();
    let queue = Arc::new(Mutex::new(VecDeque::from(statements)));
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch>>(2 * readers);
    // each other reader holds one of these until it has taken the snapshot (or given up):
    // the first transaction, whose snapshot it is, stays open until then
    let (joined, mut all_joined) = tokio::sync::mpsc::channel::<()>(1);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 1..readers {
        let (pool, queue, tx, schema, source, snapshot, joined) = (
            Arc::clone(&pool),
            Arc::clone(&queue),
            tx.clone(),
            Arc::clone(&schema),
            source.clone(),
            snapshot.clone(),
            joined.clone(),
        );
        tasks.spawn(async move {
            let Ok(Ok(conn)) =
                tokio::time::timeout(pg_ranges::EXTRA_WAIT, pool.connect_direct()).await
            else {
                return;
            };
            let Ok((reader, _)) = InTransaction::begin(conn, Some(&snapshot)).await else {
                return;
            };
            drop(joined);
            if read(&reader, &queue, &tx, &schema, &source).await {
                reader.commit().await;
            }
        });
    }
    drop(joined);
    {
        let (queue, tx, schema, source) = (
            Arc::clone(&queue),
            tx.clone(),
            Arc::clone(&schema),
            source.clone(),
        );
        tasks.spawn(async move {
            // it reads until no range is left (those of readers that gave up too)
            let done = read(&first, &queue, &tx, &schema, &source).await;
            // the others have taken the snapshot (or given up) before it goes
            while all_joined.recv().await.is_some() {}
            if done {
                first.commit().await;
            }
        });
    }
    drop(tx);
    // the stream owns the readers: dropping it aborts them
    Ok(
        futures::stream::unfold((rx, tasks), |(mut rx, tasks)| async move {
            rx.recv().await.map(|batch| (batch, (rx, tasks)))
        })
        .boxed(),
    )
}

/// Reads statements from `queue` in `reader`'s transaction until none is left, sending each
/// batch to `tx`; false when it stopped early (an error, sent on; or no one reads any more).
async fn read(
    reader: &InTransaction,
    queue: &Mutex<VecDeque<String>>,
    tx: &tokio::sync::mpsc::Sender<Result<RecordBatch>>,
    schema: &SchemaRef,
    source: &str,
) -> bool {
    let Some(conn) = reader.conn() else {
        return false;
    };
    loop {
        let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
        let Some(sql) = next else {
            return true;
        };
        let rows = match send(conn, &sql, source).await {
            Ok(rows) => rows,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return false;
            }
        };
        let mut chunks = std::pin::pin!(rows.chunks(BATCH));
        while let Some(rows) = chunks.next().await {
            let batch = batch(rows, schema, source);
            let failed = batch.is_err();
            if tx.send(batch).await.is_err() || failed {
                return false;
            }
        }
    }
}
