//! `kind: file`: local files (one file, a directory or a glob) through DataFusion's listing
//! tables: CSV/TSV, Parquet (row-group and page pruning from statistics), NDJSON, JSON arrays
//! and Arrow IPC, gzip/bzip2/xz/zstd-compressed text formats included. JSON and YAML documents
//! with a `rows:` selector (and YAML always) go through [`super::document`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::TableProvider;
use datafusion::datasource::file_format::arrow::ArrowFormat;
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::SessionConfig;
use widgettdc_compiler::spec::sources::file::FileSource;
use widgettdc_compiler::spec::sources::SourceConfig;
use widgettdc_compiler::Code;

use super::{LazyTable, Registration, SourceCx};
use crate::error::{Result, RuntimeError};

pub fn register(cx: &SourceCx) -> Result<Registration> {
    let SourceConfig::File(f) = cx.config else {
        return Err(RuntimeError::internal("file registration for another kind"));
    };
    let schema = cx
        .catalog
        .and_then(|c| c.tables.get(&(None, cx.name.to_string())))
        .map(|t| Arc::clone(&t.schema));
    Ok(Registration::Table(Arc::new(FileTable {
        source: cx.name.to_string(),
        spec: f.clone(),
        base_dir: cx.base_dir.clone(),
        schema,
        session_config: cx.session_config.clone(),
        env: Arc::clone(&cx.env),
    })))
}

#[derive(Debug)]
pub struct FileTable {
    source: String,
    spec: FileSource,
    base_dir: PathBuf,
    /// Declared or locked columns; else the files' own schema.
    schema: Option<arrow::datatypes::SchemaRef>,
    session_config: SessionConfig,
    env: Arc<RuntimeEnv>,
}

fn is_glob(p: &str) -> bool {
    p.contains(['*', '?', '['])
}

fn compression_of(path: &str) -> FileCompressionType {
    let p = path.to_ascii_lowercase();
    if p.ends_with(".gz") {
        FileCompressionType::GZIP
    } else if p.ends_with(".bz2") {
        FileCompressionType::BZIP2
    } else if p.ends_with(".xz") {
        FileCompressionType::XZ
    } else if p.ends_with(".zst") {
        FileCompressionType::ZSTD
    } else {
        FileCompressionType::UNCOMPRESSED
    }
}

fn single_byte(s: &Option<String>, what: &str, source: &str, default: u8) -> Result<u8> {
    match s.as_deref() {
        None => Ok(default),
        Some("\\t") => Ok(b'\t'),
        Some(v) if v.len() == 1 => Ok(v.as_bytes()[0]),
        Some(v) => Err(RuntimeError::new(
            Code::SourceUnavailable,
            format!("source `{source}`: csv `{what}` must be one character, not `{v}`"),
        )
        .help(format!("write e.g. `{what}: \";\"`"))),
    }
}

impl FileTable {
    fn display(&self) -> &str {
        &self.spec.path.value
    }

    /// The local path (or glob) the spec names.
    fn local_path(&self) -> Result<PathBuf> {
        let p = self.spec.path.value.as_str();
        let p = p.strip_prefix("file://").unwrap_or(p);
        let path = Path::new(p);
        Ok(if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        })
    }

    fn not_found(&self, path: &Path) -> RuntimeError {
        RuntimeError::new(
            Code::SourceUnavailable,
            format!("the file `{}` of source `{}` does not exist", self.display(), self.source),
        )
        .help(format!(
            "check `path:` of source `{}` (relative paths are relative to the spec file); looked for {}",
            self.source,
            path.display()
        ))
    }

    fn read_error(&self, e: datafusion::error::DataFusionError) -> RuntimeError {
        let inner = RuntimeError::from_datafusion(e, Code::SourceRead);
        let code = if inner.code == Code::SourceUnavailable {
            Code::SourceUnavailable
        } else {
            Code::SourceRead
        };
        RuntimeError::new(
            code,
            format!(
                "cannot read `{}` (source `{}`): {}",
                self.display(),
                self.source,
                inner.message
            ),
        )
        .help(format!(
            "check that the file is a valid {} file, or set `format:` of source `{}`",
            self.spec.effective_format().unwrap_or("data"),
            self.source
        ))
    }

    /// The CSV null marker (`csv: { null: NA }`), if any.
    fn csv_null(&self) -> Option<&str> {
        let f = self.spec.effective_format()?;
        if f != "csv" && f != "tsv" {
            return None;
        }
        self.spec.csv.as_ref()?.null.as_deref()
    }

    fn format(&self, path: &Path) -> Result<(Arc<dyn FileFormat>, bool)> {
        let display = self.display();
        let format = self.spec.effective_format().ok_or_else(|| {
            RuntimeError::new(
                Code::SourceUnavailable,
                format!(
                    "cannot tell the format of `{display}` (source `{}`)",
                    self.source
                ),
            )
            .help("add `format:` (csv, tsv, parquet, json, ndjson, arrow or yaml)")
        })?;
        let compression = compression_of(display);
        let document = format == "yaml" || (format == "json" && self.spec.rows.is_some());
        if document {
            return Ok((Arc::new(JsonFormat::default()), true));
        }
        let f: Arc<dyn FileFormat> = match format {
            "csv" | "tsv" => {
                let o = self.spec.csv.clone().unwrap_or(
                    widgettdc_compiler::spec::sources::file::CsvOptions {
                        delimiter: None,
                        header: None,
                        quote: None,
                        null: None,
                    },
                );
                let default_delim = if format == "tsv" { b'\t' } else { b',' };
                let mut csv = CsvFormat::default()
                    .with_has_header(o.header.unwrap_or(true))
                    .with_delimiter(single_byte(
                        &o.delimiter,
                        "delimiter",
                        &self.source,
                        default_delim,
                    )?)
                    .with_quote(single_byte(&o.quote, "quote", &self.source, b'"')?)
                    .with_file_compression_type(compression);
                if let Some(n) = &o.null {
                    csv = csv.with_null_regex(Some(format!("^{}$", regex_escape(n))));
                }
                Arc::new(csv)
            }
            "parquet" => Arc::new(ParquetFormat::default()),
            "arrow" => Arc::new(ArrowFormat),
            "ndjson" => Arc::new(JsonFormat::default().with_file_compression_type(compression)),
            _ => {
                // json: an array of objects, or one object per line
                let array = !is_glob(display) && starts_with_bracket(path);
                Arc::new(
                    JsonFormat::default()
                        .with_newline_delimited(!array)
                        .with_file_compression_type(compression),
                )
            }
        };
        Ok((f, false))
    }
}

impl FileTable {
    /// A file (or glob, or `s3://` prefix ending in `/`) in an object store: `s3://` through
    /// the S3 client (the source's `s3:` options, else the usual `AWS_*` environment), `http(s)://`
    /// through the HTTP client (the source's `headers:`). The store is registered in the
    /// session's runtime environment, then the URL is a listing table like a local path.
    /// Documents (JSON with `rows:`, YAML) must be local.
    async fn open_remote(&self) -> Result<Arc<dyn TableProvider>> {
        use object_store::ObjectStoreExt as _;
        let text = &self.spec.path.value;
        let url = url::Url::parse(text).map_err(|e| {
            RuntimeError::new(
                Code::SourceUnavailable,
                format!("source `{}`: `{text}` is not a valid URL: {e}", self.source),
            )
        })?;
        let (format, document) = self.format(Path::new(url.path()))?;
        if document {
            return Err(RuntimeError::new(
                Code::SourceKindUnsupported,
                format!(
                    "source `{}`: JSON/YAML documents with `rows:` are read from local files only",
                    self.source
                ),
            )
            .help("download the document, or serve its rows as NDJSON, CSV or Parquet"));
        }
        let (store, base) = if url.scheme() == "s3" {
            self.s3_store(&url)?
        } else {
            self.http_store(&url)?
        };
        let directory = text.ends_with('/');
        // a missing file is a clear error now, not an empty listing later
        if !is_glob(text) && !directory {
            let location = object_store::path::Path::from_url_path(url.path())
                .map_err(RuntimeError::internal)?;
            match store.head(&location).await {
                Ok(_) => {}
                Err(object_store::Error::NotFound { .. }) => {
                    return Err(RuntimeError::new(
                        Code::SourceUnavailable,
                        format!(
                            "the file `{text}` of source `{}` does not exist ({})",
                            self.source,
                            if url.scheme() == "s3" {
                                "no such key in the bucket"
                            } else {
                                "HTTP 404"
                            }
                        ),
                    )
                    .help(format!("check `path:` of source `{}`", self.source)))
                }
                Err(e) => return Err(self.store_error(&e.to_string())),
            }
        }
        let base_url = url::Url::parse(&base).map_err(RuntimeError::internal)?;
        self.env.register_object_store(&base_url, store);
        let listing = ListingTableUrl::parse(text).map_err(|e| self.read_error(e))?;
        let extension = if directory {
            format
                .get_ext_with_compression(&compression_of(text))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let options = ListingOptions::new(format).with_file_extension(extension);
        let config = self.listing_config(listing, options).await?;
        if let Some(marker) = self.csv_null() {
            return self.with_null_marker(config, marker);
        }
        let table = self.listing_table(config)?;
        if (directory || is_glob(text)) && table.schema().fields().is_empty() {
            return Err(RuntimeError::new(
                Code::SourceUnavailable,
                format!("no files match `{text}` (source `{}`)", self.source),
            )
            .help(format!("check `path:` of source `{}`", self.source)));
        }
        Ok(Arc::new(table))
    }

    fn store_error(&self, e: &str) -> RuntimeError {
        let text = &self.spec.path.value;
        let hint = if text.starts_with("s3://") {
            "check the bucket, `s3.endpoint`, `s3.region` and the credentials (`s3:` or AWS_* variables)"
        } else {
            "check that the server is up and the URL and `headers:` are right"
        };
        RuntimeError::new(
            Code::SourceUnavailable,
            format!("source `{}`: cannot fetch `{text}`: {e}", self.source),
        )
        .help(hint)
    }

    /// Timeouts and bounded retries shared by the remote stores: a dead endpoint fails the
    /// query in seconds, it does not hang it.
    fn client_options() -> (object_store::ClientOptions, object_store::RetryConfig) {
        let options = object_store::ClientOptions::new()
            .with_timeout(std::time::Duration::from_secs(30))
            .with_connect_timeout(std::time::Duration::from_secs(5));
        let retry = object_store::RetryConfig {
            max_retries: 2,
            retry_timeout: std::time::Duration::from_secs(15),
            ..Default::default()
        };
        (options, retry)
    }

    fn http_store(&self, url: &url::Url) -> Result<(Arc<dyn object_store::ObjectStore>, String)> {
        let origin = url.origin().ascii_serialization();
        let headers = reqwest_headers(self.spec.headers.as_ref(), &self.source)?;
        let (mut options, retry) = Self::client_options();
        options = options.with_allow_http(true);
        if !headers.is_empty() {
            options = options.with_default_headers(headers);
        }
        let store = object_store::http::HttpBuilder::new()
            .with_url(origin.clone())
            .with_client_options(options)
            .with_retry(retry)
            .build()
            .map_err(|e| {
                RuntimeError::new(
                    Code::SourceUnavailable,
                    format!("source `{}`: cannot reach `{origin}`: {e}", self.source),
                )
            })?;
        Ok((Arc::new(store), origin))
    }

    /// An S3 client for the URL's bucket: the spec's `s3:` options over the `AWS_*`
    /// environment. An `endpoint` (a local or S3-compatible server) uses path-style requests.
    fn s3_store(&self, url: &url::Url) -> Result<(Arc<dyn object_store::ObjectStore>, String)> {
        use object_store::aws::AmazonS3Builder;
        let bucket = url.host_str().unwrap_or_default().to_string();
        if bucket.is_empty() {
            return Err(RuntimeError::new(
                Code::SourceUnavailable,
                format!(
                    "source `{}`: `{}` names no bucket",
                    self.source, self.spec.path.value
                ),
            )
            .help("write `s3://BUCKET/path/to/file.parquet`"));
        }
        let (mut options, retry) = Self::client_options();
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(&bucket)
            .with_retry(retry);
        if let Some(o) = &self.spec.s3 {
            if let Some(v) = &o.region {
                b = b.with_region(v);
            }
            if let Some(v) = &o.endpoint {
                b = b.with_endpoint(v).with_virtual_hosted_style_request(false);
                if v.starts_with("http://") && o.allow_http.is_none() {
                    return Err(RuntimeError::new(
                        Code::SourceUnavailable,
                        format!(
                            "source `{}`: the S3 endpoint `{v}` is plain http",
                            self.source
                        ),
                    )
                    .help("set `s3: { allow_http: true }` to allow it (a local emulator), or use https"));
                }
            }
            if let Some(v) = &o.access_key_id {
                b = b.with_access_key_id(v);
            }
            if let Some(v) = &o.secret_access_key {
                b = b.with_secret_access_key(v);
            }
            if let Some(v) = &o.session_token {
                b = b.with_token(v);
            }
            if let Some(v) = o.allow_http {
                options = options.with_allow_http(v);
                b = b.with_allow_http(v);
            }
        }
        let store = b.with_client_options(options).build().map_err(|e| {
            RuntimeError::new(
                Code::SourceUnavailable,
                format!(
                    "source `{}`: cannot set up S3 for bucket `{bucket}`: {e}",
                    self.source
                ),
            )
            .help("check the source's `s3:` options (region, endpoint, credentials)")
        })?;
        Ok((Arc::new(store), format!("s3://{bucket}")))
    }

    /// A listing table whose files' statistics (row counts, min/max per column, which the
    /// join planner and row-group pruning use) are computed once per file version and kept in
    /// the runtime environment's cache, as `register_parquet` does; without the cache every
    /// scan would compute them again from the footers. An entry is used only while the file's
    /// size and modification time are unchanged.
    fn listing_table(&self, config: ListingTableConfig) -> Result<ListingTable> {
        Ok(ListingTable::try_new(config)
            .map_err(|e| self.read_error(e))?
            .with_cache(self.env.cache_manager.get_file_statistic_cache()))
    }

    /// The listing table's configuration: declared/locked columns, else the files' own schema.
    async fn listing_config(
        &self,
        url: ListingTableUrl,
        options: ListingOptions,
    ) -> Result<ListingTableConfig> {
        let config = ListingTableConfig::new(url).with_listing_options(options);
        match &self.schema {
            Some(s) => Ok(config.with_schema(Arc::clone(s))),
            None => {
                let state = SessionStateBuilder::new()
                    .with_config(self.session_config.clone())
                    .with_runtime_env(Arc::clone(&self.env))
                    .build();
                config
                    .infer_schema(&state)
                    .await
                    .map_err(|e| self.read_error(e))
            }
        }
    }

    /// DataFusion 55 uses a CSV null regex to infer the schema but not when it reads (its
    /// `CsvSource` never passes it to the Arrow reader), so a null marker such as `NA` would
    /// fail to parse as a number. The columns are read as text instead and converted in a view:
    /// `CAST(NULLIF(col, 'NA') AS type)`.
    fn with_null_marker(
        &self,
        config: ListingTableConfig,
        marker: &str,
    ) -> Result<Arc<dyn TableProvider>> {
        use arrow::datatypes::{DataType, Field, Schema};
        use datafusion::catalog::default_table_source::provider_as_source;
        use datafusion::catalog::view::ViewTable;
        use datafusion::functions::expr_fn::nullif;
        use datafusion::logical_expr::{cast, col, lit, LogicalPlanBuilder};
        let target = config
            .file_schema
            .clone()
            .ok_or_else(|| RuntimeError::internal("listing table without a schema"))?;
        let text = Arc::new(Schema::new(
            target
                .fields()
                .iter()
                .map(|f| Field::new(f.name(), DataType::Utf8, true))
                .collect::<Vec<_>>(),
        ));
        let raw = self.listing_table(config.with_schema(text))?;
        let exprs: Vec<_> = target
            .fields()
            .iter()
            .map(|f| {
                let c = nullif(
                    col(datafusion::common::Column::new_unqualified(f.name())),
                    lit(marker),
                );
                let e = if f.data_type() == &DataType::Utf8 {
                    c
                } else {
                    cast(c, f.data_type().clone())
                };
                e.alias(f.name())
            })
            .collect();
        let plan = LogicalPlanBuilder::scan(
            self.source.as_str(),
            provider_as_source(Arc::new(raw)),
            None,
        )
        .and_then(|b| b.project(exprs))
        .and_then(|b| b.build())
        .map_err(|e| self.read_error(e))?;
        Ok(Arc::new(ViewTable::new(plan, None)))
    }
}

/// The source's `headers:` as HTTP headers.
fn reqwest_headers(
    headers: Option<&widgettdc_compiler::decode::KeyedMap<String>>,
    source: &str,
) -> Result<object_store::HeaderMap> {
    use http::{HeaderName, HeaderValue};
    let mut out = object_store::HeaderMap::new();
    for (k, v) in headers.map(|h| h.0.iter()).into_iter().flatten() {
        let bad = |what: &str| {
            RuntimeError::new(
                Code::SourceUnavailable,
                format!("source `{source}`: header `{k}` has an invalid {what}"),
            )
        };
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| bad("name"))?;
        let mut value = HeaderValue::from_str(&v.value).map_err(|_| bad("value"))?;
        value.set_sensitive(true);
        out.insert(name, value);
    }
    Ok(out)
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether the file's first non-blank byte is `[` (a JSON array rather than JSON lines).
fn starts_with_bracket(path: &Path) -> bool {
    use std::io::Read;
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut buf = [0u8; 512];
    let n = f.read(&mut buf).unwrap_or(0);
    buf[..n]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'[')
}

#[async_trait]
impl LazyTable for FileTable {
    async fn open(&self) -> Result<Arc<dyn TableProvider>> {
        let lower = self.spec.path.value.to_ascii_lowercase();
        if lower.starts_with("http://")
            || lower.starts_with("https://")
            || lower.starts_with("s3://")
        {
            return self.open_remote().await;
        }
        let path = self.local_path()?;
        let text = path.to_string_lossy().to_string();
        let glob = is_glob(&self.spec.path.value);
        if !glob && !path.exists() {
            return Err(self.not_found(&path));
        }
        let (format, document) = self.format(&path)?;
        if document {
            return super::document::open(
                &self.source,
                &path,
                self.display(),
                &self.spec,
                self.schema.clone(),
                self.session_config.batch_size(),
            )
            .await;
        }
        let url_text = if path.is_dir() && !text.ends_with('/') {
            format!("{text}/")
        } else {
            text
        };
        let url = ListingTableUrl::parse(&url_text).map_err(|e| self.read_error(e))?;
        // a directory lists files of the format's extension; a file or glob names its files
        let extension = if path.is_dir() {
            format
                .get_ext_with_compression(&compression_of(self.display()))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let options = ListingOptions::new(format).with_file_extension(extension);
        let config = self.listing_config(url, options).await?;
        if let Some(marker) = self.csv_null() {
            return self.with_null_marker(config, marker);
        }
        let table = self.listing_table(config)?;
        if glob && table.schema().fields().is_empty() {
            return Err(self.not_found(&path));
        }
        Ok(Arc::new(table))
    }
}
