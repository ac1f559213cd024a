//! The ensemble's dynamic configuration, as ZooKeeper 3.5+ keeps it in `/zookeeper/config`:
//!
//! ```text
//! server.1=10.0.0.1:2888:3888:participant;0.0.0.0:2181
//! server.2=[fe80::1]:2888:3888;[fe80::1]:2181
//! server.3=zk3:2888:3888:observer;2181
//! version=100000003
//! ```
//!
//! A server line is `host:quorumPort:electionPort[:role][;[clientAddress:]clientPort]`; a
//! server without a client part takes no clients. The connection string Curator's
//! `EnsembleTracker` builds from it lists every server with a client port, in id order, with a
//! wildcard client address (`0.0.0.0`, `::`) replaced by the server's own host (CURATOR-593/611:
//! never connect to `0.0.0.0`).
//!
//! ```
//! use docent::ensemble::config::EnsembleConfig;
//!
//! let config = EnsembleConfig::parse(b"server.1=10.0.0.1:2888:3888:participant;0.0.0.0:2181\n\
//!                                      server.2=10.0.0.2:2888:3888;2182\nversion=1a").unwrap();
//! assert_eq!(config.version(), Some(0x1a));
//! assert_eq!(config.client_hosts(), [("10.0.0.1".to_string(), 2181), ("10.0.0.2".to_string(), 2182)]);
//! ```

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::ensemble::connect::check_host;
use crate::Error;

/// Where ZooKeeper keeps the configuration.
pub const CONFIG_PATH: &str = "/zookeeper/config";

/// A server's role in the quorum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Votes (the default).
    Participant,
    /// Follows without voting.
    Observer,
}

/// One `server.N` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// The quorum address's host (IPv6 without brackets).
    pub host: String,
    /// The quorum (follower) port.
    pub quorum_port: u16,
    /// The leader-election port.
    pub election_port: u16,
    /// Participant or observer.
    pub role: Role,
    /// The client address and port, if the server takes clients.
    pub client: Option<(String, u16)>,
}

/// A parsed configuration: servers by id and the config version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnsembleConfig {
    servers: BTreeMap<u64, Server>,
    version: Option<u64>,
}

impl EnsembleConfig {
    /// Parses the node's data; a line that is not a server, a version, a comment or one of
    /// ZooKeeper's other keys is [`Error::CorruptData`], as is a bad server line.
    pub fn parse(data: &[u8]) -> Result<EnsembleConfig, Error> {
        let corrupt = |reason: String| Error::CorruptData {
            path: CONFIG_PATH.into(),
            reason,
        };
        let text = std::str::from_utf8(data).map_err(|_| corrupt("not UTF-8".into()))?;
        let mut config = EnsembleConfig::default();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| corrupt(format!("no '=' in {line:?}")))?;
            let (key, value) = (key.trim(), value.trim());
            if let Some(id) = key.strip_prefix("server.") {
                let id = id
                    .parse::<u64>()
                    .map_err(|_| corrupt(format!("bad server id in {line:?}")))?;
                let server =
                    parse_server(value).map_err(|reason| corrupt(format!("{line:?}: {reason}")))?;
                config.servers.insert(id, server);
            } else if key == "version" {
                let version = u64::from_str_radix(value, 16)
                    .map_err(|_| corrupt(format!("bad version in {line:?}")))?;
                config.version = Some(version);
            }
            // Other keys (group.N, weight.N, ...) do not change whom clients may connect to.
        }
        if config.servers.is_empty() {
            return Err(corrupt("no server lines".into()));
        }
        Ok(config)
    }

    /// The servers by id.
    pub fn servers(&self) -> &BTreeMap<u64, Server> {
        &self.servers
    }

    /// The configuration's version (hexadecimal in the data), if it has one.
    pub fn version(&self) -> Option<u64> {
        self.version
    }

    /// The `(host, port)` clients connect to, in server-id order: servers without a client port
    /// are left out, and a wildcard client address becomes the server's own host.
    pub fn client_hosts(&self) -> Vec<(String, u16)> {
        self.servers
            .values()
            .filter_map(|server| {
                let (address, port) = server.client.as_ref()?;
                let wildcard = address
                    .parse::<IpAddr>()
                    .is_ok_and(|ip| ip.is_unspecified());
                let host = if address.is_empty() || wildcard {
                    &server.host
                } else {
                    address
                };
                Some((host.clone(), *port))
            })
            .collect()
    }
}

/// `host:quorumPort:electionPort[:role][;[clientAddress:]clientPort]`; with several quorum
/// addresses (`a|b`, ZooKeeper 3.6+) the first is taken.
fn parse_server(value: &str) -> Result<Server, String> {
    let (quorum, client) = match value.split_once(';') {
        Some((quorum, client)) => (quorum, Some(client.trim())),
        None => (value, None),
    };
    let quorum = quorum.split('|').next().unwrap_or(quorum).trim();
    let (host, rest) = split_host(quorum)?;
    let mut parts = rest.split(':');
    let quorum_port = port(parts.next())?;
    let election_port = port(parts.next())?;
    let role = match parts.next() {
        None | Some("participant") => Role::Participant,
        Some("observer") => Role::Observer,
        Some(other) => return Err(format!("unknown role {other:?}")),
    };
    if parts.next().is_some() {
        return Err("too many fields".into());
    }
    let client = match client {
        None | Some("") => None,
        Some(client) => Some(parse_client(client)?),
    };
    Ok(Server {
        host,
        quorum_port,
        election_port,
        role,
        client,
    })
}

/// `[clientAddress:]clientPort` (an empty address when only the port is given).
fn parse_client(client: &str) -> Result<(String, u16), String> {
    if !client.contains(':') {
        return Ok((String::new(), port(Some(client))?));
    }
    let (host, rest) = split_host(client)?;
    if rest.contains(':') {
        return Err(format!("bad client address {client:?}"));
    }
    Ok((host, port(Some(rest))?))
}

/// Splits `host:rest` or `[v6]:rest` into the host (checked, no brackets) and what follows the
/// colon after it. A bare IPv6 address must be bracketed except as a whole `addr:port` whose
/// address parses (`::1:2181` is ambiguous and refused).
fn split_host(s: &str) -> Result<(String, &str), String> {
    let (host, rest) = match s.strip_prefix('[') {
        Some(bracketed) => {
            let (host, rest) = bracketed
                .split_once(']')
                .ok_or_else(|| format!("unclosed '[' in {s:?}"))?;
            let rest = rest
                .strip_prefix(':')
                .ok_or_else(|| format!("no port after {host:?}"))?;
            (host, rest)
        }
        None => s
            .split_once(':')
            .ok_or_else(|| format!("no port in {s:?}"))?,
    };
    check_host(host)?;
    Ok((host.to_owned(), rest))
}

fn port(field: Option<&str>) -> Result<u16, String> {
    match field.map(str::trim).map(str::parse::<u16>) {
        Some(Ok(port)) if port > 0 => Ok(port),
        _ => Err(format!("bad port {:?}", field.unwrap_or(""))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(data: &str) -> Vec<(String, u16)> {
        EnsembleConfig::parse(data.as_bytes())
            .unwrap()
            .client_hosts()
    }

    #[test]
    fn ipv4_ipv6_roles_and_version() {
        let data = "server.3=10.0.0.3:2888:3888:observer;10.0.0.3:2181\n\
                    server.1=10.0.0.1:2888:3888:participant;10.0.0.1:2181\n\
                    server.2=[fe80::2]:2888:3888;[fe80::2]:2182\n\
                    version=100000000\n";
        let config = EnsembleConfig::parse(data.as_bytes()).unwrap();
        assert_eq!(config.version(), Some(0x1_0000_0000));
        assert_eq!(config.servers()[&3].role, Role::Observer);
        assert_eq!(config.servers()[&2].role, Role::Participant);
        assert_eq!(config.servers()[&2].host, "fe80::2");
        assert_eq!(config.servers()[&1].quorum_port, 2888);
        assert_eq!(config.servers()[&1].election_port, 3888);
        assert_eq!(
            config.client_hosts(),
            [
                ("10.0.0.1".to_string(), 2181),
                ("fe80::2".to_string(), 2182),
                ("10.0.0.3".to_string(), 2181)
            ]
        );
    }

    #[test]
    fn wildcard_and_port_only_client_addresses_become_the_servers_host() {
        let data = "server.1=zk1:2888:3888;0.0.0.0:2181\n\
                    server.2=zk2:2888:3888;[::]:2181\n\
                    server.3=zk3:2888:3888;[0:0:0:0:0:0:0:0]:2181\n\
                    server.4=zk4:2888:3888:participant;2185\n";
        assert_eq!(
            hosts(data),
            [
                ("zk1".to_string(), 2181),
                ("zk2".to_string(), 2181),
                ("zk3".to_string(), 2181),
                ("zk4".to_string(), 2185)
            ]
        );
    }

    #[test]
    fn servers_without_a_client_port_take_no_clients() {
        let data = "server.1=zk1:2888:3888\nserver.2=zk2:2888:3888;zk2:2181\n";
        let config = EnsembleConfig::parse(data.as_bytes()).unwrap();
        assert_eq!(config.servers()[&1].client, None);
        assert_eq!(config.version(), None);
        assert_eq!(config.client_hosts(), [("zk2".to_string(), 2181)]);
    }

    #[test]
    fn multiple_quorum_addresses_take_the_first_and_other_keys_are_ignored() {
        let data = "server.1=a1:2888:3888|b1:2889:3889;2181\ngroup.1=1:2:3\nweight.1=1\n";
        let config = EnsembleConfig::parse(data.as_bytes()).unwrap();
        assert_eq!(config.servers()[&1].host, "a1");
        assert_eq!(config.client_hosts(), [("a1".to_string(), 2181)]);
    }

    #[test]
    fn bad_lines_are_corrupt_data() {
        for bad in [
            "",
            "version=1",
            "server.x=zk1:2888:3888;2181",
            "server.1=zk1:2888;2181",
            "server.1=zk1:2888:3888:leader;2181",
            "server.1=zk1:2888:3888:participant:x;2181",
            "server.1=zk1:0:3888;2181",
            "server.1=zk1:2888:3888;zk1:",
            "server.1=zk1:2888:3888;zk1:70000",
            "server.1=[::1:2888:3888;2181",
            "server.1=zk 1:2888:3888;2181",
            "server.1=:2888:3888;2181",
            "server.1=zk1:2888:3888;a:b:2181",
            "server.1=zk1:2888:3888;2181\nversion=xyz",
            "just words",
        ] {
            match EnsembleConfig::parse(bad.as_bytes()) {
                Err(Error::CorruptData { path, .. }) => assert_eq!(path, CONFIG_PATH),
                other => panic!("{bad:?} parsed as {other:?}"),
            }
        }
        assert!(EnsembleConfig::parse(&[0xff, 0xfe]).is_err());
    }
}
