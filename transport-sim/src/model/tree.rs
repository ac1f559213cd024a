//! One server's copy of the znode tree, and ZooKeeper's exact semantics for applying a
//! transaction to it (the checks of `PrepRequestProcessor`, the effects of `DataTree`).
//!
//! Requests reach the tree checked: the client validated their paths ([`Op::validate`], the
//! one place of ZooKeeper's path rules) and the server dropped any packet over
//! `jute.maxbuffer` (see `wire`), so the tree checks only what depends on its state.

use std::collections::{BTreeMap, BTreeSet};

use docent::{
    path, Acl, CreateMode, Error, EventType, Id, MultiOp, MultiResult, Op, OpResult, Perms, ReadOp,
    ReadResult, Stat,
};

use docent::ensemble::config::CONFIG_PATH;

use super::acl;
use super::txn::{Txn, TxnBody};

/// `ephemeralOwner` of a container node (`EphemeralType.CONTAINER`).
pub(crate) const CONTAINER_OWNER: i64 = i64::MIN;
/// The high byte that marks a TTL node's `ephemeralOwner` (`EphemeralType.TTL`).
const TTL_MASK: i64 = 0xFF00_0000_0000_0000_u64 as i64;
/// The largest TTL ZooKeeper accepts, in milliseconds.
const MAX_TTL_MS: i64 = 0x0000_FFFF_FFFF_FFFF;

/// What kind of node an `ephemeralOwner` value denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Persistent,
    Ephemeral(i64),
    Container,
    Ttl(i64),
}

pub(crate) fn kind_of(owner: i64) -> Kind {
    if owner == 0 {
        Kind::Persistent
    } else if owner == CONTAINER_OWNER {
        Kind::Container
    } else if owner & TTL_MASK == TTL_MASK {
        Kind::Ttl(owner & MAX_TTL_MS)
    } else {
        Kind::Ephemeral(owner)
    }
}

/// One znode.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) data: Vec<u8>,
    pub(crate) acl: Vec<Acl>,
    /// The stat as ZooKeeper persists it (`StatPersisted`): `cversion` counts the creates of
    /// children only (it names sequential children) and `ephemeral_owner` holds the container
    /// and TTL markers. Clients see [`Node::client_stat`].
    pub(crate) stat: Stat,
    pub(crate) children: BTreeSet<String>,
}

impl Node {
    /// The stat a client receives (ZooKeeper's `DataNode.copyStat`): `cversion` becomes the
    /// count of child changes, `2 * creates - numChildren` (every create has a delete except
    /// for the children still present), and container and TTL nodes show owner 0.
    pub(crate) fn client_stat(&self) -> Stat {
        let num_children = self.children.len() as i32;
        let ephemeral_owner = match kind_of(self.stat.ephemeral_owner) {
            Kind::Ephemeral(owner) => owner,
            _ => 0,
        };
        Stat {
            cversion: self
                .stat
                .cversion
                .wrapping_mul(2)
                .wrapping_sub(num_children),
            num_children,
            ephemeral_owner,
            ..self.stat
        }
    }
}

/// True when `actual` satisfies the expected `version`: `None` and ZooKeeper's `-1` match any.
fn version_matches(expected: Option<i32>, actual: i32) -> bool {
    match expected {
        None | Some(-1) => true,
        Some(v) => v == actual,
    }
}

/// A watch trigger produced by applying a txn: `(path, event)`.
pub(crate) type Trigger = (String, EventType);

/// How to take back one step of a multi that failed later.
enum Undo {
    Created {
        path: String,
        parent_stat: Stat,
    },
    Deleted {
        path: String,
        node: Node,
        parent_stat: Stat,
    },
    DataSet {
        path: String,
        data: Vec<u8>,
        stat: Stat,
    },
}

/// The znode tree of one server plus the sessions it knows are alive.
#[derive(Debug, Clone)]
pub(crate) struct DataTree {
    nodes: BTreeMap<String, Node>,
    ephemerals: BTreeMap<i64, BTreeSet<String>>,
    sessions: BTreeSet<i64>,
    reapable: BTreeSet<String>,
    /// The zxid of the last applied txn.
    pub(crate) last_zxid: i64,
}

impl Default for DataTree {
    fn default() -> Self {
        let empty = |children: &[&str]| Node {
            data: Vec::new(),
            acl: Acl::open(),
            stat: Stat {
                num_children: children.len() as i32,
                ..Stat::default()
            },
            children: children.iter().map(|c| c.to_string()).collect(),
        };
        let mut nodes = BTreeMap::new();
        nodes.insert("/".to_owned(), empty(&["zookeeper"]));
        nodes.insert("/zookeeper".to_owned(), empty(&["config", "quota"]));
        nodes.insert("/zookeeper/config".to_owned(), empty(&[]));
        nodes.insert("/zookeeper/quota".to_owned(), empty(&[]));
        DataTree {
            nodes,
            ephemerals: BTreeMap::new(),
            sessions: BTreeSet::new(),
            reapable: BTreeSet::new(),
            last_zxid: 0,
        }
    }
}

impl DataTree {
    /// The node at `path`.
    pub(crate) fn node(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// Every node, by path.
    pub(crate) fn nodes(&self) -> &BTreeMap<String, Node> {
        &self.nodes
    }

    /// The stat as a client sees it.
    pub(crate) fn stat(&self, path: &str) -> Option<Stat> {
        self.nodes.get(path).map(Node::client_stat)
    }

    /// A read op (get data, children, exists, ACL) against this tree, as a session holding
    /// `ids` would see it.
    pub(crate) fn read(&self, op: &Op, ids: &[Id]) -> Result<OpResult, Error> {
        let need = |path: &str, perm| -> Result<&Node, Error> {
            let node = self.nodes.get(path).ok_or(Error::NoNode)?;
            if !acl::allowed(&node.acl, perm, ids) {
                return Err(Error::NoAuth);
            }
            Ok(node)
        };
        match op {
            Op::GetData { path, .. } => {
                let n = need(path, Perms::READ)?;
                Ok(OpResult::Data {
                    data: n.data.clone(),
                    stat: n.client_stat(),
                })
            }
            Op::GetChildren { path, .. } => {
                let n = need(path, Perms::READ)?;
                let children = n.children.iter().cloned().collect();
                Ok(OpResult::Children {
                    children,
                    stat: n.client_stat(),
                })
            }
            Op::Exists { path, .. } => Ok(OpResult::Exists(self.stat(path))),
            Op::GetAcl { path } => {
                let n = self.nodes.get(path).ok_or(Error::NoNode)?;
                if !acl::allowed(&n.acl, Perms::READ, ids)
                    && !acl::allowed(&n.acl, Perms::ADMIN, ids)
                {
                    return Err(Error::NoAuth);
                }
                Ok(OpResult::Acl {
                    acl: n.acl.clone(),
                    stat: n.client_stat(),
                })
            }
            Op::Sync { .. } => Ok(OpResult::Synced),
            Op::AddWatch { .. } => Ok(OpResult::WatchAdded),
            Op::MultiRead(reads) => Ok(OpResult::MultiRead(
                reads
                    .iter()
                    .map(|r| {
                        let n = need(r.path(), Perms::READ)?;
                        Ok(match r {
                            ReadOp::GetChildren { .. } => ReadResult::Children {
                                children: n.children.iter().cloned().collect(),
                            },
                            _ => ReadResult::Data {
                                data: n.data.clone(),
                                stat: n.client_stat(),
                            },
                        })
                    })
                    .collect(),
            )),
            _ => Err(Error::BadArguments),
        }
    }

    /// Applies `txn`. Returns the result for a client write (`None` for session txns and the
    /// reaper's deletes) and appends the watch triggers it causes.
    pub(crate) fn apply(
        &mut self,
        txn: &Txn,
        triggers: &mut Vec<Trigger>,
    ) -> Option<Result<OpResult, Error>> {
        self.last_zxid = txn.zxid;
        match &txn.body {
            TxnBody::CreateSession => {
                self.sessions.insert(txn.session);
                None
            }
            TxnBody::CloseSession => {
                self.sessions.remove(&txn.session);
                for path in self.ephemerals.remove(&txn.session).unwrap_or_default() {
                    let _ = self.delete(txn, &path, None, triggers, None, false);
                }
                None
            }
            TxnBody::DeleteContainer(path) => {
                let reap = self.nodes.get(path).is_some_and(|n| {
                    n.children.is_empty()
                        && match kind_of(n.stat.ephemeral_owner) {
                            Kind::Container => n.stat.cversion > 0,
                            Kind::Ttl(ttl) => txn.time - n.stat.mtime > ttl,
                            _ => false,
                        }
                });
                if reap {
                    let _ = self.delete(txn, path, None, triggers, None, false);
                }
                None
            }
            TxnBody::AgeVersion { path, version } => {
                if let Some(node) = self.nodes.get_mut(path) {
                    node.stat.version = *version;
                }
                None
            }
            TxnBody::Reconfig { members, wildcard } => {
                let data = super::reconfig::config_data(members, *wildcard, txn.zxid);
                let _ = self.set_data(txn, CONFIG_PATH, &data, None, triggers, None);
                None
            }
            TxnBody::Write(op) => {
                if !self.sessions.contains(&txn.session) {
                    return Some(Err(Error::SessionExpired));
                }
                Some(self.write(txn, op, triggers))
            }
        }
    }

    fn write(
        &mut self,
        txn: &Txn,
        op: &Op,
        triggers: &mut Vec<Trigger>,
    ) -> Result<OpResult, Error> {
        match op {
            Op::Create {
                path,
                data,
                acl,
                mode,
            } => {
                let (path, stat) = self.create(txn, path, data, acl, *mode, triggers, None)?;
                Ok(OpResult::Created { path, stat })
            }
            Op::Delete { path, version } => {
                self.delete(txn, path, *version, triggers, None, true)?;
                Ok(OpResult::Deleted)
            }
            Op::SetData {
                path,
                data,
                version,
            } => Ok(OpResult::Stat(
                self.set_data(txn, path, data, *version, triggers, None)?,
            )),
            Op::SetAcl { path, acl, version } => {
                Ok(OpResult::Stat(self.set_acl(txn, path, acl, *version)?))
            }
            Op::Multi(ops) => self.multi(txn, ops, triggers).map(OpResult::Multi),
            _ => Err(Error::BadArguments),
        }
    }

    fn multi(
        &mut self,
        txn: &Txn,
        ops: &[MultiOp],
        triggers: &mut Vec<Trigger>,
    ) -> Result<Vec<MultiResult>, Error> {
        let mut undo = Vec::new();
        let mut local = Vec::new();
        let mut results = Vec::with_capacity(ops.len());
        for (index, op) in ops.iter().enumerate() {
            let r = match op {
                MultiOp::Check { path, version } => match self.nodes.get(path) {
                    None => Err(Error::NoNode),
                    Some(n) if !version_matches(*version, n.stat.version) => Err(Error::BadVersion),
                    Some(_) => Ok(MultiResult::Checked),
                },
                MultiOp::Create {
                    path,
                    data,
                    acl,
                    mode,
                } => self
                    .create(txn, path, data, acl, *mode, &mut local, Some(&mut undo))
                    .map(|(path, _)| MultiResult::Created { path }),
                MultiOp::Delete { path, version } => self
                    .delete(txn, path, *version, &mut local, Some(&mut undo), true)
                    .map(|()| MultiResult::Deleted),
                MultiOp::SetData {
                    path,
                    data,
                    version,
                } => self
                    .set_data(txn, path, data, *version, &mut local, Some(&mut undo))
                    .map(MultiResult::DataSet),
                _ => Err(Error::Unimplemented),
            };
            match r {
                Ok(r) => results.push(r),
                Err(error) => {
                    self.rollback(undo);
                    return Err(Error::MultiFailed {
                        index,
                        error: Box::new(error),
                    });
                }
            }
        }
        triggers.append(&mut local);
        Ok(results)
    }

    fn rollback(&mut self, undo: Vec<Undo>) {
        for step in undo.into_iter().rev() {
            match step {
                Undo::Created { path, parent_stat } => {
                    let node = self.nodes.remove(&path).expect("created node");
                    self.forget(&path, node.stat.ephemeral_owner);
                    let parent = self
                        .nodes
                        .get_mut(path::parent(&path).unwrap())
                        .expect("parent");
                    parent.children.remove(path::name(&path));
                    parent.stat = parent_stat;
                }
                Undo::Deleted {
                    path,
                    node,
                    parent_stat,
                } => {
                    self.remember(&path, node.stat.ephemeral_owner);
                    let parent = self
                        .nodes
                        .get_mut(path::parent(&path).unwrap())
                        .expect("parent");
                    parent.children.insert(path::name(&path).to_owned());
                    parent.stat = parent_stat;
                    self.nodes.insert(path, node);
                }
                Undo::DataSet { path, data, stat } => {
                    let node = self.nodes.get_mut(&path).expect("node");
                    node.data = data;
                    node.stat = stat;
                }
            }
        }
    }

    fn remember(&mut self, path: &str, owner: i64) {
        match kind_of(owner) {
            Kind::Ephemeral(s) => {
                self.ephemerals
                    .entry(s)
                    .or_default()
                    .insert(path.to_owned());
            }
            Kind::Container | Kind::Ttl(_) => {
                self.reapable.insert(path.to_owned());
            }
            Kind::Persistent => {}
        }
    }

    fn forget(&mut self, path: &str, owner: i64) {
        match kind_of(owner) {
            Kind::Ephemeral(s) => {
                if let Some(set) = self.ephemerals.get_mut(&s) {
                    set.remove(path);
                    if set.is_empty() {
                        self.ephemerals.remove(&s);
                    }
                }
            }
            Kind::Container | Kind::Ttl(_) => {
                self.reapable.remove(path);
            }
            Kind::Persistent => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn create(
        &mut self,
        txn: &Txn,
        path: &str,
        data: &[u8],
        acl_in: &[Acl],
        mode: CreateMode,
        triggers: &mut Vec<Trigger>,
        undo: Option<&mut Vec<Undo>>,
    ) -> Result<(String, Stat), Error> {
        let owner = match mode {
            CreateMode::Ephemeral | CreateMode::EphemeralSequential => txn.session,
            CreateMode::Container => CONTAINER_OWNER,
            CreateMode::PersistentWithTtl(ttl) | CreateMode::PersistentSequentialWithTtl(ttl) => {
                let ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
                if ms <= 0 || ms > MAX_TTL_MS {
                    return Err(Error::BadArguments);
                }
                TTL_MASK | ms
            }
            _ => 0,
        };
        let parent_path = match path.rfind('/') {
            Some(0) => "/",
            Some(i) => &path[..i],
            None => return Err(Error::BadArguments),
        };
        if parent_path == "/" && path == "/" {
            return Err(Error::NodeExists);
        }
        let acl = acl::fixup(acl_in, &txn.ids)?;
        let parent = self.nodes.get(parent_path).ok_or(Error::NoNode)?;
        if !acl::allowed(&parent.acl, Perms::CREATE, &txn.ids) {
            return Err(Error::NoAuth);
        }
        let parent_stat = parent.stat;
        let full = if mode.is_sequential() {
            format!("{path}{:010}", parent_stat.cversion)
        } else {
            path.to_owned()
        };
        if self.nodes.contains_key(&full) {
            return Err(Error::NodeExists);
        }
        if matches!(kind_of(parent_stat.ephemeral_owner), Kind::Ephemeral(_)) {
            return Err(Error::NoChildrenForEphemerals);
        }
        let stat = Stat {
            czxid: txn.zxid,
            mzxid: txn.zxid,
            ctime: txn.time,
            mtime: txn.time,
            version: 0,
            cversion: 0,
            aversion: 0,
            ephemeral_owner: owner,
            data_length: data.len() as i32,
            num_children: 0,
            pzxid: txn.zxid,
        };
        let parent = self.nodes.get_mut(parent_path).expect("parent");
        parent.children.insert(path::name(&full).to_owned());
        parent.stat.cversion = parent.stat.cversion.wrapping_add(1);
        parent.stat.pzxid = txn.zxid;
        parent.stat.num_children += 1;
        let node = Node {
            data: data.to_vec(),
            acl,
            stat,
            children: BTreeSet::new(),
        };
        let stat = node.client_stat();
        self.nodes.insert(full.clone(), node);
        self.remember(&full, owner);
        if let Some(undo) = undo {
            undo.push(Undo::Created {
                path: full.clone(),
                parent_stat,
            });
        }
        triggers.push((full.clone(), EventType::NodeCreated));
        triggers.push((parent_path.to_owned(), EventType::NodeChildrenChanged));
        Ok((full, stat))
    }

    fn delete(
        &mut self,
        txn: &Txn,
        path: &str,
        version: Option<i32>,
        triggers: &mut Vec<Trigger>,
        undo: Option<&mut Vec<Undo>>,
        check: bool,
    ) -> Result<(), Error> {
        let parent_path = path::parent(path).ok_or(Error::BadArguments)?;
        if check {
            let parent = self.nodes.get(parent_path).ok_or(Error::NoNode)?;
            let node = self.nodes.get(path).ok_or(Error::NoNode)?;
            if !acl::allowed(&parent.acl, Perms::DELETE, &txn.ids) {
                return Err(Error::NoAuth);
            }
            if !version_matches(version, node.stat.version) {
                return Err(Error::BadVersion);
            }
            if !node.children.is_empty() {
                return Err(Error::NotEmpty);
            }
        }
        let node = self.nodes.remove(path).ok_or(Error::NoNode)?;
        self.forget(path, node.stat.ephemeral_owner);
        let parent = self.nodes.get_mut(parent_path).expect("parent");
        let parent_stat = parent.stat;
        parent.children.remove(path::name(path));
        // Deletes leave the persisted cversion (the creates count) alone; clients still see
        // it move (`Node::client_stat`).
        parent.stat.pzxid = txn.zxid;
        parent.stat.num_children -= 1;
        if let Some(undo) = undo {
            undo.push(Undo::Deleted {
                path: path.to_owned(),
                node,
                parent_stat,
            });
        }
        triggers.push((path.to_owned(), EventType::NodeDeleted));
        triggers.push((parent_path.to_owned(), EventType::NodeChildrenChanged));
        Ok(())
    }

    fn set_data(
        &mut self,
        txn: &Txn,
        path: &str,
        data: &[u8],
        version: Option<i32>,
        triggers: &mut Vec<Trigger>,
        undo: Option<&mut Vec<Undo>>,
    ) -> Result<Stat, Error> {
        let node = self.nodes.get_mut(path).ok_or(Error::NoNode)?;
        if !acl::allowed(&node.acl, Perms::WRITE, &txn.ids) {
            return Err(Error::NoAuth);
        }
        if !version_matches(version, node.stat.version) {
            return Err(Error::BadVersion);
        }
        let old = std::mem::replace(&mut node.data, data.to_vec());
        if let Some(undo) = undo {
            undo.push(Undo::DataSet {
                path: path.to_owned(),
                data: old,
                stat: node.stat,
            });
        }
        node.stat.version = node.stat.version.wrapping_add(1);
        node.stat.mzxid = txn.zxid;
        node.stat.mtime = txn.time;
        node.stat.data_length = data.len() as i32;
        triggers.push((path.to_owned(), EventType::NodeDataChanged));
        Ok(node.client_stat())
    }

    fn set_acl(
        &mut self,
        txn: &Txn,
        path: &str,
        acl_in: &[Acl],
        version: Option<i32>,
    ) -> Result<Stat, Error> {
        let node = self.nodes.get_mut(path).ok_or(Error::NoNode)?;
        if !acl::allowed(&node.acl, Perms::ADMIN, &txn.ids) {
            return Err(Error::NoAuth);
        }
        let acl = acl::fixup(acl_in, &txn.ids)?;
        if !version_matches(version, node.stat.aversion) {
            return Err(Error::BadVersion);
        }
        node.acl = acl;
        node.stat.aversion = node.stat.aversion.wrapping_add(1);
        Ok(node.client_stat())
    }

    /// Containers and TTL nodes that the leader's reaper would delete at wall time `now_ms`
    /// (ZooKeeper's `ContainerManager.getCandidates`).
    pub(crate) fn reap_candidates(&self, now_ms: i64) -> Vec<String> {
        self.reapable
            .iter()
            .filter(|p| {
                let n = &self.nodes[*p];
                n.children.is_empty()
                    && match kind_of(n.stat.ephemeral_owner) {
                        Kind::Container => n.stat.cversion > 0,
                        Kind::Ttl(ttl) => now_ms - n.stat.mtime > ttl,
                        _ => false,
                    }
            })
            .cloned()
            .collect()
    }
}
