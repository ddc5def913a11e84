//! `kind: rest` sources against a loopback JSON API (tests/support/api_server.py) that logs
//! every request it receives: pushdown into the path and query, pagination that stops at the
//! LIMIT, retries (and none for POST), and the API's faults as clear errors.

mod common;

use common::widgettdc;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The API server, stopped on drop; one per test, so request counts are the test's own.
struct Api {
    child: std::process::Child,
    port: u16,
    log: PathBuf,
    dir: PathBuf,
}

impl Api {
    fn start(tag: &str) -> Api {
        let dir = std::env::temp_dir().join(format!("wt-api-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("requests.log");
        let mut child = std::process::Command::new("python3")
            .arg(root().join("tests/support/api_server.py"))
            .arg(&log)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let api = Api {
            child,
            port: line.trim().parse().expect("the server prints its port"),
            log,
            dir,
        };
        api.write_project();
        api
    }

    fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn write_project(&self) {
        let base = format!("http://127.0.0.1:{}", self.port);
        let items = "columns: { key: string, value: double }";
        std::fs::write(
            self.dir.join("sources.yaml"),
            format!(
                r#"version: 1
sources:
  gh:
    kind: rest
    base_url: {base}
    auth: {{ type: bearer, token: "${{secret:gh_token}}" }}
    tables:
      issues:
        path: /repos/{{owner}}/{{repo}}/issues
        columns:
          owner: string
          repo: string
          number: integer
          title: string
          state: {{ type: string, filter: state }}
          login: {{ type: string, selector: $.user.login }}
          created_at: timestamp
        pagination: {{ type: link, size_param: per_page, page_size: 10 }}
  api:
    kind: rest
    base_url: {base}
    retry: {{ max_attempts: 3, initial_backoff: 10ms, max_backoff: 2s }}
    tables:
      cursor_items:
        path: /cursor/items
        rows: $.data.items[*]
        {items}
        pagination: {{ type: cursor, cursor: $.meta.next, param: after }}
      offset_items:
        path: /offset/items
        {items}
        pagination: {{ type: offset, param: offset, size_param: limit, page_size: 10 }}
      flaky: {{ path: /flaky, {items} }}
      posted: {{ path: /broken, method: POST, {items} }}
      broken: {{ path: /broken, {items} }}
      malformed: {{ path: /malformed, {items} }}
      wrongshape: {{ path: /wrongshape, {items} }}
      endless:
        path: /endless
        rows: $.data.items[*]
        {items}
        pagination: {{ type: cursor, cursor: $.meta.next, param: after, max_pages: 5 }}
  slowapi:
    kind: rest
    base_url: {base}
    timeout: 300ms
    retry: {{ max_attempts: 1 }}
    tables:
      slow: {{ path: /slow, {items} }}
  paced:
    kind: rest
    base_url: {base}
    rate_limit: 4
    tables:
      cursor_items:
        path: /cursor/items
        rows: $.data.items[*]
        {items}
        pagination: {{ type: cursor, cursor: $.meta.next, param: after }}
  tiny:
    kind: rest
    base_url: {base}
    max_response_bytes: 10000
    tables:
      big: {{ path: /big, {items} }}
  gql:
    kind: graphql
    url: {base}/graphql
    auth: {{ type: header, name: X-Api-Key, value: k3y }}
    tables:
      issues:
        query: |
          query Issues($owner: String!, $state: String, $first: Int) {{
            repository(owner: $owner) {{ issues(state: $state, first: $first) {{ nodes {{ number title state author {{ login }} }} }} }}
          }}
        variables: {{ first: 50 }}
        rows: $.data.repository.issues.nodes[*]
        columns:
          owner: string
          state: string
          number: integer
          title: string
          login: {{ type: string, selector: $.author.login }}
      broken:
        query: "{{ brokenField }}"
        rows: $.data.x[*]
        columns: {{ x: string }}
  users: {{ kind: file, path: users.csv }}
"#
            ),
        )
        .unwrap();
        std::fs::write(self.dir.join("secrets.yaml"), "gh_token: t0ken\n").unwrap();
        std::fs::write(
            self.dir.join("users.csv"),
            "login,team\nann,core\nbob,core\ncho,web\ndee,ops\n",
        )
        .unwrap();
    }

    fn rows(&self, sql: &str) -> Vec<Map<String, Value>> {
        common::query_rows(&self.dir, sql)
    }

    fn fails(&self, sql: &str) -> String {
        common::query_fails(&self.dir, sql)
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The server's issues (its data, restated): number → (state, login).
fn issue(n: i64) -> (&'static str, &'static str) {
    let users = ["ann", "bob", "cho", "dee"];
    (
        if n % 3 != 0 { "open" } else { "closed" },
        users[(n % 4) as usize],
    )
}

#[test]
fn filters_go_into_the_path_and_query_and_limit_stops_the_pages() {
    let api = Api::start("push");
    let rows = api.rows(
        "SELECT number, state, login, owner, created_at FROM gh.issues \
         WHERE owner = 'acme' AND repo = 'widgets' AND state = 'open' ORDER BY number",
    );
    let expected: Vec<i64> = (1..24).filter(|n| issue(*n).0 == "open").collect();
    let got: Vec<i64> = rows.iter().map(|r| r["number"].as_i64().unwrap()).collect();
    assert_eq!(got, expected);
    for r in &rows {
        let n = r["number"].as_i64().unwrap();
        assert_eq!(r["login"], Value::from(issue(n).1));
        assert_eq!(r["owner"], Value::from("acme"));
    }
    let log = api.requests();
    // two pages of ten open issues (16 in all), each asked with the filter and the bearer token
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(
        log[0]
            .starts_with("GET /repos/acme/widgets/issues?state=open&per_page=10 auth=Bearer t0ken"),
        "{log:?}"
    );
    assert!(
        log[1].contains("page=2") && log[1].contains("state=open"),
        "{log:?}"
    );

    // LIMIT reaches the table: one page is enough for 5 rows
    let before = api.requests().len();
    let rows =
        api.rows("SELECT number FROM gh.issues WHERE owner = 'acme' AND repo = 'widgets' LIMIT 5");
    assert_eq!(rows.len(), 5);
    assert_eq!(api.requests().len() - before, 1, "{:?}", api.requests());

    // explain shows the request
    let out = widgettdc()
        .args(["explain", "-p", api.dir.to_str().unwrap()])
        .arg("SELECT title FROM gh.issues WHERE owner = 'acme' AND repo = 'widgets' AND state = 'closed'")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("GET http://127.0.0.1")
            && text.contains("/repos/acme/widgets/issues?state=closed"),
        "{text}"
    );
}

#[test]
fn an_api_table_joins_with_a_file() {
    let api = Api::start("join");
    let rows = api.rows(
        "SELECT u.team, count(*) AS n FROM gh.issues i JOIN users u ON u.login = i.login \
         WHERE i.owner = 'acme' AND i.repo = 'widgets' GROUP BY u.team ORDER BY u.team",
    );
    let team = |login: &str| match login {
        "ann" | "bob" => "core",
        "cho" => "web",
        _ => "ops",
    };
    let mut expected = std::collections::BTreeMap::new();
    for n in 1..24 {
        *expected.entry(team(issue(n).1)).or_insert(0i64) += 1;
    }
    let got: std::collections::BTreeMap<&str, i64> = rows
        .iter()
        .map(|r| (r["team"].as_str().unwrap(), r["n"].as_i64().unwrap()))
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn every_pagination_kind_reads_every_row() {
    let api = Api::start("pages");
    for table in ["cursor_items", "offset_items"] {
        let rows = api.rows(&format!("SELECT key, value FROM api.{table} ORDER BY key"));
        assert_eq!(rows.len(), 25, "{table}");
        assert_eq!(rows[24]["key"], Value::from("k25"));
        assert_eq!(rows[24]["value"], Value::from(37.5));
    }
    let log = api.requests();
    assert_eq!(
        log.iter().filter(|l| l.contains("/cursor/items")).count(),
        3,
        "{log:?}"
    );
    assert!(
        log.iter().any(|l| l.contains("/cursor/items?after=20")),
        "{log:?}"
    );
    // offset pages of 10: 0, 10, 20 (a short page ends it)
    assert_eq!(
        log.iter().filter(|l| l.contains("/offset/items")).count(),
        3,
        "{log:?}"
    );
    // at most 4 requests a second: the three pages take at least half a second
    let started = std::time::Instant::now();
    assert_eq!(api.rows("SELECT key FROM paced.cursor_items").len(), 25);
    assert!(
        started.elapsed().as_secs_f64() >= 0.5,
        "the rate limit was not kept"
    );
    let e = api.fails("SELECT * FROM api.endless");
    assert!(
        e.contains("more than 5 pages") && e.contains("max_pages"),
        "{e}"
    );
}

#[test]
fn retries_wait_for_the_api_and_never_repeat_a_post() {
    let api = Api::start("retry");
    let started = std::time::Instant::now();
    let rows = api.rows("SELECT key FROM api.flaky");
    assert_eq!(rows.len(), 3);
    // two 429s with Retry-After: 1, then the answer
    assert_eq!(
        api.requests()
            .iter()
            .filter(|l| l.contains("/flaky"))
            .count(),
        3
    );
    assert!(
        started.elapsed().as_secs_f64() >= 2.0,
        "Retry-After was not honoured"
    );

    let e = api.fails("SELECT * FROM api.broken");
    assert!(
        e.contains("500") && e.contains("after 3 attempts") && e.contains("`api`"),
        "{e}"
    );
    let before = api.requests().len();
    let e = api.fails("SELECT * FROM api.posted");
    assert!(e.contains("500"), "{e}");
    assert_eq!(api.requests().len() - before, 1, "a POST was retried");
}

#[test]
fn bad_responses_and_queries_are_clear_errors() {
    let api = Api::start("faults");
    let e = api.fails("SELECT * FROM gh.issues WHERE repo = 'widgets'");
    assert!(
        e.contains("E614") && e.contains("gh.issues needs `owner`"),
        "{e}"
    );
    let e = api.fails("SELECT * FROM gh.issues WHERE owner = 'nobody' AND repo = 'x'");
    assert!(e.contains("404") && e.contains("path"), "{e}");
    let e = api.fails("SELECT * FROM api.malformed");
    assert!(
        e.contains("E602") && e.contains("not JSON") && e.contains("`malformed`"),
        "{e}"
    );
    let e = api.fails("SELECT * FROM api.wrongshape");
    assert!(
        e.contains("row 2 field `value`") && e.contains("`wrongshape`"),
        "{e}"
    );
    let started = std::time::Instant::now();
    let e = api.fails("SELECT * FROM slowapi.slow");
    assert!(e.contains("timeout") && e.contains("`slowapi`"), "{e}");
    assert!(
        started.elapsed().as_secs() < 4,
        "the 5 s answer was waited for"
    );
    let e = api.fails("SELECT * FROM tiny.big");
    assert!(
        e.contains("larger than 10000 bytes") && e.contains("max_response_bytes"),
        "{e}"
    );
    // a good query after all that still works
    assert_eq!(
        api.rows("SELECT key FROM api.offset_items LIMIT 3").len(),
        3
    );
}

#[test]
fn check_types_api_tables_offline() {
    let api = Api::start("check");
    let dir: &Path = &api.dir;
    widgettdc()
        .args(["check", "-p", dir.to_str().unwrap()])
        .assert()
        .success();
    assert!(api.requests().is_empty(), "check reached the API");
}

#[test]
fn graphql_variables_come_from_where() {
    let api = Api::start("gql");
    let rows = api.rows(
        "SELECT number, login, owner FROM gql.issues WHERE owner = 'acme' AND state = 'closed' ORDER BY number",
    );
    let expected: Vec<i64> = (1..24).filter(|n| issue(*n).0 == "closed").collect();
    let got: Vec<i64> = rows.iter().map(|r| r["number"].as_i64().unwrap()).collect();
    assert_eq!(got, expected);
    assert!(rows.iter().all(|r| r["owner"] == "acme"));
    assert_eq!(rows[0]["login"], Value::from(issue(expected[0]).1));
    let log = api.requests();
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(
        log[0].starts_with("POST /graphql") && log[0].contains("key=k3y"),
        "{log:?}"
    );
    let body: Value = serde_json::from_str(log[0].split_once(" body=").unwrap().1).unwrap();
    assert_eq!(
        body["variables"],
        serde_json::json!({"first": 50, "owner": "acme", "state": "closed"})
    );
    // a join with a file, as for REST
    let rows = api.rows(
        "SELECT u.team, count(*) AS n FROM gql.issues i JOIN users u ON u.login = i.login \
         WHERE i.owner = 'acme' GROUP BY u.team ORDER BY n DESC, u.team LIMIT 1",
    );
    assert_eq!(rows[0]["team"], Value::from("core"));
    let e = api.fails("SELECT * FROM gql.issues");
    assert!(e.contains("E614") && e.contains("`owner`"), "{e}");
    let e = api.fails("SELECT * FROM gql.broken");
    assert!(e.contains("brokenField") && e.contains("`broken`"), "{e}");
}

/// The worked example `examples/service-desk`: its API server, its tool, its answer from the
/// example's own data.
#[test]
fn the_service_desk_example_runs() {
    let example = root().join("examples/service-desk");
    let mut child = std::process::Command::new("python3")
        .arg(example.join("server.py"))
        .arg("0")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().to_string();
    let out = widgettdc()
        .env("DESK_PORT", &port)
        .args([
            "run",
            "-p",
            example.to_str().unwrap(),
            "open_tickets_by_team",
        ])
        .args(["-P", "status=pending", "--format", "json"])
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let data: Value =
        serde_json::from_str(&std::fs::read_to_string(example.join("data/desk.json")).unwrap())
            .unwrap();
    let mut expected = std::collections::BTreeMap::new();
    for t in data["tickets"].as_array().unwrap() {
        if t["status"] == "pending" {
            *expected
                .entry(t["team"].as_str().unwrap().to_string())
                .or_insert(0i64) += 1;
        }
    }
    let got: std::collections::BTreeMap<String, i64> = rows
        .iter()
        .map(|r| {
            (
                r["team"].as_str().unwrap().to_string(),
                r["tickets"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, expected);
    assert!(rows.iter().all(|r| r["manager"].is_string()), "{rows:?}");
    // the example's MCP clock (mcp-server-time) joined with its CSV of teams
    let out = common::succeeds(
        widgettdc()
            .args(["run", "-p", example.to_str().unwrap(), "team_clock"])
            .args(["--format", "json"]),
    );
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let teams: Vec<&str> = rows.iter().map(|r| r["team"].as_str().unwrap()).collect();
    assert_eq!(teams, ["mobile", "payments"]);
    assert!(
        rows[0]["local_time"].as_str().unwrap().contains("+0"),
        "{rows:?}"
    );
}
