//! How the SQL uses parameters: every `$name` is declared, every declaration is used, named
//! not positional, types fit the use, and optional parameters without default sit where their
//! predicate can be dropped.

use std::collections::HashSet;

use super::CheckCx;
use crate::codes::Code;
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::sql::placeholders::specialize;
use crate::sql::{self, StatementKind};
use crate::types::{describe_arrow, param_fits};

pub fn run(cx: &CheckCx, out: &mut Vec<Diagnostic>) {
    for (tool_name, tool) in &cx.project.tools {
        let a = &cx.analyses[tool_name];
        let Some(parsed) = &a.parsed else { continue };
        if a.kind() == Some(StatementKind::Other) {
            continue;
        }
        let file = cx.project.file(&tool.sql.span);
        let declared: Vec<&str> = tool.parameters.keys().map(String::as_str).collect();
        let mut reported = HashSet::new();
        for u in &parsed.scan.uses {
            let span = a.locator.from_sqlparser(file, u.span);
            if u.is_positional() {
                out.push(
                    Diagnostic::error(Code::PositionalParameter, span, format!("positional parameter `{}`", u.raw))
                        .label("positional")
                        .help("tools use named parameters: declare one under `parameters:` and write `$name`"),
                );
                continue;
            }
            if !tool.parameters.contains_key(&u.name) && reported.insert(u.name.clone()) {
                let help = did_you_mean(&u.name, declared.iter().copied()).unwrap_or_else(|| {
                    format!(
                        "declare it: `parameters: {{ {}: {{ type: string }} }}`",
                        u.name
                    )
                });
                out.push(
                    Diagnostic::error(
                        Code::UndeclaredParameter,
                        span,
                        format!(
                            "parameter `${}` is not declared by tool `{tool_name}`",
                            u.name
                        ),
                    )
                    .label("undeclared parameter")
                    .help(help),
                );
            }
        }
        let used = sql::used_names(&parsed.scan);
        for (name, p) in tool.parameters.iter() {
            if !used.contains(name) {
                out.push(
                    Diagnostic::error(
                        Code::UnusedParameter,
                        p.key_span.clone(),
                        format!("parameter `{name}` is declared but the SQL never uses `${name}`"),
                    )
                    .label("unused")
                    .help(format!("use `${name}` in the SQL, or remove the parameter")),
                );
            }
        }
        // types: what the planner inferred vs what was declared
        for (name, p) in tool.parameters.iter() {
            let Some(Some(inferred)) = a.param_types.get(name) else {
                continue;
            };
            let uses: Vec<_> = parsed
                .scan
                .uses
                .iter()
                .filter(|u| &u.name == name)
                .collect();
            let in_list = !uses.is_empty() && uses.iter().all(|u| u.in_list);
            if !param_fits(&p.ty.value.0, inferred, in_list) {
                let span = uses
                    .first()
                    .map(|u| a.locator.from_sqlparser(file, u.span))
                    .unwrap_or_else(|| a.locator.whole());
                out.push(
                    Diagnostic::error(
                        Code::ParameterTypeMismatch,
                        span,
                        format!(
                            "parameter `{name}` is declared `{}` but the SQL uses it as {}",
                            p.ty.value.0,
                            describe_arrow(inferred)
                        ),
                    )
                    .label(format!("used as {}", describe_arrow(inferred)))
                    .with_secondary(p.ty.span.clone(), "declared here")
                    .help("change the declared type, or CAST the parameter in the SQL"),
                );
            }
        }
        // optional parameters without a default: their uses must be droppable
        let optional: HashSet<String> = tool
            .parameters
            .iter()
            .filter(|(_, p)| !p.is_required() && p.default.is_none())
            .map(|(n, _)| n.clone())
            .collect();
        if !optional.is_empty() {
            let reduced = specialize(&parsed.statement, &optional);
            let left = crate::sql::placeholders::scan(&reduced);
            let mut seen = HashSet::new();
            for u in left.uses.iter().filter(|u| optional.contains(&u.name)) {
                if !seen.insert(u.name.clone()) {
                    continue;
                }
                out.push(
                    Diagnostic::error(
                        Code::OptionalParameterMisplaced,
                        a.locator.from_sqlparser(file, u.span),
                        format!("optional parameter `{}` has no default and is used where its predicate cannot be dropped", u.name),
                    )
                    .label("cannot drop this use")
                    .help("use it in a WHERE/HAVING/JOIN ON condition joined by AND, or in LIMIT/OFFSET; or give it a default, or make it required"),
                );
            }
        }
    }
}
