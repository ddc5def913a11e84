//! The single error type of this crate and the conversion from pest errors.

use std::ops::Range;

use crate::parser::Rule;

/// A parse error with a human message and a byte span.
///
/// The span is relative to the string that was passed to the parse function.
/// Errors that point at a position (rather than a token) carry a span covering
/// the character at that position, or an empty span at the end of the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct GrammarError {
    /// Human-readable description, e.g. "expected `}` to close `${`".
    pub message: String,
    /// Byte range in the parsed input.
    pub span: Range<usize>,
    /// Optional hint on how to fix the problem.
    pub help: Option<String>,
}

impl GrammarError {
    /// Creates an error without help text.
    pub fn new(message: impl Into<String>, span: Range<usize>) -> Self {
        GrammarError {
            message: message.into(),
            span,
            help: None,
        }
    }

    /// Attaches help text.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// An error pointing at byte position `pos` of `input`.
    pub(crate) fn at(input: &str, pos: usize, message: impl Into<String>) -> Self {
        GrammarError::new(message, point_span(input, pos))
    }

    /// Fallback for parse-tree shapes the grammar should make impossible.
    pub(crate) fn internal(span: Range<usize>) -> Self {
        GrammarError::new("internal error: unexpected parse tree shape", span)
    }
}

/// The span of the character at `pos`, or an empty span at the end of input.
pub(crate) fn point_span(input: &str, pos: usize) -> Range<usize> {
    let pos = pos.min(input.len());
    match char_at(input, pos) {
        Some(c) => pos..pos + c.len_utf8(),
        None => pos..pos,
    }
}

/// The character starting at byte `pos`, if any.
pub(crate) fn char_at(input: &str, pos: usize) -> Option<char> {
    input.get(pos..).and_then(|rest| rest.chars().next())
}

/// Renders a character for use inside a message: `x`, or a description for
/// invisible characters.
pub(crate) fn show_char(c: char) -> String {
    match c {
        ' ' => "` ` (space)".to_string(),
        '\t' => "a tab".to_string(),
        '\n' | '\r' => "a line break".to_string(),
        '`' => "'`'".to_string(),
        c if c.is_control() => format!("control character U+{:04X}", c as u32),
        c => format!("`{c}`"),
    }
}

/// What pest reported: the furthest position it reached and what it expected
/// there.
#[derive(Debug)]
pub(crate) struct Failure {
    pub pos: usize,
    pub expected: Vec<Rule>,
}

impl Failure {
    pub fn from_pest(input: &str, err: &pest::error::Error<Rule>) -> Self {
        let pos = match err.location {
            pest::error::InputLocation::Pos(p) => p,
            pest::error::InputLocation::Span((s, _)) => s,
        };
        let expected = match &err.variant {
            pest::error::ErrorVariant::ParsingError { positives, .. } => positives.clone(),
            pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
        };
        Failure {
            pos: pos.min(input.len()),
            expected,
        }
    }

    pub fn expects(&self, rule: Rule) -> bool {
        self.expected.contains(&rule)
    }

    pub fn expects_any(&self, rules: &[Rule]) -> bool {
        rules.iter().any(|r| self.expects(*r))
    }

    /// A generic message built from friendly rule names.
    pub fn generic(&self, input: &str) -> GrammarError {
        let mut names: Vec<&'static str> = Vec::new();
        for rule in &self.expected {
            let name = friendly_name(*rule);
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let found = match char_at(input, self.pos) {
            Some(c) => format!("found {}", show_char(c)),
            None => "reached the end of the input".to_string(),
        };
        let message = match names.as_slice() {
            [] => format!("unexpected input: {found}"),
            [one] => format!("expected {one}, {found}"),
            [init @ .., last] => format!("expected {} or {last}, {found}", init.join(", ")),
        };
        GrammarError::at(input, self.pos, message)
    }
}

/// Human wording for grammar rules (never the rule identifier).
pub(crate) fn friendly_name(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "the end of the input",
        Rule::ws => "whitespace",
        Rule::template | Rule::tpl_part | Rule::tpl_literal => "text",
        Rule::tpl_escape => "`$${`",
        Rule::tpl_secret => "`${secret:NAME}`",
        Rule::tpl_env | Rule::interp_open => "`${`",
        Rule::secret_kw => "`secret:`",
        Rule::secret_name => "a secret name",
        Rule::secret_end | Rule::env_end => "`}`",
        Rule::env_name => "a variable name",
        Rule::default_sep => "`:-`",
        Rule::env_default => "a default value",
        Rule::type_expr | Rule::scalar_type | Rule::type_name => {
            "a type such as `string` or `list<integer>`"
        }
        Rule::list_open => "`list<`",
        Rule::list_close => "`>`",
        Rule::type_args | Rule::paren_open => "`(`",
        Rule::type_arg => "a number",
        Rule::paren_close => "`)`",
        Rule::comma => "`,`",
        Rule::duration | Rule::dur_component => "a duration such as `30s`",
        Rule::dur_amount => "a number",
        Rule::dur_unit => "a unit (`ms`, `s`, `m`, `h`, `d` or `w`)",
        Rule::selector | Rule::sel_root => "`$`",
        Rule::sel_step => "a selector step",
        Rule::sel_descend | Rule::sel_dotdot => "`..`",
        Rule::sel_dot | Rule::sel_dot_tok => "`.`",
        Rule::sel_bracket | Rule::sel_quoted_bracket | Rule::sel_open => "`[`",
        Rule::sel_close => "`]`",
        Rule::sel_star => "`*`",
        Rule::sel_index => "an index",
        Rule::sel_ident => "a field name",
        Rule::sel_quoted | Rule::sel_sq | Rule::sel_dq => "a quoted name",
        Rule::sel_sq_text | Rule::sel_dq_text => "quoted text",
        Rule::sel_sq_end => "`'`",
        Rule::sel_dq_end => "`\"`",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_span_covers_one_char_or_is_empty_at_end() {
        assert_eq!(point_span("abc", 1), 1..2);
        assert_eq!(point_span("abc", 3), 3..3);
        assert_eq!(point_span("aé", 1), 1..3);
        assert_eq!(point_span("abc", 99), 3..3);
    }

    #[test]
    fn display_is_the_message() {
        let e = GrammarError::new("boom", 0..1).with_help("fix it");
        assert_eq!(e.to_string(), "boom");
        assert_eq!(e.help.as_deref(), Some("fix it"));
    }

    #[test]
    fn show_char_describes_invisible_chars() {
        assert_eq!(show_char('x'), "`x`");
        assert_eq!(show_char(' '), "` ` (space)");
        assert_eq!(show_char('\n'), "a line break");
    }
}
