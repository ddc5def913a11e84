//! Parquet scans that filter rows while decoding when a join's run-time filter keeps few of them.
//!
//! DataFusion reads a Parquet file in one of two ways. By default it decodes every column the
//! query needs in every row group it cannot prune, and the operators above the scan (a filter,
//! the hash join) drop rows afterwards. With `pushdown_filters` it decodes the filter's columns
//! first, evaluates the filter, and decodes the other columns only for the rows that pass (a
//! *row filter*, late materialisation). That pays when few rows pass and costs when most do.
//! On TPC-H SF1 (DataFusion 55), turning it on for every scan made q17 and q18 90 and 200 ms
//! faster, and q09, q12 and q15 60 to 120 ms slower: the session keeps it off.
//!
//! How many rows a hash join's dynamic filter keeps is known only at run time, once the join
//! has read its build side: then the filter is `key IN (...)` for a small build side (one list
//! per partition, in a `CASE` on the key's hash) and `key BETWEEN min AND max AND <hash table
//! lookup>` for a large one. [`RowFilterWhenSelective`], the session's last physical optimizer
//! rule, wraps each Parquet scan whose predicate holds a dynamic filter in
//! [`SelectiveParquetSource`]. When the scan starts a file (the join reads its probe side only
//! after its build side), the wrapper estimates the share of the file's rows the filter keeps
//! (see [`kept_share`]) and reads the file with a row filter if it is at most
//! [`MAX_KEPT_SHARE`], as DataFusion's default way otherwise. The row filter evaluates the
//! scan's whole predicate, as `pushdown_filters` does; the operators above still apply theirs,
//! so the answer is the same either way. Between that and [`MAX_PREFILTER_SHARE`] the file is
//! read the default way, and each decoded batch is first narrowed by a *prefilter*: the
//! filter's key lists made a superset filter ([`crate::sources::learnt`]) evaluated on the
//! batch, which costs far less than the hash join's probe of the rows it drops.

use std::fmt::{self, Debug, Formatter};
use std::sync::Arc;

use arrow::array::{as_boolean_array, RecordBatch};
use arrow::compute::filter_record_batch;
use datafusion::common::config::ConfigOptions;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::DFSchema;
use datafusion::common::{Result as DfResult, ScalarValue, Statistics};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileScanConfig, FileSource, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::execution::context::ExecutionProps;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator};
use datafusion::physical_expr::create_physical_expr;
use datafusion::physical_expr::expressions::DynamicFilterPhysicalExpr;
use datafusion::physical_expr::projection::ProjectionExprs;
use datafusion::physical_expr::{
    EquivalenceProperties, LexOrdering, PhysicalExpr, PhysicalSortExpr,
};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::filter_pushdown::FilterPushdownPropagation;
use datafusion::physical_plan::metrics::{Count, ExecutionPlanMetricsSet, MetricBuilder};
use datafusion::physical_plan::{DisplayFormatType, ExecutionPlan, SortOrderPushdownResult};
use datafusion_datasource::morsel::{Morsel, MorselPlan, MorselPlanner, Morselizer};
use futures::stream::BoxStream;
use futures::StreamExt;
use object_store::ObjectStore;

use super::learnt;

/// The largest share of a file's rows a dynamic filter may keep for the file to be read with a
/// row filter: 0.01%. Evaluating the filter on every row costs about what the join's own probe
/// of those rows costs, so a row filter pays only when it removes nearly every row. Measured on
/// federated TPC-H SF1 with a 1% limit: q18's scans (57 order keys of 1.5 million, 0.004%) took
/// 150 ms less; q17's (200 part keys of 200,000, 0.1%), q08's (1,451 of 200,000, 0.7%) and
/// q19's took 20 to 70 ms more each.
pub const MAX_KEPT_SHARE: f64 = 0.0001;

/// The largest share of a file's rows a dynamic filter may keep for the scan to drop the rows
/// it cannot keep as it reads them (decoding as DataFusion does, then evaluating the filter's
/// key lists on each batch): 5%. The lists are hash sets, so this costs about one hash lookup
/// per row, less than the join's own probe of that row, and everything between the scan and
/// the join (repartitioning, an aggregate whose groups are the keys) then sees only the rows
/// that can join. TPC-H q17: the aggregate under the join read 6,000 of lineitem's 6 million
/// rows, not all of them.
pub const MAX_PREFILTER_SHARE: f64 = 0.05;

/// The physical optimizer rule: Parquet scans with a dynamic filter decide per file, at run
/// time, whether to filter rows while decoding. It must run after DataFusion's own rules (the
/// last of them pushes the joins' dynamic filters into the scans).
#[derive(Debug, Default)]
pub struct RowFilterWhenSelective;

impl PhysicalOptimizerRule for RowFilterWhenSelective {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        if config.execution.parquet.pushdown_filters {
            // every scan filters rows while decoding already
            return Ok(plan);
        }
        plan.transform_up(|node| {
            let Some(exec) = node.downcast_ref::<DataSourceExec>() else {
                return Ok(Transformed::no(node));
            };
            let Some((scan, parquet)) = exec.downcast_to_file_source::<ParquetSource>() else {
                return Ok(Transformed::no(node));
            };
            if parquet
                .filter()
                .is_none_or(|p| dynamic_filters(&p).is_empty())
            {
                return Ok(Transformed::no(node));
            }
            let mut scan = scan.clone();
            scan.file_source = Arc::new(SelectiveParquetSource::new(parquet.clone()));
            let exec = exec.clone().with_data_source(Arc::new(scan));
            Ok(Transformed::yes(Arc::new(exec) as Arc<dyn ExecutionPlan>))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "row_filter_when_selective"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The dynamic filters in `e` (not what is around them).
fn dynamic_filters(e: &Arc<dyn PhysicalExpr>) -> Vec<Arc<dyn PhysicalExpr>> {
    let mut out = Vec::new();
    let _ = e.apply(|node| {
        if node.downcast_ref::<DynamicFilterPhysicalExpr>().is_some() {
            out.push(Arc::clone(node));
            return Ok(TreeNodeRecursion::Jump);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    out
}

/// A Parquet source that reads each file with a row filter when the scan's dynamic filters
/// keep few of its rows, and as `inner` reads otherwise. Everything else is `inner`'s.
#[derive(Clone)]
pub struct SelectiveParquetSource {
    /// Without a row filter (the session's default).
    inner: ParquetSource,
}

impl SelectiveParquetSource {
    pub fn new(inner: ParquetSource) -> Self {
        Self { inner }
    }

    /// `source`, wrapped again if it is still a Parquet source (what a method of the inner
    /// source returns).
    fn wrap(source: Arc<dyn FileSource>) -> Arc<dyn FileSource> {
        match source.downcast_ref::<ParquetSource>() {
            Some(p) => Arc::new(Self::new(p.clone())),
            None => source,
        }
    }
}

impl FileSource for SelectiveParquetSource {
    fn create_file_opener(
        &self,
        object_store: Arc<dyn ObjectStore>,
        base_config: &FileScanConfig,
        partition: usize,
    ) -> DfResult<Arc<dyn datafusion::datasource::physical_plan::FileOpener>> {
        self.inner
            .create_file_opener(object_store, base_config, partition)
    }

    fn create_morselizer(
        &self,
        object_store: Arc<dyn ObjectStore>,
        base_config: &FileScanConfig,
        partition: usize,
    ) -> DfResult<Box<dyn Morselizer>> {
        let plain =
            self.inner
                .create_morselizer(Arc::clone(&object_store), base_config, partition)?;
        let filtering = self
            .inner
            .clone()
            .with_pushdown_filters(true)
            .create_morselizer(object_store, base_config, partition)?;
        let dynamic = self
            .inner
            .filter()
            .map(|p| dynamic_filters(&p))
            .unwrap_or_default();
        let metrics = self.inner.metrics();
        Ok(Box::new(ChoosingMorselizer {
            plain,
            filtering,
            dynamic,
            schema: Arc::clone(self.inner.table_schema().table_schema()),
            statistics: base_config.statistics(),
            row_filtered: MetricBuilder::new(metrics).counter("files_row_filtered", partition),
            prefiltered: MetricBuilder::new(metrics).counter("files_prefiltered", partition),
            prefilter_dropped: MetricBuilder::new(metrics)
                .counter("rows_dropped_by_prefilter", partition),
        }))
    }

    fn table_schema(&self) -> &TableSchema {
        self.inner.table_schema()
    }

    fn with_batch_size(&self, batch_size: usize) -> Arc<dyn FileSource> {
        Self::wrap(self.inner.with_batch_size(batch_size))
    }

    fn filter(&self) -> Option<Arc<dyn PhysicalExpr>> {
        self.inner.filter()
    }

    fn projection(&self) -> Option<&ProjectionExprs> {
        self.inner.projection()
    }

    fn metrics(&self) -> &ExecutionPlanMetricsSet {
        self.inner.metrics()
    }

    fn file_type(&self) -> &str {
        self.inner.file_type()
    }

    fn fmt_extra(&self, t: DisplayFormatType, f: &mut Formatter) -> fmt::Result {
        self.inner.fmt_extra(t, f)?;
        match t {
            DisplayFormatType::Default | DisplayFormatType::Verbose => {
                write!(f, ", row_filter=when_selective")
            }
            DisplayFormatType::TreeRender => Ok(()),
        }
    }

    fn supports_repartitioning(&self) -> bool {
        self.inner.supports_repartitioning()
    }

    fn repartitioned(
        &self,
        target_partitions: usize,
        repartition_file_min_size: usize,
        output_ordering: Option<LexOrdering>,
        config: &FileScanConfig,
    ) -> DfResult<Option<FileScanConfig>> {
        self.inner.repartitioned(
            target_partitions,
            repartition_file_min_size,
            output_ordering,
            config,
        )
    }

    fn try_pushdown_filters(
        &self,
        filters: Vec<Arc<dyn PhysicalExpr>>,
        config: &ConfigOptions,
    ) -> DfResult<FilterPushdownPropagation<Arc<dyn FileSource>>> {
        let mut pushed = self.inner.try_pushdown_filters(filters, config)?;
        pushed.updated_node = pushed.updated_node.map(Self::wrap);
        Ok(pushed)
    }

    fn try_pushdown_sort(
        &self,
        order: &[PhysicalSortExpr],
        eq_properties: &EquivalenceProperties,
    ) -> DfResult<SortOrderPushdownResult<Arc<dyn FileSource>>> {
        Ok(self
            .inner
            .try_pushdown_sort(order, eq_properties)?
            .map(Self::wrap))
    }

    fn reorder_files(&self, files: Vec<PartitionedFile>) -> Vec<PartitionedFile> {
        self.inner.reorder_files(files)
    }

    fn try_pushdown_projection(
        &self,
        projection: &ProjectionExprs,
    ) -> DfResult<Option<Arc<dyn FileSource>>> {
        Ok(self
            .inner
            .try_pushdown_projection(projection)?
            .map(Self::wrap))
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        self.inner.apply_expressions(f)
    }
}

/// Plans each file with the row-filtering morselizer or the plain one, as the dynamic filters
/// are when the file is started.
struct ChoosingMorselizer {
    plain: Box<dyn Morselizer>,
    filtering: Box<dyn Morselizer>,
    dynamic: Vec<Arc<dyn PhysicalExpr>>,
    /// The table's schema (the predicate's columns are its positions).
    schema: arrow::datatypes::SchemaRef,
    /// The table's statistics, by the schema's columns.
    statistics: Statistics,
    /// How many files were read with a row filter.
    row_filtered: Count,
    /// How many files were read with the key lists applied to each batch, and how many rows
    /// that dropped.
    prefiltered: Count,
    prefilter_dropped: Count,
}

impl Debug for ChoosingMorselizer {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChoosingMorselizer")
            .field("plain", &self.plain)
            .field("filtering", &self.filtering)
            .finish_non_exhaustive()
    }
}

impl Morselizer for ChoosingMorselizer {
    fn plan_file(&self, file: PartitionedFile) -> DfResult<Box<dyn MorselPlanner>> {
        let filters = learnt::supersets(&self.dynamic, &self.schema, usize::MAX);
        let share = filters
            .iter()
            .map(|f| kept_share(f, &self.statistics, &self.schema))
            .fold(1.0, f64::min);
        if share <= MAX_KEPT_SHARE {
            self.row_filtered.add(1);
            self.filtering.plan_file(file)
        } else if let Some(filter) = filters
            .into_iter()
            .reduce(Expr::and)
            .filter(|_| share <= MAX_PREFILTER_SHARE)
        {
            self.prefiltered.add(1);
            Ok(Box::new(Prefiltering {
                inner: self.plain.plan_file(file)?,
                filter: Arc::new(Prefilter {
                    expr: filter,
                    dropped: self.prefilter_dropped.clone(),
                }),
            }))
        } else {
            self.plain.plan_file(file)
        }
    }
}

/// The superset of a scan's dynamic filters (see [`learnt::supersets`]), applied to each batch
/// a file's morsels decode: the rows it drops are rows the join would drop.
#[derive(Debug)]
struct Prefilter {
    /// Over the table's columns, by name.
    expr: Expr,
    dropped: Count,
}

impl Prefilter {
    /// The filter as it evaluates on batches of `schema` (the scan's output), if every column it
    /// names is there.
    fn physical(&self, schema: &arrow::datatypes::SchemaRef) -> Option<Arc<dyn PhysicalExpr>> {
        let df_schema = DFSchema::try_from(Arc::clone(schema)).ok()?;
        create_physical_expr(
            &self.expr,
            &df_schema,
            &ExecutionProps::new(),
            &PhysicalPlanningContext::default(),
        )
        .ok()
    }

    /// `batch` without the rows `filter` does not keep (a null is not kept: no join key
    /// matches it).
    fn apply(&self, batch: RecordBatch, filter: &Arc<dyn PhysicalExpr>) -> DfResult<RecordBatch> {
        let kept = filter.evaluate(&batch)?.into_array(batch.num_rows())?;
        let kept = as_boolean_array(&kept);
        let out = filter_record_batch(&batch, kept)?;
        self.dropped.add(batch.num_rows() - out.num_rows());
        Ok(out)
    }
}

/// A file's planner whose morsels (and the planners it leads to) are prefiltered.
#[derive(Debug)]
struct Prefiltering {
    inner: Box<dyn MorselPlanner>,
    filter: Arc<Prefilter>,
}

impl MorselPlanner for Prefiltering {
    fn plan(self: Box<Self>) -> DfResult<Option<MorselPlan>> {
        let Some(mut plan) = self.inner.plan()? else {
            return Ok(None);
        };
        let filter = self.filter;
        let morsels = plan
            .take_morsels()
            .into_iter()
            .map(|inner| {
                Box::new(PrefilteredMorsel {
                    inner,
                    filter: Arc::clone(&filter),
                }) as Box<dyn Morsel>
            })
            .collect();
        let planners = plan
            .take_ready_planners()
            .into_iter()
            .map(|inner| {
                Box::new(Prefiltering {
                    inner,
                    filter: Arc::clone(&filter),
                }) as Box<dyn MorselPlanner>
            })
            .collect();
        let mut out = MorselPlan::new()
            .with_morsels(morsels)
            .with_planners(planners);
        if let Some(pending) = plan.take_pending_planner() {
            out = out.with_pending_planner(async move {
                let inner = pending.await?;
                Ok(Box::new(Prefiltering { inner, filter }) as Box<dyn MorselPlanner>)
            });
        }
        Ok(Some(out))
    }
}

#[derive(Debug)]
struct PrefilteredMorsel {
    inner: Box<dyn Morsel>,
    filter: Arc<Prefilter>,
}

impl Morsel for PrefilteredMorsel {
    fn into_stream(self: Box<Self>) -> BoxStream<'static, DfResult<RecordBatch>> {
        let filter = self.filter;
        // made from the first batch's schema; `None` inside: a column is not there, so every
        // row passes (the join still filters)
        let mut physical: Option<Option<Arc<dyn PhysicalExpr>>> = None;
        self.inner
            .into_stream()
            .filter_map(move |batch| {
                let out = batch.and_then(|batch| {
                    match physical.get_or_insert_with(|| filter.physical(&batch.schema())) {
                        Some(p) => filter.apply(batch, p),
                        None => Ok(batch),
                    }
                });
                futures::future::ready(match out {
                    Ok(b) if b.num_rows() == 0 => None,
                    other => Some(other),
                })
            })
            .boxed()
    }
}

/// An estimate of the share of the table's rows `filter` keeps (a superset of a dynamic filter,
/// from [`learnt::supersets`]): `key IN (k keys)` keeps k of the key's distinct values, an
/// `AND` at most what its most selective side keeps, an `OR` at most what its sides keep
/// together; anything else is taken to keep every row.
pub fn kept_share(
    filter: &Expr,
    statistics: &Statistics,
    schema: &arrow::datatypes::Schema,
) -> f64 {
    match filter {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let l = kept_share(left, statistics, schema);
            let r = kept_share(right, statistics, schema);
            match op {
                Operator::And => l.min(r),
                Operator::Or => (l + r).min(1.0),
                _ => 1.0,
            }
        }
        Expr::InList(list) if !list.negated => match list.expr.as_ref() {
            Expr::Column(c) => distinct_values(&c.name, statistics, schema)
                .map_or(1.0, |n| (list.list.len() as f64 / n).min(1.0)),
            _ => 1.0,
        },
        Expr::Literal(ScalarValue::Boolean(Some(false)), _) => 0.0,
        _ => 1.0,
    }
}

/// How many distinct values the integer (or date) column `name` has, at most: its count if
/// the statistics know it, else the smaller of the row count and the span between its
/// minimum and maximum. `None` for other columns, or without statistics.
fn distinct_values(
    name: &str,
    statistics: &Statistics,
    schema: &arrow::datatypes::Schema,
) -> Option<f64> {
    let i = schema.index_of(name).ok()?;
    let column = statistics.column_statistics.get(i)?;
    if let Some(&n) = column.distinct_count.get_value() {
        return (n > 0).then_some(n as f64);
    }
    let (Precision::Exact(min) | Precision::Inexact(min)) = &column.min_value else {
        return None;
    };
    let (Precision::Exact(max) | Precision::Inexact(max)) = &column.max_value else {
        return None;
    };
    let span = (integer(max)? - integer(min)?).checked_add(1)?;
    if span <= 0 {
        return None;
    }
    let rows = statistics.num_rows.get_value().map(|&r| r as i128);
    Some(rows.map_or(span, |r| r.min(span)).max(1) as f64)
}

fn integer(v: &ScalarValue) -> Option<i128> {
    Some(match v {
        ScalarValue::Int8(Some(x)) => i128::from(*x),
        ScalarValue::Int16(Some(x)) => i128::from(*x),
        ScalarValue::Int32(Some(x)) => i128::from(*x),
        ScalarValue::Int64(Some(x)) => i128::from(*x),
        ScalarValue::UInt8(Some(x)) => i128::from(*x),
        ScalarValue::UInt16(Some(x)) => i128::from(*x),
        ScalarValue::UInt32(Some(x)) => i128::from(*x),
        ScalarValue::UInt64(Some(x)) => i128::from(*x),
        ScalarValue::Date32(Some(x)) => i128::from(*x),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{DataType, Field, Schema};
    use datafusion::common::ColumnStatistics;
    use datafusion::logical_expr::{col, lit};

    fn stats(rows: usize, min: i64, max: i64) -> (Schema, Statistics) {
        let schema = Schema::new(vec![
            Field::new("k", DataType::Int64, false),
            Field::new("s", DataType::Utf8, false),
        ]);
        let statistics = Statistics {
            num_rows: Precision::Exact(rows),
            total_byte_size: Precision::Absent,
            column_statistics: vec![
                ColumnStatistics {
                    min_value: Precision::Exact(ScalarValue::Int64(Some(min))),
                    max_value: Precision::Exact(ScalarValue::Int64(Some(max))),
                    ..ColumnStatistics::new_unknown()
                },
                ColumnStatistics::new_unknown(),
            ],
        };
        (schema, statistics)
    }

    #[test]
    fn a_key_list_keeps_its_share_of_the_distinct_keys() {
        // 200 keys of a column with values 1..=200,000 over 6M rows: 0.1%
        let (schema, s) = stats(6_000_000, 1, 200_000);
        let keys: Vec<Expr> = (0..200).map(|k| lit(k as i64)).collect();
        let share = kept_share(&col("k").in_list(keys.clone(), false), &s, &schema);
        assert!((share - 0.001).abs() < 1e-9, "{share}");
        // a column of 25 values listed whole: everything
        let (schema25, s25) = stats(150_000, 0, 24);
        let all: Vec<Expr> = (0..25).map(|k| lit(k as i64)).collect();
        assert_eq!(
            kept_share(&col("k").in_list(all, false), &s25, &schema25),
            1.0
        );
        // fewer rows than the span: the rows bound the distinct values
        let (schema_r, s_r) = stats(1_000, 1, 1_000_000);
        let share = kept_share(&col("k").in_list(keys.clone(), false), &s_r, &schema_r);
        assert!((share - 0.2).abs() < 1e-9, "{share}");
        // a partition's CASE became an OR of lists: the shares add up
        let or = col("k")
            .in_list(keys.clone(), false)
            .or(col("k").in_list(keys.clone(), false));
        assert!((kept_share(&or, &s, &schema) - 0.002).abs() < 1e-9);
        // an AND keeps at most its narrowest side; a range says nothing
        let and = col("k").gt_eq(lit(5i64)).and(col("k").in_list(keys, false));
        assert!((kept_share(&and, &s, &schema) - 0.001).abs() < 1e-9);
        assert_eq!(kept_share(&col("k").gt_eq(lit(5i64)), &s, &schema), 1.0);
    }

    #[test]
    fn a_prefilter_drops_the_rows_whose_keys_are_not_listed() {
        use arrow::array::{Int64Array, StringArray};
        let set = ExecutionPlanMetricsSet::new();
        let filter = Prefilter {
            expr: col("k").in_list(vec![lit(2i64), lit(5i64)], false),
            dropped: MetricBuilder::new(&set).counter("dropped", 0),
        };
        let schema = Arc::new(Schema::new(vec![
            Field::new("s", DataType::Utf8, false),
            Field::new("k", DataType::Int64, true),
        ]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(StringArray::from(vec!["a", "b", "c", "d"])),
                Arc::new(Int64Array::from(vec![Some(1), Some(2), None, Some(5)])),
            ],
        )
        .unwrap();
        let physical = filter.physical(&schema).expect("k is a column");
        let out = filter.apply(batch, &physical).unwrap();
        let s = out
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(s.iter().flatten().collect::<Vec<_>>(), ["b", "d"]);
        assert_eq!(filter.dropped.value(), 2);
        // a scan whose output lacks the key column is not filtered
        let other = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, false)]));
        assert!(filter.physical(&other).is_none());
    }

    #[test]
    fn columns_without_integer_statistics_say_nothing() {
        let (schema, s) = stats(6_000_000, 1, 200_000);
        let text = col("s").in_list(vec![lit("a")], false);
        assert_eq!(kept_share(&text, &s, &schema), 1.0);
        let negated = col("k").in_list(vec![lit(1i64)], true);
        assert_eq!(kept_share(&negated, &s, &schema), 1.0);
        let unknown = Statistics::new_unknown(&schema);
        let list = col("k").in_list(vec![lit(1i64)], false);
        assert_eq!(kept_share(&list, &unknown, &schema), 1.0);
        assert_eq!(kept_share(&lit(false), &s, &schema), 0.0);
    }
}
