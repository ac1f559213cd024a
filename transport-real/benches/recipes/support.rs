//! What every row of the recipes bench uses: clients, threads that stand for processes, the
//! measuring window of contended rows, and percentiles.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use docent::{Acl, Client, CreateMode, Op};
use docent_zk::{ZkCoordinator, ZkOptions};

use crate::trace::{self, Trace};

/// One round's figures of one side, by CuratorBench's keys.
pub type Figures = BTreeMap<String, f64>;

/// A traced stretch of time: its origin and what happened.
pub type Timeline = (Instant, Vec<trace::Entry>);

/// A row both sides measure: its name, CuratorBench's key, and whether it is a rate (else a
/// latency in µs).
pub type Row = (&'static str, &'static str, bool);

pub fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// `n` scaled by RECIPES_SCALE, at least 10.
pub fn scaled(n: usize, scale: f64) -> usize {
    ((n as f64 * scale) as usize).max(10)
}

/// How long a contended row measures (after its warm-up): 4 s at scale 1, at least 1 s.
pub fn measure(scale: f64) -> Duration {
    Duration::from_secs_f64(4.0 * scale.max(0.25))
}

pub fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The `p` quantile of `values`; NaN when there are none (a row that measured nothing, on a
/// machine too loaded to finish one cycle in its window, shows NaN rather than stopping the
/// bench).
pub fn pct(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
}

pub async fn connect(options: ZkOptions) -> Client {
    let zk = ZkCoordinator::connect(options).await.expect("connect");
    Client::builder(Arc::new(zk)).build().expect("client")
}

pub async fn client(cs: &str) -> Client {
    connect(ZkOptions::new(cs)).await
}

/// A client whose ops are recorded into `trace` (when it is on) under `name`.
pub async fn traced(cs: &str, trace: &Trace, name: &'static str) -> Client {
    let zk = ZkCoordinator::connect(ZkOptions::new(cs))
        .await
        .expect("connect");
    let traced = trace::Traced {
        inner: Arc::new(zk),
        trace: trace.clone(),
        client: name,
    };
    Client::builder(Arc::new(traced)).build().expect("client")
}

/// Runs `f` on a thread and current-thread runtime of its own, as another process would
/// (Curator's clients have their own threads too).
pub fn on_thread<F, Fut>(f: F) -> std::thread::JoinHandle<Fut::Output>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future,
    Fut::Output: Send + 'static,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(f())
    })
}

/// The window of a contended row: two seconds of warm-up, then the measured stretch.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub warm_end: Instant,
    pub end: Instant,
}

/// The start of a contended row: its window begins once every contender is connected and
/// ready (as Curator's side starts its threads once its clients are connected), the same
/// window for all of them.
pub struct Start {
    ready: tokio::sync::Barrier,
    window: OnceLock<Window>,
    measure: Duration,
}

impl Start {
    /// For `contenders` threads and the caller, who waits with them.
    pub fn new(contenders: usize, measure: Duration) -> Arc<Start> {
        Arc::new(Start {
            ready: tokio::sync::Barrier::new(contenders + 1),
            window: OnceLock::new(),
            measure,
        })
    }

    /// Waits until every contender and the caller are ready; the window, from then.
    pub async fn window(&self) -> Window {
        self.ready.wait().await;
        *self.window.get_or_init(|| {
            let warm_end = Instant::now() + Duration::from_secs(2);
            Window {
                warm_end,
                end: warm_end + self.measure,
            }
        })
    }
}

impl Window {
    /// Traces `span` in the middle of the measured stretch, then waits until the window ends.
    pub async fn trace_middle(self, trace: &Trace, span: Duration) -> Timeline {
        tokio::time::sleep_until((self.warm_end + (self.end - self.warm_end) / 2).into()).await;
        let origin = trace.start();
        tokio::time::sleep(span).await;
        let timeline = (origin, trace.stop());
        tokio::time::sleep_until(self.end.into()).await;
        timeline
    }

    /// Cycles `acquire`, then `release` of what it granted, until the window ends: the
    /// acquire waits of the cycles begun after the warm-up, µs.
    pub async fn cycles<G, A, R, E, F>(
        self,
        mut acquire: impl FnMut() -> A,
        mut release: impl FnMut(G) -> R,
    ) -> Vec<f64>
    where
        A: Future<Output = Result<G, E>>,
        R: Future<Output = Result<(), F>>,
        E: std::fmt::Debug,
        F: std::fmt::Debug,
    {
        let mut waits = Vec::new();
        loop {
            let a = Instant::now();
            if a >= self.end {
                return waits;
            }
            let held = acquire().await.expect("acquire");
            let b = Instant::now();
            release(held).await.expect("release");
            if a >= self.warm_end {
                waits.push(micros(b - a));
            }
        }
    }
}

/// One round of docent's side of the rows both sides measure: where it runs, and what it
/// gathers.
pub struct Round<'a> {
    pub cs: &'a str,
    /// The round's own base path.
    pub base: String,
    pub scale: f64,
    pub figures: Figures,
    pub traces: Vec<(&'static str, Timeline)>,
}

impl Round<'_> {
    pub fn put(&mut self, key: &str, value: f64) {
        self.figures.insert(key.to_owned(), value);
    }

    pub fn trace(&mut self, title: &'static str, timeline: Timeline) {
        self.traces.push((title, timeline));
    }
}

/// The threads' results, once each has ended.
pub fn join_all<T>(threads: Vec<std::thread::JoinHandle<T>>) -> Vec<T> {
    threads
        .into_iter()
        .map(|t| t.join().expect("a bench thread"))
        .collect()
}

pub fn create_op(path: &str) -> Op {
    Op::Create {
        path: path.into(),
        data: b"some child data".to_vec(),
        acl: Acl::open(),
        mode: CreateMode::Persistent,
    }
}
