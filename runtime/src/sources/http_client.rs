//! The HTTP client of the API source kinds (rest, graphql): the source's auth and headers on
//! every request, a per-request timeout, a rate limit shared by all of the source's tables,
//! retries with exponential backoff and jitter on connection failures, 429 and 5xx (honouring
//! `Retry-After`; never for non-idempotent methods), and a cap on the response body.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use widgettdc_compiler::spec::sources::http::HttpClient;
use widgettdc_compiler::Code;

use crate::error::{Result, RuntimeError};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// One source's client: shared by its tables (the rate limit is per source).
#[derive(Debug)]
pub struct ApiClient {
    source: String,
    client: reqwest::Client,
    headers: HeaderMap,
    /// `auth: { type: query }`: a query parameter on every request.
    query_auth: Option<(String, String)>,
    max_bytes: u64,
    attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    /// The earliest time the next request may start (rate limit).
    next_slot: Option<(Duration, tokio::sync::Mutex<Instant>)>,
}

/// A response that arrived whole and with a success status.
#[derive(Debug)]
pub struct Response {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// What `send` asks for.
pub struct Request<'a> {
    pub method: Method,
    pub url: reqwest::Url,
    /// A JSON body (GraphQL, POST tables).
    pub json: Option<&'a serde_json::Value>,
    /// For error messages: `table `x``.
    pub what: &'a str,
    /// Safe to send again (a GraphQL query, though POSTed). GET and HEAD always are.
    pub idempotent: bool,
}

fn header(source: &str, name: &str, value: &str) -> Result<(HeaderName, HeaderValue)> {
    let bad = |what: &str| {
        RuntimeError::new(
            Code::SourceUnavailable,
            format!("source `{source}`: header `{name}` has an invalid {what}"),
        )
    };
    let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad("name"))?;
    let mut v = HeaderValue::from_str(value).map_err(|_| bad("value"))?;
    v.set_sensitive(true);
    Ok((n, v))
}

impl ApiClient {
    pub fn new(source: &str, spec: &HttpClient) -> Result<Arc<ApiClient>> {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        for (k, v) in spec
            .headers
            .as_ref()
            .map(|h| h.0.iter())
            .into_iter()
            .flatten()
        {
            let (n, v) = header(source, k, &v.value)?;
            headers.insert(n, v);
        }
        let mut query_auth = None;
        if let Some(a) = &spec.auth {
            match a.kind.value.as_str() {
                "bearer" => {
                    let token = a.token.clone().unwrap_or_default();
                    let (n, v) = header(source, "authorization", &format!("Bearer {token}"))?;
                    headers.insert(n, v);
                }
                "basic" => {
                    use base64::Engine as _;
                    let raw = format!(
                        "{}:{}",
                        a.username.clone().unwrap_or_default(),
                        a.password.clone().unwrap_or_default()
                    );
                    let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
                    let (n, v) = header(source, "authorization", &format!("Basic {encoded}"))?;
                    headers.insert(n, v);
                }
                "header" => {
                    let (n, v) = header(
                        source,
                        a.name.as_deref().unwrap_or_default(),
                        a.value.as_deref().unwrap_or_default(),
                    )?;
                    headers.insert(n, v);
                }
                "query" => {
                    query_auth = Some((
                        a.name.clone().unwrap_or_default(),
                        a.value.clone().unwrap_or_default(),
                    ))
                }
                _ => {}
            }
        }
        let timeout = spec
            .timeout
            .as_ref()
            .map(|d| d.0)
            .unwrap_or(DEFAULT_TIMEOUT);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("widgettdc/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                RuntimeError::new(
                    Code::SourceUnavailable,
                    format!("source `{source}`: cannot set up an HTTP client: {e}"),
                )
            })?;
        let retry = spec.retry.as_ref();
        let next_slot = spec
            .rate_limit
            .filter(|r| *r > 0.0 && r.is_finite())
            .map(|r| {
                (
                    Duration::from_secs_f64(1.0 / r),
                    tokio::sync::Mutex::new(Instant::now()),
                )
            });
        Ok(Arc::new(ApiClient {
            source: source.to_string(),
            client,
            headers,
            query_auth,
            max_bytes: spec
                .max_response_bytes
                .map(u64::from)
                .unwrap_or(DEFAULT_MAX_BYTES),
            attempts: retry.and_then(|r| r.max_attempts).unwrap_or(3).max(1),
            initial_backoff: retry
                .and_then(|r| r.initial_backoff.as_ref())
                .map(|d| d.0)
                .unwrap_or(Duration::from_millis(200)),
            max_backoff: retry
                .and_then(|r| r.max_backoff.as_ref())
                .map(|d| d.0)
                .unwrap_or(Duration::from_secs(10)),
            next_slot,
        }))
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Wait for the rate limit's next slot.
    async fn pace(&self) {
        if let Some((interval, next)) = &self.next_slot {
            let mut next = next.lock().await;
            let now = Instant::now();
            if *next > now {
                tokio::time::sleep(*next - now).await;
            }
            *next = Instant::now().max(*next) + *interval;
        }
    }

    /// Backoff before retry `n` (1-based): exponential, capped, with full jitter.
    fn backoff(&self, n: u32) -> Duration {
        use std::hash::{BuildHasher, Hasher};
        let exp = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(n.saturating_sub(1)))
            .min(self.max_backoff);
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(n);
        let jitter = (h.finish() % 1000) as f64 / 1000.0;
        // between half and all of the exponential step
        exp.mul_f64(0.5 + jitter / 2.0)
    }

    /// Send a request; retried where that is safe. Errors name the source and what was asked.
    pub async fn send(&self, req: Request<'_>) -> Result<Response> {
        let idempotent = req.idempotent || matches!(req.method, Method::GET | Method::HEAD);
        let mut url = req.url.clone();
        if let Some((k, v)) = &self.query_auth {
            url.query_pairs_mut().append_pair(k, v);
        }
        let shown = shown_url(&req.url);
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.pace().await;
            let mut builder = self
                .client
                .request(req.method.clone(), url.clone())
                .headers(self.headers.clone());
            if let Some(body) = req.json {
                builder = builder.json(body);
            }
            let retries_left = idempotent && attempt < self.attempts;
            let response = match builder.send().await {
                Ok(r) => r,
                Err(e) if retries_left && (e.is_connect() || e.is_timeout()) => {
                    tokio::time::sleep(self.backoff(attempt)).await;
                    continue;
                }
                Err(e) => {
                    let why = if e.is_timeout() {
                        "no answer within the source's `timeout:`".to_string()
                    } else {
                        without_url(e)
                    };
                    return Err(RuntimeError::new(
                        Code::SourceUnavailable,
                        format!(
                            "source `{}` ({}): {} {shown} failed: {why}{}",
                            self.source,
                            req.what,
                            req.method,
                            attempts_note(attempt)
                        ),
                    )
                    .help("check that the API is up and `base_url`/`url` is right; `timeout:` and `retry:` set how long widgettdc waits"));
                }
            };
            let status = response.status();
            if status.is_success() {
                let headers = response.headers().clone();
                let body = self.read_body(response, &req, &shown).await?;
                return Ok(Response { headers, body });
            }
            let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            if retryable && retries_left {
                let wait = retry_after(response.headers())
                    .map(|d| d.min(self.max_backoff.max(Duration::from_secs(60))))
                    .unwrap_or_else(|| self.backoff(attempt));
                tokio::time::sleep(wait).await;
                continue;
            }
            let body = response.text().await.unwrap_or_default();
            let snippet: String = body.chars().take(300).collect();
            let help = match status.as_u16() {
                401 | 403 => "check the source's `auth:` (and that its secret is set)",
                404 => "check the table's `path:` and the values given for its `{…}` parts",
                429 => "the API's rate limit was hit: lower `rate_limit:` or raise `retry.max_attempts`",
                _ => "the API answered with an error; its message is above",
            };
            return Err(RuntimeError::new(
                Code::SourceRead,
                format!(
                    "source `{}` ({}): {} {shown} answered {status}{}: {snippet}",
                    self.source,
                    req.what,
                    req.method,
                    attempts_note(attempt)
                ),
            )
            .help(help));
        }
    }

    async fn read_body(
        &self,
        mut response: reqwest::Response,
        req: &Request<'_>,
        shown: &str,
    ) -> Result<Vec<u8>> {
        let too_big = || {
            RuntimeError::new(
                Code::SourceRead,
                format!(
                    "source `{}` ({}): the response to {shown} is larger than {} bytes",
                    self.source, req.what, self.max_bytes
                ),
            )
            .help("raise the source's `max_response_bytes:`, or ask for smaller pages (`pagination.page_size`)")
        };
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes)
        {
            return Err(too_big());
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() as u64 + chunk.len() as u64 > self.max_bytes {
                        return Err(too_big());
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body),
                Err(e) => {
                    return Err(RuntimeError::new(
                        Code::SourceRead,
                        format!(
                            "source `{}` ({}): reading the response to {shown} failed: {}",
                            self.source,
                            req.what,
                            without_url(e)
                        ),
                    ))
                }
            }
        }
    }
}

fn attempts_note(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    }
}

/// The URL as shown in messages: no credentials, no query values that could be secrets.
pub fn shown_url(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_password(None);
    let _ = u.set_username("");
    u.to_string()
}

/// reqwest's message without the URL it appends (which may carry an auth query parameter).
fn without_url(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// `Retry-After`: seconds, or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    (when.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .ok()
}
