//! Applying a row selector (the JSONPath subset of
//! [`widgettdc_grammar::parse_selector`]) to a JSON value.
//!
//! The runtime uses [`select`] to find the rows of JSON/YAML documents, and the
//! `json_path*` SQL functions use it to pick values out of JSON text.

use serde_json::Value;
use widgettdc_grammar::{Selector, Step};

/// Applies `selector` to `value` and returns the matched values, in document
/// order.
///
/// Steps are applied left to right to every value matched so far:
///
/// * `.name` / `['name']` ([`Step::Field`]): the member `name` of each object;
///   non-objects and objects without the member match nothing.
/// * `[N]` ([`Step::Index`]): item `N` of each array; a negative `N` counts
///   from the end (`[-1]` is the last item); out-of-range indexes and
///   non-arrays match nothing.
/// * `[*]` / `.*` ([`Step::Wildcard`]): every item of an array or every
///   member value of an object (in the document's member order); scalars
///   match nothing.
/// * `..name` ([`Step::Descend`]): the member `name` of the value itself and
///   of every object nested anywhere below it, in pre-order (a match is
///   listed before matches nested inside it).
///
/// The empty selector `$` matches the value itself. A JSON `null` is a value
/// like any other: `$.a` on `{"a": null}` matches one `null`.
///
/// Never panics and never recurses, so arbitrarily deep documents are safe.
///
/// ```
/// use serde_json::json;
/// use widgettdc_grammar::parse_selector;
/// use widgettdc_stdlib::select;
///
/// let doc = json!({"data": {"items": [{"id": 1}, {"id": 2}, {"name": "x"}]}});
/// let ids = select(&parse_selector("$.data.items[*].id").unwrap(), &doc);
/// assert_eq!(ids, vec![&json!(1), &json!(2)]);
/// let last = select(&parse_selector("$.data.items[-1].name").unwrap(), &doc);
/// assert_eq!(last, vec![&json!("x")]);
/// ```
pub fn select<'a>(selector: &Selector, value: &'a Value) -> Vec<&'a Value> {
    let mut current = vec![value];
    for step in &selector.steps {
        if current.is_empty() {
            break;
        }
        let mut next = Vec::new();
        for v in current {
            apply(step, v, &mut next);
        }
        current = next;
    }
    current
}

/// Whether `selector` can match at most one value (no `[*]`, `.*` or `..`).
///
/// JSONPath calls such paths *definite*; the `json_path` SQL function returns
/// the value itself for definite paths and a JSON array for the others.
pub fn is_definite(selector: &Selector) -> bool {
    selector
        .steps
        .iter()
        .all(|s| matches!(s, Step::Field(_) | Step::Index(_)))
}

fn apply<'a>(step: &Step, value: &'a Value, out: &mut Vec<&'a Value>) {
    match step {
        Step::Field(name) => {
            if let Some(v) = value.as_object().and_then(|o| o.get(name)) {
                out.push(v);
            }
        }
        Step::Index(i) => {
            if let Some(items) = value.as_array() {
                if let Some(v) = resolve_index(*i, items.len()).and_then(|i| items.get(i)) {
                    out.push(v);
                }
            }
        }
        Step::Wildcard => match value {
            Value::Array(items) => out.extend(items.iter()),
            Value::Object(members) => out.extend(members.values()),
            _ => {}
        },
        Step::Descend(name) => descend(name, value, out),
    }
}

/// The position `index` refers to in an array of `len` items, if any.
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    if index >= 0 {
        usize::try_from(index).ok()
    } else {
        let len = i128::try_from(len).ok()?;
        usize::try_from(len + i128::from(index)).ok()
    }
}

/// Pre-order walk with an explicit stack: for every node, first its own
/// member `name` (if it is an object that has one), then its children in
/// document order.
fn descend<'a>(name: &str, root: &'a Value, out: &mut Vec<&'a Value>) {
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        match node {
            Value::Object(members) => {
                if let Some(v) = members.get(name) {
                    out.push(v);
                }
                stack.extend(members.values().rev());
            }
            Value::Array(items) => stack.extend(items.iter().rev()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use widgettdc_grammar::parse_selector;

    fn sel(path: &str, value: &Value) -> Vec<Value> {
        let selector = parse_selector(path).unwrap();
        select(&selector, value).into_iter().cloned().collect()
    }

    #[test]
    fn root_matches_itself() {
        let doc = json!({"a": 1});
        assert_eq!(sel("$", &doc), vec![doc.clone()]);
        assert_eq!(sel("$", &json!(null)), vec![json!(null)]);
    }

    #[test]
    fn fields() {
        let doc = json!({"a": {"b": {"c": 3}}, "x y": 5, "n": null});
        assert_eq!(sel("$.a.b.c", &doc), vec![json!(3)]);
        assert_eq!(sel("$['x y']", &doc), vec![json!(5)]);
        assert_eq!(sel("$.n", &doc), vec![json!(null)]);
        assert!(sel("$.missing", &doc).is_empty());
        assert!(sel("$.a.b.c.d", &doc).is_empty());
        assert!(sel("$.a", &json!([1, 2])).is_empty());
    }

    #[test]
    fn indexes() {
        let doc = json!({"xs": [10, 20, 30]});
        assert_eq!(sel("$.xs[0]", &doc), vec![json!(10)]);
        assert_eq!(sel("$.xs[2]", &doc), vec![json!(30)]);
        assert_eq!(sel("$.xs[-1]", &doc), vec![json!(30)]);
        assert_eq!(sel("$.xs[-3]", &doc), vec![json!(10)]);
        assert!(sel("$.xs[3]", &doc).is_empty());
        assert!(sel("$.xs[-4]", &doc).is_empty());
        assert!(sel("$.xs[-9223372036854775808]", &doc).is_empty());
        assert!(sel("$.xs[9223372036854775807]", &doc).is_empty());
        assert!(sel("$[0]", &json!({"0": 1})).is_empty());
        assert!(sel("$[-1]", &json!([])).is_empty());
    }

    #[test]
    fn wildcard_over_arrays_and_objects() {
        let doc = json!({"items": [{"id": 1}, {"id": 2}, {"other": 3}]});
        assert_eq!(sel("$.items[*].id", &doc), vec![json!(1), json!(2)]);
        assert_eq!(sel("$.items.*.id", &doc), vec![json!(1), json!(2)]);
        // Objects keep document (insertion) order, not alphabetical order.
        let obj = json!({"z": 1, "a": 2, "m": [3]});
        assert_eq!(sel("$.*", &obj), vec![json!(1), json!(2), json!([3])]);
        assert_eq!(sel("$[*][*]", &obj), vec![json!(3)]);
        assert!(sel("$.*", &json!(5)).is_empty());
        assert!(sel("$[*]", &json!([])).is_empty());
    }

    #[test]
    fn descend() {
        let doc = json!({
            "name": "root",
            "children": [
                {"name": "a", "children": [{"name": "a1"}]},
                {"name": {"name": "nested"}},
                {"other": 1}
            ]
        });
        assert_eq!(
            sel("$..name", &doc),
            vec![
                json!("root"),
                json!("a"),
                json!("a1"),
                json!({"name": "nested"}),
                json!("nested"),
            ]
        );
        assert_eq!(
            sel("$.children[0]..name", &doc),
            vec![json!("a"), json!("a1")]
        );
        assert!(sel("$..missing", &doc).is_empty());
        assert_eq!(
            sel("$..['name'][0]", &json!({"name": [7, 8]})),
            vec![json!(7)]
        );
    }

    #[test]
    fn deep_documents_do_not_overflow_the_stack() {
        let mut doc = json!({"name": "bottom"});
        for _ in 0..100_000 {
            doc = Value::Array(vec![doc]);
        }
        assert_eq!(sel("$..name", &doc), vec![json!("bottom")]);
        // serde_json drops deep values recursively; leak it instead of
        // risking a stack overflow in the test itself.
        std::mem::forget(doc);
    }

    #[test]
    fn definite_paths() {
        let def = |p: &str| is_definite(&parse_selector(p).unwrap());
        assert!(def("$"));
        assert!(def("$.a[0]['b c'][-1]"));
        assert!(!def("$.a[*]"));
        assert!(!def("$.a.*"));
        assert!(!def("$..a"));
    }
}
