//! A value with an unset variable is only a warning, unless it is needed: here, the path or URL
//! of a file or SQLite source whose schema is not declared or locked, which `check` reads
//! offline to type its SQL. (Database URLs are only needed by `check --live`.)

use super::CheckCx;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::spec::sources::SourceConfig;

pub fn run(cx: &CheckCx, out: &mut Vec<Diagnostic>) {
    for (name, src) in &cx.project.sources {
        let known = cx.catalog.sources.get(name).is_some_and(|s| s.known);
        if known {
            continue;
        }
        let span = match &src.value {
            SourceConfig::File(f) => Some(f.path.span.clone()),
            SourceConfig::Sqlite(s) => Some(s.path.span.clone()),
            _ => None,
        };
        let Some(span) = span else { continue };
        if let Some(u) = cx.project.unresolved_in(&span) {
            let what = if u.secret {
                "secret"
            } else {
                "environment variable"
            };
            out.push(
                Diagnostic::error(
                    if u.secret { Code::UndefinedSecret } else { Code::UndefinedEnv },
                    u.span.clone(),
                    format!("{what} `{}` is needed to read the schema of source `{name}`, and it is not set", u.name),
                )
                .label("needed, but unset")
                .help(format!(
                    "set `{}`, or declare the source's schema (`columns:`/`tables:`) or lock it with `widgettdc schema pull`",
                    u.name
                )),
            );
        }
    }
}
