//! The `widgettdc` binary end to end: exit codes and output formats.

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn widgettdc() -> Command {
    let mut c = Command::cargo_bin("widgettdc").expect("binary built");
    c.current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL");
    c
}

/// A project in a temporary directory.
fn project(files: &[(&str, &str)]) -> tempdir::Dir {
    let d = tempdir::Dir::new();
    for (name, text) in files {
        let p = d.path.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    d
}

mod tempdir {
    pub struct Dir {
        pub path: std::path::PathBuf,
    }
    impl Dir {
        pub fn new() -> Self {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let path = std::env::temp_dir().join(format!(
                "widgettdc-cli-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ));
            std::fs::create_dir_all(&path).unwrap();
            Dir { path }
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

const BAD: &str = r#"version: 1
sources:
  crm:
    kind: postgres
    url: postgres://localhost/crm
    tables:
      customers: { columns: { id: int64, name: string, region: string } }
tools:
  by_region:
    parameters:
      region: { type: string }
    sql: |
      SELECT nme FROM crm.customers
      WHERE region = $region
  other:
    sql: SELECT * FROM crm.custmers
"#;

#[test]
fn quickstart_checks_clean() {
    let out = widgettdc()
        .args(["check", "--project", "examples/quickstart"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("no problems"), "{stdout}");
}

#[test]
fn errors_exit_1_and_json_lists_every_problem_with_positions() {
    let p = project(&[("spec.yaml", BAD)]);
    let out = widgettdc()
        .args(["check", "--format", "json", "--project"])
        .arg(&p.path)
        .assert()
        .code(1);
    let v: Value = serde_json::from_slice(&out.get_output().stdout).expect("JSON output");
    let diags = v["diagnostics"].as_array().unwrap();
    let summary: Vec<(String, u64, u64)> = diags
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![("E203".to_string(), 13, 14), ("E202".to_string(), 16, 24)]
    );
    assert_eq!(diags[0]["help"], "did you mean `name`?");
    assert_eq!(diags[1]["help"], "did you mean `crm.customers`?");
    assert!(diags[0]["file"].as_str().unwrap().ends_with("spec.yaml"));
    for key in [
        "severity", "code", "message", "file", "line", "column", "help",
    ] {
        assert!(diags[0].get(key).is_some(), "missing {key}");
    }
}

#[test]
fn github_and_sarif_formats() {
    let p = project(&[("spec.yaml", BAD)]);
    let out = widgettdc()
        .args(["check", "--format", "github", "--project"])
        .arg(&p.path)
        .assert()
        .code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("::error file="), "{text}");
    assert!(lines[0].contains(",line=13,col=14,"), "{text}");
    assert!(lines[0].contains("title=E203 unknown-column::"), "{text}");

    let out = widgettdc()
        .args(["check", "--format", "sarif", "--project"])
        .arg(&p.path)
        .assert()
        .code(1);
    let v: Value = serde_json::from_slice(&out.get_output().stdout).expect("SARIF is JSON");
    assert_eq!(v["version"], "2.1.0");
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["ruleId"], "E203");
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
        13
    );
}

#[test]
fn human_format_points_at_the_sql() {
    let p = project(&[("spec.yaml", BAD)]);
    let out = widgettdc()
        .args(["check", "--project"])
        .arg(&p.path)
        .assert()
        .code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.contains("E203(unknown-column)"), "{text}");
    assert!(text.contains("spec.yaml:13:14"), "{text}");
    assert!(text.contains("help: did you mean `name`?"), "{text}");
    assert!(text.contains("2 error(s), 0 warning(s)"), "{text}");
}

#[test]
fn unset_env_is_a_warning_unless_strict() {
    let spec = "sources:\n  crm:\n    kind: postgres\n    url: ${WIDGETTDC_TEST_UNSET_URL}\n";
    let p = project(&[("spec.yaml", spec)]);
    let out = widgettdc()
        .args(["check", "--format", "json", "--project"])
        .arg(&p.path)
        .env_remove("WIDGETTDC_TEST_UNSET_URL")
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["diagnostics"][0]["code"], "E011");
    assert_eq!(v["diagnostics"][0]["severity"], "warning");
    assert_eq!(v["diagnostics"][0]["line"], 4);
    assert_eq!(v["diagnostics"][0]["column"], 10);
    widgettdc()
        .args(["check", "--strict-env", "--project"])
        .arg(&p.path)
        .env_remove("WIDGETTDC_TEST_UNSET_URL")
        .assert()
        .code(1);
    widgettdc()
        .args(["check", "--strict-env", "--project"])
        .arg(&p.path)
        .env("WIDGETTDC_TEST_UNSET_URL", "postgres://x/y")
        .assert()
        .success();
}

#[test]
fn secrets_file_provides_secrets() {
    let spec = "sources:\n  crm:\n    kind: postgres\n    url: postgres://app:${secret:crm_password}@localhost/crm\n";
    let p = project(&[("spec.yaml", spec)]);
    widgettdc()
        .args(["check", "--strict-env", "--project"])
        .arg(&p.path)
        .assert()
        .code(1);
    std::fs::write(p.path.join("secrets.yaml"), "crm_password: hunter2\n").unwrap();
    let out = widgettdc()
        .args(["check", "--strict-env", "--project"])
        .arg(&p.path)
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(!text.contains("hunter2"));
}

#[test]
fn usage_and_io_errors_exit_2() {
    widgettdc()
        .args(["check", "--project", "no/such/dir"])
        .assert()
        .code(2);
    let empty = project(&[]);
    let out = widgettdc()
        .args(["check", "--project"])
        .arg(&empty.path)
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("no spec files"));
    widgettdc()
        .args(["check", "--format", "xml"])
        .assert()
        .code(2);
    widgettdc().args(["frobnicate"]).assert().code(2);
}

#[test]
fn compile_prints_typed_plans() {
    let out = widgettdc()
        .args([
            "compile",
            "--format",
            "json",
            "--project",
            "examples/quickstart",
        ])
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).expect("JSON");
    let t = &v["tools"]["security_events"];
    assert_eq!(t["read_only"], true);
    assert_eq!(
        t["parameters"]["properties"]["severity"]["enum"],
        serde_json::json!(["low", "medium", "high", "critical"])
    );
    assert_eq!(
        t["parameters"]["properties"]["severity"]["default"],
        "medium"
    );
    assert_eq!(t["parameters"]["properties"]["limit"]["maximum"], 1000);
    assert_eq!(
        t["parameters"]["properties"]["since"]["format"],
        "date-time"
    );
    assert_eq!(t["parameters"]["required"], serde_json::json!([]));
    let cols: Vec<&str> = t["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(cols, vec!["ts", "agent", "severity", "category", "message"]);
    assert_eq!(t["output"][0]["type"], "Timestamp(µs)");
    let w = &v["widgets"]["operations_board"]["data"]["alerts"];
    assert_eq!(w["tool"], "security_events");
    assert_eq!(w["params"]["limit"], 20);
    assert_eq!(w["refresh_seconds"], 30.0);
}

#[test]
fn compile_refuses_a_broken_project() {
    let p = project(&[("spec.yaml", BAD)]);
    widgettdc()
        .args(["compile", "--project"])
        .arg(&p.path)
        .assert()
        .code(1);
}

#[test]
fn json_schema_command_matches_docs() {
    let out = widgettdc().args(["spec", "json-schema"]).assert().success();
    let printed: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let docs: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docs/spec.schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(printed, docs);
}

#[test]
fn unset_variable_is_an_error_where_its_value_is_needed() {
    // the file's schema is neither declared nor locked, so its path must be read
    let spec =
        "sources:\n  sales:\n    kind: file\n    path: ${WIDGETTDC_TEST_SALES_DIR}/sales.parquet\n";
    let p = project(&[("spec.yaml", spec)]);
    let out = widgettdc()
        .args(["check", "--format", "json", "--project"])
        .arg(&p.path)
        .env_remove("WIDGETTDC_TEST_SALES_DIR")
        .assert()
        .code(1);
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let errors: Vec<&Value> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .collect();
    assert_eq!(errors.len(), 1, "{v}");
    assert_eq!(errors[0]["code"], "E011");
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("needed to read the schema of source `sales`"));
    // with declared columns the value is not needed: only a warning
    let spec = format!("{spec}    columns: {{ id: int64 }}\n");
    let p = project(&[("spec.yaml", &spec)]);
    widgettdc()
        .args(["check", "--project"])
        .arg(&p.path)
        .env_remove("WIDGETTDC_TEST_SALES_DIR")
        .assert()
        .success();
}
