//! A widget's data: every piece it declares, fetched concurrently, each a page of rows or an
//! error of its own (one failing source does not blank the whole widget). For the events
//! stream, [`version`] fingerprints the data so that only changes are pushed.

use std::hash::{Hash, Hasher};

use serde_json::{json, Map, Value};
use widgettdc_compiler::plan::{CompiledWidget, CompiledWidgetData};
use widgettdc_runtime::Runtime;

use crate::results::{self, Limits};

/// One piece of a widget's data: `{columns, rows, truncated, next_cursor}` or `{error}`.
pub async fn piece(rt: &Runtime, d: &CompiledWidgetData) -> Value {
    let limits = match rt.tool(&d.tool) {
        Ok(t) => Limits::of(&t),
        Err(e) => return json!({"error": crate::error_json(&e)}),
    };
    match results::tool_page(rt, &d.tool, &d.params, 0, limits).await {
        Ok(page) => serde_json::to_value(page).unwrap_or(Value::Null),
        Err(errors) => json!({
            "error": errors.first().map(crate::error_json),
            "errors": errors.iter().map(crate::error_json).collect::<Vec<_>>(),
        }),
    }
}

/// All of a widget's data, by the names it declares.
pub async fn data(rt: &Runtime, w: &CompiledWidget) -> Value {
    let pieces = futures::future::join_all(w.data.values().map(|d| piece(rt, d))).await;
    let data: Map<String, Value> = w.data.keys().cloned().zip(pieces).collect();
    json!({
        "widget": w.name,
        "title": w.title,
        "data": data,
    })
}

/// A fingerprint of a widget's data (changes when any value does).
pub fn version(v: &Value) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.to_string().hash(&mut h);
    format!("{:016x}", h.finish())
}
