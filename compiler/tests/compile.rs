//! The compiler's typed plans: parameter types, output schemas, optional-parameter dropping,
//! parameter value coercion and constraints.

use std::collections::HashSet;
use std::path::PathBuf;

use arrow_schema::DataType;
use serde_json::json;
use widgettdc_compiler::diagnostic::Diagnostics;
use widgettdc_compiler::params::{check_constraints, coerce, Constraints};
use widgettdc_compiler::sql::placeholders::specialize;
use widgettdc_compiler::{compile, project, CompiledProject, Env, ExternalSchemas, FunctionSet};
use widgettdc_grammar::TypeExpr;

const SOURCES: &str = r#"
sources:
  crm:
    kind: postgres
    url: postgres://localhost/crm
    tables:
      customers: { columns: { id: { type: int64, nullable: false }, name: string, region: string, since: date } }
      sales.orders: { columns: { id: int64, customer_id: int64, amount: "decimal(12, 2)", at: timestamp } }
  sales:
    kind: file
    path: sales.parquet
    columns: { customer_id: int64, amount: float64 }
"#;

fn compile_tools(tools: &str) -> (CompiledProject, Vec<String>) {
    let files = vec![
        (PathBuf::from("sources.yaml"), SOURCES.to_string()),
        (PathBuf::from("tools.yaml"), tools.to_string()),
    ];
    compile_files(files, None)
}

fn compile_files(
    files: Vec<(PathBuf, String)>,
    lock: Option<String>,
) -> (CompiledProject, Vec<String>) {
    let mut diags = Diagnostics::default();
    let lock = lock.map(|l| (PathBuf::from("schema.lock.yaml"), l));
    let p = project::load_texts(
        &PathBuf::from("."),
        files,
        lock,
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
    let msgs = diags
        .into_sorted()
        .into_iter()
        .map(|d| format!("{} {}", d.code, d.message))
        .collect();
    (c, msgs)
}

#[test]
fn types_parameters_and_output() {
    let (c, diags) = compile_tools(
        r#"
tools:
  top:
    parameters:
      region: { type: string }
      min_amount: { type: number, default: 0 }
      limit: { type: integer, default: 10 }
    sql: |
      SELECT c.name, sum(o.amount) AS revenue, count(*) AS orders
      FROM crm.customers c JOIN crm.sales.orders o ON o.customer_id = c.id
      WHERE c.region = $region AND o.amount >= $min_amount
      GROUP BY c.name ORDER BY revenue DESC LIMIT $limit
"#,
    );
    assert!(diags.is_empty(), "{diags:?}");
    let t = &c.tools["top"];
    let out = t.output.as_ref().expect("typed");
    let fields: Vec<(String, DataType)> = out
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    assert_eq!(fields[0], ("name".into(), DataType::Utf8));
    assert_eq!(fields[1].0, "revenue");
    assert!(
        matches!(fields[1].1, DataType::Decimal128(_, 2)),
        "{:?}",
        fields[1].1
    );
    assert_eq!(fields[2], ("orders".into(), DataType::Int64));
    assert_eq!(t.param("region").unwrap().inferred, Some(DataType::Utf8));
    assert!(t.param("region").unwrap().required);
    assert!(!t.param("limit").unwrap().required);
    assert_eq!(t.param("limit").unwrap().default, Some(json!(10)));
    assert_eq!(t.sources, vec!["crm".to_string()]);
    assert!(t.read_only);
}

#[test]
fn federated_names_resolve_across_sources() {
    let (c, diags) = compile_tools(
        "tools:\n  j:\n    sql: SELECT c.name, s.amount FROM crm.customers c JOIN sales s ON s.customer_id = c.id WHERE c.region = 'emea'\n",
    );
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(
        c.tools["j"].sources,
        vec!["crm".to_string(), "sales".to_string()]
    );
    // `crm.public.customers` is the same table as `crm.customers`
    let (_, diags) =
        compile_tools("tools:\n  j:\n    sql: SELECT name FROM crm.public.customers LIMIT 10\n");
    assert!(diags.is_empty(), "{diags:?}");
}

#[test]
fn absent_optional_parameters_drop_their_predicates() {
    let (c, diags) = compile_tools(
        r#"
tools:
  f:
    parameters:
      region: { type: string, required: false }
      since: { type: date, required: false }
      limit: { type: integer, required: false }
    sql: |
      SELECT name FROM crm.customers c JOIN sales s ON s.customer_id = c.id AND c.since >= $since
      WHERE c.region = $region AND (c.name LIKE 'A%' AND c.since >= $since)
      ORDER BY name LIMIT $limit
"#,
    );
    assert!(diags.is_empty(), "{diags:?}");
    let stmt = c.tools["f"].statement.as_ref().unwrap();
    let all: HashSet<String> = ["region", "since", "limit"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let sql = specialize(stmt, &all).to_string();
    assert!(!sql.contains('$'), "{sql}");
    assert!(sql.contains("c.name LIKE 'A%'"), "{sql}");
    assert!(!sql.contains("LIMIT"), "{sql}");
    let some: HashSet<String> = ["region".to_string()].into_iter().collect();
    let sql = specialize(stmt, &some).to_string();
    assert!(!sql.contains("$region"), "{sql}");
    assert!(
        sql.contains("$since") && sql.contains("LIMIT $limit"),
        "{sql}"
    );
    let none = HashSet::new();
    assert_eq!(specialize(stmt, &none).to_string(), stmt.to_string());
}

#[test]
fn list_parameter_in_an_in_list() {
    let (_, diags) = compile_tools(
        "tools:\n  l:\n    parameters:\n      regions: { type: list<string>, enum: [emea, amer] }\n    sql: SELECT name FROM crm.customers WHERE region IN ($regions)\n",
    );
    assert!(diags.is_empty(), "{diags:?}");
    let (_, diags) = compile_tools(
        "tools:\n  l:\n    parameters:\n      ids: { type: list<string> }\n    sql: SELECT name FROM crm.customers WHERE id IN ($ids)\n",
    );
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(diags[0].starts_with("E303"), "{diags:?}");
}

#[test]
fn write_tools_are_allowed_with_mode_write() {
    let (c, diags) = compile_tools(
        "tools:\n  w:\n    mode: write\n    parameters:\n      id: { type: integer }\n    sql: DELETE FROM crm.customers WHERE id = $id\n",
    );
    assert!(diags.is_empty(), "{diags:?}");
    assert!(!c.tools["w"].read_only);
}

#[test]
fn coercion_of_values() {
    assert_eq!(coerce(&TypeExpr::Integer, &json!("42")), Ok(json!(42)));
    assert_eq!(coerce(&TypeExpr::Integer, &json!(42.0)), Ok(json!(42)));
    assert!(coerce(&TypeExpr::Integer, &json!("4.2")).is_err());
    assert!(coerce(&TypeExpr::Integer, &json!(true)).is_err());
    assert_eq!(coerce(&TypeExpr::Number, &json!("2.5")), Ok(json!(2.5)));
    assert_eq!(coerce(&TypeExpr::Boolean, &json!("true")), Ok(json!(true)));
    assert!(coerce(&TypeExpr::Boolean, &json!("maybe")).is_err());
    assert_eq!(
        coerce(&TypeExpr::Date, &json!("2024-02-29")),
        Ok(json!("2024-02-29"))
    );
    assert!(coerce(&TypeExpr::Date, &json!("2023-02-29")).is_err());
    assert!(coerce(&TypeExpr::Date, &json!("2024-13-01")).is_err());
    assert!(coerce(&TypeExpr::Timestamp, &json!("2024-01-31T12:00:00Z")).is_ok());
    assert!(coerce(
        &TypeExpr::Timestamp,
        &json!("2024-01-31 12:00:00.123+02:00")
    )
    .is_ok());
    assert!(coerce(&TypeExpr::Timestamp, &json!("yesterday")).is_err());
    let list = TypeExpr::List(Box::new(TypeExpr::Integer));
    assert_eq!(coerce(&list, &json!("1, 2,3")), Ok(json!([1, 2, 3])));
    assert_eq!(coerce(&list, &json!([1, "2"])), Ok(json!([1, 2])));
    let err = coerce(&list, &json!([1, "x"])).unwrap_err();
    assert!(err.contains("item 1"), "{err}");
}

#[test]
fn constraints_name_the_rule() {
    let c = Constraints {
        minimum: Some(1.0),
        maximum: Some(100.0),
        ..Default::default()
    };
    assert!(check_constraints(&TypeExpr::Integer, &c, &json!(50)).is_ok());
    assert_eq!(
        check_constraints(&TypeExpr::Integer, &c, &json!(500)).unwrap_err(),
        "value 500 is above the maximum 100"
    );
    assert_eq!(
        check_constraints(&TypeExpr::Integer, &c, &json!(0)).unwrap_err(),
        "value 0 is below the minimum 1"
    );
    let e = Constraints {
        enum_values: Some(vec![json!("emea"), json!("amer")]),
        ..Default::default()
    };
    assert!(check_constraints(&TypeExpr::String, &e, &json!("emea")).is_ok());
    assert!(check_constraints(&TypeExpr::String, &e, &json!("apac"))
        .unwrap_err()
        .contains("not one of the allowed values"));
    let list = TypeExpr::List(Box::new(TypeExpr::String));
    assert!(check_constraints(&list, &e, &json!(["emea", "amer"])).is_ok());
    assert!(check_constraints(&list, &e, &json!(["emea", "apac"])).is_err());
    let p = Constraints {
        pattern: Some("[a-z]+".into()),
        maximum: Some(3.0),
        ..Default::default()
    };
    assert!(check_constraints(&TypeExpr::String, &p, &json!("abc")).is_ok());
    assert!(check_constraints(&TypeExpr::String, &p, &json!("abcd"))
        .unwrap_err()
        .contains("length 4"));
    assert!(check_constraints(&TypeExpr::String, &p, &json!("ab1"))
        .unwrap_err()
        .contains("does not match"));
}

#[test]
fn yaml_bombs_and_garbage_do_not_panic() {
    for text in [
        "",
        "---\n",
        "[",
        "tools: [1, 2",
        "a: &x [*x, *x]\n",
        "tools:\n  t:\n    sql: \"\\u00\"\n",
        "tools:\n  t:\n    sql: |\n      SELECT '\n",
        "\t- x",
        "tools:\n  ? [a, b]\n  : 1\n",
        "sources: { s: { kind: file, path: '${' } }",
        "tools: { t: { sql: 'SELECT $1, ?' } }",
        "widgets: { w: { data: { d: { tool: [x] } } } }",
    ] {
        let _ = compile_tools(text);
    }
}

#[test]
fn rendered_lock_file_types_sql_offline() {
    use std::collections::BTreeMap;
    let mut tables = BTreeMap::new();
    tables.insert(
        "security_events".to_string(),
        vec![
            ("id".to_string(), "int64".to_string(), false),
            ("severity level".to_string(), "string".to_string(), true),
        ],
    );
    let mut locked = widgettdc_compiler::lock::Locked::default();
    locked.tables.insert("events".to_string(), tables);
    let lock = widgettdc_compiler::lock::render(&locked);
    let spec = "sources:\n  events:\n    kind: sqlite\n    path: events.db\ntools:\n  t:\n    sql: SELECT id, \"severity level\" FROM events.security_events\n";
    let (c, diags) = compile_files(
        vec![(PathBuf::from("spec.yaml"), spec.to_string())],
        Some(lock.clone()),
    );
    assert!(diags.is_empty(), "{diags:?}\n{lock}");
    let out = c.tools["t"].output.as_ref().unwrap();
    assert_eq!(out.field(0).data_type(), &DataType::Int64);
    assert!(!out.field(0).is_nullable());
    assert_eq!(out.field(1).name(), "severity level");
}

#[test]
fn locked_mcp_tools_type_the_sql_that_calls_them() {
    use widgettdc_compiler::mcp::{ToolArgument, ToolSignature};
    use widgettdc_grammar::TypeExpr;
    let mut locked = widgettdc_compiler::lock::Locked::default();
    let sig = ToolSignature {
        arguments: vec![
            ToolArgument {
                name: "timezone".into(),
                json_type: "string".into(),
                required: true,
            },
            ToolArgument {
                name: "days".into(),
                json_type: "integer".into(),
                required: false,
            },
        ],
        columns: Some(vec![
            ("datetime".into(), TypeExpr::String),
            ("is_dst".into(), TypeExpr::Boolean),
            ("tags".into(), TypeExpr::List(Box::new(TypeExpr::String))),
        ]),
    };
    locked.tools.insert(
        "clock".into(),
        [("get time".to_string(), sig)].into_iter().collect(),
    );
    let lock = widgettdc_compiler::lock::render(&locked);
    let spec = "sources:\n  clock:\n    kind: mcp\n    command: mcp-server-time\n  teams:\n    kind: file\n    path: teams.csv\n    columns: { team: string, timezone: string }\ntools:\n  t:\n    parameters:\n      tz: { type: string }\n      n: { type: integer, default: 1 }\n    sql: |\n      SELECT tm.team, \"get time\".is_dst, c.tags\n      FROM clock.\"get time\"(timezone => $tz, days => $n) c JOIN teams tm ON tm.timezone = $tz\n      CROSS JOIN clock.\"get time\"(timezone => 'UTC')\n";
    let (c, diags) = compile_files(
        vec![(PathBuf::from("spec.yaml"), spec.to_string())],
        Some(lock.clone()),
    );
    assert!(diags.is_empty(), "{diags:?}\n{lock}");
    let out = c.tools["t"].output.as_ref().unwrap();
    assert_eq!(out.field(0).name(), "team");
    assert_eq!(out.field(1).data_type(), &DataType::Boolean);
    assert!(matches!(out.field(2).data_type(), DataType::List(_)));
}

#[test]
fn insert_with_named_parameters_in_a_write_tool() {
    let (c, diags) = compile_tools(
        "tools:\n  add:\n    mode: write\n    parameters:\n      name: { type: string }\n      region: { type: string }\n    sql: INSERT INTO crm.customers (id, name, region) VALUES (1, $name, $region)\n",
    );
    assert!(diags.is_empty(), "{diags:?}");
    let t = &c.tools["add"];
    assert!(!t.read_only);
    assert_eq!(t.param("name").unwrap().inferred, Some(DataType::Utf8));
    let (_, diags) = compile_tools(
        "tools:\n  add:\n    mode: write\n    parameters:\n      name: { type: integer }\n    sql: INSERT INTO crm.customers (id, name) VALUES (1, $name)\n",
    );
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(diags[0].starts_with("E303"), "{diags:?}");
}
