//! `widgettdc codegen ts` end to end: the generated `client.ts` is compiled by the TypeScript
//! compiler in strict mode together with scripts that use it, and the compiled scripts run on
//! Node against `widgettdc serve` (typed tool calls, paging, widgets, ad-hoc SQL, errors,
//! Server-Sent Events). Wrong uses of the client must fail to compile, which shows the types
//! are real. TypeScript 5 and Node 22 come from npm under `$WIDGETTDC_MCP_DIR` (default
//! `~/.cache/widgettdc-mcp`), installed by `.ci/run`.

mod common;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::{mcp_dir, serve};

/// Node 22 and the TypeScript compiler's entry point.
fn toolchain() -> (PathBuf, PathBuf) {
    let dir = mcp_dir();
    let node = dir.join("node_modules/node/bin/node");
    let tsc = dir.join("node_modules/typescript/bin/tsc");
    for p in [&node, &tsc] {
        assert!(
            p.exists(),
            "{} is missing: run `npm install --prefix {} node@22 typescript@5` (.ci/run does)",
            p.display(),
            dir.display()
        );
    }
    (node, tsc)
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/serve")
}

/// A temporary directory, removed when dropped.
struct TempDir {
    dir: PathBuf,
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn temp(tag: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("wt-codegen-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("project/data")).unwrap();
    std::fs::copy(
        fixture().join("data/cities.csv"),
        dir.join("project/data/cities.csv"),
    )
    .unwrap();
    TempDir { dir }
}

/// A copy of the `serve` fixture project, in `<tmp>/project`.
fn fixture_copy(tag: &str) -> TempDir {
    let t = temp(tag);
    std::fs::copy(fixture().join("spec.yaml"), t.dir.join("project/spec.yaml")).unwrap();
    t
}

/// `widgettdc codegen ts -p <project> --out <out>`: (exit code, stderr).
fn codegen(project: &Path, out: &Path) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_widgettdc"))
        .args(["codegen", "ts", "-p"])
        .arg(project)
        .arg("--out")
        .arg(out)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

/// Generate the client into `<tmp>/ts` and return its text.
fn generate(t: &TempDir) -> String {
    let out = t.dir.join("ts");
    let (code, err) = codegen(&t.dir.join("project"), &out);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("wrote"), "{err}");
    std::fs::read_to_string(out.join("client.ts")).unwrap()
}

const TSC_FLAGS: &[&str] = &[
    "--strict",
    "--pretty",
    "false",
    "--target",
    "es2022",
    "--module",
    "es2022",
    "--lib",
    "es2022,dom",
];

/// Compile `files` (in `dir`) with tsc: (success, what it printed).
fn tsc(dir: &Path, files: &[&str], extra: &[&str]) -> (bool, String) {
    let (node, tsc) = toolchain();
    let o = Command::new(node)
        .arg(tsc)
        .args(TSC_FLAGS)
        .args(extra)
        .args(files)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

/// Compile `files` to ES modules in `<dir>/out`, expecting success.
fn compile_to_js(dir: &Path, files: &[&str]) {
    let (ok, text) = tsc(dir, files, &["--noEmit", "false", "--outDir", "out"]);
    assert!(ok, "tsc failed:\n{text}");
    std::fs::write(dir.join("out/package.json"), r#"{"type": "module"}"#).unwrap();
}

/// The lines of `file` that tsc reported errors at (1-based).
fn error_lines(tsc_output: &str, file: &str) -> BTreeSet<usize> {
    tsc_output
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(file)?.strip_prefix('(')?;
            let (pos, tail) = rest.split_once(')')?;
            tail.starts_with(": error TS").then_some(())?;
            pos.split(',').next()?.parse().ok()
        })
        .collect()
}

/// The lines of a source marked `// ERROR` (1-based).
fn marked_lines(source: &str) -> BTreeSet<usize> {
    source
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("// ERROR"))
        .map(|(i, _)| i + 1)
        .collect()
}

/// Run a compiled script with Node (killed after a minute): the JSON it prints last.
fn run_script(dir: &Path, script: &str, port: u16) -> Value {
    let (node, _) = toolchain();
    let mut child = Command::new(node)
        .arg(dir.join("out").join(script))
        .arg(port.to_string())
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let until = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    let status = status.unwrap_or_else(|| {
        panic!("{script} did not finish within a minute\nstdout: {out}\nstderr: {err}")
    });
    assert!(
        status.success(),
        "{script} failed ({status})\nstdout: {out}\nstderr: {err}"
    );
    let last = out.lines().last().unwrap_or_default();
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("{script}: not JSON ({e}): {out}\nstderr: {err}"))
}

/// What the script over the `serve` fixture does; every value it prints is typed by the client.
const E2E_TS: &str = r#"import {
  WidgettdcClient,
  WidgettdcError,
  isDataError,
  paginate,
  type BigCitiesRow,
  type CitiesByCountryRow,
  type DashboardWidget,
  type Page,
  type SourceInfo,
} from "./client.js";

declare const process: { argv: string[] };

const base = `http://127.0.0.1:${process.argv[2]}/`;
const client = new WidgettdcClient(base);
const out: Record<string, unknown> = {};

// a typed tool call
const page: Page<CitiesByCountryRow> = await client.citiesByCountry({ country: "FR" });
const n: number | null = page.rows[0].population;
const name: string | null = page.rows[0].name;
out["tool"] = {
  first: [name, n],
  rows: page.rows.length,
  truncated: page.truncated,
  cursor: typeof page.next_cursor,
  columns: page.columns.map((c) => `${c.name}:${c.type}`),
};

// every parameter of big_cities has a default
const big: BigCitiesRow[] = (await client.bigCities()).rows;
out["big"] = big.map((r) => r.name);

// paging: the function, and the client's helpers
const pages: string[][] = [];
for await (const p of paginate((cursor) => client.citiesByCountry({ country: "FR" }, { cursor }))) {
  pages.push(p.rows.map((r) => r.name ?? "?"));
}
out["pages"] = pages;
let count = 0;
for await (const p of client.paginate((cursor) => client.bigCities({ min_population: 0 }, { cursor }))) {
  count += p.rows.length;
}
out["paged_rows"] = count;
const all = await client.allRows((cursor) => client.citiesByCountry({ country: "DE" }, { cursor }));
out["all"] = all.map((r) => r.name);

// a widget: each piece typed by its tool's rows
const w: DashboardWidget = await client.widgetDashboard();
const french = w.data.french;
if (isDataError(french)) throw new Error(french.error.message);
out["widget"] = {
  widget: w.widget,
  title: w.title,
  french: french.rows.map((r) => r.name),
  big: isDataError(w.data.big) ? null : w.data.big.rows.length,
};

// ad-hoc SQL
const q = await client.query<{ n: number }>(
  "SELECT count(*) AS n FROM cities WHERE population > $p",
  { p: 1000000 },
);
out["query"] = q.rows[0].n;

// sources
const sources: SourceInfo[] = await client.discover();
out["sources"] = sources.map((s) => `${s.name}:${s.health}`);
out["listed"] = {
  tools: (await client.listTools()).map((t) => t.name),
  widgets: (await client.listWidgets()).map((x) => x.name),
};

// errors
const failure = async (f: () => Promise<unknown>): Promise<unknown> => {
  try {
    await f();
    return "no error";
  } catch (e) {
    if (!(e instanceof WidgettdcError)) throw e;
    return {
      status: e.status,
      code: e.code,
      codes: e.errors.map((x) => x.code),
      message: e.message,
      help: e.help,
      error: e instanceof Error,
      name: e.name,
    };
  }
};
out["bad_params"] = await failure(() => client.citiesByCountry({ country: "France" }));
out["unknown_tool"] = await failure(() => client.callTool("nope", {}));
out["source_failure"] = await failure(() => client.broken());
out["bad_sql"] = await failure(() => client.query("DROP TABLE cities"));
// the source that failed a query says so
const cities = (await client.discover()).find((x) => x.name === "cities");
out["after_failure"] = [cities?.health ?? null, cities?.last_error?.message ?? null];

// a fetch and headers of the caller's
let calls = 0;
const counting: typeof fetch = (input, init) => {
  calls += 1;
  return fetch(input, init);
};
const custom = new WidgettdcClient(base, { fetch: counting, headers: { "X-Caller": "test" } });
out["custom"] = { rows: (await custom.bigCities({ min_population: 3000000 })).rows.length, calls };

// events: the data at once; then stop
const event = await new Promise<{ id: string; widget: string; big: number | null }>((resolve, reject) => {
  const timeout = setTimeout(() => reject(new Error("no event within 20 s")), 20000);
  const stop = client.subscribeDashboard(
    (data, id) => {
      stop();
      clearTimeout(timeout);
      resolve({ id, widget: data.widget, big: isDataError(data.data.big) ? null : data.data.big.rows.length });
    },
    (e) => {
      clearTimeout(timeout);
      reject(e);
    },
  );
});
out["event"] = event;

// resuming from the id it had: nothing comes while the data stays the same
let resumed = 0;
const stop = client.subscribe<DashboardWidget>(
  "dashboard",
  () => {
    resumed += 1;
  },
  (e) => {
    out["resume_error"] = String(e);
  },
  { lastEventId: event.id },
);
await new Promise((r) => setTimeout(r, 1500));
stop();
out["resumed"] = resumed;

// an unknown widget: an error, and no retrying
out["unknown_widget"] = await new Promise((resolve) => {
  const stop = client.subscribe(
    "nope",
    () => resolve("data?"),
    (e) => {
      stop();
      resolve(e instanceof WidgettdcError ? [e.status, e.code] : String(e));
    },
  );
});

console.log(JSON.stringify(out));
"#;

#[test]
fn the_generated_client_compiles_strictly_and_drives_a_running_server() {
    let t = fixture_copy("e2e");
    let client = generate(&t);
    assert!(
        client.starts_with("// Generated by `widgettdc codegen ts`"),
        "{client}"
    );
    for expected in [
        "export class WidgettdcClient {",
        "export class WidgettdcError extends Error {",
        "async citiesByCountry(params: CitiesByCountryParams, options?: CallOptions): Promise<Page<CitiesByCountryRow>>",
        "async bigCities(params: BigCitiesParams = {}, options?: CallOptions)",
        "  min_population?: number;",
        "  population: number | null;",
        "    french: Page<CitiesByCountryRow> | DataError;",
        "async widgetDashboard(options?: RequestOptions): Promise<DashboardWidget>",
        "subscribeDashboard(",
    ] {
        assert!(client.contains(expected), "missing {expected:?} in:\n{client}");
    }
    // the same project gives the same file
    let again = t.dir.join("again");
    assert_eq!(codegen(&t.dir.join("project"), &again).0, 0);
    assert_eq!(
        std::fs::read_to_string(again.join("client.ts")).unwrap(),
        client
    );

    let ts = t.dir.join("ts");
    std::fs::write(ts.join("e2e.ts"), E2E_TS).unwrap();
    compile_to_js(&ts, &["client.ts", "e2e.ts"]);

    let server = serve(&t.dir.join("project"), &["--no-reload"]);
    let out = run_script(&ts, "e2e.js", server.port);

    assert_eq!(
        out["tool"],
        json!({
            "first": ["Paris", 2102650],
            "rows": 2,
            "truncated": true,
            "cursor": "string",
            "columns": ["name:string", "population:int64"],
        }),
        "{out}"
    );
    assert_eq!(out["big"], json!(["Berlin", "Hamburg", "Munich", "Paris"]));
    assert_eq!(
        out["pages"],
        json!([["Paris", "Marseille"], ["Lyon", "Toulouse"]])
    );
    assert_eq!(out["paged_rows"], 8);
    assert_eq!(out["all"], json!(["Berlin", "Hamburg", "Munich"]));
    assert_eq!(
        out["widget"],
        json!({"widget": "dashboard", "title": "Cities", "french": ["Paris", "Marseille"], "big": 4})
    );
    assert_eq!(out["query"], 4);
    // `degraded` when the probe took more than a second (a busy machine)
    assert!(
        out["sources"] == json!(["cities:ok"]) || out["sources"] == json!(["cities:degraded"]),
        "{out}"
    );
    // after `broken` failed: `degraded`, with the failure
    assert_eq!(out["after_failure"][0], "degraded", "{out}");
    assert!(
        out["after_failure"][1]
            .as_str()
            .is_some_and(|m| m.contains("cast")),
        "{out}"
    );
    assert_eq!(
        out["listed"],
        json!({"tools": ["cities_by_country", "big_cities", "broken"], "widgets": ["dashboard"]})
    );

    let bad = &out["bad_params"];
    assert_eq!(bad["status"], 422, "{bad}");
    assert!(bad["code"] == "E606" || bad["code"] == "E605", "{bad}");
    assert!(
        bad["message"].as_str().unwrap().contains("country"),
        "{bad}"
    );
    assert_eq!(bad["error"], true);
    assert_eq!(bad["name"], "WidgettdcError");
    assert!(!bad["codes"].as_array().unwrap().is_empty(), "{bad}");
    let unknown = &out["unknown_tool"];
    assert_eq!(unknown["status"], 404, "{unknown}");
    assert_eq!(unknown["code"], "E604", "{unknown}");
    assert_eq!(out["source_failure"]["status"], 502, "{out}");
    assert_eq!(out["bad_sql"]["status"], 400, "{out}");
    assert_eq!(out["bad_sql"]["code"], "E612", "{out}");
    assert_eq!(out["custom"], json!({"rows": 1, "calls": 1}));

    let event = &out["event"];
    assert_eq!(event["widget"], "dashboard", "{event}");
    assert_eq!(event["big"], 4, "{event}");
    assert!(!event["id"].as_str().unwrap().is_empty(), "{event}");
    assert_eq!(out["resumed"], 0, "{out}");
    assert!(out.get("resume_error").is_none(), "{out}");
    assert_eq!(out["unknown_widget"], json!([404, "widget-not-found"]));
}

/// Wrong uses of the fixture's client; each line marked `// ERROR` must fail to compile.
const WRONG_TS: &str = r#"import { WidgettdcClient, isDataError } from "./client.js";

const client = new WidgettdcClient("http://127.0.0.1:1");

export async function wrong(): Promise<void> {
  await client.citiesByCountry({ country: 5 }); // ERROR: a number for a string
  await client.citiesByCountry({}); // ERROR: a required parameter left out
  await client.citiesByCountry({ country: "FR", limit: 3 }); // ERROR: no such parameter
  await client.bigCities({ min_population: "many" }); // ERROR: a string for a number
  await client.broken({ x: 1 }); // ERROR: the tool has no parameters
  const page = await client.bigCities();
  const s: string = page.rows[0].population; // ERROR: a number (or null)
  const c: string = page.rows[0].country; // ERROR: may be null
  page.rows[0].nope; // ERROR: no such column
  const w = await client.widgetDashboard();
  w.data.nope; // ERROR: no such piece
  w.data.big.rows; // ERROR: the piece may be an error
  const f = w.data.french;
  if (!isDataError(f)) {
    const b: boolean = f.rows[0].name; // ERROR: a string
    void b;
  }
  await client.query("SELECT 1", { p: [1, 2] }); // ERROR: not a value a placeholder takes
  client.subscribeDashboard((d: { nope: number }) => d.nope); // ERROR: not the widget's data
  await client.noSuchTool(); // ERROR: no such method
  void s;
  void c;
}
"#;

#[test]
fn wrong_uses_of_the_generated_client_do_not_compile() {
    let t = fixture_copy("wrong");
    generate(&t);
    let ts = t.dir.join("ts");
    std::fs::write(ts.join("wrong.ts"), WRONG_TS).unwrap();
    let (ok, text) = tsc(&ts, &["client.ts", "wrong.ts"], &["--noEmit"]);
    assert!(!ok, "wrong uses compiled:\n{text}");
    assert_eq!(
        error_lines(&text, "wrong.ts"),
        marked_lines(WRONG_TS),
        "errors not where expected:\n{text}"
    );
    assert!(
        error_lines(&text, "client.ts").is_empty(),
        "the client itself has errors:\n{text}"
    );
    // the first one is the brief's example: `{country: 5}`
    assert!(
        text.lines()
            .any(|l| l.starts_with("wrong.ts(6,") && l.contains("TS2322")),
        "{text}"
    );
}

/// A project whose names are not TypeScript identifiers, clash with the client's own members,
/// or need quoting; and parameters of every kind (lists, enums, dates, timestamps).
const ODD_SPEC: &str = r#"version: 1
sources:
  cities:
    kind: file
    path: data/cities.csv
tools:
  top-10:
    description: "The largest cities */ of some countries."
    parameters:
      countries: { type: list<string>, pattern: "[A-Z]{2}", minimum: 1 }
    sql: |
      SELECT name AS "city name", population AS "1st", country FROM cities
      WHERE country IN ($countries) ORDER BY population DESC, name LIMIT 10
  query:
    parameters:
      country: { type: string, enum: [FR, DE, "N'O"] }
    sql: SELECT count(*) AS n, max(population) AS "max(population)" FROM cities WHERE country = $country
  then:
    sql: SELECT 1 AS one, [1, 2] AS list, named_struct('a', 1, 'b c', 'x') AS s, true AS flag
  since:
    parameters:
      day: { type: date, required: false }
      at: { type: timestamp, default: "2024-01-01T00:00:00" }
    sql: |
      SELECT name FROM cities
      WHERE DATE '2024-06-01' >= $day AND TIMESTAMP '2024-06-01 00:00:00' >= $at
      ORDER BY name LIMIT 2
  widget-board:
    sql: SELECT name FROM cities ORDER BY name LIMIT 1
widgets:
  board:
    title: Board
    data:
      "the top": { tool: top-10, params: { countries: [NO] } }
      q: { tool: query, params: { country: DE } }
"#;

const ODD_TS: &str = r#"import { WidgettdcClient, isDataError, type BoardWidget, type Top10Row } from "./client.js";

declare const process: { argv: string[] };

const client = new WidgettdcClient(`http://127.0.0.1:${process.argv[2]}`);
const top = await client.top10({ countries: ["FR", "NO"] });
const row: Top10Row = top.rows[0];
const city: string | null = row["city name"];
const first: number | null = row["1st"];
const q = await client.query2({ country: "N'O" });
const max: number | null = q.rows[0]["max(population)"];
const then = (await client.then2()).rows[0];
const list: (number | null)[] | null = then.list;
const s: { a: number | null; "b c": string | null } | null = then.s;
const flag: boolean = then.flag;
const since = await client.since({ day: "2024-01-01", at: "2024-05-01T00:00:00" });
const defaulted = await client.since();
const plain = await client.widgetBoard();
const board: BoardWidget = await client.widgetBoard2();
const topPiece = board.data["the top"];
const event = await new Promise<string>((resolve) => {
  const stop = client.subscribeBoard2((data) => {
    stop();
    resolve(data.widget);
  });
});
console.log(
  JSON.stringify({
    top: [city, first, top.rows.length],
    max,
    n: q.rows[0].n,
    then: { list, s, flag, one: then.one },
    since: since.rows.map((r) => r.name),
    defaulted: defaulted.rows.length,
    plain: plain.rows.map((r) => r.name),
    board: isDataError(topPiece) ? topPiece.error.code : topPiece.rows.map((r) => r["city name"]),
    event,
  }),
);
"#;

const ODD_WRONG_TS: &str = r#"import { WidgettdcClient } from "./client.js";

const client = new WidgettdcClient("http://127.0.0.1:1");

export async function wrong(): Promise<void> {
  await client.query2({ country: "XX" }); // ERROR: not one of the enum's values
  await client.top10({ countries: "FR" }); // ERROR: a list is wanted
  await client.top10({ countries: [1] }); // ERROR: strings are wanted
  await client.since({ day: new Date() }); // ERROR: dates are ISO strings
  const t = await client.top10({ countries: [] });
  t.rows[0].city_name; // ERROR: the column is `city name`
}
"#;

#[test]
fn odd_names_become_valid_typescript_and_every_parameter_kind_is_typed() {
    let t = temp("odd");
    std::fs::write(t.dir.join("project/spec.yaml"), ODD_SPEC).unwrap();
    let client = generate(&t);
    for expected in [
        // `top-10` is no identifier; `query` and `then` are taken (and a `then` would make
        // the client awaitable); `widgetBoard` is taken by the tool `widget-board`
        "async top10(params: Top10Params, options?: CallOptions): Promise<Page<Top10Row>>",
        "return this.callTool<Top10Row>(\"top-10\", params, options);",
        "async query2(params: QueryParams,",
        "async then2(params: ThenParams = {},",
        "async widgetBoard(params: WidgetBoardParams = {},",
        "async widgetBoard2(options?: RequestOptions): Promise<BoardWidget>",
        "subscribeBoard2(",
        "  \"city name\": string | null;",
        "  \"1st\": number | null;",
        "  \"max(population)\": number | null;",
        "  country: \"FR\" | \"DE\" | \"N'O\";",
        "  countries: string[];",
        "  day?: string;",
        "  at?: string;",
        "  list: (number | null)[] | null;",
        "    \"the top\": Page<Top10Row> | DataError;",
        "The largest cities *\\/ of some countries.",
    ] {
        assert!(
            client.contains(expected),
            "missing {expected:?} in:\n{client}"
        );
    }
    assert!(!client.contains("async then("), "{client}");

    let ts = t.dir.join("ts");
    // the client type-checks under every strictness option there is
    let (ok, text) = tsc(
        &ts,
        &["client.ts"],
        &[
            "--noEmit",
            "--noUnusedLocals",
            "--noUnusedParameters",
            "--exactOptionalPropertyTypes",
            "--noUncheckedIndexedAccess",
            "--noPropertyAccessFromIndexSignature",
            "--noImplicitReturns",
            "--noImplicitOverride",
            "--noFallthroughCasesInSwitch",
            "--isolatedModules",
        ],
    );
    assert!(ok, "{text}");

    std::fs::write(ts.join("wrong.ts"), ODD_WRONG_TS).unwrap();
    let (ok, text) = tsc(&ts, &["client.ts", "wrong.ts"], &["--noEmit"]);
    assert!(!ok, "wrong uses compiled:\n{text}");
    assert_eq!(
        error_lines(&text, "wrong.ts"),
        marked_lines(ODD_WRONG_TS),
        "errors not where expected:\n{text}"
    );

    std::fs::write(ts.join("odd.ts"), ODD_TS).unwrap();
    compile_to_js(&ts, &["client.ts", "odd.ts"]);
    let server = serve(&t.dir.join("project"), &["--no-reload"]);
    let out = run_script(&ts, "odd.js", server.port);
    assert_eq!(
        out,
        json!({
            "top": ["Paris", 2102650, 5],
            "max": null,
            "n": 0,
            "then": {"list": [1, 2], "s": {"a": 1, "b c": "x"}, "flag": true, "one": 1},
            "since": ["Berlin", "Hamburg"],
            "defaulted": 2,
            "plain": ["Berlin"],
            "board": ["Oslo"],
            "event": "board",
        })
    );
}

#[test]
fn a_project_with_errors_gets_no_client() {
    let t = temp("bad");
    std::fs::write(
        t.dir.join("project/spec.yaml"),
        "version: 1\nsources:\n  cities: { kind: file, path: data/cities.csv }\ntools:\n  t:\n    sql: SELECT nope FROM cities\n",
    )
    .unwrap();
    let out = t.dir.join("ts");
    let (code, err) = codegen(&t.dir.join("project"), &out);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("the project has errors"), "{err}");
    assert!(!out.exists());
    let (code, err) = codegen(&t.dir.join("missing"), &out);
    assert_eq!(code, 2, "{err}");
    assert!(!out.exists());
}
