//! The bad-spec corpus: every directory in `tests/fixtures/bad/` (at the workspace root) is a
//! small project with known problems. `widgettdc check` must report them, and the rendered
//! report is snapshotted (`compiler/tests/snapshots/<fixture>.snap`).
//!
//! Conventions (see `tests/fixtures/bad/README.md`):
//! - `eNNN_<what>`: exactly one problem, with code `ENNN`, exactly one error-severity
//!   diagnostic and nothing else (a name containing `warn` may also have warnings, and its
//!   expected diagnostic may itself be a warning). `expect.txt` holds `CODE FILE:LINE:COL`,
//!   the position of the first error (or, with no error, of the first diagnostic).
//! - `multi_<what>`: several problems, all reported in one run (at least 3 diagnostics).
//! - A file `strict_env` in a fixture runs it with `Env.strict = true` (`--strict-env`).
//!
//! New fixtures are picked up without editing this file; generate their snapshots with
//! `INSTA_UPDATE=always cargo test -p widgettdc-compiler --test bad_specs` and review them.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use widgettdc_compiler::{check_dir, render, Env, ExternalSchemas, FunctionSet, Severity};

/// The corpus, relative to the crate directory (cargo's working directory for tests) so that
/// the file names in diagnostics are the same on every machine.
const CORPUS: &str = "../tests/fixtures/bad";

fn fixtures() -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(CORPUS)
        .unwrap_or_else(|e| panic!("cannot read {CORPUS}: {e}"))
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name.clone(), Path::new(CORPUS).join(name))
        })
        .collect();
    out.sort();
    out
}

/// `e203_unknown_column` → `Some("E203")`.
fn code_of(name: &str) -> Option<String> {
    let b = name.as_bytes();
    let is_code = b.len() >= 5
        && b[0].eq_ignore_ascii_case(&b'e')
        && b[1..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'_';
    is_code.then(|| name[..4].to_ascii_uppercase())
}

struct Expect {
    code: String,
    file: String,
    line: u64,
    column: u64,
}

fn read_expect(dir: &Path) -> Expect {
    let path = dir.join("expect.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: single-problem fixtures need expect.txt: {e}",
            path.display()
        )
    });
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or_else(|| panic!("{}: empty", path.display()));
    let parse = || -> Option<Expect> {
        let (code, pos) = line.split_once(char::is_whitespace)?;
        let mut it = pos.trim().rsplitn(3, ':');
        let column = it.next()?.parse().ok()?;
        let line = it.next()?.parse().ok()?;
        let file = it.next()?.to_string();
        Some(Expect {
            code: code.to_ascii_uppercase(),
            file,
            line,
            column,
        })
    };
    parse().unwrap_or_else(|| {
        panic!(
            "{}: expected `CODE FILE:LINE:COL`, found `{line}`",
            path.display()
        )
    })
}

fn check_fixture(name: &str, dir: &Path) {
    let env = Env {
        strict: dir.join("strict_env").is_file(),
        ..Env::default()
    };
    let (project, _compiled, diags) =
        check_dir(dir, &env, &ExternalSchemas::new(), &FunctionSet::standard())
            .unwrap_or_else(|e| panic!("{name}: check failed to load the project: {e}"));

    let human = render::human(&diags, &project.files, false, 100);
    let json = render::json(&diags, &project.files);
    let items = json["diagnostics"].as_array().cloned().unwrap_or_default();
    let summary: Vec<String> = items
        .iter()
        .map(|d| {
            format!(
                "{} {} {}:{}:{}",
                d["severity"].as_str().unwrap_or("?"),
                d["code"].as_str().unwrap_or("?"),
                d["file"].as_str().unwrap_or("?"),
                d["line"],
                d["column"]
            )
        })
        .collect();

    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(format!("tests/fixtures/bad/{name}"));
    settings.bind(|| insta::assert_snapshot!(name.to_string(), human));

    if name.starts_with("multi_") {
        assert!(
            diags.len() >= 3,
            "{name}: a multi_ fixture must report at least 3 diagnostics, got {}:\n{}",
            diags.len(),
            summary.join("\n")
        );
        return;
    }
    let Some(code) = code_of(name) else {
        panic!("{name}: fixture names start with `eNNN_` (one problem) or `multi_` (several)");
    };
    let warn_ok = name.contains("warn");
    assert!(
        diags
            .iter()
            .any(|d| d.code.as_str().eq_ignore_ascii_case(&code)),
        "{name}: expected a {code} diagnostic, got:\n{}",
        summary.join("\n")
    );
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    if warn_ok {
        assert!(
            errors <= 1,
            "{name}: expected at most one error, got {errors}:\n{}",
            summary.join("\n")
        );
        let expected_is_error = diags
            .iter()
            .any(|d| d.code.as_str() == code && d.severity == Severity::Error);
        assert!(
            errors == 0 || expected_is_error,
            "{name}: the only error must be the {code}:\n{}",
            summary.join("\n")
        );
    } else {
        assert!(
            errors == 1 && diags.len() == 1,
            "{name}: expected exactly one diagnostic, an error, got:\n{}",
            summary.join("\n")
        );
    }

    let expect = read_expect(dir);
    assert_eq!(
        expect.code, code,
        "{name}: expect.txt names another code than the fixture"
    );
    let first = items
        .iter()
        .find(|d| d["severity"] == "error")
        .or_else(|| items.first())
        .expect("at least one diagnostic");
    let got = format!(
        "{} {}:{}:{}",
        first["code"].as_str().unwrap_or("?"),
        first["file"].as_str().unwrap_or("?"),
        first["line"],
        first["column"]
    );
    let file_ok = first["file"]
        .as_str()
        .is_some_and(|f| f.ends_with(&format!("/{}", expect.file)));
    assert!(
        first["code"] == expect.code.as_str()
            && file_ok
            && first["line"] == expect.line
            && first["column"] == expect.column,
        "{name}: expect.txt says `{} {}:{}:{}`, the first diagnostic is `{got}`",
        expect.code,
        expect.file,
        expect.line,
        expect.column
    );
}

#[test]
fn bad_specs() {
    let all = fixtures();
    assert!(!all.is_empty(), "no fixtures in {CORPUS}");
    let mut failed = Vec::new();
    for (name, dir) in &all {
        let r = catch_unwind(AssertUnwindSafe(|| check_fixture(name, dir)));
        if let Err(e) = r {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failed.push(msg);
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failed.len(),
        all.len(),
        failed.join("\n")
    );
}

#[test]
fn fixture_names_parse() {
    assert_eq!(code_of("e203_unknown_column").as_deref(), Some("E203"));
    assert_eq!(code_of("E001_tab").as_deref(), Some("E001"));
    assert_eq!(code_of("multi_tools"), None);
    assert_eq!(code_of("e20_short"), None);
}
