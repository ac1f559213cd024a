//! Revocation on the embedded ensemble: a revocable holder hears `__REVOKE__` written to its
//! node, lets go, and the one who asked takes the lock.

use futures::StreamExt;

use docent::recipes::lock::{LockEvent, Mutex, MutexOptions, Revoker};
use docent::Client;
use docent_sim::EmbeddedEnsemble;

fn client(ensemble: &EmbeddedEnsemble) -> Client {
    Client::builder(ensemble.connect()).build().expect("client")
}

#[tokio::test]
async fn a_revocable_holder_is_asked_and_lets_go() {
    let ensemble = EmbeddedEnsemble::start(1);
    let (a, b) = (client(&ensemble), client(&ensemble));
    let holder = Mutex::start(&a, "/revocable", MutexOptions::default())
        .await
        .unwrap();
    holder.make_revocable().unwrap();
    let guard = holder.acquire().await.unwrap();
    let mut events = holder.events();
    let waiter = Mutex::start(&b, "/revocable", MutexOptions::default())
        .await
        .unwrap();
    let waiting = tokio::spawn(async move {
        let guard = waiter.acquire().await.unwrap();
        guard.token()
    });
    Revoker::attempt_revoke(&b, guard.node()).await.unwrap();
    loop {
        match events.next().await.expect("events") {
            LockEvent::RevocationRequested => break,
            LockEvent::Acquired(_) => {}
            other => panic!("{other:?}"),
        }
    }
    let token = guard.token();
    guard.release().await.unwrap();
    assert!(waiting.await.unwrap() > token);
}

#[tokio::test]
async fn revoking_a_node_that_is_gone_is_not_an_error() {
    let ensemble = EmbeddedEnsemble::start(1);
    Revoker::attempt_revoke(&client(&ensemble), "/nobody/here")
        .await
        .unwrap();
}
