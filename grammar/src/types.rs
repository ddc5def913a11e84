//! Parameter and column types: `string`, `decimal(10, 2)`, `list<integer>`.

use std::fmt;
use std::ops::Range;

use pest::iterators::Pair;
use pest::Parser;

use crate::error::{char_at, show_char, Failure, GrammarError};
use crate::parser::{ExprParser, Rule};

/// Maximum number of nested `list<...>` levels accepted by [`parse_type`].
pub const MAX_TYPE_NESTING: usize = 32;

/// A parameter or column type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TypeExpr {
    String,
    Integer,
    Number,
    Boolean,
    Date,
    Timestamp,
    Int8,
    Int16,
    Int32,
    Int64,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Float32,
    Float64,
    /// `decimal(precision, scale)`; precision 1..=76, scale <= precision.
    Decimal {
        precision: u8,
        scale: i8,
    },
    Json,
    Uuid,
    Binary,
    Time,
    Interval,
    List(Box<TypeExpr>),
}

impl TypeExpr {
    /// True for the types a query parameter may have: `string`, `integer`,
    /// `number`, `boolean`, `date`, `timestamp`, and `list<T>` of one of
    /// those (lists of lists are not parameter types).
    pub fn is_parameter_type(&self) -> bool {
        match self {
            TypeExpr::List(inner) => inner.is_scalar_parameter_type(),
            other => other.is_scalar_parameter_type(),
        }
    }

    fn is_scalar_parameter_type(&self) -> bool {
        matches!(
            self,
            TypeExpr::String
                | TypeExpr::Integer
                | TypeExpr::Number
                | TypeExpr::Boolean
                | TypeExpr::Date
                | TypeExpr::Timestamp
        )
    }

    fn scalar_name(&self) -> &'static str {
        match self {
            TypeExpr::String => "string",
            TypeExpr::Integer => "integer",
            TypeExpr::Number => "number",
            TypeExpr::Boolean => "boolean",
            TypeExpr::Date => "date",
            TypeExpr::Timestamp => "timestamp",
            TypeExpr::Int8 => "int8",
            TypeExpr::Int16 => "int16",
            TypeExpr::Int32 => "int32",
            TypeExpr::Int64 => "int64",
            TypeExpr::UInt8 => "uint8",
            TypeExpr::UInt16 => "uint16",
            TypeExpr::UInt32 => "uint32",
            TypeExpr::UInt64 => "uint64",
            TypeExpr::Float32 => "float32",
            TypeExpr::Float64 => "float64",
            TypeExpr::Decimal { .. } => "decimal",
            TypeExpr::Json => "json",
            TypeExpr::Uuid => "uuid",
            TypeExpr::Binary => "binary",
            TypeExpr::Time => "time",
            TypeExpr::Interval => "interval",
            TypeExpr::List(_) => "list",
        }
    }
}

impl fmt::Display for TypeExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Iterative over list nesting so arbitrarily deep values render safely.
        let mut depth = 0usize;
        let mut cur = self;
        while let TypeExpr::List(inner) = cur {
            f.write_str("list<")?;
            depth += 1;
            cur = inner;
        }
        match cur {
            TypeExpr::Decimal { precision, scale } => write!(f, "decimal({precision}, {scale})")?,
            other => f.write_str(other.scalar_name())?,
        }
        for _ in 0..depth {
            f.write_str(">")?;
        }
        Ok(())
    }
}

/// The span of a `(...)` argument list and each argument with its span.
type TypeArgs = (Range<usize>, Vec<(String, Range<usize>)>);

/// Spelling → type. `None` marks `decimal`, which needs arguments.
const KNOWN: &[(&str, Option<TypeExpr>)] = &[
    ("string", Some(TypeExpr::String)),
    ("integer", Some(TypeExpr::Integer)),
    ("number", Some(TypeExpr::Number)),
    ("boolean", Some(TypeExpr::Boolean)),
    ("date", Some(TypeExpr::Date)),
    ("timestamp", Some(TypeExpr::Timestamp)),
    ("int8", Some(TypeExpr::Int8)),
    ("int16", Some(TypeExpr::Int16)),
    ("int32", Some(TypeExpr::Int32)),
    ("int64", Some(TypeExpr::Int64)),
    ("uint8", Some(TypeExpr::UInt8)),
    ("uint16", Some(TypeExpr::UInt16)),
    ("uint32", Some(TypeExpr::UInt32)),
    ("uint64", Some(TypeExpr::UInt64)),
    ("float32", Some(TypeExpr::Float32)),
    ("float64", Some(TypeExpr::Float64)),
    ("decimal", None),
    ("json", Some(TypeExpr::Json)),
    ("uuid", Some(TypeExpr::Uuid)),
    ("binary", Some(TypeExpr::Binary)),
    ("time", Some(TypeExpr::Time)),
    ("interval", Some(TypeExpr::Interval)),
    // aliases
    ("text", Some(TypeExpr::String)),
    ("int", Some(TypeExpr::Integer)),
    ("bigint", Some(TypeExpr::Integer)),
    ("float", Some(TypeExpr::Number)),
    ("double", Some(TypeExpr::Number)),
    ("bool", Some(TypeExpr::Boolean)),
    ("datetime", Some(TypeExpr::Timestamp)),
];

const PARAMETER_TYPES_HELP: &str =
    "parameter types are `string`, `integer`, `number`, `boolean`, `date`, `timestamp` and `list<T>` of those";

const EXPECTED_TYPE: &str = "expected a type such as `string` or `list<integer>`";

/// Parses a type such as `string`, `decimal(10, 2)` or `list<list<integer>>`.
///
/// Keywords are case-insensitive and surrounding whitespace is allowed.
/// Nesting deeper than [`MAX_TYPE_NESTING`] is rejected.
pub fn parse_type(input: &str) -> Result<TypeExpr, GrammarError> {
    let mut pairs = ExprParser::parse(Rule::type_expr, input)
        .map_err(|e| type_error(input, &Failure::from_pest(input, &e)))?;
    let root = pairs
        .next()
        .ok_or_else(|| GrammarError::internal(0..input.len()))?;

    let mut opens: Vec<Range<usize>> = Vec::new();
    let mut closes: Vec<Range<usize>> = Vec::new();
    let mut scalar = None;
    for pair in root.into_inner() {
        let span = span_of(&pair);
        match pair.as_rule() {
            Rule::list_open => opens.push(span),
            Rule::list_close => closes.push(span),
            Rule::scalar_type => scalar = Some(pair),
            _ => {}
        }
    }
    if let Some(too_deep) = opens.get(MAX_TYPE_NESTING) {
        return Err(GrammarError::new(
            format!("type is nested too deeply (at most {MAX_TYPE_NESTING} levels of `list<...>`)"),
            too_deep.clone(),
        ));
    }
    let scalar = scalar.ok_or_else(|| GrammarError::internal(0..input.len()))?;
    let scalar_end = scalar.as_span().end();
    if let Some(extra) = closes.get(opens.len()) {
        return Err(GrammarError::new(
            "unexpected `>`: there is no `list<` left to close",
            extra.clone(),
        )
        .with_help("remove the extra `>`"));
    }
    if closes.len() < opens.len() {
        let pos = closes.last().map_or(scalar_end, |c| c.end);
        return Err(GrammarError::at(
            input,
            pos,
            "expected `>` to close `list<`",
        ));
    }

    let mut ty = scalar_type(scalar)?;
    for _ in 0..opens.len() {
        ty = TypeExpr::List(Box::new(ty));
    }
    Ok(ty)
}

fn span_of(pair: &Pair<'_, Rule>) -> Range<usize> {
    pair.as_span().start()..pair.as_span().end()
}

fn scalar_type(pair: Pair<'_, Rule>) -> Result<TypeExpr, GrammarError> {
    let whole = span_of(&pair);
    let mut name = None;
    let mut args: Option<TypeArgs> = None;
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::type_name => name = Some((inner.as_str().to_string(), span_of(&inner))),
            Rule::type_args => {
                let span = span_of(&inner);
                let list = inner
                    .into_inner()
                    .filter(|p| p.as_rule() == Rule::type_arg)
                    .map(|p| (p.as_str().to_string(), span_of(&p)))
                    .collect();
                args = Some((span, list));
            }
            _ => {}
        }
    }
    let (name, name_span) = name.ok_or_else(|| GrammarError::internal(whole))?;
    let lower = name.to_ascii_lowercase();

    if lower == "list" {
        return Err(GrammarError::new("`list` needs an element type", name_span)
            .with_help("write e.g. `list<string>`"));
    }
    let Some((_, known)) = KNOWN.iter().find(|(n, _)| *n == lower) else {
        let help = match suggest(&lower) {
            Some(s) => format!("did you mean `{s}`?"),
            None => PARAMETER_TYPES_HELP.to_string(),
        };
        return Err(GrammarError::new(format!("unknown type `{name}`"), name_span).with_help(help));
    };

    match known {
        Some(ty) => {
            if let Some((span, _)) = args {
                return Err(GrammarError::new(
                    format!("type `{}` does not take arguments", ty.scalar_name()),
                    span,
                )
                .with_help(format!("write just `{}`", ty.scalar_name())));
            }
            Ok(ty.clone())
        }
        None => decimal(name_span, args),
    }
}

fn decimal(name_span: Range<usize>, args: Option<TypeArgs>) -> Result<TypeExpr, GrammarError> {
    const HELP: &str = "write e.g. `decimal(10, 2)`";
    let Some((args_span, args)) = args else {
        return Err(
            GrammarError::new("`decimal` needs a precision and a scale", name_span).with_help(HELP),
        );
    };
    let [(p, p_span), (s, s_span)] = args.as_slice() else {
        return Err(GrammarError::new(
            format!(
                "`decimal` takes exactly 2 arguments (precision and scale), found {}",
                args.len()
            ),
            args_span,
        )
        .with_help(HELP));
    };
    let precision = match p.parse::<i64>() {
        Ok(v) if (1..=76).contains(&v) => v,
        _ => {
            return Err(GrammarError::new(
                format!("decimal precision must be between 1 and 76, found `{p}`"),
                p_span.clone(),
            ))
        }
    };
    let scale = match s.parse::<i64>() {
        Ok(v) if (i64::from(i8::MIN)..=precision).contains(&v) => v,
        Ok(v) if v > precision => {
            return Err(GrammarError::new(
                format!(
                "decimal scale must not be greater than the precision ({precision}), found `{s}`"
            ),
                s_span.clone(),
            ))
        }
        _ => {
            return Err(GrammarError::new(
                format!(
                "decimal scale must be between -128 and the precision ({precision}), found `{s}`"
            ),
                s_span.clone(),
            ))
        }
    };
    match (u8::try_from(precision), i8::try_from(scale)) {
        (Ok(precision), Ok(scale)) => Ok(TypeExpr::Decimal { precision, scale }),
        _ => Err(GrammarError::internal(args_span)),
    }
}

/// The closest known type name within edit distance 2, if any.
fn suggest(name: &str) -> Option<&'static str> {
    let mut best: Option<(usize, &'static str)> = None;
    for (known, _) in KNOWN.iter().chain([("list", None)].iter()) {
        if name.len().abs_diff(known.len()) > 2 {
            continue;
        }
        let d = levenshtein(name, known);
        if d <= 2 && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, known));
        }
    }
    best.map(|(_, n)| n)
}

/// Classic Levenshtein distance over chars (two-row dynamic programming).
pub(crate) fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

fn type_error(input: &str, f: &Failure) -> GrammarError {
    let ch = char_at(input, f.pos);
    if f.expects_any(&[
        Rule::type_expr,
        Rule::scalar_type,
        Rule::type_name,
        Rule::list_open,
    ]) {
        return GrammarError::at(input, f.pos, EXPECTED_TYPE).with_help(PARAMETER_TYPES_HELP);
    }
    if f.expects(Rule::type_arg) {
        return GrammarError::at(input, f.pos, "expected a number in the type arguments")
            .with_help("write e.g. `decimal(10, 2)`");
    }
    if f.expects_any(&[Rule::paren_close, Rule::comma]) {
        return GrammarError::at(input, f.pos, "expected `)` to close the type arguments")
            .with_help("write e.g. `decimal(10, 2)`");
    }
    let before = input.get(..f.pos).unwrap_or("");
    let unclosed = before.matches('<').count() > before.matches('>').count();
    if f.expects(Rule::list_close) && unclosed {
        return GrammarError::at(input, f.pos, "expected `>` to close `list<`");
    }
    match ch {
        Some(c) => GrammarError::at(
            input,
            f.pos,
            format!("unexpected {} after the type", show_char(c)),
        ),
        None => f.generic(input),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_and_aliases() {
        assert_eq!(parse_type("string").unwrap(), TypeExpr::String);
        assert_eq!(parse_type("  TEXT ").unwrap(), TypeExpr::String);
        assert_eq!(parse_type("BigInt").unwrap(), TypeExpr::Integer);
        assert_eq!(parse_type("double").unwrap(), TypeExpr::Number);
        assert_eq!(parse_type("bool").unwrap(), TypeExpr::Boolean);
        assert_eq!(parse_type("datetime").unwrap(), TypeExpr::Timestamp);
        assert_eq!(parse_type("uint16").unwrap(), TypeExpr::UInt16);
    }

    #[test]
    fn decimal_and_lists() {
        assert_eq!(
            parse_type("decimal(10,2)").unwrap(),
            TypeExpr::Decimal {
                precision: 10,
                scale: 2
            }
        );
        let t = parse_type("list < list<Integer> >").unwrap();
        assert_eq!(t.to_string(), "list<list<integer>>");
        assert_eq!(
            parse_type("decimal ( 38 , 0 )").unwrap().to_string(),
            "decimal(38, 0)"
        );
    }

    #[test]
    fn parameter_types() {
        assert!(TypeExpr::Date.is_parameter_type());
        assert!(TypeExpr::List(Box::new(TypeExpr::String)).is_parameter_type());
        assert!(!TypeExpr::Json.is_parameter_type());
        assert!(!TypeExpr::List(Box::new(TypeExpr::Int8)).is_parameter_type());
        assert!(
            !TypeExpr::List(Box::new(TypeExpr::List(Box::new(TypeExpr::String))))
                .is_parameter_type()
        );
    }

    #[test]
    fn levenshtein_basics() {
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("integr", "integer"), 1);
        assert_eq!(suggest("strng"), Some("string"));
        assert_eq!(suggest("zzzzzzzz"), None);
    }

    #[test]
    fn errors() {
        let e = parse_type("integr").unwrap_err();
        assert_eq!(e.span, 0..6);
        assert_eq!(e.help.as_deref(), Some("did you mean `integer`?"));

        let e = parse_type("list<integer").unwrap_err();
        assert_eq!(e.span, 12..12);
        assert!(e.message.contains("expected `>`"), "{e:?}");

        let e = parse_type("list<>").unwrap_err();
        assert_eq!(e.span, 5..6);
        assert_eq!(e.message, EXPECTED_TYPE);

        let e = parse_type("decimal(77, 2)").unwrap_err();
        assert_eq!(e.span, 8..10);

        let e = parse_type("decimal(5, 6)").unwrap_err();
        assert_eq!(e.span, 11..12);
    }
}
