//! Integration tests for the public API of `widgettdc-grammar`.

use std::ops::Range;
use std::time::Duration;

use widgettdc_grammar::{
    format_duration, parse_duration, parse_selector, parse_template, parse_type, GrammarError,
    Part, Selector, Step, Template, TypeExpr, MAX_TYPE_NESTING,
};

/// Asserts the exact span and a message substring.
#[track_caller]
fn assert_err(result: Result<impl std::fmt::Debug, GrammarError>, span: Range<usize>, msg: &str) {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => {
            assert_eq!(e.span, span, "span of {e:?}");
            assert!(
                e.message.contains(msg),
                "message {:?} lacks {msg:?}",
                e.message
            );
            assert_eq!(e.to_string(), e.message);
        }
    }
}

fn lit(text: &str, span: Range<usize>) -> Part {
    Part::Literal {
        text: text.to_string(),
        span,
    }
}

fn env(name: &str, default: Option<&str>, span: Range<usize>, name_span: Range<usize>) -> Part {
    Part::Env {
        name: name.to_string(),
        default: default.map(str::to_string),
        span,
        name_span,
    }
}

// ---------------------------------------------------------------------------
// Templates
// ---------------------------------------------------------------------------

#[test]
fn template_env_spans_with_text_around() {
    let t = parse_template("host=${HOST}:${PORT:-5432}/db").unwrap();
    assert_eq!(
        t.parts,
        vec![
            lit("host=", 0..5),
            env("HOST", None, 5..12, 7..11),
            lit(":", 12..13),
            env("PORT", Some("5432"), 13..26, 15..19),
            lit("/db", 26..29),
        ]
    );
    assert!(!t.is_literal());
}

#[test]
fn template_secret() {
    let src = "Bearer ${secret:api.token-v2}";
    let t = parse_template(src).unwrap();
    assert_eq!(
        t.parts,
        vec![
            lit("Bearer ", 0..7),
            Part::Secret {
                name: "api.token-v2".into(),
                span: 7..29,
                name_span: 16..28,
            }
        ]
    );
    assert_eq!(&src[16..28], "api.token-v2");
}

#[test]
fn template_defaults() {
    let t = parse_template("${X:-}").unwrap();
    assert_eq!(t.parts, vec![env("X", Some(""), 0..6, 2..3)]);
    let t = parse_template("${X:-a b:c-$d {e}").unwrap();
    assert_eq!(t.parts, vec![env("X", Some("a b:c-$d {e"), 0..17, 2..3)]);
    let t = parse_template("${_x9}").unwrap();
    assert_eq!(t.parts, vec![env("_x9", None, 0..6, 2..5)]);
}

#[test]
fn template_sql_placeholders_pass_through() {
    for src in [
        "$region",
        "a $ b",
        "SELECT * FROM t WHERE region = $region AND x = $1",
        "$",
        "$$",
        "cost: $5 {not interp}",
        "}",
    ] {
        let t = parse_template(src).unwrap();
        assert_eq!(t.parts, vec![lit(src, 0..src.len())], "{src}");
        assert!(t.is_literal());
    }
}

#[test]
fn template_escape() {
    let t = parse_template("$${X}").unwrap();
    assert_eq!(t.parts, vec![lit("${X}", 0..5)]);
    assert!(t.is_literal());

    let t = parse_template("a$${X}b${Y}").unwrap();
    assert_eq!(
        t.parts,
        vec![lit("a${X}b", 0..7), env("Y", None, 7..11, 9..10)]
    );
}

#[test]
fn template_empty_and_multibyte() {
    assert_eq!(parse_template("").unwrap(), Template { parts: vec![] });

    // "é" is 2 bytes, "😀" is 4 bytes.
    let src = "é ${NAME} 😀${secret:k}ü";
    let t = parse_template(src).unwrap();
    assert_eq!(
        t.parts,
        vec![
            lit("é ", 0..3),
            env("NAME", None, 3..10, 5..9),
            lit(" 😀", 10..15),
            Part::Secret {
                name: "k".into(),
                span: 15..26,
                name_span: 24..25,
            },
            lit("ü", 26..28),
        ]
    );
    for p in &t.parts {
        let span = p.span();
        assert!(src.get(span).is_some(), "span on char boundaries");
    }
    assert_eq!(&src[5..9], "NAME");

    // Multi-byte default value.
    let t = parse_template("${X:-ümlaut}").unwrap();
    assert_eq!(t.parts, vec![env("X", Some("ümlaut"), 0..13, 2..3)]);
}

#[test]
fn template_errors() {
    assert_err(
        parse_template("abc ${X"),
        7..7,
        "expected `}` to close `${`",
    );
    assert_err(parse_template("${"), 2..2, "expected `}` to close `${`");
    assert_err(
        parse_template("${X:-default"),
        12..12,
        "expected `}` to close `${`",
    );
    assert_err(parse_template("x ${}"), 4..5, "empty name in `${}`");
    assert_err(
        parse_template("${A-B}"),
        3..4,
        "invalid character `-` in variable name",
    );
    assert_err(
        parse_template("${A.B}"),
        3..4,
        "invalid character `.` in variable name",
    );
    assert_err(parse_template("${A B}"), 3..4, "in variable name");
    assert_err(
        parse_template("${9A}"),
        2..3,
        "invalid character `9` at the start of a variable name",
    );
    assert_err(
        parse_template("${secret:}"),
        9..10,
        "expected a secret name after `${secret:`",
    );
    assert_err(
        parse_template("${secret:a/b}"),
        10..11,
        "invalid character `/` in secret name",
    );
    assert_err(
        parse_template("${secret:abc"),
        12..12,
        "expected `}` to close `${`",
    );

    let e = parse_template("${X:y}").unwrap_err();
    assert_eq!(e.span, 3..4);
    assert!(e.help.unwrap().contains("${NAME:-default}"));

    // Multi-byte: the span covers the whole offending character.
    assert_err(parse_template("ü${é}"), 4..6, "start of a variable name");
}

// ---------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------

#[test]
fn types_all_scalars_and_aliases() {
    let cases: &[(&str, TypeExpr)] = &[
        ("string", TypeExpr::String),
        ("text", TypeExpr::String),
        ("integer", TypeExpr::Integer),
        ("int", TypeExpr::Integer),
        ("BIGINT", TypeExpr::Integer),
        ("number", TypeExpr::Number),
        ("float", TypeExpr::Number),
        ("Double", TypeExpr::Number),
        ("boolean", TypeExpr::Boolean),
        ("bool", TypeExpr::Boolean),
        ("date", TypeExpr::Date),
        ("timestamp", TypeExpr::Timestamp),
        ("datetime", TypeExpr::Timestamp),
        ("int8", TypeExpr::Int8),
        ("int16", TypeExpr::Int16),
        ("int32", TypeExpr::Int32),
        ("int64", TypeExpr::Int64),
        ("uint8", TypeExpr::UInt8),
        ("uint16", TypeExpr::UInt16),
        ("uint32", TypeExpr::UInt32),
        ("uint64", TypeExpr::UInt64),
        ("float32", TypeExpr::Float32),
        ("float64", TypeExpr::Float64),
        ("json", TypeExpr::Json),
        ("uuid", TypeExpr::Uuid),
        ("binary", TypeExpr::Binary),
        ("time", TypeExpr::Time),
        ("interval", TypeExpr::Interval),
        (
            " decimal(10, 2) ",
            TypeExpr::Decimal {
                precision: 10,
                scale: 2,
            },
        ),
        (
            "DECIMAL(76,76)",
            TypeExpr::Decimal {
                precision: 76,
                scale: 76,
            },
        ),
    ];
    for (src, expected) in cases {
        let ty = parse_type(src).unwrap();
        assert_eq!(&ty, expected, "{src}");
        // Display is canonical and round-trips.
        assert_eq!(parse_type(&ty.to_string()).unwrap(), ty);
    }
}

#[test]
fn types_lists_and_display() {
    let t = parse_type("list<list<integer>>").unwrap();
    assert_eq!(
        t,
        TypeExpr::List(Box::new(TypeExpr::List(Box::new(TypeExpr::Integer))))
    );
    assert_eq!(t.to_string(), "list<list<integer>>");
    assert_eq!(
        parse_type(" LIST < text > ").unwrap().to_string(),
        "list<string>"
    );
    assert_eq!(
        parse_type("list<decimal(10,2)>").unwrap().to_string(),
        "list<decimal(10, 2)>"
    );
}

#[test]
fn types_parameter_check() {
    for src in [
        "string",
        "integer",
        "number",
        "boolean",
        "date",
        "timestamp",
        "list<date>",
    ] {
        assert!(parse_type(src).unwrap().is_parameter_type(), "{src}");
    }
    for src in [
        "int32",
        "json",
        "decimal(3,1)",
        "list<uuid>",
        "list<list<string>>",
    ] {
        assert!(!parse_type(src).unwrap().is_parameter_type(), "{src}");
    }
}

#[test]
fn types_errors() {
    let e = parse_type("integr").unwrap_err();
    assert_eq!(e.span, 0..6);
    assert!(e.message.contains("unknown type `integr`"));
    assert_eq!(e.help.as_deref(), Some("did you mean `integer`?"));

    let e = parse_type("list<Strnig>").unwrap_err();
    assert_eq!(e.span, 5..11);
    assert_eq!(e.help.as_deref(), Some("did you mean `string`?"));

    let e = parse_type("wombat").unwrap_err();
    assert_eq!(e.span, 0..6);
    assert!(e.help.unwrap().contains("`string`, `integer`, `number`"));

    assert_err(
        parse_type(""),
        0..0,
        "expected a type such as `string` or `list<integer>`",
    );
    assert_err(
        parse_type("list<>"),
        5..6,
        "expected a type such as `string`",
    );
    assert_err(
        parse_type("list<"),
        5..5,
        "expected a type such as `string`",
    );
    assert_err(parse_type("list"), 0..4, "`list` needs an element type");
    assert_err(
        parse_type("list<integer"),
        12..12,
        "expected `>` to close `list<`",
    );
    assert_err(
        parse_type("list<list<integer>"),
        18..18,
        "expected `>` to close `list<`",
    );
    assert_err(parse_type("list<integer>>"), 13..14, "unexpected `>`");
    assert_err(
        parse_type("integer x"),
        8..9,
        "unexpected `x` after the type",
    );
    assert_err(parse_type("integer;"), 7..8, "unexpected `;`");
    assert_err(parse_type("decimal"), 0..7, "needs a precision and a scale");
    assert_err(parse_type("decimal(10)"), 7..11, "exactly 2 arguments");
    assert_err(
        parse_type("decimal(0, 0)"),
        8..9,
        "precision must be between 1 and 76",
    );
    assert_err(
        parse_type("decimal(77, 0)"),
        8..10,
        "precision must be between 1 and 76",
    );
    assert_err(
        parse_type("decimal(5, 6)"),
        11..12,
        "greater than the precision",
    );
    assert_err(parse_type("decimal(10, "), 12..12, "expected a number");
    assert_err(parse_type("decimal(10, 2"), 13..13, "expected `)`");
    assert_err(parse_type("string(3)"), 6..9, "does not take arguments");
}

#[test]
fn types_deep_nesting_is_capped_not_overflowing() {
    let ok = format!(
        "{}integer{}",
        "list<".repeat(MAX_TYPE_NESTING),
        ">".repeat(MAX_TYPE_NESTING)
    );
    let ty = parse_type(&ok).unwrap();
    assert_eq!(ty.to_string(), ok);

    let deep = format!("{}integer{}", "list<".repeat(200), ">".repeat(200));
    let start = 5 * MAX_TYPE_NESTING;
    assert_err(parse_type(&deep), start..start + 5, "nested too deeply");

    // Unbalanced and enormous: still an error, no stack overflow.
    let huge = "list<".repeat(100_000);
    assert!(parse_type(&huge).is_err());
    let huge = format!("{}x", "list<".repeat(100_000));
    assert_err(parse_type(&huge), start..start + 5, "nested too deeply");
}

// ---------------------------------------------------------------------------
// Durations
// ---------------------------------------------------------------------------

#[test]
fn durations_parse() {
    let cases: &[(&str, Duration)] = &[
        ("30s", Duration::from_secs(30)),
        ("5m", Duration::from_secs(300)),
        ("1h30m", Duration::from_secs(5400)),
        ("1h 30m", Duration::from_secs(5400)),
        ("250ms", Duration::from_millis(250)),
        ("2d", Duration::from_secs(2 * 86_400)),
        ("1w", Duration::from_secs(7 * 86_400)),
        ("0s", Duration::ZERO),
        ("1w 1d 1h 1m 1s 1ms", Duration::from_millis(694_861_001)),
        (" 10s ", Duration::from_secs(10)),
    ];
    for (src, expected) in cases {
        assert_eq!(parse_duration(src).unwrap(), *expected, "{src}");
    }
}

#[test]
fn durations_format_round_trip() {
    assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
    assert_eq!(format_duration(Duration::ZERO), "0s");
    assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
    assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
    assert_eq!(format_duration(Duration::from_secs(8 * 86_400)), "1w1d");
    for ms in [0u64, 1, 999, 1000, 61_001, 3_600_000, 694_861_001, 1 << 40] {
        let d = Duration::from_millis(ms);
        assert_eq!(parse_duration(&format_duration(d)).unwrap(), d, "{ms}ms");
    }
}

#[test]
fn durations_errors() {
    let e = parse_duration("30").unwrap_err();
    assert_eq!(e.span, 0..2);
    assert!(e.message.contains("missing a unit"));
    assert_eq!(e.help.as_deref(), Some("add a unit, e.g. `30s`"));

    assert_err(parse_duration("1h30"), 2..4, "missing a unit");
    assert_err(parse_duration("5x"), 1..2, "unknown duration unit `x`");
    assert_err(
        parse_duration("1h 5sec"),
        4..7,
        "unknown duration unit `sec`",
    );
    assert_err(parse_duration("30m1h"), 4..5, "descending order");
    assert_err(parse_duration("1m 2m"), 4..5, "more than once");
    assert_err(parse_duration("1.5h"), 1..2, "whole numbers");
    assert_err(parse_duration("-5s"), 0..1, "negative");
    assert_err(parse_duration(""), 0..0, "expected a duration");
    assert_err(parse_duration("30s!"), 3..4, "unexpected `!`");
    assert_err(
        parse_duration("99999999999999999999999s"),
        0..24,
        "too large",
    );
    assert_err(parse_duration("40000000000w"), 0..12, "too large");
    assert_err(
        parse_duration("18446744073709551615ms 1ms"),
        24..26,
        "more than once",
    );
    assert_err(
        parse_duration("1s 18446744073709551615ms"),
        3..25,
        "too large",
    );
}

// ---------------------------------------------------------------------------
// Selectors
// ---------------------------------------------------------------------------

fn field(s: &str) -> Step {
    Step::Field(s.to_string())
}

#[test]
fn selectors_parse() {
    assert_eq!(parse_selector("$").unwrap(), Selector { steps: vec![] });
    assert_eq!(
        parse_selector("$.data.items[*]").unwrap().steps,
        vec![field("data"), field("items"), Step::Wildcard]
    );
    assert_eq!(
        parse_selector("$.rows.*.id").unwrap().steps,
        vec![field("rows"), Step::Wildcard, field("id")]
    );
    assert_eq!(
        parse_selector("$['a b'][\"c.d\"][0][-2]").unwrap().steps,
        vec![field("a b"), field("c.d"), Step::Index(0), Step::Index(-2)]
    );
    assert_eq!(
        parse_selector("$..price").unwrap().steps,
        vec![Step::Descend("price".into())]
    );
    assert_eq!(
        parse_selector("$.x-y._z").unwrap().steps,
        vec![field("x-y"), field("_z")]
    );
    assert_eq!(
        parse_selector(r#"$['it\'s']["q\"\\"]['ü ✓']"#)
            .unwrap()
            .steps,
        vec![field("it's"), field("q\"\\"), field("ü ✓")]
    );
}

#[test]
fn selectors_display() {
    assert_eq!(
        parse_selector("$.data.items.*").unwrap().to_string(),
        "$.data.items[*]"
    );
    assert_eq!(
        parse_selector("$[\"a b\"][0]").unwrap().to_string(),
        "$['a b'][0]"
    );
    assert_eq!(parse_selector("$['ok']").unwrap().to_string(), "$.ok");
    let s = Selector {
        steps: vec![field("it's"), Step::Descend("a b".into()), field("*")],
    };
    let text = s.to_string();
    assert_eq!(text, r"$['it\'s']..['a b']['*']");
    assert_eq!(parse_selector(&text).unwrap(), s);
}

#[test]
fn selectors_errors() {
    assert_err(parse_selector("data.x"), 0..1, "must start with `$`");
    assert_err(parse_selector(""), 0..0, "must start with `$`");
    assert_err(parse_selector("$."), 2..2, "expected a field name");
    assert_err(parse_selector("$.1"), 2..3, "expected a field name");
    assert_err(parse_selector("$..*"), 3..4, "after `..`");
    assert_err(parse_selector("$["), 2..2, "expected an index");
    assert_err(parse_selector("$[1"), 3..3, "expected `]`");
    assert_err(parse_selector("$['a"), 4..4, "expected `'` to close");
    assert_err(parse_selector(r"$['a\n']"), 4..6, "unknown escape");
    assert_err(parse_selector("$.a b"), 3..4, "whitespace is not allowed");
    assert_err(parse_selector("$[ 1]"), 2..3, "expected an index");
    assert_err(parse_selector("$.a]"), 3..4, "unexpected `]`");
    assert_err(
        parse_selector("$[99999999999999999999]"),
        2..22,
        "out of range",
    );
}

// ---------------------------------------------------------------------------
// Robustness
// ---------------------------------------------------------------------------

#[test]
fn long_inputs_do_not_panic() {
    let long = "abc $x ${VAR} ü ".repeat(20_000);
    let t = parse_template(&long).unwrap();
    assert_eq!(t.parts.len(), 40_001);

    let many = format!("${}", ".a".repeat(50_000));
    assert_eq!(parse_selector(&many).unwrap().steps.len(), 50_000);

    let unclosed = format!("${{X:-{}", "d".repeat(100_000));
    assert_err(parse_template(&unclosed), 100_005..100_005, "close");

    assert!(parse_duration(&"1s".repeat(10_000)).is_err());
}

/// A tiny deterministic generator (xorshift) so the test needs no deps.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_inputs_never_panic_and_spans_are_valid() {
    const ALPHABET: &[&str] = &[
        "$", "{", "}", "${", "$${", ":-", "secret:", "a", "Z", "_", "0", "9", "-", ".", "..", "[",
        "]", "'", "\"", "\\", "*", " ", "list<", ">", "<", "(", ")", ",", "ms", "s", "m", "h", "é",
        "😀", "decimal", "int", "\n",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let len = (rng.next() % 12) as usize;
        let mut s = String::new();
        for _ in 0..len {
            s.push_str(ALPHABET[(rng.next() % ALPHABET.len() as u64) as usize]);
        }
        let check = |e: GrammarError| {
            assert!(
                e.span.start <= e.span.end && e.span.end <= s.len(),
                "{s:?} {e:?}"
            );
            assert!(
                s.get(e.span.clone()).is_some(),
                "char boundary: {s:?} {e:?}"
            );
            assert!(!e.message.is_empty());
            assert!(
                !e.message.contains("internal error"),
                "internal error for {s:?}: {e:?}"
            );
            // Messages never leak pest rule identifiers.
            for ident in ["tpl_", "sel_", "dur_", "type_name", "EOI"] {
                assert!(!e.message.contains(ident), "{s:?}: {e:?}");
            }
        };
        match parse_template(&s) {
            Ok(t) => {
                for p in &t.parts {
                    assert!(s.get(p.span()).is_some());
                }
            }
            Err(e) => check(e),
        }
        if let Err(e) = parse_type(&s) {
            check(e);
        }
        if let Err(e) = parse_duration(&s) {
            check(e);
        }
        match parse_selector(&s) {
            Ok(sel) => assert_eq!(parse_selector(&sel.to_string()).unwrap(), sel),
            Err(e) => check(e),
        }
    }
}
