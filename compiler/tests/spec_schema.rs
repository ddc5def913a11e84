//! The published JSON Schema and the decoder agree, and the docs list every code.

use std::collections::BTreeSet;

use serde_json::Value;
use widgettdc_compiler::spec::sources::{self, connection, file, http, rest};
use widgettdc_compiler::spec::{
    columns, json_schema, Parameter, SpecFile, Tool, Widget, WidgetData,
};
use widgettdc_compiler::Code;

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn published_schema_is_current() {
    let path = root().join("docs/spec.schema.json");
    let published = std::fs::read_to_string(&path).expect("docs/spec.schema.json exists");
    let published: Value = serde_json::from_str(&published).expect("valid JSON");
    assert_eq!(
        published,
        json_schema(),
        "docs/spec.schema.json is stale: run `cargo run -- spec json-schema > docs/spec.schema.json`"
    );
}

/// Property names of a definition in the schema (following `allOf`/`anyOf`/`oneOf` and `$ref`).
fn props(schema: &Value, def: &str) -> BTreeSet<String> {
    let d = if def == "SpecFile" {
        schema.clone()
    } else {
        schema["$defs"][def].clone()
    };
    assert!(!d.is_null(), "definition {def} missing in the schema");
    let mut out = BTreeSet::new();
    collect_props(schema, &d, &mut out);
    out
}

fn collect_props(schema: &Value, v: &Value, out: &mut BTreeSet<String>) {
    if let Some(p) = v.get("properties").and_then(Value::as_object) {
        out.extend(p.keys().cloned());
    }
    if let Some(r) = v.get("$ref").and_then(Value::as_str) {
        let def = &schema["$defs"][r.trim_start_matches("#/$defs/")];
        collect_props(schema, def, out);
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(list) = v.get(key).and_then(Value::as_array) {
            for item in list {
                collect_props(schema, item, out);
            }
        }
    }
}

fn keys(k: &[&str]) -> BTreeSet<String> {
    k.iter().map(|s| s.to_string()).collect()
}

#[test]
fn decoder_keys_match_schema() {
    let s = json_schema();
    assert_eq!(props(&s, "SpecFile"), keys(SpecFile::KEYS));
    assert_eq!(props(&s, "Tool"), keys(Tool::KEYS));
    assert_eq!(props(&s, "Parameter"), keys(Parameter::KEYS));
    assert_eq!(props(&s, "Widget"), keys(Widget::KEYS));
    assert_eq!(props(&s, "WidgetData"), keys(WidgetData::KEYS));
    assert_eq!(props(&s, "TableDecl"), keys(columns::TableDecl::KEYS));
    assert_eq!(props(&s, "ColumnLong"), keys(columns::ColumnDecl::KEYS));
    assert_eq!(props(&s, "Pool"), keys(connection::Pool::KEYS));
    assert_eq!(props(&s, "Tls"), keys(connection::Tls::KEYS));
    assert_eq!(props(&s, "CsvOptions"), keys(file::CsvOptions::KEYS));
    assert_eq!(props(&s, "S3Options"), keys(file::S3Options::KEYS));
    assert_eq!(props(&s, "Auth"), keys(http::Auth::KEYS));
    assert_eq!(props(&s, "Retry"), keys(http::Retry::KEYS));
    assert_eq!(props(&s, "RestTable"), keys(rest::RestTable::KEYS));
    assert_eq!(props(&s, "RestColumn"), keys(rest::RestColumn::KEYS));
    assert_eq!(props(&s, "Pagination"), keys(rest::Pagination::KEYS));
    // each source kind: the variant of the tagged union has exactly the kind's keys
    let variants = s["$defs"]["SourceConfig"]["oneOf"]
        .as_array()
        .expect("SourceConfig is a oneOf");
    for kind in sources::SOURCE_KINDS {
        let v = variants
            .iter()
            .find(|v| v["properties"]["kind"]["const"] == kind.name)
            .unwrap_or_else(|| panic!("no schema variant for kind {}", kind.name));
        let mut p = BTreeSet::new();
        collect_props(&s, v, &mut p);
        assert_eq!(p, keys(kind.keys), "keys of source kind {}", kind.name);
    }
}

#[test]
fn every_code_is_documented() {
    let doc = std::fs::read_to_string(root().join("docs/diagnostics.md"))
        .expect("docs/diagnostics.md exists");
    for c in Code::ALL {
        let (code, name, _) = c.info();
        assert!(
            doc.contains(&format!("`{code}`")),
            "{code} is not in docs/diagnostics.md"
        );
        assert!(doc.contains(name), "{name} is not in docs/diagnostics.md");
    }
    let mut seen = BTreeSet::new();
    for c in Code::ALL {
        assert!(seen.insert(c.as_str()), "code {} used twice", c.as_str());
    }
}
