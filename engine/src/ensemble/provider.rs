//! Where a client finds its servers (Curator's `EnsembleProvider`).
//!
//! An [`EnsembleProvider`] holds the server list (`host:port` pairs, never a chroot) and lets
//! the transport watch it change. A fixed provider (the default: a connect string given once)
//! only changes when the ensemble tracker says the ensemble itself changed; an Exhibitor
//! provider is fed by its poller and ignores the tracker, as in Curator
//! (`updateServerListEnabled` false).
//!
//! ```
//! use docent::ensemble::{ConnectString, EnsembleProvider};
//!
//! let provider = EnsembleProvider::fixed(&ConnectString::parse("zk1:2181/app").unwrap());
//! let mut changes = provider.watch();
//! assert_eq!(provider.servers(), [("zk1".to_string(), 2181)]);
//! assert!(provider.track(vec![("zk1".into(), 2181), ("zk2".into(), 2181)]).unwrap());
//! assert_eq!(changes.get().len(), 2);
//! ```

use std::fmt;
use std::sync::Arc;

use crate::ensemble::config::EnsembleConfig;
use crate::ensemble::connect::ConnectString;
use crate::framework::{StateCell, StateWatch};
use crate::Error;

/// A list of servers, `(host, port)` (IPv6 hosts without brackets).
pub type Servers = Vec<(String, u16)>;

/// The source of the servers; cheap to clone (clones share the list).
#[derive(Clone)]
pub struct EnsembleProvider {
    cell: Arc<StateCell<Servers>>,
    follows_tracker: bool,
}

impl EnsembleProvider {
    /// The servers of `connect` (its chroot stays with the client), updated by the ensemble
    /// tracker when the ensemble is reconfigured (Curator's `FixedEnsembleProvider`).
    pub fn fixed(connect: &ConnectString) -> EnsembleProvider {
        EnsembleProvider {
            cell: Arc::new(StateCell::new(connect.hosts().to_vec())),
            follows_tracker: true,
        }
    }

    /// A provider fed by its owner through [`EnsembleProvider::set`] (an Exhibitor poller)
    /// that ignores the ensemble tracker; starts with `initial`.
    pub fn polled(initial: &ConnectString) -> EnsembleProvider {
        EnsembleProvider {
            follows_tracker: false,
            ..EnsembleProvider::fixed(initial)
        }
    }

    /// The current servers.
    pub fn servers(&self) -> Servers {
        self.cell.get()
    }

    /// The servers now and after each change.
    pub fn watch(&self) -> StateWatch<Servers> {
        self.cell.watch()
    }

    /// Whether [`EnsembleProvider::track`] changes this provider (Curator's
    /// `updateServerListEnabled`).
    pub fn follows_tracker(&self) -> bool {
        self.follows_tracker
    }

    /// Replaces the servers (the provider's own source); true if they changed. Fails with
    /// [`Error::InvalidConnectString`] for an empty list or a bad host or port, and then
    /// nothing changes.
    pub fn set(&self, servers: Servers) -> Result<bool, Error> {
        let checked = ConnectString::from_servers(servers)?;
        let changed = self.cell.set_if_changed(checked.hosts().to_vec());
        if changed {
            tracing::info!(servers = %checked, "ensemble servers changed");
        }
        Ok(changed)
    }

    /// The ensemble tracker's view of the servers: applied when the provider follows the
    /// tracker (see [`EnsembleProvider::set`]), ignored otherwise.
    pub fn track(&self, servers: Servers) -> Result<bool, Error> {
        if self.follows_tracker {
            self.set(servers)
        } else {
            Ok(false)
        }
    }

    /// The ensemble tracker's step: the data of `/zookeeper/config` handed to
    /// [`EnsembleProvider::track`] as the servers with a client port (a wildcard address
    /// becomes the server's host). Empty data or no client port (a static ensemble) changes
    /// nothing; corrupt data is [`Error::CorruptData`] and changes nothing.
    pub fn track_config(&self, data: &[u8]) -> Result<bool, Error> {
        if data.is_empty() {
            return Ok(false);
        }
        let servers = EnsembleConfig::parse(data)?.client_hosts();
        if servers.is_empty() {
            return Ok(false);
        }
        self.track(servers)
    }
}

/// Two handles are equal when they share one list.
impl PartialEq for EnsembleProvider {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.cell, &other.cell)
    }
}

impl Eq for EnsembleProvider {}

impl fmt::Debug for EnsembleProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnsembleProvider")
            .field("servers", &self.servers())
            .field("follows_tracker", &self.follows_tracker)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cs(s: &str) -> ConnectString {
        ConnectString::parse(s).unwrap()
    }

    #[test]
    fn a_fixed_provider_follows_the_tracker_and_a_polled_one_does_not() {
        let fixed = EnsembleProvider::fixed(&cs("a:1,b:2/root"));
        let polled = EnsembleProvider::polled(&cs("a:1"));
        let next = vec![("c".to_string(), 3)];
        assert!(fixed.track(next.clone()).unwrap());
        assert_eq!(fixed.servers(), next);
        assert!(!polled.track(next.clone()).unwrap());
        assert_eq!(polled.servers(), [("a".to_string(), 1)]);
        assert!(polled.set(next.clone()).unwrap());
        assert_eq!(polled.servers(), next);
        assert!(!polled.set(next).unwrap(), "no change, no wake-up");
    }

    #[test]
    fn the_tracker_takes_client_addresses_from_the_config() {
        let provider = EnsembleProvider::fixed(&cs("a:1"));
        let config = b"server.1=zk1:2888:3888;0.0.0.0:2181\nserver.2=zk2:2888:3888\nversion=1";
        assert!(provider.track_config(config).unwrap());
        assert_eq!(provider.servers(), [("zk1".to_string(), 2181)]);
        assert!(!provider.track_config(b"").unwrap());
        assert!(!provider.track_config(b"server.1=zk1:2888:3888").unwrap());
        assert!(matches!(
            provider.track_config(b"garbage"),
            Err(Error::CorruptData { .. })
        ));
        assert_eq!(provider.servers(), [("zk1".to_string(), 2181)]);
    }

    #[test]
    fn bad_lists_change_nothing() {
        let provider = EnsembleProvider::fixed(&cs("a:1"));
        for bad in [
            vec![],
            vec![("".to_string(), 1)],
            vec![("b".to_string(), 0)],
        ] {
            assert!(matches!(
                provider.set(bad),
                Err(Error::InvalidConnectString { .. })
            ));
        }
        assert_eq!(provider.servers(), [("a".to_string(), 1)]);
    }

    #[test]
    fn watches_see_the_latest_list() {
        use futures::StreamExt;
        let provider = EnsembleProvider::fixed(&cs("a:1"));
        let mut watch = provider.watch();
        let first = futures::executor::block_on(watch.next()).unwrap();
        assert_eq!(first, [("a".to_string(), 1)]);
        provider.set(vec![("b".into(), 2)]).unwrap();
        provider.set(vec![("c".into(), 3)]).unwrap();
        let latest = futures::executor::block_on(watch.next()).unwrap();
        assert_eq!(latest, [("c".to_string(), 3)]);
    }
}
