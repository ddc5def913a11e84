//! A parameter may not be called `cursor`: when a tool is served (MCP, HTTP), `cursor` is the
//! argument that fetches the next page of a truncated result.

use super::CheckCx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;

/// Argument names `widgettdc serve` adds to every tool.
pub const RESERVED: &[&str] = &["cursor"];

pub fn run(cx: &CheckCx, out: &mut Vec<Diagnostic>) {
    for (tool, t) in cx.project.tools.iter() {
        for (name, p) in t.parameters.0.iter() {
            if RESERVED.contains(&name.as_str()) {
                out.push(
                    Diagnostic::error(
                        Code::ReservedParameter,
                        p.key_span.clone(),
                        format!("tool `{tool}` has a parameter named `{name}`, a name widgettdc reserves"),
                    )
                    .label("reserved name")
                    .help(format!(
                        "rename it (e.g. `{name}_value`, and `${name}_value` in the SQL): a served tool takes `{name}` to fetch the next page of a truncated result"
                    )),
                );
            }
        }
    }
}
