//! Benchmark: `widgettdc serve` under load, against PostgreSQL's own pgbench in the same run.
//!
//! Run with `cargo bench --bench serve` (needs the PostgreSQL server of the machine: 127.0.0.1:5432,
//! user postgres, database `test`; and `pgbench`). Measurements:
//!
//! 1. A point query by primary key on a 100,000-row Postgres table, as a widgettdc tool
//!    (`SELECT id, name, balance FROM pg.bench_serve.accounts WHERE id = $id`), called by 32
//!    concurrent clients for `WIDGETTDC_BENCH_SECS` (default 10) seconds each way:
//!    - `pgbench -M prepared -c 32 -j 2` running the same statement (per-transaction log → p50/p99);
//!    - `POST /v1/tools/account` over HTTP (keep-alive connections, one per client);
//!    - `tools/call` over MCP streamable HTTP (an rmcp client per client, stateless 2026-07-28);
//!    - both again from `wrk -t 2 -c 32` (a load generator written in C, as pgbench is; the Rust
//!      clients above share the 2 cores with the server and Postgres), each response checked
//!      (a row; for MCP `isError: false`). MCP requests are stateless 2026-07-28 `tools/call`s.
//!      Targets: p50 ≤ 1.5× pgbench, throughput ≥ 60% of pgbench. They are judged by the median
//!      of rounds (see [`wrk_rounds`]); the bench exits with status 1 when a median misses one.
//! 2. A widget's events endpoint with 1,000 Server-Sent Events connections held open: the server's
//!    resident memory per connection, and the p50/p99 of `GET /v1/widgets/{name}` meanwhile.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "../tests/common/mod.rs"]
mod common;

use common::{psql, serve};

const ROWS: i64 = 100_000;
const CLIENTS: usize = 32;
/// The targets: throughput at least this share (%) of pgbench's...
const TARGET_SHARE: f64 = 60.0;
/// ...and a p50 at most this many times pgbench's average latency.
const TARGET_P50: f64 = 1.5;

fn secs() -> u64 {
    std::env::var("WIDGETTDC_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

struct Stats {
    n: usize,
    p50: f64,
    p99: f64,
    tps: f64,
}

fn stats(mut ms: Vec<f64>, elapsed: Duration) -> Stats {
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Stats {
        n: ms.len(),
        p50: percentile(&ms, 0.5),
        p99: percentile(&ms, 0.99),
        tps: ms.len() as f64 / elapsed.as_secs_f64(),
    }
}

fn print(name: &str, s: &Stats, base: Option<&Stats>) {
    let ratio = base
        .map(|b| {
            format!(
                "  p50 {:.2}× · throughput {:.0}% of pgbench",
                s.p50 / b.p50,
                100.0 * s.tps / b.tps
            )
        })
        .unwrap_or_default();
    println!(
        "{name:<24} {:>8} calls  p50 {:>7.3} ms  p99 {:>7.3} ms  {:>8.0} /s{ratio}",
        s.n, s.p50, s.p99, s.tps
    );
}

/// A pgbench run; with `log`, its per-transaction log gives the percentiles (writing it costs
/// pgbench a little, so the rounds run without it and use its throughput alone).
fn pgbench(dir: &Path, log: bool) -> Stats {
    let script = dir.join("point.sql");
    std::fs::write(
        &script,
        format!("\\set id random(1, {ROWS})\nSELECT id, name, balance FROM bench_serve.accounts WHERE id = :id;\n"),
    )
    .unwrap();
    let logs = dir.join("pgbench-log");
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs).unwrap();
    let started = Instant::now();
    let out = Command::new("pgbench")
        .current_dir(&logs)
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-n",
            "-M",
            "prepared",
            "-c",
            &CLIENTS.to_string(),
            "-j",
            "2",
        ])
        .args(["-T", &secs().to_string()])
        .args(log.then_some("-l"))
        .arg("-f")
        .arg(&script)
        .arg("test")
        .output()
        .expect("pgbench runs");
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "pgbench: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // per-transaction log lines: client_id transaction_no time(µs) script_no time_epoch time_us
    let mut ms = Vec::new();
    for e in std::fs::read_dir(&logs).unwrap().flatten() {
        for line in std::fs::read_to_string(e.path()).unwrap().lines() {
            if let Some(us) = line
                .split_whitespace()
                .nth(2)
                .and_then(|x| x.parse::<f64>().ok())
            {
                ms.push(us / 1000.0);
            }
        }
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let tps: f64 = stdout
        .lines()
        .find(|l| l.starts_with("tps"))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|x| x.parse().ok())
        .unwrap_or(0.0);
    let avg: f64 = stdout
        .lines()
        .find(|l| l.starts_with("latency average"))
        .and_then(|l| l.split('=').nth(1))
        .and_then(|x| x.split_whitespace().next())
        .and_then(|x| x.parse().ok())
        .unwrap_or(f64::NAN);
    println!("pgbench reports: latency average {avg} ms, tps {tps:.0} (its per-transaction log gives the percentiles below)");
    let mut s = stats(ms, elapsed);
    if tps > 0.0 {
        s.tps = tps;
    }
    s
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|x| x.parse().ok())
        .unwrap_or(0)
}

/// Random ids without a dependency: a xorshift per client.
fn next_id(state: &mut u64) -> i64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state % ROWS as u64) as i64 + 1
}

async fn http_load(port: u16) -> Stats {
    let until = Instant::now() + Duration::from_secs(secs());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let url = format!("http://127.0.0.1:{port}/v1/tools/account");
            let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ (c as u64 + 1);
            let mut ms = Vec::new();
            while Instant::now() < until {
                let id = next_id(&mut seed);
                let t = Instant::now();
                let r = client
                    .post(&url)
                    .body(format!("{{\"id\": {id}}}"))
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success(), "{}", r.status());
                let body = r.bytes().await.unwrap();
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
                assert!(body.starts_with(b"{\"columns\""));
            }
            ms
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    stats(all, started.elapsed())
}

async fn mcp_load(port: u16) -> Stats {
    use rmcp::model::CallToolRequestParams;
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::ServiceExt;
    let until = Instant::now() + Duration::from_secs(secs());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        tasks.push(tokio::spawn(async move {
            let transport =
                StreamableHttpClientTransport::from_uri(format!("http://127.0.0.1:{port}/mcp"));
            let client = ().serve(transport).await.expect("MCP client connects");
            let mut seed = 0x2545_F491_4F6C_DD1Du64 ^ (c as u64 + 1);
            let mut ms = Vec::new();
            while Instant::now() < until {
                let id = next_id(&mut seed);
                let mut p = CallToolRequestParams::new("account");
                p.arguments = Some(serde_json::json!({"id": id}).as_object().unwrap().clone());
                let t = Instant::now();
                let r = client.call_tool(p).await.expect("tools/call");
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
                assert_ne!(r.is_error, Some(true));
            }
            let _ = client.cancel().await;
            ms
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    stats(all, started.elapsed())
}

/// `POST /v1/tools/account` with a random id; a response that is not a row counts as bad.
const HTTP_LUA: &str = r#"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  return post("/v1/tools/account", '{"id": ' .. math.random(1, ROWS) .. '}')
end
check = function(body) return string.find(body, '"rows":[{"id":', 1, true) end
"#;

/// A stateless MCP `tools/call` (2026-07-28: the protocol version, client info and
/// capabilities in each request's `_meta`, the standard `Mcp-Method`/`Mcp-Name` headers), with a
/// new JSON-RPC id each time.
const MCP_LUA: &str = r#"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
wrk.headers["Mcp-Method"] = "tools/call"
wrk.headers["Mcp-Name"] = "account"
local n = 0
request = function()
  n = n + 1
  return post("/mcp", '{"jsonrpc":"2.0","id":' .. n .. ',"method":"tools/call","params":{"name":"account","arguments":{"id":' .. math.random(1, ROWS) .. '},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"wrk","version":"4"},"io.modelcontextprotocol/clientCapabilities":{}}}}')
end
check = function(body) return string.find(body, '"isError":false', 1, true) and string.find(body, '"rows":[{"id":', 1, true) end
"#;

/// `post(path, body)`: a request, its head (request line and headers) made once per path by
/// `wrk.format` and a fresh body added with its length. (`wrk.format` itself, called for every
/// request, rebuilds the head from the headers table each time: 2–4 µs of wrk's CPU per request
/// (docs/serve.md, run 14), taken from the 2 cores the server shares with it; pgbench makes its
/// next statement in C.)
const WRK_POST_LUA: &str = r#"
local heads = {}
post = function(path, body)
  local head = heads[path]
  if not head then
    head = wrk.format(nil, path):sub(1, -3) .. "Content-Length: "
    heads[path] = head
  end
  return head .. #body .. "\r\n\r\n" .. body
end
"#;

/// Counts bad responses per thread and prints the total when the run is done.
const WRK_CHECK_LUA: &str = r#"
local threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function(args) math.randomseed(os.time() + math.floor(os.clock() * 1e6)) bad = 0 end
response = function(status, headers, body)
  if status ~= 200 or not check(body) then bad = bad + 1 end
end
done = function(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("bad") end
  io.write(string.format("requests %d\nbad %d\np50_us %d\np99_us %d\n", summary.requests, total, latency:percentile(50), latency:percentile(99)))
end
"#;

fn wrk_available() -> bool {
    Command::new("wrk")
        .arg("--version")
        .output()
        .is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout).contains("wrk")
                || String::from_utf8_lossy(&o.stderr).contains("wrk")
        })
}

/// A `wrk -t 2 -c 32` run (as `pgbench -j 2 -c 32`) with `script`; every response checked.
fn wrk(dir: &Path, port: u16, name: &str, script: &str) -> Stats {
    let path = dir.join(format!("{name}.lua"));
    let script = format!("ROWS = {ROWS}\n{WRK_POST_LUA}\n{script}\n{WRK_CHECK_LUA}");
    std::fs::write(&path, script).unwrap();
    let started = Instant::now();
    let out = Command::new("wrk")
        .args(["-t", "2", "-c", &CLIENTS.to_string(), "-d"])
        .arg(format!("{}s", secs()))
        .arg("-s")
        .arg(&path)
        .arg(format!("http://127.0.0.1:{port}/"))
        .output()
        .expect("wrk runs");
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "wrk: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |key: &str| -> f64 {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(key)
                    .map(|v| v.trim().parse().unwrap_or(f64::NAN))
            })
            .unwrap_or_else(|| panic!("wrk printed no `{key}`: {text}"))
    };
    let bad = field("bad ");
    assert_eq!(bad, 0.0, "{bad} bad responses from widgettdc ({name})");
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(f64::NAN);
    Stats {
        n: field("requests ") as usize,
        p50: field("p50_us ") / 1000.0,
        p99: field("p99_us ") / 1000.0,
        tps: if rps > 0.0 {
            rps
        } else {
            field("requests ") / elapsed.as_secs_f64()
        },
    }
}

/// How many rounds [`wrk_rounds`] runs (`WIDGETTDC_BENCH_ROUNDS`, default 3).
fn rounds() -> usize {
    std::env::var("WIDGETTDC_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
}

/// The targets, judged round by round: each round runs pgbench, then wrk over HTTP, then wrk
/// over MCP, so each of them is compared with a pgbench run of the same minute (on a shared
/// machine the rate of all three drifts from one minute to the next). p50 is compared with
/// pgbench's average latency, `clients / throughput` (what it prints as `latency average`).
/// Returns whether the medians meet the targets (`None` with no rounds).
fn wrk_rounds(dir: &Path, port: u16) -> Option<bool> {
    let n = rounds();
    if n == 0 {
        return None;
    }
    println!("{n} rounds of pgbench, wrk HTTP, wrk MCP (share of that round's pgbench throughput; p50 against its average latency):");
    let (mut http_share, mut http_p50, mut mcp_share, mut mcp_p50) =
        (vec![], vec![], vec![], vec![]);
    for round in 1..=n {
        let pg = pgbench(dir, false);
        let avg = 1000.0 * CLIENTS as f64 / pg.tps;
        let http = wrk(dir, port, "http", HTTP_LUA);
        let mcp = wrk(dir, port, "mcp", MCP_LUA);
        println!(
            "round {round}: pgbench {:.0}/s (average {avg:.3} ms) · HTTP {:.0}/s ({:.0}%), p50 {:.3} ms ({:.2}×) · MCP {:.0}/s ({:.0}%), p50 {:.3} ms ({:.2}×)",
            pg.tps,
            http.tps,
            100.0 * http.tps / pg.tps,
            http.p50,
            http.p50 / avg,
            mcp.tps,
            100.0 * mcp.tps / pg.tps,
            mcp.p50,
            mcp.p50 / avg,
        );
        http_share.push(100.0 * http.tps / pg.tps);
        http_p50.push(http.p50 / avg);
        mcp_share.push(100.0 * mcp.tps / pg.tps);
        mcp_p50.push(mcp.p50 / avg);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let (http_share, http_p50, mcp_share, mcp_p50) = (
        median(http_share),
        median(http_p50),
        median(mcp_share),
        median(mcp_p50),
    );
    let met = |share: f64, p50: f64| share >= TARGET_SHARE && p50 <= TARGET_P50;
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "median of {n} rounds: HTTP {http_share:.0}% of pgbench, p50 {http_p50:.2}× ({}) · MCP {mcp_share:.0}% of pgbench, p50 {mcp_p50:.2}× ({}) (targets: ≥ {TARGET_SHARE}%, ≤ {TARGET_P50}×)",
        verdict(met(http_share, http_p50)),
        verdict(met(mcp_share, mcp_p50)),
    );
    Some(met(http_share, http_p50) && met(mcp_share, mcp_p50))
}

fn sse_bench(port: u16, pid: u32) {
    const CONNS: usize = 1000;
    let before = rss_kb(pid);
    let mut conns = Vec::new();
    for _ in 0..CONNS {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(format!("GET /v1/widgets/board/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n").as_bytes())
            .unwrap();
        conns.push(s);
    }
    // wait until every connection got its first event
    for s in &mut conns {
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut buf = [0u8; 4096];
        let mut seen = Vec::new();
        while !String::from_utf8_lossy(&seen).contains("event: data") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "connection closed");
            seen.extend_from_slice(&buf[..n]);
        }
    }
    std::thread::sleep(Duration::from_secs(2));
    let held = rss_kb(pid);
    // fetches of the widget while the connections are held
    let mut ms = Vec::new();
    let started = Instant::now();
    for _ in 0..200 {
        let t = Instant::now();
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(format!("GET /v1/widgets/board HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").as_bytes())
            .unwrap();
        let mut body = Vec::new();
        s.read_to_end(&mut body).unwrap();
        assert!(body.starts_with(b"HTTP/1.1 200"));
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let f = stats(ms, started.elapsed());
    println!(
        "SSE: {CONNS} connections held; server RSS {:.1} MB before, {:.1} MB with them: {:.1} KB per connection",
        before as f64 / 1024.0,
        held as f64 / 1024.0,
        (held.saturating_sub(before)) as f64 / CONNS as f64
    );
    print("widget fetch (1,000 SSE)", &f, None);
    drop(conns);
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = std::env::temp_dir().join(format!("wt-bench-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    psql("DROP SCHEMA IF EXISTS bench_serve CASCADE; CREATE SCHEMA bench_serve");
    psql(&format!(
        "CREATE TABLE bench_serve.accounts (id bigint PRIMARY KEY, name text NOT NULL, balance numeric(12,2) NOT NULL); \
         INSERT INTO bench_serve.accounts SELECT i, 'account ' || i, (i * 7 % 100000) / 100.0 FROM generate_series(1, {ROWS}) i; \
         ANALYZE bench_serve.accounts"
    ));
    std::fs::write(
        dir.join("spec.yaml"),
        "version: 1
sources:
  pg:
    kind: postgres
    url: postgres://postgres@127.0.0.1:5432/test
    tls: { mode: disable }
    pool: { max_size: 32 }
    tables:
      bench_serve.accounts:
        columns: { id: { type: int64, nullable: false }, name: string, balance: 'decimal(12, 2)' }
tools:
  account:
    description: One account by id.
    parameters:
      id: { type: integer }
    sql: SELECT id, name, balance FROM pg.bench_serve.accounts WHERE id = $id
widgets:
  board:
    data:
      one: { tool: account, params: { id: 42 }, refresh: 5s }
",
    )
    .unwrap();
    let server = serve(&dir, &["--no-reload"]);
    let port = server.port;
    let exec = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // warm-up: the pool, the plans
    exec.block_on(async {
        let c = reqwest::Client::new();
        for id in 1..200 {
            let r = c
                .post(format!("http://127.0.0.1:{port}/v1/tools/account"))
                .body(format!("{{\"id\": {id}}}"))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        }
    });
    println!(
        "point query by primary key, {CLIENTS} concurrent clients, {} s each:",
        secs()
    );
    let pg = pgbench(&dir, true);
    print("pgbench -M prepared", &pg, None);
    let http = exec.block_on(http_load(port));
    print("widgettdc HTTP /v1/tools", &http, Some(&pg));
    let mcp = exec.block_on(mcp_load(port));
    print("widgettdc MCP tools/call", &mcp, Some(&pg));
    // the same calls from a load generator written in C, as pgbench is: the clients above are
    // Rust (reqwest, rmcp) and take a share of the same 2 cores
    let verdict = match wrk_available() {
        true => {
            let http = wrk(&dir, port, "http", HTTP_LUA);
            print("wrk HTTP /v1/tools", &http, Some(&pg));
            let mcp = wrk(&dir, port, "mcp", MCP_LUA);
            print("wrk MCP tools/call", &mcp, Some(&pg));
            wrk_rounds(&dir, port)
        }
        false => {
            println!("(wrk is not installed: `apt-get install wrk` for the C-client runs)");
            None
        }
    };
    sse_bench(port, server.child.id());
    drop(server);
    psql("DROP SCHEMA IF EXISTS bench_serve CASCADE");
    let _ = std::fs::remove_dir_all(&dir);
    if verdict == Some(false) {
        eprintln!("the median of the rounds missed a target (see above)");
        std::process::exit(1);
    }
}
