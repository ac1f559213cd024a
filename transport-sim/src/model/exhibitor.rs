//! The Exhibitor stand-in: each simulated server runs an Exhibitor whose cluster list is the
//! ensemble's current members, unless a [`Fault::Exhibitor`](super::Fault::Exhibitor) makes
//! them answer otherwise for a while.

use std::collections::BTreeSet;

use super::reconfig::{server_host, CLIENT_PORT};

/// How the Exhibitors answer `GET /exhibitor/v1/cluster/list`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ExhibitorAnswer {
    /// The current members (what a healthy Exhibitor says).
    #[default]
    Members,
    /// Nobody answers (the request fails).
    Down,
    /// `count=0` (Curator falls back to the backup connection string).
    CountZero,
    /// A stale list: these servers, whatever the members are now.
    Stale(Vec<usize>),
    /// A readable but wrong body (a count larger than the servers listed).
    Garbage,
}

/// Exhibitor's form-encoded cluster list of `servers`.
fn cluster_list<'a>(servers: impl IntoIterator<Item = &'a usize>) -> Vec<u8> {
    let hosts: Vec<String> = servers.into_iter().map(|&s| server_host(s)).collect();
    let mut body = format!("count={}&port={CLIENT_PORT}", hosts.len());
    for (i, host) in hosts.iter().enumerate() {
        body.push_str(&format!("&server{i}={host}"));
    }
    body.into_bytes()
}

/// The body of the answer (`None`: no answer) given the current `members`.
pub(crate) fn body(answer: &ExhibitorAnswer, members: &BTreeSet<usize>) -> Option<Vec<u8>> {
    match answer {
        ExhibitorAnswer::Members => Some(cluster_list(members)),
        ExhibitorAnswer::Down => None,
        ExhibitorAnswer::CountZero => Some(format!("count=0&port={CLIENT_PORT}").into_bytes()),
        ExhibitorAnswer::Stale(servers) => Some(cluster_list(servers)),
        ExhibitorAnswer::Garbage => {
            Some(format!("count=3&port={CLIENT_PORT}&server0=").into_bytes())
        }
    }
}
