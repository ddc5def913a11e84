//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, a client we did not
//! write) against `widgettdc serve` over streamable HTTP, for both protocol revisions:
//! `--requirements 2025-11-25` (the initialize handshake) and `--requirements 2026-07-28`
//! (stateless, `server/discover`). The fixture project `tests/fixtures/conformance` declares the
//! tools its scenarios call as ordinary widgettdc tools; what widgettdc does not implement is
//! listed, with a reason each, in `tests/conformance/expected-failures-<revision>.yaml`. The suite
//! fails on an unexpected failure and on a listed one that passes. `.ci/run` installs the suite and
//! Node 22 (which it needs) under `$WIDGETTDC_MCP_DIR`.

use std::path::Path;
use std::process::Command;

mod common;

fn run_suite(revision: &str) {
    let dir = common::mcp_dir();
    let node = dir.join("node_modules/node/bin/node");
    let suite = dir.join("node_modules/@modelcontextprotocol/conformance/dist/index.js");
    for p in [&node, &suite] {
        assert!(
            p.exists(),
            "{} is missing: run `npm install --prefix {} node@22 @modelcontextprotocol/conformance@0.2.0-alpha.12` (.ci/run does)",
            p.display(),
            dir.display()
        );
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let server = common::serve(&root.join("tests/fixtures/conformance"), &["--no-reload"]);
    let port = server.port;
    let baseline = root.join(format!(
        "tests/conformance/expected-failures-{revision}.yaml"
    ));
    let out = Command::new(&node)
        .arg(&suite)
        .args(["server", "--url", &format!("http://127.0.0.1:{port}/mcp")])
        .args(["--requirements", revision])
        .arg("--expected-failures")
        .arg(&baseline)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "conformance {revision} failed:\n{}\n{stderr}",
        stdout
            .lines()
            .skip_while(|l| !l.contains("SUMMARY"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(stdout.contains("all failures are expected"), "{stdout}");
}

#[test]
fn conformance_2025_11_25() {
    run_suite("2025-11-25");
}

#[test]
fn conformance_2026_07_28() {
    run_suite("2026-07-28");
}
