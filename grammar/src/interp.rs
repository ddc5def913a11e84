//! String interpolation: `${VAR}`, `${VAR:-default}`, `${secret:NAME}`.

use std::ops::Range;

use pest::iterators::Pair;
use pest::Parser;

use crate::error::{char_at, show_char, Failure, GrammarError};
use crate::parser::{ExprParser, Rule};

/// A parsed interpolated string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The pieces in source order. Adjacent literal text (including escaped
    /// `$${`) is merged into one [`Part::Literal`].
    pub parts: Vec<Part>,
}

/// One piece of a [`Template`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Plain text. `text` is the rendered text (`$${` becomes `${`); `span`
    /// covers the source bytes.
    Literal { text: String, span: Range<usize> },
    /// `${NAME}` or `${NAME:-default}`. `span` covers the whole `${...}`;
    /// `default` is `Some("")` for `${NAME:-}`.
    Env {
        name: String,
        default: Option<String>,
        span: Range<usize>,
        name_span: Range<usize>,
    },
    /// `${secret:NAME}`. `span` covers the whole `${...}`.
    Secret {
        name: String,
        span: Range<usize>,
        name_span: Range<usize>,
    },
}

impl Part {
    /// The source span of this part.
    pub fn span(&self) -> Range<usize> {
        match self {
            Part::Literal { span, .. } | Part::Env { span, .. } | Part::Secret { span, .. } => {
                span.clone()
            }
        }
    }
}

impl Template {
    /// True when the template has no `${...}` references (escapes allowed).
    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Literal { .. }))
    }
}

/// Parses an interpolated string.
///
/// A `$` that is not followed by `{` is literal text, and `$${` is an escaped
/// literal `${`.
pub fn parse_template(input: &str) -> Result<Template, GrammarError> {
    let mut pairs = ExprParser::parse(Rule::template, input)
        .map_err(|e| template_error(input, &Failure::from_pest(input, &e)))?;
    let root = pairs
        .next()
        .ok_or_else(|| GrammarError::internal(0..input.len()))?;
    let mut parts: Vec<Part> = Vec::new();
    for pair in root.into_inner() {
        let span = pair.as_span().start()..pair.as_span().end();
        match pair.as_rule() {
            Rule::tpl_literal => push_literal(&mut parts, pair.as_str(), span),
            Rule::tpl_escape => push_literal(&mut parts, "${", span),
            Rule::tpl_env => parts.push(env_part(pair, span)?),
            Rule::tpl_secret => parts.push(secret_part(pair, span)?),
            Rule::EOI => {}
            _ => return Err(GrammarError::internal(span)),
        }
    }
    Ok(Template { parts })
}

fn push_literal(parts: &mut Vec<Part>, text: &str, span: Range<usize>) {
    if let Some(Part::Literal {
        text: prev,
        span: prev_span,
    }) = parts.last_mut()
    {
        if prev_span.end == span.start {
            prev.push_str(text);
            prev_span.end = span.end;
            return;
        }
    }
    parts.push(Part::Literal {
        text: text.to_string(),
        span,
    });
}

fn env_part(pair: Pair<'_, Rule>, span: Range<usize>) -> Result<Part, GrammarError> {
    let mut name = None;
    let mut default = None;
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::env_name => {
                let s = inner.as_span();
                name = Some((inner.as_str().to_string(), s.start()..s.end()));
            }
            Rule::default_sep => default = Some(String::new()),
            Rule::env_default => default = Some(inner.as_str().to_string()),
            _ => {}
        }
    }
    let (name, name_span) = name.ok_or_else(|| GrammarError::internal(span.clone()))?;
    Ok(Part::Env {
        name,
        default,
        span,
        name_span,
    })
}

fn secret_part(pair: Pair<'_, Rule>, span: Range<usize>) -> Result<Part, GrammarError> {
    let name = pair
        .into_inner()
        .find(|p| p.as_rule() == Rule::secret_name)
        .ok_or_else(|| GrammarError::internal(span.clone()))?;
    let name_span = name.as_span().start()..name.as_span().end();
    Ok(Part::Secret {
        name: name.as_str().to_string(),
        span,
        name_span,
    })
}

const ESCAPE_HELP: &str = "write `$${` for a literal `${`";

fn template_error(input: &str, f: &Failure) -> GrammarError {
    let ch = char_at(input, f.pos);
    let Some(c) = ch else {
        return GrammarError::at(input, f.pos, "expected `}` to close `${`")
            .with_help(format!("add `}}` at the end, or {ESCAPE_HELP}"));
    };
    if f.expects(Rule::secret_name) {
        if c == '}' {
            return GrammarError::at(input, f.pos, "expected a secret name after `${secret:`")
                .with_help("write `${secret:NAME}`");
        }
        return GrammarError::at(
            input,
            f.pos,
            format!(
                "invalid character {} at the start of a secret name",
                show_char(c)
            ),
        )
        .with_help("secret names start with a letter or `_`");
    }
    if f.expects(Rule::env_name) {
        if c == '}' {
            return GrammarError::at(input, f.pos, "empty name in `${}`")
                .with_help(format!("write `${{NAME}}`, or {ESCAPE_HELP}"));
        }
        return GrammarError::at(
            input,
            f.pos,
            format!(
                "invalid character {} at the start of a variable name",
                show_char(c)
            ),
        )
        .with_help(format!(
            "variable names start with a letter or `_`; {ESCAPE_HELP}"
        ));
    }
    if f.expects(Rule::secret_end) {
        return GrammarError::at(
            input,
            f.pos,
            format!("invalid character {} in secret name", show_char(c)),
        )
        .with_help("secret names may contain letters, digits, `_`, `-` and `.`; close with `}`");
    }
    if f.expects_any(&[Rule::env_end, Rule::default_sep]) {
        let help = if c == ':' {
            "use `${NAME:-default}` to give a default value".to_string()
        } else {
            "variable names may contain letters, digits and `_`; close with `}`".to_string()
        };
        return GrammarError::at(
            input,
            f.pos,
            format!("invalid character {} in variable name", show_char(c)),
        )
        .with_help(help);
    }
    f.generic(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(text: &str, span: Range<usize>) -> Part {
        Part::Literal {
            text: text.to_string(),
            span,
        }
    }

    #[test]
    fn plain_text_is_one_literal() {
        let t = parse_template("hello").unwrap();
        assert_eq!(t.parts, vec![lit("hello", 0..5)]);
        assert!(t.is_literal());
    }

    #[test]
    fn empty_input_has_no_parts() {
        let t = parse_template("").unwrap();
        assert!(t.parts.is_empty());
        assert!(t.is_literal());
    }

    #[test]
    fn env_with_and_without_default() {
        let t = parse_template("${A}${B:-x y}${C:-}").unwrap();
        assert_eq!(
            t.parts,
            vec![
                Part::Env {
                    name: "A".into(),
                    default: None,
                    span: 0..4,
                    name_span: 2..3
                },
                Part::Env {
                    name: "B".into(),
                    default: Some("x y".into()),
                    span: 4..13,
                    name_span: 6..7
                },
                Part::Env {
                    name: "C".into(),
                    default: Some(String::new()),
                    span: 13..19,
                    name_span: 15..16
                },
            ]
        );
        assert!(!t.is_literal());
    }

    #[test]
    fn secret_names_allow_dash_and_dot() {
        let t = parse_template("${secret:db-pass.v2}").unwrap();
        assert_eq!(
            t.parts,
            vec![Part::Secret {
                name: "db-pass.v2".into(),
                span: 0..20,
                name_span: 9..19
            }]
        );
    }

    #[test]
    fn secret_dash_default_is_an_env_var() {
        let t = parse_template("${secret:-x}").unwrap();
        assert_eq!(
            t.parts,
            vec![Part::Env {
                name: "secret".into(),
                default: Some("x".into()),
                span: 0..12,
                name_span: 2..8
            }]
        );
    }

    #[test]
    fn dollar_without_brace_is_literal() {
        let t = parse_template("a $ b $region $$x $").unwrap();
        assert_eq!(t.parts, vec![lit("a $ b $region $$x $", 0..19)]);
    }

    #[test]
    fn escape_merges_into_literal() {
        let t = parse_template("x$${Y}z").unwrap();
        assert_eq!(t.parts, vec![lit("x${Y}z", 0..7)]);
        assert!(t.is_literal());
    }

    #[test]
    fn errors() {
        let e = parse_template("ab ${X").unwrap_err();
        assert_eq!(e.span, 6..6);
        assert!(e.message.contains("expected `}` to close `${`"), "{e:?}");

        let e = parse_template("${}").unwrap_err();
        assert_eq!(e.span, 2..3);
        assert!(e.message.contains("empty name"), "{e:?}");

        let e = parse_template("${A-B}").unwrap_err();
        assert_eq!(e.span, 3..4);
        assert!(e.message.contains("invalid character `-`"), "{e:?}");

        let e = parse_template("${secret:}").unwrap_err();
        assert_eq!(e.span, 9..10);
        assert!(e.message.contains("secret name"), "{e:?}");

        let e = parse_template("${1X}").unwrap_err();
        assert_eq!(e.span, 2..3);
        assert!(e.message.contains("start of a variable name"), "{e:?}");
    }
}
