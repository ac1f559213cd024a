//! The ZooKeeper book's master–worker system, on docent's recipes.
//!
//! ```text
//!  /master                 LeaderSelector nodes: one active master, the rest on standby
//!  /workers/<worker>       EPHEMERAL: the live workers
//!  /submitted/<task>       PERSISTENT, empty: the task was submitted (makes submission exactly-once)
//!  /tasks/<task>           PERSISTENT: a task waiting for a worker (data: the task)
//!  /assign/<worker>/<task> PERSISTENT: the task given to that worker (data: the task)
//!  /status/<task>          PERSISTENT: the task's result (data: the worker that did it)
//! ```
//!
//! A task lives in exactly one of `/tasks`, `/assign/*` and `/status` at a time, because
//! every move between them is one atomic multi that deletes the old node:
//!
//! - **submit**: create `/submitted/t` + create `/tasks/t` (a retried submit fails on the first
//!   create, so a task is never submitted twice);
//! - **assign** (the active master, guarded by its leadership node): create
//!   `/assign/w/t` + delete `/tasks/t` — NodeExists or NoNode means it was already assigned,
//!   and a deposed master's multi fails on the leadership check;
//! - **reassign** a dead worker's task (guarded): create `/tasks/t` + delete `/assign/w/t`;
//! - **complete** (the worker): create `/status/t` + delete `/assign/w/t` — NodeExists means it
//!   was already done, NoNode means the task was taken from this worker; either way nothing is
//!   recorded twice.
//!
//! The master's duties follow the book: start the workers cache, recover the existing
//! assignments (tasks of workers that are gone go back to `/tasks`), and only then start the
//! tasks cache and assign new tasks. Tasks that arrive while no worker is registered are held
//! and assigned when one registers.

mod demo;
mod events;
mod master;
mod worker;

use docent::{Client, CreateMode, Error, MultiOp};

pub use demo::{run, task_name, DemoConfig, Summary};
pub use events::{Event, Reporter};
pub use master::Master;
pub use worker::Worker;

/// The election path of the masters.
pub const MASTER: &str = "/master";
/// Live workers.
pub const WORKERS: &str = "/workers";
/// Submission records.
pub const SUBMITTED: &str = "/submitted";
/// Unassigned tasks.
pub const TASKS: &str = "/tasks";
/// Assignments, one directory per worker.
pub const ASSIGN: &str = "/assign";
/// Results.
pub const STATUS: &str = "/status";

/// Creates the persistent directories (idempotent).
pub async fn setup(client: &Client) -> Result<(), Error> {
    for dir in [WORKERS, SUBMITTED, TASKS, ASSIGN, STATUS] {
        ensure(client, dir).await?;
    }
    Ok(())
}

/// Creates the persistent node `path` unless it exists.
pub(crate) async fn ensure(client: &Client, path: &str) -> Result<(), Error> {
    match client.create().at(path).await {
        Ok(_) | Err(Error::NodeExists) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Submits task `name` with `data` exactly once; `Ok(false)` if it was already submitted.
pub async fn submit(client: &Client, name: &str, data: &[u8]) -> Result<bool, Error> {
    let result = client
        .transaction()
        .create(&child(SUBMITTED, name), Vec::new(), CreateMode::Persistent)
        .create(&child(TASKS, name), data.to_vec(), CreateMode::Persistent)
        .commit()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(Error::MultiFailed { index: 0, error }) if *error == Error::NodeExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// The names of the completed tasks.
pub async fn done(client: &Client) -> Result<Vec<String>, Error> {
    Ok(client.get_children().at(STATUS).await?.0)
}

/// `dir/name`.
pub(crate) fn child(dir: &str, name: &str) -> String {
    format!("{dir}/{name}")
}

/// The last segment of `path`.
pub(crate) fn name_of(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A create of a persistent node with open ACL, for a multi.
pub(crate) fn create_op(path: String, data: Vec<u8>) -> MultiOp {
    MultiOp::Create {
        path,
        data,
        acl: docent::Acl::open(),
        mode: CreateMode::Persistent,
    }
}

/// A delete at any version, for a multi.
pub(crate) fn delete_op(path: String) -> MultiOp {
    MultiOp::Delete {
        path,
        version: None,
    }
}
