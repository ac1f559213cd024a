//! Dynamic reconfiguration (ZooKeeper 3.5+): who the servers are to a client, and the
//! `/zookeeper/config` data the ensemble keeps in its tree.
//!
//! Server `s` (0-based in the model) is ZooKeeper's `server.{s+1}`, host `zk{s+1}`, client
//! port [`CLIENT_PORT`]. A reconfiguration is a txn in the committed log like any write: every
//! server applies it to `/zookeeper/config` (data watches fire), and the new membership takes
//! effect when the leader applies it. Servers that leave stop serving (their clients are
//! disconnected); servers that join sync with the leader before serving; quorums are counted
//! over the members.
//!
//! ```text
//!  reconfig(joining, leaving) ──check: serving, none pending, new quorum up──► Reconfig txn
//!     leader applies it ──► members = new ──► leaving: connections dropped, no more service
//!                                         └─► joining: catch up, then serve
//! ```
//!
//! ```
//! use docent_sim::model::{server_host, server_at, CLIENT_PORT};
//!
//! assert_eq!(server_host(0), "zk1");
//! assert_eq!(server_at("zk1", CLIENT_PORT), Some(0));
//! assert_eq!(server_at("zk1", 2182), None);
//! ```

use std::collections::BTreeSet;

use docent::Error;

/// The client port every simulated server listens on.
pub const CLIENT_PORT: u16 = 2181;

/// The host name of server `s`.
pub fn server_host(s: usize) -> String {
    format!("zk{}", s + 1)
}

/// The server a client reaches at `host:port` (`None`: no simulated server there).
pub fn server_at(host: &str, port: u16) -> Option<usize> {
    let n: usize = host.strip_prefix("zk")?.parse().ok()?;
    (port == CLIENT_PORT && n > 0 && server_host(n - 1) == host).then(|| n - 1)
}

/// `/zookeeper/config` for `members` at config version `zxid`, in ZooKeeper's format; with
/// `wildcard`, each client address is `0.0.0.0` (ZooKeeper's default `clientPortAddress`).
pub(crate) fn config_data(members: &BTreeSet<usize>, wildcard: bool, zxid: i64) -> Vec<u8> {
    let mut out = String::new();
    for &s in members {
        let host = server_host(s);
        let client = if wildcard { "0.0.0.0" } else { &host };
        out.push_str(&format!(
            "server.{}={host}:2888:3888:participant;{client}:{CLIENT_PORT}\n",
            s + 1
        ));
    }
    out.push_str(&format!("version={zxid:x}"));
    out.into_bytes()
}

/// The membership after `joining` join and `leaving` leave `members`, when ZooKeeper would
/// accept it: `total` servers exist (joining ones may be new: `total`, `total + 1`, …), the
/// new configuration is not empty and a majority of it is up (`up`; new servers start up).
pub(crate) fn next_members(
    members: &BTreeSet<usize>,
    total: usize,
    joining: &[usize],
    leaving: &[usize],
    up: impl Fn(usize) -> bool,
) -> Result<BTreeSet<usize>, Error> {
    let mut next = members.clone();
    let mut fresh = total;
    for &s in joining {
        if s > fresh {
            return Err(Error::BadArguments);
        }
        fresh = fresh.max(s + 1);
        next.insert(s);
    }
    for s in leaving {
        next.remove(s);
    }
    let live = next.iter().filter(|&&s| s >= total || up(s)).count();
    if next.is_empty() || live * 2 <= next.len() {
        return Err(Error::NewConfigNoQuorum);
    }
    Ok(next)
}
