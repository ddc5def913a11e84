//! JSON responses of the API source kinds (rest, graphql) as Arrow batches: rows found with the
//! table's `rows:` selector, each column's value with its own selector (default: the field of
//! the column's name), decoded by arrow-json into the declared types. A value that does not fit
//! is an error naming the source, table, row and column.

use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::error::Result as DfResult;
use indexmap::IndexMap;
use serde_json::{Map, Value};
use widgettdc_compiler::decode::KeyedMap;
use widgettdc_compiler::spec::sources::rest::RestColumn;
use widgettdc_compiler::Code;
use widgettdc_grammar::Selector;

use crate::error::{Result, RuntimeError};

/// The schema of an API source: its declared tables (REST endpoints, GraphQL queries).
#[derive(Debug)]
pub struct ApiSchema {
    pub tables: IndexMap<String, Arc<dyn TableProvider>>,
}

#[async_trait]
impl SchemaProvider for ApiSchema {
    fn table_names(&self) -> Vec<String> {
        self.tables.keys().cloned().collect()
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        Ok(self.tables.get(name).cloned())
    }

    fn table_exist(&self, name: &str) -> bool {
        self.tables.contains_key(name)
    }
}

/// A declared API table's schema (the catalog's, else built from its columns) and each
/// column's selector within a row.
pub fn declared(
    cx: &super::SourceCx,
    table: &str,
    columns: &KeyedMap<RestColumn>,
) -> (SchemaRef, Vec<Option<Selector>>) {
    let schema = match cx
        .catalog
        .and_then(|c| c.tables.get(&(None, table.to_string())))
    {
        Some(c) => Arc::clone(&c.schema),
        None => Arc::new(Schema::new(
            columns
                .iter()
                .map(|(c, col)| {
                    Field::new(
                        c,
                        widgettdc_compiler::types::to_arrow(&col.ty.value.0),
                        col.nullable.unwrap_or(true),
                    )
                })
                .collect::<Vec<_>>(),
        )),
    };
    let selectors = schema
        .fields()
        .iter()
        .map(|f| {
            columns
                .iter()
                .find(|(c, _)| c.as_str() == f.name())
                .and_then(|(_, c)| c.selector.as_ref().map(|s| s.value.0.clone()))
        })
        .collect();
    (schema, selectors)
}

/// How the columns of one table are found in a row.
#[derive(Debug, Clone)]
pub struct RowShape {
    pub source: String,
    pub table: String,
    /// The table's full schema.
    pub schema: SchemaRef,
    /// Per column (in schema order): its selector within a row, if not the column's name.
    pub selectors: Vec<Option<Selector>>,
    /// Per column: a value every row has (a path parameter given in WHERE).
    pub constants: Vec<Option<Value>>,
}

impl RowShape {
    fn error(&self, message: String) -> RuntimeError {
        RuntimeError::new(
            Code::SourceRead,
            format!(
                "source `{}` table `{}`: {message}",
                self.source, self.table
            ),
        )
        .help("the API's response does not have the declared shape: check the table's `rows:` and the columns' `type:`/`selector:`")
    }

    /// The rows of a parsed response.
    pub fn rows<'a>(&self, rows: Option<&Selector>, doc: &'a Value) -> Result<Vec<&'a Value>> {
        match rows {
            Some(sel) => Ok(widgettdc_stdlib::select(sel, doc)),
            None => match doc {
                Value::Array(items) => Ok(items.iter().collect()),
                Value::Null => Ok(Vec::new()),
                other => Err(self.error(format!(
                    "the response is {} where a list of rows was expected",
                    kind(other)
                ))),
            },
        }
    }

    /// `projection`'s columns of `rows`, starting at row number `first` (for messages).
    pub fn batch(
        &self,
        rows: &[&Value],
        projection: Option<&Vec<usize>>,
        first: usize,
    ) -> Result<RecordBatch> {
        let columns: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.schema.fields().len()).collect(),
        };
        let schema: SchemaRef = Arc::new(
            self.schema
                .project(&columns)
                .map_err(RuntimeError::internal)?,
        );
        let objects: Vec<Value> = rows
            .iter()
            .map(|row| {
                let mut m = Map::new();
                for &i in &columns {
                    let name = self.schema.field(i).name();
                    let v = if let Some(c) = &self.constants[i] {
                        c.clone()
                    } else {
                        match &self.selectors[i] {
                            Some(sel) => {
                                let found = widgettdc_stdlib::select(sel, row);
                                match found.len() {
                                    0 => Value::Null,
                                    1 => found[0].clone(),
                                    _ => Value::Array(found.into_iter().cloned().collect()),
                                }
                            }
                            None => row.get(name).cloned().unwrap_or(Value::Null),
                        }
                    };
                    m.insert(name.clone(), v);
                }
                Value::Object(m)
            })
            .collect();
        match decode(&schema, &objects) {
            Ok(b) => Ok(b),
            Err(_) => Err(self.locate(&schema, &objects, first)),
        }
    }

    /// The first row and column that do not decode.
    fn locate(&self, schema: &SchemaRef, objects: &[Value], first: usize) -> RuntimeError {
        for (n, obj) in objects.iter().enumerate() {
            for field in schema.fields() {
                let one = Arc::new(Schema::new(vec![field.as_ref().clone()]));
                let value = obj.get(field.name()).cloned().unwrap_or(Value::Null);
                let mut m = Map::new();
                m.insert(field.name().clone(), value.clone());
                if let Err(e) = decode(&one, &[Value::Object(m)]) {
                    let shown: String = value.to_string().chars().take(80).collect();
                    let why = if value.is_null() && !field.is_nullable() {
                        "is missing (the column is not nullable)".to_string()
                    } else {
                        format!("is {shown}, not a {}: {e}", field.data_type())
                    };
                    return self.error(format!(
                        "row {} field `{}` {why}",
                        first + n + 1,
                        field.name()
                    ));
                }
            }
        }
        self.error("the rows cannot be decoded".into())
    }
}

fn decode(schema: &SchemaRef, objects: &[Value]) -> std::result::Result<RecordBatch, String> {
    let mut decoder = arrow::json::ReaderBuilder::new(Arc::clone(schema))
        .with_batch_size(objects.len().max(1))
        .build_decoder()
        .map_err(|e| e.to_string())?;
    decoder.serialize(objects).map_err(|e| e.to_string())?;
    match decoder.flush().map_err(|e| e.to_string())? {
        Some(b) => Ok(b),
        None => Ok(RecordBatch::new_empty(Arc::clone(schema))),
    }
}

pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{DataType, Field};

    fn shape() -> RowShape {
        RowShape {
            source: "gh".into(),
            table: "issues".into(),
            schema: Arc::new(Schema::new(vec![
                Field::new("id", DataType::Int64, false),
                Field::new("login", DataType::Utf8, true),
            ])),
            selectors: vec![
                None,
                Some(widgettdc_grammar::parse_selector("$.user.login").unwrap()),
            ],
            constants: vec![None, None],
        }
    }

    #[test]
    fn rows_decode_and_bad_values_are_located() {
        let s = shape();
        let doc: Value = serde_json::json!([{"id": 1, "user": {"login": "ann"}}, {"id": 2}]);
        let rows = s.rows(None, &doc).unwrap();
        let b = s.batch(&rows, None, 0).unwrap();
        assert_eq!(b.num_rows(), 2);
        let doc: Value = serde_json::json!([{"id": 1}, {"id": "two"}]);
        let rows = s.rows(None, &doc).unwrap();
        let e = s.batch(&rows, None, 10).unwrap_err();
        assert!(e.message.contains("row 12 field `id`"), "{}", e.message);
        let doc: Value = serde_json::json!([{"login": "x"}]);
        let rows = s.rows(None, &doc).unwrap();
        let e = s.batch(&rows, None, 0).unwrap_err();
        assert!(e.message.contains("missing"), "{}", e.message);
        let e = s.rows(None, &serde_json::json!({"a": 1})).unwrap_err();
        assert!(e.message.contains("an object"), "{}", e.message);
    }
}
