//! Connection settings shared by the database source kinds (postgres, mysql).

use crate::decode::{one_of, Cx, Decode, MapReader};
use crate::source::Spanned;
use crate::spec::values::DurationValue;
use crate::yaml::Node;

/// Connection pool settings.
#[derive(Debug, Clone, Default, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Pool {
    /// Most connections open at once (default 8).
    pub max_size: Option<u32>,
    /// Connections kept open when idle (default 0).
    pub min_idle: Option<u32>,
    /// How long to wait for a free connection (default 30s).
    pub acquire_timeout: Option<DurationValue>,
}

impl Pool {
    pub const KEYS: &'static [&'static str] = &["max_size", "min_idle", "acquire_timeout"];
}

impl Decode for Pool {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let mut m = MapReader::new(node, cx, "pool", Self::KEYS)?;
        let p = Pool {
            max_size: m.opt(cx, "max_size"),
            min_idle: m.opt(cx, "min_idle"),
            acquire_timeout: m.opt(cx, "acquire_timeout"),
        };
        m.finish(cx);
        Some(p)
    }
}

/// TLS settings.
#[derive(Debug, Clone, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Tls {
    /// disable | prefer | require | verify-ca | verify-full
    pub mode: Option<String>,
    /// A PEM file with the CA certificate(s) to trust.
    pub ca_file: Option<String>,
}

impl Tls {
    pub const KEYS: &'static [&'static str] = &["mode", "ca_file"];
    pub const MODES: &'static [&'static str] =
        &["disable", "prefer", "require", "verify-ca", "verify-full"];
}

impl Decode for Tls {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let mut m = MapReader::new(node, cx, "tls", Self::KEYS)?;
        let mode = m
            .node("mode")
            .and_then(|n| one_of(n, cx, Self::MODES, "TLS mode"))
            .map(|s: Spanned<String>| s.value);
        let ca_file = m.opt(cx, "ca_file");
        m.finish(cx);
        Some(Tls { mode, ca_file })
    }
}

/// Where a database is: a `url`, or discrete fields.
#[derive(Debug, Clone, Default, schemars::JsonSchema)]
pub struct Connection {
    /// `postgres://user:password@host:port/database` (or `mysql://...`); or the discrete fields.
    pub url: Option<Spanned<String>>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub database: Option<String>,
    pub pool: Option<Pool>,
    pub tls: Option<Tls>,
    /// Statement timeout.
    pub timeout: Option<DurationValue>,
}

impl Connection {
    pub const KEYS: &'static [&'static str] = &[
        "url", "host", "port", "user", "password", "database", "pool", "tls", "timeout",
    ];

    pub fn read(m: &mut MapReader, cx: &mut Cx) -> Self {
        let c = Connection {
            url: m.opt(cx, "url"),
            host: m.opt(cx, "host"),
            port: m.opt(cx, "port"),
            user: m.opt(cx, "user"),
            password: m.opt(cx, "password"),
            database: m.opt(cx, "database"),
            pool: m.opt(cx, "pool"),
            tls: m.opt(cx, "tls"),
            timeout: m.opt(cx, "timeout"),
        };
        if c.url.is_none() && c.host.is_none() {
            m.missing_one_of(&["url", "host"]);
        }
        c
    }
}
