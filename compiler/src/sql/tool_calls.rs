//! Calls of MCP tools in SQL (`src.tool(name => value, ...)`): checking their arguments
//! against the locked signature (E208), and rewriting the calls whose result columns are known
//! into plain table names so that DataFusion's planner types the statement.

use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, Ident, ObjectName, Statement, TableAlias, TableFactor,
    UnaryOperator, Value, VisitMut, VisitorMut,
};
use widgettdc_grammar::TypeExpr;

use crate::catalog::Catalog;
use crate::codes::Code;
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::mcp::ToolSignature;
use crate::source::SourceFile;

use super::locate::SqlLocator;
use super::placeholders::{normalize, placeholder_name};

/// The JSON type a declared parameter type is sent as (its JSON Schema `type`).
pub fn json_type_of(t: &TypeExpr) -> String {
    crate::plan::type_schema(t)["type"]
        .as_str()
        .unwrap_or("string")
        .to_string()
}

/// The JSON type of a SQL argument as the runtime sends it (`None`: a parameter or an
/// expression, judged elsewhere).
fn literal_type(e: &Expr) -> Option<&'static str> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => Some(if n.contains(['.', 'e', 'E']) {
                "number"
            } else {
                "integer"
            }),
            Value::SingleQuotedString(_) | Value::DoubleQuotedString(_) => Some("string"),
            Value::Boolean(_) => Some("boolean"),
            Value::Null => Some("null"),
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => literal_type(expr),
        Expr::Nested(inner) => literal_type(inner),
        Expr::Array(_) => Some("array"),
        _ => None,
    }
}

fn fits(expected: &str, actual: &str) -> bool {
    actual == "null"
        || expected == "any"
        || expected == actual
        || (expected == "number" && actual == "integer")
}

/// Check one call's arguments against the tool's signature: every argument named, known and
/// of the right JSON type (literals, and parameters by their declared type), every required
/// one given.
#[allow(clippy::too_many_arguments)]
pub fn check_call(
    source: &str,
    tool: &str,
    call: &ObjectName,
    args: &[FunctionArg],
    sig: &ToolSignature,
    param_type: &dyn Fn(&str) -> Option<TypeExpr>,
    loc: &SqlLocator,
    file: &SourceFile,
) -> Vec<Diagnostic> {
    use sqlparser::ast::Spanned as _;
    let call_span = loc.from_sqlparser(file, call.span());
    let usage = || {
        let list: Vec<String> = sig
            .arguments
            .iter()
            .map(|a| {
                format!(
                    "{} => {}{}",
                    a.name,
                    a.json_type,
                    if a.required { "" } else { "?" }
                )
            })
            .collect();
        format!("call it as {source}.{tool}({})", list.join(", "))
    };
    let mut out = Vec::new();
    let mut given = Vec::new();
    // a misspelt argument is reported once: as unknown, with the name it was meant to be
    let mut meant = Vec::new();
    for a in args {
        let (name, expr) = match a {
            FunctionArg::Named {
                name,
                arg: FunctionArgExpr::Expr(e),
                ..
            } => (name, e),
            FunctionArg::ExprNamed {
                name: Expr::Identifier(name),
                arg: FunctionArgExpr::Expr(e),
                ..
            } => (name, e),
            other => {
                out.push(
                    Diagnostic::error(
                        Code::ToolArgument,
                        loc.from_sqlparser(file, other.span()),
                        format!("argument `{other}` of `{source}.{tool}` has no name"),
                    )
                    .label("unnamed argument")
                    .help(format!("MCP tool arguments are named: {}", usage())),
                );
                continue;
            }
        };
        let span = loc.from_sqlparser(file, name.span);
        let arg_name = name.value.as_str();
        given.push(arg_name.to_string());
        let Some(decl) = sig.arguments.iter().find(|d| d.name == arg_name) else {
            if let Some(m) =
                crate::diagnostic::suggest(arg_name, sig.arguments.iter().map(|d| d.name.as_str()))
            {
                meant.push(m.to_string());
            }
            out.push(
                Diagnostic::error(
                    Code::ToolArgument,
                    span,
                    format!("`{arg_name}` is not an argument of `{source}.{tool}`"),
                )
                .label("unknown argument")
                .help(
                    did_you_mean(arg_name, sig.arguments.iter().map(|d| d.name.as_str()))
                        .unwrap_or_else(usage),
                ),
            );
            continue;
        };
        let (actual, what): (String, String) = match expr {
            Expr::Value(v) if placeholder_name(&v.value).is_some() => {
                let p = placeholder_name(&v.value).unwrap_or_default();
                let p = p.trim_start_matches('$');
                match param_type(p) {
                    Some(t) => (json_type_of(&t), format!("parameter `${p}` ({t})")),
                    None => continue, // undeclared: reported by the parameter checks
                }
            }
            e => match literal_type(e) {
                Some(t) => (t.to_string(), format!("`{e}`")),
                None => {
                    out.push(
                        Diagnostic::error(
                            Code::ToolArgument,
                            loc.from_sqlparser(file, e.span()),
                            format!("argument `{arg_name}` of `{source}.{tool}` is an expression"),
                        )
                        .label("not a literal or parameter")
                        .help("a tool argument is a literal (`'text'`, `42`, `true`, `[1, 2]`) or a parameter (`$name`)"),
                    );
                    continue;
                }
            },
        };
        if !fits(&decl.json_type, &actual) {
            out.push(
                Diagnostic::error(
                    Code::ToolArgument,
                    loc.from_sqlparser(file, expr.span()),
                    format!(
                        "argument `{arg_name}` of `{source}.{tool}` must be {}, and {what} is {actual}",
                        decl.json_type
                    ),
                )
                .label(format!("expected {}", decl.json_type))
                .help(usage()),
            );
        }
    }
    let missing: Vec<&str> = sig
        .arguments
        .iter()
        .filter(|d| d.required && !given.contains(&d.name) && !meant.contains(&d.name))
        .map(|d| d.name.as_str())
        .collect();
    if !missing.is_empty() {
        out.push(
            Diagnostic::error(
                Code::ToolArgument,
                call_span,
                format!(
                    "`{source}.{tool}` needs {}",
                    missing
                        .iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .label("required argument missing")
            .help(usage()),
        );
    }
    out
}

/// The statement with every call of an MCP tool whose columns are known replaced by the plain
/// name `src.tool`, aliased as the tool (as the runtime aliases its result), for planning.
pub fn typed_calls(statement: &Statement, catalog: &Catalog) -> Statement {
    struct Rewrite<'a> {
        catalog: &'a Catalog,
    }
    impl VisitorMut for Rewrite<'_> {
        type Break = ();
        fn pre_visit_table_factor(&mut self, t: &mut TableFactor) -> ControlFlow<()> {
            let TableFactor::Table {
                name, args, alias, ..
            } = t
            else {
                return ControlFlow::Continue(());
            };
            if args.is_none() {
                return ControlFlow::Continue(());
            }
            let parts: Vec<String> = name
                .0
                .iter()
                .filter_map(|p| p.as_ident())
                .map(normalize)
                .collect();
            let [source, tool] = parts.as_slice() else {
                return ControlFlow::Continue(());
            };
            let typed = self
                .catalog
                .sources
                .get(source)
                .filter(|s| s.kind == "mcp")
                .and_then(|s| s.tools.get(tool))
                .is_some_and(|t| t.schema.is_some());
            if typed {
                *args = None;
                if alias.is_none() {
                    let tool_ident = name.0.last().and_then(|p| p.as_ident()).cloned();
                    *alias = Some(TableAlias {
                        name: tool_ident.unwrap_or_else(|| Ident::new(tool.clone())),
                        columns: Vec::new(),
                        explicit: true,
                        at: None,
                    });
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut s = statement.clone();
    let _ = s.visit(&mut Rewrite { catalog });
    s
}
