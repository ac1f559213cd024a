//! The `locks` example: processes taking a lock in turn, and a walk-through of the locks.
//!
//! Each process loops: acquire (nothing printed before the attempt), print
//! `acquired ID token=T`, hold `--hold` ms, print `releasing ID`, release; `--count` grants or
//! `--for` seconds, whichever ends first. Every lock kind is taken through the multi-lock's
//! [`Lockable`] trait, so one loop serves them all.

use std::io::Write;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};

use docent::recipes::lock::{LockEvent, Mutex, MutexOptions, Revoker};
use docent::recipes::multi::{Hold, Lockable};
use docent::recipes::rwlock::{ReadWriteLock, ReadWriteLockOptions};
use docent::recipes::semaphore::{
    Semaphore, SemaphoreMutex, SemaphoreMutexOptions, SemaphoreOptions,
};
use docent::{Client, Error};

use crate::leader::Out;
use crate::{sleep, Backend};

/// What kind of lock the processes take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Curator's `InterProcessMutex`.
    Mutex,
    /// The read side of `InterProcessReadWriteLock`.
    Read,
    /// The write side of `InterProcessReadWriteLock`.
    Write,
    /// `InterProcessSemaphoreV2`, `--leases` holders at once.
    Semaphore,
    /// `InterProcessSemaphoreMutex`.
    SemaphoreMutex,
}

/// How the processes run.
#[derive(Debug, Clone)]
pub struct LocksConfig {
    /// The lock's path.
    pub path: String,
    /// The kind of lock.
    pub kind: Kind,
    /// The semaphore's maximum number of leases.
    pub leases: usize,
    /// One process per id, each on its own session.
    pub ids: Vec<String>,
    /// How long each grant is held.
    pub hold: Duration,
    /// Grants per process before it stops (`None`: until `run_for` ends).
    pub count: Option<u32>,
    /// How long the processes run at most.
    pub run_for: Duration,
}

/// Prints `line` on stdout at once (one line, flushed).
pub fn print_line(line: String) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// The lock of `kind` at `path` on `client`, as a [`Lockable`]; a kind this build lacks is
/// an [`Error::InvalidArgument`] naming it.
pub async fn lockable(
    client: &Client,
    kind: Kind,
    path: &str,
    leases: usize,
    id: &str,
) -> Result<Box<dyn Lockable>, Error> {
    match kind {
        Kind::Mutex => {
            let options = MutexOptions::default().data(id);
            Ok(Box::new(Mutex::start(client, path, options).await?))
        }
        Kind::Semaphore => {
            let options = SemaphoreOptions::max_leases(leases).data(id);
            Ok(Box::new(Semaphore::start(client, path, options).await?))
        }
        Kind::SemaphoreMutex => {
            let options = SemaphoreMutexOptions::default().data(id);
            Ok(Box::new(
                SemaphoreMutex::start(client, path, options).await?,
            ))
        }
        Kind::Read | Kind::Write => {
            let options = ReadWriteLockOptions::default().data(id);
            let lock = ReadWriteLock::start(client, path, options).await?;
            let write = kind == Kind::Write;
            Ok(Box::new(Side { lock, write }))
        }
    }
}

/// One side of a read–write lock that owns the lock, so that closing the side closes it.
#[derive(Debug)]
struct Side {
    lock: ReadWriteLock,
    write: bool,
}

impl Side {
    fn mutex(&self) -> &Mutex {
        if self.write {
            self.lock.write()
        } else {
            self.lock.read()
        }
    }
}

impl Lockable for Side {
    fn path(&self) -> &str {
        self.mutex().path()
    }

    fn acquire(&self) -> BoxFuture<'_, Result<Box<dyn Hold>, Error>> {
        Lockable::acquire(self.mutex())
    }

    fn try_acquire(
        &self,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Option<Box<dyn Hold>>, Error>> {
        Lockable::try_acquire(self.mutex(), timeout)
    }

    fn held(&self) -> Option<i64> {
        Lockable::held(self.mutex())
    }

    fn close<'a>(self: Box<Self>) -> BoxFuture<'a, Result<(), Error>>
    where
        Self: 'a,
    {
        self.lock.close().boxed()
    }
}

/// Runs one process per id until each has `count` grants or `run_for` has passed.
pub async fn run(backend: &Backend, config: &LocksConfig, out: Out) -> Result<(), Error> {
    let mut processes = Vec::new();
    for id in &config.ids {
        let client = backend.client().await?;
        let lock = lockable(&client, config.kind, &config.path, config.leases, id).await?;
        let (config, out, id) = (config.clone(), out.clone(), id.clone());
        processes.push(tokio::spawn(async move {
            let result = take_in_turn(&client, lock.as_ref(), &config, &id, &out).await;
            let closed = lock.close().await;
            result.and(closed).and(client.close().await)
        }));
    }
    for process in processes {
        process
            .await
            .map_err(|e| Error::InvalidArgument(e.to_string()))??;
    }
    Ok(())
}

/// One process's loop (see the module docs).
async fn take_in_turn(
    client: &Client,
    lock: &dyn Lockable,
    config: &LocksConfig,
    id: &str,
    out: &Out,
) -> Result<(), Error> {
    let deadline = client.now() + config.run_for;
    let mut granted = 0;
    while config.count.is_none_or(|k| granted < k) {
        let left = deadline.saturating_since(client.now());
        let Some(hold) = lock.try_acquire(left).await? else {
            break;
        };
        out(format!("acquired {id} token={}", hold.token()));
        granted += 1;
        sleep(client, config.hold).await;
        out(format!("releasing {id}"));
        hold.release().await?;
    }
    Ok(())
}

/// The walk-through on the embedded ensemble: a shared semaphore, a read–write lock, and a
/// revocation.
pub async fn walkthrough(backend: &Backend, path: &str, out: Out) -> Result<(), Error> {
    out("-- three processes share a 2-lease semaphore".into());
    let shared = LocksConfig {
        path: format!("{path}/semaphore"),
        kind: Kind::Semaphore,
        leases: 2,
        ids: (1..=3).map(|i| format!("s-{i}")).collect(),
        hold: Duration::from_millis(300),
        count: Some(1),
        run_for: Duration::from_secs(30),
    };
    run(backend, &shared, out.clone()).await?;
    out("-- two readers and a writer on one read-write lock: the writer never holds beside a reader".into());
    let readers = LocksConfig {
        path: format!("{path}/rw"),
        kind: Kind::Read,
        ids: vec!["r-1".into(), "r-2".into()],
        ..shared.clone()
    };
    let writer = LocksConfig {
        kind: Kind::Write,
        ids: vec!["w-1".into()],
        ..readers.clone()
    };
    let (read, write) = futures::join!(
        run(backend, &readers, out.clone()),
        run(backend, &writer, out.clone())
    );
    read.and(write)?;
    revocation(backend, &format!("{path}/revocable"), &out).await
}

/// `holder` takes a revocable mutex; `asker` asks it to let go, and takes it once it has.
async fn revocation(backend: &Backend, path: &str, out: &Out) -> Result<(), Error> {
    out("-- revocation: asker asks holder to let go of a revocable mutex".into());
    let (a, b) = (backend.client().await?, backend.client().await?);
    let holder = Mutex::start(&a, path, MutexOptions::default().data("holder")).await?;
    holder.make_revocable()?;
    let guard = holder.acquire().await?;
    out(format!("acquired holder token={}", guard.token()));
    let mut events = holder.events();
    let asker = Mutex::start(&b, path, MutexOptions::default().data("asker")).await?;
    let waiting = tokio::spawn(async move {
        let taken = asker.acquire().await;
        (asker, taken)
    });
    out("revoke asker -> holder".into());
    Revoker::attempt_revoke(&b, guard.node()).await?;
    while let Some(event) = events.next().await {
        if event == LockEvent::RevocationRequested {
            out("revocation-requested holder".into());
            break;
        }
    }
    out("releasing holder".into());
    guard.release().await?;
    let (asker, taken) = waiting
        .await
        .map_err(|e| Error::InvalidArgument(e.to_string()))?;
    let taken = taken?;
    out(format!("acquired asker token={}", taken.token()));
    out("releasing asker".into());
    taken.release().await?;
    holder.close().await?;
    asker.close().await?;
    a.close().await?;
    b.close().await
}
