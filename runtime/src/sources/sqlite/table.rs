//! One SQLite table as a DataFusion `TableProvider`, and the `ExecutionPlan` that runs the SQL
//! built from the scan's projection, filters and limit, streaming record batches.

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::Statistics;
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::execution_plan::{ChildrenPropertiesMode, ReplaceChildrenOptions};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use widgettdc_compiler::Code;

use super::convert::BatchBuilder;
use super::pushdown::{filter_sql, ident, Fit};
use super::SqliteDb;
use crate::error::RuntimeError;

#[derive(Debug)]
pub struct SqliteTable {
    db: Arc<SqliteDb>,
    table: String,
    schema: SchemaRef,
    batch_size: usize,
}

impl SqliteTable {
    /// Text columns are read as `Utf8View`, as DataFusion reads Parquet strings by default: a
    /// join or aggregate that carries strings moves 16-byte views instead of copying bytes.
    pub fn new(db: Arc<SqliteDb>, table: String, schema: SchemaRef, batch_size: usize) -> Self {
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Utf8 | DataType::LargeUtf8 => {
                    f.as_ref().clone().with_data_type(DataType::Utf8View)
                }
                _ => f.as_ref().clone(),
            })
            .collect();
        SqliteTable {
            db,
            table,
            schema: Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())),
            batch_size,
        }
    }
}

#[async_trait]
impl TableProvider for SqliteTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn statistics(&self) -> Option<Statistics> {
        Some(estimate(
            &self.schema,
            self.db.row_estimates.get(&self.table).copied(),
            None,
        ))
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| Fit::pushdown(filter_sql(f, &self.schema).map(|(_, fit)| fit)))
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let schema = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => Arc::clone(&self.schema),
        };
        let columns = if schema.fields().is_empty() {
            // only the row count is needed (count(*))
            "NULL".to_string()
        } else {
            schema
                .fields()
                .iter()
                .map(|f| ident(f.name()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let select = format!("SELECT {columns} FROM {}", ident(&self.table));
        let wheres: Vec<String> = filters
            .iter()
            .filter_map(|f| filter_sql(f, &self.schema).map(|(s, _)| s))
            .collect();
        let statement = |extra: Option<String>| {
            let mut sql = select.clone();
            let all: Vec<&str> = wheres
                .iter()
                .map(String::as_str)
                .chain(extra.as_deref())
                .collect();
            if !all.is_empty() {
                sql.push_str(" WHERE ");
                sql.push_str(&all.join(" AND "));
            }
            if let Some(n) = limit {
                sql.push_str(&format!(" LIMIT {n}"));
            }
            sql
        };
        let rows = self.db.row_estimates.get(&self.table).copied();
        // a large table without a LIMIT is read in rowid ranges, one per partition, in parallel
        // (SQLite reads one statement on one thread)
        let partitions = state.config_options().execution.target_partitions.max(1);
        let split = match (rows, limit) {
            (Some(n), None) if partitions > 1 && n >= PARTITION_MIN_ROWS => {
                let step = n.div_ceil(partitions) as i64;
                (0..partitions as i64)
                    .map(|i| {
                        let (lo, hi) = (i * step, (i + 1) * step);
                        let range = if i == 0 {
                            format!("_rowid_ <= {hi}")
                        } else if i == partitions as i64 - 1 {
                            format!("_rowid_ > {lo}")
                        } else {
                            format!("_rowid_ > {lo} AND _rowid_ <= {hi}")
                        };
                        statement(Some(range))
                    })
                    .collect()
            }
            _ => vec![statement(None)],
        };
        Ok(Arc::new(
            SqliteExec::new(
                Arc::clone(&self.db),
                self.table.clone(),
                statement(None),
                schema,
                self.batch_size,
            )
            .with_partitions(split)
            .with_estimate(rows, limit),
        ))
    }
}

/// Tables with at least this many rows (estimated) are read in parallel rowid ranges.
const PARTITION_MIN_ROWS: usize = 100_000;

/// Statistics from a row estimate (inexact: an upper bound, cut by a limit); no column stats.
fn estimate(schema: &SchemaRef, rows: Option<usize>, limit: Option<usize>) -> Statistics {
    let mut s = Statistics::new_unknown(schema);
    if let Some(n) = rows {
        let n = limit.map_or(n, |l| n.min(l));
        s.num_rows = Precision::Inexact(n);
    }
    s
}

/// Runs one SQL statement on SQLite and streams its rows.
#[derive(Debug)]
pub struct SqliteExec {
    rows: Option<usize>,
    limit: Option<usize>,
    db: Arc<SqliteDb>,
    table: String,
    sql: String,
    /// One statement per partition (the same rows as `sql`, split by rowid ranges).
    partitions: Vec<String>,
    schema: SchemaRef,
    batch_size: usize,
    props: Arc<PlanProperties>,
}

impl SqliteExec {
    pub fn new(
        db: Arc<SqliteDb>,
        table: String,
        sql: String,
        schema: SchemaRef,
        batch_size: usize,
    ) -> Self {
        let props = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        SqliteExec {
            rows: None,
            limit: None,
            db,
            table,
            partitions: vec![sql.clone()],
            sql,
            schema,
            batch_size,
            props,
        }
    }

    /// Read the rows as these statements, one per partition.
    pub fn with_partitions(mut self, statements: Vec<String>) -> Self {
        if statements.is_empty() {
            return self;
        }
        self.props = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&self.schema)),
            Partitioning::UnknownPartitioning(statements.len()),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        self.partitions = statements;
        self
    }

    /// The statements of the partitions.
    pub fn partition_sql(&self) -> &[String] {
        &self.partitions
    }

    /// The table's estimated row count and the limit in the SQL, for the planner's statistics.
    pub fn with_estimate(mut self, rows: Option<usize>, limit: Option<usize>) -> Self {
        self.rows = rows;
        self.limit = limit;
        self
    }

    /// The SQL text sent to SQLite.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    pub fn source(&self) -> &str {
        &self.db.source
    }
}

impl DisplayAs for SqliteExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "SqliteExec: source={} sql={}", self.db.source, self.sql)?;
        if self.partitions.len() > 1 {
            write!(f, " partitions={} (rowid ranges)", self.partitions.len())?;
        }
        Ok(())
    }
}

impl ExecutionPlan for SqliteExec {
    fn name(&self) -> &str {
        "SqliteExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.props
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        let (tx, rx) = tokio::sync::mpsc::channel::<DfResult<RecordBatch>>(2);
        let db = Arc::clone(&self.db);
        let table = self.table.clone();
        let sql = self.partitions.get(partition).cloned().ok_or_else(|| {
            DataFusionError::Internal(format!(
                "SqliteExec has {} partitions, not {}",
                self.partitions.len(),
                partition + 1
            ))
        })?;
        let schema = Arc::clone(&self.schema);
        let batch_size = self.batch_size.max(1);
        tokio::task::spawn_blocking(move || {
            if let Err(e) = read(&db, &table, &sql, schema, batch_size, &tx) {
                let _ = tx.blocking_send(Err(e.into_datafusion()));
            }
        });
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            stream,
        )))
    }

    fn partition_statistics(&self, partition: Option<usize>) -> DfResult<Arc<Statistics>> {
        let rows = match partition {
            Some(_) => self.rows.map(|n| n.div_ceil(self.partitions.len())),
            None => self.rows,
        };
        Ok(Arc::new(estimate(&self.schema, rows, self.limit)))
    }
}

/// Run the query on a blocking thread, sending batches until done or the receiver is gone.
fn read(
    db: &SqliteDb,
    table: &str,
    sql: &str,
    schema: SchemaRef,
    batch_size: usize,
    tx: &tokio::sync::mpsc::Sender<DfResult<RecordBatch>>,
) -> Result<(), RuntimeError> {
    let conn = db.connect()?;
    let mut stmt = conn.prepare(sql).map_err(|e| db.error(&e))?;
    let mut rows = stmt.query([]).map_err(|e| db.error(&e))?;
    let mut builder = BatchBuilder::new(Arc::clone(&schema));
    let ncols = schema.fields().len();
    let mut row_no: u64 = 0;
    loop {
        let row = match rows.next() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => return Err(db.error(&e)),
        };
        row_no += 1;
        for i in 0..ncols {
            let v = row.get_ref(i).map_err(|e| db.error(&e))?;
            if let Err(msg) = builder.push(i, v) {
                return Err(RuntimeError::new(
                    Code::SourceRead,
                    format!(
                        "SQLite source `{}`, table `{table}`, row {row_no}, column `{}`: {msg}",
                        db.source,
                        schema.field(i).name()
                    ),
                )
                .help("fix the stored value, or declare the column with a type that fits it (e.g. `string`) in the spec or schema.lock.yaml"));
            }
        }
        builder.end_row();
        if builder.len() >= batch_size {
            let batch = finish(&mut builder, db, table)?;
            if tx.blocking_send(Ok(batch)).is_err() {
                // the consumer stopped (LIMIT reached, query cancelled)
                return Ok(());
            }
        }
    }
    if !builder.is_empty() {
        let batch = finish(&mut builder, db, table)?;
        let _ = tx.blocking_send(Ok(batch));
    }
    Ok(())
}

fn finish(b: &mut BatchBuilder, db: &SqliteDb, table: &str) -> Result<RecordBatch, RuntimeError> {
    b.finish().map_err(|msg| {
        RuntimeError::new(
            Code::SourceRead,
            format!("SQLite source `{}`, table `{table}`: {msg}", db.source),
        )
    })
}
