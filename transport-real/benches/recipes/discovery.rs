//! Discovery: uncached `query_for_instances` over 100 instances, and provider picks from the
//! cache (Curator's figures are taken by its `extras` command).

use std::time::Instant;

use docent::discovery::{ServiceDiscovery, ServiceInstance, ServiceProvider};

use crate::support::{client, micros, pct, scaled, traced, Timeline};
use crate::table::Table;
use crate::trace::Trace;

/// docent's discovery rows into `table`; the trace of one query.
pub async fn rows(cs: &str, scale: f64, table: &mut Table) -> Timeline {
    let (queries, picks, trace) = discovery(cs, scaled(300, scale), scaled(2_000_000, scale)).await;
    table.latency(
        "discovery query, 100 instances p50",
        "discovery_query_p50_us",
        pct(&queries, 0.50),
    );
    table.latency(
        "discovery query, 100 instances p99",
        "discovery_query_p99_us",
        pct(&queries, 0.99),
    );
    table.rate(
        "provider get_instance (picks/s)",
        "provider_picks_per_s",
        picks,
    );
    trace
}

/// Uncached queries of a 100-instance service, then provider picks from its cache.
async fn discovery(cs: &str, queries: usize, picks: usize) -> (Vec<f64>, f64, Timeline) {
    let trace = Trace::default();
    let registrar = client(cs).await;
    let querier = traced(cs, &trace, "querier").await;
    let base = "/docent-bench/discovery";
    let registry = ServiceDiscovery::start(&registrar, base).await.unwrap();
    for i in 0..100 {
        let instance = ServiceInstance::builder("svc")
            .id(format!("instance-{i:03}"))
            .address("10.0.0.1")
            .port(8000 + i)
            .uri_spec("{scheme}://{address}:{port}".parse().unwrap())
            .payload_string("some payload")
            .build(&registrar)
            .unwrap();
        registry.register(&instance).await.unwrap();
    }
    let discovery = ServiceDiscovery::start(&querier, base).await.unwrap();
    for _ in 0..queries / 5 {
        discovery.query_for_instances("svc").await.unwrap();
    }
    let mut times = Vec::with_capacity(queries);
    for _ in 0..queries {
        let t = Instant::now();
        let found = discovery.query_for_instances("svc").await.unwrap();
        times.push(micros(t.elapsed()));
        assert_eq!(found.instances.len(), 100);
    }
    let origin = trace.start();
    discovery.query_for_instances("svc").await.unwrap();
    let one = (origin, trace.stop());
    let provider = ServiceProvider::builder(&discovery, "svc")
        .build()
        .await
        .unwrap();
    let mut ports = 0u64;
    let t = Instant::now();
    for _ in 0..picks {
        ports += u64::from(
            provider
                .get_instance()
                .expect("an instance")
                .port
                .unwrap_or(0),
        );
    }
    let rate = picks as f64 / t.elapsed().as_secs_f64();
    assert!(ports > 0);
    provider.close().await.unwrap();
    discovery.close().await.unwrap();
    registry.close().await.unwrap();
    querier.close().await.unwrap();
    registrar.close().await.unwrap();
    (times, rate, one)
}
