//! Helpers shared by the end-to-end tests.

#![allow(dead_code)]

use serde_json::{Map, Value};

/// Write one record batch as a Parquet file (the parquet crate's default layout).
pub fn write_parquet(path: &std::path::Path, batch: &arrow::array::RecordBatch) {
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(path).unwrap(),
        batch.schema(),
        None,
    )
    .unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

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

/// Where `.ci/run` installs the npm tools the tests drive (MCP servers, the conformance suite,
/// the MCP Inspector, Node 22, TypeScript): `$WIDGETTDC_MCP_DIR`, default `~/.cache/widgettdc-mcp`.
pub fn mcp_dir() -> std::path::PathBuf {
    std::env::var_os("WIDGETTDC_MCP_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/widgettdc-mcp")
        })
}

/// A running `widgettdc serve` on a free loopback port, killed when dropped.
pub struct Server {
    pub child: std::process::Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `widgettdc serve -p DIR --listen 127.0.0.1:0 EXTRA...`, once it listens (the port is read
/// from its `listening on` line; its stderr is drained so it never blocks on a full pipe).
pub fn serve(dir: &std::path::Path, extra: &[&str]) -> Server {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_widgettdc"))
        .args(["serve", "-p"])
        .arg(dir)
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let port = loop {
        line.clear();
        if err.read_line(&mut line).unwrap() == 0 {
            let _ = child.kill();
            panic!("serve exited before listening");
        }
        if let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
            break rest
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap();
        }
    };
    std::thread::spawn(move || {
        let mut sink = String::new();
        while err.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
            sink.clear();
        }
    });
    Server { child, port }
}

#[path = "../support/pg.rs"]
mod pg;
#[allow(unused_imports)] // not every test binary talks to Postgres
pub use pg::psql;

/// Run a command of the binary, expecting success (its stderr is the failure message).
pub fn succeeds(cmd: &mut assert_cmd::Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
