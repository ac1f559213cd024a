//! How ops, results, stats and events are written into a transcript: only what both sides
//! must agree on (no zxids, no times, session ids by the script's names).

use docent::{
    Acl, CreateMode, Error, MultiOp, MultiResult, Op, OpResult, ReadResult, Stat, WatchedEvent,
};

/// `ephemeralOwner` of a container (`EphemeralType.CONTAINER`).
const CONTAINER_OWNER: i64 = i64::MIN;
/// The high byte of a TTL node's `ephemeralOwner`.
const TTL_MASK: i64 = 0xFF00_0000_0000_0000_u64 as i64;

/// Names for session ids: `(id, name)`.
pub type Owners = [(i64, String)];

fn owner(id: i64, owners: &Owners) -> String {
    if id == 0 {
        return "0".into();
    }
    if id == CONTAINER_OWNER {
        return "container".into();
    }
    if id & TTL_MASK == TTL_MASK {
        return format!("ttl:{}ms", id & !TTL_MASK);
    }
    match owners.iter().find(|(known, _)| *known == id) {
        Some((_, name)) => name.clone(),
        None => "unknown-session".into(),
    }
}

/// The deterministic fields of a stat.
pub fn stat(s: &Stat, owners: &Owners) -> String {
    format!(
        "{{v{} cv{} av{} nc{} len{} owner={}}}",
        s.version,
        s.cversion,
        s.aversion,
        s.num_children,
        s.data_length,
        owner(s.ephemeral_owner, owners)
    )
}

fn data(d: &[u8]) -> String {
    match std::str::from_utf8(d) {
        Ok(text) if d.len() <= 40 => format!("{text:?}"),
        _ => format!("<{} bytes>", d.len()),
    }
}

fn mode(m: CreateMode) -> String {
    match m.ttl() {
        Some(ttl) if m.is_sequential() => format!("PersistentSequentialTtl({}ms)", ttl.as_millis()),
        Some(ttl) => format!("PersistentTtl({}ms)", ttl.as_millis()),
        None => format!("{m:?}"),
    }
}

fn acl(list: &[Acl]) -> String {
    let entries: Vec<String> = list
        .iter()
        .map(|a| format!("{:?}@{}:{}", a.perms, a.id.scheme, a.id.id))
        .collect();
    format!("[{}]", entries.join(", "))
}

fn version(v: Option<i32>) -> String {
    v.map_or("any".into(), |v| v.to_string())
}

fn multi_op(op: &MultiOp) -> String {
    match op {
        MultiOp::Check { path, version: v } => format!("check {path} @{}", version(*v)),
        MultiOp::Create {
            path,
            data: d,
            acl: a,
            mode: m,
        } => format!("create {path} {} {} {}", mode(*m), data(d), acl(a)),
        MultiOp::Delete { path, version: v } => format!("delete {path} @{}", version(*v)),
        MultiOp::SetData {
            path,
            data: d,
            version: v,
        } => format!("set {path} {} @{}", data(d), version(*v)),
        other => format!("{other:?}"),
    }
}

/// A short description of `op`.
pub fn op(op: &Op) -> String {
    match op {
        Op::Create {
            path,
            data: d,
            acl: a,
            mode: m,
        } => format!("create {path:?} {} {} {}", mode(*m), data(d), acl(a)),
        Op::Delete { path, version: v } => format!("delete {path:?} @{}", version(*v)),
        Op::SetData {
            path,
            data: d,
            version: v,
        } => format!("set {path:?} {} @{}", data(d), version(*v)),
        Op::GetData { path, watch } => format!("get {path:?} watch={watch}"),
        Op::GetChildren { path, watch } => format!("children {path:?} watch={watch}"),
        Op::Exists { path, watch } => format!("exists {path:?} watch={watch}"),
        Op::GetAcl { path } => format!("getAcl {path:?}"),
        Op::SetAcl {
            path,
            acl: a,
            version: v,
        } => format!("setAcl {path:?} {} @{}", acl(a), version(*v)),
        Op::Sync { path } => format!("sync {path:?}"),
        Op::Multi(ops) => {
            let ops: Vec<String> = ops.iter().map(multi_op).collect();
            format!("multi [{}]", ops.join("; "))
        }
        Op::AddWatch { path, mode } => format!("addWatch {path:?} {mode:?}"),
        other => format!("{other:?}"),
    }
}

fn multi_result(r: &MultiResult, owners: &Owners) -> String {
    match r {
        MultiResult::Checked => "checked".into(),
        MultiResult::Created { path } => format!("created {path}"),
        MultiResult::Deleted => "deleted".into(),
        MultiResult::DataSet(s) => format!("set {}", stat(s, owners)),
        other => format!("{other:?}"),
    }
}

fn read_result(r: &Result<ReadResult, Error>, owners: &Owners) -> String {
    match r {
        Ok(ReadResult::Data { data: d, stat: s }) => {
            format!("data {} {}", data(d), stat(s, owners))
        }
        Ok(ReadResult::Children { children }) => {
            let mut sorted = children.clone();
            sorted.sort();
            format!("children {sorted:?}")
        }
        Ok(other) => format!("{other:?}"),
        Err(e) => format!("error {}", error(e)),
    }
}

/// An error as the transcript shows it.
pub fn error(e: &Error) -> String {
    match e {
        Error::MultiFailed {
            index,
            error: inner,
        } => {
            format!("MultiFailed(index {index}, {})", error(inner))
        }
        other => format!("{other:?}"),
    }
}

/// A result as the transcript shows it.
pub fn result(r: &Result<OpResult, Error>, owners: &Owners) -> String {
    let r = match r {
        Ok(r) => r,
        Err(e) => return format!("error {}", error(e)),
    };
    match r {
        OpResult::Created { path, stat: s } => format!("created {path} {}", stat(s, owners)),
        OpResult::Deleted => "deleted".into(),
        OpResult::Stat(s) => format!("stat {}", stat(s, owners)),
        OpResult::Data { data: d, stat: s } => format!("data {} {}", data(d), stat(s, owners)),
        OpResult::Children { children, stat: s } => {
            let mut sorted = children.clone();
            sorted.sort();
            format!("children {sorted:?} {}", stat(s, owners))
        }
        OpResult::Exists(Some(s)) => format!("exists {}", stat(s, owners)),
        OpResult::Exists(None) => "absent".into(),
        OpResult::Acl { acl: a, stat: s } => format!("acl {} {}", acl(a), stat(s, owners)),
        OpResult::Synced => "synced".into(),
        OpResult::Multi(results) => {
            let results: Vec<String> = results.iter().map(|r| multi_result(r, owners)).collect();
            format!("multi [{}]", results.join("; "))
        }
        OpResult::WatchAdded => "watch added".into(),
        OpResult::MultiRead(results) => {
            let results: Vec<String> = results.iter().map(|r| read_result(r, owners)).collect();
            format!("multiRead [{}]", results.join("; "))
        }
        other => format!("{other:?}"),
    }
}

/// A watch event.
pub fn event(e: &WatchedEvent) -> String {
    format!("{:?} {:?}", e.kind, e.path)
}
