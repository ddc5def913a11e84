//! `kind: graphql`: each declared query is a table `<source>.<table>`.
//!
//! Variables: the table's fixed `variables:`, and each variable of the query document
//! (`query($owner: String!, $state: IssueState)`) from `WHERE <name> = <value>` on the column
//! of that name (an exact pushdown: the column takes that value in every row). A required
//! variable (`!`, no default) without a value is `E614`. One POST per scan, retried like a GET
//! (a query changes nothing); `errors` in the response are an error naming the source and
//! table, with the server's messages.

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PhysicalExpr, PlanProperties,
};
use indexmap::IndexMap;
use serde_json::{Map, Value};
use widgettdc_compiler::spec::sources::graphql::GraphqlTable;
use widgettdc_compiler::spec::sources::SourceConfig;
use widgettdc_compiler::Code;
use widgettdc_grammar::Selector;

use super::api_rows::{ApiSchema, RowShape};
use super::http_client::{shown_url, ApiClient, Request};
use super::rest::{equality, scalar_json};
use super::{Registration, SourceCx};
use crate::error::{Result, RuntimeError};

pub fn register(cx: &SourceCx) -> Result<Registration> {
    let SourceConfig::Graphql(spec) = cx.config else {
        return Err(RuntimeError::internal(
            "graphql registration for another kind",
        ));
    };
    let client = ApiClient::new(cx.name, &spec.http)?;
    let url = reqwest::Url::parse(&spec.url.value).map_err(|e| {
        RuntimeError::new(
            Code::SourceUnavailable,
            format!(
                "source `{}`: `{}` is not a valid URL: {e}",
                cx.name, spec.url.value
            ),
        )
    })?;
    let mut tables = IndexMap::new();
    for (name, t) in spec.tables.iter() {
        tables.insert(
            name.clone(),
            Arc::new(QueryTable::new(
                cx,
                name,
                t,
                url.clone(),
                Arc::clone(&client),
            )) as Arc<dyn TableProvider>,
        );
    }
    Ok(Registration::Schema {
        provider: Arc::new(ApiSchema { tables }),
        catalog: None,
    })
}

pub use widgettdc_compiler::spec::sources::graphql::declared_variables;

#[derive(Debug)]
struct QueryTable {
    source: String,
    table: String,
    url: reqwest::Url,
    document: String,
    fixed: Map<String, Value>,
    variables: Vec<(String, bool)>,
    rows: Selector,
    schema: SchemaRef,
    selectors: Vec<Option<Selector>>,
    client: Arc<ApiClient>,
}

fn yaml_json(n: &widgettdc_compiler::yaml::Node) -> Value {
    use widgettdc_compiler::yaml::{NodeKind, Style};
    match &n.kind {
        NodeKind::Null => Value::Null,
        NodeKind::Scalar { text, style } => {
            if *style != Style::Plain {
                return Value::String(text.clone());
            }
            match text.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" | "~" => Value::Null,
                v => serde_json::from_str::<serde_json::Number>(v)
                    .map(Value::Number)
                    .unwrap_or_else(|_| Value::String(v.to_string())),
            }
        }
        NodeKind::Seq(items) => Value::Array(items.iter().map(yaml_json).collect()),
        NodeKind::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    (
                        k.scalar_text().unwrap_or_default().to_string(),
                        yaml_json(v),
                    )
                })
                .collect(),
        ),
    }
}

impl QueryTable {
    fn new(
        cx: &SourceCx,
        name: &str,
        t: &GraphqlTable,
        url: reqwest::Url,
        client: Arc<ApiClient>,
    ) -> QueryTable {
        let (schema, selectors) = super::api_rows::declared(cx, name, &t.columns);
        let fixed = t
            .variables
            .as_ref()
            .map(|v| {
                v.0.iter()
                    .map(|(k, n)| (k.clone(), yaml_json(&n.value)))
                    .collect()
            })
            .unwrap_or_default();
        QueryTable {
            source: cx.name.to_string(),
            table: name.to_string(),
            url,
            document: t.query.value.clone(),
            fixed,
            variables: declared_variables(&t.query.value),
            rows: t.rows.value.0.clone(),
            schema,
            selectors,
            client,
        }
    }

    fn variable_column(&self, e: &Expr) -> Option<(usize, datafusion::common::ScalarValue)> {
        let (i, v) = equality(&self.schema, e)?;
        let name = self.schema.field(i).name();
        self.variables
            .iter()
            .any(|(n, _)| n == name)
            .then_some((i, v))
    }
}

#[async_trait]
impl TableProvider for QueryTable {
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
            .map(|f| match self.variable_column(f) {
                Some(_) => TableProviderFilterPushDown::Exact,
                None => TableProviderFilterPushDown::Unsupported,
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
        let mut variables = self.fixed.clone();
        let mut constants = vec![None; self.schema.fields().len()];
        for f in filters {
            if let Some((i, v)) = self.variable_column(f) {
                let value = scalar_json(&v);
                constants[i] = Some(value.clone());
                variables.insert(self.schema.field(i).name().clone(), value);
            }
        }
        if let Some((missing, _)) = self
            .variables
            .iter()
            .find(|(n, required)| *required && !variables.contains_key(n))
        {
            return Err(DataFusionError::External(Box::new(
                RuntimeError::new(
                    Code::ApiFilterRequired,
                    format!(
                        "table {}.{} needs `{missing}` = ... in WHERE (a required variable of its GraphQL query)",
                        self.source, self.table
                    ),
                )
                .help(format!(
                    "add e.g. `WHERE {missing} = '...'`, or give it in the table's `variables:`"
                )),
            )));
        }
        let projected = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => Arc::clone(&self.schema),
        };
        Ok(Arc::new(GraphqlExec {
            url: self.url.clone(),
            body: serde_json::json!({ "query": self.document, "variables": variables }),
            rows: self.rows.clone(),
            limit,
            projection: projection.cloned(),
            shape: Arc::new(RowShape {
                source: self.source.clone(),
                table: self.table.clone(),
                schema: Arc::clone(&self.schema),
                selectors: self.selectors.clone(),
                constants,
            }),
            client: Arc::clone(&self.client),
            properties: Arc::new(PlanProperties::new(
                EquivalenceProperties::new(Arc::clone(&projected)),
                Partitioning::UnknownPartitioning(1),
                EmissionType::Final,
                Boundedness::Bounded,
            )),
            schema: projected,
        }))
    }
}

/// One GraphQL request.
#[derive(Debug)]
pub struct GraphqlExec {
    url: reqwest::Url,
    body: Value,
    rows: Selector,
    limit: Option<usize>,
    projection: Option<Vec<usize>>,
    shape: Arc<RowShape>,
    client: Arc<ApiClient>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl GraphqlExec {
    pub fn source(&self) -> &str {
        &self.shape.source
    }

    /// The request, as shown by `explain`.
    pub fn request(&self) -> String {
        format!(
            "POST {} variables {}",
            shown_url(&self.url),
            self.body["variables"]
        )
    }

    async fn fetch(
        url: reqwest::Url,
        body: Value,
        rows: Selector,
        limit: Option<usize>,
        projection: Option<Vec<usize>>,
        shape: Arc<RowShape>,
        client: Arc<ApiClient>,
    ) -> Result<arrow::record_batch::RecordBatch> {
        let what = format!("table `{}`", shape.table);
        let response = client
            .send(Request {
                method: reqwest::Method::POST,
                url: url.clone(),
                json: Some(&body),
                what: &what,
                idempotent: true,
            })
            .await?;
        let doc: Value = serde_json::from_slice(&response.body).map_err(|e| {
            RuntimeError::new(
                Code::SourceRead,
                format!(
                    "source `{}` table `{}`: the response is not JSON: {e}",
                    shape.source, shape.table
                ),
            )
            .help("check the source's `url:`; a GraphQL endpoint answers with JSON")
        })?;
        if let Some(errors) = doc.get("errors").and_then(Value::as_array) {
            if !errors.is_empty() {
                let messages: Vec<String> = errors
                    .iter()
                    .map(|e| {
                        e.get("message")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .unwrap_or_else(|| e.to_string())
                    })
                    .collect();
                return Err(RuntimeError::new(
                    Code::SourceRead,
                    format!(
                        "source `{}` table `{}`: the GraphQL server answered with errors: {}",
                        shape.source,
                        shape.table,
                        messages.join("; ")
                    ),
                )
                .help("check the table's `query:` and its variables (`explain` shows them)"));
            }
        }
        let found = shape.rows(Some(&rows), &doc)?;
        let take = limit.map_or(found.len(), |l| l.min(found.len()));
        shape.batch(&found[..take], projection.as_ref(), 0)
    }
}

impl DisplayAs for GraphqlExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "GraphqlExec: source={} {}",
            self.shape.source,
            self.request()
        )
    }
}

impl ExecutionPlan for GraphqlExec {
    fn name(&self) -> &str {
        "GraphqlExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
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
        let fut = Self::fetch(
            self.url.clone(),
            self.body.clone(),
            self.rows.clone(),
            self.limit,
            self.projection.clone(),
            Arc::clone(&self.shape),
            Arc::clone(&self.client),
        );
        let stream = futures::stream::once(async move {
            fut.await
                .map_err(|e| DataFusionError::External(Box::new(e)))
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            stream,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_of_a_document() {
        assert_eq!(
            declared_variables(
                "query Issues($owner: String!, $state: IssueState, $n: Int! = 10) { repository(owner: $owner) { id } }"
            ),
            vec![
                ("owner".to_string(), true),
                ("state".to_string(), false),
                ("n".to_string(), false)
            ]
        );
        assert!(declared_variables("{ viewer { login } }").is_empty());
    }
}
