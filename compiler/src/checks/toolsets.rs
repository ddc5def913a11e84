//! Toolsets name tools that exist, and are not empty.

use super::CheckCx;
use crate::codes::Code;
use crate::diagnostic::{did_you_mean, Diagnostic};

pub fn run(cx: &CheckCx, out: &mut Vec<Diagnostic>) {
    let tools: Vec<&str> = cx.project.tools.keys().map(String::as_str).collect();
    for (name, ts) in &cx.project.toolsets {
        if ts.value.is_empty() {
            out.push(
                Diagnostic::error(
                    Code::EmptyToolset,
                    ts.key_span.clone(),
                    format!("toolset `{name}` lists no tools"),
                )
                .label("empty")
                .help("list tool names: `toolset: [tool_a, tool_b]`"),
            );
        }
        for t in &ts.value {
            if !cx.project.tools.contains_key(&t.value)
                && !crate::builtins::is_builtin(cx.project, &t.value)
            {
                let help = did_you_mean(&t.value, tools.iter().copied()).unwrap_or_else(|| {
                    format!(
                        "tools in this project: {}; every source also has the built-in tools {} (as `<source>.<tool>`)",
                        tools.join(", "),
                        widgettdc_stdlib::tools::BUILTIN_TOOLS
                            .iter()
                            .map(|b| b.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                });
                out.push(
                    Diagnostic::error(
                        Code::UnknownTool,
                        t.span.clone(),
                        format!("toolset `{name}` names unknown tool `{}`", t.value),
                    )
                    .label("unknown tool")
                    .help(help),
                );
            }
        }
    }
}
