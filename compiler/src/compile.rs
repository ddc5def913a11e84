//! Stage 2: from a merged [`Project`] to typed plans and diagnostics.
//!
//! 1. Build the schema-only [`Catalog`].
//! 2. Analyse each tool's SQL once ([`ToolAnalysis`]): parse, table check, plan.
//! 3. Run every check in [`crate::checks::CHECKS`] over the analysed project.
//! 4. Assemble [`CompiledProject`].

use indexmap::IndexMap;

use crate::catalog::{Catalog, ExternalSchemas};
use crate::checks::{CheckCx, CHECKS};
use crate::codes::Code;
use crate::decode::Keyed;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::params::{node_to_json, node_value, Constraints};
use crate::plan::{
    CompiledParam, CompiledProject, CompiledTool, CompiledWidget, CompiledWidgetData, ParamTypes,
};
use crate::project::Project;
use crate::spec::{Parameter, Tool};
use crate::sql::locate::SqlLocator;
use crate::sql::provider::FunctionSet;
use crate::sql::{self, Parsed, Planner, StatementKind};

/// What the compiler learned about one tool's SQL.
pub struct ToolAnalysis {
    pub locator: SqlLocator,
    pub parsed: Option<Parsed>,
    /// Sources whose schemas are unknown offline (the SQL was not typed).
    pub unavailable: Vec<String>,
    /// Set when the SQL was planned.
    pub output: Option<arrow_schema::SchemaRef>,
    pub param_types: ParamTypes,
    /// Database tables the plan reads whole (`checks::whole_table`): `(source, table)`.
    pub whole_tables: Vec<(String, String)>,
    /// API tables not given a path part or required variable (`checks::api_required`):
    /// `(source, table, name)`.
    pub api_missing: Vec<(String, String, String)>,
    /// Diagnostics from parsing and planning.
    pub diags: Vec<Diagnostic>,
}

impl ToolAnalysis {
    /// Whether the SQL calls `source.tool(...)`.
    pub fn calls(&self, source: &str, tool: &str) -> bool {
        self.parsed.as_ref().is_some_and(|p| {
            p.scan.relations.iter().any(|(n, args)| {
                let parts: Vec<String> =
                    n.0.iter()
                        .filter_map(|x| x.as_ident())
                        .map(sql::placeholders::normalize)
                        .collect();
                args.is_some() && parts.len() == 2 && parts[0] == source && parts[1] == tool
            })
        })
    }

    /// Where the SQL names `source.…table` (the whole statement if it cannot be found), for
    /// diagnostics about one table of the tool.
    pub fn table_span(&self, project: &Project, source: &str, table: &str) -> crate::source::Span {
        let file = project.file(&self.locator.whole());
        self.parsed
            .as_ref()
            .and_then(|p| {
                p.scan.relations.iter().find(|(n, _)| {
                    let parts: Vec<String> =
                        n.0.iter()
                            .filter_map(|x| x.as_ident())
                            .map(sql::placeholders::normalize)
                            .collect();
                    parts.first().map(String::as_str) == Some(source)
                        && parts.last().map(String::as_str) == Some(table)
                })
            })
            .map(|(n, _)| {
                self.locator
                    .from_sqlparser(file, sqlparser::ast::Spanned::span(n))
            })
            .unwrap_or_else(|| self.locator.whole())
    }

    pub fn kind(&self) -> Option<StatementKind> {
        self.parsed
            .as_ref()
            .map(|p| sql::statement_kind(&p.statement))
    }
}

pub fn analyse_tool(
    project: &Project,
    catalog: &Catalog,
    planner: &Planner,
    tool: &Keyed<Tool>,
) -> ToolAnalysis {
    let file = project.file(&tool.sql.span);
    let locator = SqlLocator::new(
        &tool.sql.span,
        &tool.sql.value.text,
        tool.sql.value.style,
        file,
    );
    let mut a = ToolAnalysis {
        locator,
        parsed: None,
        unavailable: Vec::new(),
        output: None,
        param_types: ParamTypes::new(),
        whole_tables: Vec::new(),
        api_missing: Vec::new(),
        diags: Vec::new(),
    };
    let parsed = match sql::parse(&tool.sql.value.text, &a.locator, file) {
        Ok(p) => p,
        Err(d) => {
            a.diags.push(d);
            return a;
        }
    };
    let param_type = |p: &str| tool.parameters.get(p).map(|decl| decl.ty.value.0.clone());
    let (unavailable, table_diags) =
        sql::check_tables(&parsed, catalog, &param_type, &a.locator, file);
    a.unavailable = unavailable;
    // wrong tool arguments do not change the statement's types: still plan it
    let tables_ok = table_diags.iter().all(|d| d.code == Code::ToolArgument);
    a.diags.extend(table_diags);
    let kind = sql::statement_kind(&parsed.statement);
    let positional = parsed.scan.uses.iter().any(|u| u.is_positional());
    if tables_ok && a.unavailable.is_empty() && kind != StatementKind::Other && !positional {
        let statement = sql::tool_calls::typed_calls(&parsed.statement, catalog);
        match planner.plan(&statement) {
            Ok(planned) => {
                a.output = Some(planned.plan.schema().inner().clone());
                a.param_types = planned.param_types;
                if kind == StatementKind::Query {
                    a.whole_tables = crate::checks::whole_table::find(&planned.plan, catalog);
                }
                a.api_missing = crate::checks::api_required::find(&planned.plan, project);
            }
            Err(e) => a.diags.push(sql::plan_error(&e, &a.locator, file)),
        }
    }
    a.parsed = Some(parsed);
    a
}

/// Constraints of a declared parameter as data (values already checked by a check).
pub fn constraints_of(p: &Parameter) -> Constraints {
    let item_ty = match &p.ty.value.0 {
        widgettdc_grammar::TypeExpr::List(inner) => inner.as_ref().clone(),
        other => other.clone(),
    };
    Constraints {
        enum_values: p
            .enum_values
            .as_ref()
            .map(|e| e.value.iter().map(|n| node_value(&item_ty, n)).collect()),
        minimum: p.minimum.as_ref().map(|m| m.value),
        maximum: p.maximum.as_ref().map(|m| m.value),
        pattern: p.pattern.as_ref().map(|s| s.value.clone()),
    }
}

/// Analyse every tool, in parallel on the machine's cores when there are many (plain
/// threads: the compiler runs no async runtime). Results keep the tools' order.
fn analyse_tools(
    project: &Project,
    catalog: &Catalog,
    planner: &Planner,
) -> IndexMap<String, ToolAnalysis> {
    let tools: Vec<(&String, &Keyed<Tool>)> = project.tools.iter().collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(tools.len() / 64)
        .max(1);
    let analyse = |chunk: &[(&String, &Keyed<Tool>)]| -> Vec<(String, ToolAnalysis)> {
        chunk
            .iter()
            .map(|(name, tool)| {
                (
                    (*name).clone(),
                    analyse_tool(project, catalog, planner, tool),
                )
            })
            .collect()
    };
    if threads == 1 {
        return analyse(&tools).into_iter().collect();
    }
    let chunk_size = tools.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = tools
            .chunks(chunk_size)
            .map(|chunk| scope.spawn(move || analyse(chunk)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(done) => done,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// Stage 2. `functions` is the SQL function registry (DataFusion's plus the stdlib).
pub fn compile(
    project: &Project,
    external: &ExternalSchemas,
    functions: &FunctionSet,
    diags: &mut Diagnostics,
) -> CompiledProject {
    let catalog = Catalog::build(project, external);
    let planner = Planner::new(&catalog, functions);
    let analyses = analyse_tools(project, &catalog, &planner);
    let cx = CheckCx {
        project,
        catalog: &catalog,
        analyses: &analyses,
    };
    for a in analyses.values() {
        diags.extend(a.diags.iter().cloned());
    }
    for check in CHECKS {
        let mut out = Vec::new();
        (check.run)(&cx, &mut out);
        diags.extend(out);
    }
    assemble(project, analyses)
}

/// The analyses are consumed: each parsed statement moves into its compiled tool (an AST is
/// tens of kilobytes; a copy per tool would double the compiler's memory).
fn assemble(project: &Project, mut analyses: IndexMap<String, ToolAnalysis>) -> CompiledProject {
    let mut out = CompiledProject::default();
    for (name, tool) in &project.tools {
        let Some(mut a) = analyses.swap_remove(name) else {
            continue;
        };
        let read_only = !tool.is_write() && a.kind() != Some(StatementKind::Write);
        let params = tool
            .parameters
            .iter()
            .map(|(pname, p)| CompiledParam {
                name: pname.clone(),
                ty: p.ty.value.0.clone(),
                description: p.description.clone(),
                required: p.is_required(),
                default: p.default.as_ref().map(|d| node_value(&p.ty.value.0, d)),
                constraints: constraints_of(p),
                inferred: a.param_types.get(pname).cloned().flatten(),
            })
            .collect();
        let sources = a
            .parsed
            .as_ref()
            .map(|p| {
                let mut s: Vec<String> = p
                    .scan
                    .relations
                    .iter()
                    .filter_map(|(n, _)| {
                        n.0.first()
                            .and_then(|x| x.as_ident())
                            .map(sql::placeholders::normalize)
                    })
                    .filter(|s| project.sources.contains_key(s))
                    .collect();
                s.sort();
                s.dedup();
                s
            })
            .unwrap_or_default();
        out.tools.insert(
            name.clone(),
            CompiledTool {
                name: name.clone(),
                description: tool.description.clone(),
                params,
                sql: tool.sql.value.text.clone(),
                statement: a.parsed.take().map(|p| p.statement),
                output: a.output.take(),
                read_only,
                max_rows: tool.max_rows,
                max_bytes: tool.max_bytes,
                sources,
            },
        );
    }
    for (name, w) in &project.widgets {
        let data = w
            .data
            .iter()
            .map(|(k, d)| {
                let tool = out.tools.get(&d.tool.value);
                let params = d
                    .params
                    .iter()
                    .map(|(pn, node)| {
                        let v = match tool.and_then(|t| t.param(pn)) {
                            Some(p) => node_value(&p.ty, &node.value),
                            None => node_to_json(&node.value),
                        };
                        (pn.clone(), v)
                    })
                    .collect();
                (
                    k.clone(),
                    CompiledWidgetData {
                        tool: d.tool.value.clone(),
                        params,
                        refresh: d.refresh.as_ref().map(|r| r.value.0),
                        channel: d.channel.clone(),
                    },
                )
            })
            .collect();
        out.widgets.insert(
            name.clone(),
            CompiledWidget {
                name: name.clone(),
                title: w.title.clone(),
                data,
            },
        );
    }
    for (name, ts) in &project.toolsets {
        for t in &ts.value {
            if !out.tools.contains_key(&t.value) {
                if let Some(b) = crate::builtins::builtin_tool(project, &t.value) {
                    out.tools.insert(t.value.clone(), b);
                }
            }
        }
        out.toolsets.insert(
            name.clone(),
            ts.value.iter().map(|t| t.value.clone()).collect(),
        );
    }
    out
}
