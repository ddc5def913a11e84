//! Postgres and MariaDB sources against the real servers on the machine (127.0.0.1:5432, user
//! postgres, database `test`; 127.0.0.1:3306, root). Each run creates its own Postgres schemas
//! and MariaDB database, named after the process, and drops them afterwards. `.ci/run` starts
//! the servers if they are down.
//!
//! One query joins Postgres (two schemas), MariaDB, SQLite, Parquet and YAML; its answer is
//! compared with SQLite running the same query over the same rows in one database.

use std::path::PathBuf;
use std::process::Command as Process;
use std::sync::Arc;

use assert_cmd::Command;
use serde_json::{Map, Value};

mod common;

fn sqlite_rows(db: &rusqlite::Connection, sql: &str) -> Vec<Map<String, Value>> {
    common::sqlite_rows(db, sql, &[])
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn widgettdc() -> Command {
    let mut c = Command::cargo_bin("widgettdc").expect("binary built");
    c.current_dir(root())
        .env("NO_COLOR", "1")
        .env("COLUMNS", "200");
    c
}

use common::psql;

/// A query's rows as text (`psql -At`).
fn psql_rows(sql: &str) -> String {
    let out = Process::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-At",
            "-c",
            sql,
        ])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn mariadb(sql: &str) -> String {
    let out = Process::new("mariadb")
        .args(["-h", "127.0.0.1", "-u", "root", "-N", "-B", "-e", sql])
        .output()
        .expect("mariadb runs");
    assert!(
        out.status.success(),
        "mariadb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// The per-run schemas, databases and files; dropped at the end.
struct Fixture {
    name: String,
    dir: PathBuf,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let n = &self.name;
        let _ = Process::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc"])
            .arg(format!(
                "DROP SCHEMA IF EXISTS {n} CASCADE; DROP SCHEMA IF EXISTS {n}_sales CASCADE;"
            ))
            .output();
        let _ = Process::new("mariadb")
            .args(["-h", "127.0.0.1", "-u", "root", "-e"])
            .arg(format!("DROP DATABASE IF EXISTS {n}"))
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const CUSTOMERS: &[(i64, &str, &str, &str, &str)] = &[
    (1, "Ann", "emea", "120.50", "2026-01-05T10:00:00Z"),
    (2, "Bob", "amer", "80.00", "2026-01-06T11:30:00Z"),
    (3, "Cho", "apac", "300.25", "2026-02-01T09:15:00Z"),
    (4, "Dee", "emea", "15.75", "2026-02-10T16:45:00Z"),
    (5, "Eli", "amer", "0.00", "2026-03-01T00:00:00Z"),
];
const ORDERS: &[(i64, i64, &str)] = &[
    (1, 1, "10.00"),
    (2, 1, "22.50"),
    (3, 2, "5.25"),
    (4, 3, "100.00"),
    (5, 3, "7.75"),
    (6, 4, "60.00"),
    (7, 5, "1.00"),
    (8, 2, "14.00"),
];
const REGIONS: &[(&str, &str)] = &[
    ("emea", "Europe"),
    ("amer", "Americas"),
    ("apac", "Asia Pacific"),
];
const TARGETS: &[(&str, &str)] = &[("emea", "50.00"), ("amer", "40.00"), ("apac", "90.00")];
const REFUNDS: &[(i64, f64)] = &[(2, 2.5), (4, 10.0), (8, 4.0)];
const MANAGERS: &[(&str, &str)] = &[("emea", "Ines"), ("amer", "Omar"), ("apac", "Yuki")];

/// A SQLite source `name` in the fixture's project: `data/<name>.db`, made by `sql`.
fn sqlite_source(f: &Fixture, name: &str, sql: &str) {
    let db = rusqlite::Connection::open(f.dir.join(format!("data/{name}.db"))).unwrap();
    db.execute_batch(sql).unwrap();
    std::fs::write(
        f.dir.join(format!("{name}.yaml")),
        format!("sources:\n  {name}: {{ kind: sqlite, path: data/{name}.db }}\n"),
    )
    .unwrap();
}

fn fixture(tag: &str) -> Fixture {
    let name = format!("wt_{tag}_{}", std::process::id());
    let dir = std::env::temp_dir().join(&name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let f = Fixture {
        name: name.clone(),
        dir: dir.clone(),
    };

    let customers: Vec<String> = CUSTOMERS
        .iter()
        .map(|(id, n, r, c, t)| {
            format!("({id}, '{n}', '{r}', {c}, '{t}', '{{\"tier\": {id}}}', ARRAY['t{id}', 'x'], '{}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1{id}')", if id % 2 == 0 { "sad" } else { "ok" })
        })
        .collect();
    let targets: Vec<String> = TARGETS
        .iter()
        .map(|(r, t)| format!("('{r}', {t})"))
        .collect();
    psql(&format!(
        "DROP SCHEMA IF EXISTS {name} CASCADE; DROP SCHEMA IF EXISTS {name}_sales CASCADE;
         CREATE SCHEMA {name}; CREATE SCHEMA {name}_sales;
         CREATE TYPE {name}.mood AS ENUM ('ok', 'sad');
         CREATE TABLE {name}.customers (id int PRIMARY KEY, name text NOT NULL, region text, credit numeric(10,2),
           created timestamptz, meta jsonb, tags text[], mood {name}.mood, uid uuid);
         INSERT INTO {name}.customers VALUES {};
         CREATE TABLE {name}_sales.targets (region text PRIMARY KEY, target numeric(10,2));
         INSERT INTO {name}_sales.targets VALUES {};",
        customers.join(", "),
        targets.join(", ")
    ));
    let orders: Vec<String> = ORDERS
        .iter()
        .map(|(i, c, a)| format!("({i}, {c}, {a})"))
        .collect();
    mariadb(&format!(
        "DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name};
         CREATE TABLE {name}.orders (id INT PRIMARY KEY, customer_id INT NOT NULL, amount DECIMAL(10,2));
         INSERT INTO {name}.orders VALUES {};",
        orders.join(", ")
    ));
    let db = rusqlite::Connection::open(dir.join("data/regions.db")).unwrap();
    db.execute_batch("CREATE TABLE regions (code TEXT PRIMARY KEY, name TEXT NOT NULL)")
        .unwrap();
    for (c, n) in REGIONS {
        db.execute("INSERT INTO regions VALUES (?1, ?2)", [c, n])
            .unwrap();
    }
    drop(db);
    {
        use arrow::array::{Float64Array, Int64Array};
        use arrow::datatypes::{DataType, Field, Schema};
        let schema = Arc::new(Schema::new(vec![
            Field::new("order_id", DataType::Int64, false),
            Field::new("refunded", DataType::Float64, false),
        ]));
        let batch = arrow::record_batch::RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(
                    REFUNDS.iter().map(|r| r.0).collect::<Vec<_>>(),
                )),
                Arc::new(Float64Array::from(
                    REFUNDS.iter().map(|r| r.1).collect::<Vec<_>>(),
                )),
            ],
        )
        .unwrap();
        common::write_parquet(&dir.join("data/refunds.parquet"), &batch);
    }
    let managers: String = MANAGERS
        .iter()
        .map(|(r, m)| format!("- {{ region: {r}, manager: {m} }}\n"))
        .collect();
    std::fs::write(dir.join("data/managers.yaml"), managers).unwrap();
    std::fs::write(
        dir.join("sources.yaml"),
        format!(
            "version: 1
sources:
  crm:
    kind: postgres
    url: postgres://postgres@127.0.0.1:5432/test
    schema: {name}
    tls: {{ mode: disable }}
    pool: {{ max_size: 4 }}
  shop:
    kind: mysql
    host: 127.0.0.1
    port: 3306
    user: root
    database: {name}
    tls: {{ mode: disable }}
  geo: {{ kind: sqlite, path: data/regions.db }}
  refunds: {{ kind: file, path: data/refunds.parquet }}
  managers: {{ kind: file, path: data/managers.yaml }}
tools:
  customer_orders:
    parameters:
      region: {{ type: string }}
      min_amount: {{ type: number, default: 0 }}
    sql: |
      SELECT c.name, count(*) AS orders, sum(o.amount) AS total
      FROM crm.customers c JOIN shop.orders o ON o.customer_id = c.id
      WHERE c.region = $region AND o.amount >= $min_amount
      GROUP BY c.name ORDER BY c.name
  customer:
    parameters:
      id: {{ type: integer }}
    sql: SELECT id, name, credit, created, meta, tags, mood, uid FROM crm.customers WHERE id = $id
  top_customers:
    parameters:
      region: {{ type: string, required: false }}
      since: {{ type: timestamp }}
      ids: {{ type: list<integer>, required: false }}
      n: {{ type: integer, default: 10 }}
    sql: |
      SELECT name, credit, upper(region) AS area FROM crm.customers
      WHERE region = $region AND created >= $since AND id IN ($ids) AND name LIKE '%'
      ORDER BY credit DESC LIMIT $n
  orders_of:
    parameters:
      customer: {{ type: integer }}
      min: {{ type: number, default: 0 }}
    sql: SELECT id, amount FROM shop.orders WHERE customer_id = $customer AND amount >= $min ORDER BY id
  bucketed:
    sql: SELECT time_bucket('1d', created) AS day, count(*) AS n FROM crm.customers GROUP BY 1 ORDER BY 1
"
        ),
    )
    .unwrap();
    f
}

fn json_rows(dir: &str, sql: &str) -> Vec<Map<String, Value>> {
    let out = widgettdc()
        .args(["query", "-p", dir, "-f", "json", sql])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_object().unwrap().clone())
        .collect()
}

/// The same rows in one SQLite database, with the same table names.
fn mirror(name: &str) -> rusqlite::Connection {
    let db = rusqlite::Connection::open_in_memory().unwrap();
    for schema in ["crm", "shop", "geo", &format!("{name}_sales")] {
        db.execute(&format!("ATTACH DATABASE ':memory:' AS \"{schema}\""), [])
            .unwrap();
    }
    db.execute_batch(&format!(
        "CREATE TABLE crm.customers (id INTEGER, name TEXT, region TEXT, credit REAL, created TEXT);
         CREATE TABLE \"{name}_sales\".targets (region TEXT, target REAL);
         CREATE TABLE shop.orders (id INTEGER, customer_id INTEGER, amount REAL);
         CREATE TABLE geo.regions (code TEXT, name TEXT);
         CREATE TABLE refunds (order_id INTEGER, refunded REAL);
         CREATE TABLE managers (region TEXT, manager TEXT);"
    ))
    .unwrap();
    for (id, n, r, c, t) in CUSTOMERS {
        db.execute(
            "INSERT INTO crm.customers VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![id, n, r, c.parse::<f64>().unwrap(), t],
        )
        .unwrap();
    }
    for (r, t) in TARGETS {
        db.execute(
            &format!("INSERT INTO \"{name}_sales\".targets VALUES (?1, ?2)"),
            rusqlite::params![r, t.parse::<f64>().unwrap()],
        )
        .unwrap();
    }
    for (i, c, a) in ORDERS {
        db.execute(
            "INSERT INTO shop.orders VALUES (?1, ?2, ?3)",
            rusqlite::params![i, c, a.parse::<f64>().unwrap()],
        )
        .unwrap();
    }
    for (c, n) in REGIONS {
        db.execute("INSERT INTO geo.regions VALUES (?1, ?2)", [c, n])
            .unwrap();
    }
    for (o, r) in REFUNDS {
        db.execute(
            "INSERT INTO refunds VALUES (?1, ?2)",
            rusqlite::params![o, r],
        )
        .unwrap();
    }
    for (r, m) in MANAGERS {
        db.execute("INSERT INTO managers VALUES (?1, ?2)", [r, m])
            .unwrap();
    }
    db
}

/// Numbers compare as numbers (decimals come back as JSON strings or numbers).
fn num(v: &Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

fn assert_same(ours: &[Map<String, Value>], theirs: &[Map<String, Value>]) {
    assert_eq!(
        ours.len(),
        theirs.len(),
        "ours: {ours:?}\nsqlite: {theirs:?}"
    );
    assert!(!ours.is_empty());
    for (a, b) in ours.iter().zip(theirs) {
        for (k, bv) in b {
            let av = a.get(k).unwrap_or(&Value::Null);
            let same = match (num(av), num(bv)) {
                (Some(x), Some(y)) => (x - y).abs() < 1e-9,
                _ => av == bv,
            };
            assert!(
                same,
                "column {k}: ours {av}, sqlite {bv}\nours: {a:?}\nsqlite: {b:?}"
            );
        }
    }
}

#[test]
fn postgres_mariadb_sqlite_parquet_and_yaml_in_one_query() {
    let f = fixture("join");
    let d = f.dir.to_str().unwrap();
    let name = &f.name;
    let sql = format!(
        "SELECT g.name AS region, m.manager, c.name AS customer, count(*) AS orders,
                sum(o.amount) AS total, sum(coalesce(r.refunded, 0)) AS refunded, t.target
         FROM crm.customers c
         JOIN shop.orders o ON o.customer_id = c.id
         JOIN geo.regions g ON g.code = c.region
         JOIN managers m ON m.region = c.region
         JOIN crm.{name}_sales.targets t ON t.region = c.region
         LEFT JOIN refunds r ON r.order_id = o.id
         WHERE o.amount > 5
         GROUP BY g.name, m.manager, c.name, t.target
         ORDER BY g.name, c.name"
    );
    let ours = json_rows(d, &sql);
    let theirs = sqlite_rows(
        &mirror(name),
        &sql.replace(
            &format!("crm.{name}_sales.targets"),
            &format!("\"{name}_sales\".targets"),
        ),
    );
    assert_same(&ours, &theirs);

    // the parts that touch one database run there, with their filters
    let out = widgettdc()
        .args(["explain", "-p", d, &sql])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("`o`.`amount` > 5"), "{text}");
    assert!(
        text.contains(&format!("FROM \"{name}\".\"customers\"")),
        "{text}"
    );
    // customers and targets (two schemas of one Postgres) join each other, not the tables
    // written between them: Postgres runs their join as one statement
    assert!(
        text.lines().any(|l| l.contains("SQL:")
            && l.contains("\"customers\"")
            && l.contains("JOIN")
            && l.contains("\"targets\"")),
        "{text}"
    );
}

#[test]
fn a_query_on_one_database_runs_there_whole() {
    let f = fixture("whole");
    let d = f.dir.to_str().unwrap();
    let sql = "SELECT region, count(*) AS n, sum(credit) AS credit FROM crm.customers WHERE credit > 10 GROUP BY region ORDER BY region";
    let ours = json_rows(d, sql);
    let theirs = sqlite_rows(&mirror(&f.name), sql);
    assert_same(&ours, &theirs);
    let out = widgettdc()
        .args(["explain", "-p", d, sql])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("GROUP BY") && text.contains("> 10"), "{text}");

    // MariaDB's own log shows the statement it received: the filter is in it
    mariadb("SET GLOBAL log_output = 'TABLE'; SET GLOBAL general_log = 'ON'");
    let rows = json_rows(
        d,
        "SELECT id, amount FROM shop.orders WHERE amount >= 60 ORDER BY id",
    );
    mariadb("SET GLOBAL general_log = 'OFF'");
    assert_eq!(rows.len(), 2);
    let logged = mariadb(&format!(
        "SELECT CONVERT(argument USING utf8mb4) FROM mysql.general_log WHERE command_type IN ('Query', 'Prepare', 'Execute') AND argument LIKE '%{}%orders%'",
        f.name
    ));
    assert!(logged.contains("60"), "MariaDB received: {logged}");
    assert!(
        logged.to_uppercase().contains("WHERE"),
        "MariaDB received: {logged}"
    );
}

#[test]
fn types_map_to_arrow_and_tools_bind_parameters() {
    let f = fixture("types");
    let d = f.dir.to_str().unwrap();
    let rows = json_rows(
        d,
        "SELECT id, credit, created, meta, tags, mood, uid FROM crm.customers WHERE id = 3",
    );
    let r = &rows[0];
    assert_eq!(num(&r["credit"]), Some(300.25));
    assert!(
        r["created"]
            .as_str()
            .unwrap()
            .starts_with("2026-02-01T09:15:00"),
        "{r:?}"
    );
    assert_eq!(r["meta"], Value::from("{\"tier\": 3}"));
    assert_eq!(r["tags"], serde_json::json!(["t3", "x"]));
    assert_eq!(r["mood"], Value::from("ok"));
    assert_eq!(
        r["uid"],
        Value::from("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13")
    );

    let out = common::succeeds(widgettdc().args([
        "run",
        "-p",
        d,
        "customer_orders",
        "-P",
        "region=amer",
        "-P",
        "min_amount=5",
        "-f",
        "json",
    ]));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Bob: orders 3 (5.25) and 8 (14.00); Eli's 1.00 is below the minimum
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v[0]["name"], Value::from("Bob"));
    assert_eq!(num(&v[0]["total"]), Some(19.25));
}

#[test]
fn faults_name_the_source() {
    let f = fixture("faults");
    let d = f.dir.to_str().unwrap();
    // a table missing from the database
    let out = widgettdc()
        .args(["query", "-p", d, "SELECT * FROM crm.gone"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(e.contains("E609") && e.contains("crm.gone"), "{e}");
    // a wrong password
    std::fs::write(
        f.dir.join("bad.yaml"),
        "sources:\n  locked: { kind: mysql, url: 'mysql://nobody:wrong@127.0.0.1:3306/x', tls: { mode: disable } }\n",
    )
    .unwrap();
    let out = widgettdc()
        .args(["query", "-p", d, "SELECT * FROM locked.t"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(
        e.contains("E601") && e.contains("`locked`") && !e.contains("wrong@"),
        "{e}"
    );
}

#[test]
fn schema_pull_writes_the_lock_that_check_uses_offline() {
    let f = fixture("pull");
    let d = f.dir.to_str().unwrap();
    // a tool over a table that has no declared columns: untyped until the lock exists
    std::fs::write(
        f.dir.join("tools.yaml"),
        format!("tools:\n  credit_by_region:\n    sql: SELECT region, sum(credit) AS credit FROM crm.customers GROUP BY region\n  targets:\n    sql: SELECT region, target FROM crm.{}_sales.targets\n", f.name),
    )
    .unwrap();
    let out = widgettdc()
        .args(["check", "-p", d, "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.to_string().contains("E501"), "{v}");

    common::succeeds(widgettdc().args(["schema", "pull", "-p", d]));
    let lock = std::fs::read_to_string(f.dir.join("schema.lock.yaml")).unwrap();
    for expected in [
        "id: { type: int32, nullable: false }",
        "credit: decimal(10, 2)",
        "tags: list<string>",
        "created: timestamp",
        "amount: decimal(10, 2)",
        "refunded: { type: float64, nullable: false }",
        "code: string",
        "name: { type: string, nullable: false }",
        // a schema other than the source's own, named only by a tool
        &format!("{}_sales.targets:", f.name),
        "region: { type: string, nullable: false }",
        "target: decimal(10, 2)",
    ] {
        assert!(lock.contains(expected), "{expected} not in\n{lock}");
    }
    // offline now: the SQL is typed from the lock
    let out = common::succeeds(
        widgettdc()
            .args(["compile", "-p", d, "--format", "json"])
            .env("PGHOST", "127.0.0.1"),
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["tools"]["credit_by_region"]["output"][1]["type"],
        Value::from("Decimal128(20, 2)"),
        "{v}"
    );
    assert_eq!(
        v["tools"]["targets"]["output"][1]["type"],
        Value::from("Decimal128(10, 2)"),
        "{v}"
    );
    // drift: the live table changes after the pull; `check --live` says where
    psql(&format!(
        "ALTER TABLE {0}.customers ADD COLUMN segment text; ALTER TABLE {0}.customers ALTER COLUMN credit TYPE numeric(12,3)",
        f.name
    ));
    let out = widgettdc()
        .args(["check", "-p", d, "--live", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let drift: Vec<&Value> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "E504")
        .collect();
    let text = Value::Array(drift.iter().map(|d| (*d).clone()).collect()).to_string();
    assert_eq!(drift.len(), 2, "{v}");
    assert!(
        text.contains("segment") && text.contains("decimal(12, 3)"),
        "{text}"
    );
    assert!(drift
        .iter()
        .all(|d| d["file"].as_str().unwrap().ends_with("schema.lock.yaml")));
    // offline `check` is unaware (the lock is what it knows)
    let out = widgettdc()
        .args(["check", "-p", d, "--format", "json"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("E504"));

    // a source that cannot be read keeps its old entries
    std::fs::write(
        f.dir.join("sources2.yaml"),
        "sources:\n  down: { kind: postgres, url: 'postgres://postgres@127.0.0.1:1/x', tls: { mode: disable } }\n",
    )
    .unwrap();
    let lock_path = f.dir.join("schema.lock.yaml");
    let mut lock = std::fs::read_to_string(&lock_path).unwrap();
    lock.push_str("  down:\n    tables:\n      kept:\n        columns:\n          k: int64\n");
    std::fs::write(&lock_path, lock).unwrap();
    let out = widgettdc()
        .args(["schema", "pull", "-p", d])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`down`"));
    let again = std::fs::read_to_string(&lock_path).unwrap();
    // the readable sources are refreshed, the unreadable one keeps its entries
    assert!(
        again.contains("credit: decimal(12, 3)") && again.contains("segment: string"),
        "{again}"
    );
    assert!(
        again.contains("kept:") && again.contains("k: int64"),
        "{again}"
    );
}

#[test]
fn a_reader_that_stops_early_stops_the_query() {
    let f = fixture("cancel");
    let d = f.dir.to_str().unwrap();
    psql(&format!(
        "CREATE TABLE {}.big AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 2000000) g",
        f.name
    ));
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("widgettdc"))
        .args(["query", "-p", d, "-f", "csv", "SELECT * FROM crm.big"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        assert_eq!(lines.next().unwrap().unwrap(), "id,h");
        // a row (the table is read in ranges of its pages at once: any row can come first)
        let row = lines.next().unwrap().unwrap();
        assert!(
            row.split_once(',')
                .is_some_and(|(id, h)| id.parse::<i64>().is_ok() && h.len() == 32),
            "{row}"
        );
        // the reader goes away here, as `| head -2` would
    }
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(started.elapsed().as_secs() < 30, "widgettdc did not stop");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    // and Postgres is not left running it
    let out = Process::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-tAc"])
        .arg(format!(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%{}%big%' AND pid <> pg_backend_pid()",
            f.name
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
}

#[test]
fn views_are_tables_and_the_statement_timeout_stops_slow_queries() {
    let f = fixture("slow");
    let d = f.dir.to_str().unwrap();
    psql(&format!(
        "CREATE VIEW {0}.emea AS SELECT id, name FROM {0}.customers WHERE region = 'emea';
         CREATE VIEW {0}.slow AS SELECT 1 AS id FROM pg_sleep(5);",
        f.name
    ));
    mariadb(&format!(
        "CREATE VIEW {0}.slow AS SELECT SLEEP(5) AS x",
        f.name
    ));
    let rows = json_rows(d, "SELECT name FROM crm.emea ORDER BY name");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["name"], Value::from("Ann"));
    std::fs::write(
        f.dir.join("slow.yaml"),
        format!(
            "sources:\n  slowpg: {{ kind: postgres, url: 'postgres://postgres@127.0.0.1:5432/test', schema: {0}, tls: {{ mode: disable }}, timeout: 300ms }}\n  \
             slowmy: {{ kind: mysql, url: 'mysql://root@127.0.0.1:3306/{0}', tls: {{ mode: disable }}, timeout: 300ms }}\n",
            f.name
        ),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let out = widgettdc()
        .args(["query", "-p", d, "SELECT * FROM slowpg.slow"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(
        e.contains("statement timeout") && e.contains("`timeout:`"),
        "{e}"
    );
    assert!(
        started.elapsed().as_secs() < 4,
        "the 5 s view was not cut short"
    );
    // MariaDB stops its statement at the limit too (SET STATEMENT max_statement_time ... FOR)
    let started = std::time::Instant::now();
    let out = widgettdc()
        .args(["query", "-p", d, "SELECT * FROM slowmy.slow"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(
        e.contains("max_statement_time") && e.contains("`timeout:`") && e.contains("E610"),
        "{e}"
    );
    assert!(
        started.elapsed().as_secs() < 4,
        "the 5 s MariaDB view was not cut short"
    );
    // without `timeout:` the same source waits for the view
    let rows = json_rows(d, "SELECT count(*) AS n FROM shop.orders");
    assert_eq!(rows[0]["n"], Value::from(ORDERS.len()));
}

/// The fixture's project loaded in-process, and a runtime to drive it.
fn loaded(f: &Fixture) -> (widgettdc_runtime::Runtime, tokio::runtime::Runtime) {
    let env = widgettdc_compiler::decode::Env::from_vars(std::iter::empty::<(String, String)>());
    let rt = widgettdc_runtime::Runtime::load(&f.dir, &env, &widgettdc_runtime::Options::default())
        .expect("project loads");
    let exec = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    (rt, exec)
}

#[test]
fn postgres_receives_the_filter_order_and_limit() {
    let f = fixture("pgsql");
    let (rt, exec) = loaded(&f);
    let names = exec.block_on(async {
        let df = rt
            .query("SELECT name FROM crm.customers WHERE credit > 100 ORDER BY name LIMIT 1")
            .await
            .expect("plans");
        let batches = df.collect().await.expect("runs");
        arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string()
    });
    assert!(names.contains("Ann") && !names.contains("Cho"), "{names}");
    // the runtime's pool still holds its connections: Postgres shows the last statement each
    // of them received, as the server parsed it
    let received = psql_rows(&format!(
        "SELECT query FROM pg_stat_activity WHERE pid <> pg_backend_pid() \
         AND query LIKE '%{}%customers%'",
        f.name
    ));
    let upper = received.to_uppercase();
    assert!(
        upper.contains("WHERE") && upper.contains("> 100") && upper.contains("LIMIT 1"),
        "Postgres received: {received}"
    );
    assert!(upper.contains("ORDER BY"), "Postgres received: {received}");
    drop(rt);
}

/// `explain --analyze` of `sql` in the fixture's project: the whole text, and the lines from
/// the first that `starts` to the next blank one (one source's part of "What each source is
/// asked").
fn analyzed(f: &Fixture, sql: &str, starts: impl Fn(&str) -> bool) -> (String, String) {
    let out = common::succeeds(widgettdc().args([
        "explain",
        "--analyze",
        "-p",
        f.dir.to_str().unwrap(),
        sql,
    ]));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let part = text
        .lines()
        .skip_while(|l| !starts(l))
        .take_while(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    (text, part)
}

#[test]
fn postgres_estimates_let_a_small_postgres_side_narrow_a_big_sqlite_scan() {
    let f = fixture("estimates");
    let mut db = rusqlite::Connection::open(f.dir.join("data/big.db")).unwrap();
    db.execute_batch("CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
        .unwrap();
    let tx = db.transaction().unwrap();
    {
        let mut insert = tx.prepare("INSERT INTO items VALUES (?1, ?2)").unwrap();
        for i in 1..=150_000i64 {
            insert
                .execute(rusqlite::params![i, format!("v{i}")])
                .unwrap();
        }
    }
    tx.commit().unwrap();
    drop(db);
    std::fs::write(
        f.dir.join("big.yaml"),
        "sources:\n  big: { kind: sqlite, path: data/big.db }\n",
    )
    .unwrap();
    // the big table first: without an estimate of the Postgres side, DataFusion would build
    // its hash table from the 150,000 rows and probe with the two customers
    let sql = "SELECT i.id, i.v, c.name FROM big.items i JOIN crm.customers c ON i.id = c.id \
               WHERE c.region = 'emea' ORDER BY i.id";
    let rows = common::query_rows(&f.dir, sql);
    let ids: Vec<&Value> = rows.iter().map(|r| &r["id"]).collect();
    assert_eq!(ids, [&Value::from(1), &Value::from(4)]);
    assert_eq!(rows[1]["name"], Value::from("Dee"));
    assert_eq!(rows[1]["v"], Value::from("v4"));
    // the customers' ids reached SQLite, which returned only their rows
    let (text, items) = analyzed(&f, sql, |l| l.contains("FROM \"items\""));
    assert!(
        items.contains("plus what a join learnt at run time"),
        "{text}"
    );
    assert!(items.contains("output_rows=2"), "{text}");
}

#[test]
fn a_join_narrows_what_postgres_sends_at_run_time() {
    let f = fixture("learnt");
    // 60,000 events in Postgres, two of them wanted by a small SQLite table: the join reads the
    // SQLite side first, and its keys reach Postgres inside the statement (a bigint key, as
    // SQLite's integers: a key cast on the Postgres side would be filtered in DataFusion)
    psql(&format!(
        "CREATE TABLE {n}.events (id bigint PRIMARY KEY, kind text NOT NULL, code uuid NOT NULL);
         INSERT INTO {n}.events SELECT g, 'k' || (g % 7), md5(g::text)::uuid FROM generate_series(1, 60000) g;
         ANALYZE {n}.events;",
        n = f.name
    ));
    sqlite_source(
        &f,
        "wanted",
        "CREATE TABLE wanted (event INTEGER PRIMARY KEY, note TEXT NOT NULL);
         INSERT INTO wanted VALUES (17, 'first'), (59999, 'last');",
    );
    let sql = "SELECT e.id, e.kind, w.note FROM crm.events e \
               JOIN wanted.wanted w ON w.event = e.id ORDER BY e.id";
    let rows = common::query_rows(&f.dir, sql);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["id"], Value::from(17));
    assert_eq!(rows[0]["kind"], Value::from("k3"));
    assert_eq!(rows[1]["id"], Value::from(59999));
    assert_eq!(rows[1]["note"], Value::from("last"));
    let (text, events) = analyzed(&f, sql, |l| l.contains("SQL:") && l.contains("events"));
    // the keys went into the statement, and Postgres sent back only their rows
    assert!(
        events.contains("plus what a join learnt at run time") && events.contains("IN (17, 59999)"),
        "{text}"
    );
    assert!(events.contains("rows received: 2\n"), "{text}");
    // as Postgres received it: a runtime's pool keeps its connections, which Postgres shows
    // with the last statement each received
    let (rt, exec) = loaded(&f);
    let n = exec.block_on(async {
        let df = rt.query(sql).await.expect("plans");
        df.collect()
            .await
            .expect("runs")
            .iter()
            .map(|b| b.num_rows())
            .sum::<usize>()
    });
    assert_eq!(n, 2);
    let received = psql_rows(&format!(
        "SELECT query FROM pg_stat_activity WHERE pid <> pg_backend_pid() \
         AND query LIKE '%{}%events%AS \"wt_learnt\"(%'",
        f.name
    ));
    assert!(received.contains("IN (17, 59999)"), "{received}");
    drop(rt);

    // text keys are compared as text (a uuid column too), never as a range
    let db = rusqlite::Connection::open(f.dir.join("data/wanted.db")).unwrap();
    let code = psql_rows(&format!("SELECT code FROM {}.events WHERE id = 42", f.name));
    let code = code.trim();
    db.execute_batch(&format!(
        "CREATE TABLE codes (code TEXT NOT NULL); INSERT INTO codes VALUES ('{code}'), ('not-a-uuid');"
    ))
    .unwrap();
    drop(db);
    let rows = common::query_rows(
        &f.dir,
        "SELECT e.id FROM crm.events e JOIN wanted.codes c ON c.code = e.code",
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["id"], Value::from(42));

    // many keys go as one array constant (Postgres parses an IN list item by item): 400 ids,
    // and 300 codes as text (299 of them events' uuids)
    let db = rusqlite::Connection::open(f.dir.join("data/wanted.db")).unwrap();
    db.execute_batch(
        "CREATE TABLE many (event INTEGER NOT NULL);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
         INSERT INTO many SELECT i * 150 FROM n;
         CREATE TABLE many_codes (code TEXT NOT NULL);",
    )
    .unwrap();
    let codes = psql_rows(&format!(
        "SELECT code FROM {}.events WHERE id % 200 = 0 ORDER BY id",
        f.name
    ));
    let mut insert = db.prepare("INSERT INTO many_codes VALUES (?1)").unwrap();
    for code in codes.lines().map(str::trim).filter(|c| !c.is_empty()) {
        insert.execute([code]).unwrap();
    }
    insert.execute(["not-a-uuid \"'"]).unwrap();
    drop(insert);
    drop(db);
    let sql = "SELECT count(*) AS n, sum(e.id) AS s FROM crm.events e JOIN wanted.many m ON m.event = e.id";
    let rows = common::query_rows(&f.dir, sql);
    // 150, 300, ..., 60,000
    assert_eq!(rows[0]["n"], Value::from(400), "{rows:?}");
    assert_eq!(rows[0]["s"], Value::from(150 * 400 * 401 / 2), "{rows:?}");
    let (text, events) = analyzed(&f, sql, |l| l.contains("SQL:") && l.contains("events"));
    // (explain shortens the statement: the array's type is checked by pg_learnt's unit tests;
    // a wrong one would have failed the statement)
    assert!(events.contains(r#"("id" = ANY ('{150,300,450,"#), "{text}");
    assert!(events.contains("rows received: 400\n"), "{text}");
    let sql = "SELECT count(*) AS n FROM crm.events e JOIN wanted.many_codes c ON c.code = e.code";
    let rows = common::query_rows(&f.dir, sql);
    assert_eq!(rows[0]["n"], Value::from(300), "{rows:?}");
    let (text, events) = analyzed(&f, sql, |l| l.contains("SQL:") && l.contains("events"));
    // the quote and the backslash of the last key reached Postgres intact, or the statement
    // would have failed
    assert!(events.contains(r#"("code"::text = ANY ('{""#), "{text}");
    assert!(events.contains("rows received: 300\n"), "{text}");
}

#[test]
fn postgres_types_each_parameter_or_the_statement_goes_the_providers_way() {
    use arrow::datatypes::{DataType, Field, Schema};
    use widgettdc_runtime::sources::database::DatabaseSchema;
    use widgettdc_runtime::sources::pg_statement::PgStatement;
    let f = fixture("pgparams");
    let (rt, exec) = loaded(&f);
    exec.block_on(async {
        // connect the source's pool
        let args = serde_json::json!({"id": 3}).as_object().unwrap().clone();
        rt.tool_frame("customer", &args).await.expect("plans");
        let pool = rt
            .context()
            .catalog("datafusion")
            .and_then(|c| c.schema("crm"))
            .and_then(|s| {
                s.downcast_ref::<DatabaseSchema>()
                    .and_then(|db| db.postgres_connections())
            })
            .expect("a connected postgres source");
        let statement = |sql: String, t: DataType, column: &str, out: DataType| {
            let schema = Arc::new(Schema::new(vec![Field::new(column, out, true)]));
            PgStatement::new(
                "crm".into(),
                Arc::clone(&pool),
                sql,
                vec![("p".into(), Some(t))],
                Arc::clone(&schema),
                schema,
            )
            .expect("sendable types")
        };
        let value = |v: datafusion::scalar::ScalarValue| {
            std::collections::HashMap::from([(
                "p".to_string(),
                datafusion::common::metadata::ScalarAndMetadata::from(v),
            )])
        };
        let rows = |s: datafusion::execution::SendableRecordBatchStream| async {
            let b: Vec<_> = futures::TryStreamExt::try_collect(s).await.expect("rows");
            arrow::util::pretty::pretty_format_batches(&b)
                .unwrap()
                .to_string()
        };
        // a typed parameter Postgres can use: one round trip, the rows
        let by_id = statement(
            format!("SELECT id FROM {}.customers WHERE id = $1", f.name),
            DataType::Int64,
            "id",
            DataType::Int32,
        );
        let got = by_id
            .execute(&value(3i64.into()))
            .await
            .expect("runs")
            .expect("sent with parameters");
        assert!(rows(got).await.contains("| 3  |"));
        // text of no stated type: Postgres types it from the column (a uuid)
        let by_uid = statement(
            format!("SELECT id FROM {}.customers WHERE uid = $1", f.name),
            DataType::Utf8,
            "id",
            DataType::Int32,
        );
        let got = by_uid
            .execute(&value("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12".into()))
            .await
            .expect("runs")
            .expect("sent with parameters");
        assert!(rows(got).await.contains("| 2  |"));
        // nothing to type the text from, or no operator for the type sent: refused before it
        // runs, and from then on the provider's way
        for (sql, t, v) in [
            (
                format!(
                    "SELECT name AS id FROM {}.customers WHERE $1 IS NULL",
                    f.name
                ),
                DataType::Utf8,
                datafusion::scalar::ScalarValue::from("x"),
            ),
            (
                format!("SELECT id FROM {}.customers WHERE uid = $1", f.name),
                DataType::Int64,
                7i64.into(),
            ),
        ] {
            let s = statement(sql.clone(), t, "id", DataType::Utf8);
            assert!(s.sql().is_some());
            for _ in 0..2 {
                assert!(
                    s.execute(&value(v.clone())).await.expect(&sql).is_none(),
                    "{sql}"
                );
            }
            assert!(s.sql().is_none(), "{sql}");
        }
        // a connection is kept between statements (no check-out from the pool each time); one
        // the server closed meanwhile is replaced without failing the call
        let pid = || {
            statement(
                "SELECT pg_backend_pid() AS pid WHERE $1 > 0".into(),
                DataType::Int64,
                "pid",
                DataType::Int32,
            )
        };
        let (first, second) = (pid(), pid());
        let a = rows(first.execute(&value(1i64.into())).await.unwrap().unwrap()).await;
        let b = rows(second.execute(&value(1i64.into())).await.unwrap().unwrap()).await;
        assert_eq!(a, b, "the same connection");
        let backend: String = a.chars().filter(char::is_ascii_digit).collect();
        psql(&format!("SELECT pg_terminate_backend({backend})"));
        let c = rows(
            first
                .execute(&value(1i64.into()))
                .await
                .expect("runs")
                .unwrap(),
        )
        .await;
        assert_ne!(a, c, "a new connection");
        // other failures are the query's, naming the source
        let missing = statement(
            format!("SELECT id FROM {}.nowhere WHERE id = $1", f.name),
            DataType::Int64,
            "id",
            DataType::Int32,
        );
        let e = missing
            .execute(&value(1i64.into()))
            .await
            .err()
            .expect("fails");
        let e = widgettdc_runtime::RuntimeError::from_datafusion(
            e,
            widgettdc_compiler::Code::QueryExecution,
        );
        assert!(
            e.message.contains("postgres source `crm`") && e.message.contains("does not exist"),
            "{}",
            e.message
        );
        // a statement is prepared once per connection, then only bound and executed
        let name_of = statement(
            format!("SELECT name AS id FROM {}.customers WHERE id = $1", f.name),
            DataType::Int64,
            "id",
            DataType::Utf8,
        );
        for _ in 0..3 {
            let got = rows(name_of.execute(&value(2i64.into())).await.unwrap().unwrap()).await;
            assert!(got.contains("Bob"), "{got}");
        }
        let prepared = statement(
            "SELECT statement AS id FROM pg_prepared_statements WHERE $1 > 0".into(),
            DataType::Int64,
            "id",
            DataType::Utf8,
        );
        let listed = rows(
            prepared
                .execute(&value(1i64.into()))
                .await
                .unwrap()
                .unwrap(),
        )
        .await;
        assert_eq!(
            listed.matches("AS id FROM").count(),
            2,
            "the name statement and this one, once each:\n{listed}"
        );
        // the table changes under a prepared statement (its result type too): prepared anew
        psql(&format!(
            "ALTER TABLE {}.customers ALTER COLUMN name TYPE varchar(40)",
            f.name
        ));
        let got = rows(
            name_of
                .execute(&value(2i64.into()))
                .await
                .expect("runs")
                .unwrap(),
        )
        .await;
        assert!(got.contains("Bob"), "{got}");
        // a quick statement (its last calls each returned its few rows at once) is pipelined:
        // many calls at once share the kept connections (three of the pool of four), each with
        // its own answer
        let echo = statement(
            "SELECT $1::text || ' ' || pg_backend_pid() AS id".into(),
            DataType::Int64,
            "id",
            DataType::Utf8,
        );
        let texts = |s: datafusion::execution::SendableRecordBatchStream| async {
            let b: Vec<_> = futures::TryStreamExt::try_collect(s).await.expect("rows");
            b.iter()
                .flat_map(|b| {
                    let a = arrow::array::AsArray::as_string::<i32>(b.column(0));
                    a.iter()
                        .map(|v| v.unwrap_or_default().to_string())
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        };
        for _ in 0..100 {
            if echo.is_quick() {
                break;
            }
            texts(echo.execute(&value(0i64.into())).await.unwrap().unwrap()).await;
        }
        assert!(echo.is_quick(), "a point query becomes quick");
        let answers = futures::future::join_all((1..=64i64).map(|i| {
            let (echo, texts) = (&echo, &texts);
            async move {
                let got = texts(echo.execute(&value(i.into())).await.unwrap().unwrap()).await;
                (i, got)
            }
        }))
        .await;
        let mut backends = std::collections::HashSet::new();
        for (i, got) in answers {
            assert_eq!(got.len(), 1, "{got:?}");
            let (v, pid) = got[0].split_once(' ').expect("value and backend");
            assert_eq!(v, i.to_string(), "call {i} got another call's answer");
            backends.insert(pid.to_string());
        }
        assert!(backends.len() <= 3, "{backends:?}");
        assert!(
            pool.deepest() > 1,
            "statements were pipelined on a connection"
        );
        // and the calls running at once queued theirs before the connection wrote: sent together
        assert!(
            pool.widest() > 1,
            "statements of concurrent calls went out together"
        );
        // a quick statement that turns out to return many rows keeps further statements off
        // its connection while its reader has not taken them: quick calls meanwhile go on
        let series = statement(
            "SELECT generate_series(1, $1) AS id".into(),
            DataType::Int64,
            "id",
            DataType::Int64,
        );
        for _ in 0..100 {
            if series.is_quick() {
                break;
            }
            rows(series.execute(&value(1i64.into())).await.unwrap().unwrap()).await;
        }
        assert!(series.is_quick());
        let mut big = series
            .execute(&value(200_000i64.into()))
            .await
            .unwrap()
            .unwrap();
        let first = futures::StreamExt::next(&mut big).await.unwrap().unwrap();
        for _ in 0..100 {
            if echo.is_quick() {
                break;
            }
            texts(echo.execute(&value(0i64.into())).await.unwrap().unwrap()).await;
        }
        let meanwhile = futures::future::join_all((1..=16i64).map(|i| {
            let (echo, texts) = (&echo, &texts);
            async move { texts(echo.execute(&value(i.into())).await.unwrap().unwrap()).await }
        }));
        let meanwhile = tokio::time::timeout(std::time::Duration::from_secs(30), meanwhile)
            .await
            .expect("quick calls are not stuck behind an unread result");
        assert!(meanwhile.iter().all(|g| g.len() == 1));
        let rest: Vec<_> = futures::TryStreamExt::try_collect(big).await.expect("rows");
        let total = first.num_rows() + rest.iter().map(|b| b.num_rows()).sum::<usize>();
        assert_eq!(total, 200_000);
        assert!(!series.is_quick(), "no longer quick");
    });
    drop(rt);
}

#[test]
fn tools_inside_one_database_run_there_directly_with_the_same_answers() {
    let f = fixture("direct");
    // a join inside Postgres, across two of its schemas
    std::fs::write(
        f.dir.join("totals.yaml"),
        format!(
            "tools:
  region_totals:
    sql: |
      SELECT c.region, count(*) AS n, sum(c.credit) AS credit, max(t.target) AS target
      FROM crm.customers c JOIN crm.{}_sales.targets t ON t.region = c.region
      GROUP BY c.region ORDER BY c.region
  typed_filters:
    parameters:
      uid: {{ type: string }}
      min_credit: {{ type: number }}
      day: {{ type: date }}
      later: {{ type: boolean, default: true }}
      ratio: {{ type: number, default: 0.5 }}
    sql: |
      SELECT id, name, credit FROM crm.customers
      WHERE uid = $uid OR (credit >= $min_credit AND CAST(created AS DATE) >= $day
        AND (id > 2) = $later AND CAST(id AS DOUBLE) * 1.5 >= $ratio)
      ORDER BY id
",
            f.name
        ),
    )
    .unwrap();
    let (rt, exec) = loaded(&f);
    assert!(!rt.has_errors(), "{:?}", rt.diagnostics);
    let args = |v: Value| v.as_object().unwrap().clone();
    let calls: Vec<(&str, Value, Option<&str>)> = vec![
        ("customer", serde_json::json!({"id": 3}), Some("crm")),
        ("customer", serde_json::json!({"id": 42}), Some("crm")),
        (
            "top_customers",
            serde_json::json!({"region": "emea", "since": "2026-01-01T00:00:00Z", "n": 1}),
            Some("crm"),
        ),
        (
            "top_customers",
            serde_json::json!({"since": "2026-01-06T00:00:00Z", "ids": [2, 3, 4, 9]}),
            Some("crm"),
        ),
        ("region_totals", serde_json::json!({}), Some("crm")),
        // text typed by Postgres as a uuid, a decimal, a date, a boolean, a double
        (
            "typed_filters",
            serde_json::json!({"uid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "min_credit": "100.5",
                "day": "2026-02-01"}),
            Some("crm"),
        ),
        (
            "typed_filters",
            serde_json::json!({"uid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a19", "min_credit": 10,
                "day": "2026-01-06", "later": false, "ratio": 2.5}),
            Some("crm"),
        ),
        (
            "orders_of",
            serde_json::json!({"customer": 2, "min": 6}),
            Some("shop"),
        ),
        // a stdlib function stays in DataFusion; a join across sources too
        ("bucketed", serde_json::json!({}), None),
        (
            "customer_orders",
            serde_json::json!({"region": "amer", "min_amount": 5}),
            None,
        ),
    ];
    exec.block_on(async {
        for (tool, a, expected) in calls {
            let a = args(a);
            let direct = rt.runs_directly_in(tool, &a).await.expect("plans");
            assert_eq!(
                direct.as_ref().map(|d| d.source.as_str()),
                expected,
                "{tool} {a:?}"
            );
            // Postgres receives the arguments as parameters of a statement that stays the same;
            // MariaDB still receives them written into the statement
            let parameterised = direct.and_then(|d| d.parameterised);
            assert_eq!(parameterised.is_some(), expected == Some("crm"), "{tool}");
            if let Some(sql) = &parameterised {
                if !a.is_empty() {
                    assert!(sql.contains("$1"), "{tool}: {sql}");
                }
            }
            let stream = rt.tool_stream(tool, &a).await.expect("runs");
            let schema = stream.schema();
            let ours: Vec<_> = futures::TryStreamExt::try_collect(stream)
                .await
                .expect("rows");
            let planned = rt
                .tool_frame(tool, &a)
                .await
                .expect("plans")
                .collect()
                .await
                .expect("runs");
            let show = |b: &[arrow::record_batch::RecordBatch]| {
                arrow::util::pretty::pretty_format_batches(b)
                    .unwrap()
                    .to_string()
            };
            assert_eq!(show(&ours), show(&planned), "{tool} {a:?}");
            let fields = |s: &arrow::datatypes::Schema| {
                s.fields()
                    .iter()
                    .map(|f| format!("{}: {}", f.name(), f.data_type()))
                    .collect::<Vec<_>>()
            };
            if let Some(b) = planned.first() {
                assert_eq!(fields(&schema), fields(&b.schema()), "{tool} {a:?}");
            }
            // and Postgres took the parameters as sent (it did not refuse to type them)
            let again = rt.runs_directly_in(tool, &a).await.expect("plans");
            assert_eq!(
                again.and_then(|d| d.parameterised).is_some(),
                expected == Some("crm"),
                "{tool} {a:?}"
            );
            // the direct result is the answer, not an empty one
            if tool != "customer" || a["id"] == 3 {
                assert!(
                    ours.iter().map(|b| b.num_rows()).sum::<usize>() > 0,
                    "{tool}"
                );
            }
        }
        // bad arguments are still refused, naming the parameter
        let e = rt
            .tool_stream("customer", &args(serde_json::json!({"id": "x"})))
            .await
            .err()
            .expect("refused");
        assert!(e[0].message.contains("`id`"), "{}", e[0].message);
        let last = rt
            .tool_stream("customer", &args(serde_json::json!({"id": 3})))
            .await
            .expect("runs");
        let last: Vec<_> = futures::TryStreamExt::try_collect(last).await.unwrap();
        assert_eq!(last.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    });
    // Postgres received the statement with `$1`, not the value: the pool's connections show the
    // last statement each ran, as the server got it
    let received = psql_rows(&format!(
        "SELECT query FROM pg_stat_activity WHERE pid <> pg_backend_pid() \
         AND query LIKE '%{}%customers%'",
        f.name
    ));
    assert!(received.contains("$1"), "Postgres received: {received}");
    drop(rt);
    // `explain` says so
    let d = f.dir.to_str().unwrap();
    let out = common::succeeds(widgettdc().args(["explain", "-p", d, "customer", "-P", "id=3"]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Runs wholly in source `crm`"), "{text}");
    assert!(
        text.contains("typed parameters") && text.contains("= $1"),
        "{text}"
    );
    let out = common::succeeds(widgettdc().args(["explain", "-p", d, "bucketed"]));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Runs wholly"));
}

/// The direct path's own conversion of Postgres rows to Arrow (`runtime/src/sources/pg_rows.rs`)
/// gives the provider's batch for every type it takes, and leaves the rest to the provider.
#[test]
fn postgres_rows_convert_here_as_the_provider_converts_them() {
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use widgettdc_runtime::sources::pg_rows;
    let f = fixture("rows");
    let n = &f.name;
    psql_rows(&format!(
        "CREATE TABLE {n}.kinds (id int, i2 smallint, i8 bigint, f4 real, f8 double precision, b boolean,
           t text, v varchar(10), c char(6), nm name, n numeric(12,2), n0 numeric(20,0), n6 numeric(18,6),
           wide numeric(30,4), free numeric, at timestamptz);
         INSERT INTO {n}.kinds VALUES
           (1, -32768, 9223372036854775807, 1.5, -2.25e300, true, 'h\u{e9}llo \"q\"', 'ab', 'xy', 'nm',
            1234567890.12, 99999999999999999999, 123.456789, 12345678901234567890123456.7891, 1.5,
            '2026-01-01T00:00:00Z'),
           (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
           (3, 0, -1, 'NaN', 'Infinity', false, '', '', '', '', -0.01, 0, 0.000001, -1, 'NaN', NULL),
           (4, 32767, -9223372036854775808, -0.0, 5e-324, false, 'x', 'y', 'z     ', 'w',
            -9999999999.99, -12345678901234567890, -999999999999.999999, 0, 10, NULL);"
    ));
    let simple = [
        ("id", DataType::Int32),
        ("i2", DataType::Int16),
        ("i8", DataType::Int64),
        ("f4", DataType::Float32),
        ("f8", DataType::Float64),
        ("b", DataType::Boolean),
        ("t", DataType::Utf8),
        ("v", DataType::Utf8),
        ("c", DataType::Utf8),
        ("nm", DataType::Utf8),
        ("n", DataType::Decimal128(12, 2)),
        ("n0", DataType::Decimal128(20, 0)),
        ("n6", DataType::Decimal128(18, 6)),
    ];
    let schema = |cols: &[(&str, DataType)]| {
        Arc::new(Schema::new(
            cols.iter()
                .map(|(c, t)| Field::new(*c, t.clone(), true))
                .collect::<Vec<_>>(),
        ))
    };
    let show = |b: &arrow::record_batch::RecordBatch| {
        arrow::util::pretty::pretty_format_batches(std::slice::from_ref(b))
            .unwrap()
            .to_string()
    };
    let exec = tokio::runtime::Runtime::new().unwrap();
    exec.block_on(async {
        let (client, conn) = tokio_postgres::connect(
            "host=127.0.0.1 user=postgres dbname=test",
            tokio_postgres::NoTls,
        )
        .await
        .expect("connects");
        tokio::spawn(conn);
        let select =
            |cols: &[&str]| format!("SELECT {} FROM {n}.kinds ORDER BY id", cols.join(", "));
        // every type taken here: the same batch as the provider's
        let cols: Vec<&str> = simple.iter().map(|(c, _)| *c).collect();
        let all = client.query(&select(&cols), &[]).await.expect("selects");
        let s = schema(&simple);
        let here = pg_rows::fast(&all, &s, &s).expect("converted here");
        let theirs = pg_rows::provider(&all, &s, &s).expect("converted by the provider");
        assert_eq!(show(&here), show(&theirs));
        assert_eq!(here, theirs);
        let text = show(&here);
        for v in [
            "1234567890.12",
            "99999999999999999999",
            "-999999999999.999999",
            "0.000001",
            "-0.01",
            "h\u{e9}llo \"q\"",
            "| z ",
            "9223372036854775807",
            "NaN",
            "inf",
        ] {
            assert!(text.contains(v), "{v} in\n{text}");
        }
        // one column at a time, too
        for (c, t) in &simple {
            let one = client.query(&select(&[c]), &[]).await.expect("selects");
            let s = schema(&[(c, t.clone())]);
            let here = pg_rows::fast(&one, &s, &s).expect("converted here");
            assert_eq!(here, pg_rows::provider(&one, &s, &s).unwrap(), "{c}");
        }
        // the rest goes the provider's way: more than 28 digits, a numeric without a scale, a
        // timestamp, a column whose result type is not the one the provider makes of it
        for (c, t) in [
            ("wide", DataType::Decimal128(30, 4)),
            ("free", DataType::Decimal128(38, 10)),
            (
                "at",
                DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            ),
            ("id", DataType::Int64),
        ] {
            let one = client.query(&select(&[c]), &[]).await.expect("selects");
            let s = schema(&[(c, t.clone())]);
            assert!(pg_rows::fast(&one, &s, &s).is_none(), "{c}");
            // (the provider refuses the NaN of `free`)
            if c != "free" {
                let batch = pg_rows::to_arrow(&one, &s, &s).expect(c);
                assert_eq!(batch.num_rows(), 4, "{c}");
            }
        }
        // a value beyond the result's precision goes the provider's way
        let one = client.query(&select(&["n"]), &[]).await.expect("selects");
        let narrow = schema(&[("n", DataType::Decimal128(4, 2))]);
        assert!(pg_rows::fast(&one, &narrow, &narrow).is_none());
    });
}

/// A statement over a Postgres table of at least 1,000 pages is read in ranges of its pages
/// (`ctid`), at once on several connections, and together the ranges return every row once:
/// the answer is Postgres's own.
#[test]
fn a_large_postgres_table_is_read_in_page_ranges_at_once() {
    let f = fixture("ranges");
    psql(&format!(
        "CREATE TABLE {n}.wide (id bigint NOT NULL, grp bigint NOT NULL, pad text NOT NULL);
         INSERT INTO {n}.wide SELECT g, g % 13, repeat('x', 40) || g FROM generate_series(1, 200000) g;",
        n = f.name
    ));
    let pages: i64 = psql_rows(&format!(
        "SELECT pg_relation_size('{}.wide') / current_setting('block_size')::bigint",
        f.name
    ))
    .trim()
    .parse()
    .unwrap();
    assert!(pages >= 1_000, "{pages} pages");
    sqlite_source(
        &f,
        "groups",
        "CREATE TABLE groups (grp INTEGER PRIMARY KEY, label TEXT NOT NULL);
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9)
         INSERT INTO groups SELECT i, 'g' || i FROM n;",
    );
    let sql = "SELECT g.grp, count(*) AS n, sum(w.id) AS s, max(w.pad) AS pad FROM crm.wide w \
               JOIN groups.groups g ON g.grp = w.grp GROUP BY g.grp ORDER BY g.grp";
    let rows = common::query_rows(&f.dir, sql);
    let ours: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{}|{}|{}|{}",
                r["grp"],
                r["n"],
                r["s"],
                r["pad"].as_str().unwrap()
            )
        })
        .collect();
    let theirs = psql_rows(&format!(
        "SELECT grp, count(*), sum(id), max(pad) FROM {}.wide WHERE grp < 10 GROUP BY grp ORDER BY grp",
        f.name
    ));
    let theirs: Vec<&str> = theirs.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(ours.len(), 10, "{rows:?}");
    assert_eq!(ours, theirs);

    let (text, wide) = analyzed(&f, sql, |l| l.contains("SQL:") && l.contains("wide"));
    let wanted: usize = (1..=200_000).filter(|i| i % 13 < 10).count();
    assert!(
        wide.contains(&format!("rows received: {wanted}\n")),
        "{text}"
    );
    if std::thread::available_parallelism().map_or(1, |n| n.get()) > 1 {
        assert!(
            wide.contains(&format!("ranges of \"{}\".\"wide\"'s pages", f.name)),
            "{text}"
        );
    }

    // a reader that stops after the first batch: the ranges' transactions are rolled back, no
    // connection is left inside one
    let (rt, exec) = loaded(&f);
    exec.block_on(async {
        use futures::StreamExt;
        let df = rt
            .query("SELECT w.id, w.pad FROM crm.wide w JOIN groups.groups g ON g.grp = w.grp")
            .await
            .expect("plans");
        let mut stream = df.execute_stream().await.expect("runs");
        assert!(stream.next().await.expect("a batch").is_ok());
        drop(stream);
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    });
    let open = psql_rows(
        "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' \
         AND datname = 'test' AND pid <> pg_backend_pid()",
    );
    assert_eq!(open.trim(), "0", "connections left in a transaction");
    drop(rt);
}
