//! Tool arguments: validated against the declared types and rules, then bound as typed values.
//!
//! 1. Every given name must be a declared parameter; every required one must be given.
//! 2. Each value goes through the compiler's `params::validate` (the same rules `check` applies
//!    to defaults and widget parameters): coerced to the declared type, then enum, bounds and
//!    pattern.
//! 3. Optional parameters left out (or given as `null`) drop their predicates:
//!    `sql::placeholders::specialize`, as the compiler planned.
//! 4. A `list<T>` parameter used as `x IN ($p)` becomes one placeholder per item (an empty
//!    list makes the predicate false, or true for `NOT IN`).
//! 5. Values become Arrow scalars of the declared type, later cast to the type the planner
//!    inferred for the placeholder. Values never reach the SQL text.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use serde_json::{Map, Value};
use sqlparser::ast::{Expr, Statement, Value as SqlValue, ValueWithSpan, VisitMut, VisitorMut};
use widgettdc_compiler::params::{validate, Invalid};
use widgettdc_compiler::plan::CompiledTool;
use widgettdc_compiler::sql::placeholders::specialize;
use widgettdc_compiler::Code;
use widgettdc_grammar::TypeExpr;

use crate::error::RuntimeError;

/// A tool's arguments, validated and typed.
#[derive(Debug)]
pub struct Bound {
    /// Placeholder name (without `$`) → value.
    pub values: HashMap<String, ScalarValue>,
    /// Optional parameters not given (their predicates are dropped).
    absent: std::collections::BTreeSet<String>,
    /// List parameters and how many items each has.
    lists: std::collections::BTreeMap<String, usize>,
}

impl Bound {
    /// What the statement for these arguments depends on besides the tool (the absent optional
    /// parameters and the lengths of lists): calls of the same shape have the same statement.
    pub fn shape(&self) -> String {
        let absent: Vec<&str> = self.absent.iter().map(String::as_str).collect();
        let lists: Vec<String> = self.lists.iter().map(|(k, n)| format!("{k}={n}")).collect();
        format!("-{};{}", absent.join(","), lists.join(","))
    }

    /// The tool's statement for these arguments: optional predicates dropped, lists expanded
    /// to one placeholder per item.
    pub fn statement(&self, tool: &CompiledTool) -> Result<Statement, RuntimeError> {
        let Some(statement) = tool.statement.as_ref() else {
            return Err(unparsed(tool));
        };
        let absent: HashSet<String> = self.absent.iter().cloned().collect();
        let mut statement = specialize(statement, &absent);
        if !self.lists.is_empty() {
            let lists: HashMap<String, usize> =
                self.lists.iter().map(|(k, v)| (k.clone(), *v)).collect();
            let mut expander = ListExpander { lists: &lists };
            let _ = VisitMut::visit(&mut statement, &mut expander);
        }
        Ok(statement)
    }
}

fn unparsed(tool: &CompiledTool) -> RuntimeError {
    RuntimeError::new(
        Code::ProjectInvalid,
        format!("the SQL of tool `{}` does not parse", tool.name),
    )
    .help("run `widgettdc check` to see the problem")
}

/// Validate `args` against the tool's parameters and bind them. Every problem is reported, not
/// just the first.
pub fn bind(tool: &CompiledTool, args: &Map<String, Value>) -> Result<Bound, Vec<RuntimeError>> {
    let mut errors = Vec::new();
    for name in args.keys() {
        if tool.param(name).is_none() {
            let names: Vec<&str> = tool.params.iter().map(|p| p.name.as_str()).collect();
            let help = widgettdc_compiler::diagnostic::did_you_mean(name, names.iter().copied())
                .unwrap_or_else(|| {
                    if names.is_empty() {
                        format!("tool `{}` takes no parameters", tool.name)
                    } else {
                        format!("its parameters are: {}", names.join(", "))
                    }
                });
            errors.push(
                RuntimeError::new(
                    Code::ParameterUnknown,
                    format!("tool `{}` has no parameter `{name}`", tool.name),
                )
                .help(help),
            );
        }
    }
    let mut absent = HashSet::new();
    let mut values: HashMap<String, ScalarValue> = HashMap::new();
    let mut lists: HashMap<String, usize> = HashMap::new();
    for p in &tool.params {
        let given = args.get(&p.name).filter(|v| !v.is_null());
        let value = match (given, &p.default) {
            (Some(v), _) => match validate(&p.ty, &p.constraints, v) {
                Ok(v) => v,
                Err(Invalid::Type(msg)) => {
                    errors.push(
                        RuntimeError::new(
                            Code::ParameterType,
                            format!("parameter `{}` of tool `{}`: {msg}", p.name, tool.name),
                        )
                        .help(format!("`{}` is declared as {}", p.name, p.ty)),
                    );
                    continue;
                }
                Err(Invalid::Constraint(msg)) => {
                    errors.push(
                        RuntimeError::new(
                            Code::ParameterConstraint,
                            format!("parameter `{}` of tool `{}`: {msg}", p.name, tool.name),
                        )
                        .help(rules_of(p)),
                    );
                    continue;
                }
            },
            (None, Some(d)) => d.clone(),
            (None, None) if p.required => {
                errors.push(
                    RuntimeError::new(
                        Code::ParameterMissing,
                        format!(
                            "tool `{}` needs parameter `{}` ({})",
                            tool.name, p.name, p.ty
                        ),
                    )
                    .help(format!("pass it, e.g. `--param {}=...`", p.name)),
                );
                continue;
            }
            (None, None) => {
                absent.insert(p.name.clone());
                continue;
            }
        };
        match &p.ty {
            TypeExpr::List(inner) => {
                let items = value.as_array().cloned().unwrap_or_default();
                lists.insert(p.name.clone(), items.len());
                for (i, item) in items.iter().enumerate() {
                    match scalar(inner, item) {
                        Ok(s) => {
                            values.insert(list_item(&p.name, i), s);
                        }
                        Err(msg) => errors.push(RuntimeError::new(
                            Code::ParameterType,
                            format!(
                                "parameter `{}` of tool `{}`, item {}: {msg}",
                                p.name,
                                tool.name,
                                i + 1
                            ),
                        )),
                    }
                }
            }
            ty => match scalar(ty, &value) {
                Ok(s) => {
                    values.insert(p.name.clone(), s);
                }
                Err(msg) => errors.push(RuntimeError::new(
                    Code::ParameterType,
                    format!("parameter `{}` of tool `{}`: {msg}", p.name, tool.name),
                )),
            },
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if tool.statement.is_none() {
        return Err(vec![unparsed(tool)]);
    }
    Ok(Bound {
        values,
        absent: absent.into_iter().collect(),
        lists: lists.into_iter().collect(),
    })
}

fn rules_of(p: &widgettdc_compiler::plan::CompiledParam) -> String {
    let c = &p.constraints;
    let mut rules = Vec::new();
    if let Some(e) = &c.enum_values {
        let items: Vec<String> = e.iter().map(|v| v.to_string()).collect();
        rules.push(format!("one of {}", items.join(", ")));
    }
    if let Some(m) = c.minimum {
        rules.push(format!("minimum {m}"));
    }
    if let Some(m) = c.maximum {
        rules.push(format!("maximum {m}"));
    }
    if let Some(pat) = &c.pattern {
        rules.push(format!("pattern `{pat}`"));
    }
    format!("`{}` ({}) allows: {}", p.name, p.ty, rules.join("; "))
}

/// The placeholder name of item `i` of list parameter `name`.
pub fn list_item(name: &str, i: usize) -> String {
    format!("{name}__{i}")
}

/// `x IN ($list)` → `x IN ($list__0, $list__1, ...)`; an empty list → `FALSE` (`TRUE` for
/// `NOT IN`).
struct ListExpander<'a> {
    lists: &'a HashMap<String, usize>,
}

impl VisitorMut for ListExpander<'_> {
    type Break = ();

    fn post_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
        let Expr::InList { list, negated, .. } = e else {
            return ControlFlow::Continue(());
        };
        let mut out = Vec::with_capacity(list.len());
        let mut expanded = false;
        for item in list.drain(..) {
            let name = match &item {
                Expr::Value(ValueWithSpan {
                    value: SqlValue::Placeholder(p),
                    ..
                }) => p.trim_start_matches('$').to_string(),
                _ => String::new(),
            };
            match self.lists.get(&name) {
                Some(n) => {
                    expanded = true;
                    for i in 0..*n {
                        out.push(Expr::Value(
                            SqlValue::Placeholder(format!("${}", list_item(&name, i))).into(),
                        ));
                    }
                }
                None => out.push(item),
            }
        }
        let negated = *negated;
        *list = out;
        if expanded && list.is_empty() {
            *e = Expr::Value(SqlValue::Boolean(negated).into());
        }
        ControlFlow::Continue(())
    }
}

/// A validated JSON value as an Arrow scalar of the declared type.
pub fn scalar(ty: &TypeExpr, v: &Value) -> Result<ScalarValue, String> {
    let target = widgettdc_compiler::types::to_arrow(ty);
    let direct = match (ty, v) {
        (_, Value::Null) => return ScalarValue::try_from(&target).map_err(|e| e.to_string()),
        (TypeExpr::Boolean, Value::Bool(b)) => Some(ScalarValue::Boolean(Some(*b))),
        (_, Value::Number(n)) if target.is_integer() => {
            n.as_i64().map(|i| ScalarValue::Int64(Some(i)))
        }
        (_, Value::Number(n)) => n.as_f64().map(|f| ScalarValue::Float64(Some(f))),
        (_, Value::String(s)) => Some(ScalarValue::Utf8(Some(s.clone()))),
        _ => None,
    };
    let Some(s) = direct else {
        return Err(format!("{v} is not {ty}"));
    };
    if s.data_type() == target {
        return Ok(s);
    }
    s.cast_to(&target).map_err(|_| {
        format!(
            "`{}` is not a valid {ty}",
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string())
        )
    })
}

/// Cast bound values to the types the planner inferred for their placeholders.
pub fn cast_to_inferred(
    values: HashMap<String, ScalarValue>,
    inferred: &HashMap<String, Option<DataType>>,
    tool: &CompiledTool,
) -> Result<HashMap<String, ScalarValue>, RuntimeError> {
    let mut out = HashMap::with_capacity(values.len());
    for (name, v) in values {
        let want = inferred.get(&format!("${name}")).cloned().flatten();
        let v = match want {
            Some(t) if t != v.data_type() && !matches!(t, DataType::Null) => {
                v.cast_to(&t).map_err(|_| {
                    let param = name.split("__").next().unwrap_or(&name);
                    RuntimeError::new(
                        Code::ParameterType,
                        format!(
                            "parameter `{param}` of tool `{}`: the value {v} cannot be used where the SQL expects {t}",
                            tool.name
                        ),
                    )
                    .help("give a value of the type the column has, or change the parameter's declared type")
                })?
            }
            _ => v,
        };
        out.insert(name, v);
    }
    Ok(out)
}
