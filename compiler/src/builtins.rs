//! Built-in tools (`<source>.list_tables`, `<source>.describe_table`, defined in the stdlib) as
//! compiled tools. A toolset opts into them by name; `run` finds them without one.

use std::sync::Arc;

use arrow_schema::{Field, Schema};
use datafusion_sql::parser::{DFParserBuilder, Statement as DFStatement};
use serde_json::Value;
use sqlparser::dialect::GenericDialect;
use widgettdc_stdlib::tools::{builtin, SourceShape};

use crate::params::Constraints;
use crate::plan::{CompiledParam, CompiledTool};
use crate::project::Project;
use crate::spec::sources::SourceConfig;

/// Whether `name` is `<source>.<built-in tool>` for a source of the project.
pub fn is_builtin(project: &Project, name: &str) -> bool {
    split(project, name).is_some()
}

fn split<'a>(
    project: &'a Project,
    name: &str,
) -> Option<(
    &'a SourceConfig,
    String,
    &'static widgettdc_stdlib::tools::BuiltinTool,
)> {
    let (source, tool) = name.split_once('.')?;
    let src = project.sources.get(source)?;
    Some((&src.value, source.to_string(), builtin(tool)?))
}

/// The compiled form of a built-in tool of a source, if `name` is one.
pub fn builtin_tool(project: &Project, name: &str) -> Option<CompiledTool> {
    let (config, source, tool) = split(project, name)?;
    let shape = match config {
        SourceConfig::File(_) => SourceShape::File,
        _ => SourceShape::Schema,
    };
    let sql = (tool.sql)(&source, shape);
    let dialect = GenericDialect {};
    let statement = DFParserBuilder::new(sql.as_str())
        .with_dialect(&dialect)
        .build()
        .and_then(|mut p| p.parse_statements())
        .ok()
        .and_then(|mut s| s.pop_front())
        .and_then(|s| match s {
            DFStatement::Statement(s) => Some(*s),
            _ => None,
        });
    let params = tool
        .params
        .iter()
        .map(|p| {
            let default = (tool.default)(p.name, &source, shape).map(Value::String);
            CompiledParam {
                name: p.name.to_string(),
                ty: widgettdc_grammar::parse_type(p.ty)
                    .unwrap_or(widgettdc_grammar::TypeExpr::String),
                description: Some(p.description.to_string()),
                required: p.required && default.is_none(),
                default,
                constraints: Constraints::default(),
                inferred: None,
            }
        })
        .collect();
    let output = Arc::new(Schema::new(
        tool.output
            .iter()
            .map(|(n, t, nullable)| Field::new(*n, t.clone(), *nullable))
            .collect::<Vec<_>>(),
    ));
    Some(CompiledTool {
        name: name.to_string(),
        description: Some(tool.description.to_string()),
        params,
        sql,
        statement,
        output: Some(output),
        read_only: true,
        max_rows: None,
        max_bytes: None,
        sources: vec![source],
    })
}
