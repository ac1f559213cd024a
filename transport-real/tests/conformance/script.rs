//! [`Ctx`]: what a scenario script uses. Every call appends what it observed to the
//! transcript; the suite compares the transcripts of both backends line by line.

use std::collections::BTreeMap;
use std::sync::Arc;

use docent::{Acl, AuthInfo, CreateMode, MultiOp, Op, OpResult, Watch, WatchedEvent};
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};

use super::backend::{Backend, Sess, PATIENCE, REAP_INTERVAL};
use super::render;

/// A watch a script holds by name.
enum Held {
    OneShot(BoxFuture<'static, WatchedEvent>),
    Persistent(BoxStream<'static, WatchedEvent>),
    /// A one-shot watch that already fired.
    Spent,
}

/// One run of one scenario on one backend.
pub struct Ctx {
    backend: Arc<dyn Backend>,
    /// A path no other scenario uses: `/<scenario>`.
    pub base: String,
    lines: Vec<String>,
    owners: Vec<(i64, String)>,
    watches: BTreeMap<String, Held>,
}

impl Ctx {
    /// A fresh context for scenario `name`.
    pub fn new(backend: Arc<dyn Backend>, name: &str) -> Ctx {
        Ctx {
            backend,
            base: format!("/{name}"),
            lines: Vec::new(),
            owners: Vec::new(),
            watches: BTreeMap::new(),
        }
    }

    /// The transcript so far.
    pub fn into_lines(self) -> Vec<String> {
        self.lines
    }

    /// `base` + `/` + `rel` (`rel` empty: the base itself).
    pub fn p(&self, rel: &str) -> String {
        if rel.is_empty() {
            self.base.clone()
        } else {
            format!("{}/{rel}", self.base)
        }
    }

    /// Opens a session named `name`.
    pub async fn open(&mut self, name: &'static str) -> Sess {
        self.open_with(name, None, false).await
    }

    /// Opens a session the script will expire.
    pub async fn open_expirable(&mut self, name: &'static str) -> Sess {
        self.open_with(name, None, true).await
    }

    /// Opens a session with digest credentials `user:password`.
    pub async fn open_digest(&mut self, name: &'static str, user: &str, password: &str) -> Sess {
        self.open_with(name, Some(AuthInfo::digest(user, password)), false)
            .await
    }

    async fn open_with(
        &mut self,
        name: &'static str,
        auth: Option<AuthInfo>,
        expirable: bool,
    ) -> Sess {
        let sess = self.backend.open(name, auth, expirable).await;
        self.owners.push((sess.zk.session_id(), name.to_owned()));
        sess
    }

    /// Runs `op` on `s` and records its result (an op that leaves a watch must use
    /// [`watch`](Self::watch)).
    pub async fn op(&mut self, s: &Sess, op: Op) -> Option<OpResult> {
        let line = format!("{}: {}", s.name, render::op(&op));
        let reply = s.zk.submit(op).await;
        let result = reply.map(|r| {
            assert!(r.watch.is_none(), "{line} left a watch");
            r.result
        });
        let shown = render::result(&result, &self.owners);
        self.lines.push(format!("{line} -> {shown}"));
        result.ok()
    }

    /// Runs the watched read or `addWatch` `op` on `s`, records its result and keeps its
    /// watch (if any) as `name`.
    pub async fn watch(&mut self, s: &Sess, name: &str, op: Op) -> Option<OpResult> {
        let line = format!("{}: {} as {name}", s.name, render::op(&op));
        let reply = s.zk.submit(op).await;
        let (result, watch) = match reply {
            Ok(r) => (Ok(r.result), r.watch),
            Err(e) => (Err(e), None),
        };
        let shown = render::result(&result, &self.owners);
        let left = if watch.is_some() { "" } else { " (no watch)" };
        self.lines.push(format!("{line} -> {shown}{left}"));
        match watch {
            Some(Watch::OneShot(f)) => {
                self.watches.insert(name.to_owned(), Held::OneShot(f));
            }
            Some(Watch::Persistent(s)) => {
                self.watches.insert(name.to_owned(), Held::Persistent(s));
            }
            None => {}
        }
        result.ok()
    }

    /// Waits (at most [`PATIENCE`]) for the next event of watch `name` and records it.
    pub async fn fired(&mut self, name: &str) {
        let line = match self.watches.get_mut(name) {
            None => "no such watch".to_owned(),
            Some(Held::Spent) => "already fired".to_owned(),
            Some(Held::OneShot(f)) => match tokio::time::timeout(PATIENCE, f).await {
                Ok(event) => {
                    self.watches.insert(name.to_owned(), Held::Spent);
                    render::event(&event)
                }
                Err(_) => "nothing".to_owned(),
            },
            Some(Held::Persistent(s)) => match tokio::time::timeout(PATIENCE, s.next()).await {
                Ok(Some(event)) => render::event(&event),
                Ok(None) => "ended".to_owned(),
                Err(_) => "nothing".to_owned(),
            },
        };
        self.lines.push(format!("watch {name}: {line}"));
    }

    /// Records whether watch `name` has an event ready, after a round trip on `s` (ZooKeeper
    /// delivers an event before the reply to any later request of the same session).
    pub async fn quiet(&mut self, s: &Sess, name: &str) {
        let _ =
            s.zk.submit(Op::Exists {
                path: "/".into(),
                watch: false,
            })
            .await;
        let line = match self.watches.get_mut(name) {
            None => "no such watch".to_owned(),
            Some(Held::Spent) => "spent".to_owned(),
            Some(Held::OneShot(f)) => match f.now_or_never() {
                Some(event) => {
                    self.watches.insert(name.to_owned(), Held::Spent);
                    format!("unexpected {}", render::event(&event))
                }
                None => "quiet".to_owned(),
            },
            Some(Held::Persistent(s)) => match s.next().now_or_never() {
                Some(Some(event)) => format!("unexpected {}", render::event(&event)),
                Some(None) => "ended".to_owned(),
                None => "quiet".to_owned(),
            },
        };
        self.lines.push(format!("watch {name}: {line}"));
    }

    /// Makes the ensemble expire `s` and waits for the transport's next session.
    pub async fn expire(&mut self, s: &Sess) {
        let old = s.zk.session_id();
        let ok = s.expire().await;
        let new = s.zk.session_id();
        self.owners.push((new, format!("{}#new", s.name)));
        self.lines.push(format!(
            "{}: expired={ok} new session={}",
            s.name,
            new != old && new != 0
        ));
    }

    /// Closes `s`.
    pub async fn close(&mut self, s: &Sess) {
        let r = s.zk.close().await;
        self.lines
            .push(format!("{}: close -> {}", s.name, r.is_ok()));
    }

    /// Waits (at most [`PATIENCE`]) until `path` is gone as `s` sees it; records whether it went.
    pub async fn await_gone(&mut self, s: &Sess, path: &str) {
        let look = || {
            s.zk.submit(Op::Exists {
                path: path.to_owned(),
                watch: false,
            })
        };
        let gone = async {
            loop {
                if let Ok(OpResult::Exists(None)) = look().await.map(|r| r.result) {
                    return;
                }
                tokio::time::sleep(REAP_INTERVAL / 3).await;
            }
        };
        let went = tokio::time::timeout(PATIENCE, gone).await.is_ok();
        self.lines.push(format!("{}: {path:?} gone={went}", s.name));
    }

    /// Lets a few reaper passes go by (to show that something is *not* reaped).
    pub async fn let_reaper_run(&mut self) {
        tokio::time::sleep(REAP_INTERVAL * 4).await;
    }

    // ---- op builders ----

    /// Create `path` with open ACL.
    pub fn create(path: &str, data: &[u8], mode: CreateMode) -> Op {
        Op::Create {
            path: path.to_owned(),
            data: data.to_vec(),
            acl: Acl::open(),
            mode,
        }
    }

    /// Runs a persistent create of `p(rel)` with `data`.
    pub async fn mk(&mut self, s: &Sess, rel: &str, data: &[u8]) -> Option<OpResult> {
        let path = self.p(rel);
        self.op(s, Ctx::create(&path, data, CreateMode::Persistent))
            .await
    }

    /// Creates `p(rel)` with `mode`.
    pub async fn mk_mode(&mut self, s: &Sess, rel: &str, mode: CreateMode) -> Option<OpResult> {
        let path = self.p(rel);
        self.op(s, Ctx::create(&path, b"", mode)).await
    }

    /// getData of `p(rel)`.
    pub async fn get(&mut self, s: &Sess, rel: &str) -> Option<OpResult> {
        let path = self.p(rel);
        self.op(s, Op::GetData { path, watch: false }).await
    }

    /// exists of `p(rel)`.
    pub async fn exists(&mut self, s: &Sess, rel: &str) -> Option<OpResult> {
        let path = self.p(rel);
        self.op(s, Op::Exists { path, watch: false }).await
    }

    /// getChildren of `p(rel)`.
    pub async fn children(&mut self, s: &Sess, rel: &str) -> Option<OpResult> {
        let path = self.p(rel);
        self.op(s, Op::GetChildren { path, watch: false }).await
    }

    /// setData of `p(rel)`.
    pub async fn set(
        &mut self,
        s: &Sess,
        rel: &str,
        data: &[u8],
        version: Option<i32>,
    ) -> Option<OpResult> {
        let path = self.p(rel);
        self.op(
            s,
            Op::SetData {
                path,
                data: data.to_vec(),
                version,
            },
        )
        .await
    }

    /// delete of `p(rel)`.
    pub async fn del(&mut self, s: &Sess, rel: &str, version: Option<i32>) -> Option<OpResult> {
        let path = self.p(rel);
        self.op(s, Op::Delete { path, version }).await
    }

    /// A multi of `ops`.
    pub async fn multi(&mut self, s: &Sess, ops: Vec<MultiOp>) -> Option<OpResult> {
        self.op(s, Op::Multi(ops)).await
    }
}
