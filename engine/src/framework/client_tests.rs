//! The Client, its fluent builders and the driver, against an in-memory fake Coordinator on a
//! `futures` LocalPool (no tokio).

mod fake;

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::channel::mpsc;
use futures::executor::LocalPool;
use futures::future::{self, BoxFuture};
use futures::task::{LocalSpawnExt, SpawnExt};
use futures::StreamExt;

use self::fake::Fake;
use crate::framework::{
    spawn_machine, wait_for, Client, ConnectionState, RetryPolicy, MULTI_READ_BATCH,
};
use crate::machine::{Input, Machine, Token};
use crate::op::{MultiResult, Op, OpResult, ReadOp, Watch};
use crate::time::Instant;
use crate::types::{Acl, CreateMode, EventType, SessionState};
use crate::Error;

fn run<F: Future>(test: impl FnOnce(Arc<Fake>) -> F) -> F::Output {
    let mut pool = LocalPool::new();
    let spawner = pool.spawner();
    let (tx, rx) = mpsc::unbounded::<BoxFuture<'static, ()>>();
    let forward = spawner.clone();
    spawner
        .spawn_local(rx.for_each(move |task| {
            forward.spawn(task).expect("spawn");
            future::ready(())
        }))
        .expect("spawn");
    let fake = Arc::new(Fake::new(tx));
    fake.connect();
    pool.run_until(test(fake))
}

fn client(fake: &Arc<Fake>, namespace: &str) -> Client {
    Client::builder(fake.clone())
        .namespace(namespace)
        .retry(RetryPolicy::n_times(3, std::time::Duration::ZERO))
        .build()
        .unwrap()
}

/// Lets the other tasks run until `done()`.
async fn until(mut done: impl FnMut() -> bool) {
    struct Yield(bool);
    impl Future for Yield {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if std::mem::replace(&mut self.0, true) {
                Poll::Ready(())
            } else {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
    for _ in 0..10_000 {
        if done() {
            return;
        }
        Yield(false).await;
    }
    panic!("condition never met");
}

fn creates(log: &[Op]) -> Vec<String> {
    log.iter()
        .filter_map(|op| match op {
            Op::Create { path, .. } => Some(path.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn namespaced_builders() {
    run(|fake| async move {
        let c = client(&fake, "app");
        assert_eq!(c.namespace(), "/app");
        let path = c.create().parents().data("x").at("/a/b").await.unwrap();
        assert_eq!(path, "/a/b");
        assert!(fake.has("/app/a/b"));
        assert_eq!(
            creates(&fake.log()),
            vec!["/app", "/app/a/b", "/app/a", "/app/a/b"],
            "namespace first, then the create, its parent after NoNode, the create again"
        );
        let (data, stat, watch) = c.get_data().watched().at("/a/b").await.unwrap();
        assert_eq!((data, stat.version), (b"x".to_vec(), 0));
        let stat = c.set_data().version(0).at("/a/b", "y").await.unwrap();
        assert_eq!(stat.version, 1);
        let Some(Watch::OneShot(fired)) = watch else {
            panic!()
        };
        let event = fired.await;
        assert_eq!(
            (event.kind, event.path.as_str()),
            (EventType::NodeDataChanged, "/a/b")
        );
        assert_eq!(
            c.set_data().version(0).at("/a/b", "z").await,
            Err(Error::BadVersion)
        );
        let (children, _, _) = c.get_children().at("/a").await.unwrap();
        assert_eq!(children, vec!["b"]);
        let seq = c
            .create()
            .mode(CreateMode::PersistentSequential)
            .at("/a/n-")
            .await
            .unwrap();
        assert_eq!(seq, "/a/n-0000000000");
        let results = c
            .transaction()
            .check("/a/b", Some(1))
            .create("/a/c", "c", CreateMode::Persistent)
            .commit()
            .await
            .unwrap();
        assert_eq!(
            results,
            vec![
                MultiResult::Checked,
                MultiResult::Created {
                    path: "/a/c".into()
                }
            ]
        );
        let (exists, watch) = c.exists().watched().at("/a/c").await.unwrap();
        assert!(exists.is_some());
        c.delete().children_if_needed().at("/a").await.unwrap();
        assert!(!fake.has("/app/a") && fake.has("/app"));
        let Some(Watch::OneShot(fired)) = watch else {
            panic!()
        };
        assert_eq!(fired.await.path, "/a/c");
        let (acl, _) = c.get_acl("/").await.unwrap();
        assert_eq!(acl, Acl::open());
        assert_eq!(
            fake.log().last(),
            Some(&Op::GetAcl {
                path: "/app".into()
            }),
            "root maps to /app"
        );
        c.sync("/").await.unwrap();
        assert_eq!(
            fake.log().last(),
            Some(&Op::Sync {
                path: "/app".into()
            })
        );
    });
}

#[test]
fn invalid_input_is_refused_before_sending() {
    run(|fake| async move {
        let c = client(&fake, "/app");
        assert!(matches!(
            c.create().at("/a/").await,
            Err(Error::InvalidPath { .. })
        ));
        assert!(matches!(
            c.get_data().at("a").await,
            Err(Error::InvalidPath { .. })
        ));
        let big = vec![0u8; crate::wire::MAX_PACKET];
        assert!(matches!(
            c.set_data().at("/a", big.clone()).await,
            Err(Error::DataTooLarge { .. })
        ));
        let tx = c.transaction().create("/ok", big, CreateMode::Persistent);
        assert!(matches!(tx.commit().await, Err(Error::DataTooLarge { .. })));
        // Exactly 1 MiB of data is over ZooKeeper's packet limit.
        let mib = vec![0u8; 1024 * 1024];
        assert!(matches!(
            c.create().data(mib).at("/big").await,
            Err(Error::DataTooLarge {
                max: crate::wire::MAX_PACKET,
                ..
            })
        ));
        assert_eq!(fake.log(), vec![], "nothing reached the server");
        assert!(matches!(
            Client::builder(fake.clone()).namespace("/a/").build(),
            Err(Error::InvalidPath { .. })
        ));
    });
}

#[test]
fn a_reply_of_the_wrong_type_is_an_unexpected_reply() {
    run(|fake| async move {
        let c = client(&fake, "");
        c.create().data("a").at("/a").await.unwrap();
        fake.answer(OpResult::Deleted);
        let error = c.get_data().at("/a").await.unwrap_err();
        assert_eq!(
            error,
            Error::UnexpectedReply {
                path: "/a".into(),
                op: "getData",
                reply: "Deleted".into()
            }
        );
        assert_eq!(error.kind(), crate::ErrorKind::Internal);
        // A multiRead answered wrongly fails every read of the batch.
        fake.answer(OpResult::Synced);
        let paths = ["/a".to_owned(), "/b".to_owned()];
        assert!(matches!(
            c.get_data_many(&paths).await,
            Err(Error::UnexpectedReply {
                op: "multiRead",
                ..
            })
        ));
        fake.answer(OpResult::Synced);
        let driven = sent(&c, vec![get("/a", false), get("/b", false)]).await;
        let replies = driven.inspect(|m| m.replies.clone());
        for token in [1, 2] {
            assert!(matches!(
                &replies[&token],
                Err(Error::UnexpectedReply {
                    op: "multiRead",
                    ..
                })
            ));
        }
    });
}

#[test]
fn unknown_outcomes_are_reported_honestly() {
    run(|fake| async move {
        let c = client(&fake, "");
        // Applied, reply lost; the retry finds the node: not "NodeExists", not success.
        fake.fault(true, Error::ConnectionLoss);
        assert_eq!(c.create().at("/x").await, Err(Error::ConnectionLoss));
        assert_eq!(creates(&fake.log()), vec!["/x", "/x"]);
        // Not applied: the retry succeeds.
        fake.fault(false, Error::ConnectionLoss);
        assert_eq!(c.create().at("/y").await.as_deref(), Ok("/y"));
        // Sequential: never replayed.
        fake.fault(true, Error::ConnectionLoss);
        let before = fake.log().len();
        assert_eq!(
            c.create()
                .mode(CreateMode::PersistentSequential)
                .at("/s-")
                .await,
            Err(Error::ConnectionLoss)
        );
        assert_eq!(fake.log().len(), before + 1);
        // Reads are retried freely.
        fake.fault(false, Error::ConnectionLoss);
        assert!(c.exists().at("/y").await.unwrap().0.is_some());
    });
}

#[test]
fn a_session_ending_under_a_write_is_an_unknown_outcome() {
    run(|fake| async move {
        let c = client(&fake, "");
        // Applied, then the session ended with it in flight: the retry's NodeExists is the
        // echo of our own create.
        fake.fault(true, Error::SessionExpired);
        assert_eq!(c.create().at("/x").await, Err(Error::SessionExpired));
        assert_eq!(creates(&fake.log()), vec!["/x", "/x"]);
        assert!(fake.has("/x"));
        // Not applied: the retry on the next session succeeds.
        fake.fault(false, Error::SessionMoved);
        assert!(c.set_data().at("/x", "v").await.is_ok());
        // Sequential: never replayed after the session ended.
        fake.fault(true, Error::SessionExpired);
        let before = fake.log().len();
        let created = c
            .create()
            .mode(CreateMode::PersistentSequential)
            .at("/s-")
            .await;
        assert_eq!(created, Err(Error::SessionExpired));
        assert_eq!(fake.log().len(), before + 1);
        // Reads are retried.
        fake.fault(false, Error::SessionExpired);
        assert!(c.exists().at("/x").await.unwrap().0.is_some());
    });
}

#[test]
fn protected_create_finds_its_node_after_a_lost_reply() {
    run(|fake| async move {
        let c = client(&fake, "/app");
        c.create().parents().at("/locks").await.unwrap();
        fake.fault(true, Error::ConnectionLoss);
        let create = c
            .create()
            .protected()
            .parents()
            .mode(CreateMode::EphemeralSequential)
            .acl(Acl::open())
            .at_with_stat("/locks/lock-");
        let (f2, c2) = (fake.clone(), c.clone());
        let outage = async move {
            until(|| {
                f2.log()
                    .iter()
                    .any(|op| matches!(op, Op::Create { path, .. } if path.contains("_c_")))
            })
            .await;
            f2.session(SessionState::Disconnected);
            until(|| c2.connection_state() == Some(ConnectionState::Suspended)).await;
            f2.connect();
        };
        let (created, ()) = futures::join!(create, outage);
        let created = created.unwrap();
        let name = crate::path::name(&created.path).to_owned();
        assert!(crate::framework::protected::is_protected(&name), "{name}");
        assert_eq!(crate::framework::protected::strip(&name), "lock-0000000000");
        assert_eq!(created.stat.ephemeral_owner, fake::SESSION);
        let nodes: Vec<String> = fake
            .state
            .lock()
            .unwrap()
            .nodes
            .keys()
            .filter(|k| k.contains("_c_"))
            .cloned()
            .collect();
        assert_eq!(
            nodes,
            vec![format!("/app{}", created.path)],
            "exactly one node"
        );
        assert!(fake
            .log()
            .iter()
            .any(|op| matches!(op, Op::GetChildren { path, .. } if path == "/app/locks")));
    });
}

#[test]
fn guaranteed_delete_survives_a_lost_reply() {
    run(|fake| async move {
        let c = client(&fake, "");
        c.create().at("/g").await.unwrap();
        fake.fault(true, Error::ConnectionLoss);
        let (f2, c2) = (fake.clone(), c.clone());
        let delete = c.delete().guaranteed().at("/g");
        let outage = async move {
            until(|| matches!(f2.log().last(), Some(Op::Delete { .. }))).await;
            f2.session(SessionState::Disconnected);
            until(|| c2.connection_state() == Some(ConnectionState::Suspended)).await;
            f2.connect();
        };
        let (result, ()) = futures::join!(delete, outage);
        assert_eq!(result, Ok(()));
        let deletes = fake
            .log()
            .iter()
            .filter(|op| matches!(op, Op::Delete { .. }))
            .count();
        assert_eq!(deletes, 2, "the retry got NoNode, which counts as done");
    });
}

#[test]
fn connection_states_fan_out() {
    run(|fake| async move {
        let c = client(&fake, "");
        let mut states = c.connection_states();
        assert_eq!(states.next().await, Some(ConnectionState::Connected));
        let mut late = c.connection_states();
        assert_eq!(
            late.next().await,
            Some(ConnectionState::Connected),
            "current state first"
        );
        fake.session(SessionState::Disconnected);
        assert_eq!(states.next().await, Some(ConnectionState::Suspended));
        assert_eq!(late.next().await, Some(ConnectionState::Suspended));
        fake.connect();
        assert_eq!(states.next().await, Some(ConnectionState::Reconnected));
        assert_eq!(c.session_id(), fake::SESSION);
        c.close().await.unwrap();
        assert_eq!(states.next().await, None, "streams end on close");
        assert_eq!(c.create().at("/z").await, Err(Error::Closed));
    });
}

/// Emits three ops at once on connecting and one event per reply.
#[derive(Debug, Default)]
struct Pipeline {
    sent: bool,
    queue: Vec<(Token, Op)>,
    events: Vec<String>,
    replies: Vec<(Token, bool)>,
    stop: bool,
}

impl Machine for Pipeline {
    type Command = &'static str;
    type Event = String;

    fn handle(&mut self, _now: Instant, input: Input<&'static str>) {
        match input {
            Input::Connection { state, .. } if state.is_connected() && !self.sent => {
                self.sent = true;
                let p = |s: &str| s.to_owned();
                self.queue = vec![
                    (
                        Token(3),
                        Op::Create {
                            path: p("/p"),
                            data: vec![],
                            acl: Acl::open(),
                            mode: CreateMode::Persistent,
                        },
                    ),
                    (
                        Token(1),
                        Op::GetChildren {
                            path: p("/"),
                            watch: false,
                        },
                    ),
                    (
                        Token(2),
                        Op::SetData {
                            path: p("/p"),
                            data: b"d".to_vec(),
                            version: Some(0),
                        },
                    ),
                ];
                self.queue.reverse();
            }
            Input::OpDone { token, result } => {
                self.replies.push((token, result.is_ok()));
                if let Ok(OpResult::Children { children, .. }) = result {
                    self.events.push(format!("children {children:?}"));
                }
            }
            Input::Command("stop") => self.stop = true,
            Input::Command(c) => self.events.push(c.to_owned()),
            _ => {}
        }
    }
    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.queue.pop()
    }
    fn poll_event(&mut self) -> Option<String> {
        (!self.events.is_empty()).then(|| self.events.remove(0))
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    fn is_done(&self) -> bool {
        self.stop
    }
}

#[test]
fn the_driver_submits_in_poll_order_and_broadcasts() {
    run(|fake| async move {
        let c = client(&fake, "/ns");
        c.create().at("/").await.unwrap();
        let driven = spawn_machine(&c, Pipeline::default());
        let mut a = driven.subscribe();
        let mut b = driven.subscribe();
        wait_for(&driven, |m| (m.replies.len() == 3).then_some(()))
            .await
            .unwrap();
        let log = fake.log();
        let tail: Vec<_> = log[log.len() - 3..]
            .iter()
            .map(|op| op.path().unwrap().to_owned())
            .collect();
        assert_eq!(
            tail,
            vec!["/ns/p", "/ns", "/ns/p"],
            "poll order, namespaced"
        );
        assert_eq!(
            driven.inspect(|m| m.replies.clone()),
            vec![(Token(3), true), (Token(1), true), (Token(2), true)]
        );
        assert_eq!(a.next().await.as_deref(), Some("children [\"p\"]"));
        assert_eq!(b.next().await.as_deref(), Some("children [\"p\"]"));
        driven.command("hello").unwrap();
        assert_eq!(a.next().await.as_deref(), Some("hello"));
        driven.command("stop").unwrap();
        driven.finished().await;
        assert_eq!(a.next().await, None);
        assert_eq!(driven.command("late"), Err(Error::Closed));
    });
}

#[test]
fn the_driver_stops_when_every_handle_is_dropped() {
    run(|fake| async move {
        let c = client(&fake, "");
        let driven = spawn_machine(&c, Pipeline::default());
        let finished = driven.finished();
        drop(driven);
        finished.await;
    });
}

/// Reads `/n` with a watch, then writes it: the write's watch event is delivered before the
/// write's reply. Records its inputs.
#[derive(Debug, Default)]
struct ReadThenWrite {
    queue: Vec<(Token, Op)>,
    inputs: Vec<String>,
}

impl Machine for ReadThenWrite {
    type Command = ();
    type Event = ();

    fn handle(&mut self, _now: Instant, input: Input<()>) {
        match input {
            Input::Connection { state, .. } if state.is_connected() && self.inputs.is_empty() => {
                self.inputs.push("connected".into());
                let path = "/n".to_owned();
                self.queue
                    .push((Token(1), Op::GetData { path, watch: true }));
            }
            Input::OpDone { token, .. } => {
                self.inputs.push(format!("reply {}", token.0));
                if token == Token(1) {
                    let (path, data) = ("/n".to_owned(), b"new".to_vec());
                    let version = None;
                    let op = Op::SetData {
                        path,
                        data,
                        version,
                    };
                    self.queue.push((Token(2), op));
                }
            }
            Input::Watch { token, event } => self
                .inputs
                .push(format!("watch {} {:?}", token.0, event.kind)),
            _ => {}
        }
    }
    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.queue.pop()
    }
    fn poll_event(&mut self) -> Option<()> {
        None
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    fn is_done(&self) -> bool {
        false
    }
}

/// Regression (found by the cache suite): the driver fed a reply before a watch event the
/// session had delivered first when both were ready at once, so a tree cache applied a fresh
/// read and then an older deletion, reporting a node gone that existed.
#[test]
fn the_driver_feeds_a_watch_event_before_a_later_reply() {
    run(|fake| async move {
        let c = client(&fake, "");
        c.create().at("/n").await.unwrap();
        let driven = spawn_machine(&c, ReadThenWrite::default());
        until(|| driven.inspect(|m| m.inputs.len() >= 4)).await;
        assert_eq!(
            driven.inspect(|m| m.inputs.clone()),
            ["connected", "reply 1", "watch 1 NodeDataChanged", "reply 2"]
        );
    });
}

/// Records every input; the command "read" queues a getData of `/`.
#[derive(Debug, Default)]
struct Recorder {
    inputs: Vec<String>,
    queue: Vec<(Token, Op)>,
}

impl Machine for Recorder {
    type Command = &'static str;
    type Event = String;

    fn handle(&mut self, _now: Instant, input: Input<&'static str>) {
        let seen = match input {
            Input::Connection { state, .. } => format!("{state:?}"),
            Input::Command(c) => {
                if c == "read" {
                    let op = Op::GetData {
                        path: "/".into(),
                        watch: false,
                    };
                    self.queue.push((Token(self.inputs.len() as u64), op));
                }
                c.to_owned()
            }
            Input::OpDone { token, .. } => format!("reply {}", token.0),
            other => format!("{other:?}"),
        };
        self.inputs.push(seen);
    }
    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.queue.pop()
    }
    fn poll_event(&mut self) -> Option<String> {
        None
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

#[test]
fn commands_sent_before_the_first_state_are_fed_after_it_in_order() {
    run(|fake| async move {
        let c = client(&fake, "");
        let driven = spawn_machine(&c, Recorder::default());
        // The driver task has not run yet: these wait for it.
        driven.command("a").unwrap();
        driven.command("b").unwrap();
        until(|| driven.inspect(|m| m.inputs.len() >= 3)).await;
        assert_eq!(
            driven.inspect(|m| m.inputs.clone()),
            ["Connected", "a", "b"]
        );
    });
}

#[test]
fn a_live_command_submits_its_ops_before_it_returns() {
    run(|fake| async move {
        let c = client(&fake, "");
        let driven = spawn_machine(&c, Recorder::default());
        until(|| driven.inspect(|m| !m.inputs.is_empty())).await;
        let before = fake.log().len();
        driven.command("read").unwrap();
        // No yield in between: the op is already with the transport.
        assert_eq!(
            fake.log()[before..],
            [Op::GetData {
                path: "/".into(),
                watch: false
            }]
        );
        until(|| driven.inspect(|m| m.inputs.len() >= 3)).await;
        assert_eq!(
            driven.inspect(|m| m.inputs.clone()),
            ["Connected", "read", "reply 1"],
            "the driver collects the reply"
        );
    });
}

/// Sends `ops` on connecting and again on the command "again"; records each reply.
#[derive(Debug, Default)]
struct Batch {
    ops: Vec<Op>,
    queue: VecDeque<(Token, Op)>,
    sent: u64,
    replies: BTreeMap<u64, Result<OpResult, Error>>,
}

impl Batch {
    fn new(ops: Vec<Op>) -> Batch {
        Batch {
            ops,
            ..Batch::default()
        }
    }

    fn send_all(&mut self) {
        for op in self.ops.clone() {
            self.sent += 1;
            self.queue.push_back((Token(self.sent), op));
        }
    }
}

impl Machine for Batch {
    type Command = &'static str;
    type Event = ();

    fn handle(&mut self, _now: Instant, input: Input<&'static str>) {
        match input {
            Input::Connection { .. } if self.sent == 0 => self.send_all(),
            Input::Command("again") => self.send_all(),
            Input::OpDone { token, result } => {
                self.replies.insert(token.0, result);
            }
            _ => {}
        }
    }
    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.queue.pop_front()
    }
    fn poll_event(&mut self) -> Option<()> {
        None
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

fn get(path: &str, watch: bool) -> Op {
    let path = path.to_owned();
    Op::GetData { path, watch }
}

fn batched(paths: &[&str]) -> Op {
    let read = |p: &&str| ReadOp::GetData {
        path: (*p).to_owned(),
    };
    Op::MultiRead(paths.iter().map(read).collect())
}

/// Runs `ops` through a [`Batch`] machine until every reply is in; returns the driver.
async fn sent(c: &Client, ops: Vec<Op>) -> crate::framework::Driven<Batch> {
    let n = ops.len();
    let driven = spawn_machine(c, Batch::new(ops));
    until(|| driven.inspect(|m| m.replies.len() == n)).await;
    driven
}

#[test]
fn unwatched_reads_polled_together_leave_as_one_multi_read() {
    run(|fake| async move {
        let c = client(&fake, "");
        c.create().data("a").at("/a").await.unwrap();
        c.create().at("/c").await.unwrap();
        let before = fake.log().len();
        let list = Op::GetChildren {
            path: "/".into(),
            watch: true,
        };
        let ops = vec![
            get("/a", false),
            list.clone(),
            get("/missing", false),
            get("/c", true),
        ];
        let driven = sent(&c, ops).await;
        assert_eq!(
            fake.log()[before..],
            [batched(&["/a", "/missing"]), list, get("/c", true)],
            "in the place of the first read; listings and watched reads on their own, in order"
        );
        let replies = driven.inspect(|m| m.replies.clone());
        assert!(matches!(&replies[&1], Ok(OpResult::Data { data, .. }) if data == b"a"));
        assert!(matches!(replies[&2], Ok(OpResult::Children { .. })));
        assert_eq!(replies[&3], Err(Error::NoNode), "each read its own result");
        assert!(matches!(replies[&4], Ok(OpResult::Data { .. })));
    });
}

#[test]
fn a_batch_never_reaches_past_a_write() {
    run(|fake| async move {
        let c = client(&fake, "");
        c.create().at("/a").await.unwrap();
        let before = fake.log().len();
        let create = Op::Create {
            path: "/b".into(),
            data: b"new".to_vec(),
            acl: Acl::open(),
            mode: CreateMode::Persistent,
        };
        let ops = vec![
            get("/a", false),
            create.clone(),
            get("/b", false),
            get("/a", false),
        ];
        let driven = sent(&c, ops).await;
        assert_eq!(
            fake.log()[before..],
            [get("/a", false), create, batched(&["/b", "/a"])],
            "the read of /b is sent after the create it must see"
        );
        let replies = driven.inspect(|m| m.replies.clone());
        assert!(matches!(&replies[&3], Ok(OpResult::Data { data, .. }) if data == b"new"));
    });
}

#[test]
fn a_failed_batch_fails_each_read_and_a_lone_read_is_not_batched() {
    run(|fake| async move {
        let c = client(&fake, "");
        fake.fault(false, Error::ConnectionLoss);
        let driven = sent(&c, vec![get("/", false), get("/", false)]).await;
        let replies: Vec<_> = driven.inspect(|m| m.replies.values().cloned().collect());
        assert_eq!(
            replies,
            [Err(Error::ConnectionLoss), Err(Error::ConnectionLoss)]
        );
        let before = fake.log().len();
        sent(&c, vec![get("/", false)]).await;
        assert_eq!(fake.log()[before..], [get("/", false)]);
    });
}

#[test]
fn a_server_without_multi_read_gets_the_reads_one_by_one_from_then_on() {
    run(|fake| async move {
        let c = client(&fake, "");
        fake.fault(false, Error::Unimplemented);
        let before = fake.log().len();
        let driven = sent(&c, vec![get("/", false), get("/x", false)]).await;
        assert_eq!(
            fake.log()[before..],
            [batched(&["/", "/x"]), get("/", false), get("/x", false)]
        );
        let replies = driven.inspect(|m| m.replies.clone());
        assert!(matches!(replies[&1], Ok(OpResult::Data { .. })));
        assert_eq!(replies[&2], Err(Error::NoNode));
        let before = fake.log().len();
        driven.command("again").unwrap();
        until(|| driven.inspect(|m| m.replies.len() == 4)).await;
        assert_eq!(
            fake.log()[before..],
            [get("/", false), get("/x", false)],
            "the client batches no more"
        );
    });
}

#[test]
fn read_batches_are_bounded() {
    run(|fake| async move {
        let c = client(&fake, "");
        let before = fake.log().len();
        let ops = vec![get("/", false); MULTI_READ_BATCH + 3];
        sent(&c, ops).await;
        let sizes: Vec<usize> = fake.log()[before..]
            .iter()
            .map(|op| match op {
                Op::MultiRead(reads) => reads.len(),
                _ => 1,
            })
            .collect();
        assert_eq!(sizes, [MULTI_READ_BATCH, 3]);
    });
}

#[test]
fn commands_are_fed_while_no_connection_state_is_known() {
    run(|fake| async move {
        fake.session(SessionState::Disconnected);
        let c = client(&fake, "");
        let driven = spawn_machine(&c, Recorder::default());
        driven.command("a").unwrap();
        until(|| driven.inspect(|m| !m.inputs.is_empty())).await;
        assert_eq!(
            driven.inspect(|m| m.inputs.clone()),
            ["a"],
            "a timeout must not wait for a connection"
        );
        fake.connect();
        until(|| driven.inspect(|m| m.inputs.len() >= 2)).await;
        driven.command("b").unwrap();
        assert_eq!(
            driven.inspect(|m| m.inputs.clone()),
            ["a", "Connected", "b"]
        );
    });
}
