//! `kind: postgres` and `kind: mysql` (MariaDB too): tables from `datafusion-table-providers`,
//! wrapped for `datafusion-federation`, so a sub-plan that touches only one database (filters,
//! projections, limits, aggregates, joins between its own tables) runs inside it as one SQL
//! statement; only cross-source work happens in DataFusion.
//!
//! SQL names: `<source>.<table>` (the default schema: `schema:` or `public` for Postgres, the
//! database for MySQL) and `<source>.<schema>.<table>`. The connection pool is created on first
//! use, with a timeout; a table's schema is read when a query first names it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::common::TableReference;
use datafusion::error::Result as DfResult;
use datafusion_table_providers::mysql::MySQLTableFactory;
use datafusion_table_providers::postgres::PostgresTableFactory;
use datafusion_table_providers::sql::db_connection_pool::dbconnection::AsyncDbConnection;
use datafusion_table_providers::sql::db_connection_pool::mysqlpool::MySQLConnectionPool;
use datafusion_table_providers::sql::db_connection_pool::postgrespool::PostgresConnectionPool;
use datafusion_table_providers::util::secrets::to_secret_map;
use datafusion_table_providers::UnsupportedTypeAction;
use tokio::sync::OnceCell;
use widgettdc_compiler::catalog::CatalogSource;
use widgettdc_compiler::spec::sources::connection::Connection;
use widgettdc_compiler::spec::sources::SourceConfig;
use widgettdc_compiler::Code;

use super::{Registration, SourceCx};
use crate::error::{Result, RuntimeError};

/// How long to wait for the first connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Postgres,
    Mysql,
}

impl Engine {
    fn name(self) -> &'static str {
        match self {
            Engine::Postgres => "PostgreSQL",
            Engine::Mysql => "MySQL",
        }
    }
}

enum Factory {
    Postgres(PostgresTableFactory, Arc<PostgresConnectionPool>),
    Mysql(MySQLTableFactory, Arc<MySQLConnectionPool>),
}

/// One database source: its connection settings and, once connected, its pool.
pub struct Database {
    source: String,
    engine: Engine,
    params: HashMap<String, String>,
    connect_timeout: Duration,
    /// `timeout:`; Postgres takes it as `statement_timeout` at connect, MySQL per statement.
    statement_timeout: Option<Duration>,
    /// MySQL or MariaDB, asked once when a statement needs limiting.
    flavor: OnceCell<super::mysql_timeout::Flavor>,
    factory: OnceCell<Factory>,
    /// Postgres: the connections direct statements use (see [`super::pg_statement`]).
    direct: std::sync::OnceLock<Arc<super::pg_statement::Connections>>,
    /// Tables per schema, listed once.
    listed: Mutex<HashMap<String, Vec<String>>>,
    /// Table providers (each read the table's columns from the database), kept for
    /// [`PROVIDER_TTL`] so that a tool called again is not introspected again.
    providers: Mutex<HashMap<(String, String), CachedProvider>>,
    declared: Option<CatalogSource>,
}

impl std::fmt::Debug for Database {
    // the parameters hold the password: never print them
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("source", &self.source)
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

/// The URL's parts as connection parameters (user and password percent-decoded); query
/// parameters such as `sslmode` too.
fn url_params(engine: Engine, text: &str) -> Result<HashMap<String, String>, String> {
    let url = url::Url::parse(text).map_err(|e| format!("`url:` is not a valid URL: {e}"))?;
    let expected: &[&str] = match engine {
        Engine::Postgres => &["postgres", "postgresql"],
        Engine::Mysql => &["mysql", "mariadb"],
    };
    if !expected.contains(&url.scheme()) {
        return Err(format!(
            "`url:` starts with `{}://`; expected {}",
            url.scheme(),
            expected
                .iter()
                .map(|s| format!("{s}://"))
                .collect::<Vec<_>>()
                .join(" or ")
        ));
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let mut p = HashMap::new();
    if let Some(h) = url.host_str() {
        p.insert("host".into(), h.to_string());
    }
    if !url.username().is_empty() {
        p.insert("user".into(), decode(url.username()));
    }
    if let Some(pw) = url.password() {
        p.insert("pass".into(), decode(pw));
    }
    if let Some(port) = url.port() {
        let key = if engine == Engine::Mysql {
            "tcp_port"
        } else {
            "port"
        };
        p.insert(key.into(), port.to_string());
    }
    let db = url.path().trim_start_matches('/');
    if !db.is_empty() {
        p.insert("db".into(), decode(db));
    }
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "sslmode" | "ssl-mode" => {
                p.insert("sslmode".into(), v.to_lowercase());
            }
            "sslrootcert" => {
                p.insert("sslrootcert".into(), v.into_owned());
            }
            _ => {}
        }
    }
    Ok(p)
}

fn connection_params(
    engine: Engine,
    c: &Connection,
    base_dir: &Path,
) -> Result<HashMap<String, String>, String> {
    let mut p = match &c.url {
        Some(url) => url_params(engine, &url.value)?,
        None => HashMap::new(),
    };
    if let Some(h) = &c.host {
        p.insert("host".into(), h.clone());
    }
    if let Some(u) = &c.user {
        p.insert("user".into(), u.clone());
    }
    if let Some(d) = &c.database {
        p.insert("db".into(), d.clone());
    }
    if let Some(pw) = &c.password {
        p.insert("pass".into(), pw.clone());
    }
    if let Some(port) = c.port {
        let key = if engine == Engine::Mysql {
            "tcp_port"
        } else {
            "port"
        };
        p.insert(key.into(), port.to_string());
    }
    let mode = c
        .tls
        .as_ref()
        .and_then(|t| t.mode.clone())
        .or_else(|| p.get("sslmode").cloned())
        .unwrap_or_else(|| "prefer".into());
    let mode = match engine {
        Engine::Postgres => mode,
        Engine::Mysql => match mode.as_str() {
            "disable" => "disabled".into(),
            "prefer" => "preferred".into(),
            _ => "required".into(),
        },
    };
    p.insert("sslmode".into(), mode);
    if let Some(ca) = c.tls.as_ref().and_then(|t| t.ca_file.as_ref()) {
        p.insert(
            "sslrootcert".into(),
            base_dir.join(ca).to_string_lossy().into_owned(),
        );
    }
    if let Some(max) = c.pool.as_ref().and_then(|p| p.max_size) {
        let key = if engine == Engine::Mysql {
            "pool_max"
        } else {
            "connection_pool_size"
        };
        p.insert(key.into(), max.to_string());
    }
    if let (Engine::Mysql, Some(min)) = (engine, c.pool.as_ref().and_then(|p| p.min_idle)) {
        p.insert("pool_min".into(), min.to_string());
    }
    if engine == Engine::Postgres {
        // queries never write, and a statement never runs longer than `timeout:`
        let mut options = String::from("-c default_transaction_read_only=on");
        if let Some(t) = &c.timeout {
            options.push_str(&format!(" -c statement_timeout={}", t.0.as_millis()));
        }
        p.insert("options".into(), options);
    }
    Ok(p)
}

/// The database an unqualified MySQL table is in: `database:`, else the URL's path.
fn mysql_database(c: &Connection) -> Option<String> {
    c.database.clone().or_else(|| {
        let url = &c.url.as_ref()?.value;
        let after = url.split_once("://")?.1;
        let path = after.split_once('/')?.1;
        let db = path.split(['?', '#']).next()?;
        (!db.is_empty()).then(|| db.to_string())
    })
}

pub fn register(cx: &SourceCx) -> Result<Registration> {
    let (engine, connection, default_schema) = match cx.config {
        SourceConfig::Postgres(p) => (
            Engine::Postgres,
            &p.connection,
            p.schema.clone().unwrap_or_else(|| "public".into()),
        ),
        SourceConfig::Mysql(m) => (
            Engine::Mysql,
            &m.connection,
            mysql_database(&m.connection).ok_or_else(|| {
                RuntimeError::new(
                    Code::SourceUnavailable,
                    format!("source `{}` names no database", cx.name),
                )
                .help("add `database:` (or put it in the URL: mysql://host/db)")
            })?,
        ),
        _ => {
            return Err(RuntimeError::internal(
                "database registration for another kind",
            ))
        }
    };
    let db = Arc::new(Database {
        source: cx.name.to_string(),
        engine,
        params: connection_params(engine, connection, &cx.base_dir).map_err(|msg| {
            RuntimeError::new(
                Code::SourceUnavailable,
                format!("source `{}`: {msg}", cx.name),
            )
            .help("e.g. `url: postgres://user:${secret:DB_PASSWORD}@host:5432/db`")
        })?,
        connect_timeout: connection
            .pool
            .as_ref()
            .and_then(|p| p.acquire_timeout.as_ref())
            .map(|d| d.0)
            .unwrap_or(CONNECT_TIMEOUT),
        statement_timeout: connection.timeout.as_ref().map(|t| t.0),
        flavor: OnceCell::new(),
        factory: OnceCell::new(),
        direct: std::sync::OnceLock::new(),
        listed: Mutex::new(HashMap::new()),
        providers: Mutex::new(HashMap::new()),
        declared: cx.catalog.cloned(),
    });
    Ok(Registration::Schema {
        provider: Arc::new(DatabaseSchema {
            db: Arc::clone(&db),
            schema: default_schema.clone(),
        }),
        catalog: Some(Arc::new(DatabaseCatalog { db, default_schema })),
    })
}

/// A table provider and when it was made.
type CachedProvider = (std::time::Instant, Arc<dyn TableProvider>);

/// How long a table's columns, once read, are trusted (a query planned later reads them again).
const PROVIDER_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// Run `$call` on a direct connection of either engine (the two connection types differ).
macro_rules! with_connection {
    ($db:expr, $conn:ident, $call:expr) => {
        match $db.factory().await? {
            Factory::Postgres(_, pool) => {
                let $conn = pool
                    .connect_direct()
                    .await
                    .map_err(|e| $db.error("cannot connect", e))?;
                $call.await
            }
            Factory::Mysql(_, pool) => {
                let $conn = pool
                    .connect_direct()
                    .await
                    .map_err(|e| $db.error("cannot connect", e))?;
                $call.await
            }
        }
    };
}

impl Database {
    fn error(&self, what: &str, e: impl std::fmt::Display) -> RuntimeError {
        RuntimeError::new(
            Code::SourceUnavailable,
            format!("{} source `{}`: {what}: {e}", self.engine.name(), self.source),
        )
        .help(format!(
            "check that the server is running and the connection settings of source `{}` (url, user, password, tls)",
            self.source
        ))
    }

    async fn factory(&self) -> Result<&Factory> {
        self.factory
            .get_or_try_init(|| async {
                let params = to_secret_map(self.params.clone());
                let connect = async {
                    match self.engine {
                        Engine::Postgres => PostgresConnectionPool::new(params)
                            .await
                            .map(|pool| {
                                // json/jsonb and other types without an Arrow mapping are text
                                let pool =
                                    Arc::new(pool.with_unsupported_type_action(
                                        UnsupportedTypeAction::String,
                                    ));
                                Factory::Postgres(
                                    PostgresTableFactory::new(Arc::clone(&pool)),
                                    pool,
                                )
                            })
                            .map_err(|e| self.error("cannot connect", e)),
                        Engine::Mysql => MySQLConnectionPool::new(params)
                            .await
                            .map(|pool| {
                                let pool = Arc::new(pool);
                                Factory::Mysql(MySQLTableFactory::new(Arc::clone(&pool)), pool)
                            })
                            .map_err(|e| self.error("cannot connect", e)),
                    }
                };
                match tokio::time::timeout(self.connect_timeout, connect).await {
                    Ok(r) => r,
                    Err(_) => Err(self.error(
                        "cannot connect",
                        format!("no connection within {:?}", self.connect_timeout),
                    )),
                }
            })
            .await
    }

    /// MySQL or MariaDB (`SELECT VERSION()`, once).
    async fn flavor(&self) -> Result<super::mysql_timeout::Flavor> {
        use super::mysql_timeout::Flavor;
        self.flavor
            .get_or_try_init(|| async {
                let Factory::Mysql(_, pool) = self.factory().await? else {
                    return Ok(Flavor::MySql);
                };
                let conn = pool
                    .connect_direct()
                    .await
                    .map_err(|e| self.error("cannot connect", e))?;
                let batches: Vec<_> = futures::TryStreamExt::try_collect(
                    conn.query_arrow("SELECT VERSION() AS v", &[], None)
                        .await
                        .map_err(|e| self.error("cannot ask the server version", e))?,
                )
                .await
                .map_err(|e| self.error("cannot ask the server version", e))?;
                let version = batches
                    .first()
                    .filter(|b| b.num_rows() > 0)
                    .and_then(|b| {
                        arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).ok()
                    })
                    .and_then(|c| {
                        c.as_any()
                            .downcast_ref::<arrow::array::StringArray>()
                            .map(|s| s.value(0).to_string())
                    })
                    .unwrap_or_default();
                Ok(Flavor::from_version(&version))
            })
            .await
            .copied()
    }

    /// The tables of a schema (listed once per runtime).
    pub async fn tables(&self, schema: &str) -> Result<Vec<String>> {
        if let Some(t) = self
            .listed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(schema)
        {
            return Ok(t.clone());
        }
        let tables = with_connection!(self, conn, conn.tables(schema))
            .map_err(|e| self.error("cannot list tables", e))?;
        self.listed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(schema.to_string(), tables.clone());
        Ok(tables)
    }

    /// The schemas of the database.
    pub async fn schemas(&self) -> Result<Vec<String>> {
        with_connection!(self, conn, conn.schemas())
            .map_err(|e| self.error("cannot list schemas", e))
    }

    /// A table provider (federated), or `None` if the schema has no such table.
    pub async fn table(&self, schema: &str, table: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let key = (schema.to_string(), table.to_string());
        if let Some((at, p)) = self
            .providers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            if at.elapsed() < PROVIDER_TTL {
                return Ok(Some(Arc::clone(p)));
            }
        }
        let provider = self.read_table(schema, table).await?;
        if let Some(p) = &provider {
            self.providers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key, (std::time::Instant::now(), Arc::clone(p)));
        }
        Ok(provider)
    }

    async fn read_table(
        &self,
        schema: &str,
        table: &str,
    ) -> Result<Option<Arc<dyn TableProvider>>> {
        // the listing has base tables; a view is found by reading its schema
        let listed = self.tables(schema).await?.iter().any(|t| t == table);
        let reference = TableReference::partial(schema, table);
        let provider = match (self.factory().await?, self.statement_timeout) {
            (Factory::Postgres(f, pool), _) => f
                .table_provider(reference)
                .await
                .map(|t| super::pg_estimate::table(t, pool, &self.source)),
            (Factory::Mysql(_, pool), Some(timeout)) => {
                let flavor = self.flavor().await?;
                super::mysql_timeout::table(pool, reference, flavor, timeout).await
            }
            (Factory::Mysql(f, _), None) => f.table_provider(reference).await,
        };
        if provider.is_err() && !listed {
            return Ok(None);
        }
        let provider = provider.map_err(|e| {
            RuntimeError::new(
                Code::SourceRead,
                format!(
                    "{} source `{}`: cannot read the schema of `{schema}.{table}`: {e}",
                    self.engine.name(),
                    self.source
                ),
            )
            .help("a column type widgettdc cannot map to Arrow is named above; cast it in a view, or leave it out")
        })?;
        Ok(Some(provider))
    }

    fn declared_names(&self, schema: &str, default_schema: &str) -> Vec<String> {
        let Some(d) = &self.declared else {
            return Vec::new();
        };
        d.tables
            .keys()
            .filter(|(s, _)| match s {
                None => schema == default_schema,
                Some(s) => s == schema,
            })
            .map(|(_, t)| t.clone())
            .collect()
    }
}

/// Run a future to completion from sync code, when a multi-threaded runtime allows it.
fn block_on<T>(f: impl std::future::Future<Output = T>) -> Option<T> {
    let handle = tokio::runtime::Handle::try_current().ok()?;
    if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
        return None;
    }
    Some(tokio::task::block_in_place(|| handle.block_on(f)))
}

/// One schema of a database source.
#[derive(Debug)]
pub struct DatabaseSchema {
    db: Arc<Database>,
    schema: String,
}

impl DatabaseSchema {
    /// `LISTEN` on a channel of this Postgres source (see [`super::pg_listen`]).
    pub async fn listen(&self, channel: &str) -> Result<tokio::sync::mpsc::Receiver<String>> {
        if self.db.engine != Engine::Postgres {
            return Err(RuntimeError::new(
                Code::SourceUnavailable,
                format!(
                    "source `{}` is {}: only postgres sources have LISTEN/NOTIFY channels",
                    self.db.source,
                    self.db.engine.name()
                ),
            )
            .help("remove `channel:` from the widget data, or use `refresh:`"));
        }
        super::pg_listen::listen(
            &self.db.source,
            &self.db.params,
            channel,
            self.db.connect_timeout,
        )
        .await
    }

    /// The connections direct statements of this Postgres source use, once it is connected.
    pub fn postgres_connections(&self) -> Option<Arc<super::pg_statement::Connections>> {
        let Some(Factory::Postgres(_, pool)) = self.db.factory.get() else {
            return None;
        };
        let size = self
            .db
            .params
            .get("connection_pool_size")
            .and_then(|s| s.parse().ok())
            .unwrap_or(10); // the provider's default
        Some(Arc::clone(self.db.direct.get_or_init(|| {
            super::pg_statement::Connections::new(Arc::clone(pool), size)
        })))
    }

    /// The schema's tables, or why they cannot be listed.
    pub async fn list(&self) -> Result<Vec<String>> {
        self.db.tables(&self.schema).await
    }
}

#[async_trait]
impl SchemaProvider for DatabaseSchema {
    fn table_names(&self) -> Vec<String> {
        match block_on(self.db.tables(&self.schema)) {
            Some(Ok(t)) => t,
            _ => self.db.declared_names(&self.schema, &self.schema),
        }
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        self.db
            .table(&self.schema, name)
            .await
            .map_err(RuntimeError::into_datafusion)
    }

    fn table_exist(&self, name: &str) -> bool {
        self.table_names().iter().any(|t| t == name)
    }
}

/// The source as a catalog: `<source>.<schema>.<table>`.
#[derive(Debug)]
pub struct DatabaseCatalog {
    db: Arc<Database>,
    default_schema: String,
}

impl CatalogProvider for DatabaseCatalog {
    fn schema_names(&self) -> Vec<String> {
        match block_on(self.db.schemas()) {
            Some(Ok(s)) => s,
            _ => vec![self.default_schema.clone()],
        }
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        Some(Arc::new(DatabaseSchema {
            db: Arc::clone(&self.db),
            schema: name.to_string(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mysql_database_comes_from_the_url() {
        let c = Connection {
            url: Some(widgettdc_compiler::source::Spanned {
                value: "mysql://root@127.0.0.1:3306/test?ssl-mode=DISABLED".into(),
                span: widgettdc_compiler::source::Span::new(
                    widgettdc_compiler::source::FileId(0),
                    0..0,
                ),
            }),
            ..Connection::default()
        };
        assert_eq!(mysql_database(&c).as_deref(), Some("test"));
    }

    #[test]
    fn urls_become_parameters() {
        let p = url_params(
            Engine::Postgres,
            "postgres://ann:p%40ss@db.local:6543/crm?sslmode=require",
        )
        .unwrap();
        assert_eq!(p["user"], "ann");
        assert_eq!(p["pass"], "p@ss");
        assert_eq!(p["port"], "6543");
        assert_eq!(p["db"], "crm");
        assert_eq!(p["sslmode"], "require");
        assert!(url_params(Engine::Postgres, "mysql://x/y")
            .unwrap_err()
            .contains("postgres://"));
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let c = Connection {
            host: Some("h".into()),
            password: Some("hunter2".into()),
            ..Connection::default()
        };
        let db = Database {
            source: "crm".into(),
            engine: Engine::Postgres,
            params: connection_params(Engine::Postgres, &c, Path::new(".")).unwrap(),
            connect_timeout: CONNECT_TIMEOUT,
            statement_timeout: None,
            flavor: OnceCell::new(),
            factory: OnceCell::new(),
            direct: std::sync::OnceLock::new(),
            listed: Mutex::new(HashMap::new()),
            providers: Mutex::new(HashMap::new()),
            declared: None,
        };
        assert!(!format!("{db:?}").contains("hunter2"));
    }
}
