//! Postgres `LISTEN`: a dedicated connection of a `kind: postgres` source that waits for
//! `NOTIFY` on a channel (for widgets that declare `channel:`). The pool's connections cannot
//! be used: the pool drops their notifications. Each notification's payload is sent to the
//! returned receiver; dropping the receiver closes the connection.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::{mpsc, oneshot};
use widgettdc_compiler::Code;

use crate::error::{Result, RuntimeError};

/// Connect with the source's parameters (`host`, `port`, `user`, `pass`, `db`, `sslmode`,
/// `sslrootcert`) and `LISTEN` on `channel`.
pub async fn listen(
    source: &str,
    params: &HashMap<String, String>,
    channel: &str,
    connect_timeout: Duration,
) -> Result<mpsc::Receiver<String>> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        RuntimeError::new(
            Code::SourceUnavailable,
            format!(
                "postgres source `{source}`: cannot listen on channel `{channel}`: {what}: {e}"
            ),
        )
        .help(format!(
            "check that the server is running and the connection settings of source `{source}`"
        ))
    };
    let mut config = tokio_postgres::Config::new();
    config.host(params.get("host").map_or("localhost", String::as_str));
    if let Some(p) = params.get("port").and_then(|p| p.parse().ok()) {
        config.port(p);
    }
    if let Some(u) = params.get("user") {
        config.user(u);
    }
    if let Some(p) = params.get("pass") {
        config.password(p);
    }
    if let Some(d) = params.get("db") {
        config.dbname(d);
    }
    config.connect_timeout(connect_timeout);
    config.application_name("widgettdc-listen");
    let statement = format!("LISTEN \"{}\"", channel.replace('"', "\"\""));
    let mode = params.get("sslmode").map_or("prefer", String::as_str);
    let result = if mode == "disable" {
        listen_with(config, tokio_postgres::NoTls, &statement, connect_timeout).await
    } else {
        let mut b = native_tls::TlsConnector::builder();
        if let Some(path) = params.get("sslrootcert") {
            let pem = std::fs::read(path).map_err(|e| fail("read sslrootcert", &e))?;
            let cert =
                native_tls::Certificate::from_pem(&pem).map_err(|e| fail("sslrootcert", &e))?;
            b.add_root_certificate(cert);
        }
        let tls = b
            .danger_accept_invalid_hostnames(mode != "verify-full")
            .danger_accept_invalid_certs(mode != "verify-full" && mode != "verify-ca")
            .build()
            .map_err(|e| fail("TLS", &e))?;
        let tls = postgres_native_tls::MakeTlsConnector::new(tls);
        listen_with(config, tls, &statement, connect_timeout).await
    };
    result.map_err(|e| fail("connect", &e))
}

async fn listen_with<T>(
    config: tokio_postgres::Config,
    tls: T,
    statement: &str,
    timeout: Duration,
) -> std::result::Result<mpsc::Receiver<String>, String>
where
    T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket> + Send + 'static,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as tokio_postgres::tls::TlsConnect<tokio_postgres::Socket>>::Future: Send,
{
    let (client, mut connection) = tokio::time::timeout(timeout, config.connect(tls))
        .await
        .map_err(|_| "timed out".to_string())?
        .map_err(|e| e.to_string())?;
    let (tx, rx) = mpsc::channel(64);
    // the client is handed to the task that drives the connection once LISTEN is done, so both
    // live exactly as long as someone holds the receiver
    let (client_tx, client_rx) = oneshot::channel::<tokio_postgres::Client>();
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        let mut client_rx = Some(client_rx);
        let mut _client: Option<tokio_postgres::Client> = None;
        loop {
            tokio::select! {
                c = async { client_rx.as_mut().expect("polled only while set").await }, if client_rx.is_some() => {
                    client_rx = None;
                    match c {
                        Ok(c) => _client = Some(c),
                        Err(_) => break, // LISTEN failed
                    }
                }
                _ = tx.closed() => break,
                m = messages.next() => match m {
                    Some(Ok(tokio_postgres::AsyncMessage::Notification(n))) => {
                        if tx.send(n.payload().to_string()).await.is_err() {
                            break;
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break,
                },
            }
        }
    });
    client
        .batch_execute(statement)
        .await
        .map_err(|e| e.to_string())?;
    let _ = client_tx.send(client);
    Ok(rx)
}
