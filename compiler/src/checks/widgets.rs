//! Widgets call tools that exist, pass only parameters the tool has, give every required one,
//! with values of the right type that obey the parameter's constraints.

use super::CheckCx;
use crate::codes::Code;
use crate::compile::constraints_of;
use crate::diagnostic::{article, did_you_mean, Diagnostic};
use crate::params::{node_to_json, validate, Invalid};

pub fn run(cx: &CheckCx, out: &mut Vec<Diagnostic>) {
    let tools: Vec<&str> = cx.project.tools.keys().map(String::as_str).collect();
    for (wname, w) in &cx.project.widgets {
        for (dname, d) in w.data.iter() {
            let Some(tool) = cx.project.tools.get(&d.tool.value) else {
                let help = did_you_mean(&d.tool.value, tools.iter().copied())
                    .unwrap_or_else(|| format!("tools in this project: {}", tools.join(", ")));
                out.push(
                    Diagnostic::error(
                        Code::UnknownTool,
                        d.tool.span.clone(),
                        format!(
                            "widget `{wname}` data `{dname}` calls unknown tool `{}`",
                            d.tool.value
                        ),
                    )
                    .label("unknown tool")
                    .help(help),
                );
                continue;
            };
            let declared: Vec<&str> = tool.parameters.keys().map(String::as_str).collect();
            for (pname, value) in d.params.iter() {
                let Some(p) = tool.parameters.get(pname) else {
                    let help = did_you_mean(pname, declared.iter().copied()).unwrap_or_else(|| {
                        if declared.is_empty() {
                            format!("tool `{}` takes no parameters", d.tool.value)
                        } else {
                            format!("parameters of `{}`: {}", d.tool.value, declared.join(", "))
                        }
                    });
                    out.push(
                        Diagnostic::error(
                            Code::WidgetUnknownParam,
                            value.key_span.clone(),
                            format!("tool `{}` has no parameter `{pname}`", d.tool.value),
                        )
                        .label("unknown parameter")
                        .help(help),
                    );
                    continue;
                };
                let ty = &p.ty.value.0;
                let a = article(&ty.to_string());
                match validate(ty, &constraints_of(p), &node_to_json(&value.value)) {
                    Ok(_) => {}
                    Err(Invalid::Type(e)) => out.push(
                        Diagnostic::error(
                            Code::WidgetParamValue,
                            value.value_span.clone(),
                            format!("value for parameter `{pname}` is not {a} `{ty}`: {e}"),
                        )
                        .label(format!("not {a} {ty}"))
                        .with_secondary(p.ty.span.clone(), "declared here")
                        .help(format!("pass {a} `{ty}`")),
                    ),
                    Err(Invalid::Constraint(e)) => out.push(
                        Diagnostic::error(
                            Code::WidgetParamValue,
                            value.value_span.clone(),
                            format!("value for parameter `{pname}` is not allowed: {e}"),
                        )
                        .label("not allowed")
                        .with_secondary(p.key_span.clone(), "parameter declared here")
                        .help("pass a value the parameter's constraints allow"),
                    ),
                }
            }
            for (pname, p) in tool.parameters.iter() {
                if p.is_required() && !d.params.contains_key(pname) {
                    let span = d.params_span().unwrap_or_else(|| d.tool.span.clone());
                    out.push(
                        Diagnostic::error(Code::WidgetMissingParam, span, format!("widget `{wname}` data `{dname}` omits required parameter `{pname}` of tool `{}`", d.tool.value))
                            .label(format!("`{pname}` missing"))
                            .with_secondary(p.key_span.clone(), "required parameter declared here")
                            .help(format!("add `{pname}: <value>` to `params`")),
                    );
                }
            }
        }
    }
}
