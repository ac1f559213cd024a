//! A [`Coordinator`] that records every op's submission and reply, and every one-shot watch's
//! firing, while tracing is on: the round-trip structure of one recipe step, for the report.

use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use docent::{Coordinator, Error, Instant as DocentInstant, Op, Reply, SessionState, Watch};
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::FutureExt;

/// One traced happening: who, what, when it started and ended (relative to `Trace::start`).
#[derive(Debug, Clone)]
pub struct Entry {
    pub client: &'static str,
    pub what: String,
    pub sent: Instant,
    pub done: Instant,
}

/// Shared by the traced coordinators of one measurement.
#[derive(Debug, Clone, Default)]
pub struct Trace(Arc<StdMutex<Option<Vec<Entry>>>>);

impl Trace {
    pub fn start(&self) -> Instant {
        *self.0.lock().unwrap() = Some(Vec::new());
        Instant::now()
    }

    pub fn stop(&self) -> Vec<Entry> {
        let mut entries = self.0.lock().unwrap().take().unwrap_or_default();
        entries.sort_by_key(|e| e.sent);
        entries
    }

    fn record(&self, entry: Entry) {
        if let Some(log) = self.0.lock().unwrap().as_mut() {
            log.push(entry);
        }
    }

    fn on(&self) -> bool {
        self.0.lock().unwrap().is_some()
    }

    /// Prints `entries` as a timeline from `origin` (long ones shortened, unless
    /// `RECIPES_TRACE_ALL` is set).
    pub fn print(title: &str, origin: Instant, entries: &[Entry]) {
        println!("\n{title}");
        let us = |t: Instant| t.saturating_duration_since(origin).as_secs_f64() * 1e6;
        let all = std::env::var_os("RECIPES_TRACE_ALL").is_some();
        let skip = if entries.len() > 40 && !all {
            5..entries.len() - 3
        } else {
            0..0
        };
        for (i, e) in entries.iter().enumerate() {
            if skip.contains(&i) {
                if i == skip.start {
                    println!("  … {} more like these …", skip.len());
                }
                continue;
            }
            println!(
                "  {:<8} {:>8.0} → {:>8.0} µs ({:>6.0})  {}",
                e.client,
                us(e.sent),
                us(e.done),
                (e.done - e.sent).as_secs_f64() * 1e6,
                e.what
            );
        }
    }
}

/// `inner`, traced into `trace` under the name `client`.
pub struct Traced {
    pub inner: Arc<dyn Coordinator>,
    pub trace: Trace,
    pub client: &'static str,
}

fn label(op: &Op) -> String {
    match op {
        Op::Create { path, mode, .. } => format!("create {mode:?} {path}"),
        Op::Delete { path, .. } => format!("delete {path}"),
        Op::SetData { path, .. } => format!("setData {path}"),
        Op::GetData { path, watch } => format!("getData{} {path}", w(*watch)),
        Op::GetChildren { path, watch } => format!("getChildren{} {path}", w(*watch)),
        Op::Exists { path, watch } => format!("exists{} {path}", w(*watch)),
        Op::Multi(ops) => format!("multi ({} ops)", ops.len()),
        other => {
            let text = format!("{other:?}");
            text.chars().take(60).collect()
        }
    }
}

fn w(watch: bool) -> &'static str {
    if watch {
        "+watch"
    } else {
        ""
    }
}

impl Coordinator for Traced {
    fn submit(&self, op: Op) -> BoxFuture<'static, Result<Reply, Error>> {
        if !self.trace.on() {
            return self.inner.submit(op);
        }
        let what = label(&op);
        let sent = Instant::now();
        let reply = self.inner.submit(op);
        let (trace, client) = (self.trace.clone(), self.client);
        async move {
            let mut reply = reply.await;
            let done = Instant::now();
            let ok = match &reply {
                Ok(_) => String::new(),
                Err(e) => format!(" → {e}"),
            };
            trace.record(Entry {
                client,
                what: format!("{what}{ok}"),
                sent,
                done,
            });
            if let Ok(r) = &mut reply {
                let watch = r.watch.take();
                if let Some(Watch::OneShot(fired)) = watch {
                    let what = format!("  watch of «{what}» fired");
                    r.watch = Some(Watch::OneShot(
                        async move {
                            let event = fired.await;
                            trace.record(Entry {
                                client,
                                what: format!("{what}: {:?}", event.kind),
                                sent: done,
                                done: Instant::now(),
                            });
                            event
                        }
                        .boxed(),
                    ));
                } else {
                    r.watch = watch;
                }
            }
            reply
        }
        .boxed()
    }

    fn session_states(&self) -> BoxStream<'static, SessionState> {
        self.inner.session_states()
    }

    fn session_id(&self) -> i64 {
        self.inner.session_id()
    }

    fn session_timeout(&self) -> Duration {
        self.inner.session_timeout()
    }

    fn now(&self) -> DocentInstant {
        self.inner.now()
    }

    fn sleep_until(&self, deadline: DocentInstant) -> BoxFuture<'static, ()> {
        self.inner.sleep_until(deadline)
    }

    fn unix_millis(&self) -> i64 {
        self.inner.unix_millis()
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) {
        self.inner.spawn(task)
    }

    fn seed(&self) -> u64 {
        self.inner.seed()
    }

    fn close(&self) -> BoxFuture<'static, Result<(), Error>> {
        self.inner.close()
    }

    fn abandon_session(&self) {
        self.inner.abandon_session()
    }
}
