//! The master: competes through a [`LeaderSelector`]; the active one assigns tasks.

use std::collections::{BTreeMap, BTreeSet};

use docent::recipes::cache::{
    ChildData, ChildrenEvent, ChildrenOptions, PathChildrenCache, StartMode,
};
use docent::recipes::fencing::is_fenced_out;
use docent::recipes::selector::{LeaderSelector, Leadership};
use docent::{Client, Error};
use futures::future::{self, Either};
use futures::StreamExt;

use super::events::{Event, Reporter};
use super::{child, create_op, delete_op, ensure, name_of, ASSIGN, MASTER, TASKS, WORKERS};

/// One master process: on standby until elected, then the active master until it loses
/// leadership (it queues again by itself).
#[derive(Debug)]
pub struct Master {
    id: String,
    client: Client,
    selector: LeaderSelector,
}

impl Master {
    /// Joins the election at [`MASTER`] as `id`.
    pub async fn start(client: &Client, id: &str, reporter: Reporter) -> Result<Master, Error> {
        let (lead_client, lead_reporter, lead_id) =
            (client.clone(), reporter.clone(), id.to_owned());
        let (losing_reporter, losing_id) = (reporter, id.to_owned());
        let selector = LeaderSelector::builder(client, MASTER, move |leadership| {
            let (client, reporter, id) =
                (lead_client.clone(), lead_reporter.clone(), lead_id.clone());
            async move {
                reporter.report(Event::Elected {
                    master: id.clone(),
                    token: leadership.token(),
                });
                let mut duty = Duty::new(&client, &leadership, &reporter);
                let reason = match duty.run().await {
                    Ok(()) if client.is_closed() => "session closed".to_owned(),
                    Ok(()) => "caches closed".to_owned(),
                    Err(e) => e.to_string(),
                };
                reporter.report(Event::Deposed { master: id, reason });
            }
        })
        .id(id)
        .auto_requeue(true)
        .on_losing(move |reason| {
            losing_reporter.report(Event::Deposed {
                master: losing_id.clone(),
                reason: format!("{reason:?}"),
            });
        })
        .start()
        .await?;
        Ok(Master {
            id: id.to_owned(),
            client: client.clone(),
            selector,
        })
    }

    /// Its id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// True while it is the active master.
    pub fn is_active(&self) -> bool {
        self.selector.has_leadership()
    }

    /// Leaves the election (a running leadership is cancelled); the session stays open.
    pub async fn close(self) -> Result<(), Error> {
        self.selector.close().await
    }

    /// Crashes it: closes its session, so its election node vanishes at once.
    pub async fn kill(self) -> Result<(), Error> {
        self.client.close().await
    }
}

/// The active master's work for one leadership.
struct Duty<'a> {
    client: &'a Client,
    leadership: &'a Leadership,
    reporter: &'a Reporter,
    /// Live workers and the czxid of their registration node.
    live: BTreeMap<String, i64>,
    /// Tasks (name, czxid of the `/tasks` node) this leadership has moved or reported held.
    assigned: BTreeSet<(String, i64)>,
    held: BTreeSet<(String, i64)>,
    next: usize,
}

impl<'a> Duty<'a> {
    fn new(client: &'a Client, leadership: &'a Leadership, reporter: &'a Reporter) -> Self {
        Duty {
            client,
            leadership,
            reporter,
            live: BTreeMap::new(),
            assigned: BTreeSet::new(),
            held: BTreeSet::new(),
            next: 0,
        }
    }

    /// The book's order: workers cache, recovery of the existing assignments, then tasks.
    async fn run(&mut self) -> Result<(), Error> {
        let initial = ChildrenOptions::default().mode(StartMode::BuildInitial);
        let workers =
            PathChildrenCache::start(self.client, WORKERS, initial.cache_data(false)).await?;
        let mut worker_events = workers.events();
        self.live = registrations(&workers.current_data_all());
        self.recover().await?;
        let tasks = PathChildrenCache::start(self.client, TASKS, initial).await?;
        let mut task_events = tasks.events();
        self.assign_pending(&tasks.current_data_all()).await?;
        loop {
            let next = future::select(worker_events.next(), task_events.next()).await;
            match next {
                Either::Left((Some(event), _)) => {
                    if is_child_event(&event) {
                        self.sync_workers(&workers.current_data_all()).await?;
                        self.assign_pending(&tasks.current_data_all()).await?;
                    }
                }
                Either::Right((Some(event), _)) => {
                    if is_child_event(&event) {
                        self.assign_pending(&tasks.current_data_all()).await?;
                    }
                }
                Either::Left((None, _)) | Either::Right((None, _)) => return Ok(()),
            }
        }
    }

    /// Keeps the assignments of live workers; sends those of vanished workers back to `/tasks`.
    async fn recover(&mut self) -> Result<(), Error> {
        let (mut kept, mut returned) = (0, 0);
        for worker in self.client.get_children().at(ASSIGN).await?.0 {
            if self.live.contains_key(&worker) {
                kept += self
                    .client
                    .get_children()
                    .at(&child(ASSIGN, &worker))
                    .await?
                    .0
                    .len();
            } else {
                returned += self.return_tasks(&worker).await?;
            }
        }
        self.reporter.report(Event::Recovered {
            master: self.leadership.id().to_owned(),
            kept,
            returned,
        });
        Ok(())
    }

    /// Applies the workers cache: vanished (or re-created) registrations lose their tasks.
    async fn sync_workers(&mut self, current: &[ChildData]) -> Result<(), Error> {
        let now = registrations(current);
        let gone: Vec<String> = self
            .live
            .iter()
            .filter(|(name, czxid)| now.get(*name) != Some(czxid))
            .map(|(name, _)| name.clone())
            .collect();
        for worker in gone {
            self.live.remove(&worker);
            self.reporter.report(Event::WorkerGone {
                worker: worker.clone(),
            });
            self.return_tasks(&worker).await?;
        }
        self.live = now;
        Ok(())
    }

    /// Moves every task of `worker` back to `/tasks`; returns how many moved.
    async fn return_tasks(&mut self, worker: &str) -> Result<usize, Error> {
        let dir = child(ASSIGN, worker);
        let tasks = match self.client.get_children().at(&dir).await {
            Ok((tasks, _, _)) => tasks,
            Err(Error::NoNode) => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut moved = 0;
        for task in tasks {
            let from = child(&dir, &task);
            let data = match self.client.get_data().at(&from).await {
                Ok((data, _, _)) => data,
                Err(Error::NoNode) => continue,
                Err(e) => return Err(e),
            };
            let ops = vec![create_op(child(TASKS, &task), data), delete_op(from)];
            if self.guarded(&task, ops).await? {
                moved += 1;
                self.reporter.report(Event::Reassigned {
                    task,
                    from: worker.to_owned(),
                });
            }
        }
        Ok(moved)
    }

    /// Assigns every task in `/tasks` not yet handled, round robin over the live workers; holds
    /// them while there is none.
    async fn assign_pending(&mut self, tasks: &[ChildData]) -> Result<(), Error> {
        let present: BTreeSet<(String, i64)> = tasks
            .iter()
            .map(|t| (name_of(&t.path).to_owned(), t.stat.czxid))
            .collect();
        self.assigned.retain(|t| present.contains(t));
        self.held.retain(|t| present.contains(t));
        for task in tasks {
            let key = (name_of(&task.path).to_owned(), task.stat.czxid);
            if self.assigned.contains(&key) {
                continue;
            }
            let workers: Vec<&String> = self.live.keys().collect();
            if workers.is_empty() {
                if self.held.insert(key.clone()) {
                    self.reporter.report(Event::Held { task: key.0 });
                }
                continue;
            }
            let worker = workers[self.next % workers.len()].clone();
            self.next += 1;
            self.assign(&key.0, &worker, task.data.clone().unwrap_or_default())
                .await?;
            self.assigned.insert(key);
        }
        Ok(())
    }

    /// Moves `/tasks/task` to `/assign/worker/task`.
    async fn assign(&mut self, task: &str, worker: &str, data: Vec<u8>) -> Result<(), Error> {
        let dir = child(ASSIGN, worker);
        let ops = || {
            vec![
                create_op(child(&dir, task), data.clone()),
                delete_op(child(TASKS, task)),
            ]
        };
        let applied = match self.guarded(task, ops()).await {
            Err(Error::MultiFailed { index: 1, error }) if *error == Error::NoNode => {
                ensure(self.client, &dir).await?;
                self.guarded(task, ops()).await?
            }
            other => other?,
        };
        if applied {
            self.reporter.report(Event::Assigned {
                task: task.to_owned(),
                worker: worker.to_owned(),
            });
        }
        Ok(())
    }

    /// A guarded two-op move (create, delete): `Ok(true)` when applied, `Ok(false)` when it was
    /// already done (the create found its node, or the delete found none). A fenced-out write
    /// ends the leadership.
    async fn guarded(&self, task: &str, ops: Vec<docent::MultiOp>) -> Result<bool, Error> {
        match self.leadership.guarded(ops).await {
            Ok(_) => Ok(true),
            Err(e) if is_fenced_out(&e) => {
                self.reporter.report(Event::FencedOut {
                    master: self.leadership.id().to_owned(),
                    task: task.to_owned(),
                });
                Err(e)
            }
            Err(Error::MultiFailed { index: 0, error }) if *error == Error::NodeExists => Ok(false),
            Err(Error::MultiFailed { index: 1, error }) if *error == Error::NoNode => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Worker name → czxid of its registration.
fn registrations(current: &[ChildData]) -> BTreeMap<String, i64> {
    current
        .iter()
        .map(|w| (name_of(&w.path).to_owned(), w.stat.czxid))
        .collect()
}

fn is_child_event(event: &ChildrenEvent) -> bool {
    matches!(
        event,
        ChildrenEvent::ChildAdded(_)
            | ChildrenEvent::ChildRemoved(_)
            | ChildrenEvent::ChildUpdated(_)
            | ChildrenEvent::ConnectionReconnected
    )
}
