//! The reference figures every other is set beside: sequential round trips on one session
//! (the floor), and a batch of reads pipelined or sent as one multiRead.

use std::time::Instant;

use docent::{Coordinator, Op};
use docent_zk::{ZkCoordinator, ZkOptions};

use crate::support::{create_op, micros, pct};

pub struct Floor {
    /// Sequential `exists` RTT median, µs.
    pub read: f64,
    /// Sequential `setData` RTT median, µs.
    pub write: f64,
    /// … and its 99th percentile.
    pub write_p99: f64,
    /// 100 `getData` submitted at once, all replies, median µs.
    pub batch: f64,
    /// The same 100 reads in one multiRead, median µs.
    pub multi: f64,
}

/// Sequential `exists` and `setData` round trips, and a pipelined batch of reads: medians.
pub async fn measure(cs: &str, n: usize) -> Floor {
    let zk = ZkCoordinator::connect(ZkOptions::new(cs))
        .await
        .expect("connect");
    zk.submit(create_op("/floor")).await.expect("create /floor");
    let exists = || {
        zk.submit(Op::Exists {
            path: "/floor".into(),
            watch: false,
        })
    };
    for _ in 0..n / 2 {
        exists().await.expect("exists");
    }
    let mut reads = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        exists().await.expect("exists");
        reads.push(micros(t.elapsed()));
    }
    let mut writes = Vec::new();
    for _ in 0..n / 10 {
        let t = Instant::now();
        zk.submit(Op::SetData {
            path: "/floor".into(),
            data: vec![1],
            version: None,
        })
        .await
        .expect("setData");
        writes.push(micros(t.elapsed()));
    }
    let mut batches = Vec::new();
    for _ in 0..(n / 100).max(10) {
        let t = Instant::now();
        let reads: Vec<_> = (0..100)
            .map(|_| {
                zk.submit(Op::GetData {
                    path: "/floor".into(),
                    watch: false,
                })
            })
            .collect();
        for r in futures::future::join_all(reads).await {
            r.expect("getData");
        }
        batches.push(micros(t.elapsed()));
    }
    zk.close().await.expect("close");
    // The same 100 reads as one multiRead request (ZooKeeper 3.6+), straight on
    // zookeeper-client: what batching the reads into one packet would cost.
    let direct = zookeeper_client::Client::connect(cs)
        .await
        .expect("connect");
    let mut multi = Vec::new();
    for _ in 0..(n / 100).max(10) {
        let t = Instant::now();
        let mut reader = direct.new_multi_reader();
        for _ in 0..100 {
            reader.add_get_data("/floor").expect("add");
        }
        assert_eq!(reader.commit().await.expect("multiRead").len(), 100);
        multi.push(micros(t.elapsed()));
    }
    // Dropping the last handle sends closeSession: wait until the session is over.
    let mut state = direct.state_watcher();
    drop(direct);
    while !state.changed().await.is_terminated() {}
    Floor {
        read: pct(&reads, 0.5),
        write: pct(&writes, 0.5),
        write_p99: pct(&writes, 0.99),
        batch: pct(&batches, 0.5),
        multi: pct(&multi, 0.5),
    }
}
