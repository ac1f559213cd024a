//! Exhibitor's cluster list, and the polling rule of Curator 4.x's `ExhibitorEnsembleProvider`,
//! without I/O.
//!
//! An Exhibitor answers `GET /exhibitor/v1/cluster/list` (`Accept:
//! application/x-www-form-urlencoded`) with `count=N&port=P&server0=H0&server1=H1…`; the
//! connection string is `H0:P,H1:P,…`. Each poll asks one randomly chosen Exhibitor and retries
//! per the retry policy; after a good answer the hosts to ask next time are the servers just
//! returned (same REST port). A count of 0, an unreadable body or no Exhibitor answering falls
//! back to the backup connection string. A body that is readable but wrong (no count, a port
//! that is not a number, fewer servers than the count, an empty or invalid host) is a
//! [`Error::CorruptData`] and the last good servers stay.
//!
//! ```text
//!   begin ──► ask(host) ──► answered(body) ─► servers (count > 0) → next hosts = servers
//!               ▲   │                     ├─► count 0 / unreadable → backup
//!               │   ▼                     └─► corrupt → error, keep the last servers
//!          retry_delay() ── None ─► gave_up() → backup
//! ```
//!
//! ```
//! use docent::ensemble::exhibitor::{Exhibitors, ExhibitorPoller, Polled};
//! use docent::framework::RetryPolicy;
//! use docent::rng::Rng;
//!
//! let exhibitors = Exhibitors::new(["ex1", "ex2"], 8080, "localhost:2181").unwrap();
//! let mut poller = ExhibitorPoller::new(exhibitors, RetryPolicy::Never);
//! let mut rng = Rng::new(7, 0);
//! let ask = poller.ask(&mut rng).unwrap();
//! assert!(ask.url().starts_with("http://ex"));
//! let polled = poller.answered(&ask, b"count=2&port=2181&server0=zk1&server1=zk2");
//! assert_eq!(polled, Polled::Servers(vec![("zk1".into(), 2181), ("zk2".into(), 2181)]));
//! assert_eq!(poller.hosts(), ["zk1", "zk2"]);
//! ```

use std::time::Duration;

use crate::ensemble::connect::{self, ConnectString};
use crate::framework::RetryPolicy;
use crate::rng::Rng;
use crate::Error;

/// The REST path Curator asks by default.
pub const DEFAULT_REST_PATH: &str = "/exhibitor/v1/cluster/list";

/// The media type Curator asks for.
pub const MIME_TYPE: &str = "application/x-www-form-urlencoded";

/// Curator's default polling delay.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(10);

/// The Exhibitor instances to ask, their REST port and the connection string to use when none
/// of them answers usefully.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exhibitors {
    hosts: Vec<String>,
    rest_port: u16,
    backup: ConnectString,
}

impl Exhibitors {
    /// Fails with [`Error::InvalidArgument`] for an empty or invalid host or a zero port, and
    /// with [`Error::InvalidConnectString`] for a malformed backup string.
    pub fn new<H: Into<String>>(
        hosts: impl IntoIterator<Item = H>,
        rest_port: u16,
        backup_connection_string: &str,
    ) -> Result<Exhibitors, Error> {
        let hosts: Vec<String> = hosts.into_iter().map(Into::into).collect();
        if hosts.is_empty() {
            return Err(Error::InvalidArgument("no Exhibitor hosts".into()));
        }
        for host in &hosts {
            connect::check_host(host)
                .map_err(|reason| Error::InvalidArgument(format!("Exhibitor host: {reason}")))?;
        }
        if rest_port == 0 {
            return Err(Error::InvalidArgument("Exhibitor REST port 0".into()));
        }
        let backup = ConnectString::parse(backup_connection_string)?;
        Ok(Exhibitors {
            hosts,
            rest_port,
            backup,
        })
    }

    /// The configured Exhibitor hosts.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// The Exhibitors' REST port.
    pub fn rest_port(&self) -> u16 {
        self.rest_port
    }

    /// The backup connection string.
    pub fn backup(&self) -> &ConnectString {
        &self.backup
    }
}

/// One request to make: `GET http://host:port/path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    /// The Exhibitor asked.
    pub host: String,
    /// Its REST port.
    pub port: u16,
    /// The REST path.
    pub path: String,
}

impl Ask {
    /// The URL to get.
    pub fn url(&self) -> String {
        if self.host.contains(':') {
            format!("http://[{}]:{}{}", self.host, self.port, self.path)
        } else {
            format!("http://{}:{}{}", self.host, self.port, self.path)
        }
    }
}

/// What a poll concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Polled {
    /// The servers an Exhibitor listed.
    Servers(Vec<(String, u16)>),
    /// The backup connection string's servers (count 0, unreadable, or nobody answered).
    Backup(Vec<(String, u16)>),
    /// A readable but wrong answer; the last good servers stay.
    Corrupt(Error),
}

/// The polling rule: whom to ask, when to retry, what an answer means.
#[derive(Debug, Clone)]
pub struct ExhibitorPoller {
    configured: Exhibitors,
    hosts: Vec<String>,
    path: String,
    retry: RetryPolicy,
    retries: u32,
}

impl ExhibitorPoller {
    /// A poller over `exhibitors` asking [`DEFAULT_REST_PATH`], retrying failed requests of one
    /// poll per `retry`.
    pub fn new(exhibitors: Exhibitors, retry: RetryPolicy) -> ExhibitorPoller {
        ExhibitorPoller {
            hosts: exhibitors.hosts.clone(),
            configured: exhibitors,
            path: DEFAULT_REST_PATH.into(),
            retry,
            retries: 0,
        }
    }

    /// Asks `path` instead of [`DEFAULT_REST_PATH`].
    pub fn rest_path(mut self, path: impl Into<String>) -> ExhibitorPoller {
        self.path = path.into();
        self
    }

    /// The hosts the next poll asks: the configured Exhibitors until a poll succeeds, then the
    /// servers last listed.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// The request for the next attempt of this poll: a randomly chosen host.
    pub fn ask(&self, rng: &mut Rng) -> Option<Ask> {
        let n = self.hosts.len() as u64;
        (n > 0).then(|| Ask {
            host: self.hosts[rng.below(n) as usize].clone(),
            port: self.configured.rest_port,
            path: self.path.clone(),
        })
    }

    /// The request failed: the sleep before the next attempt, or `None` when the retry policy
    /// gives up (then call [`ExhibitorPoller::gave_up`]). `elapsed` counts from the poll's first
    /// attempt.
    pub fn retry_delay(&mut self, elapsed: Duration, rng: &mut Rng) -> Option<Duration> {
        let delay = self.retry.next_delay(self.retries, elapsed, rng);
        self.retries += 1;
        delay
    }

    /// Nobody answered: the backup servers.
    pub fn gave_up(&mut self) -> Polled {
        self.retries = 0;
        tracing::warn!("no Exhibitor answered; using the backup connection string");
        Polled::Backup(self.configured.backup.hosts().to_vec())
    }

    /// `ask` was answered with `body`.
    pub fn answered(&mut self, ask: &Ask, body: &[u8]) -> Polled {
        self.retries = 0;
        match parse_cluster_list(&ask.url(), body) {
            Ok(Some(servers)) => {
                self.hosts = servers.iter().map(|(host, _)| host.clone()).collect();
                Polled::Servers(servers)
            }
            Ok(None) => {
                tracing::warn!(
                    url = ask.url(),
                    "Exhibitor listed no servers; using the backup"
                );
                Polled::Backup(self.configured.backup.hosts().to_vec())
            }
            Err(error) => {
                tracing::error!(%error, "bad Exhibitor answer; keeping the last servers");
                Polled::Corrupt(error)
            }
        }
    }
}

/// Decodes an Exhibitor cluster list read from `source`: `Ok(None)` for a count of 0 or an
/// unreadable body (not UTF-8, or no `key=value` pair at all), the servers otherwise.
pub fn parse_cluster_list(source: &str, body: &[u8]) -> Result<Option<Vec<(String, u16)>>, Error> {
    let Ok(body) = std::str::from_utf8(body) else {
        return Ok(None);
    };
    let values: Vec<(&str, String)> = body
        .trim()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (key, url_decode(value)))
        .collect();
    if values.is_empty() {
        return Ok(None);
    }
    let corrupt = |reason: String| Error::CorruptData {
        path: source.to_owned(),
        reason,
    };
    let get = |key: &str| {
        values
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    };
    let count = get("count").ok_or_else(|| corrupt("no count".into()))?;
    let count: usize = count
        .trim()
        .parse()
        .map_err(|_| corrupt(format!("count {count:?} is not a number")))?;
    if count == 0 {
        return Ok(None);
    }
    let port = get("port").ok_or_else(|| corrupt("no port".into()))?;
    let port = match port.trim().parse::<u16>() {
        Ok(port) if port > 0 => port,
        _ => return Err(corrupt(format!("port {port:?} is not a port number"))),
    };
    (0..count)
        .map(|i| {
            let host = get(&format!("server{i}"))
                .ok_or_else(|| corrupt(format!("count {count} but no server{i}")))?
                .trim();
            connect::check_host(host).map_err(|reason| corrupt(format!("server{i}: {reason}")))?;
            Ok((host.to_owned(), port))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `application/x-www-form-urlencoded` value decoding: `+` is a space, `%XX` a byte; a bad
/// escape stays as it is (as Java's decoder would reject it, the host check then does).
fn url_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push((high * 16 + low) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests;
