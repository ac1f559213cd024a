//! The worker: registers ephemerally, executes what is assigned to it, records each result
//! exactly once.

use std::collections::BTreeSet;
use std::time::Duration;

use docent::recipes::cache::{ChildData, ChildrenEvent, ChildrenOptions, PathChildrenCache};
use docent::{Client, ConnectionState, CreateMode, Error};
use futures::channel::oneshot;
use futures::future::{self, Either};
use futures::{FutureExt, StreamExt};

use super::events::{Event, Reporter};
use super::{child, ensure, name_of, ASSIGN, STATUS, WORKERS};

/// One worker process, on its own session.
#[derive(Debug)]
pub struct Worker {
    id: String,
    client: Client,
    stop: oneshot::Sender<()>,
}

impl Worker {
    /// Registers `id` under [`WORKERS`] and starts executing its assignments; each task takes
    /// `work` (on the client's clock).
    pub async fn start(
        client: &Client,
        id: &str,
        reporter: Reporter,
        work: Duration,
    ) -> Result<Worker, Error> {
        let dir = child(ASSIGN, id);
        ensure(client, &dir).await?;
        let assignments =
            PathChildrenCache::start(client, &dir, ChildrenOptions::default()).await?;
        register(client, id).await?;
        reporter.report(Event::WorkerUp { worker: id.into() });
        let (stop, stopped) = oneshot::channel();
        let run = Run {
            client: client.clone(),
            id: id.to_owned(),
            dir,
            reporter,
            work,
        };
        client
            .coordinator()
            .spawn(run.run(assignments, stopped).boxed());
        Ok(Worker {
            id: id.to_owned(),
            client: client.clone(),
            stop,
        })
    }

    /// Its id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Stops executing and unregisters (the session stays open).
    pub async fn close(self) -> Result<(), Error> {
        let _ = self.stop.send(());
        match self.client.delete().at(&child(WORKERS, &self.id)).await {
            Ok(()) | Err(Error::NoNode) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Crashes it: closes its session, so its registration vanishes at once.
    pub async fn kill(self) -> Result<(), Error> {
        let _ = self.stop.send(());
        self.client.close().await
    }
}

/// Creates the worker's ephemeral registration. One already there counts only if this session
/// owns it: after LOST the client abandons its session (as Curator does), and the old
/// session's registration lives on until the ensemble expires it, then vanishes. That one is
/// replaced (deleted at its version, created again).
async fn register(client: &Client, id: &str) -> Result<(), Error> {
    let path = child(WORKERS, id);
    loop {
        let created = client
            .create()
            .mode(CreateMode::Ephemeral)
            .data(id.as_bytes().to_vec())
            .at(&path)
            .await;
        match created {
            Ok(_) => return Ok(()),
            Err(Error::NodeExists) => {}
            Err(e) => return Err(e),
        }
        match client.exists().at(&path).await?.0 {
            Some(stat) if stat.ephemeral_owner == client.session_id() => return Ok(()),
            Some(stale) => match client.delete().version(stale.version).at(&path).await {
                Ok(()) | Err(Error::NoNode | Error::BadVersion) => {}
                Err(e) => return Err(e),
            },
            None => {}
        }
    }
}

/// How long a worker waits before recording a task again after a failure.
const RETRY: Duration = Duration::from_millis(100);

struct Run {
    client: Client,
    id: String,
    dir: String,
    reporter: Reporter,
    work: Duration,
}

impl Run {
    async fn run(self, assignments: PathChildrenCache, mut stopped: oneshot::Receiver<()>) {
        let mut events = assignments.events();
        let mut states = self.client.connection_states();
        // Assignments (path, czxid) already recorded, so a re-listing never runs one twice.
        let mut finished: BTreeSet<(String, i64)> = BTreeSet::new();
        // Tasks this worker completed: a task assigned to it again (its registration was
        // replaced meanwhile, so the master took the task back and gave it out again) is not
        // run again.
        let mut completed: BTreeSet<String> = BTreeSet::new();
        // Assignments made before the subscription are in the snapshot.
        let mut backlog: Vec<ChildData> = assignments.current_data_all();
        loop {
            while let Some(task) = backlog.first().cloned() {
                if (&mut stopped).now_or_never().is_some() || self.client.is_closed() {
                    return;
                }
                let key = (task.path.clone(), task.stat.czxid);
                let name = name_of(&task.path).to_owned();
                let settled = if finished.contains(&key) {
                    true
                } else if completed.contains(&name) {
                    // Done already: only the assignment is left to clear.
                    !matches!(
                        self.client.delete().at(&task.path).await,
                        Err(e) if e.is_retryable()
                    )
                } else {
                    match self.execute(&task).await {
                        Some(done) => {
                            if done {
                                completed.insert(name);
                            }
                            true
                        }
                        None => false,
                    }
                };
                if settled {
                    finished.insert(key);
                    backlog.remove(0);
                } else {
                    // Not recorded for want of a connection: try again shortly.
                    crate::sleep(&self.client, RETRY).await;
                }
            }
            let next = future::select(events.next(), states.next());
            let next = match future::select(next, &mut stopped).await {
                Either::Left((next, _)) => next,
                Either::Right(_) => return,
            };
            match next {
                Either::Left((Some(ChildrenEvent::ChildAdded(task)), _)) => backlog.push(task),
                Either::Left((Some(_), _)) => {}
                Either::Right((Some(ConnectionState::Reconnected), _)) => {
                    // After a LOST the registration died with the old session.
                    if register(&self.client, &self.id).await.is_ok() {
                        backlog = assignments.current_data_all();
                    }
                }
                Either::Right((Some(_), _)) => {}
                Either::Left((None, _)) | Either::Right((None, _)) => return,
            }
        }
    }

    /// Executes one task, then records it: create `/status/t` + delete our assignment.
    /// `Some(true)` when this worker completed it, `Some(false)` when someone else had or it
    /// was taken away, `None` when the outcome could not be settled (no connection): execute
    /// it again later.
    async fn execute(&self, task: &ChildData) -> Option<bool> {
        let name = name_of(&task.path).to_owned();
        crate::sleep(&self.client, self.work).await;
        let status = child(STATUS, &name);
        let result = self
            .client
            .transaction()
            .create(&status, self.id.as_bytes().to_vec(), CreateMode::Persistent)
            .delete(&child(&self.dir, &name), None)
            .commit()
            .await;
        let event = match result {
            Ok(_) => Event::Completed {
                task: name,
                worker: self.id.clone(),
            },
            Err(Error::MultiFailed { index: 0, error }) if *error == Error::NodeExists => {
                // Done before (or by our own retried commit): look whose it is.
                let mine = matches!(
                    self.client.get_data().at(&status).await,
                    Ok((data, _, _)) if data == self.id.as_bytes()
                );
                let _ = self.client.delete().at(&child(&self.dir, &name)).await;
                if mine {
                    Event::Completed {
                        task: name,
                        worker: self.id.clone(),
                    }
                } else {
                    Event::AlreadyDone {
                        task: name,
                        worker: self.id.clone(),
                    }
                }
            }
            Err(Error::MultiFailed { index: 1, error }) if *error == Error::NoNode => {
                Event::TakenAway {
                    task: name,
                    worker: self.id.clone(),
                }
            }
            Err(_) => return None,
        };
        let done = matches!(event, Event::Completed { .. });
        self.reporter.report(event);
        Some(done)
    }
}
