//! The election and lock recipes against a real ZooKeeper started by this test binary.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use docent::recipes::latch::{CloseMode, LatchEvent, LatchOptions, LeaderLatch, LeaderState};
use docent::recipes::lock::{Mutex, MutexOptions};
use docent::recipes::selector::LeaderSelector;
use docent::{Client, MultiOp};
use futures::StreamExt;

async fn client(connect_string: &str) -> Client {
    Client::builder(Arc::new(connect(connect_string).await))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_latch_participants_hand_over_in_order_with_rising_tokens() {
    let server = shared_server().await;
    let mut latches = Vec::new();
    for i in 0..3 {
        let c = client(&server.connect_string()).await;
        let options = LatchOptions::default()
            .id(format!("p{i}"))
            .close_mode(CloseMode::NotifyLeader);
        latches.push(
            LeaderLatch::start(&c, "/recipes/latch", options)
                .await
                .unwrap(),
        );
    }
    // Everyone has joined before we look.
    for _ in 0..200 {
        if latches[0].participants().await.unwrap().len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut last_token = 0;
    for _ in 0..3 {
        // Exactly one leads.
        let mut leader = None;
        for _ in 0..200 {
            let leading: Vec<usize> = (0..latches.len())
                .filter(|&i| latches[i].has_leadership())
                .collect();
            if leading.len() == 1 {
                leader = Some(leading[0]);
                break;
            }
            assert!(leading.len() <= 1, "two leaders: {leading:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let leader = leader.expect("a leader within 2 s");
        let LeaderState::Leader { token } = latches[leader].state() else {
            panic!("the leader left");
        };
        assert!(
            token > last_token,
            "tokens rise: {token} after {last_token}"
        );
        last_token = token;
        let participants = latches[leader].participants().await.unwrap();
        assert_eq!(participants.len(), latches.len());
        assert_eq!(participants[0].id, latches[leader].id());
        assert!(participants[0].is_leader);
        assert!(participants[1..].iter().all(|p| !p.is_leader));
        let latch = latches.remove(leader);
        let mut events = latch.events();
        // A late subscriber first gets the snapshot: we lead.
        assert_eq!(events.next().await, Some(LatchEvent::IsLeader { token }));
        latch.close().await.unwrap();
        assert_eq!(events.next().await, Some(LatchEvent::NotLeader));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutex_holders_never_overlap_and_guarded_writes_apply() {
    let server = shared_server().await;
    let inside = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let c = client(&server.connect_string()).await;
        let inside = inside.clone();
        tasks.push(tokio::spawn(async move {
            let lock = Mutex::start(&c, "/recipes/mutex", MutexOptions::default())
                .await
                .unwrap();
            let mut tokens = Vec::new();
            for _ in 0..5 {
                let lease = lock.acquire().await.unwrap();
                // Re-entrant on the same handle.
                let again = lock.acquire().await.unwrap();
                assert_eq!((again.token(), again.node()), (lease.token(), lease.node()));
                again.release().await.unwrap();
                assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "overlap");
                lease
                    .guarded(vec![MultiOp::Check {
                        path: "/recipes".into(),
                        version: None,
                    }])
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(2)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
                tokens.push(lease.token());
                lease.release().await.unwrap();
                assert!(!lock.is_held());
            }
            lock.close().await.unwrap();
            tokens
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        let tokens = t.await.unwrap();
        assert!(tokens.windows(2).all(|w| w[0] < w[1]));
        all.extend(tokens);
    }
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 15, "every grant has its own token");
}

static BROKEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selector_runs_the_leadership_function_once_at_a_time() {
    let server = shared_server().await;
    let running = Arc::new(AtomicUsize::new(0));
    let turns = Arc::new(AtomicUsize::new(0));
    let mut selectors = Vec::new();
    for i in 0..3 {
        let c = client(&server.connect_string()).await;
        let (running, turns) = (running.clone(), turns.clone());
        let selector = LeaderSelector::builder(&c, "/recipes/selector", move |_leadership| {
            let (running, turns) = (running.clone(), turns.clone());
            async move {
                // Cancellation drops this future: the guard still counts us out.
                struct Out(Arc<AtomicUsize>);
                impl Drop for Out {
                    fn drop(&mut self) {
                        self.0.fetch_sub(1, Ordering::SeqCst);
                    }
                }
                let previous = running.fetch_add(1, Ordering::SeqCst);
                let _out = Out(running.clone());
                if previous != 0 {
                    BROKEN.store(true, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                turns.fetch_add(1, Ordering::SeqCst);
            }
        })
        .id(format!("s{i}"))
        .auto_requeue(true)
        .start()
        .await
        .unwrap();
        selectors.push(selector);
    }
    for _ in 0..300 {
        if turns.load(Ordering::SeqCst) >= 9 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(turns.load(Ordering::SeqCst) >= 9, "leadership rotates");
    let ids: Vec<String> = selectors[0]
        .participants()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    // One of them may be between its release and its next node.
    assert!((2..=3).contains(&ids.len()), "{ids:?}");
    for s in selectors {
        s.close().await.unwrap();
    }
    assert!(
        !BROKEN.load(Ordering::SeqCst),
        "two leadership functions overlapped"
    );
}
