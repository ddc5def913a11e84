//! Durations such as `30s`, `1h30m`, `1h 30m` and `250ms`.

use std::ops::Range;
use std::time::Duration;

use pest::Parser;

use crate::error::{char_at, show_char, Failure, GrammarError};
use crate::parser::{ExprParser, Rule};

/// Units from largest to smallest, with their length in milliseconds.
const UNITS: &[(&str, u64)] = &[
    ("w", 7 * 24 * 60 * 60 * 1000),
    ("d", 24 * 60 * 60 * 1000),
    ("h", 60 * 60 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

const UNITS_HELP: &str = "valid units are `ms`, `s`, `m`, `h`, `d` and `w`";
const EXAMPLE_HELP: &str = "durations look like `30s`, `5m`, `250ms` or `1h30m`";

/// Parses a duration such as `30s`, `1h30m` or `1h 30m`.
///
/// Units are `ms`, `s`, `m`, `h`, `d` and `w`; amounts are non-negative
/// integers; components must appear in descending unit order and each unit at
/// most once. Overflow is reported as an error.
pub fn parse_duration(input: &str) -> Result<Duration, GrammarError> {
    let mut pairs = ExprParser::parse(Rule::duration, input)
        .map_err(|e| duration_error(input, &Failure::from_pest(input, &e)))?;
    let root = pairs
        .next()
        .ok_or_else(|| GrammarError::internal(0..input.len()))?;

    let mut total_ms: u64 = 0;
    // Index into UNITS of the previous component's unit.
    let mut previous: Option<(usize, Range<usize>)> = None;
    for component in root.into_inner() {
        if component.as_rule() != Rule::dur_component {
            continue;
        }
        let comp_span = component.as_span().start()..component.as_span().end();
        let mut amount = None;
        let mut unit = None;
        for part in component.into_inner() {
            let span = part.as_span().start()..part.as_span().end();
            match part.as_rule() {
                Rule::dur_amount => amount = Some((part.as_str(), span)),
                Rule::dur_unit => unit = Some((part.as_str(), span)),
                _ => {}
            }
        }
        let (amount_text, amount_span) =
            amount.ok_or_else(|| GrammarError::internal(comp_span.clone()))?;
        let Some((unit_text, unit_span)) = unit else {
            return Err(GrammarError::new(
                format!("duration `{amount_text}` is missing a unit"),
                amount_span,
            )
            .with_help("add a unit, e.g. `30s`"));
        };
        let Some(index) = UNITS.iter().position(|(u, _)| *u == unit_text) else {
            let help = match unit_suggestion(unit_text) {
                Some(u) => format!("did you mean `{u}`? {UNITS_HELP}"),
                None => UNITS_HELP.to_string(),
            };
            return Err(GrammarError::new(
                format!("unknown duration unit `{unit_text}`"),
                unit_span,
            )
            .with_help(help));
        };
        if let Some((prev_index, _)) = &previous {
            if *prev_index == index {
                return Err(GrammarError::new(
                    format!("duration unit `{unit_text}` appears more than once"),
                    unit_span,
                )
                .with_help("combine the amounts into one component"));
            }
            if *prev_index > index {
                let prev_unit = UNITS[*prev_index].0;
                return Err(GrammarError::new(
                    format!(
                        "duration units must be in descending order: `{unit_text}` cannot follow `{prev_unit}`"
                    ),
                    unit_span,
                )
                .with_help("write larger units first, e.g. `1h30m`"));
            }
        }
        let overflow = || {
            GrammarError::new("duration is too large", comp_span.clone())
                .with_help("use a smaller amount")
        };
        let amount: u64 = amount_text.parse().map_err(|_| overflow())?;
        let ms = amount
            .checked_mul(UNITS[index].1)
            .and_then(|v| total_ms.checked_add(v))
            .ok_or_else(overflow)?;
        total_ms = ms;
        previous = Some((index, unit_span));
    }
    Ok(Duration::from_millis(total_ms))
}

/// Renders a duration canonically so that [`parse_duration`] reads it back:
/// descending units, zero components omitted, e.g. `1m30s`, `1s500ms`, `0s`.
///
/// Sub-millisecond precision is truncated (the syntax has no smaller unit).
pub fn format_duration(d: Duration) -> String {
    let mut rest: u128 = d.as_millis();
    if rest == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, ms) in UNITS {
        let ms = u128::from(*ms);
        let n = rest / ms;
        if n > 0 {
            out.push_str(&n.to_string());
            out.push_str(unit);
            rest %= ms;
        }
    }
    out
}

fn unit_suggestion(unit: &str) -> Option<&'static str> {
    let lower = unit.to_ascii_lowercase();
    let found = match lower.as_str() {
        "ms" | "msec" | "msecs" | "millis" | "millisecond" | "milliseconds" => "ms",
        "s" | "sec" | "secs" | "second" | "seconds" => "s",
        "m" | "min" | "mins" | "minute" | "minutes" => "m",
        "h" | "hr" | "hrs" | "hour" | "hours" => "h",
        "d" | "day" | "days" => "d",
        "w" | "wk" | "wks" | "week" | "weeks" => "w",
        _ => return None,
    };
    Some(found)
}

fn duration_error(input: &str, f: &Failure) -> GrammarError {
    let Some(c) = char_at(input, f.pos) else {
        if input.trim().is_empty() {
            return GrammarError::at(input, f.pos, "expected a duration such as `30s`")
                .with_help(EXAMPLE_HELP);
        }
        return f.generic(input).with_help(EXAMPLE_HELP);
    };
    if c == '.' || c == ',' {
        return GrammarError::at(input, f.pos, "duration amounts must be whole numbers")
            .with_help("use a smaller unit, e.g. `90m` instead of `1.5h`");
    }
    if c == '-' {
        return GrammarError::at(input, f.pos, "durations cannot be negative")
            .with_help(EXAMPLE_HELP);
    }
    GrammarError::at(
        input,
        f.pos,
        format!("unexpected {} in duration", show_char(c)),
    )
    .with_help(EXAMPLE_HELP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_components() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("1h 30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(
            parse_duration("1w2d").unwrap(),
            Duration::from_secs(9 * 86400)
        );
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
    }

    #[test]
    fn formats_canonically() {
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
        assert_eq!(format_duration(Duration::from_secs(14 * 86400)), "2w");
        assert_eq!(format_duration(Duration::from_nanos(999_999)), "0s");
        // Huge values do not panic.
        let _ = format_duration(Duration::MAX);
    }

    #[test]
    fn errors() {
        let e = parse_duration("30").unwrap_err();
        assert_eq!(e.span, 0..2);
        assert_eq!(e.help.as_deref(), Some("add a unit, e.g. `30s`"));

        let e = parse_duration("5x").unwrap_err();
        assert_eq!(e.span, 1..2);
        assert_eq!(e.message, "unknown duration unit `x`");

        let e = parse_duration("30m1h").unwrap_err();
        assert_eq!(e.span, 4..5);

        let e = parse_duration("1m1m").unwrap_err();
        assert_eq!(e.span, 3..4);

        let e = parse_duration("99999999999999999999999s").unwrap_err();
        assert_eq!(e.span, 0..24);
        assert!(e.message.contains("too large"));
    }
}
