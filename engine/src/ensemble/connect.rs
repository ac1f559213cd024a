//! Connect strings: `host1:2181,host2:2181,[::1]:2181/chroot`.
//!
//! Parsed here first so that a malformed string is the caller's typed error
//! ([`Error::InvalidConnectString`]) rather than a late failure inside the client.

use std::fmt;

use crate::Error;

/// The default ZooKeeper client port, used when a host gives none.
pub const DEFAULT_PORT: u16 = 2181;

/// A parsed connect string: one or more servers and an optional chroot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectString {
    hosts: Vec<(String, u16)>,
    chroot: Option<String>,
}

impl ConnectString {
    /// Parses `input` (`host[:port][,host[:port]...][/chroot]`; IPv6 hosts in brackets).
    ///
    /// A chroot of `/` alone means no chroot. Anything else that is not a valid ZooKeeper path
    /// (empty segments, a trailing `/`, `.` or `..` segments, control characters) is rejected.
    pub fn parse(input: &str) -> Result<ConnectString, Error> {
        let fail = |reason: String| Error::InvalidConnectString {
            input: input.to_string(),
            reason,
        };
        let (servers, chroot) = match input.find('/') {
            Some(i) => (&input[..i], Some(&input[i..])),
            None => (input, None),
        };
        if servers.trim().is_empty() {
            return Err(fail("no servers".into()));
        }
        let hosts = servers
            .split(',')
            .map(|entry| parse_host(entry).map_err(&fail))
            .collect::<Result<Vec<_>, _>>()?;
        let chroot = parse_chroot(chroot).map_err(fail)?;
        Ok(ConnectString { hosts, chroot })
    }

    /// A provider's `servers` with the chroot of `input`, which is a connect string (its servers
    /// are ignored), a bare chroot (`/app`), or empty (no chroot): Curator's
    /// `connectString("")` with an ensemble provider.
    pub fn for_provider(input: &str, servers: Vec<(String, u16)>) -> Result<ConnectString, Error> {
        let chroot = match input.find('/') {
            Some(i) => {
                parse_chroot(Some(&input[i..])).map_err(|reason| Error::InvalidConnectString {
                    input: input.to_string(),
                    reason,
                })?
            }
            None => None,
        };
        Ok(ConnectString {
            chroot,
            ..ConnectString::from_servers(servers)?
        })
    }

    /// A connect string of `servers` without a chroot: fails with
    /// [`Error::InvalidConnectString`] for an empty list, an invalid host or port 0.
    pub fn from_servers(servers: Vec<(String, u16)>) -> Result<ConnectString, Error> {
        let fail = |reason: String| Error::InvalidConnectString {
            input: format!("{servers:?}"),
            reason,
        };
        if servers.is_empty() {
            return Err(fail("no servers".into()));
        }
        for (host, port) in &servers {
            check_host(host).map_err(&fail)?;
            if *port == 0 {
                return Err(fail(format!("port 0 for {host:?}")));
            }
        }
        Ok(ConnectString {
            hosts: servers,
            chroot: None,
        })
    }

    /// The same chroot on other servers (an ensemble provider's new list); fails as
    /// [`ConnectString::from_servers`] does.
    pub fn with_hosts(&self, servers: Vec<(String, u16)>) -> Result<ConnectString, Error> {
        Ok(ConnectString {
            chroot: self.chroot.clone(),
            ..ConnectString::from_servers(servers)?
        })
    }

    /// The servers, as `(host, port)` in the order given (IPv6 hosts without brackets).
    pub fn hosts(&self) -> &[(String, u16)] {
        &self.hosts
    }

    /// The chroot, if any (never `/`).
    pub fn chroot(&self) -> Option<&str> {
        self.chroot.as_deref()
    }
}

/// Prints the canonical form: every port explicit, IPv6 hosts in brackets.
impl fmt::Display for ConnectString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (host, port)) in self.hosts.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if host.contains(':') {
                write!(f, "[{host}]:{port}")?;
            } else {
                write!(f, "{host}:{port}")?;
            }
        }
        if let Some(root) = &self.chroot {
            f.write_str(root)?;
        }
        Ok(())
    }
}

/// `None` or `/` is no chroot; anything else must be a valid ZooKeeper path.
fn parse_chroot(chroot: Option<&str>) -> Result<Option<String>, String> {
    match chroot {
        None | Some("/") => Ok(None),
        Some(root) => {
            crate::path::validate(root).map_err(|err| format!("bad chroot: {err}"))?;
            Ok(Some(root.to_string()))
        }
    }
}

fn parse_host(entry: &str) -> Result<(String, u16), String> {
    let entry = entry.trim();
    if entry.is_empty() {
        return Err("empty server entry".into());
    }
    let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return Err(format!("unclosed '[' in {entry:?}"));
        };
        let host = &rest[..end];
        match &rest[end + 1..] {
            "" => (host, None),
            tail => match tail.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(format!("unexpected {tail:?} after ']' in {entry:?}")),
            },
        }
    } else {
        match entry.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (entry, None),
        }
    };
    if host.is_empty() {
        return Err(format!("empty host in {entry:?}"));
    }
    check_host(host)?;
    if host.contains(':') && !entry.starts_with('[') {
        return Err(format!("IPv6 host {host:?} must be in brackets"));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(port) => match port.parse::<u16>() {
            Ok(0) | Err(_) => return Err(format!("bad port {port:?} in {entry:?}")),
            Ok(port) => port,
        },
    };
    Ok((host.to_string(), port))
}

/// Checks a bare host name or address (IPv6 without brackets): not empty, and only the
/// characters of names and addresses.
pub(crate) fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("empty host".into());
    }
    match host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':')))
    {
        Some(c) => Err(format!("character {c:?} not allowed in host {host:?}")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(s: &str) -> Vec<(String, u16)> {
        ConnectString::parse(s).unwrap().hosts().to_vec()
    }

    #[test]
    fn several_hosts_and_chroot() {
        let cs = ConnectString::parse("zk1:2181,zk2:2182,zk3/app/ns").unwrap();
        assert_eq!(
            cs.hosts(),
            &[
                ("zk1".to_string(), 2181),
                ("zk2".to_string(), 2182),
                ("zk3".to_string(), 2181)
            ]
        );
        assert_eq!(cs.chroot(), Some("/app/ns"));
        assert_eq!(cs.to_string(), "zk1:2181,zk2:2182,zk3:2181/app/ns");
    }

    #[test]
    fn ipv6_and_root_chroot() {
        assert_eq!(hosts("[::1]:2190"), vec![("::1".to_string(), 2190)]);
        assert_eq!(hosts("[::1]"), vec![("::1".to_string(), 2181)]);
        let cs = ConnectString::parse("127.0.0.1:1/").unwrap();
        assert_eq!(cs.chroot(), None);
        assert_eq!(
            ConnectString::parse("[::1]:5").unwrap().to_string(),
            "[::1]:5"
        );
    }

    #[test]
    fn new_hosts_keep_the_chroot() {
        let cs = ConnectString::parse("zk1:2181/app").unwrap();
        let moved = cs
            .with_hosts(vec![("zk2".into(), 2182), ("::1".into(), 2183)])
            .unwrap();
        assert_eq!(moved.to_string(), "zk2:2182,[::1]:2183/app");
        for bad in [vec![], vec![("".into(), 1)], vec![("zk".into(), 0)]] {
            assert!(matches!(
                cs.with_hosts(bad),
                Err(Error::InvalidConnectString { .. })
            ));
        }
    }

    #[test]
    fn a_providers_servers_take_the_chroot_of_the_string() {
        let servers = vec![("zk9".to_string(), 2190)];
        for (input, want) in [
            ("", "zk9:2190"),
            ("/app", "zk9:2190/app"),
            ("zk1:2181/app", "zk9:2190/app"),
            ("zk1:2181", "zk9:2190"),
        ] {
            let cs = ConnectString::for_provider(input, servers.clone()).unwrap();
            assert_eq!(cs.to_string(), want, "{input:?}");
        }
        assert!(ConnectString::for_provider("/app/", servers).is_err());
        assert!(ConnectString::for_provider("/app", vec![]).is_err());
    }

    #[test]
    fn malformed_strings_are_typed_errors() {
        for bad in [
            "",
            "   ",
            ",",
            "zk1:2181,,zk2:2181",
            "zk1:",
            "zk1:0",
            "zk1:65536",
            "zk1:abc",
            ":2181",
            "[::1",
            "[::1]x",
            "::1:2181",
            "zk 1:2181",
            "zk1:2181/app/",
            "zk1:2181/app//x",
            "zk1:2181/app/../x",
            "/chroot",
        ] {
            match ConnectString::parse(bad) {
                Err(Error::InvalidConnectString { input, .. }) => assert_eq!(input, bad),
                other => panic!("{bad:?} parsed as {other:?}"),
            }
        }
    }
}
