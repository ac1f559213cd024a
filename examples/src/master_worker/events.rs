//! What the master–worker system reports as it runs.

use std::fmt;
use std::sync::Arc;

use futures::channel::mpsc;

/// One thing that happened; `Display` gives the demo's output line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A master became the active master.
    Elected {
        /// The master.
        master: String,
        /// Its fencing token.
        token: i64,
    },
    /// The new master looked at the existing assignments before assigning anything.
    Recovered {
        /// The master.
        master: String,
        /// Assignments kept (their worker is alive).
        kept: usize,
        /// Assignments of workers that are gone, sent back to `/tasks`.
        returned: usize,
    },
    /// A master stopped being the active master.
    Deposed {
        /// The master.
        master: String,
        /// Why.
        reason: String,
    },
    /// A worker registered.
    WorkerUp {
        /// The worker.
        worker: String,
    },
    /// The active master saw a worker go.
    WorkerGone {
        /// The worker.
        worker: String,
    },
    /// A task was assigned to a worker.
    Assigned {
        /// The task.
        task: String,
        /// The worker.
        worker: String,
    },
    /// A task waits because no worker is registered.
    Held {
        /// The task.
        task: String,
    },
    /// A task of a worker that is gone went back to `/tasks`.
    Reassigned {
        /// The task.
        task: String,
        /// The worker it was taken from.
        from: String,
    },
    /// A worker completed a task and recorded it.
    Completed {
        /// The task.
        task: String,
        /// The worker.
        worker: String,
    },
    /// A worker finished a task that was already recorded as done (nothing recorded again).
    AlreadyDone {
        /// The task.
        task: String,
        /// The worker.
        worker: String,
    },
    /// A worker finished a task that had been taken away from it (nothing recorded).
    TakenAway {
        /// The task.
        task: String,
        /// The worker.
        worker: String,
    },
    /// A guarded write of a master that no longer leads was rejected.
    FencedOut {
        /// The master.
        master: String,
        /// The task it tried to move.
        task: String,
    },
    /// The demo killed a process (closed its session).
    Killed {
        /// `master` or `worker`.
        role: &'static str,
        /// Its id.
        id: String,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Elected { master, token } => write!(f, "elected {master} token={token}"),
            Event::Recovered {
                master,
                kept,
                returned,
            } => write!(
                f,
                "recovered {master} assignments kept={kept} returned={returned}"
            ),
            Event::Deposed { master, reason } => write!(f, "deposed {master} ({reason})"),
            Event::WorkerUp { worker } => write!(f, "worker-up {worker}"),
            Event::WorkerGone { worker } => write!(f, "worker-gone {worker}"),
            Event::Assigned { task, worker } => write!(f, "assigned {task} -> {worker}"),
            Event::Held { task } => write!(f, "held {task} (no worker)"),
            Event::Reassigned { task, from } => write!(f, "reassigned {task} from {from}"),
            Event::Completed { task, worker } => write!(f, "done {task} by {worker}"),
            Event::AlreadyDone { task, worker } => write!(f, "already-done {task} at {worker}"),
            Event::TakenAway { task, worker } => write!(f, "taken-away {task} from {worker}"),
            Event::FencedOut { master, task } => write!(f, "fenced-out {master} on {task}"),
            Event::Killed { role, id } => write!(f, "kill {role} {id}"),
        }
    }
}

/// Where a master or worker reports; cheap to clone.
#[derive(Clone)]
pub struct Reporter {
    sink: Option<Arc<dyn Fn(Event) + Send + Sync>>,
}

impl fmt::Debug for Reporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reporter")
            .field("silent", &self.sink.is_none())
            .finish()
    }
}

impl Reporter {
    /// A reporter that calls `sink` with every event (from whichever task reports it).
    pub fn new(sink: impl Fn(Event) + Send + Sync + 'static) -> Reporter {
        Reporter {
            sink: Some(Arc::new(sink)),
        }
    }

    /// A reporter and the stream of what it reports.
    pub fn channel() -> (Reporter, mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = mpsc::unbounded();
        let reporter = Reporter::new(move |event| {
            let _ = tx.unbounded_send(event);
        });
        (reporter, rx)
    }

    /// A reporter that drops everything.
    pub fn silent() -> Reporter {
        Reporter { sink: None }
    }

    /// Reports `event`.
    pub fn report(&self, event: Event) {
        if let Some(sink) = &self.sink {
            sink(event);
        }
    }
}
