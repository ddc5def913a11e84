//! `kind: rest`: each declared endpoint is a table `<source>.<table>`.
//!
//! - `{name}` parts of the path come from `WHERE name = <value>` (an exact pushdown: the column
//!   takes that value in every row); a query without one is `E614`, naming the part.
//! - Columns with `filter: <param>` push `WHERE col = <value>` into that query parameter; the
//!   filter is also re-checked on the rows (the API may match loosely).
//! - Pages are fetched one at a time as the query reads (`pagination:` link | cursor | page |
//!   offset), and stop at the query's LIMIT when it reaches the table; more pages than
//!   `max_pages` (default 100) is an error rather than a silently cut table.
//! - Requests go through [`super::http_client`]: auth, rate limit, retries, timeouts, size cap.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, Operator, TableProviderFilterPushDown, TableType};
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use indexmap::IndexMap;
use serde_json::Value;
use widgettdc_compiler::spec::sources::rest::{Pagination, RestSource, RestTable};
use widgettdc_compiler::spec::sources::SourceConfig;
use widgettdc_compiler::Code;
use widgettdc_grammar::Selector;

use super::api_rows::{ApiSchema, RowShape};
use super::http_client::{shown_url, ApiClient, Request};
use super::{Registration, SourceCx};
use crate::error::{Result, RuntimeError};

const DEFAULT_MAX_PAGES: u32 = 100;

pub fn register(cx: &SourceCx) -> Result<Registration> {
    let SourceConfig::Rest(spec) = cx.config else {
        return Err(RuntimeError::internal("rest registration for another kind"));
    };
    let client = ApiClient::new(cx.name, &spec.http)?;
    let mut tables = IndexMap::new();
    for (name, t) in spec.tables.iter() {
        tables.insert(
            name.clone(),
            Arc::new(Endpoint::new(cx, spec, name, t, Arc::clone(&client))?)
                as Arc<dyn TableProvider>,
        );
    }
    Ok(Registration::Schema {
        provider: Arc::new(ApiSchema { tables }),
        catalog: None,
    })
}

/// One endpoint as a table.
#[derive(Debug)]
pub struct Endpoint {
    source: String,
    table: String,
    base_url: String,
    method: reqwest::Method,
    path: String,
    path_params: Vec<String>,
    query: Vec<(String, String)>,
    rows: Option<Selector>,
    /// Per column: the query parameter an equality filter goes to.
    filter_params: Vec<Option<String>>,
    pagination: Option<Pagination>,
    schema: SchemaRef,
    selectors: Vec<Option<Selector>>,
    client: Arc<ApiClient>,
}

impl Endpoint {
    fn new(
        cx: &SourceCx,
        spec: &RestSource,
        name: &str,
        t: &RestTable,
        client: Arc<ApiClient>,
    ) -> Result<Endpoint> {
        let (schema, selectors) = super::api_rows::declared(cx, name, &t.columns);
        let column = |field: &str| {
            t.columns
                .iter()
                .find(|(c, _)| c.as_str() == field)
                .map(|(_, c)| c)
        };
        let filter_params = schema
            .fields()
            .iter()
            .map(|f| column(f.name()).and_then(|c| c.filter.clone()))
            .collect();
        let method = match t.method.as_ref().map(|m| m.value.as_str()) {
            Some("POST") => reqwest::Method::POST,
            _ => reqwest::Method::GET,
        };
        Ok(Endpoint {
            source: cx.name.to_string(),
            table: name.to_string(),
            base_url: spec.base_url.value.clone(),
            method,
            path: t.path.value.clone(),
            path_params: t.path_params(),
            query: t
                .query
                .as_ref()
                .map(|q| {
                    q.0.iter()
                        .map(|(k, v)| (k.clone(), v.value.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            rows: t.rows.as_ref().map(|r| r.value.0.clone()),
            filter_params,
            pagination: t.pagination.clone(),
            schema,
            selectors,
            client,
        })
    }

    fn equality(&self, e: &Expr) -> Option<(usize, ScalarValue)> {
        equality(&self.schema, e)
    }

    fn is_path_param(&self, column: usize) -> bool {
        self.path_params
            .iter()
            .any(|p| p == self.schema.field(column).name())
    }
}

/// `col = literal` (either way round) on one of the schema's columns.
pub(crate) fn equality(
    schema: &arrow::datatypes::Schema,
    e: &Expr,
) -> Option<(usize, ScalarValue)> {
    let Expr::BinaryExpr(b) = e else {
        return None;
    };
    if b.op != Operator::Eq {
        return None;
    }
    let lit = |e: &Expr| match e {
        Expr::Literal(v, _) => Some(v.clone()),
        Expr::Cast(c) => match c.expr.as_ref() {
            Expr::Literal(v, _) => v.cast_to(c.field.data_type()).ok(),
            _ => None,
        },
        _ => None,
    };
    let col = |e: &Expr| match e {
        Expr::Column(c) => schema.index_of(&c.name).ok(),
        _ => None,
    };
    match (col(&b.left), lit(&b.right), col(&b.right), lit(&b.left)) {
        (Some(i), Some(v), _, _) | (_, _, Some(i), Some(v)) if !v.is_null() => Some((i, v)),
        _ => None,
    }
}

pub(crate) fn scalar_text(v: &ScalarValue) -> String {
    match v {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::Utf8View(Some(s))
        | ScalarValue::LargeUtf8(Some(s)) => s.clone(),
        other => other.to_string(),
    }
}

pub(crate) fn scalar_json(v: &ScalarValue) -> Value {
    match v {
        ScalarValue::Boolean(Some(b)) => Value::Bool(*b),
        ScalarValue::Int8(Some(_))
        | ScalarValue::Int16(Some(_))
        | ScalarValue::Int32(Some(_))
        | ScalarValue::Int64(Some(_))
        | ScalarValue::UInt8(Some(_))
        | ScalarValue::UInt16(Some(_))
        | ScalarValue::UInt32(Some(_))
        | ScalarValue::UInt64(Some(_))
        | ScalarValue::Float32(Some(_))
        | ScalarValue::Float64(Some(_)) => {
            serde_json::from_str(&v.to_string()).unwrap_or_else(|_| Value::String(v.to_string()))
        }
        other => Value::String(scalar_text(other)),
    }
}

const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[async_trait]
impl TableProvider for Endpoint {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| match self.equality(f) {
                Some((i, _)) if self.is_path_param(i) => TableProviderFilterPushDown::Exact,
                Some((i, _)) if self.filter_params[i].is_some() => {
                    TableProviderFilterPushDown::Inexact
                }
                _ => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let mut path_values: BTreeMap<String, ScalarValue> = BTreeMap::new();
        let mut query = self.query.clone();
        let mut constants = vec![None; self.schema.fields().len()];
        for f in filters {
            if let Some((i, v)) = self.equality(f) {
                let name = self.schema.field(i).name().clone();
                if self.is_path_param(i) {
                    constants[i] = Some(scalar_json(&v));
                    path_values.insert(name, v);
                } else if let Some(param) = &self.filter_params[i] {
                    query.push((param.clone(), scalar_text(&v)));
                }
            }
        }
        let mut path = self.path.clone();
        for p in &self.path_params {
            let Some(v) = path_values.get(p) else {
                return Err(DataFusionError::External(Box::new(
                    RuntimeError::new(
                        Code::ApiFilterRequired,
                        format!(
                            "table {}.{} needs `{p}` = ... in WHERE (its path is `{}`)",
                            self.source, self.table, self.path
                        ),
                    )
                    .help(format!(
                        "add e.g. `WHERE {p} = '...'` to the query (an equality with a literal or parameter)"
                    )),
                )));
            };
            let encoded =
                percent_encoding::utf8_percent_encode(&scalar_text(v), PATH_SEGMENT).to_string();
            path = path.replace(&format!("{{{p}}}"), &encoded);
        }
        let text = format!("{}{}", self.base_url.trim_end_matches('/'), path);
        let mut url = reqwest::Url::parse(&text).map_err(|e| {
            DataFusionError::External(Box::new(
                RuntimeError::new(
                    Code::SourceUnavailable,
                    format!(
                        "source `{}` table `{}`: `{text}` is not a valid URL: {e}",
                        self.source, self.table
                    ),
                )
                .help("check the source's `base_url:` and the table's `path:`"),
            ))
        })?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &query {
                pairs.append_pair(k, v);
            }
        }
        let shape = RowShape {
            source: self.source.clone(),
            table: self.table.clone(),
            schema: Arc::clone(&self.schema),
            selectors: self.selectors.clone(),
            constants,
        };
        let projected = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => Arc::clone(&self.schema),
        };
        Ok(Arc::new(RestExec {
            url,
            method: self.method.clone(),
            rows: self.rows.clone(),
            pagination: self.pagination.clone(),
            limit,
            projection: projection.cloned(),
            shape: Arc::new(shape),
            client: Arc::clone(&self.client),
            properties: Arc::new(PlanProperties::new(
                EquivalenceProperties::new(Arc::clone(&projected)),
                Partitioning::UnknownPartitioning(1),
                EmissionType::Incremental,
                Boundedness::Bounded,
            )),
            schema: projected,
        }))
    }
}

/// The requests of one scan, made as the query reads.
#[derive(Debug)]
pub struct RestExec {
    url: reqwest::Url,
    method: reqwest::Method,
    rows: Option<Selector>,
    pagination: Option<Pagination>,
    limit: Option<usize>,
    projection: Option<Vec<usize>>,
    shape: Arc<RowShape>,
    client: Arc<ApiClient>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl RestExec {
    pub fn source(&self) -> &str {
        &self.shape.source
    }

    /// The first request, as shown by `explain`.
    pub fn request(&self) -> String {
        let mut s = format!("{} {}", self.method, shown_url(&self.url));
        if let Some(p) = &self.pagination {
            s.push_str(&format!(" (pages: {}", p.kind.value));
            if let Some(l) = self.limit {
                s.push_str(&format!(", stops at {l} rows"));
            }
            s.push(')');
        } else if let Some(l) = self.limit {
            s.push_str(&format!(" (first {l} rows)"));
        }
        s
    }
}

impl DisplayAs for RestExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "RestExec: source={} {}",
            self.shape.source,
            self.request()
        )
    }
}

impl ExecutionPlan for RestExec {
    fn name(&self) -> &str {
        "RestExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(
            &Arc<dyn datafusion::physical_plan::PhysicalExpr>,
        ) -> DfResult<datafusion::common::tree_node::TreeNodeRecursion>,
    ) -> DfResult<datafusion::common::tree_node::TreeNodeRecursion> {
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        _partition: usize,
        _context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        let state = Pager {
            next: Some(self.url.clone()),
            pages: 0,
            rows: 0,
            page_number: 1,
            offset: 0,
            method: self.method.clone(),
            rows_selector: self.rows.clone(),
            pagination: self.pagination.clone(),
            limit: self.limit,
            projection: self.projection.clone(),
            shape: Arc::clone(&self.shape),
            client: Arc::clone(&self.client),
        };
        let stream = futures::stream::try_unfold(state, |mut s| async move {
            match s.next_page().await {
                Ok(Some(batch)) => Ok(Some((batch, s))),
                Ok(None) => Ok(None),
                Err(e) => Err(DataFusionError::External(Box::new(e))),
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            stream,
        )))
    }
}

/// Where a scan is in its pages.
struct Pager {
    next: Option<reqwest::Url>,
    pages: u32,
    rows: usize,
    page_number: u64,
    offset: u64,
    method: reqwest::Method,
    rows_selector: Option<Selector>,
    pagination: Option<Pagination>,
    limit: Option<usize>,
    projection: Option<Vec<usize>>,
    shape: Arc<RowShape>,
    client: Arc<ApiClient>,
}

fn set_param(url: &mut reqwest::Url, name: &str, value: &str) {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut q = url.query_pairs_mut();
    q.clear();
    for (k, v) in pairs {
        q.append_pair(&k, &v);
    }
    q.append_pair(name, value);
}

/// The `rel="next"` target of a `Link` header (RFC 8288).
fn link_next(headers: &reqwest::header::HeaderMap, base: &reqwest::Url) -> Option<reqwest::Url> {
    for value in headers.get_all(reqwest::header::LINK) {
        let text = value.to_str().ok()?;
        for part in text.split(',') {
            let (target, params) = part.split_once(';').unwrap_or((part, ""));
            let is_next = params.split(';').any(|p| {
                let p = p.trim().to_ascii_lowercase();
                p == "rel=\"next\"" || p == "rel=next"
            });
            if is_next {
                let target = target.trim().trim_start_matches('<').trim_end_matches('>');
                return base.join(target).ok();
            }
        }
    }
    None
}

impl Pager {
    fn max_pages(&self) -> u32 {
        self.pagination
            .as_ref()
            .and_then(|p| p.max_pages)
            .unwrap_or(DEFAULT_MAX_PAGES)
    }

    async fn next_page(&mut self) -> Result<Option<arrow::record_batch::RecordBatch>> {
        if self.limit.is_some_and(|l| self.rows >= l) {
            return Ok(None);
        }
        let Some(mut url) = self.next.take() else {
            return Ok(None);
        };
        if self.pages >= self.max_pages() {
            return Err(RuntimeError::new(
                Code::SourceRead,
                format!(
                    "source `{}` table `{}`: more than {} pages (stopped before {})",
                    self.shape.source,
                    self.shape.table,
                    self.max_pages(),
                    shown_url(&url)
                ),
            )
            .help("add a filter or a LIMIT, or raise the table's `pagination.max_pages`"));
        }
        let page = self.pagination.clone();
        if let Some(p) = &page {
            let size = p.page_size;
            match p.kind.value.as_str() {
                "page" => {
                    if let Some(param) = &p.param {
                        set_param(&mut url, param, &self.page_number.to_string());
                    }
                }
                "offset" => {
                    if let Some(param) = &p.param {
                        set_param(&mut url, param, &self.offset.to_string());
                    }
                }
                _ => {}
            }
            if let (Some(sp), Some(n)) = (&p.size_param, size) {
                set_param(&mut url, sp, &n.to_string());
            }
        }
        let what = format!("table `{}`", self.shape.table);
        let response = self
            .client
            .send(Request {
                method: self.method.clone(),
                url: url.clone(),
                json: None,
                what: &what,
                idempotent: false,
            })
            .await?;
        self.pages += 1;
        let doc: Value = serde_json::from_slice(&response.body).map_err(|e| {
            RuntimeError::new(
                Code::SourceRead,
                format!(
                    "source `{}` table `{}`: the response to {} is not JSON: {e}",
                    self.shape.source,
                    self.shape.table,
                    shown_url(&url)
                ),
            )
            .help("check the table's `path:`; the API must answer with JSON")
        })?;
        let rows = self.shape.rows(self.rows_selector.as_ref(), &doc)?;
        let mut take = rows.len();
        if let Some(l) = self.limit {
            take = take.min(l - self.rows);
        }
        let batch = self
            .shape
            .batch(&rows[..take], self.projection.as_ref(), self.rows)?;
        self.rows += take;
        // the next page, if any
        if let Some(p) = &page {
            let short = p
                .page_size
                .is_some_and(|n| (rows.len() as u64) < u64::from(n));
            self.next = match p.kind.value.as_str() {
                "link" => link_next(&response.headers, &url),
                "cursor" => p.cursor.as_ref().and_then(|c| {
                    let found = widgettdc_stdlib::select(&c.value.0, &doc);
                    let cursor = match found.first() {
                        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                        Some(Value::Number(n)) => Some(n.to_string()),
                        _ => None,
                    }?;
                    let mut next = url.clone();
                    set_param(&mut next, p.param.as_deref().unwrap_or("cursor"), &cursor);
                    Some(next)
                }),
                "page" if !rows.is_empty() && !short => {
                    self.page_number += 1;
                    Some(url.clone())
                }
                "offset" if !rows.is_empty() && !short => {
                    self.offset += rows.len() as u64;
                    Some(url.clone())
                }
                _ => None,
            };
        }
        Ok(Some(batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_templates_and_link_headers() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            reqwest::header::LINK,
            "<https://api.example/items?page=3>; rel=\"next\", <https://api.example/items?page=9>; rel=\"last\""
                .parse()
                .unwrap(),
        );
        let base = reqwest::Url::parse("https://api.example/items?page=2").unwrap();
        assert_eq!(
            link_next(&h, &base).unwrap().as_str(),
            "https://api.example/items?page=3"
        );
        let mut u = reqwest::Url::parse("http://x/a?page=1&q=z").unwrap();
        set_param(&mut u, "page", "2");
        assert_eq!(u.as_str(), "http://x/a?q=z&page=2");
    }
}
