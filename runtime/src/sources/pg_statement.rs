//! A direct tool's statement sent to Postgres with real, typed parameters: one round trip.
//!
//! datafusion-table-providers sends every statement as text with its values written in, and
//! tokio-postgres sends such a statement in two round trips (prepare, then execute), with Postgres
//! parsing it anew each time. A tool that runs wholly inside one Postgres source (see
//! [`crate::direct`]) has the same statement on every call, only its arguments differ: here its
//! SQL is rendered once with `$1, $2, ...` in place of the tool's `$name` placeholders, prepared
//! once on each connection that runs it (as `pgbench -M prepared` does), and a call sends only
//! `Bind`/`Execute` with the arguments as typed binary parameters: one round trip, and Postgres
//! neither parses nor plans it anew. The rows become Arrow as the provider's own conversion makes
//! them ([`super::pg_rows`]), so the results are the ones the planned path returns.
//!
//! The connections come from the source's pool, but a call does not check one out of it each
//! time: the pool (bb8) tests every check-out with a round trip of its own. [`Connections`]
//! keeps up to three quarters of the pool's connections between calls instead (all but one of a
//! pool of up to 4); the rest stays in the pool for everything else (planned queries, estimates,
//! schemas). Statements are prepared only on kept connections; one checked out of the pool for a
//! single call sends its statement unnamed (`Parse`/`Bind`/`Execute` in one round trip, parsed
//! anew).
//!
//! A statement is *quick* once its last few calls each returned all their rows in the first
//! chunk within a few milliseconds (a point query). Quick statements share a few connections
//! (lanes) and are pipelined on them: tokio-postgres sends the statements waiting on one
//! connection in one write and reads their answers in one read, so many concurrent calls cost a
//! few system calls and wake-ups instead of two each, and a few busy Postgres backends instead of
//! one per call. Every other statement has a connection to itself while it runs, so nothing
//! waits behind a long statement or a slow reader of a large result; a quick statement's rows are
//! all read before its call returns, for the same reason.
//!
//! Integers, floats, booleans, dates and timestamps are sent as typed binary values. Text and
//! decimals are sent as text of unspecified type, so that Postgres types them from where they
//! stand, as it does the literals the provider writes (`'sad'` compared to an enum, a uuid, a
//! numeric). When Postgres cannot type a parameter that way (`SELECT $1`), the statement is
//! refused before it runs and the tool goes back to the provider's path for good. Other
//! parameter types (lists, binary, intervals) keep the provider's path.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::common::metadata::ScalarAndMetadata;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::scalar::ScalarValue;
use datafusion_table_providers::sql::db_connection_pool::dbconnection::postgresconn::PostgresConnection;
use datafusion_table_providers::sql::db_connection_pool::postgrespool::PostgresConnectionPool;
use futures::StreamExt;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{to_sql_checked, Format, IsNull, ToSql, Type};
use widgettdc_compiler::Code;

use super::lock;
use super::pg_pipeline::{Pipeline, Statement};
use super::pg_rows;
use crate::error::RuntimeError;

/// Rows converted to Arrow at a time (as the provider does).
const CHUNK: usize = 4_000;

/// The connections of one Postgres source that direct statements use.
pub struct Connections {
    pool: Arc<PostgresConnectionPool>,
    state: Mutex<State>,
    /// How many connections are kept (the pool but a quarter of it, at least one left).
    keep: usize,
    /// How many of them quick statements share before more are opened for them.
    lanes: usize,
    /// The most statements in flight on one connection so far.
    deepest: AtomicUsize,
}

#[derive(Default)]
struct State {
    /// The kept connections, lanes first.
    kept: Vec<Arc<Kept>>,
    /// Connections being opened for quick statements (not yet lanes).
    opening: usize,
}

impl Connections {
    pub fn new(pool: Arc<PostgresConnectionPool>, pool_size: usize) -> Arc<Connections> {
        let keep = pool_size.saturating_sub((pool_size / 4).max(1));
        Arc::new(Connections {
            pool,
            state: Mutex::new(State::default()),
            keep,
            lanes: lanes().min(keep).max(1),
            deepest: AtomicUsize::new(0),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// A connection for one statement. A quick statement takes an idle one of the first `lanes`
    /// kept connections, else opens another lane while there are fewer, else takes the least
    /// busy lane (pipelined behind the quick statements already on it). Any other statement
    /// takes an idle kept connection, which nothing is pipelined on while it runs. Else a new
    /// one from the pool, kept if fewer than `keep` are.
    async fn take(self: &Arc<Self>, quick: bool) -> std::result::Result<Taken, String> {
        let opening = {
            let mut state = self.state();
            state.kept.retain(|c| !c.pg.conn.is_closed());
            let busy = |c: &&Arc<Kept>| c.busy.load(Ordering::Relaxed);
            let chosen = if quick {
                let lanes = &state.kept[..state.kept.len().min(self.lanes)];
                // a lane that a statement that is not quick holds is left alone
                let least = lanes
                    .iter()
                    .filter(|c| !c.exclusive.load(Ordering::Relaxed))
                    .min_by_key(busy);
                let more = lanes.len() + state.opening < self.lanes;
                least.filter(|c| busy(c) == 0 || !more)
            } else {
                // an idle one, the lanes last
                state.kept.iter().rev().find(|c| busy(c) == 0)
            };
            if let Some(c) = chosen {
                return Ok(Taken::new(Arc::clone(c), true, quick, self));
            }
            if quick {
                state.opening += 1;
            }
            // counted until opened, failed, or the call is dropped meanwhile
            Opening(quick.then_some(self))
        };
        let conn = self.pool.connect_direct().await;
        drop(opening);
        let mut state = self.state();
        let conn = Arc::new(Kept {
            pg: conn.map_err(|e| e.to_string())?,
            prepared: Mutex::new(HashMap::new()),
            busy: AtomicUsize::new(0),
            exclusive: AtomicBool::new(false),
            pipeline: Pipeline::default(),
        });
        let keep = state.kept.len() < self.keep;
        if keep {
            state.kept.push(Arc::clone(&conn));
        }
        Ok(Taken::new(conn, keep, quick, self))
    }

    /// The most statements that were in flight on one connection at once so far (more than
    /// one: pipelined).
    pub fn deepest(&self) -> usize {
        self.deepest.load(Ordering::Relaxed)
    }

    /// The most statements one kept connection sent together in one round so far (see
    /// [`Pipeline`]).
    pub fn widest(&self) -> usize {
        let state = self.state();
        state
            .kept
            .iter()
            .map(|c| c.pipeline.widest())
            .max()
            .unwrap_or(0)
    }

    /// Stop using a connection the server has closed.
    fn forget(&self, conn: &Arc<Kept>) {
        self.state().kept.retain(|c| !Arc::ptr_eq(c, conn));
    }
}

/// A lane being opened.
struct Opening<'a>(Option<&'a Connections>);

impl Drop for Opening<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.0 {
            c.state().opening -= 1;
        }
    }
}

/// How many connections quick statements share (their statements pipelined on each: several
/// sent in one write, answered in one read) before more are opened: one per core of this
/// machine, 2 to 8. More lanes spread the calls thinner, so fewer go out together; this process
/// cannot feed many more busy Postgres backends than it has cores (on 2 cores, 2 lanes served
/// 6% more calls than 4).
fn lanes() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(2)
        .clamp(2, 8)
}

/// A statement is quick once this many calls in a row returned all their rows within the
/// first chunk and within [`QUICK`]; then it may share a connection with other quick ones.
const QUICK_STREAK: u32 = 4;

/// How long a quick statement's call takes at most, from sending it to its last row.
const QUICK: std::time::Duration = std::time::Duration::from_millis(10);

/// A kept connection, with the statements prepared on it by statement and parameter types.
struct Kept {
    pg: PostgresConnection,
    prepared: Mutex<HashMap<(u64, Vec<Type>), tokio_postgres::Statement>>,
    /// Statements in flight on it.
    busy: AtomicUsize,
    /// A statement that is not quick uses it: nothing is pipelined behind it.
    exclusive: AtomicBool,
    /// Sends the quick statements of concurrent calls together.
    pipeline: Pipeline,
}

/// Statements prepared per connection at most (then they are closed and prepared anew).
const PREPARED_PER_CONNECTION: usize = 256;

/// A connection in use by one statement (with others, when it and they are quick).
struct Taken {
    conn: Arc<Kept>,
    /// One of the kept connections (not a single call's check-out): worth preparing on.
    kept: bool,
    /// Nothing more is pipelined on the connection while this statement has it.
    exclusive: bool,
    home: Arc<Connections>,
}

impl Taken {
    fn new(conn: Arc<Kept>, kept: bool, quick: bool, home: &Arc<Connections>) -> Taken {
        let depth = conn.busy.fetch_add(1, Ordering::Relaxed) + 1;
        home.deepest.fetch_max(depth, Ordering::Relaxed);
        let mut taken = Taken {
            conn,
            kept,
            exclusive: false,
            home: Arc::clone(home),
        };
        if !quick {
            taken.hold();
        }
        taken
    }

    /// Keep further statements off the connection until this one is done.
    fn hold(&mut self) {
        self.conn.exclusive.store(true, Ordering::Relaxed);
        self.exclusive = true;
    }
}

impl Drop for Taken {
    fn drop(&mut self) {
        if self.exclusive {
            self.conn.exclusive.store(false, Ordering::Relaxed);
        }
        self.conn.busy.fetch_sub(1, Ordering::Relaxed);
        if self.conn.pg.conn.is_closed() {
            self.home.forget(&self.conn);
        }
    }
}

/// The placeholder behind each `$n` of a statement (`$1` first; names without `$`), with the
/// type the planner inferred for it, if any.
pub type Placeholders = Vec<(String, Option<DataType>)>;

/// A statement with positional parameters, ready to send to one Postgres source.
pub struct PgStatement {
    /// Tells this statement's prepared forms apart on a connection.
    id: u64,
    source: String,
    connections: Arc<Connections>,
    sql: String,
    /// The placeholder each `$n` stands for (`$1` first), with the type it is sent as (the
    /// value's own when the planner inferred none, as for `LIMIT $n`).
    params: Vec<(String, Option<(DataType, Type)>)>,
    /// The schema of the rows as the database returns them, and as the tool returns them.
    rows_schema: SchemaRef,
    schema: SchemaRef,
    /// Postgres could not type the parameters: the provider's path is used instead.
    refused: AtomicBool,
    /// How many calls in a row were quick (see [`QUICK_STREAK`]).
    quick: AtomicU32,
}

impl std::fmt::Debug for PgStatement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStatement")
            .field("source", &self.source)
            .field("sql", &self.sql)
            .finish_non_exhaustive()
    }
}

/// The Postgres type a parameter of this Arrow type is sent as (`UNKNOWN`: as text, typed by
/// Postgres from where it stands), if it can be sent.
pub fn postgres_type(t: &DataType) -> Option<Type> {
    Some(match t {
        DataType::Boolean => Type::BOOL,
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => Type::INT2,
        DataType::Int32 | DataType::UInt16 => Type::INT4,
        DataType::Int64 | DataType::UInt32 => Type::INT8,
        DataType::Float32 => Type::FLOAT4,
        DataType::Float64 => Type::FLOAT8,
        DataType::Date32 | DataType::Date64 => Type::DATE,
        DataType::Timestamp(_, None) => Type::TIMESTAMP,
        DataType::Timestamp(_, Some(_)) => Type::TIMESTAMPTZ,
        DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => Type::UNKNOWN,
        _ => return None,
    })
}

/// Text for Postgres to type (see [`postgres_type`]).
#[derive(Debug)]
struct Untyped(Option<String>);

impl ToSql for Untyped {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match &self.0 {
            Some(s) => {
                out.extend_from_slice(s.as_bytes());
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn encode_format(&self, _: &Type) -> Format {
        Format::Text
    }

    to_sql_checked!();
}

impl PgStatement {
    /// `params` names the placeholder behind each `$n` of `sql` with its inferred type; every
    /// type must have a [`postgres_type`].
    pub fn new(
        source: String,
        connections: Arc<Connections>,
        sql: String,
        params: Placeholders,
        rows_schema: SchemaRef,
        schema: SchemaRef,
    ) -> Option<PgStatement> {
        let params = params
            .into_iter()
            .map(|(name, t)| match t {
                Some(t) => postgres_type(&t).map(|pg| (name, Some((t, pg)))),
                None => Some((name, None)),
            })
            .collect::<Option<Vec<_>>>()?;
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Some(PgStatement {
            id: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            source,
            connections,
            sql,
            params,
            rows_schema,
            schema,
            refused: false.into(),
            quick: AtomicU32::new(0),
        })
    }

    /// The SQL sent (with its `$n` parameters); `None` once Postgres refused it.
    pub fn sql(&self) -> Option<&str> {
        let refused = self.refused.load(Ordering::Relaxed);
        (!refused).then_some(self.sql.as_str())
    }

    /// Whether its calls are quick enough to be pipelined (see [`QUICK_STREAK`]).
    pub fn is_quick(&self) -> bool {
        self.quick.load(Ordering::Relaxed) >= QUICK_STREAK
    }

    /// Send the statement with these values for its placeholders (by name, without `$`).
    /// `None` when Postgres cannot type its parameters: send it the provider's way.
    pub async fn execute(
        &self,
        values: &HashMap<String, ScalarAndMetadata>,
    ) -> Result<Option<SendableRecordBatchStream>> {
        if self.refused.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let mut args: Vec<(Box<dyn ToSql + Send + Sync>, Type)> =
            Vec::with_capacity(self.params.len());
        for (name, typed) in &self.params {
            let v = &values
                .get(name)
                .ok_or_else(|| {
                    DataFusionError::Internal(format!("no value for placeholder ${name}"))
                })?
                .value;
            let (v, pg) = match typed {
                Some((t, pg)) if &v.data_type() == t => (v.clone(), pg.clone()),
                Some((t, pg)) => (v.cast_to(t)?, pg.clone()),
                None => match postgres_type(&v.data_type()) {
                    Some(pg) => (v.clone(), pg),
                    // a value this path cannot send: the provider's path can
                    None => return Ok(None),
                },
            };
            args.push((to_sql(&v, &pg)?, pg));
        }
        let args = Arc::new(args);
        // prepared once per connection (as `pgbench -M prepared` does), then bound and executed
        // in one round trip without Postgres parsing or planning it anew
        let key = (
            self.id,
            args.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>(),
        );
        let quick = self.is_quick();
        // a kept connection the server has closed since (restart, idle timeout) is only found
        // out when used, and a prepared statement whose result type changed (the table was
        // altered) must be prepared again: then once more (tools are read-only)
        let mut attempts = 0;
        let started = std::time::Instant::now();
        let (mut taken, mut rows) = loop {
            attempts += 1;
            let taken = self
                .connections
                .take(quick)
                .await
                .map_err(|e| self.error(&e, Code::SourceUnavailable))?;
            let conn = &taken.conn;
            let sent = if !taken.kept {
                conn.pg
                    .conn
                    .query_typed_raw(
                        &self.sql,
                        args.iter()
                            .map(|(v, t)| (v.as_ref() as &(dyn ToSql + Sync), t.clone())),
                    )
                    .await
            } else {
                let known = lock(&conn.prepared).get(&key).cloned();
                let prepared =
                    match known {
                        Some(p) => Ok(p),
                        None => conn.pg.conn.prepare_typed(&self.sql, &key.1).await.inspect(
                            |statement| {
                                let mut prepared = lock(&conn.prepared);
                                if prepared.len() >= PREPARED_PER_CONNECTION {
                                    prepared.clear();
                                }
                                prepared.insert(key.clone(), statement.clone());
                            },
                        ),
                    };
                match prepared {
                    Ok(statement) => {
                        let (kept, args) = (Arc::clone(conn), Arc::clone(&args));
                        let query: Statement = Box::pin(async move {
                            kept.pg
                                .conn
                                .query_raw(
                                    &statement,
                                    args.iter().map(|(v, _)| v.as_ref() as &(dyn ToSql + Sync)),
                                )
                                .await
                        });
                        if taken.exclusive {
                            query.await
                        } else {
                            // quick statements of concurrent calls on this connection go out
                            // together
                            match conn.pipeline.send(query).await {
                                Some(sent) => sent,
                                // the connection is being dropped: another one
                                None if attempts < 2 => {
                                    self.connections.forget(&taken.conn);
                                    continue;
                                }
                                None => {
                                    return Err(self.error(
                                        &"the connection closed before the statement was sent",
                                        Code::SourceUnavailable,
                                    ))
                                }
                            }
                        }
                    }
                    Err(e) => Err(e),
                }
            };
            match sent {
                Ok(rows) => break (taken, Box::pin(rows)),
                Err(e) if gone(&e) && attempts < 2 => {
                    self.connections.forget(&taken.conn);
                    continue;
                }
                Err(e) if stale(&e) && attempts < 2 => {
                    lock(&conn.prepared).remove(&key);
                    continue;
                }
                Err(e) if cannot_type(&e) => {
                    self.refused.store(true, Ordering::Relaxed);
                    return Ok(None);
                }
                Err(e) => return Err(self.error(&postgres_message(&e), Code::QueryExecution)),
            }
        };
        // the first chunk is read here: a statement whose rows all come in it no longer holds
        // its connection (nothing pipelined behind it waits on a slow reader of its rows)
        let mut first = Vec::new();
        let mut more = true;
        while first.len() < CHUNK {
            match rows.next().await {
                Some(Ok(row)) => first.push(row),
                Some(Err(e)) => {
                    self.quick.store(0, Ordering::Relaxed);
                    return Err(self.error(&postgres_message(&e), Code::QueryExecution));
                }
                None => {
                    more = false;
                    break;
                }
            }
        }
        if !more && started.elapsed() <= QUICK {
            let _ = self
                .quick
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                    Some(n.saturating_add(1))
                });
        } else {
            self.quick.store(0, Ordering::Relaxed);
        }
        let rows_schema = Arc::clone(&self.rows_schema);
        let schema = Arc::clone(&self.schema);
        let convert = move |rows: Vec<tokio_postgres::Row>| -> Result<RecordBatch> {
            pg_rows::to_arrow(&rows, &rows_schema, &schema)
        };
        if !more {
            drop(taken);
            // no rows: no batch (the provider's conversion makes none of no rows)
            let batches = (!first.is_empty()).then(|| convert(first));
            return Ok(Some(Box::pin(RecordBatchStreamAdapter::new(
                Arc::clone(&self.schema),
                futures::stream::iter(batches),
            ))));
        }
        let first = convert(first);
        // a quick statement with more rows than it used to have: nothing more is pipelined
        // behind it while its reader takes them (those already behind it wait for them)
        if !taken.exclusive {
            taken.hold();
        }
        let source = self.source.clone();
        let rest = rows.chunks(CHUNK).map(move |rows| {
            // the connection is this statement's until its rows are read
            let _held = &taken;
            let rows = rows
                .into_iter()
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| error(&source, &postgres_message(&e), Code::QueryExecution))?;
            convert(rows)
        });
        Ok(Some(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            futures::stream::iter([first]).chain(rest),
        ))))
    }

    fn error(&self, e: &dyn std::fmt::Display, code: Code) -> DataFusionError {
        error(&self.source, e, code)
    }
}

/// A failure of the statement, naming the source.
pub(crate) fn error(source: &str, e: &dyn std::fmt::Display, code: Code) -> DataFusionError {
    let message = format!("postgres source `{source}`: {e}");
    let help = if message.contains("statement timeout") {
        "the database stopped the query at the source's `timeout:`: filter more, or raise it"
            .to_string()
    } else if code == Code::SourceUnavailable {
        format!("check that the server is running and the connection settings of source `{source}` (url, user, password, tls)")
    } else {
        "the live sources differ from what `check` saw: run `widgettdc check`, and compare the lock file with the data".to_string()
    };
    DataFusionError::External(Box::new(RuntimeError::new(code, message).help(help)))
}

/// Postgres refused the statement because it cannot type a parameter as sent (no operator
/// for it, or nothing to infer its type from).
fn cannot_type(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::INDETERMINATE_DATATYPE
            || *c == SqlState::UNDEFINED_FUNCTION
            || *c == SqlState::AMBIGUOUS_FUNCTION
            || *c == SqlState::DATATYPE_MISMATCH
    )
}

/// The connection is gone: closed, or the server ended the session while it sat idle (a
/// restart, `pg_terminate_backend`, `idle_session_timeout`), which the next statement reads as its
/// error.
fn gone(e: &tokio_postgres::Error) -> bool {
    e.is_closed()
        || matches!(e.code(), Some(c) if *c == SqlState::ADMIN_SHUTDOWN
            || *c == SqlState::CRASH_SHUTDOWN
            || *c == SqlState::IDLE_SESSION_TIMEOUT)
}

/// A prepared statement Postgres will not run again as prepared ("cached plan must not change
/// result type": a table it reads was altered).
fn stale(e: &tokio_postgres::Error) -> bool {
    matches!(e.code(), Some(c) if *c == SqlState::FEATURE_NOT_SUPPORTED)
}

/// The server's own message when there is one (tokio-postgres's `Display` says only "db error").
pub(crate) fn postgres_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    }
}

/// A value as a Postgres parameter of the type [`postgres_type`] gives for it.
fn to_sql(v: &ScalarValue, pg: &Type) -> Result<Box<dyn ToSql + Send + Sync>> {
    if *pg == Type::UNKNOWN {
        return Ok(Box::new(Untyped((!v.is_null()).then(|| v.to_string()))));
    }
    let unsupported = || {
        DataFusionError::Internal(format!(
            "a {} value cannot be sent as a Postgres parameter",
            v.data_type()
        ))
    };
    Ok(match v {
        ScalarValue::Boolean(v) => Box::new(*v),
        ScalarValue::Int8(v) => Box::new(v.map(i16::from)),
        ScalarValue::UInt8(v) => Box::new(v.map(i16::from)),
        ScalarValue::Int16(v) => Box::new(*v),
        ScalarValue::Int32(v) => Box::new(*v),
        ScalarValue::UInt16(v) => Box::new(v.map(i32::from)),
        ScalarValue::Int64(v) => Box::new(*v),
        ScalarValue::UInt32(v) => Box::new(v.map(i64::from)),
        ScalarValue::Float32(v) => Box::new(*v),
        ScalarValue::Float64(v) => Box::new(*v),
        ScalarValue::Utf8(v) | ScalarValue::LargeUtf8(v) | ScalarValue::Utf8View(v) => {
            Box::new(v.clone())
        }
        ScalarValue::Date32(v) => Box::new(
            v.map(|d| {
                NaiveDate::from_epoch_days(d).ok_or_else(|| {
                    DataFusionError::Execution(format!("date {d} days after 1970 is out of range"))
                })
            })
            .transpose()?,
        ),
        ScalarValue::Date64(v) => Box::new(
            v.map(|ms| {
                DateTime::from_timestamp_millis(ms)
                    .map(|t| t.date_naive())
                    .ok_or_else(|| {
                        DataFusionError::Execution(format!("date {ms} ms is out of range"))
                    })
            })
            .transpose()?,
        ),
        ScalarValue::TimestampSecond(v, tz) => timestamp(v.map(|s| (s, TimeUnit::Second)), tz)?,
        ScalarValue::TimestampMillisecond(v, tz) => {
            timestamp(v.map(|s| (s, TimeUnit::Millisecond)), tz)?
        }
        ScalarValue::TimestampMicrosecond(v, tz) => {
            timestamp(v.map(|s| (s, TimeUnit::Microsecond)), tz)?
        }
        ScalarValue::TimestampNanosecond(v, tz) => {
            timestamp(v.map(|s| (s, TimeUnit::Nanosecond)), tz)?
        }
        _ => return Err(unsupported()),
    })
}

/// A timestamp as `timestamp` (no zone) or `timestamptz` (instants are UTC).
fn timestamp(
    v: Option<(i64, TimeUnit)>,
    tz: &Option<Arc<str>>,
) -> Result<Box<dyn ToSql + Send + Sync>> {
    let at = v
        .map(|(n, unit)| {
            let t = match unit {
                TimeUnit::Second => DateTime::from_timestamp(n, 0),
                TimeUnit::Millisecond => DateTime::from_timestamp_millis(n),
                TimeUnit::Microsecond => DateTime::from_timestamp_micros(n),
                TimeUnit::Nanosecond => Some(DateTime::from_timestamp_nanos(n)),
            };
            t.ok_or_else(|| DataFusionError::Execution(format!("timestamp {n} is out of range")))
        })
        .transpose()?;
    Ok(match tz {
        Some(_) => Box::new(at) as Box<dyn ToSql + Send + Sync>,
        None => Box::new(at.map(|t: DateTime<Utc>| -> NaiveDateTime { t.naive_utc() })),
    })
}
