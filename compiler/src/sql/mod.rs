//! Typing a tool's SQL: parse with DataFusion's parser, check tables and placeholders, plan
//! with DataFusion's SQL planner against the schema-only catalog, read back parameter and
//! output types.

pub mod locate;
pub mod placeholders;
pub mod provider;
pub mod tool_calls;

use std::collections::{HashMap, HashSet};

use arrow_schema::DataType;
use datafusion_common::{DataFusionError, SchemaError};
use datafusion_expr::LogicalPlan;
use datafusion_sql::parser::{DFParserBuilder, Statement as DFStatement};
use datafusion_sql::planner::{ParserOptions, SqlToRel};
use sqlparser::ast::{Spanned as _, Statement};
use sqlparser::dialect::GenericDialect;

use crate::catalog::{Catalog, Resolution};
use crate::codes::Code;
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::source::SourceFile;
use locate::SqlLocator;
use placeholders::{normalize, Scan};
use provider::{config_options, FunctionSet, SchemaProvider};

/// A parsed statement and where its text is.
pub struct Parsed {
    pub statement: Statement,
    pub scan: Scan,
}

/// Parse one statement. Errors are diagnostics pointing into the file.
#[allow(clippy::result_large_err)] // a diagnostic is the error, built once per tool
pub fn parse(sql: &str, loc: &SqlLocator, file: &SourceFile) -> Result<Parsed, Diagnostic> {
    let dialect = GenericDialect {};
    let statements = DFParserBuilder::new(sql)
        .with_dialect(&dialect)
        .build()
        .and_then(|mut p| p.parse_statements());
    let mut statements = match statements {
        Ok(s) => s,
        Err(e) => return Err(syntax_error(&e, sql, loc, file)),
    };
    if statements.len() > 1 {
        let second = match &statements[1] {
            DFStatement::Statement(s) => loc.from_sqlparser(file, s.span()),
            _ => loc.whole(),
        };
        return Err(Diagnostic::error(
            Code::MultipleStatements,
            second,
            "a tool runs one SQL statement, this is a second one",
        )
        .label("second statement")
        .help("split it into another tool, or combine the statements with a CTE (`WITH ...`)"));
    }
    let Some(first) = statements.pop_front() else {
        return Err(
            Diagnostic::error(Code::SqlSyntax, loc.whole(), "the SQL is empty")
                .label("no statement")
                .help("write a SELECT statement"),
        );
    };
    match first {
        DFStatement::Statement(s) => {
            let scan = placeholders::scan(&s);
            Ok(Parsed {
                statement: *s,
                scan,
            })
        }
        other => Err(Diagnostic::error(
            Code::UnsupportedStatement,
            loc.whole(),
            format!("tools cannot run `{}` statements", statement_word(&other)),
        )
        .label("not supported in a tool")
        .help("a tool is one SELECT (or, with `mode: write`, INSERT/UPDATE/DELETE) statement")),
    }
}

fn statement_word(s: &DFStatement) -> String {
    let text = s.to_string();
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

fn syntax_error(e: &DataFusionError, sql: &str, loc: &SqlLocator, file: &SourceFile) -> Diagnostic {
    let raw = e.strip_backtrace();
    let msg = raw
        .trim_start_matches("SQL error: ")
        .trim_start_matches("ParserError(\"")
        .trim_end_matches("\")")
        .trim_start_matches("sql parser error: ")
        .to_string();
    let re = regex::Regex::new(r"\s*at Line: (\d+), Column: (\d+)").ok();
    let pos = re
        .as_ref()
        .and_then(|re| re.captures(&msg))
        .and_then(|c| Some((c[1].parse().ok()?, c[2].parse().ok()?)));
    let clean = re
        .map(|re| re.replace_all(&msg, "").to_string())
        .unwrap_or(msg);
    // "found: EOF" points past the text: point at its last character instead
    let pos = if clean.contains("found: EOF") {
        end_of(sql)
    } else {
        pos
    };
    let span = match pos {
        Some((l, c)) => loc.span(file, (l, c), (l, c)),
        None => loc.whole(),
    };
    Diagnostic::error(Code::SqlSyntax, span, format!("SQL syntax error: {clean}"))
        .label("here")
        .help("check the SQL near this point; parameters are written `$name`")
}

/// 1-based line and column of the last non-space character of `sql`.
fn end_of(sql: &str) -> Option<(u64, u64)> {
    let trimmed = sql.trim_end();
    let line = trimmed.lines().count().max(1) as u64;
    let last = trimmed.lines().last()?;
    Some((line, last.chars().count().max(1) as u64))
}

/// What kind of statement a tool runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementKind {
    Query,
    Write,
    Other,
}

pub fn statement_kind(s: &Statement) -> StatementKind {
    match s {
        Statement::Query(_) => StatementKind::Query,
        Statement::Insert(_)
        | Statement::Update(_)
        | Statement::Delete(_)
        | Statement::Merge(_) => StatementKind::Write,
        Statement::CreateTable(_)
        | Statement::CreateView(_)
        | Statement::CreateIndex(_)
        | Statement::CreateSchema { .. }
        | Statement::CreateDatabase { .. }
        | Statement::Drop { .. }
        | Statement::AlterTable(_)
        | Statement::Truncate(_) => StatementKind::Write,
        _ => StatementKind::Other,
    }
}

/// Check that every table the statement names exists. Returns the sources whose schema is
/// unknown offline (so the statement cannot be typed), or diagnostics for unknown tables.
pub fn check_tables(
    parsed: &Parsed,
    catalog: &Catalog,
    param_type: &dyn Fn(&str) -> Option<widgettdc_grammar::TypeExpr>,
    loc: &SqlLocator,
    file: &SourceFile,
) -> (Vec<String>, Vec<Diagnostic>) {
    let mut unavailable = Vec::new();
    let mut diags = Vec::new();
    for (name, call_args) in &parsed.scan.relations {
        let parts: Vec<String> = name
            .0
            .iter()
            .filter_map(|p| p.as_ident())
            .map(normalize)
            .collect();
        let mcp = parts
            .first()
            .and_then(|s| catalog.sources.get(s))
            .filter(|s| s.kind == "mcp");
        if let Some(args) = call_args {
            if let (Some(src), [source, tool]) = (mcp, parts.as_slice()) {
                match src.tools.get(tool) {
                    Some(t) => {
                        diags.extend(tool_calls::check_call(
                            source,
                            tool,
                            name,
                            args,
                            &t.signature,
                            param_type,
                            loc,
                            file,
                        ));
                        if t.schema.is_none() && !unavailable.contains(source) {
                            unavailable.push(source.clone());
                        }
                    }
                    None if src.tools.is_empty() => {
                        if !unavailable.contains(source) {
                            unavailable.push(source.clone());
                        }
                    }
                    None => diags.push(
                        Diagnostic::error(
                            Code::UnknownTable,
                            loc.from_sqlparser(file, name.span()),
                            format!("MCP server `{source}` has no tool `{tool}`"),
                        )
                        .label("unknown tool")
                        .help(
                            did_you_mean(tool, src.tools.keys().map(String::as_str)).unwrap_or_else(
                                || {
                                    format!(
                                        "its tools (from schema.lock.yaml): {}; run `widgettdc schema pull` if the server changed",
                                        src.tools.keys().cloned().collect::<Vec<_>>().join(", ")
                                    )
                                },
                            ),
                        ),
                    ),
                }
                continue;
            }
            // other table functions are checked by the runtime's catalog
            if let Some(source) = parts.first() {
                if !catalog.sources.contains_key(source) && parts.len() > 1 {
                    diags.push(
                        Diagnostic::error(
                            Code::UnknownTable,
                            loc.from_sqlparser(file, name.span()),
                            format!("no source named `{source}`"),
                        )
                        .label("unknown source")
                        .maybe_help(did_you_mean(
                            source,
                            catalog.sources.keys().map(String::as_str),
                        )),
                    );
                }
                unavailable.push(source.clone());
            }
            continue;
        }
        if let (Some(src), [source, tool]) = (mcp, parts.as_slice()) {
            if src.tools.contains_key(tool) {
                diags.push(
                    Diagnostic::error(
                        Code::UnknownTable,
                        loc.from_sqlparser(file, name.span()),
                        format!("`{source}.{tool}` is an MCP tool, not a table"),
                    )
                    .label("call it")
                    .help(format!(
                        "call it as a table function: `{source}.{tool}(name => value, ...)`"
                    )),
                );
                continue;
            }
        }
        if parts.len() == 1 && parsed.scan.ctes.contains(&parts[0]) {
            continue;
        }
        let span = loc.from_sqlparser(file, name.span());
        let written = parts.join(".");
        match catalog.resolve(&parts) {
            Resolution::Table { .. } => {}
            Resolution::Unavailable { source } => {
                if !unavailable.contains(&source) {
                    unavailable.push(source);
                }
            }
            Resolution::UnknownSource { suggestion } => {
                let help = suggestion.map(|s| format!("did you mean `{s}`?")).unwrap_or_else(|| {
                    "tables are `<source>.<table>`, or a file source's name; sources are declared under `sources:`".into()
                });
                diags.push(
                    Diagnostic::error(
                        Code::UnknownTable,
                        span,
                        format!("unknown table `{written}`"),
                    )
                    .label("no source provides this table")
                    .help(help),
                );
            }
            Resolution::UnknownTable { source, suggestion } => {
                let help = suggestion.map(|s| format!("did you mean `{s}`?")).unwrap_or_else(|| {
                    format!("declare it under `tables:` of source `{source}`, or refresh the lock file with `widgettdc schema pull`")
                });
                diags.push(
                    Diagnostic::error(
                        Code::UnknownTable,
                        span,
                        format!("source `{source}` has no table `{written}`"),
                    )
                    .label("unknown table")
                    .help(help),
                );
            }
        }
    }
    (unavailable, diags)
}

/// DataFusion's SQL planner over the schema-only catalog, built once per compile and used
/// for every tool (the runtime plans the same way, over real tables).
pub struct Planner<'a> {
    provider: SchemaProvider<'a>,
    parser_options: ParserOptions,
}

/// A planned statement with its parameter types by name (without `$`).
pub struct Planned {
    pub plan: LogicalPlan,
    pub param_types: HashMap<String, Option<DataType>>,
}

impl<'a> Planner<'a> {
    pub fn new(catalog: &'a Catalog, functions: &'a FunctionSet) -> Self {
        let options = config_options();
        let parser_options = ParserOptions::from(&options.sql_parser);
        Planner {
            provider: SchemaProvider {
                catalog,
                functions,
                options,
            },
            parser_options,
        }
    }

    /// Plan a statement. `INSERT ... VALUES` types its placeholders by position, so it is
    /// planned with named placeholders renamed to positional ones and the types mapped back.
    pub fn plan(&self, stmt: &Statement) -> Result<Planned, DataFusionError> {
        let (stmt, positional) = if matches!(stmt, Statement::Insert(_)) {
            placeholders::to_positional(stmt)
        } else {
            (stmt.clone(), Vec::new())
        };
        let planner = SqlToRel::new_with_options(&self.provider, self.parser_options);
        let plan = planner.sql_statement_to_plan(stmt)?;
        let param_types = plan
            .get_parameter_types()?
            .into_iter()
            .map(|(k, v)| {
                let k = k.trim_start_matches('$');
                let name = k
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| positional.get(i.wrapping_sub(1)))
                    .map_or_else(|| k.to_string(), String::clone);
                (name, v)
            })
            .collect();
        Ok(Planned { plan, param_types })
    }
}

/// Turn a planning error into a diagnostic.
pub fn plan_error(e: &DataFusionError, loc: &SqlLocator, file: &SourceFile) -> Diagnostic {
    let span = e
        .diagnostic()
        .and_then(|d| d.span)
        .map(|s| loc.from_datafusion(file, &s))
        .unwrap_or_else(|| loc.whole());
    let root = e.find_root();
    if let DataFusionError::SchemaError(boxed, _) = root {
        if let SchemaError::FieldNotFound {
            field,
            valid_fields,
        } = boxed.as_ref()
        {
            let names: Vec<String> = valid_fields.iter().map(|c| c.name.clone()).collect();
            let qualified: Vec<String> = valid_fields.iter().map(|c| c.flat_name()).collect();
            let help = did_you_mean(&field.name, names.iter().map(String::as_str))
                .or_else(|| did_you_mean(&field.flat_name(), qualified.iter().map(String::as_str)))
                .unwrap_or_else(|| {
                    let mut list = names.clone();
                    list.sort();
                    list.dedup();
                    if list.len() > 12 {
                        list.truncate(12);
                        list.push("…".into());
                    }
                    format!("columns here: {}", list.join(", "))
                });
            return Diagnostic::error(
                Code::UnknownColumn,
                span,
                format!("unknown column `{}`", field.flat_name()),
            )
            .label("no such column")
            .help(help);
        }
    }
    let message = e
        .diagnostic()
        .map(|d| d.message.clone())
        .unwrap_or_else(|| root.strip_backtrace())
        .trim_start_matches("Error during planning: ")
        .trim_start_matches("This feature is not implemented: ")
        .to_string();
    let help = e
        .diagnostic()
        .and_then(|d| d.helps.first().map(|h| h.message.clone()))
        .or_else(|| {
            e.diagnostic()
                .and_then(|d| d.notes.first().map(|n| n.message.clone()))
        })
        .unwrap_or_else(|| {
            "see the DataFusion SQL reference for supported syntax and functions".into()
        });
    Diagnostic::error(
        Code::SqlPlan,
        span,
        format!("SQL cannot be planned: {}", first_line(&message)),
    )
    .label("here")
    .help(help)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// Names of placeholders used (without `$`).
pub fn used_names(scan: &Scan) -> HashSet<String> {
    scan.uses.iter().map(|u| u.name.clone()).collect()
}
