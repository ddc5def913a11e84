//! `timeout:` for MySQL/MariaDB sources. The provider's pool runs fixed session setup queries
//! and takes no others, so the limit travels with each statement instead: MariaDB's
//! `SET STATEMENT max_statement_time=S FOR <query>`, MySQL's `/*+ MAX_EXECUTION_TIME(ms) */`
//! optimizer hint. The server stops the statement at the limit, so a slow query frees the
//! database too, not only the client.
//!
//! The statement is rewritten in a `SQLExecutor` that wraps the provider's own (same dialect,
//! AST analyzer and schema), which the federation provider then uses for every sub-plan it
//! sends to the database; a plain scan that federation leaves to the table (`SELECT * FROM t`)
//! goes through [`LimitedTable`], which writes the same SQL as the provider and limits it.

use std::sync::Arc;
use std::time::Duration;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::error::Result as DfResult;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::PhysicalExpr;
use datafusion::sql::unparser::dialect::MySqlDialect;
use datafusion_federation::sql::{
    RemoteTableRef, SQLExecutor, SQLFederationProvider, SQLTableSource,
};
use datafusion_federation::FederatedTableProviderAdaptor;

use super::wrapped_executor::{Hooks, Wrapped};
use datafusion_table_providers::mysql::sql_table::MySQLTable;
use datafusion_table_providers::sql::db_connection_pool::mysqlpool::MySQLConnectionPool;
use datafusion_table_providers::sql::db_connection_pool::DbConnectionPool;
use datafusion_table_providers::sql::sql_provider_datafusion::{SqlExec, SqlTable};
use mysql_async::prelude::ToValue;

type Param = &'static (dyn ToValue + Sync);
type Pool = Arc<dyn DbConnectionPool<mysql_async::Conn, Param> + Send + Sync>;

/// Which server answers: they spell a statement time limit differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    MariaDb,
    MySql,
}

impl Flavor {
    /// From `SELECT VERSION()`: MariaDB says so (`10.11.19-MariaDB-0+deb12u1`).
    pub fn from_version(version: &str) -> Flavor {
        if version.to_ascii_lowercase().contains("mariadb") {
            Flavor::MariaDb
        } else {
            Flavor::MySql
        }
    }
}

/// `query` with a server-side time limit.
pub fn limited(flavor: Flavor, timeout: Duration, query: &str) -> String {
    match flavor {
        Flavor::MariaDb => format!(
            "SET STATEMENT max_statement_time={:.3} FOR {query}",
            timeout.as_secs_f64()
        ),
        Flavor::MySql => {
            let ms = timeout.as_millis().max(1);
            let trimmed = query.trim_start();
            // the hint must follow the first SELECT keyword; other statements run unhinted
            if trimmed.len() >= 6 && trimmed[..6].eq_ignore_ascii_case("select") {
                format!("SELECT /*+ MAX_EXECUTION_TIME({ms}) */{}", &trimmed[6..])
            } else {
                query.to_string()
            }
        }
    }
}

/// Each statement the provider's executor is given, limited.
struct Limited {
    flavor: Flavor,
    timeout: Duration,
}

impl Hooks for Limited {
    fn execute(
        &self,
        inner: &Arc<dyn SQLExecutor>,
        query: &str,
        schema: SchemaRef,
        filters: &[Arc<dyn PhysicalExpr>],
    ) -> DfResult<SendableRecordBatchStream> {
        inner.execute(&limited(self.flavor, self.timeout, query), schema, filters)
    }
}

/// The table for scans that are not federated: the provider's filter pushdown and SQL, with
/// the time limit.
struct LimitedTable {
    inner: Arc<MySQLTable>,
    sql: SqlTable<mysql_async::Conn, Param>,
    pool: Pool,
    flavor: Flavor,
    timeout: Duration,
}

impl std::fmt::Debug for LimitedTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LimitedTable({:?})", self.inner)
    }
}

#[async_trait]
impl TableProvider for LimitedTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let sql = self.sql.scan_to_sql(projection, filters, limit)?;
        Ok(Arc::new(SqlExec::new(
            projection,
            &self.schema(),
            Arc::clone(&self.pool),
            limited(self.flavor, self.timeout, &sql),
            Arc::new(MySqlDialect {}),
        )?))
    }
}

/// A federated MySQL table whose statements carry the time limit.
pub async fn table(
    pool: &Arc<MySQLConnectionPool>,
    reference: TableReference,
    flavor: Flavor,
    timeout: Duration,
) -> Result<Arc<dyn TableProvider>, Box<dyn std::error::Error + Send + Sync>> {
    let table = Arc::new(MySQLTable::new(pool, reference.clone()).await?);
    let schema = table.schema();
    let dyn_pool: Pool = Arc::clone(pool) as Pool;
    let fallback = Arc::new(LimitedTable {
        inner: Arc::clone(&table),
        sql: SqlTable::new_with_schema("mysql", &dyn_pool, Arc::clone(&schema), reference.clone())
            .with_dialect(Arc::new(MySqlDialect {})),
        pool: dyn_pool,
        flavor,
        timeout,
    });
    let executor = Arc::new(Wrapped {
        inner: table as Arc<dyn SQLExecutor>,
        hooks: Limited { flavor, timeout },
    });
    let source = Arc::new(SQLTableSource::new_with_schema(
        Arc::new(SQLFederationProvider::new(executor)),
        RemoteTableRef::from(reference),
        schema,
    ));
    Ok(Arc::new(FederatedTableProviderAdaptor::new_with_provider(
        source, fallback,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_server_gets_its_own_spelling() {
        let t = Duration::from_millis(1500);
        assert_eq!(
            limited(Flavor::MariaDb, t, "SELECT a FROM t"),
            "SET STATEMENT max_statement_time=1.500 FOR SELECT a FROM t"
        );
        assert_eq!(
            limited(Flavor::MySql, t, "select a FROM t"),
            "SELECT /*+ MAX_EXECUTION_TIME(1500) */ a FROM t"
        );
        assert_eq!(
            limited(Flavor::MySql, t, "WITH x AS (SELECT 1) SELECT * FROM x"),
            "WITH x AS (SELECT 1) SELECT * FROM x"
        );
        assert_eq!(
            Flavor::from_version("10.11.19-MariaDB-0+deb12u1"),
            Flavor::MariaDb
        );
        assert_eq!(Flavor::from_version("8.4.3"), Flavor::MySql);
    }
}
