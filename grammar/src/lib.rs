//! The small expression language that appears inside widgettdc YAML string
//! values, defined as a pest grammar (`src/expr.pest`) with a typed API on top.
//!
//! Four independent constructs are supported:
//!
//! * **Interpolation** — [`parse_template`]: `${VAR}`, `${VAR:-default}`,
//!   `${secret:NAME}` and the escape `$${`. A `$` not followed by `{` is plain
//!   text, so SQL placeholders such as `$region` pass through untouched.
//! * **Types** — [`parse_type`]: `string`, `integer`, `decimal(10, 2)`,
//!   `list<list<integer>>`, … (case-insensitive, with common aliases).
//! * **Durations** — [`parse_duration`] / [`format_duration`]: `30s`, `1h30m`,
//!   `1h 30m`, `250ms`.
//! * **Row selectors** — [`parse_selector`]: a JSONPath subset such as
//!   `$.data.items[*]` or `$['a b'][0]`.
//!
//! Every parse function consumes the whole input and reports problems as a
//! [`GrammarError`] whose byte span is relative to the parsed string. No
//! function in this crate panics on any input, and none performs IO.
//!
//! ```
//! use widgettdc_grammar::{parse_duration, parse_selector, parse_template, parse_type};
//!
//! let t = parse_template("SELECT * FROM t WHERE r = $region AND k = '${KEY:-x}'").unwrap();
//! assert!(!t.is_literal());
//! assert_eq!(parse_type("LIST<int>").unwrap().to_string(), "list<integer>");
//! assert_eq!(parse_duration("1h 30m").unwrap().as_secs(), 5400);
//! assert_eq!(parse_selector("$.data.items.*").unwrap().to_string(), "$.data.items[*]");
//! ```

mod duration;
mod error;
mod interp;
mod selector;
mod types;

pub use duration::{format_duration, parse_duration};
pub use error::GrammarError;
pub use interp::{parse_template, Part, Template};
pub use selector::{parse_selector, Selector, Step};
pub use types::{parse_type, TypeExpr, MAX_TYPE_NESTING};

mod parser {
    //! The pest-generated parser. Crate-private: the typed API is the
    //! interface.
    use pest_derive::Parser;

    #[derive(Parser)]
    #[grammar = "expr.pest"]
    pub(crate) struct ExprParser;
}
