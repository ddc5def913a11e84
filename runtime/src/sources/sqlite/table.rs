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
use datafusion::config::ConfigOptions;
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::execution_plan::{ChildrenPropertiesMode, ReplaceChildrenOptions};
use datafusion::physical_plan::filter_pushdown::{
    ChildPushdownResult, FilterPushdownPhase, FilterPushdownPropagation,
};
use datafusion::physical_plan::metrics::{ExecutionPlanMetricsSet, MetricBuilder, MetricsSet};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use futures::StreamExt;
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
        let translated: Vec<(String, Fit)> = filters
            .iter()
            .filter_map(|f| filter_sql(f, &self.schema))
            .collect();
        let rows = self.db.row_estimates.get(&self.table).copied();
        // the rows SQLite returns, as DataFusion estimates a filter's: with its default
        // selectivity (20%) when a filter runs in SQLite alone (one DataFusion still applies is
        // counted by its own `FilterExec`). Without this, a filtered table looked whole to the
        // join planner, which then built its hash table from the other side (TPC-H q17: from
        // all 200,000 groups of an aggregate, not from the 204 parts the filter keeps)
        let returned = if translated.iter().any(|(_, fit)| *fit == Fit::Exact) {
            let selectivity =
                f64::from(state.config_options().optimizer.default_filter_selectivity) / 100.0;
            rows.map(|n| (n as f64 * selectivity).ceil() as usize)
        } else {
            rows
        };
        let wheres: Vec<String> = translated.into_iter().map(|(s, _)| s).collect();
        // a large table without a LIMIT is read in rowid ranges, one per partition, in parallel
        // (SQLite reads one statement on one thread)
        let partitions = state.config_options().execution.target_partitions.max(1);
        let ranges = match (rows, limit) {
            (Some(n), None) if partitions > 1 && n >= PARTITION_MIN_ROWS => {
                let step = n.div_ceil(partitions) as i64;
                (0..partitions as i64)
                    .map(|i| {
                        let (lo, hi) = (i * step, (i + 1) * step);
                        Some(if i == 0 {
                            format!("_rowid_ <= {hi}")
                        } else if i == partitions as i64 - 1 {
                            format!("_rowid_ > {lo}")
                        } else {
                            format!("_rowid_ > {lo} AND _rowid_ <= {hi}")
                        })
                    })
                    .collect()
            }
            _ => vec![None],
        };
        Ok(Arc::new(
            SqliteExec::new(
                Arc::clone(&self.db),
                self.table.clone(),
                Query {
                    select,
                    wheres,
                    limit,
                },
                schema,
                self.batch_size,
            )
            .with_partitions(ranges)
            .with_estimate(returned, limit),
        ))
    }
}

/// The statement a scan sends: `select`, the filters' conditions, a limit.
#[derive(Debug, Clone)]
pub struct Query {
    select: String,
    wheres: Vec<String>,
    limit: Option<usize>,
}

impl Query {
    /// The SQL text, with more conditions.
    fn sql(&self, extra: &[&str]) -> String {
        let mut sql = self.select.clone();
        let all: Vec<&str> = self
            .wheres
            .iter()
            .map(String::as_str)
            .chain(extra.iter().copied())
            .collect();
        if !all.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&all.join(" AND "));
        }
        if let Some(n) = self.limit {
            sql.push_str(&format!(" LIMIT {n}"));
        }
        sql
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
#[derive(Debug, Clone)]
pub struct SqliteExec {
    rows: Option<usize>,
    limit: Option<usize>,
    db: Arc<SqliteDb>,
    table: String,
    query: Query,
    /// One rowid range per partition (together the rows of `query`), or `None`: all of them.
    ranges: Vec<Option<String>>,
    /// Filters learnt at run time (a join's build side); see [`super::dynamic`].
    dynamic: Vec<Arc<dyn PhysicalExpr>>,
    /// The conditions the run-time filters added when the statement last started (for
    /// `explain --analyze`).
    learnt: Arc<std::sync::Mutex<Vec<String>>>,
    metrics: ExecutionPlanMetricsSet,
    schema: SchemaRef,
    batch_size: usize,
    props: Arc<PlanProperties>,
}

impl SqliteExec {
    pub fn new(
        db: Arc<SqliteDb>,
        table: String,
        query: Query,
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
            query,
            ranges: vec![None],
            dynamic: Vec::new(),
            learnt: Arc::default(),
            metrics: ExecutionPlanMetricsSet::new(),
            schema,
            batch_size,
            props,
        }
    }

    /// Read the rows in these rowid ranges, one per partition.
    pub fn with_partitions(mut self, ranges: Vec<Option<String>>) -> Self {
        if ranges.is_empty() {
            return self;
        }
        self.props = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&self.schema)),
            Partitioning::UnknownPartitioning(ranges.len()),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        self.ranges = ranges;
        self
    }

    /// The table's estimated row count and the limit in the SQL, for the planner's statistics.
    pub fn with_estimate(mut self, rows: Option<usize>, limit: Option<usize>) -> Self {
        self.rows = rows;
        self.limit = limit;
        self
    }

    /// The SQL text sent to SQLite (before rowid ranges and run-time filters).
    pub fn sql(&self) -> String {
        self.query.sql(&[])
    }

    /// The rowid range of a partition.
    fn range(&self, partition: usize) -> DfResult<&Option<String>> {
        self.ranges.get(partition).ok_or_else(|| {
            DataFusionError::Internal(format!(
                "SqliteExec has {} partitions, not {}",
                self.ranges.len(),
                partition + 1
            ))
        })
    }

    /// The statement of a partition, with the run-time filters as they are now.
    fn partition_sql(&self, partition: usize) -> DfResult<String> {
        let range = self.range(partition)?;
        let keys = self
            .rows
            .zip(self.db.key_rows.get(&self.table))
            .filter(|_| self.query.wheres.is_empty());
        let (learnt, not_indexed) = super::dynamic::learnt(&self.dynamic, &self.schema, keys);
        if !learnt.is_empty() {
            *self.learnt.lock().unwrap_or_else(|p| p.into_inner()) = learnt.clone();
        }
        let extra: Vec<&str> = range
            .iter()
            .map(String::as_str)
            .chain(learnt.iter().map(String::as_str))
            .collect();
        if not_indexed {
            // (only for a statement whose other conditions are all learnt: see `learnt`)
            let mut q = self.query.clone();
            q.select.push_str(" NOT INDEXED");
            return Ok(q.sql(&extra));
        }
        Ok(self.query.sql(&extra))
    }

    pub fn source(&self) -> &str {
        &self.db.source
    }

    /// The conditions run-time filters added to the statement, once it ran.
    pub fn learnt(&self) -> Vec<String> {
        self.learnt
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl DisplayAs for SqliteExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "SqliteExec: source={} sql={}",
            self.db.source,
            self.sql()
        )?;
        if self.ranges.len() > 1 {
            write!(f, " partitions={} (rowid ranges)", self.ranges.len())?;
        }
        if !self.dynamic.is_empty() {
            write!(f, " run-time filters={}", self.dynamic.len())?;
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
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        for e in &self.dynamic {
            if f(e)? == TreeNodeRecursion::Stop {
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    }

    /// Take the filters a join (or a TopK) pushes down at run time. They are reported as not
    /// pushed down: DataFusion keeps applying them, SQLite only gets their superset.
    fn handle_child_pushdown_result(
        &self,
        phase: FilterPushdownPhase,
        child_pushdown_result: ChildPushdownResult,
        _config: &ConfigOptions,
    ) -> DfResult<FilterPushdownPropagation<Arc<dyn ExecutionPlan>>> {
        if phase != FilterPushdownPhase::Post || child_pushdown_result.parent_filters.is_empty() {
            return Ok(FilterPushdownPropagation::all_unsupported(
                child_pushdown_result,
            ));
        }
        let mut node = self.clone();
        node.dynamic.extend(
            child_pushdown_result
                .parent_filters
                .iter()
                .map(|f| Arc::clone(&f.filter)),
        );
        Ok(
            FilterPushdownPropagation::all_unsupported(child_pushdown_result)
                .with_updated_node(Arc::new(node) as Arc<dyn ExecutionPlan>),
        )
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
        self.range(partition)?;
        // the statement starts when its rows are first asked for: by then a join has read its
        // build side, and the run-time filters hold what it learnt
        let exec = self.clone();
        let rows = MetricBuilder::new(&self.metrics).output_rows(partition);
        let stream = futures::stream::once(async move {
            let (tx, rx) = tokio::sync::mpsc::channel::<DfResult<RecordBatch>>(2);
            match exec.partition_sql(partition) {
                Ok(sql) => {
                    let schema = Arc::clone(&exec.schema);
                    let batch_size = exec.batch_size.max(1);
                    tokio::task::spawn_blocking(move || {
                        if let Err(e) = read(&exec.db, &exec.table, &sql, schema, batch_size, &tx) {
                            let _ = tx.blocking_send(Err(e.into_datafusion()));
                        }
                    });
                }
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                }
            }
            futures::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|item| (item, rx))
            })
            .inspect(move |b| {
                if let Ok(b) = b {
                    rows.add(b.num_rows());
                }
            })
        })
        .flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            stream,
        )))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn partition_statistics(&self, partition: Option<usize>) -> DfResult<Arc<Statistics>> {
        let rows = match partition {
            Some(_) => self.rows.map(|n| n.div_ceil(self.ranges.len())),
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
