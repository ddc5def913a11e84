//! Row selectors: a JSONPath subset such as `$.data.items[*]`.

use std::fmt;
use std::ops::Range;

use pest::iterators::Pair;
use pest::Parser;

use crate::error::{char_at, show_char, Failure, GrammarError};
use crate::parser::{ExprParser, Rule};

/// A parsed selector: `$` followed by steps.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Selector {
    pub steps: Vec<Step>,
}

/// One selector step.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Step {
    /// `.name`, `['name']` or `["name"]`.
    Field(String),
    /// `[N]`; negative indexes count from the end.
    Index(i64),
    /// `[*]` or `.*`: every array item or object value.
    Wildcard,
    /// `..name` (or `..['name']`): recursive descent.
    Descend(String),
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for step in &self.steps {
            write!(f, "{step}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Field(name) if is_ident(name) => write!(f, ".{name}"),
            Step::Field(name) => write_quoted(f, name),
            Step::Index(i) => write!(f, "[{i}]"),
            Step::Wildcard => f.write_str("[*]"),
            Step::Descend(name) if is_ident(name) => write!(f, "..{name}"),
            Step::Descend(name) => {
                f.write_str("..")?;
                write_quoted(f, name)
            }
        }
    }
}

fn write_quoted(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    f.write_str("['")?;
    for c in name.chars() {
        if c == '\'' || c == '\\' {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("']")
}

/// Whether `name` can be written as `.name`.
fn is_ident(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Parses a row selector such as `$.data.items[*]` or `$['a b'][0]`.
///
/// Whitespace is only allowed inside quoted names.
pub fn parse_selector(input: &str) -> Result<Selector, GrammarError> {
    let mut pairs = ExprParser::parse(Rule::selector, input)
        .map_err(|e| selector_error(input, &Failure::from_pest(input, &e)))?;
    let root = pairs
        .next()
        .ok_or_else(|| GrammarError::internal(0..input.len()))?;
    let mut steps = Vec::new();
    for pair in root.into_inner() {
        let span = span_of(&pair);
        match pair.as_rule() {
            Rule::sel_root | Rule::EOI => {}
            Rule::sel_descend => {
                let name = pair
                    .into_inner()
                    .find_map(|p| match p.as_rule() {
                        Rule::sel_ident => Some(Ok(p.as_str().to_string())),
                        Rule::sel_quoted_bracket => Some(quoted_in(p)),
                        _ => None,
                    })
                    .ok_or_else(|| GrammarError::internal(span.clone()))??;
                steps.push(Step::Descend(name));
            }
            Rule::sel_dot | Rule::sel_bracket => {
                let step = pair
                    .into_inner()
                    .find_map(|p| match p.as_rule() {
                        Rule::sel_star => Some(Ok(Step::Wildcard)),
                        Rule::sel_ident => Some(Ok(Step::Field(p.as_str().to_string()))),
                        Rule::sel_quoted => Some(unquote(p).map(Step::Field)),
                        Rule::sel_index => Some(index(&p)),
                        _ => None,
                    })
                    .ok_or_else(|| GrammarError::internal(span.clone()))??;
                steps.push(step);
            }
            _ => return Err(GrammarError::internal(span)),
        }
    }
    Ok(Selector { steps })
}

fn span_of(pair: &Pair<'_, Rule>) -> Range<usize> {
    pair.as_span().start()..pair.as_span().end()
}

fn index(pair: &Pair<'_, Rule>) -> Result<Step, GrammarError> {
    pair.as_str().parse::<i64>().map(Step::Index).map_err(|_| {
        GrammarError::new(
            format!("index `{}` is out of range", pair.as_str()),
            span_of(pair),
        )
    })
}

/// The unescaped name of the `sel_quoted` inside a `sel_quoted_bracket`.
fn quoted_in(pair: Pair<'_, Rule>) -> Result<String, GrammarError> {
    let span = span_of(&pair);
    match pair.into_inner().find(|p| p.as_rule() == Rule::sel_quoted) {
        Some(q) => unquote(q),
        None => Err(GrammarError::internal(span)),
    }
}

/// Unescapes a `sel_quoted` pair (`\'`, `\"`, `\\`).
fn unquote(pair: Pair<'_, Rule>) -> Result<String, GrammarError> {
    let span = span_of(&pair);
    let text = pair
        .into_inner()
        .flat_map(|p| p.into_inner())
        .find(|p| matches!(p.as_rule(), Rule::sel_sq_text | Rule::sel_dq_text))
        .map(|p| p.as_str())
        .unwrap_or("");
    if span.len() < 2 {
        return Err(GrammarError::internal(span));
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            // The grammar only admits `\'`, `\"` and `\\`.
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

const STEPS_HELP: &str =
    "steps look like `.name`, `['any name']`, `[0]`, `[-1]`, `[*]`, `.*` or `..name`";

fn selector_error(input: &str, f: &Failure) -> GrammarError {
    let ch = char_at(input, f.pos);
    let found = ch.map_or_else(|| "the end of the input".to_string(), show_char);
    if f.expects_any(&[Rule::selector, Rule::sel_root]) {
        return GrammarError::at(input, f.pos, "a selector must start with `$`")
            .with_help("e.g. `$.data.items[*]`");
    }
    if f.expects(Rule::sel_ident) {
        let after_dotdot = input.get(..f.pos).is_some_and(|b| b.ends_with(".."));
        let message = if after_dotdot {
            format!("expected a field name after `..`, found {found}")
        } else {
            format!("expected a field name or `*` after `.`, found {found}")
        };
        return GrammarError::at(input, f.pos, message).with_help(
            "field names start with a letter or `_`; use `['...']` for other names or `[0]` for indexes",
        );
    }
    if f.expects_any(&[Rule::sel_index, Rule::sel_quoted, Rule::sel_star]) {
        return GrammarError::at(
            input,
            f.pos,
            format!("expected an index, `*` or a quoted name after `[`, found {found}"),
        )
        .with_help(STEPS_HELP);
    }
    if f.expects_any(&[Rule::sel_sq_end, Rule::sel_dq_end]) {
        let quote = if f.expects(Rule::sel_sq_end) {
            '\''
        } else {
            '"'
        };
        return match ch {
            Some('\\') => {
                let next_len = char_at(input, f.pos + 1).map_or(0, char::len_utf8);
                GrammarError::new(
                    "unknown escape sequence in quoted name",
                    f.pos..f.pos + 1 + next_len,
                )
                .with_help("only `\\'`, `\\\"` and `\\\\` are allowed")
            }
            _ => GrammarError::at(
                input,
                f.pos,
                format!("expected `{quote}` to close the quoted name"),
            ),
        };
    }
    if f.expects(Rule::sel_close) {
        return GrammarError::at(input, f.pos, format!("expected `]`, found {found}"));
    }
    match ch {
        Some(c) if c.is_whitespace() => {
            GrammarError::at(input, f.pos, "whitespace is not allowed in a selector")
                .with_help("whitespace is only allowed inside quoted names, e.g. `['a b']`")
        }
        Some(c) => GrammarError::at(
            input,
            f.pos,
            format!("unexpected {} in selector", show_char(c)),
        )
        .with_help(STEPS_HELP),
        None => f.generic(input),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(s: &str) -> Step {
        Step::Field(s.to_string())
    }

    #[test]
    fn parses_steps() {
        let s = parse_selector("$.data.items[*]").unwrap();
        assert_eq!(s.steps, vec![field("data"), field("items"), Step::Wildcard]);
        let s = parse_selector("$['a b'][0][-1].*..id").unwrap();
        assert_eq!(
            s.steps,
            vec![
                field("a b"),
                Step::Index(0),
                Step::Index(-1),
                Step::Wildcard,
                Step::Descend("id".into())
            ]
        );
        assert!(parse_selector("$").unwrap().steps.is_empty());
    }

    #[test]
    fn escapes() {
        let s = parse_selector(r#"$['it\'s']["say \"hi\""]['back\\slash']"#).unwrap();
        assert_eq!(
            s.steps,
            vec![field("it's"), field("say \"hi\""), field("back\\slash")]
        );
        assert_eq!(s.to_string(), r#"$['it\'s']['say "hi"']['back\\slash']"#);
    }

    #[test]
    fn display_round_trips() {
        for src in [
            "$.data.items[*]",
            "$['a b'][0]",
            "$..name",
            "$..['x y'][-3]",
            "$",
        ] {
            let s = parse_selector(src).unwrap();
            assert_eq!(s.to_string(), src);
            assert_eq!(parse_selector(&s.to_string()).unwrap(), s);
        }
    }

    #[test]
    fn errors() {
        let e = parse_selector("data").unwrap_err();
        assert_eq!(e.span, 0..1);
        assert!(e.message.contains("must start with `$`"));

        let e = parse_selector("$.").unwrap_err();
        assert_eq!(e.span, 2..2);

        let e = parse_selector("$[0").unwrap_err();
        assert_eq!(e.span, 3..3);
        assert!(e.message.contains("expected `]`"), "{e:?}");

        let e = parse_selector("$.a b").unwrap_err();
        assert_eq!(e.span, 3..4);
    }
}
