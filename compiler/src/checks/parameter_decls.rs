//! Parameter declarations: the type is a parameter type, constraints fit the type and each
//! other, enum values and defaults are of the declared type and obey the constraints.

use widgettdc_grammar::TypeExpr;

use super::CheckCx;
use crate::codes::Code;
use crate::compile::constraints_of;
use crate::diagnostic::{article, Diagnostic};
use crate::params::{coerce, node_to_json, validate, Constraints, Invalid};

pub fn run(cx: &CheckCx, out: &mut Vec<Diagnostic>) {
    for tool in cx.project.tools.values() {
        for (name, p) in tool.parameters.iter() {
            let ty = &p.ty.value.0;
            if !ty.is_parameter_type() {
                out.push(
                    Diagnostic::error(Code::InvalidValue, p.ty.span.clone(), format!("`{ty}` is not a parameter type"))
                        .label("not a parameter type")
                        .help("parameters are string, integer, number, boolean, date, timestamp or list<T> of those"),
                );
                continue;
            }
            let item = match ty {
                TypeExpr::List(inner) => inner.as_ref(),
                other => other,
            };
            let a = article(&ty.to_string());
            let an_item = article(&item.to_string());
            let numeric = matches!(item, TypeExpr::Integer | TypeExpr::Number);
            let measurable = numeric || matches!(ty, TypeExpr::String | TypeExpr::List(_));
            let mut constraints_ok = true;
            for (key, bound) in [("minimum", &p.minimum), ("maximum", &p.maximum)] {
                if let Some(b) = bound {
                    if !measurable {
                        constraints_ok = false;
                        out.push(
                            Diagnostic::error(Code::InvalidConstraint, b.span.clone(), format!("`{key}` does not apply to {a} `{ty}` parameter"))
                                .label(format!("no {key} for {ty}"))
                                .help(format!("`{key}` bounds numbers, and the length of strings and lists; remove it or use `enum`")),
                        );
                    }
                }
            }
            if let (Some(min), Some(max)) = (&p.minimum, &p.maximum) {
                if min.value > max.value {
                    constraints_ok = false;
                    out.push(
                        Diagnostic::error(
                            Code::InvalidConstraint,
                            min.span.clone(),
                            format!("minimum {} is above maximum {}", min.value, max.value),
                        )
                        .label("minimum")
                        .with_secondary(max.span.clone(), "maximum")
                        .help("swap them, or fix one of the bounds"),
                    );
                }
            }
            if let Some(pattern) = &p.pattern {
                if !matches!(item, TypeExpr::String) {
                    constraints_ok = false;
                    out.push(
                        Diagnostic::error(
                            Code::InvalidConstraint,
                            pattern.span.clone(),
                            format!("`pattern` does not apply to {a} `{ty}` parameter"),
                        )
                        .label("pattern needs a string")
                        .help("remove `pattern`, or declare the parameter as `string`"),
                    );
                } else if let Err(e) = regex::Regex::new(&pattern.value) {
                    constraints_ok = false;
                    let msg = e.to_string();
                    let last = msg
                        .lines()
                        .last()
                        .unwrap_or("")
                        .trim()
                        .trim_start_matches("error: ")
                        .to_string();
                    out.push(
                        Diagnostic::error(
                            Code::InvalidConstraint,
                            pattern.span.clone(),
                            format!("invalid regular expression: {last}"),
                        )
                        .label("invalid pattern")
                        .help("patterns use Rust regex syntax and must match the whole value"),
                    );
                }
            }
            let mut enum_ok = true;
            if let Some(values) = &p.enum_values {
                if values.value.is_empty() {
                    enum_ok = false;
                    out.push(
                        Diagnostic::error(
                            Code::InvalidEnumValue,
                            values.span.clone(),
                            "`enum` lists no values",
                        )
                        .label("empty")
                        .help("list the allowed values, or remove `enum`"),
                    );
                }
                for v in &values.value {
                    if let Err(e) = coerce(item, &node_to_json(v)) {
                        enum_ok = false;
                        out.push(
                            Diagnostic::error(
                                Code::InvalidEnumValue,
                                v.span.clone(),
                                format!(
                                    "enum value of parameter `{name}` is not {an_item} `{item}`: {e}"),
                            )
                            .label(format!("not {an_item} {item}"))
                            .help(format!("every value in `enum` must be {an_item} `{item}`")),
                        );
                    }
                }
            }
            if let Some(d) = &p.default {
                // constraints that are themselves wrong are reported above, not applied
                let c = if constraints_ok && enum_ok {
                    constraints_of(p)
                } else {
                    Constraints::default()
                };
                match validate(ty, &c, &node_to_json(d)) {
                    Ok(_) => {}
                    Err(Invalid::Type(e)) => out.push(
                        Diagnostic::error(
                            Code::InvalidDefault,
                            d.span.clone(),
                            format!("default of parameter `{name}` is not {a} `{ty}`: {e}"),
                        )
                        .label(format!("not {a} {ty}"))
                        .help(format!(
                            "give {a} `{ty}` default, or change the parameter's type"
                        )),
                    ),
                    Err(Invalid::Constraint(e)) => out.push(
                        Diagnostic::error(
                            Code::InvalidDefault,
                            d.span.clone(),
                            format!("default of parameter `{name}` breaks its constraints: {e}"),
                        )
                        .label("breaks a constraint")
                        .help("choose a default the parameter's own constraints allow"),
                    ),
                }
                if let Some(r) = &p.required {
                    if r.value {
                        out.push(
                            Diagnostic::error(Code::InvalidConstraint, r.span.clone(), format!("parameter `{name}` is `required: true` but has a default"))
                                .label("required")
                                .with_secondary(d.span.clone(), "default")
                                .help("a default makes the parameter optional: remove `required: true` or the default"),
                        );
                    }
                }
            }
        }
    }
}
