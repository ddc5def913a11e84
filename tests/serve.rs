//! `widgettdc serve` end to end: the binary serving `tests/fixtures/serve` on a loopback port,
//! driven by real clients: HTTP requests for the widget API (every endpoint, bad input, Arrow
//! IPC, Server-Sent Events with `Last-Event-ID`, hot reload) and the official MCP Python SDK
//! (`mcp` on PyPI, installed by `.ci/run`) over streamable HTTP and stdio, in its `auto`
//! (2026-07-28, `server/discover`) and `legacy` (initialize handshake) modes.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/serve")
}

/// A copy of the fixture project that a test may change.
struct Project {
    dir: PathBuf,
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn project(tag: &str) -> Project {
    let dir = std::env::temp_dir().join(format!("wt-serve-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::copy(fixture().join("spec.yaml"), dir.join("spec.yaml")).unwrap();
    std::fs::copy(
        fixture().join("data/cities.csv"),
        dir.join("data/cities.csv"),
    )
    .unwrap();
    Project { dir }
}

use common::serve;

/// One HTTP/1.1 request on a fresh connection: (status, headers, body).
fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, head, body)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(nl) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(std::str::from_utf8(&b[..nl]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[nl + 2..nl + 2 + size]);
        b = &b[nl + 2 + size + 2..];
    }
    out
}

fn json_call(port: u16, method: &str, path: &str, body: &str) -> (u16, Value) {
    let (status, _, body) = http(
        port,
        method,
        path,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    let v = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {}", String::from_utf8_lossy(&body)));
    (status, v)
}

#[test]
fn the_widget_api_answers_every_endpoint_and_rejects_bad_input_clearly() {
    let p = project("api");
    let s = serve(&p.dir, &["--no-reload"]);
    let port = s.port;

    // sources, with health
    let (status, sources) = json_call(port, "GET", "/v1/sources", "");
    assert_eq!(status, 200);
    assert_eq!(sources[0]["name"], "cities");
    assert_eq!(sources[0]["health"], "ok", "{sources}");

    // tools, typed
    let (_, tools) = json_call(port, "GET", "/v1/tools", "");
    let names: Vec<&str> = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cities_by_country", "big_cities", "broken"]);
    assert_eq!(
        tools["tools"][1]["columns"][2],
        json!({"name": "population", "type": "int64"})
    );

    // a call, and its next page
    let (status, page) = json_call(
        port,
        "POST",
        "/v1/tools/cities_by_country",
        r#"{"country": "DE"}"#,
    );
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        page["rows"],
        json!([{"name": "Berlin", "population": 3850809}, {"name": "Hamburg", "population": 1892122}])
    );
    assert_eq!(page["truncated"], true);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, page2) = json_call(
        port,
        "POST",
        "/v1/tools/cities_by_country",
        &json!({"country": "DE", "cursor": cursor}).to_string(),
    );
    assert_eq!(
        page2["rows"],
        json!([{"name": "Munich", "population": 1512491}])
    );
    assert_eq!(page2["truncated"], false);

    // bad input of every kind: a clear error, the right status
    let (status, e) = json_call(port, "POST", "/v1/tools/big_cities", "{not json");
    assert_eq!(status, 400);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON"),
        "{e}"
    );
    let (status, e) = json_call(port, "POST", "/v1/tools/big_cities", "[1, 2]");
    assert_eq!(status, 400);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("JSON object"),
        "{e}"
    );
    let (status, e) = json_call(port, "POST", "/v1/tools/big_citys", "{}");
    assert_eq!(status, 404);
    assert!(
        e["error"]["help"].as_str().unwrap().contains("big_cities"),
        "{e}"
    );
    let (status, e) = json_call(
        port,
        "POST",
        "/v1/tools/big_cities",
        r#"{"min_population": "many", "limit": 3}"#,
    );
    assert_eq!(status, 422);
    let codes: Vec<&str> = e["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"E605") && codes.contains(&"E608"), "{e}");
    let (status, e) = json_call(
        port,
        "POST",
        "/v1/tools/big_cities",
        r#"{"min_population": -5}"#,
    );
    assert_eq!(status, 422);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("min_population"),
        "{e}"
    );
    let (status, e) = json_call(port, "POST", "/v1/tools/broken", "{}");
    assert_eq!(status, 502, "{e}");
    // the source answers its probe, but a query over it just failed: degraded, with the error
    let (_, sources) = json_call(port, "GET", "/v1/sources", "");
    assert_eq!(sources[0]["health"], "degraded", "{sources}");
    assert!(
        sources[0]["last_error"]["message"]
            .as_str()
            .unwrap()
            .contains("Cast error"),
        "{sources}"
    );
    let (status, e) = json_call(
        port,
        "POST",
        "/v1/tools/big_cities",
        r#"{"cursor": "garbage"}"#,
    );
    assert_eq!(status, 422, "{e}");
    let (status, _) = json_call(port, "GET", "/v1/nothing", "");
    assert_eq!(status, 404);

    // ad-hoc SQL with parameters; read-only
    let (status, q) = json_call(
        port,
        "POST",
        "/v1/query",
        r#"{"sql": "SELECT count(*) AS n FROM cities WHERE population > $p", "params": {"p": 1000000}}"#,
    );
    assert_eq!(status, 200, "{q}");
    assert_eq!(q["rows"], json!([{"n": 4}]));
    let (status, e) = json_call(port, "POST", "/v1/query", r#"{"sql": "DROP TABLE cities"}"#);
    assert_eq!(status, 400);
    assert_eq!(e["error"]["code"], "E612");
    let (status, e) = json_call(
        port,
        "POST",
        "/v1/query",
        r#"{"sql": "SELECT nope FROM cities"}"#,
    );
    assert_eq!(status, 400, "{e}");
    let (status, e) = json_call(port, "POST", "/v1/query", r#"{"query": "SELECT 1"}"#);
    assert_eq!(status, 400);
    assert!(
        e["error"]["message"].as_str().unwrap().contains("`sql`"),
        "{e}"
    );

    // Arrow IPC
    let (status, head, body) = http(
        port,
        "POST",
        "/v1/tools/big_cities",
        &[("Accept", "application/vnd.apache.arrow.stream")],
        br#"{"min_population": 0}"#,
    );
    assert_eq!(status, 200);
    assert!(
        head.contains("application/vnd.apache.arrow.stream"),
        "{head}"
    );
    let reader =
        arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(body), None).unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 8);

    // widgets
    let (_, w) = json_call(port, "GET", "/v1/widgets", "");
    assert_eq!(w["widgets"][0]["name"], "dashboard");
    let (status, w) = json_call(port, "GET", "/v1/widgets/dashboard", "");
    assert_eq!(status, 200);
    assert_eq!(w["data"]["big"]["rows"].as_array().unwrap().len(), 4, "{w}");
    assert_eq!(w["data"]["french"]["truncated"], true);
    let (status, _) = json_call(port, "GET", "/v1/widgets/nope", "");
    assert_eq!(status, 404);

    // the query endpoint can be switched off
    let off = serve(&p.dir, &["--no-reload", "--no-query"]);
    let (status, e) = json_call(off.port, "POST", "/v1/query", r#"{"sql": "SELECT 1"}"#);
    assert_eq!(status, 403, "{e}");
}

/// Read SSE events (`id`, `data`) from a stream until `n` arrived or `wait` passed.
fn sse_events(
    stream: &mut BufReader<std::net::TcpStream>,
    n: usize,
    wait: Duration,
) -> Vec<(String, Value)> {
    stream
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let until = Instant::now() + wait;
    let mut out = Vec::new();
    let (mut id, mut data) = (String::new(), String::new());
    let mut line = String::new();
    while out.len() < n && Instant::now() < until {
        line.clear();
        match stream.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(_) => continue, // timeout: poll again
        }
        let l = line.trim_end();
        if let Some(v) = l.strip_prefix("id:") {
            id = v.trim().to_string();
        } else if let Some(v) = l.strip_prefix("data:") {
            data.push_str(v.trim_start());
        } else if l.is_empty() && !data.is_empty() {
            out.push((
                std::mem::take(&mut id),
                serde_json::from_str(&data).unwrap(),
            ));
            data.clear();
        }
    }
    out
}

fn open_events(port: u16, last_event_id: Option<&str>) -> BufReader<std::net::TcpStream> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = format!("GET /v1/widgets/dashboard/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n");
    if let Some(id) = last_event_id {
        req.push_str(&format!("Last-Event-ID: {id}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert!(line.contains("200"), "{line}");
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
    }
    r
}

fn set_population(dir: &Path, city: &str, population: u64) {
    let path = dir.join("data/cities.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let text: Vec<String> = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            if f[0] == city {
                format!("{},{},{population}", f[0], f[1])
            } else {
                l.to_string()
            }
        })
        .collect();
    // written aside and renamed: a refresh that reads the file meanwhile sees the old rows or the
    // new ones, never a half-written file (which the server would rightly push as changed data)
    let aside = path.with_extension("csv.new");
    std::fs::write(&aside, text.join("\n") + "\n").unwrap();
    std::fs::rename(aside, path).unwrap();
}

#[test]
fn widget_events_push_changed_data_and_resume_after_last_event_id() {
    let p = project("sse");
    let s = serve(&p.dir, &["--no-reload"]);
    let mut events = open_events(s.port, None);
    let first = sse_events(&mut events, 1, Duration::from_secs(20));
    assert_eq!(first.len(), 1, "no first event");
    let (id1, data1) = &first[0];
    assert_eq!(data1["data"]["big"]["rows"].as_array().unwrap().len(), 4);
    // nothing changed: the 200 ms refresh sends nothing new
    assert!(sse_events(&mut events, 1, Duration::from_millis(1200)).is_empty());
    // the data changes: a new event with a new id
    set_population(&p.dir, "Oslo", 1_100_000);
    let second = sse_events(&mut events, 1, Duration::from_secs(20));
    assert_eq!(second.len(), 1, "no event after the change");
    let (id2, data2) = &second[0];
    assert_ne!(id1, id2);
    assert_eq!(
        data2["data"]["big"]["rows"].as_array().unwrap().len(),
        5,
        "{data2}"
    );
    // the client goes away mid-stream; the server goes on serving
    drop(events);
    let (status, _) = json_call(s.port, "GET", "/v1/widgets/dashboard", "");
    assert_eq!(status, 200);
    // reconnecting with the last id seen: no repeat of data the client has
    let mut again = open_events(s.port, Some(id2));
    assert!(sse_events(&mut again, 1, Duration::from_millis(1200)).is_empty());
    set_population(&p.dir, "Oslo", 1_200_000);
    let third = sse_events(&mut again, 1, Duration::from_secs(20));
    assert_eq!(third.len(), 1);
    assert!(third[0].1.to_string().contains("1200000"), "{}", third[0].1);
    // reconnecting with an id that is not the current data's: the current data at once
    let mut stale = open_events(s.port, Some(id1));
    assert_eq!(sse_events(&mut stale, 1, Duration::from_secs(20)).len(), 1);
}

#[test]
fn a_changed_project_is_reloaded_and_a_broken_one_is_not() {
    let p = project("reload");
    let s = serve(&p.dir, &[]);
    let spec = std::fs::read_to_string(p.dir.join("spec.yaml")).unwrap();
    let tools = |port| -> Vec<String> {
        let (_, t) = json_call(port, "GET", "/v1/tools", "");
        t["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    let wait_for = |want: bool| {
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if tools(s.port).contains(&"country_count".to_string()) == want {
                return true;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        false
    };
    // calls keep coming while the project is reloaded: none of them fails
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let callers: Vec<_> = (0..4)
        .map(|_| {
            let stop = std::sync::Arc::clone(&stop);
            let port = s.port;
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let (status, _) = json_call(
                        port,
                        "POST",
                        "/v1/tools/big_cities",
                        r#"{"min_population": 0}"#,
                    );
                    statuses.push(status);
                }
                statuses
            })
        })
        .collect();
    // mtime granularity: make sure the change is seen as one
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(
        p.dir.join("spec.yaml"),
        spec.replace(
            "toolsets:",
            "  country_count:\n    sql: SELECT count(DISTINCT country) AS n FROM cities\ntoolsets:",
        ),
    )
    .unwrap();
    assert!(wait_for(true), "the new tool was not served");
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let statuses: Vec<u16> = callers
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert!(statuses.len() > 4, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200),
        "a call failed during the reload: {statuses:?}"
    );
    let (status, r) = json_call(s.port, "POST", "/v1/tools/country_count", "{}");
    assert_eq!((status, &r["rows"]), (200, &json!([{"n": 3}])));
    // a spec with an error is not put in place: the server goes on with the last good one
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(
        p.dir.join("spec.yaml"),
        spec.replace("FROM cities WHERE country", "FROM citiez WHERE country")
            + "  country_count:\n    sql: SELECT 1 AS n\n",
    )
    .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert!(tools(s.port).contains(&"country_count".to_string()));
    let (status, _) = json_call(
        s.port,
        "POST",
        "/v1/tools/cities_by_country",
        r#"{"country": "FR"}"#,
    );
    assert_eq!(status, 200);
}

/// Run the Python SDK client; its JSON report.
fn python_client(mode: &str, target: &str) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/mcp_client.py");
    let out = Command::new("python3")
        .arg(script)
        .args([mode, target])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the Python MCP client failed ({mode} {target}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no report: {stdout}"));
    serde_json::from_str(line).unwrap()
}

fn check_report(r: &Value, what: &str) {
    assert_eq!(r["server_name"], "widgettdc", "{what}");
    let tool = &r["tools"]["cities_by_country"];
    assert_eq!(tool["read_only"], true, "{what}");
    assert_eq!(tool["destructive"], false, "{what}");
    assert_eq!(
        tool["input_schema"]["required"],
        json!(["country"]),
        "{what}"
    );
    assert_eq!(
        tool["output_schema"]["properties"]["rows"]["items"]["properties"]["population"]["type"],
        json!(["integer", "null"]),
        "{what}"
    );
    let page1 = &r["page1"];
    assert_eq!(page1["is_error"], false, "{what}: {page1}");
    assert_eq!(page1["structured"]["rows"][0]["name"], "Paris", "{what}");
    assert_eq!(page1["structured"]["truncated"], true, "{what}");
    assert!(
        page1["text"][0].as_str().unwrap().contains("Paris"),
        "{what}"
    );
    assert_eq!(
        r["page2"]["structured"]["rows"][0]["name"], "Lyon",
        "{what}"
    );
    // invalid arguments: a tool error naming each parameter and rule
    let bad = &r["bad_args"];
    assert_eq!(bad["is_error"], true, "{what}");
    let text = bad["text"][0].as_str().unwrap();
    assert!(
        text.contains("`extra`") && text.contains("pattern"),
        "{what}: {text}"
    );
    // a source failure: a tool error, not a protocol failure
    assert_eq!(r["broken"]["is_error"], true, "{what}");
    assert!(
        r["broken"]["text"][0].as_str().unwrap().contains("E602"),
        "{what}"
    );
    assert!(
        r["unknown_tool"]
            .as_str()
            .unwrap()
            .contains("no tool `no_such_tool`"),
        "{what}: {}",
        r["unknown_tool"]
    );
    assert_eq!(
        r["source_resource"]["tables"]["cities"][2],
        json!({"name": "population", "type": "int64", "nullable": true}),
        "{what}"
    );
    assert_eq!(
        r["widget_resource"]["data"]["big"]["rows"]
            .as_array()
            .unwrap()
            .len(),
        4,
        "{what}"
    );
}

#[test]
fn the_python_mcp_sdk_uses_the_tools_over_http_and_stdio_in_both_protocol_eras() {
    let p = project("mcp");
    let s = serve(&p.dir, &["--no-reload"]);
    let url = format!("http://127.0.0.1:{}/mcp", s.port);
    let modern = python_client("auto", &url);
    assert_eq!(modern["protocol_version"], "2026-07-28");
    check_report(&modern, "http auto");
    let legacy = python_client("legacy", &url);
    assert_eq!(legacy["protocol_version"], "2025-11-25");
    check_report(&legacy, "http legacy");
    let stdio = format!(
        "stdio:{}:{}",
        env!("CARGO_BIN_EXE_widgettdc"),
        p.dir.display()
    );
    let r = python_client("auto", &stdio);
    assert_eq!(r["protocol_version"], "2026-07-28");
    check_report(&r, "stdio auto");
    let r = python_client("legacy", &stdio);
    assert_eq!(r["protocol_version"], "2025-11-25");
    check_report(&r, "stdio legacy");
    // a toolset at its own path
    let geo = python_client("auto", &format!("{url}/geo"));
    let names: Vec<&String> = geo["tools"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["cities_by_country"]);
    let (status, _) = json_call(s.port, "POST", "/mcp/nope", "{}");
    assert_eq!(status, 404);
}

/// A stateless (`2026-07-28`) tool call over HTTP, raw: (status, content type, body). `extra_meta`
/// adds an entry to the request's `_meta`.
fn raw_mcp_call(
    port: u16,
    path: &str,
    id: u64,
    tool: &str,
    arguments: Value,
    extra_meta: Option<(&str, Value)>,
) -> (u16, String, Vec<u8>) {
    let mut meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    if let Some((k, v)) = extra_meta {
        meta[k] = v;
    }
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": tool, "arguments": arguments, "_meta": meta}});
    let (status, head, body) = http(
        port,
        "POST",
        path,
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
            ("MCP-Protocol-Version", "2026-07-28"),
            ("Mcp-Method", "tools/call"),
            ("Mcp-Name", tool),
        ],
        body.to_string().as_bytes(),
    );
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default();
    (status, content_type, body)
}

#[test]
fn a_plain_stateless_tool_call_is_answered_as_rmcp_answers_it() {
    // A plain stateless call is answered by widgettdc's direct path (serve/src/mcp_direct.rs);
    // the same call with one more `_meta` entry goes through rmcp. The answers must be the same
    // bytes: rows, a truncated page and its cursor, the next page, an invalid argument, a tool
    // that fails while it runs, and a toolset's endpoint. Decimals and floats are the same
    // values, but the direct path writes their digits as Arrow wrote them (as the HTTP API
    // does), where rmcp's `Value` keeps an f64.
    let p = project("direct");
    let spec = std::fs::read_to_string(p.dir.join("spec.yaml")).unwrap();
    let spec = spec.replacen(
        "tools:\n",
        "tools:\n  numbers:\n    sql: SELECT name, CAST(population AS DECIMAL(12, 2)) AS exact, \
         CAST(population AS DOUBLE) / 8 AS eighths FROM cities WHERE country = 'FR' ORDER BY name\n",
        1,
    );
    std::fs::write(p.dir.join("spec.yaml"), spec).unwrap();
    let s = serve(&p.dir, &["--no-reload"]);
    let first = raw_mcp_call(
        s.port,
        "/mcp",
        1,
        "cities_by_country",
        json!({"country": "FR"}),
        None,
    );
    let page: Value = serde_json::from_slice(&first.2).unwrap();
    let cursor = page["result"]["structuredContent"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    let cases: Vec<(&str, &str, Value)> = vec![
        ("/mcp", "cities_by_country", json!({"country": "FR"})),
        (
            "/mcp",
            "cities_by_country",
            json!({"country": "FR", "cursor": cursor}),
        ),
        ("/mcp", "big_cities", json!({})),
        ("/mcp", "cities_by_country", json!({"country": "France"})),
        ("/mcp", "cities_by_country", json!({"country": 7})),
        ("/mcp", "broken", json!({})),
        ("/mcp/geo", "cities_by_country", json!({"country": "DE"})),
    ];
    for (i, (path, tool, args)) in cases.into_iter().enumerate() {
        let id = 10 + i as u64;
        let direct = raw_mcp_call(s.port, path, id, tool, args.clone(), None);
        let via_rmcp = raw_mcp_call(
            s.port,
            path,
            id,
            tool,
            args.clone(),
            Some(("org.example/trace", json!("t"))),
        );
        let show = |r: &(u16, String, Vec<u8>)| {
            format!("{} {} {}", r.0, r.1, String::from_utf8_lossy(&r.2))
        };
        assert_eq!(show(&direct), show(&via_rmcp), "{path} {tool} {args}");
        assert_eq!(direct.0, 200, "{}", show(&direct));
        let v: Value = serde_json::from_slice(&direct.2).unwrap();
        assert_eq!(v["id"], json!(id));
        let is_error = v["result"]["isError"].as_bool().unwrap();
        assert_eq!(is_error, (3..=5).contains(&i), "{}", show(&direct));
    }
    let direct = raw_mcp_call(s.port, "/mcp", 20, "numbers", json!({}), None);
    let via_rmcp = raw_mcp_call(
        s.port,
        "/mcp",
        20,
        "numbers",
        json!({}),
        Some(("org.example/trace", json!("t"))),
    );
    let (a, b): (Value, Value) = (
        serde_json::from_slice(&direct.2).unwrap(),
        serde_json::from_slice(&via_rmcp.2).unwrap(),
    );
    assert_eq!((direct.0, &direct.1, &a), (via_rmcp.0, &via_rmcp.1, &b));
    assert_eq!(
        a["result"]["structuredContent"]["rows"][1]["eighths"],
        json!(109134.5)
    );
    let (direct, via_rmcp) = (
        String::from_utf8_lossy(&direct.2),
        String::from_utf8_lossy(&via_rmcp.2),
    );
    assert!(direct.contains(r#""exact":873076.00,"#), "{direct}");
    assert!(via_rmcp.contains(r#""exact":873076.0,"#), "{via_rmcp}");
    // what the direct path does not take is rmcp's to answer: a tool outside the toolset, a
    // header that contradicts the body
    let (status, _, body) = raw_mcp_call(s.port, "/mcp/geo", 30, "big_cities", json!({}), None);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("there is no tool `big_cities`"),
        "{status} {v}"
    );
    let body = json!({"jsonrpc": "2.0", "id": 31, "method": "tools/call",
        "params": {"name": "big_cities", "arguments": {}, "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}}}});
    let (status, _, body) = http(
        s.port,
        "POST",
        "/mcp",
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
            ("MCP-Protocol-Version", "2026-07-28"),
            ("Mcp-Method", "tools/call"),
            ("Mcp-Name", "cities_by_country"),
        ],
        body.to_string().as_bytes(),
    );
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert!(
        String::from_utf8_lossy(&body).contains("Mcp-Name"),
        "{}",
        String::from_utf8_lossy(&body)
    );
}

/// The MCP Inspector's CLI (`@modelcontextprotocol/inspector` 2.x, Node 22; `.ci/run` installs
/// both under `$WIDGETTDC_MCP_DIR`): its JSON result for one method.
fn inspector(era: &str, target: &[&str], method: &[&str]) -> Value {
    let dir = common::mcp_dir();
    let node = dir.join("node_modules/node/bin/node");
    let cli =
        dir.join("node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js");
    for p in [&node, &cli] {
        assert!(
            p.exists(),
            "{} is missing: run `npm install --prefix {} node@22 @modelcontextprotocol/inspector@2` (.ci/run does)",
            p.display(),
            dir.display()
        );
    }
    let out = Command::new(node)
        .arg(cli)
        .args(["--cli", "--protocol-era", era, "--format", "json", "-q"])
        .args(method)
        .args(target)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "inspector {era} {method:?}: {e}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn the_mcp_inspector_cli_lists_and_calls_tools_in_both_eras_over_http_and_stdio() {
    let p = project("inspector");
    let s = serve(&p.dir, &["--no-reload"]);
    let url = format!("http://127.0.0.1:{}/mcp", s.port);
    let binary = env!("CARGO_BIN_EXE_widgettdc");
    let dir = p.dir.to_str().unwrap();
    let stdio: Vec<&str> = vec![binary, "serve", "-p", dir, "--mcp", "stdio", "--no-reload"];
    for era in ["modern", "legacy"] {
        for (how, target) in [("http", vec![url.as_str()]), ("stdio", stdio.clone())] {
            let what = format!("{era} {how}");
            let list = inspector(era, &target, &["--method", "tools/list"]);
            let tools = list["result"]["tools"]
                .as_array()
                .unwrap_or_else(|| panic!("{what}: {list}"));
            let t = tools.iter().find(|t| t["name"] == "big_cities").unwrap();
            assert_eq!(t["annotations"]["readOnlyHint"], true, "{what}");
            assert!(
                t["outputSchema"]["properties"]["rows"].is_object(),
                "{what}"
            );
            let call = inspector(
                era,
                &target,
                &[
                    "--method",
                    "tools/call",
                    "--tool-name",
                    "cities_by_country",
                    "--tool-args-json",
                    r#"{"country": "DE"}"#,
                ],
            );
            assert_eq!(call["result"]["isError"], false, "{what}: {call}");
            assert_eq!(
                call["result"]["structuredContent"]["rows"][0]["name"], "Berlin",
                "{what}"
            );
            // a rule broken: a tool error that names the parameter
            let bad = inspector(
                era,
                &target,
                &[
                    "--method",
                    "tools/call",
                    "--tool-name",
                    "cities_by_country",
                    "--tool-args-json",
                    r#"{"country": "germany"}"#,
                ],
            );
            assert_eq!(bad["result"]["isError"], true, "{what}: {bad}");
            assert!(
                bad["result"]["content"][0]["text"]
                    .as_str()
                    .unwrap()
                    .contains("`country`"),
                "{what}"
            );
            let read = inspector(
                era,
                &target,
                &[
                    "--method",
                    "resources/read",
                    "--uri",
                    "widgettdc://sources/cities",
                ],
            );
            let text = read["result"]["contents"][0]["text"]
                .as_str()
                .unwrap_or_else(|| panic!("{what}: {read}"));
            assert!(text.contains("population"), "{what}: {text}");
        }
    }
}

use common::psql;

struct PgSchema(String);

impl Drop for PgSchema {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc"])
            .arg(format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0))
            .output();
    }
}

/// A widget that declares a Postgres `channel:` (and no refresh) gets a new event when the
/// channel is notified, against the real PostgreSQL server.
#[test]
fn widget_events_follow_postgres_notify() {
    let schema = PgSchema(format!("wt_serve_{}", std::process::id()));
    let s = &schema.0;
    psql(&format!(
        "DROP SCHEMA IF EXISTS {s} CASCADE; CREATE SCHEMA {s}; \
         CREATE TABLE {s}.alerts (id int PRIMARY KEY, level text NOT NULL); \
         INSERT INTO {s}.alerts VALUES (1, 'high'), (2, 'low')"
    ));
    let dir = std::env::temp_dir().join(format!("wt-serve-notify-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let channel = format!("{s}_alerts");
    std::fs::write(
        dir.join("spec.yaml"),
        format!(
            "version: 1
sources:
  pg:
    kind: postgres
    url: postgres://postgres@127.0.0.1:5432/test
    tls: {{ mode: disable }}
    tables:
      {s}.alerts: {{ columns: {{ id: int32, level: string }} }}
tools:
  high_alerts:
    sql: SELECT id FROM pg.{s}.alerts WHERE level = 'high' ORDER BY id
widgets:
  dashboard:
    data:
      high: {{ tool: high_alerts, channel: {channel} }}
"
        ),
    )
    .unwrap();
    let server = serve(&dir, &["--no-reload"]);
    let mut events = open_events(server.port, None);
    let first = sse_events(&mut events, 1, Duration::from_secs(30));
    assert_eq!(first.len(), 1, "no first event");
    assert_eq!(
        first[0].1["data"]["high"]["rows"],
        json!([{"id": 1}]),
        "{}",
        first[0].1
    );
    // a change without a notification is not pushed (there is no refresh)
    psql(&format!("INSERT INTO {s}.alerts VALUES (3, 'high')"));
    assert!(sse_events(&mut events, 1, Duration::from_millis(1500)).is_empty());
    // the notification is
    psql(&format!("NOTIFY {channel}, 'new alert'"));
    let second = sse_events(&mut events, 1, Duration::from_secs(30));
    assert_eq!(second.len(), 1, "no event after NOTIFY");
    assert_eq!(
        second[0].1["data"]["high"]["rows"],
        json!([{"id": 1}, {"id": 3}])
    );
    drop(events);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// MCP clients are told when a reload changes the tools: `notifications/tools/list_changed` on a
/// 2025-11-25 session, and through `subscriptions/listen` on 2026-07-28 (the Python SDK).
#[test]
fn mcp_clients_are_told_when_a_reload_changes_the_tools() {
    let p = project("listchanged");
    let s = serve(&p.dir, &[]);
    let url = format!("http://127.0.0.1:{}/mcp", s.port);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/mcp_client.py");
    let spec = std::fs::read_to_string(p.dir.join("spec.yaml")).unwrap();
    for (i, mode) in ["legacy", "auto"].into_iter().enumerate() {
        let mut child = Command::new("python3")
            .arg(&script)
            .args([mode, url.as_str(), "watch"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.starts_with("READY") {
            line.clear();
            if out.read_line(&mut line).unwrap() == 0 {
                let mut err = String::new();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                panic!("{mode}: the client stopped before it was ready: {err}");
            }
        }
        // a new tool: the project is reloaded and the session told
        std::thread::sleep(Duration::from_millis(1100));
        let tool = format!("extra_{i}");
        std::fs::write(
            p.dir.join("spec.yaml"),
            spec.replace(
                "toolsets:",
                &format!("  {tool}:\n    sql: SELECT count(*) AS n FROM cities\ntoolsets:"),
            ),
        )
        .unwrap();
        line.clear();
        out.read_line(&mut line).unwrap();
        let status = child.wait().unwrap();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(status.success(), "{mode}: {err}");
        let report: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{mode}: {e}: {line} {err}"));
        assert!(
            !report["before"].as_array().unwrap().contains(&json!(tool)),
            "{report}"
        );
        assert!(
            report["after"].as_array().unwrap().contains(&json!(tool)),
            "{mode}: {report}"
        );
    }
}
