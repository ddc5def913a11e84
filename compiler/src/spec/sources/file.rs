//! `kind: file`: one table, named after the source, read from local files (a path or glob),
//! `file://`, `s3://` or `http(s)://` URLs, in CSV, TSV, Parquet, JSON, NDJSON, Arrow IPC or YAML.

use crate::decode::{one_of, Cx, Decode, KeyedMap, MapReader};
use crate::source::Spanned;
use crate::spec::columns::ColumnDecl;
use crate::spec::values::SelectorValue;
use crate::yaml::Node;

pub const FORMATS: &[&str] = &["csv", "tsv", "parquet", "json", "ndjson", "arrow", "yaml"];

#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct FileSource {
    pub description: Option<String>,
    /// A path or glob (relative to the spec file), or a `file://`, `s3://` or `http(s)://` URL.
    pub path: Spanned<String>,
    /// csv | tsv | parquet | json | ndjson | arrow | yaml; inferred from the extension if absent.
    pub format: Option<Spanned<String>>,
    /// Declared columns (else the lock file, or the file's own schema).
    pub columns: Option<KeyedMap<ColumnDecl>>,
    /// For JSON/YAML documents: where the rows are, e.g. `$.agents[*]` (default: the document is a list).
    pub rows: Option<Spanned<SelectorValue>>,
    pub csv: Option<CsvOptions>,
    pub s3: Option<S3Options>,
    /// Extra HTTP headers for `http(s)://` paths.
    pub headers: Option<KeyedMap<String>>,
}

pub const KEYS: &[&str] = &[
    "kind",
    "description",
    "path",
    "format",
    "columns",
    "rows",
    "csv",
    "s3",
    "headers",
];

pub fn decode(m: &mut MapReader, cx: &mut Cx) -> Option<super::SourceConfig> {
    let description = m.opt(cx, "description");
    let path: Option<Spanned<String>> = m.req(cx, "path");
    let format = m
        .node("format")
        .and_then(|n| one_of(n, cx, FORMATS, "file format"));
    let columns = m.opt(cx, "columns");
    let rows = m.opt(cx, "rows");
    let csv = m.opt(cx, "csv");
    let s3 = m.opt(cx, "s3");
    let headers = m.opt(cx, "headers");
    Some(super::SourceConfig::File(FileSource {
        description,
        path: path?,
        format,
        columns,
        rows,
        csv,
        s3,
        headers,
    }))
}

impl FileSource {
    /// The format: declared, or inferred from the path's extension.
    pub fn effective_format(&self) -> Option<&str> {
        if let Some(f) = &self.format {
            return FORMATS.iter().copied().find(|k| *k == f.value.as_str());
        }
        infer_format(&self.path.value)
    }
}

/// Infer a format from a path's extension (`.csv.gz` counts as csv).
pub fn infer_format(path: &str) -> Option<&'static str> {
    let p = path.to_ascii_lowercase();
    let p = p
        .trim_end_matches(".gz")
        .trim_end_matches(".zst")
        .trim_end_matches(".bz2")
        .trim_end_matches(".xz");
    let ext = p.rsplit('.').next()?;
    Some(match ext {
        "csv" => "csv",
        "tsv" => "tsv",
        "parquet" | "pq" => "parquet",
        "json" => "json",
        "ndjson" | "jsonl" => "ndjson",
        "arrow" | "ipc" | "feather" => "arrow",
        "yaml" | "yml" => "yaml",
        _ => return None,
    })
}

#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CsvOptions {
    /// Field delimiter (default `,`; `\t` for tsv).
    pub delimiter: Option<String>,
    /// Whether the first line holds column names (default true).
    pub header: Option<bool>,
    pub quote: Option<String>,
    /// Text that stands for null (e.g. `NA`).
    pub null: Option<String>,
}

impl CsvOptions {
    pub const KEYS: &'static [&'static str] = &["delimiter", "header", "quote", "null"];
}

impl Decode for CsvOptions {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let mut m = MapReader::new(node, cx, "csv options", Self::KEYS)?;
        let o = CsvOptions {
            delimiter: m.opt(cx, "delimiter"),
            header: m.opt(cx, "header"),
            quote: m.opt(cx, "quote"),
            null: m.opt(cx, "null"),
        };
        m.finish(cx);
        Some(o)
    }
}

#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct S3Options {
    pub region: Option<String>,
    /// Custom endpoint, e.g. a local S3-compatible server.
    pub endpoint: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    /// Allow plain `http://` endpoints (default false).
    pub allow_http: Option<bool>,
}

impl S3Options {
    pub const KEYS: &'static [&'static str] = &[
        "region",
        "endpoint",
        "access_key_id",
        "secret_access_key",
        "session_token",
        "allow_http",
    ];
}

impl Decode for S3Options {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let mut m = MapReader::new(node, cx, "s3 options", Self::KEYS)?;
        let o = S3Options {
            region: m.opt(cx, "region"),
            endpoint: m.opt(cx, "endpoint"),
            access_key_id: m.opt(cx, "access_key_id"),
            secret_access_key: m.opt(cx, "secret_access_key"),
            session_token: m.opt(cx, "session_token"),
            allow_http: m.opt(cx, "allow_http"),
        };
        m.finish(cx);
        Some(o)
    }
}
