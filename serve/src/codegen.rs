//! `widgettdc codegen ts`: a typed TypeScript client for the HTTP API that `widgettdc serve`
//! exposes (`docs/serve.md`): one `client.ts` with
//!
//! - a method per served tool (camelCase), its parameters an interface typed from the compiled
//!   parameters, its rows an interface typed from the tool's Arrow output schema (with the
//!   semantics of [`crate::results::value_schema`], i.e. what the JSON writer produces);
//! - per widget a method returning its data (each piece typed by its tool's rows) and a
//!   `subscribe<Widget>` helper over its Server-Sent Events;
//! - the generic calls (`callTool`, `query`, `discover`, `widget`, `subscribe`), `paginate`,
//!   and `WidgettdcError` for answers that are not 2xx.
//!
//! The generated code depends on nothing but `fetch` (Node 18+, browsers). Output is
//! deterministic: tools and widgets in project order, names made unique by numbering.

use std::collections::{HashMap, HashSet};

use arrow::datatypes::SchemaRef;
use serde_json::Value;
use widgettdc_compiler::plan::CompiledParam;
use widgettdc_compiler::CompiledTool;
use widgettdc_runtime::Runtime;

use crate::results::{type_name, value_schema};

/// Members of the generated client class (and of every object): tool and widget methods are
/// numbered rather than take one of these names.
const RESERVED_MEMBERS: &[&str] = &[
    "constructor",
    "baseUrl",
    "fetchImpl",
    "headers",
    "request",
    "callTool",
    "query",
    "discover",
    "listTools",
    "listWidgets",
    "widget",
    "subscribe",
    "paginate",
    "allRows",
    // awaiting a client with a `then` method would call it
    "then",
    "toString",
    "toLocaleString",
    "valueOf",
    "toJSON",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "__proto__",
    "__defineGetter__",
    "__defineSetter__",
    "__lookupGetter__",
    "__lookupSetter__",
];

/// Types the generated file declares itself.
const RESERVED_TYPES: &[&str] = &[
    "Column",
    "Page",
    "ApiError",
    "DataError",
    "SourceTool",
    "SourceFailure",
    "SourceInfo",
    "ToolDescription",
    "WidgetDescription",
    "WidgetData",
    "QueryValue",
    "RequestOptions",
    "CallOptions",
    "SubscribeOptions",
    "ClientOptions",
    "Unsubscribe",
    "WidgettdcError",
    "WidgettdcClient",
];

/// Names already given in one namespace; a name taken is numbered (`name2`, `name3`, …).
struct Names {
    used: HashSet<String>,
}

impl Names {
    fn new(reserved: &[&str]) -> Names {
        Names {
            used: reserved.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The first of `stem`, `stem2`, … for which every `prefix + stem + suffix` is free; all
    /// of those names are then taken.
    fn claim(&mut self, stem: &str, affixes: &[(&str, &str)]) -> String {
        let mut n = 1usize;
        loop {
            let candidate = if n == 1 {
                stem.to_string()
            } else {
                format!("{stem}{n}")
            };
            let names: Vec<String> = affixes
                .iter()
                .map(|(pre, suf)| format!("{pre}{candidate}{suf}"))
                .collect();
            if names.iter().all(|x| !self.used.contains(x)) {
                self.used.extend(names);
                return candidate;
            }
            n += 1;
        }
    }
}

/// The ASCII words of a name (`cities_by-country 2` → `cities`, `by`, `country`, `2`).
fn words(name: &str) -> Vec<&str> {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}

fn upper_first(w: &str) -> String {
    let mut c = w.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

fn lower_first(w: &str) -> String {
    let mut c = w.chars();
    match c.next() {
        Some(f) => f.to_ascii_lowercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

/// A valid identifier from a word list: `fallback` when there are no words, `_` before a
/// leading digit.
fn identifier(joined: String, fallback: &str) -> String {
    if joined.is_empty() {
        fallback.to_string()
    } else if joined.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{joined}")
    } else {
        joined
    }
}

/// `cities_by_country` → `citiesByCountry`: a method name.
pub fn camel_case(name: &str) -> String {
    let joined: String = words(name)
        .iter()
        .enumerate()
        .map(|(i, w)| {
            if i == 0 {
                lower_first(w)
            } else {
                upper_first(w)
            }
        })
        .collect();
    identifier(joined, "call")
}

/// `cities_by_country` → `CitiesByCountry`: the stem of a type name.
pub fn pascal_case(name: &str) -> String {
    let joined: String = words(name).iter().map(|w| upper_first(w)).collect();
    identifier(joined, "Unnamed")
}

/// Whether `name` can be written unquoted as a property name.
pub fn is_identifier(name: &str) -> bool {
    let mut c = name.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == '$')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == '$')
}

/// A property name as written in a type or object literal: bare, or a quoted string.
pub fn property(name: &str) -> String {
    if is_identifier(name) {
        name.to_string()
    } else {
        string_literal(name)
    }
}

/// A TypeScript string literal (JSON's escapes, plus the two line separators JavaScript
/// once did not allow in strings).
pub fn string_literal(s: &str) -> String {
    serde_json::to_string(s)
        .unwrap_or_else(|_| "\"\"".to_string())
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// The TypeScript type of a value described by a JSON Schema (the subset the compiler and
/// [`value_schema`] write: `type` (one or several), `enum`, `items`, `properties`).
pub fn ts_type(schema: &Value) -> String {
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let mut parts: Vec<String> = Vec::new();
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        for v in values {
            let lit = match v {
                Value::String(s) => string_literal(s),
                Value::Number(_) | Value::Bool(_) | Value::Null => v.to_string(),
                _ => continue,
            };
            if !parts.contains(&lit) {
                parts.push(lit);
            }
        }
        if parts.is_empty() {
            return "never".to_string();
        }
        if types.contains(&"null") && !parts.iter().any(|p| p == "null") {
            parts.push("null".to_string());
        }
        return parts.join(" | ");
    }
    if types.is_empty() {
        return "unknown".to_string();
    }
    for t in types {
        let part = match t {
            "string" => "string".to_string(),
            "integer" | "number" => "number".to_string(),
            "boolean" => "boolean".to_string(),
            "null" => "null".to_string(),
            "array" => {
                let item = schema.get("items").map_or("unknown".to_string(), ts_type);
                if item.contains(' ') {
                    format!("({item})[]")
                } else {
                    format!("{item}[]")
                }
            }
            "object" => match schema.get("properties").and_then(Value::as_object) {
                Some(props) if !props.is_empty() => {
                    let fields: Vec<String> = props
                        .iter()
                        .map(|(k, v)| format!("{}: {}", property(k), ts_type(v)))
                        .collect();
                    format!("{{ {} }}", fields.join("; "))
                }
                _ => "Record<string, unknown>".to_string(),
            },
            _ => "unknown".to_string(),
        };
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    parts.join(" | ")
}

/// The TypeScript type of a parameter (`list<T>` → `T[]`, dates and timestamps → `string`,
/// an `enum:` → a union of its values).
pub fn param_type(p: &CompiledParam) -> String {
    ts_type(&p.json_schema())
}

/// A JSDoc comment (nothing for no lines).
fn doc(out: &mut String, indent: &str, lines: &[String]) {
    let lines: Vec<String> = lines
        .iter()
        .flat_map(|l| {
            if l.is_empty() {
                vec![String::new()]
            } else {
                l.lines().map(str::to_string).collect()
            }
        })
        .map(|l| l.trim_end().replace("*/", "*\\/"))
        .collect();
    match lines.len() {
        0 => {}
        1 => out.push_str(&format!("{indent}/** {} */\n", lines[0])),
        _ => {
            out.push_str(&format!("{indent}/**\n"));
            for l in lines {
                if l.is_empty() {
                    out.push_str(&format!("{indent} *\n"));
                } else {
                    out.push_str(&format!("{indent} * {l}\n"));
                }
            }
            out.push_str(&format!("{indent} */\n"));
        }
    }
}

fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 9e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// The interface of a tool's parameters (a `Record<string, never>` when it has none).
fn params_interface(out: &mut String, type_name: &str, tool: &CompiledTool) {
    doc(out, "", &[format!("The parameters of `{}`.", tool.name)]);
    if tool.params.is_empty() {
        out.push_str(&format!(
            "export type {type_name} = Record<string, never>;\n\n"
        ));
        return;
    }
    out.push_str(&format!("export interface {type_name} {{\n"));
    let mut seen = HashSet::new();
    for p in &tool.params {
        if !seen.insert(p.name.as_str()) {
            continue;
        }
        let mut lines = Vec::new();
        if let Some(d) = &p.description {
            lines.push(d.clone());
        }
        let c = &p.constraints;
        let is_list = p.ty.to_string().starts_with("list<");
        let what = if is_list {
            "items"
        } else if p.ty.to_string() == "string" {
            "length"
        } else {
            "value"
        };
        if let Some(min) = c.minimum {
            lines.push(format!("Minimum {what}: {}.", number_text(min)));
        }
        if let Some(max) = c.maximum {
            lines.push(format!("Maximum {what}: {}.", number_text(max)));
        }
        if let Some(pat) = &c.pattern {
            lines.push(format!("Pattern: `{pat}`."));
        }
        if let Some(d) = &p.default {
            lines.push(format!("@default {d}"));
        }
        doc(out, "  ", &lines);
        out.push_str(&format!(
            "  {}{}: {};\n",
            property(&p.name),
            if p.required { "" } else { "?" },
            param_type(p)
        ));
    }
    out.push_str("}\n\n");
}

/// The interface of a tool's rows, from its output schema (a `Record<string, unknown>` when
/// the SQL could not be typed offline).
fn row_interface(out: &mut String, type_name: &str, tool: &CompiledTool) {
    doc(out, "", &[format!("A row of `{}`.", tool.name)]);
    let Some(schema) = &tool.output else {
        out.push_str(&format!(
            "export type {type_name} = Record<string, unknown>;\n\n"
        ));
        return;
    };
    out.push_str(&row_type_body(type_name, schema));
}

fn row_type_body(type_name: &str, schema: &SchemaRef) -> String {
    let mut out = format!("export interface {type_name} {{\n");
    let mut seen = HashSet::new();
    for f in schema.fields() {
        if !seen.insert(f.name().as_str()) {
            continue;
        }
        out.push_str(&format!("  /** {} */\n", type_name_doc(f.data_type())));
        out.push_str(&format!(
            "  {}: {};\n",
            property(f.name()),
            ts_type(&value_schema(f.data_type(), f.is_nullable()))
        ));
    }
    out.push_str("}\n\n");
    out
}

fn type_name_doc(t: &arrow::datatypes::DataType) -> String {
    format!("`{}`", type_name(t).replace('`', "'")).replace("*/", "*\\/")
}

/// The names given to a tool's method and types.
struct ToolNames {
    method: String,
    params: String,
    row: String,
}

/// The TypeScript client for the project's HTTP API (`client.ts`).
pub fn typescript(rt: &Runtime) -> String {
    let served = crate::served_tools(rt, None);
    let mut members = Names::new(RESERVED_MEMBERS);
    let mut types = Names::new(RESERVED_TYPES);

    // rows are typed for the served tools and for every tool a widget shows
    let mut row_tools: Vec<&CompiledTool> = served.clone();
    for w in rt.compiled.widgets.values() {
        for d in w.data.values() {
            if let Some(t) = rt.compiled.tools.get(&d.tool) {
                if !row_tools.iter().any(|x| x.name == t.name) {
                    row_tools.push(t);
                }
            }
        }
    }
    let served_names: HashSet<&str> = served.iter().map(|t| t.name.as_str()).collect();
    let mut names: HashMap<&str, ToolNames> = HashMap::new();
    for t in &row_tools {
        let is_served = served_names.contains(t.name.as_str());
        let stem = if is_served {
            types.claim(&pascal_case(&t.name), &[("", "Params"), ("", "Row")])
        } else {
            types.claim(&pascal_case(&t.name), &[("", "Row")])
        };
        let method = if is_served {
            members.claim(&camel_case(&t.name), &[("", "")])
        } else {
            String::new()
        };
        names.insert(
            t.name.as_str(),
            ToolNames {
                method,
                params: format!("{stem}Params"),
                row: format!("{stem}Row"),
            },
        );
    }
    let widget_names: Vec<(String, String, String)> = rt
        .compiled
        .widgets
        .values()
        .map(|w| {
            let ty = types.claim(&pascal_case(&w.name), &[("", "Widget")]);
            let m = members.claim(&pascal_case(&w.name), &[("widget", ""), ("subscribe", "")]);
            (
                format!("{ty}Widget"),
                format!("widget{m}"),
                format!("subscribe{m}"),
            )
        })
        .collect();

    let mut out = String::new();
    out.push_str(&format!(
        "// Generated by `widgettdc codegen ts` (widgettdc {}): a client for the HTTP API of\n\
         // `widgettdc serve`. Do not edit: run the command again when the project changes.\n\
         //\n\
         // Tools: {}.\n\
         // Widgets: {}.\n\
         /* eslint-disable */\n\n",
        env!("CARGO_PKG_VERSION"),
        if served.is_empty() {
            "none".to_string()
        } else {
            served
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        },
        if rt.compiled.widgets.is_empty() {
            "none".to_string()
        } else {
            rt.compiled
                .widgets
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        },
    ));
    out.push_str(PRELUDE);

    // tool types
    for t in &row_tools {
        let n = &names[t.name.as_str()];
        if served_names.contains(t.name.as_str()) {
            params_interface(&mut out, &n.params, t);
        }
        row_interface(&mut out, &n.row, t);
    }
    // widget types
    for (w, (ty, _, _)) in rt.compiled.widgets.values().zip(&widget_names) {
        let mut lines = vec![format!("The data of widget `{}`.", w.name)];
        if let Some(title) = &w.title {
            lines.push(format!("Title: {title}"));
        }
        doc(&mut out, "", &lines);
        out.push_str(&format!(
            "export interface {ty} {{\n  widget: string;\n  title: string | null;\n"
        ));
        if w.data.is_empty() {
            out.push_str("  data: Record<string, never>;\n");
        } else {
            out.push_str("  data: {\n");
            for (key, d) in &w.data {
                let row = names
                    .get(d.tool.as_str())
                    .map_or("Record<string, unknown>".to_string(), |n| n.row.clone());
                let mut lines = vec![format!("From tool `{}`.", d.tool)];
                if let Some(r) = d.refresh {
                    lines[0] = format!(
                        "From tool `{}`, refreshed every {} ms.",
                        d.tool,
                        r.as_millis()
                    );
                }
                doc(&mut out, "    ", &lines);
                out.push_str(&format!(
                    "    {}: Page<{row}> | DataError;\n",
                    property(key)
                ));
            }
            out.push_str("  };\n");
        }
        out.push_str("}\n\n");
    }

    out.push_str(CLASS_START);
    if !served.is_empty() {
        out.push_str("  // ---- tools\n\n");
    }
    for t in &served {
        let n = &names[t.name.as_str()];
        let mut lines = Vec::new();
        if let Some(d) = &t.description {
            lines.push(d.clone());
            lines.push(String::new());
        }
        lines.push(format!("`POST /v1/tools/{}`", t.name));
        doc(&mut out, "  ", &lines);
        let optional = t.params.iter().all(|p| !p.required);
        out.push_str(&format!(
            "  async {}(params: {}{}, options?: CallOptions): Promise<Page<{}>> {{\n    return this.callTool<{}>({}, params, options);\n  }}\n\n",
            n.method,
            n.params,
            if optional { " = {}" } else { "" },
            n.row,
            n.row,
            string_literal(&t.name),
        ));
    }
    if !rt.compiled.widgets.is_empty() {
        out.push_str("  // ---- widgets\n\n");
    }
    for (w, (ty, get, sub)) in rt.compiled.widgets.values().zip(&widget_names) {
        let lit = string_literal(&w.name);
        doc(
            &mut out,
            "  ",
            &[format!(
                "The data of widget `{}` (`GET /v1/widgets/{}`).",
                w.name, w.name
            )],
        );
        out.push_str(&format!(
            "  async {get}(options?: RequestOptions): Promise<{ty}> {{\n    return this.widget<{ty}>({lit}, options);\n  }}\n\n"
        ));
        doc(
            &mut out,
            "  ",
            &[
                format!(
                    "The data of widget `{}` now and whenever it changes",
                    w.name
                ),
                format!(
                    "(`GET /v1/widgets/{}/events`); returns the function that stops it.",
                    w.name
                ),
            ],
        );
        out.push_str(&format!(
            "  {sub}(\n    onData: (data: {ty}, id: string) => void,\n    onError?: (error: unknown) => void,\n    options?: SubscribeOptions,\n  ): Unsubscribe {{\n    return this.subscribe<{ty}>({lit}, onData, onError, options);\n  }}\n\n"
        ));
    }
    out.push_str(CLASS_END);
    out
}

/// Types and helpers that do not depend on the project.
const PRELUDE: &str = r#"/** A column of a result: its name and its type (`int64`, `string`, `decimal(15, 2)`, …). */
export interface Column {
  name: string;
  type: string;
}

/**
 * A page of a result: at most the tool's `max_rows` rows. When `truncated`, pass
 * `next_cursor` as `cursor` for the next page (or use `paginate`).
 */
export interface Page<Row> {
  columns: Column[];
  rows: Row[];
  truncated: boolean;
  next_cursor: string | null;
}

/** An error as the server reports it. */
export interface ApiError {
  /** `E605`, `E606`, …, or a word such as `bad-request`, `not-found`, `widget-not-found`. */
  code: string;
  name?: string;
  message: string;
  help?: string | null;
}

/** A piece of widget data that could not be fetched (the other pieces still are). */
export interface DataError {
  error: ApiError;
  errors?: ApiError[];
}

/** A tool of an MCP server source, as a table function. */
export interface SourceTool {
  call: string;
  description?: string;
}

/** The last failure of a query that read a source. */
export interface SourceFailure {
  /** RFC 3339, UTC. */
  at: string;
  message: string;
}

/** A source, as `GET /v1/sources` describes and probes it. */
export interface SourceInfo {
  name: string;
  kind: string;
  description?: string;
  /**
   * `ok`; `degraded` (a slow probe, or a query over it failed recently); `down`; `declared`
   * (an API, fetched per query: nothing to probe).
   */
  health: "ok" | "degraded" | "down" | "declared";
  /** How long the probe took. */
  latency_ms?: number;
  error?: string;
  last_error?: SourceFailure;
  tables: string[];
  tools?: SourceTool[];
  resources?: string[];
}

/** A served tool, as `GET /v1/tools` lists it. */
export interface ToolDescription {
  name: string;
  description: string | null;
  /** The parameters as JSON Schema. */
  parameters: Record<string, unknown>;
  columns: Column[] | null;
  max_rows: number;
}

/** A widget, as `GET /v1/widgets` lists it. */
export interface WidgetDescription {
  name: string;
  title: string | null;
  data: Record<string, { tool: string; params: Record<string, unknown>; refresh_ms: number | null }>;
}

/** A widget's data, untyped. */
export interface WidgetData {
  widget: string;
  title: string | null;
  data: Record<string, Page<Record<string, unknown>> | DataError>;
}

/** A value bound to a `$name` placeholder of ad-hoc SQL. */
export type QueryValue = string | number | boolean | null;

export interface RequestOptions {
  signal?: AbortSignal | undefined;
}

export interface CallOptions extends RequestOptions {
  /** The `next_cursor` of the page before. */
  cursor?: string | null | undefined;
}

export interface SubscribeOptions {
  /** The `id` of the data the caller already has: nothing comes until the data differs. */
  lastEventId?: string | undefined;
  /** How long to wait before reconnecting, in ms (default 1000; doubled, up to 30 s, while reconnecting brings nothing). */
  retryMs?: number | undefined;
}

export interface ClientOptions {
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof fetch | undefined;
  /** Headers sent with every request (e.g. `Authorization`). */
  headers?: Record<string, string> | undefined;
}

/** Stops a subscription. */
export type Unsubscribe = () => void;

/** An answer that is not 2xx (or that could not be read). */
export class WidgettdcError extends Error {
  /** The HTTP status (0 when there was no answer to read). */
  readonly status: number;
  /** The code of the first error: `E605`, `E606`, `bad-request`, `not-found`, … */
  readonly code: string;
  readonly help: string | null;
  /** Every problem the server listed (at least the first). */
  readonly errors: ApiError[];
  /** The body of the answer (parsed JSON, or its text). */
  readonly body: unknown;

  constructor(status: number, error: ApiError, errors?: ApiError[], body?: unknown) {
    super(error.message);
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = "WidgettdcError";
    this.status = status;
    this.code = error.code;
    this.help = error.help ?? null;
    this.errors = errors !== undefined && errors.length > 0 ? errors : [error];
    this.body = body;
  }
}

function apiError(v: unknown): ApiError | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const message = o["message"];
  if (typeof message !== "string") return undefined;
  const code = o["code"];
  const name = o["name"];
  const help = o["help"];
  const e: ApiError = { code: typeof code === "string" ? code : "error", message };
  if (typeof name === "string") e.name = name;
  e.help = typeof help === "string" ? help : null;
  return e;
}

function errorFromBody(status: number, statusText: string, text: string): WidgettdcError {
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  if (typeof body === "object" && body !== null) {
    const o = body as Record<string, unknown>;
    const first = apiError(o["error"]);
    if (first !== undefined) {
      const list = o["errors"];
      const errors: ApiError[] = [];
      if (Array.isArray(list)) {
        for (const x of list) {
          const e = apiError(x);
          if (e !== undefined) errors.push(e);
        }
      }
      return new WidgettdcError(status, first, errors, body);
    }
  }
  const excerpt = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  return new WidgettdcError(
    status,
    { code: `http-${status}`, message: `HTTP ${status} ${statusText}${excerpt ? `: ${excerpt}` : ""}`, help: null },
    [],
    body,
  );
}

/** Whether a piece of widget data is an error rather than a page. */
export function isDataError<Row>(piece: Page<Row> | DataError): piece is DataError {
  return "error" in piece;
}

/**
 * Every page of a result, following `next_cursor`: `fetchPage` is called with `undefined`
 * for the first page, then with each cursor, e.g.
 * `for await (const page of paginate((cursor) => client.someTool(params, { cursor }))) …`.
 */
export async function* paginate<Row>(
  fetchPage: (cursor: string | undefined) => Promise<Page<Row>>,
): AsyncGenerator<Page<Row>, void, undefined> {
  let cursor: string | undefined = undefined;
  for (;;) {
    const page: Page<Row> = await fetchPage(cursor);
    yield page;
    if (!page.truncated || page.next_cursor === null) return;
    cursor = page.next_cursor;
  }
}

/** Every row of a result, all pages read (mind the size of what you ask for). */
export async function allRows<Row>(
  fetchPage: (cursor: string | undefined) => Promise<Page<Row>>,
): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const page of paginate(fetchPage)) rows.push(...page.rows);
  return rows;
}

"#;

const CLASS_START: &str = r#"/** A client for the HTTP API of `widgettdc serve`, e.g. `new WidgettdcClient("http://127.0.0.1:8700")`. */
export class WidgettdcClient {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly headers: Record<string, string>;

  constructor(baseUrl: string, options?: ClientOptions) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    const f = options?.fetch;
    this.fetchImpl = f !== undefined ? f : (input, init) => globalThis.fetch(input, init);
    this.headers = { ...(options?.headers ?? {}) };
  }

"#;

const CLASS_END: &str = r#"  // ---- generic

  /** Run a served tool (`POST /v1/tools/{name}`) with a JSON object of arguments. */
  async callTool<Row = Record<string, unknown>>(name: string, args?: object, options?: CallOptions): Promise<Page<Row>> {
    const body: Record<string, unknown> = { ...(args ?? {}) };
    if (options?.cursor != null) body["cursor"] = options.cursor;
    return this.request<Page<Row>>("POST", `/v1/tools/${encodeURIComponent(name)}`, body, options);
  }

  /** Read-only SQL over every source (`POST /v1/query`); `$name` placeholders are bound from `params`. */
  async query<Row = Record<string, unknown>>(
    sql: string,
    params?: Record<string, QueryValue>,
    options?: CallOptions,
  ): Promise<Page<Row>> {
    const body: Record<string, unknown> = { sql, params: params ?? {} };
    if (options?.cursor != null) body["cursor"] = options.cursor;
    return this.request<Page<Row>>("POST", "/v1/query", body, options);
  }

  /** Every source with its kind, health and tables (`GET /v1/sources`). */
  async discover(options?: RequestOptions): Promise<SourceInfo[]> {
    return this.request<SourceInfo[]>("GET", "/v1/sources", undefined, options);
  }

  /** The served tools (`GET /v1/tools`). */
  async listTools(options?: RequestOptions): Promise<ToolDescription[]> {
    const answer = await this.request<{ tools: ToolDescription[] }>("GET", "/v1/tools", undefined, options);
    return answer.tools;
  }

  /** The widgets and the data each declares (`GET /v1/widgets`). */
  async listWidgets(options?: RequestOptions): Promise<WidgetDescription[]> {
    const answer = await this.request<{ widgets: WidgetDescription[] }>("GET", "/v1/widgets", undefined, options);
    return answer.widgets;
  }

  /** A widget's data (`GET /v1/widgets/{name}`): each piece a page or an error of its own. */
  async widget<W = WidgetData>(name: string, options?: RequestOptions): Promise<W> {
    return this.request<W>("GET", `/v1/widgets/${encodeURIComponent(name)}`, undefined, options);
  }

  /**
   * A widget's data now and whenever it changes, from its Server-Sent Events
   * (`GET /v1/widgets/{name}/events`), read with `fetch`. A dropped connection is reopened
   * with `Last-Event-ID`, so only changed data comes again; an answer of 4xx (an unknown
   * widget) stops it. Returns the function that stops it.
   */
  subscribe<W = WidgetData>(
    widget: string,
    onData: (data: W, id: string) => void,
    onError?: (error: unknown) => void,
    options?: SubscribeOptions,
  ): Unsubscribe {
    const controller = new AbortController();
    const url = `${this.baseUrl}/v1/widgets/${encodeURIComponent(widget)}/events`;
    let retryMs = options?.retryMs ?? 1000;
    let delay = retryMs;
    let lastEventId: string | undefined = options?.lastEventId;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const report = (error: unknown): void => {
      if (onError === undefined || controller.signal.aborted) return;
      try {
        onError(error);
      } catch {
        // the handler's own failure is not reported back to it
      }
    };
    const connect = async (): Promise<void> => {
      timer = undefined;
      let received = false;
      try {
        const headers: Record<string, string> = { ...this.headers, Accept: "text/event-stream" };
        if (lastEventId !== undefined) headers["Last-Event-ID"] = lastEventId;
        const response = await this.fetchImpl(url, { headers, signal: controller.signal });
        if (!response.ok) {
          report(errorFromBody(response.status, response.statusText, await response.text()));
          const s = response.status;
          if (s >= 400 && s < 500 && s !== 408 && s !== 429) return;
        } else if (response.body !== null) {
          const reader = response.body.getReader();
          const decoder = new TextDecoder();
          let buffer = "";
          let event = "";
          let data: string[] = [];
          for (;;) {
            const chunk = await reader.read();
            buffer += chunk.done ? decoder.decode() : decoder.decode(chunk.value, { stream: true });
            for (;;) {
              const m = /\r\n|\r|\n/.exec(buffer);
              // a `\r` at the end may be the first half of `\r\n`
              if (m === null || (m[0] === "\r" && m.index === buffer.length - 1 && !chunk.done)) break;
              const line = buffer.slice(0, m.index);
              buffer = buffer.slice(m.index + m[0].length);
              if (line === "") {
                const type = event === "" ? "message" : event;
                const payload = data.join("\n");
                const had = data.length > 0;
                event = "";
                data = [];
                if (!had || type !== "data" || controller.signal.aborted) continue;
                received = true;
                let parsed: W;
                try {
                  parsed = JSON.parse(payload) as W;
                } catch (error) {
                  report(error);
                  continue;
                }
                try {
                  onData(parsed, lastEventId ?? "");
                } catch (error) {
                  report(error);
                }
                continue;
              }
              if (line.startsWith(":")) continue;
              const colon = line.indexOf(":");
              const field = colon < 0 ? line : line.slice(0, colon);
              let value = colon < 0 ? "" : line.slice(colon + 1);
              if (value.startsWith(" ")) value = value.slice(1);
              if (field === "event") event = value;
              else if (field === "data") data.push(value);
              else if (field === "id" && !value.includes("\0")) lastEventId = value;
              else if (field === "retry" && /^\d+$/.test(value)) retryMs = Number(value);
            }
            if (chunk.done) break;
          }
        }
      } catch (error) {
        if (controller.signal.aborted) return;
        report(error);
      }
      if (controller.signal.aborted) return;
      const wait = received ? retryMs : delay;
      delay = received ? retryMs : Math.min(delay * 2, 30000);
      timer = setTimeout(() => void connect(), wait);
    };
    void connect();
    return () => {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }

  /** Every page of a result, following `next_cursor` (see the function `paginate`). */
  paginate<Row>(fetchPage: (cursor: string | undefined) => Promise<Page<Row>>): AsyncGenerator<Page<Row>, void, undefined> {
    return paginate(fetchPage);
  }

  /** Every row of a result, all pages read (see the function `allRows`). */
  allRows<Row>(fetchPage: (cursor: string | undefined) => Promise<Page<Row>>): Promise<Row[]> {
    return allRows(fetchPage);
  }

  private async request<T>(method: "GET" | "POST", path: string, body: unknown, options: RequestOptions | undefined): Promise<T> {
    const headers: Record<string, string> = { ...this.headers, Accept: "application/json" };
    const init: RequestInit = { method, headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    if (options?.signal !== undefined) init.signal = options.signal;
    const response = await this.fetchImpl(this.baseUrl + path, init);
    const text = await response.text();
    if (!response.ok) throw errorFromBody(response.status, response.statusText, text);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new WidgettdcError(
        response.status,
        { code: "bad-response", message: `the answer to ${method} ${path} is not JSON`, help: null },
        [],
        text,
      );
    }
  }
}
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{DataType, Field, Fields, Schema, TimeUnit};
    use serde_json::json;
    use std::sync::Arc;

    #[test]
    fn names_become_valid_identifiers() {
        assert_eq!(camel_case("cities_by_country"), "citiesByCountry");
        assert_eq!(camel_case("big-cities"), "bigCities");
        assert_eq!(camel_case("Top_10"), "top10");
        assert_eq!(camel_case("9lives"), "_9lives");
        assert_eq!(camel_case("___"), "call");
        assert_eq!(camel_case("héllo wörld"), "hLloWRld");
        assert_eq!(pascal_case("cities_by_country"), "CitiesByCountry");
        assert_eq!(pascal_case("dashboard"), "Dashboard");
        assert_eq!(pascal_case("2fa"), "_2fa");
        assert_eq!(pascal_case(""), "Unnamed");
    }

    #[test]
    fn property_names_are_quoted_unless_identifiers() {
        assert_eq!(property("population"), "population");
        assert_eq!(property("$x_1"), "$x_1");
        assert_eq!(property("count(*)"), "\"count(*)\"");
        assert_eq!(property("my col"), "\"my col\"");
        assert_eq!(property("1st"), "\"1st\"");
        assert_eq!(property(""), "\"\"");
        assert_eq!(property("a\"b"), "\"a\\\"b\"");
        assert_eq!(property("x\u{2028}"), "\"x\\u2028\"");
    }

    #[test]
    fn taken_names_are_numbered() {
        let mut m = Names::new(RESERVED_MEMBERS);
        assert_eq!(m.claim("query", &[("", "")]), "query2");
        assert_eq!(m.claim("then", &[("", "")]), "then2");
        assert_eq!(m.claim("a", &[("", "")]), "a");
        assert_eq!(m.claim("a", &[("", "")]), "a2");
        let mut t = Names::new(RESERVED_TYPES);
        assert_eq!(t.claim("X", &[("", "Params"), ("", "Row")]), "X");
        // `XRow` taken: the whole group moves on
        assert_eq!(t.claim("X", &[("", "Row")]), "X2");
        assert_eq!(t.claim("Widgettdc", &[("", "Client")]), "Widgettdc2");
    }

    #[test]
    fn parameter_types_map_to_typescript() {
        let ty = |s: Value| ts_type(&s);
        assert_eq!(ty(json!({"type": "string"})), "string");
        assert_eq!(ty(json!({"type": "integer", "minimum": 0})), "number");
        assert_eq!(ty(json!({"type": "number"})), "number");
        assert_eq!(ty(json!({"type": "boolean"})), "boolean");
        assert_eq!(ty(json!({"type": "string", "format": "date"})), "string");
        assert_eq!(
            ty(json!({"type": "string", "format": "date-time"})),
            "string"
        );
        assert_eq!(
            ty(json!({"type": "array", "items": {"type": "integer"}})),
            "number[]"
        );
        assert_eq!(
            ty(json!({"type": "array", "items": {"type": "string", "enum": ["a", "b c"]}})),
            "(\"a\" | \"b c\")[]"
        );
        assert_eq!(ty(json!({"type": "integer", "enum": [1, 2]})), "1 | 2");
        assert_eq!(ty(json!({})), "unknown");
        // from the compiler's own schemas of spec types
        for (t, want) in [
            (DataType::Utf8, "string"),
            (DataType::Int32, "number"),
            (DataType::Float64, "number"),
            (DataType::Decimal128(15, 2), "number"),
            (DataType::Boolean, "boolean"),
            (DataType::Date32, "string"),
            (DataType::Timestamp(TimeUnit::Microsecond, None), "string"),
            (
                DataType::List(Arc::new(Field::new("item", DataType::Int64, true))),
                "number[]",
            ),
        ] {
            let spec = widgettdc_compiler::types::from_arrow(&t).unwrap();
            assert_eq!(
                ts_type(&widgettdc_compiler::plan::type_schema(&spec)),
                want,
                "{spec}"
            );
        }
    }

    #[test]
    fn column_types_map_like_the_json_writer() {
        let col = |t: DataType, nullable: bool| ts_type(&value_schema(&t, nullable));
        assert_eq!(col(DataType::Int64, false), "number");
        assert_eq!(col(DataType::Int64, true), "number | null");
        assert_eq!(col(DataType::UInt8, false), "number");
        assert_eq!(col(DataType::Float32, true), "number | null");
        assert_eq!(col(DataType::Decimal128(10, 2), false), "number");
        assert_eq!(col(DataType::Boolean, true), "boolean | null");
        assert_eq!(col(DataType::Utf8View, false), "string");
        assert_eq!(col(DataType::Date32, false), "string");
        assert_eq!(
            col(DataType::Timestamp(TimeUnit::Nanosecond, None), true),
            "string | null"
        );
        assert_eq!(
            col(
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                true
            ),
            "(string | null)[] | null"
        );
        assert_eq!(
            col(
                DataType::List(Arc::new(Field::new("item", DataType::Float64, false))),
                false
            ),
            "number[]"
        );
        let s = DataType::Struct(Fields::from(vec![
            Field::new("lat", DataType::Float64, false),
            Field::new("the name", DataType::Utf8, true),
        ]));
        assert_eq!(
            col(s, true),
            "{ lat: number; \"the name\": string | null } | null"
        );
        assert_eq!(col(DataType::Null, true), "null");
        assert_eq!(col(DataType::Binary, false), "unknown");
    }

    #[test]
    fn rows_are_interfaces_with_quoted_odd_names() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, false),
            Field::new("count(*)", DataType::Int64, true),
        ]));
        assert_eq!(
            row_type_body("TRow", &schema),
            "export interface TRow {\n  /** `string` */\n  name: string;\n  /** `int64` */\n  \"count(*)\": number | null;\n}\n\n"
        );
    }

    #[test]
    fn tools_without_parameters_or_typed_output_are_records() {
        let tool = CompiledTool {
            name: "remote".into(),
            description: None,
            params: Vec::new(),
            sql: "SELECT * FROM api.things".into(),
            statement: None,
            output: None,
            read_only: true,
            max_rows: None,
            max_bytes: None,
            sources: Vec::new(),
        };
        let mut out = String::new();
        params_interface(&mut out, "RemoteParams", &tool);
        row_interface(&mut out, "RemoteRow", &tool);
        assert_eq!(
            out,
            "/** The parameters of `remote`. */\nexport type RemoteParams = Record<string, never>;\n\n\
             /** A row of `remote`. */\nexport type RemoteRow = Record<string, unknown>;\n\n"
        );
    }

    #[test]
    fn doc_comments_cannot_be_closed_early() {
        let mut out = String::new();
        doc(&mut out, "", &["a */ b".to_string()]);
        assert_eq!(out, "/** a *\\/ b */\n");
        let mut out = String::new();
        doc(&mut out, "  ", &["one\ntwo".to_string(), String::new()]);
        assert_eq!(out, "  /**\n   * one\n   * two\n   *\n   */\n");
    }
}
