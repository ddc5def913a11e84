//! Helpers shared by the end-to-end tests.

#![allow(dead_code)]

use serde_json::{Map, Value};

/// Run SQL in the mirror; rows as JSON objects (column names from SQLite).
pub fn sqlite_rows(
    db: &rusqlite::Connection,
    sql: &str,
    params: &[(&str, Value)],
) -> Vec<Map<String, Value>> {
    let mut stmt = db.prepare(sql).unwrap();
    for (name, v) in params {
        let idx = stmt
            .parameter_index(name)
            .unwrap()
            .unwrap_or_else(|| panic!("no parameter {name}"));
        match v {
            Value::String(s) => stmt.raw_bind_parameter(idx, s).unwrap(),
            Value::Number(n) if n.is_i64() => {
                stmt.raw_bind_parameter(idx, n.as_i64().unwrap()).unwrap()
            }
            Value::Null => stmt.raw_bind_parameter(idx, rusqlite::types::Null).unwrap(),
            other => panic!("unsupported parameter {other}"),
        }
    }
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(r) = rows.next().unwrap() {
        let mut m = Map::new();
        for (i, n) in names.iter().enumerate() {
            let v = match r.get_ref(i).unwrap() {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Integer(x) => Value::from(x),
                rusqlite::types::ValueRef::Real(x) => Value::from(x),
                rusqlite::types::ValueRef::Text(t) => {
                    Value::from(String::from_utf8_lossy(t).to_string())
                }
                rusqlite::types::ValueRef::Blob(_) => panic!("blob"),
            };
            m.insert(n.clone(), v);
        }
        out.push(m);
    }
    out
}

/// The binary, run from the workspace root, without colour, 200 columns wide.
pub fn widgettdc() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("widgettdc").expect("binary built");
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env("COLUMNS", "200");
    c
}

/// `widgettdc query -p DIR SQL --format json`, expecting success: the rows.
pub fn query_rows(dir: &std::path::Path, sql: &str) -> Vec<Map<String, Value>> {
    let out = widgettdc()
        .args([
            "query",
            "-p",
            dir.to_str().unwrap(),
            sql,
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&out.stdout)
        .unwrap()
        .into_iter()
        .map(|v| v.as_object().unwrap().clone())
        .collect()
}

/// `widgettdc query -p DIR SQL`, expecting exit code 1 and no panic: what it printed on stderr.
pub fn query_fails(dir: &std::path::Path, sql: &str) -> String {
    let out = widgettdc()
        .args(["query", "-p", dir.to_str().unwrap(), sql])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{sql}: {e}");
    assert!(!e.contains("panicked"), "{e}");
    e
}
