//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, a client we did not
//! write) against `widgettdc serve` over streamable HTTP, for both protocol revisions:
//! `--requirements 2025-11-25` (the initialize handshake) and `--requirements 2026-07-28`
//! (stateless, `server/discover`). The fixture project `tests/fixtures/conformance` declares the
//! tools its scenarios call as ordinary widgettdc tools; what widgettdc does not implement is
//! listed, with a reason each, in `tests/conformance/expected-failures-<revision>.yaml`. The suite
//! fails on an unexpected failure and on a listed one that passes. `.ci/run` installs the suite and
//! Node 22 (which it needs) under `$WIDGETTDC_MCP_DIR`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn mcp_dir() -> PathBuf {
    std::env::var_os("WIDGETTDC_MCP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/widgettdc-mcp")
        })
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_suite(revision: &str) {
    let dir = mcp_dir();
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
    let mut server = Killed(
        Command::new(env!("CARGO_BIN_EXE_widgettdc"))
            .args(["serve", "-p"])
            .arg(root.join("tests/fixtures/conformance"))
            .args(["--listen", "127.0.0.1:0", "--no-reload"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut err = BufReader::new(server.0.stderr.take().unwrap());
    let mut line = String::new();
    let port: u16 = loop {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "serve exited");
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
