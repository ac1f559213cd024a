//! One seed's run: a fresh runtime (madsim under `--cfg madsim`, paused tokio otherwise), the
//! body raced against its time limit, panics caught, and what the model recorded.

use std::fmt::Display;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{self, Either};

use super::report::Outcome;
use super::sim::{Setup, Sim};
use super::timeline::Timeline;
use crate::driver::Shared;
use crate::rt::Clock;

/// Runs `body` for one seed.
pub(crate) fn run_seed<F, Fut, E>(seed: u64, setup: Setup, limit: Duration, body: &F) -> Outcome
where
    F: Fn(Sim) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let slot: Arc<Mutex<Option<Arc<Shared>>>> = Arc::default();
    let seen = slot.clone();
    docent::coverage::start(); // this thread runs the whole seed
    let ran = catch_unwind(AssertUnwindSafe(|| {
        block_on(seed, move |clock| async move {
            let sim = Sim::start(setup, clock);
            *seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(sim.shared());
            let deadline = sim.healed_at() + limit;
            let run = Box::pin(body(sim.clone()));
            let result = match future::select(run, clock.sleep_until(deadline)).await {
                Either::Left((result, _)) => result.map_err(|e| e.to_string()),
                Either::Right(_) => Err(format!(
                    "time limit: still running at {:?}, {limit:?} after the faults healed \
                     (a liveness failure, or a body that never ends)",
                    deadline
                )),
            };
            let end = sim.now();
            sim.shared().lock().timeline.finish(end);
            // Every task ends here, while the runtime can still drop it.
            sim.shared().abort_all();
            yield_now().await;
            result
        })
    }));
    let coverage = docent::coverage::take();
    let result = ran.unwrap_or_else(|panic| Err(format!("panicked: {}", panic_message(&panic))));
    let shared = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
    match shared {
        Some(shared) => {
            let mut inner = shared.lock();
            let simulated = inner.sim.now().since_epoch();
            let timeline = std::mem::take(&mut inner.timeline);
            Outcome {
                result,
                simulated,
                hash: inner.sim.event_hash(),
                log: inner.sim.event_log().to_vec(),
                coverage,
                timeline,
            }
        }
        None => Outcome {
            result,
            simulated: Duration::ZERO,
            hash: 0,
            log: Vec::new(),
            coverage,
            timeline: Timeline::default(),
        },
    }
}

/// Lets every other ready task run once.
async fn yield_now() {
    let mut yielded = false;
    future::poll_fn(|cx| {
        if yielded {
            return std::task::Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
    .await
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".to_owned()
    }
}

/// Runs the future `make` builds on a fresh madsim runtime seeded with `seed`.
#[cfg(madsim)]
fn block_on<Fut: Future>(seed: u64, make: impl FnOnce(Clock) -> Fut) -> Fut::Output {
    let rt = madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
    rt.block_on(async move { make(Clock::madsim()).await })
}

/// Runs the future `make` builds on a fresh single-threaded tokio runtime with a paused clock.
#[cfg(not(madsim))]
fn block_on<Fut: Future>(_seed: u64, make: impl FnOnce(Clock) -> Fut) -> Fut::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a tokio runtime");
    rt.block_on(async move { make(Clock::tokio()).await })
}
