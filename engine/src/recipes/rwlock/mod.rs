//! Curator's `InterProcessReadWriteLock`, fenced: many readers or one writer.
//!
//! Both sides share one directory: readers create `<path>/_c_<uuid>-__READ__<seq>`, writers
//! `<path>/_c_<uuid>-__WRIT__<seq>` (protected, ephemeral-sequential), and both sort together
//! by the sequence after either marker, so docent and Java processes share the lock. A writer
//! waits for every node before it (it watches the one right before it); a reader waits only
//! for the last writer before it and watches that writer. Each side is a [`Mutex`] over the
//! lease queue with the read–write grant rule, so a grant is a [`LockGuard`] with its fencing
//! token, [`LockGuard::lost`] and [`LockGuard::guarded`].
//!
//! Re-entrancy is per side and per handle. A write holder may take the read lock (a
//! **downgrade**); its read node is then a plain ephemeral named `__READ__<the write node's
//! sequence>` (Curator 5.5, CURATOR-621), so that it sorts beside its write node and ahead of
//! every writer queued behind it. With Curator 5.4's naming (a new sequential read node) a
//! writer queued between the two would take the lock as soon as the write lock is released,
//! while the downgraded read is still held. The 5.5 name is safe against 5.4 writers too:
//! they strip both markers and sort by sequence, so the read node blocks them exactly like
//! the write node it shares a sequence with. A read holder asking for the write lock gets
//! [`Error::InvalidArgument`] at once: in Curator it would wait for itself forever.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), docent::Error> {
//! use docent::recipes::lock::LockState;
//! use docent::recipes::rwlock::{ReadWriteLock, ReadWriteLockOptions};
//! let ensemble = docent_sim::EmbeddedEnsemble::start(1);
//! let client = docent::Client::builder(ensemble.connect()).build()?;
//! let lock = ReadWriteLock::start(&client, "/locks/table", ReadWriteLockOptions::default()).await?;
//! let write = lock.write().acquire().await?;
//! let read = lock.read().acquire().await?; // a downgrade: the write holder may read
//! write.release().await?;
//! assert_eq!(lock.read().state(), LockState::Held { token: read.token() });
//! assert!(lock.write().acquire().await.is_err()); // no upgrade: it would deadlock
//! read.release().await?;
//! lock.close().await?;
//! # Ok(())
//! # }
//! ```
//!
//! ```text
//!  read side (per handle)                      write side (per handle)
//!          acquire: no writer before us ──► Held      acquire: first ──► Held
//!   Idle ──► Acquiring ─┤                            Idle ──► Acquiring ─┤
//!                       └ watch the last writer        ▲  (read held:    └ watch the node
//!                         before us; list again        │   InvalidArgument) right before us
//!   write held ──acquire──► Held at once, node         └── release, LOST, close
//!   `__READ__<write seq>` (ephemeral, sorts ahead of queued writers)
//! ```

use std::sync::{Arc, Weak};

use crate::framework::Client;
use crate::recipes::lock::machine::{LockCommand, LockMachine};
use crate::recipes::lock::{checked, Inner, Mutex};
use crate::recipes::order::{ReadWrite, READ_MARKER, WRITE_MARKER};
use crate::time::Instant;
use crate::Error;

#[cfg(doc)]
use crate::recipes::lock::LockGuard;

/// Options of a [`ReadWriteLock`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ReadWriteLockOptions {
    data: Vec<u8>,
}

impl ReadWriteLockOptions {
    /// The data of our lock nodes (default: empty; Curator writes the local IP address).
    pub fn data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }
}

/// A distributed read–write lock (Curator's `InterProcessReadWriteLock`): [`read`] and
/// [`write`] are its two sides, each a re-entrant [`Mutex`] handing out guards.
///
/// [`read`]: ReadWriteLock::read
/// [`write`]: ReadWriteLock::write
#[derive(Debug)]
pub struct ReadWriteLock {
    read: Mutex,
    write: Mutex,
}

/// What a side of a read–write lock asks of the other before it acquires.
#[derive(Debug)]
pub(in crate::recipes) enum Side {
    /// The read side; a write held by the same handle makes its acquire a downgrade.
    Read { write: Weak<Inner> },
    /// The write side; a read held by the same handle refuses its acquire.
    Write { read: Arc<Inner> },
}

impl Side {
    /// The command that starts an acquire on this side, or why it must not start.
    pub(in crate::recipes) fn command(
        &self,
        deadline: Option<Instant>,
    ) -> Result<LockCommand, Error> {
        match self {
            // A node while not acquiring: the read lease is held (or suspended).
            Side::Write { read }
                if read
                    .driven
                    .inspect(|m| m.node().is_some() && !m.is_acquiring()) =>
            {
                Err(Error::InvalidArgument(
                    "this handle holds the read lock: it cannot take the write lock \
                     (no upgrade; it would wait for itself)"
                        .into(),
                ))
            }
            Side::Write { .. } => Ok(LockCommand::Acquire { deadline }),
            Side::Read { write } => {
                // Only a write lease held and usable (not suspended) makes a downgrade: a
                // read node named after a write node that may be gone would jump the queue.
                let write = write.upgrade();
                let write = write.and_then(|w| w.driven.inspect(|m| Some(m.lease()?.node.clone())));
                Ok(match write {
                    Some(node) => LockCommand::AcquireNamed {
                        name: downgrade_name(&node),
                        deadline,
                    },
                    None => LockCommand::Acquire { deadline },
                })
            }
        }
    }
}

/// The name of a downgrade's read node: `__READ__` and the write node's sequence.
fn downgrade_name(write_node: &str) -> String {
    let sequence = &write_node[write_node.len().saturating_sub(10)..];
    format!("{READ_MARKER}{sequence}")
}

impl ReadWriteLock {
    /// Starts a read–write lock on `path`; it runs (and acquires nothing) when this returns.
    pub async fn start(
        client: &Client,
        path: &str,
        options: ReadWriteLockOptions,
    ) -> Result<ReadWriteLock, Error> {
        let dir = checked(path)?;
        let machine = |marker: &str, writer: bool| {
            let rule = Box::new(ReadWrite { writer });
            let (data, policy) = (options.data.clone(), client.error_policy());
            LockMachine::with_rule(dir.clone(), marker, rule, data, policy, client.next_rng())
        };
        let mut read = None;
        let write = Arc::new_cyclic(|write| {
            let side = Side::Read {
                write: write.clone(),
            };
            let reader = machine(READ_MARKER, false);
            let inner = Arc::new(Inner::new(
                client,
                "read lock",
                dir.clone(),
                reader,
                Some(side),
            ));
            read = Some(inner.clone());
            let side = Side::Write { read: inner };
            let writer = machine(WRITE_MARKER, true);
            Inner::new(client, "write lock", dir.clone(), writer, Some(side))
        });
        let read = read.expect("the read side is made with the write side");
        Ok(ReadWriteLock {
            read: Mutex::from_inner(read),
            write: Mutex::from_inner(write),
        })
    }

    /// The read lock: held by any number of readers while no writer holds or waits ahead.
    pub fn read(&self) -> &Mutex {
        &self.read
    }

    /// The write lock: exclusive of every reader and writer.
    pub fn write(&self) -> &Mutex {
        &self.write
    }

    /// Releases every hold of both sides and stops them; `Ok` once both sides' nodes are
    /// deleted (see [`Mutex::close`]).
    pub async fn close(self) -> Result<(), Error> {
        let write = self.write.close().await;
        let read = self.read.close().await;
        write.and(read)
    }
}

#[cfg(test)]
mod tests;
