//! `widgettdc query`, `run` and `explain` end to end, through the binary, over the quickstart
//! (a YAML file, a SQLite database, a Parquet file). Results are compared with SQLite itself
//! running the same SQL on the same data: the quickstart's database attached as `events`, the
//! agents and metrics copied into tables (read with the `parquet` crate, not with widgettdc).

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::{Map, Value};

mod common;
use common::sqlite_rows;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn quickstart() -> PathBuf {
    root().join("examples/quickstart")
}

fn widgettdc() -> Command {
    let mut c = Command::cargo_bin("widgettdc").expect("binary built");
    c.current_dir(root())
        .env("NO_COLOR", "1")
        .env("COLUMNS", "120");
    c
}

/// Run the binary, expecting success, and parse its `--format json` output.
fn json_rows(args: &[&str]) -> Vec<Map<String, Value>> {
    let out = widgettdc()
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    v.as_array()
        .expect("an array")
        .iter()
        .map(|r| r.as_object().expect("row objects").clone())
        .collect()
}

/// Run the binary expecting exit code 1; return stderr.
fn fails(args: &[&str]) -> String {
    let out = widgettdc().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// The quickstart's data in one SQLite connection: `events` attached, `agents` from the YAML
/// file, `metrics` from the Parquet file.
fn mirror() -> rusqlite::Connection {
    let db = rusqlite::Connection::open_in_memory().unwrap();
    db.execute(
        "ATTACH DATABASE ?1 AS events",
        [quickstart().join("data/security.db").to_str().unwrap()],
    )
    .unwrap();
    db.execute_batch(
        "CREATE TABLE agents (id TEXT, name TEXT, team TEXT, status TEXT, started TEXT);
         CREATE TABLE metrics (agent_id TEXT, ts TEXT, cpu REAL, memory_mb REAL, requests INTEGER);",
    )
    .unwrap();
    // agents.yml rows look like `- { id: a-001, name: Atlas, team: platform, status: active, started: 2024-01-15 }`
    let yaml = std::fs::read_to_string(quickstart().join("data/agents.yml")).unwrap();
    let mut n = 0;
    for line in yaml.lines().filter(|l| l.trim_start().starts_with("- {")) {
        let inner = line.trim().trim_start_matches("- {").trim_end_matches('}');
        let fields: Vec<String> = inner
            .split(',')
            .map(|kv| kv.split_once(':').unwrap().1.trim().to_string())
            .collect();
        db.execute(
            "INSERT INTO agents VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params_from_iter(fields.iter()),
        )
        .unwrap();
        n += 1;
    }
    assert_eq!(n, 8);
    let file = std::fs::File::open(quickstart().join("data/metrics.parquet")).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let tx = db.unchecked_transaction().unwrap();
    for batch in reader {
        let b = batch.unwrap();
        use arrow::array::AsArray;
        use arrow::datatypes::{Float64Type, Int64Type, TimestampMicrosecondType};
        let agent = b.column(0).as_string::<i32>();
        let ts = b.column(1).as_primitive::<TimestampMicrosecondType>();
        let cpu = b.column(2).as_primitive::<Float64Type>();
        let mem = b.column(3).as_primitive::<Float64Type>();
        let req = b.column(4).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            let t = chrono::DateTime::from_timestamp_micros(ts.value(i))
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string();
            tx.execute(
                "INSERT INTO metrics VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![agent.value(i), t, cpu.value(i), mem.value(i), req.value(i)],
            )
            .unwrap();
        }
    }
    tx.commit().unwrap();
    db
}

/// Compare rows: same columns and values; numbers within 1e-9 relative; timestamps written as
/// `…Z` by SQLite and without it by widgettdc; widgettdc's JSON leaves NULLs out of objects.
fn assert_same(ours: &[Map<String, Value>], theirs: &[Map<String, Value>]) {
    assert_eq!(
        ours.len(),
        theirs.len(),
        "row counts differ\nours: {ours:?}\nsqlite: {theirs:?}"
    );
    assert!(!ours.is_empty(), "compare non-empty results");
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        for (k, bv) in b {
            let av = a.get(k).unwrap_or(&Value::Null);
            let same = match (av, bv) {
                (Value::Number(x), Value::Number(y)) => {
                    let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                    (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0)
                }
                (Value::String(x), Value::String(y)) => {
                    x.trim_end_matches('Z') == y.trim_end_matches('Z')
                }
                (x, y) => x == y,
            };
            assert!(
                same,
                "row {i}, column {k}: ours {av}, sqlite {bv}\nours: {a:?}\nsqlite: {b:?}"
            );
        }
    }
}

fn tool_sql(name: &str) -> String {
    let text = std::fs::read_to_string(quickstart().join("tools/agents.yaml")).unwrap();
    let start = text.find(&format!("  {name}:")).unwrap();
    let sql_start = text[start..].find("sql: |").unwrap() + start + "sql: |".len();
    text[sql_start..]
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("      ") || l.trim().is_empty())
        .map(|l| l.trim_start_matches("      "))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

const P: &str = "examples/quickstart";

#[test]
fn federated_query_matches_sqlite() {
    let sql = "SELECT a.name, a.team, e.severity, count(*) AS n, avg(m.cpu) AS cpu \
               FROM events.security_events e \
               JOIN agents a ON a.id = e.agent_id \
               JOIN (SELECT agent_id, avg(cpu) AS cpu FROM metrics GROUP BY agent_id) m ON m.agent_id = a.id \
               WHERE e.severity IN ('high', 'critical') \
               GROUP BY a.name, a.team, e.severity ORDER BY a.name, e.severity";
    let ours = json_rows(&["query", "--project", P, sql]);
    let theirs = sqlite_rows(&mirror(), sql, &[]);
    assert_same(&ours, &theirs);
}

#[test]
fn tools_match_sqlite_running_the_same_sql() {
    let db = mirror();
    // agent_health, all teams and one team (the optional parameter drops its predicate)
    let sql = tool_sql("agent_health");
    let all = json_rows(&["run", "--project", P, "agent_health"]);
    let theirs = sqlite_rows(&db, &sql.replace("WHERE a.team = $team", ""), &[]);
    assert_same(&all, &theirs);
    assert_eq!(all.len(), 8);
    let security = json_rows(&[
        "run",
        "--project",
        P,
        "agent_health",
        "--param",
        "team=security",
    ]);
    let theirs = sqlite_rows(&db, &sql, &[("$team", Value::from("security"))]);
    assert_same(&security, &theirs);
    assert_eq!(security.len(), 2);

    // security_events with every parameter given
    let sql = tool_sql("security_events");
    let ours = json_rows(&[
        "run",
        "--project",
        P,
        "security_events",
        "-P",
        "severity=high",
        "-P",
        "since=2026-11-10T00:00:00Z",
        "-P",
        "limit=25",
    ]);
    let theirs = sqlite_rows(
        &db,
        &sql,
        &[
            ("$severity", Value::from("high")),
            ("$since", Value::from("2026-11-10T00:00:00Z")),
            ("$limit", Value::from(25)),
        ],
    );
    assert_same(&ours, &theirs);
    assert_eq!(ours.len(), 25);

    // arguments as JSON, defaults filled in (severity medium, limit 50), `since` left out
    let ours = json_rows(&[
        "run",
        "--project",
        P,
        "security_events",
        "--params-json",
        "{}",
    ]);
    let theirs = sqlite_rows(
        &db,
        &sql.replace("AND e.ts >= $since", ""),
        &[
            ("$severity", Value::from("medium")),
            ("$limit", Value::from(50)),
        ],
    );
    assert_same(&ours, &theirs);
}

#[test]
fn list_parameters_and_stdlib_time_buckets() {
    let ours = json_rows(&[
        "run",
        "--project",
        P,
        "events_by_category",
        "-P",
        "agents=a-002,a-003",
        "-P",
        "hours=48",
    ]);
    // the same in SQLite: hour buckets by text truncation
    let theirs = sqlite_rows(
        &mirror(),
        "SELECT strftime('%Y-%m-%dT%H:00:00', e.ts) AS hour, e.category, e.severity, count(*) AS events
         FROM events.security_events e
         WHERE e.agent_id IN ('a-002', 'a-003')
           AND unixepoch(e.ts) >= (SELECT max(unixepoch(ts)) FROM events.security_events) - 48 * 3600
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        &[],
    );
    assert_same(&ours, &theirs);
    // an empty list matches nothing
    let none = json_rows(&[
        "run",
        "--project",
        P,
        "events_by_category",
        "-P",
        "agents=[]",
    ]);
    assert!(none.is_empty());
}

#[test]
fn output_formats_stream_the_same_rows() {
    let sql = "SELECT agent_id, ts, cpu FROM metrics WHERE requests > 250 ORDER BY ts, agent_id";
    let json = json_rows(&["query", "--project", P, sql]);
    let expected = sqlite_rows(
        &mirror(),
        "SELECT count(*) AS n FROM metrics WHERE requests > 250",
        &[],
    );
    assert_eq!(json.len() as i64, expected[0]["n"].as_i64().unwrap());

    let out = widgettdc()
        .args(["query", "-p", P, "-f", "csv", sql])
        .output()
        .unwrap();
    let csv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(csv.lines().next(), Some("agent_id,ts,cpu"));
    assert_eq!(csv.lines().count(), json.len() + 1);

    let out = widgettdc()
        .args(["query", "-p", P, "-f", "ndjson", sql])
        .output()
        .unwrap();
    let nd = String::from_utf8(out.stdout).unwrap();
    assert_eq!(nd.lines().count(), json.len());
    let first: Value = serde_json::from_str(nd.lines().next().unwrap()).unwrap();
    assert_eq!(first.as_object().unwrap(), &json[0]);

    let dir = tempfile();
    let pq = dir.join("out.parquet");
    widgettdc()
        .args([
            "query",
            "-p",
            P,
            "-f",
            "parquet",
            "-o",
            pq.to_str().unwrap(),
            sql,
        ])
        .assert()
        .success();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&pq).unwrap(),
    )
    .unwrap()
    .build()
    .unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, json.len());

    let out = widgettdc()
        .args(["query", "-p", P, "-f", "arrow", sql])
        .output()
        .unwrap();
    let reader =
        arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(out.stdout), None).unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, json.len());

    let out = widgettdc()
        .args([
            "query",
            "-p",
            P,
            "SELECT name, status FROM agents WHERE team = 'platform' ORDER BY name",
        ])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        table,
        "+--------+--------+\n\
         | name   | status |\n\
         +--------+--------+\n\
         | Atlas  | active |\n\
         | Forge  | active |\n\
         | Harbor | active |\n\
         +--------+--------+\n\
         3 rows\n"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn explain_shows_the_sql_sent_to_sqlite_and_the_parquet_pruning() {
    let out = widgettdc()
        .args([
            "explain", "-p", P,
            "SELECT id, severity FROM events.security_events WHERE severity = 'critical' AND agent_id IN ('a-001', 'a-002') LIMIT 3",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    assert!(
        text.contains(r#"SQL: SELECT "id", "severity" FROM "security_events" WHERE ("severity" = 'critical') AND (("agent_id" = 'a-001') OR ("agent_id" = 'a-002')) LIMIT 3"#),
        "{text}"
    );
    let out = widgettdc()
        .args([
            "explain",
            "--analyze",
            "-p",
            P,
            "SELECT count(*) FROM metrics WHERE ts >= '2026-11-01T20:00:00'",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("metrics.parquet"), "{text}");
    // 6 row groups of 2,048 rows (8 agents a minute) over the day; the last 4 hours (rows
    // 9,600 on) are in the last two, and all of the last one matches
    assert!(
        text.contains("row_groups_pruned_statistics=6 total → 2 matched -> 1 fully matched"),
        "{text}"
    );
}

#[test]
fn stdlib_functions_in_sql() {
    let rows = json_rows(&[
        "query",
        "-p",
        P,
        "SELECT time_bucket('6h', ts) AS bucket, count(*) AS n FROM metrics GROUP BY 1 ORDER BY 1",
    ]);
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r["n"] == 6 * 60 * 8));
    assert_eq!(rows[1]["bucket"], Value::from("2026-11-01T06:00:00"));
    let rows = json_rows(&[
        "query",
        "-p",
        P,
        r#"SELECT json_path('{"a": {"b": [10, 20]}}', '$.a.b[1]') AS v, ago('1h') < now() AS past"#,
    ]);
    assert_eq!(rows[0]["v"], Value::from("20"));
    assert_eq!(rows[0]["past"], Value::from(true));
}

fn tempfile() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let p = std::env::temp_dir().join(format!(
        "widgettdc-run-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&p).unwrap();
    p
}

/// A project in a temporary directory.
fn project(files: &[(&str, &[u8])]) -> PathBuf {
    let d = tempfile();
    for (name, bytes) in files {
        let p = d.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    d
}

fn spec(sources: &str) -> Vec<u8> {
    format!("version: 1\nsources:\n{sources}").into_bytes()
}

#[test]
fn missing_and_corrupt_sources_are_clear_errors() {
    let dir = project(&[
        (
            "sources.yaml",
            &spec(
                "  gone: { kind: file, path: data/gone.parquet }\n  bad: { kind: file, path: data/bad.parquet }\n  \
                 nums: { kind: file, path: data/nums.csv, columns: { id: int64, v: int64 } }\n  \
                 nodb: { kind: sqlite, path: data/none.db }\n  notdb: { kind: sqlite, path: data/bad.parquet }\n",
            ),
        ),
        ("data/bad.parquet", b"this is not parquet at all, just text bytes that go on and on"),
        ("data/nums.csv", b"id,v\n1,2\n2,oops\n"),
    ]);
    let d = dir.to_str().unwrap();
    let e = fails(&["query", "-p", d, "SELECT * FROM gone"]);
    assert!(
        e.contains("E601") && e.contains("data/gone.parquet") && e.contains("`gone`"),
        "{e}"
    );
    let e = fails(&["query", "-p", d, "SELECT * FROM bad"]);
    assert!(e.contains("E602") && e.contains("data/bad.parquet"), "{e}");
    let e = fails(&["query", "-p", d, "SELECT sum(v) FROM nums"]);
    assert!(e.contains("E602") && e.contains("oops"), "{e}");
    let e = fails(&["query", "-p", d, "SELECT * FROM nodb.t"]);
    assert!(
        e.contains("E601") && e.contains("data/none.db") && e.contains("does not exist"),
        "{e}"
    );
    let e = fails(&["query", "-p", d, "SELECT * FROM notdb.t"]);
    assert!(
        e.contains("E602") && e.contains("not a valid SQLite database"),
        "{e}"
    );
    // the sources that work still do
    let rows = json_rows(&["query", "-p", d, "SELECT 1 AS one"]);
    assert_eq!(rows[0]["one"], Value::from(1));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_locked_database_times_out_with_a_clear_error() {
    let dir = project(&[(
        "sources.yaml",
        &spec("  db: { kind: sqlite, path: data/db.sqlite, busy_timeout: 200ms }\n"),
    )]);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let path = dir.join("data/db.sqlite");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
        .unwrap();
    // hold an exclusive lock, as a writer in another process would
    conn.execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; UPDATE t SET x = 2;")
        .unwrap();
    let e = fails(&["query", "-p", dir.to_str().unwrap(), "SELECT * FROM db.t"]);
    assert!(e.contains("E601") && e.contains("lock"), "{e}");
    conn.execute_batch("COMMIT").unwrap();
    drop(conn);
    let rows = json_rows(&["query", "-p", dir.to_str().unwrap(), "SELECT x FROM db.t"]);
    assert_eq!(rows[0]["x"], Value::from(2));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_arguments_name_the_parameter_and_the_rule() {
    let e = fails(&["run", "-p", P, "security_events", "-P", "limit=lots"]);
    assert!(e.contains("E605") && e.contains("`limit`"), "{e}");
    let e = fails(&["run", "-p", P, "security_events", "-P", "limit=5000"]);
    assert!(
        e.contains("E606") && e.contains("above the maximum 1000"),
        "{e}"
    );
    let e = fails(&["run", "-p", P, "security_events", "-P", "severity=urgent"]);
    assert!(
        e.contains("E606") && e.contains("not one of the allowed values"),
        "{e}"
    );
    let e = fails(&["run", "-p", P, "security_events", "-P", "since=yesterday"]);
    assert!(e.contains("E605") && e.contains("`since`"), "{e}");
    let e = fails(&["run", "-p", P, "security_events", "-P", "limt=5"]);
    assert!(
        e.contains("E608") && e.contains("did you mean `limit`"),
        "{e}"
    );
    let e = fails(&["run", "-p", P, "events_by_category"]);
    assert!(e.contains("E607") && e.contains("`agents`"), "{e}");
    let e = fails(&["run", "-p", P, "security_event"]);
    assert!(
        e.contains("E604") && e.contains("did you mean `security_events`"),
        "{e}"
    );
    let e = fails(&["run", "-p", P, "security_events", "--params-json", "[1]"]);
    assert!(e.contains("JSON object"), "{e}");
    // several problems at once are all reported
    let e = fails(&[
        "run",
        "-p",
        P,
        "security_events",
        "-P",
        "limit=0",
        "-P",
        "severity=x",
    ]);
    assert!(
        e.contains("below the minimum 1") && e.contains("`x` is not one of"),
        "{e}"
    );
}

#[test]
fn queries_are_read_only_and_bad_sql_is_explained() {
    let e = fails(&["query", "-p", P, "DELETE FROM events.security_events"]);
    assert!(e.contains("E612"), "{e}");
    let e = fails(&["query", "-p", P, "CREATE TABLE x (a INT)"]);
    assert!(e.contains("E612"), "{e}");
    let e = fails(&["query", "-p", P, "SELECT nme FROM agents"]);
    assert!(e.contains("E609") && e.contains("nme"), "{e}");
    let e = fails(&["query", "-p", P, "SELEC 1"]);
    assert!(e.contains("E609"), "{e}");
    let e = fails(&["query", "-p", P, "SELECT * FROM nowhere"]);
    assert!(e.contains("E609") && e.contains("nowhere"), "{e}");
}

#[test]
fn files_of_every_format_are_tables() {
    let dir = project(&[
        (
            "sources.yaml",
            &spec(
                "  c: { kind: file, path: d/a.csv }\n  t: { kind: file, path: d/a.tsv }\n  \
                 n: { kind: file, path: d/a.ndjson }\n  j: { kind: file, path: d/a.json }\n  \
                 doc: { kind: file, path: d/doc.json, rows: '$.data.items[*]' }\n  \
                 y: { kind: file, path: d/list.yaml }\n  g: { kind: file, path: 'd/part-*.csv' }\n  \
                 na: { kind: file, path: d/na.csv, csv: { null: NA } }\n  \
                 broken: { kind: sqlite, path: d/nope.db }\n  \
                 crm: { kind: postgres, url: 'postgres://127.0.0.1:1/none', tables: { customers: { columns: { id: int64 } } } }\n  \
                 fs: { kind: mcp, command: /bin/true }\n",
            ),
        ),
        ("d/a.csv", b"k,v\na,1\nb,2\n"),
        ("d/a.tsv", b"k\tv\na\t1\nb\t2\n"),
        ("d/a.ndjson", b"{\"k\":\"a\",\"v\":1}\n{\"k\":\"b\",\"v\":2}\n"),
        ("d/a.json", b"[{\"k\":\"a\",\"v\":1},{\"k\":\"b\",\"v\":2}]"),
        ("d/doc.json", b"{\"data\":{\"items\":[{\"k\":\"a\",\"v\":1},{\"k\":\"b\",\"v\":2}]}}"),
        ("d/list.yaml", b"- {k: a, v: 1}\n- {k: b, v: 2}\n"),
        ("d/part-1.csv", b"k,v\na,1\n"),
        ("d/part-2.csv", b"k,v\nb,2\n"),
        ("d/na.csv", b"k,v\na,1\nb,NA\n"),
    ]);
    let d = dir.to_str().unwrap();
    for t in ["c", "t", "n", "j", "doc", "y", "g"] {
        let rows = json_rows(&[
            "query",
            "-p",
            d,
            &format!("SELECT k, v FROM {t} ORDER BY k"),
        ]);
        assert_eq!(rows.len(), 2, "{t}: {rows:?}");
        assert_eq!(rows[1]["k"], Value::from("b"), "{t}");
        assert_eq!(rows[1]["v"], Value::from(2), "{t}");
    }
    let rows = json_rows(&["query", "-p", d, "SELECT count(v) AS n FROM na"]);
    assert_eq!(rows[0]["n"], Value::from(1));
    // sources open on first use: the broken database, the postgres server that is down and the
    // MCP server that exits at once did not stop the queries above, and fail only when named
    let e = fails(&["query", "-p", d, "SELECT * FROM crm.customers"]);
    assert!(
        e.contains("E601") && e.contains("`crm`") && e.contains("127.0.0.1"),
        "{e}"
    );
    let e = fails(&["query", "-p", d, "SELECT * FROM fs.resources"]);
    assert!(
        e.contains("E601") && e.contains("`fs`") && e.contains("/bin/true"),
        "{e}"
    );
    let e = fails(&["query", "-p", d, "SELECT * FROM broken.t"]);
    assert!(e.contains("E601"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn built_in_tools_list_and_describe_tables() {
    let rows = json_rows(&["run", "-p", P, "events.list_tables"]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["table"], Value::from("security_events"));
    assert_eq!(rows[0]["columns"], Value::from(6));
    let rows = json_rows(&[
        "run",
        "-p",
        P,
        "events.describe_table",
        "-P",
        "table=security_events",
    ]);
    let cols: Vec<&str> = rows.iter().map(|r| r["column"].as_str().unwrap()).collect();
    assert_eq!(
        cols,
        ["id", "agent_id", "ts", "severity", "category", "message"]
    );
    assert_eq!(rows[0]["type"], Value::from("Int64"));
    // a file source's one table is the default
    let rows = json_rows(&["run", "-p", P, "agents.describe_table"]);
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[4]["type"], Value::from("Date32"));
    // the events source needs the table named
    let e = fails(&["run", "-p", P, "events.describe_table"]);
    assert!(e.contains("E607") && e.contains("`table`"), "{e}");
    let e = fails(&["run", "-p", P, "events.list_tabels"]);
    assert!(e.contains("E604"), "{e}");
    // a toolset opts in; compile lists the tool with its typed output
    let out = widgettdc()
        .args(["compile", "-p", P, "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["tools"]["events.describe_table"]["output"][1]["name"],
        Value::from("type")
    );
    assert!(v["toolsets"]["explore"]
        .as_array()
        .unwrap()
        .contains(&Value::from("events.list_tables")));
}

#[test]
fn check_types_sql_over_local_files_without_declared_columns() {
    let dir = project(&[
        (
            "sources.yaml",
            &spec("  sales: { kind: file, path: sales.csv }\n  db: { kind: sqlite, path: missing.db }\n"),
        ),
        ("sales.csv", b"region,amount\nemea,10\namer,20\n"),
        (
            "tools.yaml",
            b"tools:\n  by_region:\n    sql: SELECT regin, sum(amount) AS total FROM sales GROUP BY 1\n  from_db:\n    sql: SELECT * FROM db.t\n",
        ),
    ]);
    let out = widgettdc()
        .args(["check", "-p", dir.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    // the CSV's header typed the SQL: a misspelt column is found offline
    assert!(codes.contains(&"E203"), "{v}");
    // the missing database is a warning, and its tool is untyped
    assert!(codes.contains(&"E503") && codes.contains(&"E501"), "{v}");
    assert_eq!(out.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn schema_pull_reproduces_the_quickstart_lock() {
    let dir = tempfile();
    for sub in ["", "tools", "widgets", "data"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    for f in [
        "sources.yaml",
        "tools/agents.yaml",
        "widgets/board.yaml",
        "data/agents.yml",
        "data/security.db",
        "data/metrics.parquet",
    ] {
        std::fs::copy(quickstart().join(f), dir.join(f)).unwrap();
    }
    widgettdc()
        .args(["schema", "pull", "-p", dir.to_str().unwrap()])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(dir.join("schema.lock.yaml")).unwrap(),
        std::fs::read_to_string(quickstart().join("schema.lock.yaml")).unwrap()
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// The range server in tests/support, stopped on drop.
struct HttpServer {
    child: std::process::Child,
    port: u16,
    log: PathBuf,
}

impl HttpServer {
    fn start(dir: &std::path::Path) -> HttpServer {
        use std::io::BufRead;
        let log = dir.join("requests.log");
        let mut child = std::process::Command::new("python3")
            .arg(root().join("tests/support/range_server.py"))
            .arg(dir)
            .arg(&log)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        HttpServer {
            child,
            port: line.trim().parse().expect("the server prints its port"),
            log,
        }
    }
}

impl HttpServer {
    /// moto's S3 server (tests/support/s3_server.py) holding `dir`'s files in `bucket`.
    fn s3(dir: &std::path::Path, bucket: &str) -> HttpServer {
        use std::io::BufRead;
        let log = dir.with_extension("s3.log");
        let mut child = std::process::Command::new("python3")
            .arg(root().join("tests/support/s3_server.py"))
            .arg(dir)
            .arg(bucket)
            .arg(&log)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        HttpServer {
            child,
            port: line
                .trim()
                .parse()
                .expect("the S3 emulator prints its port (pip install 'moto[server]')"),
            log,
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn files_over_http_are_tables() {
    let served = tempfile();
    std::fs::copy(
        quickstart().join("data/metrics.parquet"),
        served.join("metrics.parquet"),
    )
    .unwrap();
    std::fs::write(served.join("a.csv"), "k,v\na,1\nb,NA\n").unwrap();
    let server = HttpServer::start(&served);
    let base = format!("http://127.0.0.1:{}", server.port);
    let dir = project(&[(
        "sources.yaml",
        &spec(&format!(
            "  m: {{ kind: file, path: '{base}/metrics.parquet' }}\n  \
             c: {{ kind: file, path: '{base}/a.csv', csv: {{ null: NA }}, headers: {{ X-Token: s3cret }} }}\n  \
             gone: {{ kind: file, path: '{base}/nope.parquet' }}\n"
        )),
    )]);
    let d = dir.to_str().unwrap();
    // the same answer as the local file
    let sql = "SELECT agent_id, count(*) AS n, sum(requests) AS r FROM {t} GROUP BY 1 ORDER BY 1";
    let remote = json_rows(&["query", "-p", d, &sql.replace("{t}", "m")]);
    let local = json_rows(&["query", "-p", P, &sql.replace("{t}", "metrics")]);
    assert_eq!(remote, local);
    let rows = json_rows(&["query", "-p", d, "SELECT k, v FROM c ORDER BY k"]);
    assert_eq!(rows[1]["v"], Value::Null);
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(log.contains("/a.csv token=s3cret"), "{log}");
    let e = fails(&["query", "-p", d, "SELECT * FROM gone"]);
    assert!(
        e.contains("E601") && e.contains("HTTP 404") && e.contains("`gone`"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(served);
}

#[test]
fn files_in_s3_are_tables() {
    let served = tempfile();
    std::fs::copy(
        quickstart().join("data/metrics.parquet"),
        served.join("metrics.parquet"),
    )
    .unwrap();
    std::fs::create_dir_all(served.join("logs")).unwrap();
    std::fs::write(served.join("logs/a.csv"), "k,v\na,1\nb,NA\n").unwrap();
    std::fs::write(served.join("logs/b.csv"), "k,v\nc,3\n").unwrap();
    std::fs::write(served.join("logs/notes.txt"), "not a csv\n").unwrap();
    let server = HttpServer::s3(&served, "wt-data");
    let s3 = format!(
        "{{ endpoint: 'http://127.0.0.1:{}', region: us-east-1, access_key_id: wtkey, \
         secret_access_key: '${{secret:s3_secret}}', allow_http: true }}",
        server.port
    );
    let dir = project(&[
        (
            "sources.yaml",
            &spec(&format!(
                "  m: {{ kind: file, path: 's3://wt-data/metrics.parquet', s3: {s3} }}\n  \
                 logs: {{ kind: file, path: 's3://wt-data/logs/', format: csv, csv: {{ null: NA }}, s3: {s3} }}\n  \
                 gone: {{ kind: file, path: 's3://wt-data/nope.parquet', s3: {s3} }}\n  \
                 nobucket: {{ kind: file, path: 's3://wt-none/x.parquet', s3: {s3} }}\n  \
                 plain: {{ kind: file, path: 's3://wt-data/metrics.parquet', s3: {{ endpoint: 'http://127.0.0.1:{}' }} }}\n  \
                 events: {{ kind: sqlite, path: '{}' }}\n",
                server.port,
                root().join(P).join("data/security.db").display()
            )),
        ),
        ("secrets.yaml", b"s3_secret: wtsecret\n"),
    ]);
    let d = dir.to_str().unwrap();
    // the same answer as the local file, read with ranged GETs signed with the spec's key
    let sql = "SELECT agent_id, count(*) AS n, sum(requests) AS r FROM {t} \
               WHERE cpu > 50 GROUP BY 1 ORDER BY 1";
    let remote = json_rows(&["query", "-p", d, &sql.replace("{t}", "m")]);
    let local = json_rows(&["query", "-p", P, &sql.replace("{t}", "metrics")]);
    assert!(!local.is_empty());
    assert_eq!(remote, local);
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(
        log.contains("GET /wt-data/metrics.parquet") && log.contains("range=bytes="),
        "{log}"
    );
    assert!(
        log.contains("key=wtkey") && !log.contains("key=None"),
        "{log}"
    );
    // a prefix is a directory: its .csv files, not the others
    let rows = json_rows(&["query", "-p", d, "SELECT k, v FROM logs ORDER BY k"]);
    let got: Vec<(Value, Value)> = rows
        .iter()
        .map(|r| (r["k"].clone(), r["v"].clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Value::from("a"), Value::from(1)),
            (Value::from("b"), Value::Null),
            (Value::from("c"), Value::from(3)),
        ]
    );
    // an S3 file joined with a local SQLite database: the quickstart's answer
    let sql =
        "SELECT e.severity, count(*) AS n, max({t}.cpu) AS cpu FROM events.security_events e \
               JOIN {t} ON {t}.agent_id = e.agent_id AND {t}.ts = date_trunc('minute', e.ts) \
               GROUP BY 1 ORDER BY 1";
    let remote = json_rows(&["query", "-p", d, &sql.replace("{t}", "m")]);
    let local = json_rows(&["query", "-p", P, &sql.replace("{t}", "metrics")]);
    assert!(!local.is_empty());
    assert_eq!(remote, local);
    let e = fails(&["query", "-p", d, "SELECT * FROM gone"]);
    assert!(
        e.contains("E601") && e.contains("no such key") && e.contains("`gone`"),
        "{e}"
    );
    let e = fails(&["query", "-p", d, "SELECT * FROM nobucket"]);
    assert!(e.contains("E601") && e.contains("`nobucket`"), "{e}");
    let e = fails(&["query", "-p", d, "SELECT * FROM plain"]);
    assert!(e.contains("allow_http"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(served);
}

/// A new directory with `big.db`, whose table `items` has ids 1..=n.
fn big_items(tag: &str, n: usize) -> (PathBuf, rusqlite::Connection) {
    let dir = std::env::temp_dir().join(format!("wt-sqlite-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = rusqlite::Connection::open(dir.join("big.db")).unwrap();
    db.execute_batch(&format!(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, grp TEXT NOT NULL, v INTEGER NOT NULL);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
         INSERT INTO items SELECT i, 'g' || (i % 7), (i * 37) % 1000 FROM n;"
    ))
    .unwrap();
    (dir, db)
}

/// A Parquet file of one non-null Int64 column.
fn write_int64_parquet(
    path: &std::path::Path,
    column: &str,
    values: impl IntoIterator<Item = i64>,
) {
    use arrow::array::{Int64Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};
    let schema = Schema::new(vec![Field::new(column, DataType::Int64, false)]);
    let batch = RecordBatch::try_new(
        std::sync::Arc::new(schema),
        vec![std::sync::Arc::new(Int64Array::from_iter_values(values))],
    )
    .unwrap();
    common::write_parquet(path, &batch);
}

/// A file source `name` in the project in `dir`: `<name>.parquet`, one non-null Int64 column.
fn parquet_source(
    dir: &std::path::Path,
    name: &str,
    column: &str,
    values: impl IntoIterator<Item = i64>,
) {
    write_int64_parquet(&dir.join(format!("{name}.parquet")), column, values);
    std::fs::write(
        dir.join(format!("{name}.yaml")),
        format!("sources:\n  {name}: {{ kind: file, path: {name}.parquet }}\n"),
    )
    .unwrap();
}

/// What `widgettdc explain --analyze` prints for `sql` over the project in `dir`.
fn explain_analyze(dir: &std::path::Path, sql: &str) -> String {
    let out = widgettdc()
        .args(["explain", "--analyze", "-p", dir.to_str().unwrap(), sql])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}");
    text
}

/// `small.db` in `dir`: a table `picked` of 5 item ids (17 twice, and 500000, which no table has)
/// with labels.
fn picked_items(dir: &std::path::Path) {
    let small = rusqlite::Connection::open(dir.join("small.db")).unwrap();
    small
        .execute_batch(
            "CREATE TABLE picked (item INTEGER NOT NULL, label TEXT NOT NULL);
             INSERT INTO picked VALUES (17, 'a'), (4242, 'b'), (199999, 'c'), (17, 'd'), (500000, 'e');",
        )
        .unwrap();
}

/// A large SQLite table without a LIMIT is read in rowid ranges, one statement per partition
/// (in parallel): the answers are the same as SQLite's own, gaps in the rowids included.
#[test]
fn a_large_sqlite_table_is_read_in_parallel_rowid_ranges() {
    let (dir, db) = big_items("split", 250_000);
    db.execute_batch("DELETE FROM items WHERE id % 10 = 3;")
        .unwrap();
    std::fs::write(
        dir.join("spec.yaml"),
        "version: 1\nsources:\n  big: { kind: sqlite, path: big.db }\n",
    )
    .unwrap();
    let p = dir.to_str().unwrap();
    let sql = "SELECT grp, count(*) AS n, sum(v) AS total, min(id) AS lo, max(id) AS hi FROM big.items WHERE v > 100 GROUP BY grp ORDER BY grp";
    let ours = common::query_rows(&dir, sql);
    let theirs = sqlite_rows(
        &db,
        "SELECT grp, count(*) AS n, sum(v) AS total, min(id) AS lo, max(id) AS hi FROM items WHERE v > 100 GROUP BY grp ORDER BY grp",
        &[],
    );
    assert_eq!(ours, theirs);
    if std::thread::available_parallelism().map_or(1, |n| n.get()) > 1 {
        let out = widgettdc()
            .args([
                "explain",
                "-p",
                p,
                "SELECT count(*) AS n FROM big.items WHERE v > 100",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("(rowid ranges)"), "{text}");
    }
    // a LIMIT reaches SQLite whole: one statement
    let out = widgettdc()
        .args(["explain", "-p", p, "SELECT id FROM big.items LIMIT 5"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("LIMIT 5") && !text.contains("rowid ranges"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A join tells the SQLite scan on its probe side which keys can match: the statement SQLite
/// runs gets them as `IN (...)`, so only those rows are read; the answers stay SQLite's own.
#[test]
fn a_join_narrows_the_sqlite_scan_on_its_probe_side_at_run_time() {
    let (dir, db) = big_items("dynamic", 200_000);
    picked_items(&dir);
    std::fs::write(
        dir.join("spec.yaml"),
        "version: 1\nsources:\n  big: { kind: sqlite, path: big.db }\n  small: { kind: sqlite, path: small.db }\n",
    )
    .unwrap();
    let sql = "SELECT p.label, i.id, i.grp, i.v FROM small.picked p JOIN big.items i ON i.id = p.item ORDER BY p.label";
    let ours = common::query_rows(&dir, sql);
    db.execute_batch(&format!(
        "ATTACH '{}' AS small",
        dir.join("small.db").display()
    ))
    .unwrap();
    let theirs = sqlite_rows(
        &db,
        "SELECT p.label, i.id, i.grp, i.v FROM small.picked p JOIN items i ON i.id = p.item ORDER BY p.label",
        &[],
    );
    assert_eq!(ours.len(), 4);
    assert_eq!(ours, theirs);
    let text = explain_analyze(&dir, sql);
    let learnt = text
        .lines()
        .find(|l| l.contains("plus what a join learnt at run time"))
        .unwrap_or_else(|| panic!("no run-time filter reached SQLite:\n{text}"));
    assert!(
        learnt.contains("\"id\" IN (") && learnt.contains("4242") && learnt.contains("199999"),
        "{learnt}"
    );
    // SQLite returned the matching rows, not the table
    let items = text
        .lines()
        .skip_while(|l| !l.contains("FROM \"items\""))
        .find(|l| l.contains("metrics:"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(items.contains("output_rows=3"), "{items}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A project whose file schemas are read when it loads can be loaded from inside an async
/// function (before, the schema read blocked a runtime's thread and tokio panicked).
#[test]
fn a_project_loads_inside_an_async_runtime() {
    let dir = tempfile();
    parquet_source(&dir, "t", "x", 1..=3);
    let env = widgettdc_compiler::decode::Env::from_vars(std::iter::empty::<(String, String)>());
    for flavour in ["current_thread", "multi_thread"] {
        let exec = if flavour == "current_thread" {
            tokio::runtime::Builder::new_current_thread()
        } else {
            tokio::runtime::Builder::new_multi_thread()
        }
        .enable_all()
        .build()
        .unwrap();
        let n = exec.block_on(async {
            let rt = widgettdc_runtime::Runtime::load(
                &dir,
                &env,
                &widgettdc_runtime::Options::default(),
            )
            .expect("the project loads");
            let batches = rt
                .query("SELECT sum(x) AS s FROM t")
                .await
                .unwrap()
                .collect()
                .await
                .unwrap();
            batches[0]
                .column(0)
                .as_any()
                .downcast_ref::<arrow::array::Int64Array>()
                .unwrap()
                .value(0)
        });
        assert_eq!(n, 6, "{flavour}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A Parquet file's statistics (which answer `count(*)` and guide the join planner) are
/// computed once and kept in the runtime's cache, not on every scan; a file rewritten between
/// queries is read anew, so the count is the new file's.
#[test]
fn parquet_statistics_are_kept_until_the_file_changes() {
    use arrow::array::AsArray;
    use arrow::datatypes::Int64Type;
    let dir = tempfile();
    let path = dir.join("t.parquet");
    let write = |n: i64| write_int64_parquet(&path, "x", 1..=n);
    parquet_source(&dir, "t", "x", 1..=3);
    let env = widgettdc_compiler::decode::Env::from_vars(std::iter::empty::<(String, String)>());
    let rt = widgettdc_runtime::Runtime::load(&dir, &env, &widgettdc_runtime::Options::default())
        .expect("the project loads");
    let exec = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let count_and_max = || {
        let batches = exec.block_on(async {
            rt.query("SELECT count(*) AS n, max(x) AS m FROM t")
                .await
                .unwrap()
                .collect()
                .await
                .unwrap()
        });
        let b = &batches[0];
        (
            b.column(0).as_primitive::<Int64Type>().value(0),
            b.column(1).as_primitive::<Int64Type>().value(0),
        )
    };
    assert_eq!(count_and_max(), (3, 3));
    let cache = rt
        .context()
        .runtime_env()
        .cache_manager
        .get_file_statistic_cache()
        .expect("the runtime has a statistics cache");
    assert_eq!(cache.len(), 1, "the file's statistics are kept");
    assert_eq!(count_and_max(), (3, 3));
    write(5);
    assert_eq!(count_and_max(), (5, 5), "the rewritten file is read anew");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A Parquet scan on a join's probe side filters rows while decoding when the join's run-time
/// filter keeps few of the file's rows (`sources::parquet_row_filter`): 3 of the 200,000 ids.
/// When the filter keeps more (2 of 1,000 groups), the file is read as DataFusion reads it by
/// default. The answers are the same either way.
#[test]
fn a_selective_join_filter_narrows_the_parquet_scan_while_decoding() {
    use arrow::array::{Int64Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;
    let dir = tempfile();
    let n = 200_000i64;
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("grp", DataType::Int64, false),
        Field::new("v", DataType::Int64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(1..=n)),
            Arc::new(Int64Array::from_iter_values((1..=n).map(|i| i % 1000))),
            Arc::new(Int64Array::from_iter_values(
                (1..=n).map(|i| (i * 37) % 1000),
            )),
        ],
    )
    .unwrap();
    common::write_parquet(&dir.join("big.parquet"), &batch);
    picked_items(&dir);
    std::fs::write(
        dir.join("spec.yaml"),
        "version: 1\nsources:\n  big: { kind: file, path: big.parquet }\n  small: { kind: sqlite, path: small.db }\n",
    )
    .unwrap();
    let scan_metrics = |sql: &str| {
        let text = explain_analyze(&dir, sql);
        let scan = text
            .lines()
            .skip_while(|l| !l.contains("big.parquet"))
            .find(|l| l.contains("metrics:"))
            .unwrap_or_else(|| panic!("no metrics of the Parquet scan:\n{text}"))
            .to_string();
        (text, scan)
    };

    // a few ids: a row filter, and only the matching rows leave the scan
    let by_id = "SELECT p.label, b.id, b.v FROM small.picked p JOIN big b ON b.id = p.item ORDER BY p.label";
    let rows = common::query_rows(&dir, by_id);
    let got: Vec<(String, i64, i64)> = rows
        .iter()
        .map(|r| {
            (
                r["label"].as_str().unwrap().to_string(),
                r["id"].as_i64().unwrap(),
                r["v"].as_i64().unwrap(),
            )
        })
        .collect();
    let v = |i: i64| (i * 37) % 1000;
    assert_eq!(
        got,
        vec![
            ("a".to_string(), 17, v(17)),
            ("b".to_string(), 4242, v(4242)),
            ("c".to_string(), 199999, v(199999)),
            ("d".to_string(), 17, v(17)),
        ]
    );
    let (text, scan) = scan_metrics(by_id);
    assert!(text.contains("row_filter=when_selective"), "{text}");
    assert!(metric(&scan, "files_row_filtered") >= 1, "{scan}");
    assert_eq!(metric(&scan, "output_rows"), 3, "{scan}");

    // 2 keys (17 and 4242) for a column of 1,000 values (0.2%): decoded whole, but the rows
    // whose key is not listed are dropped in the scan, so the aggregate above it never sees them
    let by_group = "SELECT b.grp, count(*) AS n, sum(b.v) AS v FROM big b JOIN (SELECT DISTINCT item FROM small.picked WHERE item < 5000) p ON b.grp = p.item GROUP BY b.grp ORDER BY b.grp";
    let rows = common::query_rows(&dir, by_group);
    let got: Vec<(i64, i64, i64)> = rows
        .iter()
        .map(|r| {
            (
                r["grp"].as_i64().unwrap(),
                r["n"].as_i64().unwrap(),
                r["v"].as_i64().unwrap(),
            )
        })
        .collect();
    let want_v: i64 = (1..=n).filter(|i| i % 1000 == 17).map(v).sum();
    assert_eq!(got, vec![(17, 200, want_v)], "{rows:?}");
    let (_, scan) = scan_metrics(by_group);
    assert_eq!(metric(&scan, "files_row_filtered"), 0, "{scan}");
    assert!(metric(&scan, "files_prefiltered") >= 1, "{scan}");
    assert_eq!(metric(&scan, "output_rows"), 200, "{scan}");
    assert_eq!(
        metric(&scan, "rows_dropped_by_prefilter"),
        199_800,
        "{scan}"
    );

    // 100 keys of the 1,000 (10%): the join alone drops the rows
    parquet_source(&dir, "keys", "k", 0..100);
    let by_many = "SELECT count(*) AS n FROM big b JOIN keys k ON b.grp = k.k";
    let rows = common::query_rows(&dir, by_many);
    assert_eq!(rows[0]["n"], serde_json::Value::from(20_000), "{rows:?}");
    let (_, scan) = scan_metrics(by_many);
    assert_eq!(metric(&scan, "files_prefiltered"), 0, "{scan}");
    assert_eq!(metric(&scan, "output_rows"), 200_000, "{scan}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The value of metric `name` in a line of `explain --analyze` (`output_rows=200.0 K`), 0 if
/// the line has none.
fn metric(line: &str, name: &str) -> u64 {
    let Some(at) = line.find(&format!("{name}=")) else {
        return 0;
    };
    let value: String = line[at + name.len() + 1..]
        .chars()
        .take_while(|c| !matches!(c, ',' | ']'))
        .collect();
    let value = value.trim();
    let (number, scale) = match value.split_once(' ') {
        Some((n, "K")) => (n, 1e3),
        Some((n, "M")) => (n, 1e6),
        _ => (value, 1.0),
    };
    let number: f64 = number
        .parse()
        .unwrap_or_else(|_| panic!("{name}={value} is not a count"));
    (number * scale).round() as u64
}

/// A correlated `= (SELECT min(...) ...)` becomes a join with an aggregate grouped by the
/// correlated column. Its run-time filter is on that column alone (the aggregate's result is
/// checked as the join's filter: `aggregate_keys.rs`), so it passes the aggregate and SQLite
/// returns the rows of the outer query's 3 groups, not the table. The answers are SQLite's own.
#[test]
fn a_correlated_minimum_reads_only_the_groups_the_outer_query_needs() {
    let dir = tempfile();
    let db = rusqlite::Connection::open(dir.join("big.db")).unwrap();
    db.execute_batch(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, grp INTEGER NOT NULL, v INTEGER NOT NULL);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
         INSERT INTO items SELECT i, i % 1000, (i * 37) % 1009 FROM n;
         CREATE TABLE picked (item INTEGER NOT NULL);
         INSERT INTO picked VALUES (17), (4242), (1000), (199999);
         UPDATE items SET v = 0 WHERE id IN (1017, 4242);",
    )
    .unwrap();
    std::fs::write(
        dir.join("spec.yaml"),
        "version: 1\nsources:\n  big: { kind: sqlite, path: big.db }\n",
    )
    .unwrap();
    let sql = "SELECT i.id, i.grp, i.v FROM big.picked p JOIN big.items i ON i.id = p.item \
               WHERE i.v = (SELECT min(j.v) FROM big.items j WHERE j.grp = i.grp) ORDER BY i.id";
    let ours = common::query_rows(&dir, sql);
    let theirs = sqlite_rows(
        &db,
        "SELECT i.id, i.grp, i.v FROM picked p JOIN items i ON i.id = p.item \
         WHERE i.v = (SELECT min(j.v) FROM items j WHERE j.grp = i.grp) ORDER BY i.id",
        &[],
    );
    assert_eq!(ours, theirs);
    assert_eq!(
        ours.len(),
        1,
        "only 4242 holds its group's minimum: {ours:?}"
    );
    let text = explain_analyze(&dir, sql);
    // the aggregate's scan: the groups of the outer rows (17, 242, 0, 999), 200 rows each
    let learnt = text
        .lines()
        .find(|l| l.contains("plus what a join learnt at run time") && l.contains("\"grp\" IN ("))
        .unwrap_or_else(|| panic!("no run-time filter reached the aggregate's scan:\n{text}"));
    assert!(learnt.contains("242") && learnt.contains("999"), "{learnt}");
    let scans: Vec<u64> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("metrics:") || l.contains("metrics:"))
        .map(|l| metric(l, "output_rows"))
        .collect();
    assert!(scans.contains(&800), "{text}");
    assert!(
        !scans.contains(&200_000),
        "no scan reads the whole table:\n{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A SQLite table whose filter runs in SQLite is estimated at the rows the filter keeps (with
/// DataFusion's default selectivity, as a filter over a file is), so the join builds its hash
/// table from it and not from a larger table beside it.
#[test]
fn a_filtered_sqlite_table_is_estimated_at_the_rows_it_returns() {
    // 100,000 items (a seventh of them in group g3) and 50,000 visits
    let (dir, db) = big_items("estimate", 100_000);
    drop(db);
    write_int64_parquet(&dir.join("visits.parquet"), "item", 1..=50_000);
    std::fs::write(
        dir.join("spec.yaml"),
        "version: 1\nsources:\n  big: { kind: sqlite, path: big.db }\n  visits: { kind: file, path: visits.parquet }\n",
    )
    .unwrap();
    let sql =
        "SELECT count(*) AS n FROM visits v JOIN big.items i ON v.item = i.id WHERE i.grp = 'g3'";
    let rows = common::query_rows(&dir, sql);
    let want = (1..=50_000).filter(|i| i % 7 == 3).count();
    assert_eq!(rows[0]["n"], Value::from(want));
    // the build side (the join's first input) is the filtered SQLite table: about 20,000
    // estimated rows, against the 50,000 visits
    let text = explain_analyze(&dir, sql);
    let plan: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Physical plan"))
        .collect();
    let at = |what: &str| {
        plan.iter()
            .position(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what}:\n{text}"))
    };
    assert!(at("HashJoinExec") < at("SqliteExec"), "{text}");
    assert!(at("SqliteExec") < at("visits.parquet"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A CTE read twice (TPC-H q15's shape: the aggregate is both joined and the source of a scalar
/// subquery's maximum) is computed once: the second copy reads the first one's batches.
#[test]
fn an_aggregate_read_twice_is_computed_once() {
    let dir = tempfile();
    parquet_source(&dir, "facts", "v", 1..=100_000);
    let sql = "WITH per AS (SELECT v % 7 AS g, sum(v) AS total FROM facts GROUP BY v % 7) \
               SELECT g, total FROM per WHERE total = (SELECT max(total) FROM per)";
    let rows = common::query_rows(&dir, sql);
    let sums: Vec<i64> = (0..7)
        .map(|g| (1..=100_000i64).filter(|v| v % 7 == g).sum())
        .collect();
    let max = *sums.iter().max().unwrap();
    let group = sums.iter().position(|s| *s == max).unwrap() as i64;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["g"].as_i64(), Some(group), "{rows:?}");
    assert_eq!(rows[0]["total"].as_i64(), Some(max), "{rows:?}");

    let text = explain_analyze(&dir, sql);
    assert!(
        text.contains("Shared: #1 (computed once for 2 readers)"),
        "{text}"
    );
    let copies: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("SharedExec: #1 readers=2"))
        .collect();
    assert_eq!(copies.len(), 2, "{text}");
    // one copy computed every partition, the other computed none and read them all
    let computed: u64 = copies
        .iter()
        .map(|l| metric(l, "partitions_computed"))
        .sum();
    let shared: u64 = copies.iter().map(|l| metric(l, "partitions_shared")).sum();
    assert!(computed >= 1, "{text}");
    assert_eq!(computed, shared, "{text}");
    assert!(
        copies.iter().any(|l| metric(l, "partitions_computed") == 0),
        "{text}"
    );
    // the file was read once: only one scan has metrics of rows
    let scanned: u64 = text
        .lines()
        .filter(|l| l.contains("DataSourceExec") && l.contains("facts.parquet"))
        .map(|l| metric(l, "output_rows"))
        .sum();
    assert_eq!(scanned, 100_000, "{text}");

    // both sides of a join read one computation (the build side computes, the probe side
    // waits for it): each group next to the following one
    let pairs = "WITH per AS (SELECT v % 7 AS g, sum(v) AS total FROM facts GROUP BY v % 7) \
                 SELECT a.g, b.total - a.total AS diff FROM per a JOIN per b ON b.g = a.g + 1 ORDER BY a.g";
    let rows = common::query_rows(&dir, pairs);
    let got: Vec<(i64, i64)> = rows
        .iter()
        .map(|r| (r["g"].as_i64().unwrap(), r["diff"].as_i64().unwrap()))
        .collect();
    let want: Vec<(i64, i64)> = (0..6).map(|g| (g as i64, sums[g + 1] - sums[g])).collect();
    assert_eq!(got, want);
    let text = explain_analyze(&dir, pairs);
    assert_eq!(
        text.matches("SharedExec: #1 readers=2").count(),
        2,
        "{text}"
    );

    // an aggregate of random values is not shared: each copy has its own
    let volatile =
        "WITH per AS (SELECT v % 7 AS g, sum(v * random()) AS total FROM facts GROUP BY v % 7) \
                    SELECT count(*) AS n FROM per WHERE total <= (SELECT max(total) FROM per)";
    let text = explain_analyze(&dir, volatile);
    assert!(!text.contains("SharedExec"), "{text}");
}
