//! Watches on both ends: the server's tables (ZooKeeper's `WatchManager`, one per server, keyed
//! by connection) and the client's (the Java client's `ZKWatchManager`, which turns one event
//! into the watchers it fires).

use std::collections::{BTreeMap, BTreeSet};

use docent::{path, EventType};

use super::msg::{ConnId, WatchId, WatchPaths};

fn add<K: Ord + Clone, V: Ord>(map: &mut BTreeMap<K, BTreeSet<V>>, key: &K, v: V) {
    match map.get_mut(key) {
        Some(set) => {
            set.insert(v);
        }
        None => {
            map.insert(key.clone(), BTreeSet::from([v]));
        }
    }
}

/// Which table a server-side watch lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerWatch {
    /// getData / exists (one-shot).
    Data,
    /// getChildren (one-shot).
    Child,
    /// addWatch PERSISTENT.
    Persistent,
    /// addWatch PERSISTENT_RECURSIVE.
    Recursive,
}

/// One server's watch tables.
#[derive(Debug, Default)]
pub(crate) struct ServerWatches {
    data: BTreeMap<String, BTreeSet<ConnId>>,
    child: BTreeMap<String, BTreeSet<ConnId>>,
    persistent: BTreeMap<String, BTreeSet<ConnId>>,
    recursive: BTreeMap<String, BTreeSet<ConnId>>,
}

impl ServerWatches {
    pub(crate) fn add(&mut self, path: &str, kind: ServerWatch, conn: ConnId) {
        let table = match kind {
            ServerWatch::Data => &mut self.data,
            ServerWatch::Child => &mut self.child,
            ServerWatch::Persistent => &mut self.persistent,
            ServerWatch::Recursive => &mut self.recursive,
        };
        add(table, &path.to_owned(), conn);
    }

    /// The connections that get `event` on `path`; one-shot watches fired are removed. Each
    /// connection appears once (ZooKeeper suppresses a second delivery of the same event).
    pub(crate) fn trigger(&mut self, path: &str, event: EventType, out: &mut Vec<ConnId>) {
        let start = out.len();
        let mut take = |table: &mut BTreeMap<String, BTreeSet<ConnId>>| {
            if let Some(set) = table.remove(path) {
                out.extend(set);
            }
        };
        match event {
            EventType::NodeCreated | EventType::NodeDataChanged => take(&mut self.data),
            EventType::NodeChildrenChanged => take(&mut self.child),
            EventType::NodeDeleted => {
                take(&mut self.data);
                take(&mut self.child);
            }
            _ => {}
        }
        if let Some(set) = self.persistent.get(path) {
            out.extend(set.iter().copied());
        }
        if event != EventType::NodeChildrenChanged && !self.recursive.is_empty() {
            let mut p = Some(path);
            while let Some(q) = p {
                if let Some(set) = self.recursive.get(q) {
                    out.extend(set.iter().copied());
                }
                p = path::parent(q);
            }
        }
        out[start..].sort_unstable();
        let mut tail = out.split_off(start);
        tail.dedup();
        out.append(&mut tail);
    }

    /// Forgets every watch of `conn` (the connection closed).
    pub(crate) fn remove_conn(&mut self, conn: ConnId) {
        for table in [
            &mut self.data,
            &mut self.child,
            &mut self.persistent,
            &mut self.recursive,
        ] {
            table.retain(|_, set| {
                set.remove(&conn);
                !set.is_empty()
            });
        }
    }
}

/// The watches a client holds, by the kind of read that left them.
#[derive(Debug, Default)]
pub(crate) struct ClientWatches {
    pub(crate) data: BTreeMap<String, BTreeSet<WatchId>>,
    pub(crate) exist: BTreeMap<String, BTreeSet<WatchId>>,
    pub(crate) child: BTreeMap<String, BTreeSet<WatchId>>,
    pub(crate) persistent: BTreeMap<String, BTreeSet<WatchId>>,
    pub(crate) recursive: BTreeMap<String, BTreeSet<WatchId>>,
}

/// Which client-side table a watch goes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientWatch {
    Data,
    Exist,
    Child,
    Persistent,
    Recursive,
}

impl ClientWatches {
    pub(crate) fn add(&mut self, path: &str, kind: ClientWatch, id: WatchId) {
        let table = match kind {
            ClientWatch::Data => &mut self.data,
            ClientWatch::Exist => &mut self.exist,
            ClientWatch::Child => &mut self.child,
            ClientWatch::Persistent => &mut self.persistent,
            ClientWatch::Recursive => &mut self.recursive,
        };
        add(table, &path.to_owned(), id);
    }

    /// The watchers `event` on `path` fires: `(id, one_shot)`. One-shot ones are removed.
    pub(crate) fn materialize(
        &mut self,
        path: &str,
        event: EventType,
        out: &mut Vec<(WatchId, bool)>,
    ) {
        let mut take = |table: &mut BTreeMap<String, BTreeSet<WatchId>>| {
            if let Some(set) = table.remove(path) {
                out.extend(set.into_iter().map(|w| (w, true)));
            }
        };
        match event {
            EventType::NodeCreated | EventType::NodeDataChanged => {
                take(&mut self.data);
                take(&mut self.exist);
            }
            EventType::NodeChildrenChanged => take(&mut self.child),
            EventType::NodeDeleted => {
                take(&mut self.data);
                take(&mut self.exist);
                take(&mut self.child);
            }
            _ => {}
        }
        if let Some(set) = self.persistent.get(path) {
            out.extend(set.iter().map(|w| (*w, false)));
        }
        if event != EventType::NodeChildrenChanged {
            let mut p = Some(path);
            while let Some(q) = p {
                if let Some(set) = self.recursive.get(q) {
                    out.extend(set.iter().map(|w| (*w, false)));
                }
                p = path::parent(q);
            }
        }
    }

    /// Every watch, emptying the tables (the session ended).
    pub(crate) fn drain_all(&mut self) -> Vec<WatchId> {
        let mut all = Vec::new();
        for table in [
            &mut self.data,
            &mut self.exist,
            &mut self.child,
            &mut self.persistent,
            &mut self.recursive,
        ] {
            for (_, set) in std::mem::take(table) {
                all.extend(set);
            }
        }
        all.sort_unstable();
        all.dedup();
        all
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
            && self.exist.is_empty()
            && self.child.is_empty()
            && self.persistent.is_empty()
            && self.recursive.is_empty()
    }

    /// The paths to re-register on a new connection (setWatches), per kind.
    pub(crate) fn paths(&self) -> WatchPaths {
        let keys = |t: &BTreeMap<String, BTreeSet<WatchId>>| t.keys().cloned().collect();
        WatchPaths {
            data: keys(&self.data),
            exist: keys(&self.exist),
            child: keys(&self.child),
            persistent: keys(&self.persistent),
            recursive: keys(&self.recursive),
        }
    }
}
