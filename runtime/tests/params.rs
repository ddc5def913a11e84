//! Binding tool arguments: the statement that reaches DataFusion and the typed values.

use std::path::PathBuf;

use datafusion::common::ScalarValue;
use serde_json::{json, Map, Value};
use widgettdc_compiler::diagnostic::Diagnostics;
use widgettdc_compiler::{
    compile, project, Code, CompiledProject, Env, ExternalSchemas, FunctionSet,
};
use widgettdc_runtime::params::bind;

fn compiled(tools: &str) -> CompiledProject {
    let spec = format!(
        "version: 1\nsources:\n  db:\n    kind: sqlite\n    path: x.db\n    tables:\n      t: {{ columns: {{ id: int64, name: string, ts: timestamp }} }}\ntools:\n{tools}"
    );
    let mut diags = Diagnostics::default();
    let p = project::load_texts(
        &PathBuf::from("."),
        vec![(PathBuf::from("spec.yaml"), spec)],
        None,
        None,
        &Env::default(),
        &mut diags,
    );
    let c = compile::compile(
        &p,
        &ExternalSchemas::new(),
        &FunctionSet::standard(),
        &mut diags,
    );
    assert!(!diags.has_errors(), "{:?}", diags.into_sorted());
    c
}

fn args(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

const TOOL: &str = "  q:\n    parameters:\n      ids: { type: list<integer> }\n      name: { type: string, required: false }\n      since: { type: timestamp, required: false }\n    sql: SELECT id FROM db.t WHERE id IN ($ids) AND name = $name AND ts >= $since\n";

#[test]
fn lists_expand_and_absent_optionals_drop_their_predicates() {
    let c = compiled(TOOL);
    let t = &c.tools["q"];
    let b = bind(
        t,
        &args(json!({"ids": [3, 4, 5], "since": "2026-01-01T00:00:00Z"})),
    )
    .unwrap();
    let sql = b.statement(t).unwrap().to_string();
    assert_eq!(
        sql,
        "SELECT id FROM db.t WHERE id IN ($ids__0, $ids__1, $ids__2) AND ts >= $since"
    );
    assert_eq!(b.values["ids__1"], ScalarValue::Int64(Some(4)));
    assert_eq!(
        b.values["since"],
        ScalarValue::TimestampMicrosecond(Some(1_767_225_600_000_000), None)
    );
    assert!(!b.values.contains_key("name"));
}

#[test]
fn an_empty_list_matches_nothing() {
    let c = compiled(TOOL);
    let b = bind(&c.tools["q"], &args(json!({"ids": []}))).unwrap();
    assert_eq!(
        b.statement(&c.tools["q"]).unwrap().to_string(),
        "SELECT id FROM db.t WHERE false"
    );
}

#[test]
fn every_problem_is_reported() {
    let c = compiled(TOOL);
    let errs = bind(
        &c.tools["q"],
        &args(json!({"idz": [1], "since": "soon", "name": 5})),
    )
    .unwrap_err();
    let codes: Vec<Code> = errs.iter().map(|e| e.code).collect();
    // unknown `idz`, missing `ids`, bad `since`; a number for a string is accepted as its text
    assert!(codes.contains(&Code::ParameterUnknown), "{errs:?}");
    assert!(codes.contains(&Code::ParameterMissing), "{errs:?}");
    assert!(codes.contains(&Code::ParameterType), "{errs:?}");
    assert_eq!(errs.len(), 3, "{errs:?}");
}

#[test]
fn null_means_left_out() {
    let c = compiled(TOOL);
    let b = bind(&c.tools["q"], &args(json!({"ids": [1], "name": null}))).unwrap();
    assert_eq!(
        b.statement(&c.tools["q"]).unwrap().to_string(),
        "SELECT id FROM db.t WHERE id IN ($ids__0)"
    );
}

#[test]
fn calls_of_one_shape_share_one_statement() {
    let c = compiled(TOOL);
    let t = &c.tools["q"];
    let call = |v: Value| bind(t, &args(v)).unwrap();
    let a = call(json!({"ids": [1, 2], "name": "x"}));
    let b = call(json!({"ids": [7, 8], "name": "y"}));
    // other list lengths, or other optionals given, make other statements
    let shorter = call(json!({"ids": [7], "name": "y"}));
    let unnamed = call(json!({"ids": [1, 2]}));
    assert_eq!(a.shape(), b.shape());
    assert_eq!(
        a.statement(t).unwrap().to_string(),
        b.statement(t).unwrap().to_string()
    );
    for other in [&shorter, &unnamed] {
        assert_ne!(a.shape(), other.shape());
        assert_ne!(
            a.statement(t).unwrap().to_string(),
            other.statement(t).unwrap().to_string()
        );
    }
}
