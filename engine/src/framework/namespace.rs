//! Namespaces (Curator's `.namespace("app")`): every path the caller gives is prefixed before
//! it is sent, and every path the server returns is stripped before the caller sees it.
//! Paths and request sizes are checked here, before anything is sent.

use futures::{FutureExt, StreamExt};

use crate::op::{MultiResult, Op, OpResult, Reply, Watch};
use crate::path;
use crate::types::WatchedEvent;
use crate::{wire, Error};

/// Normalises and validates a namespace: `"app"` and `"/app"` are `/app`; `""` and `"/"` are
/// no namespace.
pub(crate) fn normalize(namespace: &str) -> Result<String, Error> {
    if namespace.is_empty() || namespace == "/" {
        return Ok(String::new());
    }
    let ns = if namespace.starts_with('/') {
        namespace.to_owned()
    } else {
        format!("/{namespace}")
    };
    path::validate(&ns)?;
    Ok(ns)
}

/// Checks `op` as the caller wrote it ([`Op::validate`]), prefixes its paths with `ns`, and
/// checks the length of the request that will be sent ([`wire::check_len`]).
pub(crate) fn prepare(ns: &str, op: Op) -> Result<Op, Error> {
    op.validate()?;
    let op = prefix(ns, op);
    wire::check_len(&op)?;
    Ok(op)
}

/// `op` with every path prefixed by `ns`.
fn prefix(ns: &str, op: Op) -> Op {
    if ns.is_empty() {
        return op;
    }
    op.map_paths(|p| path::prefix(ns, p))
}

/// Strips `ns` from every path in a reply, including its watch's events.
pub(crate) fn strip_reply(ns: &str, reply: Reply) -> Reply {
    if ns.is_empty() {
        return reply;
    }
    let result = match reply.result {
        OpResult::Created { path, stat } => OpResult::Created {
            path: path::strip(ns, &path),
            stat,
        },
        OpResult::Multi(results) => OpResult::Multi(
            results
                .into_iter()
                .map(|r| match r {
                    MultiResult::Created { path } => MultiResult::Created {
                        path: path::strip(ns, &path),
                    },
                    other => other,
                })
                .collect(),
        ),
        other => other,
    };
    let watch = reply.watch.map(|w| {
        let ns = ns.to_owned();
        match w {
            Watch::OneShot(f) => Watch::OneShot(f.map(move |e| strip_event(&ns, e)).boxed()),
            Watch::Persistent(s) => Watch::Persistent(s.map(move |e| strip_event(&ns, e)).boxed()),
        }
    });
    Reply { result, watch }
}

fn strip_event(ns: &str, mut event: WatchedEvent) -> WatchedEvent {
    if !event.path.is_empty() {
        event.path = path::strip(ns, &event.path);
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::MultiOp;
    use crate::types::{Acl, CreateMode, EventType, Stat};

    #[test]
    fn namespaces_are_normalised_and_validated() {
        assert_eq!(normalize("app").unwrap(), "/app");
        assert_eq!(normalize("/app/x").unwrap(), "/app/x");
        assert_eq!(normalize("/").unwrap(), "");
        assert!(normalize("/app/").is_err());
        assert!(normalize("a//b").is_err());
    }

    #[test]
    fn multi_paths_are_prefixed_and_results_stripped() {
        let op = Op::Multi(vec![
            MultiOp::Check {
                path: "/a".into(),
                version: Some(1),
            },
            MultiOp::Create {
                path: "/q/".into(),
                data: vec![],
                acl: Acl::open(),
                mode: CreateMode::PersistentSequential,
            },
        ]);
        let Op::Multi(ops) = prepare("/ns", op).unwrap() else {
            panic!()
        };
        assert_eq!(ops[0].path(), "/ns/a");
        assert_eq!(ops[1].path(), "/ns/q/");
        let reply = Reply::plain(OpResult::Multi(vec![MultiResult::Created {
            path: "/ns/q/0000000001".into(),
        }]));
        assert_eq!(
            strip_reply("/ns", reply).result,
            OpResult::Multi(vec![MultiResult::Created {
                path: "/q/0000000001".into()
            }])
        );
        let bad = Op::Multi(vec![MultiOp::Delete {
            path: "/a/".into(),
            version: None,
        }]);
        assert!(matches!(
            prepare("/ns", bad),
            Err(Error::InvalidPath { .. })
        ));
    }

    #[test]
    fn multi_read_paths_are_prefixed_and_validated() {
        use crate::op::ReadOp;
        let op = Op::MultiRead(vec![
            ReadOp::GetData { path: "/a".into() },
            ReadOp::GetChildren { path: "/".into() },
        ]);
        let Op::MultiRead(reads) = prepare("/ns", op).unwrap() else {
            panic!()
        };
        assert_eq!(
            reads,
            vec![
                ReadOp::GetData {
                    path: "/ns/a".into()
                },
                ReadOp::GetChildren { path: "/ns".into() },
            ]
        );
        let bad = Op::MultiRead(vec![ReadOp::GetData { path: "a".into() }]);
        assert!(matches!(
            prepare("/ns", bad),
            Err(Error::InvalidPath { .. })
        ));
    }

    #[test]
    fn watch_events_are_stripped() {
        let event = WatchedEvent {
            kind: EventType::NodeDeleted,
            path: "/ns/a".into(),
        };
        let reply = Reply {
            result: OpResult::Exists(Some(Stat::default())),
            watch: Some(Watch::OneShot(futures::future::ready(event).boxed())),
        };
        let Some(Watch::OneShot(f)) = strip_reply("/ns", reply).watch else {
            panic!()
        };
        assert_eq!(futures::executor::block_on(f).path, "/a");
    }
}
