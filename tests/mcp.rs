//! `kind: mcp` sources against real MCP servers we did not write: the reference servers
//! `@modelcontextprotocol/server-everything` (stdio and streamable HTTP), `server-filesystem`
//! and `server-memory` from npm, and `mcp-server-time` from PyPI. `.ci/run` installs them
//! (npm packages under `$WIDGETTDC_MCP_DIR`, default `~/.cache/widgettdc-mcp`).

mod common;

use common::widgettdc;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// The installed npm servers' entry points.
fn server_js(package: &str) -> String {
    let dir = std::env::var_os("WIDGETTDC_MCP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/widgettdc-mcp")
        });
    let js = dir
        .join("node_modules/@modelcontextprotocol")
        .join(package)
        .join("dist/index.js");
    assert!(
        js.exists(),
        "{} is missing: run `npm install --prefix {} @modelcontextprotocol/{package}` (.ci/run does)",
        js.display(),
        dir.display()
    );
    js.to_string_lossy().into_owned()
}

struct Project {
    dir: PathBuf,
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn project(tag: &str, extra: &str) -> Project {
    let dir = std::env::temp_dir().join(format!("wt-mcp-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("files/sub")).unwrap();
    std::fs::write(
        dir.join("files/sales.csv"),
        "region,amount\nemea,10\namer,20\n",
    )
    .unwrap();
    std::fs::write(dir.join("files/notes.txt"), "hello\n").unwrap();
    std::fs::write(dir.join("files/sub/more.csv"), "region,amount\napac,5\n").unwrap();
    std::fs::write(
        dir.join("regions.csv"),
        "name,manager\nsales.csv,Ines\nnotes.txt,Omar\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("sources.yaml"),
        format!(
            "version: 1
sources:
  ev:
    kind: mcp
    command: node
    args: ['{}', stdio]
    timeout: 30s
  fs:
    kind: mcp
    command: node
    args: ['{}', '{}']
  regions: {{ kind: file, path: regions.csv }}
{extra}",
            server_js("server-everything"),
            server_js("server-filesystem"),
            dir.join("files").display()
        ),
    )
    .unwrap();
    Project { dir }
}

impl Project {
    fn rows(&self, sql: &str) -> Vec<Map<String, Value>> {
        common::query_rows(&self.dir, sql)
    }

    fn fails(&self, sql: &str) -> String {
        common::query_fails(&self.dir, sql)
    }
}

#[test]
fn tools_are_table_functions() {
    let p = project("tools", "");
    // structuredContent (the tool has an outputSchema): its fields are the columns
    let rows = p.rows(
        "SELECT temperature, conditions FROM ev.\"get-structured-content\"(location => 'New York')",
    );
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0]["temperature"].is_number() && rows[0]["conditions"].is_string(),
        "{rows:?}"
    );
    // text content: one row per content item
    let rows = p.rows("SELECT type, text FROM ev.\"get-sum\"(a => 2, b => 40)");
    assert_eq!(rows[0]["type"], "text");
    assert!(rows[0]["text"].as_str().unwrap().contains("42"), "{rows:?}");
    // an image and text: each item a row, with its mime type
    let rows = p.rows("SELECT type, mime_type FROM ev.\"get-tiny-image\"() WHERE type = 'image'");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["mime_type"], "image/png");
    // a project tool passes its parameters (and their defaults) to the MCP tool
    std::fs::write(
        p.dir.join("tools.yaml"),
        "tools:\n  add:\n    parameters:\n      a: { type: integer }\n      b: { type: integer, default: 1 }\n    sql: SELECT text FROM ev.\"get-sum\"(a => $a, b => $b)\n",
    )
    .unwrap();
    let out = common::succeeds(widgettdc().args([
        "run",
        "-p",
        p.dir.to_str().unwrap(),
        "add",
        "-P",
        "a=41",
        "--format",
        "json",
    ]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("The sum of 41 and 1 is 42"));
}

#[test]
fn a_tool_joins_with_a_file_and_resources_are_a_table() {
    let p = project("join", "");
    let dir = p.dir.join("files");
    // the filesystem server's search, joined with a CSV
    let rows = p.rows(&format!(
        "SELECT r.manager, s.* FROM fs.search_files(path => '{}', pattern => '*.csv') s \
         CROSS JOIN regions r WHERE strpos(s.content, r.name) > 0 ORDER BY r.manager",
        dir.display()
    ));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["manager"], "Ines");
    // a tool's rows joined with a Parquet table on a key: the directory tree's entries
    {
        use arrow::array::StringArray;
        use arrow::datatypes::{DataType, Field, Schema};
        let schema = std::sync::Arc::new(Schema::new(vec![
            Field::new("file", DataType::Utf8, false),
            Field::new("owner", DataType::Utf8, false),
        ]));
        let batch = arrow::record_batch::RecordBatch::try_new(
            schema,
            vec![
                std::sync::Arc::new(StringArray::from(vec![
                    "sales.csv",
                    "notes.txt",
                    "gone.txt",
                ])),
                std::sync::Arc::new(StringArray::from(vec!["Ines", "Omar", "Yuki"])),
            ],
        )
        .unwrap();
        common::write_parquet(&p.dir.join("owners.parquet"), &batch);
        let sources = std::fs::read_to_string(p.dir.join("sources.yaml")).unwrap();
        std::fs::write(
            p.dir.join("sources.yaml"),
            format!("{sources}  owners: {{ kind: file, path: owners.parquet }}\n"),
        )
        .unwrap();
    }
    let rows = p.rows(&format!(
        "SELECT t.name, t.type, o.owner FROM fs.directory_tree(path => '{}') t \
         JOIN owners o ON o.file = t.name ORDER BY t.name",
        dir.display()
    ));
    let got: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().into(),
                r["owner"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("notes.txt".into(), "Omar".into()),
            ("sales.csv".into(), "Ines".into())
        ]
    );
    // the server-everything resources, with their text read when asked for
    let rows = p.rows(
        "SELECT uri, mime_type, length(text) AS n FROM ev.resources WHERE uri LIKE '%features.md'",
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0]["n"].as_i64().unwrap() > 100, "{rows:?}");
    // a resource template is a table function of its variables
    let rows =
        p.rows("SELECT uri, mime_type, text FROM ev.\"Dynamic Text Resource\"(resourceId => 3)");
    assert_eq!(rows[0]["uri"], "demo://resource/dynamic/text/3");
    assert!(
        rows[0]["text"].as_str().unwrap().starts_with("Resource 3"),
        "{rows:?}"
    );
    let e = p.fails("SELECT * FROM ev.\"Dynamic Text Resource\"(id => 3)");
    assert!(
        e.contains("`resourceId` is required") && e.contains("`id` is not a variable"),
        "{e}"
    );
}

#[test]
fn arguments_are_checked_and_errors_are_clear() {
    let p = project(
        "faults",
        "  mute:\n    kind: mcp\n    command: sleep\n    args: ['60']\n    timeout: 1s\n  gone:\n    kind: mcp\n    command: /nonexistent/mcp-server\n",
    );
    let e = p.fails("SELECT * FROM ev.\"get-sum\"(a => 'x', c => 1)");
    assert!(
        e.contains("`a` must be number")
            && e.contains("`c` is not an argument")
            && e.contains("`b` is required")
            && e.contains("get-sum(a => number, b => number)"),
        "{e}"
    );
    let e = p.fails("SELECT * FROM ev.\"get-summ\"(a => 1, b => 2)");
    assert!(
        e.contains("no tool `get-summ`") && e.contains("get-sum"),
        "{e}"
    );
    let e = p.fails("SELECT * FROM ev.\"get-sum\"");
    assert!(e.contains("table function"), "{e}");
    // a tool that answers isError
    let e = p.fails(&format!(
        "SELECT * FROM fs.read_text_file(path => '{}')",
        p.dir.join("files/nope.txt").display()
    ));
    assert!(
        e.contains("answered with an error") && e.contains("`fs`"),
        "{e}"
    );
    // a server that never answers: the timeout, not a hang
    let started = std::time::Instant::now();
    let e = p.fails("SELECT * FROM mute.anything(x => 1)");
    assert!(e.contains("`mute`") && e.contains("1s"), "{e}");
    assert!(
        started.elapsed().as_secs() < 10,
        "waited for a silent server"
    );
    let e = p.fails("SELECT * FROM gone.anything(x => 1)");
    assert!(
        e.contains("cannot start the server") && e.contains("`gone`"),
        "{e}"
    );
}

#[test]
fn memory_and_time_servers() {
    let p = project(
        "more",
        &format!(
            "  mem:\n    kind: mcp\n    command: node\n    args: ['{}']\n    env: {{ MEMORY_FILE_PATH: '{}' }}\n  time:\n    kind: mcp\n    command: mcp-server-time\n    args: ['--local-timezone', 'UTC']\n",
            server_js("server-memory"),
            std::env::temp_dir()
                .join(format!("wt-mcp-memory-{}.jsonl", std::process::id()))
                .display()
        ),
    );
    // the memory server's graph starts empty: its result is a (one-row) object of empty lists
    let rows = p.rows("SELECT * FROM mem.read_graph()");
    assert_eq!(rows.len(), 1, "{rows:?}");
    // the Python time server
    let rows =
        p.rows("SELECT timezone, is_dst FROM time.get_current_time(timezone => 'Europe/Paris')");
    assert_eq!(rows[0]["timezone"], "Europe/Paris");
    let e = p.fails("SELECT * FROM time.get_current_time(timezone => 'Mars/Olympus')");
    assert!(e.contains("`time`"), "{e}");
}

/// A server process, killed when the test ends (also when it fails).
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn streamable_http_and_restart_after_a_crash() {
    use widgettdc_runtime::{Options, Runtime};
    // server-everything over streamable HTTP on a free port
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut http = Killed(
        std::process::Command::new("node")
            .arg(server_js("server-everything"))
            .arg("streamableHttp")
            .env("PORT", port.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    let mut err = std::io::BufReader::new(http.0.stderr.take().unwrap());
    while !line.contains("listening") {
        line.clear();
        if err.read_line(&mut line).unwrap() == 0 {
            break;
        }
    }
    let p = project(
        "http",
        &format!("  web:\n    kind: mcp\n    url: http://127.0.0.1:{port}/mcp\n"),
    );
    let rows = p.rows("SELECT text FROM web.echo(message => 'over http')");
    assert!(
        rows[0]["text"].as_str().unwrap().contains("over http"),
        "{rows:?}"
    );
    drop(http);

    // one runtime: the stdio server is killed between two queries and started again
    let env = widgettdc_compiler::decode::Env::from_vars(std::iter::empty::<(String, String)>());
    let rt = Runtime::load(&p.dir, &env, &Options::default()).unwrap();
    let exec = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let files = p.dir.join("files");
    let sql = format!(
        "SELECT * FROM fs.list_directory(path => '{}')",
        files.display()
    );
    let run = |sql: &str| {
        exec.block_on(async {
            let df = rt.query(sql).await.map_err(|e| e.to_string())?;
            df.collect().await.map_err(|e| e.to_string())
        })
    };
    assert!(run(&sql).is_ok());
    let killed = std::process::Command::new("pkill")
        .arg("-f")
        .arg(files.to_str().unwrap())
        .status()
        .unwrap();
    assert!(killed.success(), "the filesystem server was running");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let again = run(&sql);
    assert!(again.is_ok(), "not restarted: {again:?}");
    drop(rt);
    let _: &Path = &p.dir;
}

#[test]
fn discover_lists_sources_tools_and_health() {
    let p = project(
        "discover",
        "  down: { kind: postgres, url: 'postgres://postgres@127.0.0.1:1/test', tls: { mode: disable }, pool: { acquire_timeout: 2s } }\n",
    );
    let out = widgettdc()
        .args([
            "discover",
            "-p",
            p.dir.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    // a source is down: exit 1, and the others are still described
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let by_name = |n: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == n)
            .unwrap()
            .clone()
    };
    let ev = by_name("ev");
    assert_eq!(ev["health"], "ok");
    let calls: Vec<&str> = ev["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["call"].as_str().unwrap())
        .collect();
    assert!(
        calls.contains(&"ev.\"get-sum\"(a => number, b => number)"),
        "{calls:?}"
    );
    assert!(ev["resources"].as_array().unwrap().len() > 3);
    assert_eq!(by_name("regions")["health"], "ok");
    let down = by_name("down");
    assert_eq!(down["health"], "down");
    assert!(
        down["error"].as_str().unwrap().contains("127.0.0.1"),
        "{down}"
    );
}

/// `schema pull` records the servers' tools (arguments, and the columns of tools that declare
/// an `outputSchema`) in schema.lock.yaml; offline `check` then types SQL that calls them, the
/// runtime gives results those types, and `check --live` reports a lock that drifted.
#[test]
fn schema_pull_locks_mcp_tools_so_check_types_their_sql() {
    let p = project(
        "lock",
        "  time:\n    kind: mcp\n    command: mcp-server-time\n    args: ['--local-timezone', 'UTC']\ntools:\n  weather:\n    parameters:\n      city: { type: string }\n    sql: |\n      SELECT w.conditions, w.temperature, t.is_dst\n      FROM ev.\"get-structured-content\"(location => $city) w\n      CROSS JOIN time.get_current_time(timezone => 'Europe/Paris') t\n",
    );
    let dir = p.dir.to_str().unwrap();
    let check = |extra: &[&str]| {
        let out = widgettdc()
            .args(["check", "-p", dir])
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    // before the pull: not typed, and the warning says how to fix that
    let (code, text) = check(&[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("E501") && text.contains("widgettdc schema pull"),
        "{text}"
    );

    common::succeeds(widgettdc().args(["schema", "pull", "-p", dir]));
    let lock = std::fs::read_to_string(p.dir.join("schema.lock.yaml")).unwrap();
    for expected in [
        "get_current_time:",
        "timezone: { type: string, required: true }",
        "is_dst: boolean",
        "get-structured-content:",
        "temperature: float64",
        "get-sum:",
        "a: { type: number, required: true }",
    ] {
        assert!(lock.contains(expected), "{expected} not in\n{lock}");
    }

    // offline: typed, no warnings
    let (code, text) = check(&[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("E501"), "{text}");
    let out = widgettdc()
        .args(["compile", "-p", dir, "--format", "json"])
        .output()
        .unwrap();
    let compiled: Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = compiled.to_string();
    assert!(
        text.contains("temperature") && text.contains("Float64") && text.contains("Boolean"),
        "{compiled:#}"
    );

    // the runtime's result has the locked types
    let out = common::succeeds(widgettdc().args([
        "run",
        "-p",
        dir,
        "weather",
        "-P",
        "city=Chicago",
        "--format",
        "json",
    ]));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0]["temperature"].is_number(), "{rows:?}");
    assert!(rows[0]["is_dst"].is_boolean(), "{rows:?}");

    // a wrong argument is caught offline, against the lock
    std::fs::write(
        p.dir.join("more.yaml"),
        "tools:\n  sum:\n    sql: SELECT * FROM ev.\"get-sum\"(a => 1, c => 2)\n",
    )
    .unwrap();
    let (code, text) = check(&[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("E208") && text.contains("`c` is not an argument"),
        "{text}"
    );
    std::fs::remove_file(p.dir.join("more.yaml")).unwrap();

    // the lock drifts from the live server
    std::fs::write(
        p.dir.join("schema.lock.yaml"),
        lock.replace("temperature: float64", "temperature: string"),
    )
    .unwrap();
    let (code, text) = check(&["--live"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("E504")
            && text.contains("result columns of `ev.get-structured-content` changed"),
        "{text}"
    );
}

/// A stdio server that dies while a tool call is in flight fails that query with an error that
/// names the source and says the server went away (not the timeout), and the next query starts
/// it again.
#[test]
fn a_server_crash_mid_call_is_a_clear_error_then_it_restarts() {
    use widgettdc_runtime::{Options, Runtime};
    let p = project("crash", "");
    let marker = p.dir.join("crash-marker");
    std::fs::write(
        p.dir.join("crash.yaml"),
        format!(
            "sources:\n  slow:\n    kind: mcp\n    command: node\n    args: ['{}', stdio, '{}']\n    timeout: 60s\n",
            server_js("server-everything"),
            marker.display()
        ),
    )
    .unwrap();
    let env = widgettdc_compiler::decode::Env::from_vars(std::iter::empty::<(String, String)>());
    let rt = Runtime::load(&p.dir, &env, &Options::default()).unwrap();
    let exec = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let run = |sql: &str| {
        exec.block_on(async {
            let df = rt.query(sql).await.map_err(|e| e.to_string())?;
            df.collect().await.map_err(|e| e.to_string())
        })
    };
    // start the server, then call a tool that runs for 30 s and kill the server during it
    assert!(run("SELECT * FROM slow.echo(message => 'up')").is_ok());
    let killer = {
        let marker = marker.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            std::process::Command::new("pkill")
                .arg("-f")
                .arg(marker.to_str().unwrap())
                .status()
                .unwrap()
        })
    };
    let started = std::time::Instant::now();
    let e =
        run("SELECT * FROM slow.\"trigger-long-running-operation\"(duration => 30, steps => 3)")
            .unwrap_err();
    assert!(killer.join().unwrap().success(), "the server was running");
    assert!(e.contains("`slow`"), "{e}");
    assert!(
        !e.contains("timed out") && !e.contains("did not answer"),
        "{e}"
    );
    // well before the tool would have finished (30 s) or the timeout (60 s)
    assert!(started.elapsed().as_secs() < 25, "{e}");
    let again = run("SELECT * FROM slow.echo(message => 'again')");
    assert!(again.is_ok(), "not restarted: {again:?}");
}
