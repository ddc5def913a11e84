//! Sources as DataFusion tables. Each source kind is one module, registered in
//! [`SOURCE_KINDS`]; a source is opened on first use (the first query that names it), never
//! when the project loads.
//!
//! Naming (the same as the compiler's catalog): a file source is one table named after the
//! source, in the default schema (`SELECT * FROM metrics`); a database source is a schema named
//! after the source (`events.security_events`), also reachable as `<source>.<schema>.<table>`.
//!
//! How to add a source kind: write `<kind>.rs` (or a folder) with a `register(&SourceCx) ->
//! Result<Registration>` that returns either a lazily opened table ([`LazyTable`]) or a
//! DataFusion `SchemaProvider` whose `table()` opens on first use; honour projection, filters
//! and limit in the providers' `scan`; add an entry to [`SOURCE_KINDS`]. The compiler side of a
//! kind (its spec keys and decoding) is in `compiler/src/spec/sources/`.

pub mod api_rows;
pub mod by_sql;
pub mod database;
pub mod document;
pub mod file;
pub mod graphql;
pub mod http_client;
pub mod learnt;
pub mod mcp;
pub mod mysql_timeout;
pub mod parquet_row_filter;
pub mod pg_estimate;
pub mod pg_fetch;
pub mod pg_learnt;
pub mod pg_listen;
pub mod pg_pipeline;
pub mod pg_ranges;
pub mod pg_rows;
pub mod pg_statement;
pub mod rest;
pub mod sqlite;
pub mod wrapped_executor;

use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, MemoryCatalogProvider, SchemaProvider, TableProvider};
use datafusion::error::Result as DfResult;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::prelude::SessionConfig;
use indexmap::IndexMap;
use tokio::sync::OnceCell;
use widgettdc_compiler::catalog::CatalogSource;
use widgettdc_compiler::spec::sources::SourceConfig;
use widgettdc_compiler::Code;

use crate::error::{Result, RuntimeError};

/// What a source kind needs to build its tables.
pub struct SourceCx<'a> {
    pub name: &'a str,
    pub config: &'a SourceConfig,
    /// The directory of the spec file that defines the source (relative paths start here).
    pub base_dir: PathBuf,
    /// Declared, locked or previously read schemas of the source's tables.
    pub catalog: Option<&'a CatalogSource>,
    pub session_config: SessionConfig,
    pub env: Arc<RuntimeEnv>,
}

impl SourceCx<'_> {
    pub fn batch_size(&self) -> usize {
        self.session_config.batch_size()
    }
}

/// A table opened on first use.
#[async_trait]
pub trait LazyTable: Debug + Send + Sync {
    async fn open(&self) -> Result<Arc<dyn TableProvider>>;
}

/// How a source appears in SQL.
pub enum Registration {
    /// One table named after the source, in the default schema.
    Table(Arc<dyn LazyTable>),
    /// A schema named after the source (`<source>.<table>`), and a catalog named after it for
    /// three-part names (`<source>.<schema>.<table>`).
    Schema {
        provider: Arc<dyn SchemaProvider>,
        catalog: Option<Arc<dyn CatalogProvider>>,
    },
    /// An MCP server: a schema named after the source (its resources) and the server, whose
    /// tools are table functions (resolved before planning, see `mcp::calls_in`).
    Server {
        provider: Arc<dyn SchemaProvider>,
        server: Arc<mcp::McpServer>,
    },
}

/// One runtime source kind.
pub struct RuntimeSourceKind {
    pub name: &'static str,
    pub register: fn(&SourceCx) -> Result<Registration>,
}

/// The source kinds this runtime executes.
pub const SOURCE_KINDS: &[RuntimeSourceKind] = &[
    RuntimeSourceKind {
        name: "file",
        register: file::register,
    },
    RuntimeSourceKind {
        name: "sqlite",
        register: sqlite_register,
    },
    RuntimeSourceKind {
        name: "postgres",
        register: database::register,
    },
    RuntimeSourceKind {
        name: "mysql",
        register: database::register,
    },
    RuntimeSourceKind {
        name: "rest",
        register: rest::register,
    },
    RuntimeSourceKind {
        name: "graphql",
        register: graphql::register,
    },
    RuntimeSourceKind {
        name: "mcp",
        register: mcp::register,
    },
];

/// Lock a mutex, also one a panicking holder left poisoned (what it guards stays usable: every
/// holder leaves it consistent between statements).
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn sqlite_register(cx: &SourceCx) -> Result<Registration> {
    let SourceConfig::Sqlite(s) = cx.config else {
        return Err(RuntimeError::internal(
            "sqlite registration for another kind",
        ));
    };
    let busy = s
        .busy_timeout
        .as_ref()
        .map(|d| d.0)
        .unwrap_or(std::time::Duration::from_secs(5));
    let provider = sqlite::SqliteSchema::new(
        cx.name,
        cx.base_dir.join(&s.path.value),
        s.path.value.clone(),
        busy,
        cx.catalog.cloned(),
        cx.batch_size(),
    );
    let provider: Arc<dyn SchemaProvider> = Arc::new(provider);
    let catalog = MemoryCatalogProvider::new();
    catalog
        .register_schema("main", Arc::clone(&provider))
        .map_err(RuntimeError::internal)?;
    Ok(Registration::Schema {
        provider,
        catalog: Some(Arc::new(catalog)),
    })
}

/// Register a source: its kind's entry, or a placeholder that explains (on use) that the kind
/// is not executable yet.
pub fn register(cx: &SourceCx) -> Result<Registration> {
    let kind = cx.config.kind();
    match SOURCE_KINDS.iter().find(|k| k.name == kind) {
        Some(k) => (k.register)(cx),
        None => Ok(Registration::Schema {
            provider: Arc::new(Unsupported {
                source: cx.name.to_string(),
                kind,
            }),
            catalog: None,
        }),
    }
}

/// A source whose kind the runtime cannot execute yet: naming one of its tables is an error.
#[derive(Debug)]
struct Unsupported {
    source: String,
    kind: &'static str,
}

impl Unsupported {
    fn error(&self) -> RuntimeError {
        RuntimeError::new(
            Code::SourceKindUnsupported,
            format!(
                "source `{}` is `kind: {}`, which this version of widgettdc checks but cannot query yet",
                self.source, self.kind
            ),
        )
        .help(format!(
            "the runtime executes these kinds: {}",
            SOURCE_KINDS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
        ))
    }
}

#[async_trait]
impl SchemaProvider for Unsupported {
    fn table_names(&self) -> Vec<String> {
        Vec::new()
    }

    async fn table(&self, _name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        Err(self.error().into_datafusion())
    }

    fn table_exist(&self, _name: &str) -> bool {
        true
    }
}

/// A table and, once opened, its provider.
type Lazy = (Arc<dyn LazyTable>, OnceCell<Arc<dyn TableProvider>>);

/// The default schema: one lazily opened table per file source.
#[derive(Debug, Default)]
pub struct DefaultSchema {
    tables: IndexMap<String, Lazy>,
}

impl DefaultSchema {
    pub fn add(&mut self, name: &str, table: Arc<dyn LazyTable>) {
        self.tables
            .insert(name.to_string(), (table, OnceCell::new()));
    }
}

#[async_trait]
impl SchemaProvider for DefaultSchema {
    fn table_names(&self) -> Vec<String> {
        self.tables.keys().cloned().collect()
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let Some((lazy, cell)) = self.tables.get(name) else {
            return Ok(None);
        };
        // a failure is not remembered: the next query tries again
        let t = cell
            .get_or_try_init(|| lazy.open())
            .await
            .map_err(RuntimeError::into_datafusion)?;
        Ok(Some(Arc::clone(t)))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.tables.contains_key(name)
    }
}
