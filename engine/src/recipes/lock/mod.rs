//! Curator's `InterProcessMutex`, fenced: a re-entrant distributed lock.
//!
//! Lock nodes are `<path>/_c_<uuid>-lock-<seq>` (protected, ephemeral-sequential), sorted the
//! way Curator sorts them, so docent and Java processes contend for the same lock. Each waiter
//! watches only its predecessor (a getData watch: no herd). Every grant carries a fencing
//! token — the lock node's creation zxid — and [`Mutex::guarded`] writes only while the lock
//! is still ours.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), docent::Error> {
//! let ensemble = docent_sim::EmbeddedEnsemble::start(1);
//! let client = docent::Client::builder(ensemble.connect()).build()?;
//! let lock = docent::recipes::lock::Mutex::new(&client, "/locks/orders")?;
//! let lease = lock.acquire().await?;
//! assert!(lease.token > 0);
//! lock.release().await?;
//! # Ok(())
//! # }
//! ```

pub mod machine;

use std::sync::Mutex as StdMutex;
use std::time::Duration;

use futures::StreamExt;

pub use machine::{Lease, LockCommand, LockEvent, LockMachine};

use crate::framework::driver::{spawn_machine, Driven, EventStream};
use crate::framework::Client;
use crate::op::{MultiOp, OpResult};
use crate::recipes::fencing;
use crate::recipes::wait::finish_closing;
use crate::{path, Error, MultiResult};

/// A distributed, re-entrant lock (Curator's `InterProcessMutex`).
///
/// Re-entrancy is per handle: a second `acquire` on a handle that holds the lock only counts
/// up, and the lock is released when `release` has been called as many times. One acquire at a
/// time per handle; share the lock between tasks with one handle per task.
#[derive(Debug)]
pub struct Mutex {
    client: Client,
    driven: Driven<LockMachine>,
    holds: StdMutex<u32>,
}

impl Mutex {
    /// A mutex on `path`; node data is empty.
    pub fn new(client: &Client, path: &str) -> Result<Mutex, Error> {
        Mutex::with_data(client, path, Vec::new())
    }

    /// A mutex on `path` whose lock nodes carry `data` (Curator writes the local IP address).
    pub fn with_data(client: &Client, path: &str, data: Vec<u8>) -> Result<Mutex, Error> {
        Ok(Mutex::over(
            client,
            LockMachine::new(
                checked(path)?,
                "lock-",
                1,
                data,
                client.error_policy(),
                client.next_rng(),
            ),
        ))
    }

    pub(crate) fn over(client: &Client, machine: LockMachine) -> Mutex {
        Mutex {
            client: client.clone(),
            driven: spawn_machine(client, machine),
            holds: StdMutex::new(0),
        }
    }

    /// Acquires the lock, waiting as long as it takes.
    pub async fn acquire(&self) -> Result<Lease, Error> {
        self.acquire_until(None).await?.ok_or(Error::Timeout)
    }

    /// Acquires the lock within `timeout`; `Ok(None)` when the time ran out (our node is
    /// deleted).
    pub async fn try_acquire(&self, timeout: Duration) -> Result<Option<Lease>, Error> {
        self.acquire_until(Some(self.client.now() + timeout)).await
    }

    async fn acquire_until(
        &self,
        deadline: Option<crate::Instant>,
    ) -> Result<Option<Lease>, Error> {
        if let Some(lease) = self.reenter() {
            return Ok(Some(lease));
        }
        let mut events = self.driven.subscribe();
        self.driven.command(LockCommand::Acquire { deadline })?;
        while let Some(event) = events.next().await {
            match event {
                LockEvent::Acquired(lease) => {
                    *self.holds.lock().expect("poisoned") = 1;
                    return Ok(Some(lease));
                }
                LockEvent::AcquireFailed(Error::Timeout) => return Ok(None),
                LockEvent::AcquireFailed(e) => return Err(e),
                _ => {}
            }
        }
        Err(Error::Closed)
    }

    fn reenter(&self) -> Option<Lease> {
        let mut holds = self.holds.lock().expect("poisoned");
        let lease = self.driven.inspect(|m| m.lease().cloned());
        if *holds > 0 && lease.is_some() {
            *holds += 1;
            return lease;
        }
        *holds = 0;
        None
    }

    /// Releases one hold; the lock node is deleted (guaranteed) with the last.
    pub async fn release(&self) -> Result<(), Error> {
        {
            let mut holds = self.holds.lock().expect("poisoned");
            if *holds > 1 {
                *holds -= 1;
                return Ok(());
            }
            if *holds == 0 && self.driven.inspect(|m| m.node().is_none()) {
                return Err(Error::InvalidArgument(
                    "release of a lock this handle does not hold".into(),
                ));
            }
            *holds = 0;
        }
        let mut events = self.driven.subscribe();
        self.driven.command(LockCommand::Release)?;
        while let Some(event) = events.next().await {
            if event == LockEvent::Released {
                return Ok(());
            }
        }
        Ok(())
    }

    /// The lease while we hold the lock and the connection is not suspended.
    pub fn lease(&self) -> Option<Lease> {
        self.driven.inspect(|m| m.lease().cloned())
    }

    /// True while we hold the lock and may act on it.
    pub fn is_held(&self) -> bool {
        self.lease().is_some()
    }

    /// Acquisitions, suspensions, losses and releases from now on.
    pub fn events(&self) -> EventStream<LockEvent> {
        self.driven.subscribe()
    }

    /// Applies `ops` atomically only if our lock node still exists: a holder that lost the
    /// lock (expired, or paused while another took over) is refused with an error for which
    /// [`fencing::is_fenced_out`] is true.
    pub async fn guarded(&self, ops: Vec<MultiOp>) -> Result<Vec<MultiResult>, Error> {
        let node = self
            .driven
            .inspect(|m| m.node().map(str::to_owned))
            .ok_or(Error::NotConnected)?;
        guarded_on(&self.client, &node, ops).await
    }

    /// Releases (if held) and stops the lock's machine.
    pub async fn close(self) -> Result<(), Error> {
        let _ = self.driven.command(LockCommand::Close);
        finish_closing(&self.client, self.driven).await;
        Ok(())
    }
}

/// Applies `ops` atomically only while the lease node `node` exists (the results leave out
/// the leading check). For a lease kept outside its handle, e.g. a node path written down by
/// a process that may since have lost it.
pub async fn guarded_on(
    client: &Client,
    node: &str,
    ops: Vec<MultiOp>,
) -> Result<Vec<MultiResult>, Error> {
    match client.submit(fencing::guarded(node, ops)).await?.result {
        OpResult::Multi(mut results) => {
            results.remove(0);
            Ok(results)
        }
        other => Err(Error::CorruptData {
            path: node.to_owned(),
            reason: format!("unexpected reply to a multi: {other:?}"),
        }),
    }
}

/// Validates a recipe's directory path.
pub(crate) fn checked(dir: &str) -> Result<String, Error> {
    path::validate(dir)?;
    if dir == "/" {
        return Err(Error::InvalidArgument(
            "a recipe needs its own directory, not the root".into(),
        ));
    }
    Ok(dir.to_owned())
}

#[cfg(test)]
mod tests;
