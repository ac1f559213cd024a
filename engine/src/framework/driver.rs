//! The driver: the one loop that runs a sans-IO [`Machine`] over a [`Client`], and the
//! [`Driven`] handle recipes wrap.
//!
//! The driver task (spawned on the transport's runtime) first delivers the current connection
//! state, then waits on everything at once — op replies, watches, connection states, commands
//! and the machine's timer — and feeds whichever comes first (of a fired watch and a reply that
//! are both ready, the watch: the server sent it no later). After every input it drains
//! [`Machine::poll_op`], submitting each op **immediately, in poll order** (so pipelined ops
//! reach the server in that order), then [`Machine::poll_event`], broadcasting each event to
//! every subscriber. It stops when [`Machine::is_done`], when every [`Driven`] handle is
//! dropped, or when the client is closed.
//!
//! # Waiting for a condition without lost wake-ups
//! Subscribe first, then inspect, then await events: an event emitted between the inspection
//! and the await is already in the subscription. [`wait_for`] does exactly that:
//!
//! ```ignore
//! let driven = spawn_machine(&client, machine);
//! let leader = wait_for(&driven, |m| m.is_leader().then_some(())).await?;
//! ```

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::channel::{mpsc, oneshot};
use futures::future::{self, BoxFuture, Shared};
use futures::stream::{BoxStream, FuturesUnordered, SelectAll};
use futures::{FutureExt, Stream, StreamExt};

use crate::framework::Client;
use crate::machine::{Input, Machine, Token};
use crate::op::{Reply, Watch};
use crate::time::Instant;
use crate::types::WatchedEvent;
use crate::Error;

/// A machine running on its driver task.
pub struct Driven<M: Machine> {
    machine: Arc<Mutex<M>>,
    commands: mpsc::UnboundedSender<M::Command>,
    subscribers: Arc<Mutex<Subscribers<M::Event>>>,
    finished: Shared<oneshot::Receiver<()>>,
}

struct Subscribers<E> {
    open: bool,
    senders: Vec<mpsc::UnboundedSender<E>>,
}

impl<M: Machine> fmt::Debug for Driven<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driven")
            .field("machine", &self.machine)
            .finish_non_exhaustive()
    }
}

/// The events of a [`Driven`] machine, from the moment of [`Driven::subscribe`]. Ends when the
/// driver stops.
#[derive(Debug)]
pub struct EventStream<E>(mpsc::UnboundedReceiver<E>);

impl<E> Stream for EventStream<E> {
    type Item = E;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<E>> {
        self.0.poll_next_unpin(cx)
    }
}

impl<M: Machine> Driven<M> {
    /// Sends a command to the machine; [`Error::Closed`] once the driver has stopped.
    pub fn command(&self, command: M::Command) -> Result<(), Error> {
        self.commands
            .unbounded_send(command)
            .map_err(|_| Error::Closed)
    }

    /// Runs `f` on the machine's current state.
    pub fn inspect<R>(&self, f: impl FnOnce(&M) -> R) -> R {
        f(&self.machine.lock().expect("machine poisoned"))
    }

    /// Every event from now on (unbounded: a slow listener never stalls the machine).
    pub fn subscribe(&self) -> EventStream<M::Event> {
        let (tx, rx) = mpsc::unbounded();
        let mut subs = self.subscribers.lock().expect("subscribers poisoned");
        if subs.open {
            subs.senders.push(tx);
        }
        EventStream(rx)
    }

    /// Resolves when the driver has stopped.
    pub fn finished(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.finished.clone().map(|_| ())
    }
}

/// Waits until `f` returns `Some` for the machine's state (checked now and after every
/// event); [`Error::Closed`] if the driver stops first.
pub async fn wait_for<M, R>(
    driven: &Driven<M>,
    mut f: impl FnMut(&M) -> Option<R>,
) -> Result<R, Error>
where
    M: Machine,
{
    let mut events = driven.subscribe();
    loop {
        if let Some(r) = driven.inspect(&mut f) {
            return Ok(r);
        }
        if events.next().await.is_none() {
            return driven.inspect(&mut f).ok_or(Error::Closed);
        }
    }
}

/// Spawns the driver of `machine` on the client's transport and returns its handle.
pub fn spawn_machine<M>(client: &Client, machine: M) -> Driven<M>
where
    M: Machine,
    M::Event: Clone,
{
    let machine = Arc::new(Mutex::new(machine));
    let (commands, command_rx) = mpsc::unbounded();
    let subscribers = Arc::new(Mutex::new(Subscribers {
        open: true,
        senders: Vec::new(),
    }));
    let (done_tx, done_rx) = oneshot::channel();
    let driver = Driver {
        client: client.clone(),
        machine: machine.clone(),
        subscribers: subscribers.clone(),
        replies: FuturesUnordered::new(),
        watches: SelectAll::new(),
        timer: None,
    };
    let states = client.connection_states();
    client.coordinator().spawn(
        async move {
            driver.run(states, command_rx).await;
            drop(done_tx);
        }
        .boxed(),
    );
    Driven {
        machine,
        commands,
        subscribers,
        finished: done_rx.shared(),
    }
}

type ReplyFuture = BoxFuture<'static, (Token, Result<Reply, Error>)>;

struct Driver<M: Machine> {
    client: Client,
    machine: Arc<Mutex<M>>,
    subscribers: Arc<Mutex<Subscribers<M::Event>>>,
    replies: FuturesUnordered<ReplyFuture>,
    watches: SelectAll<BoxStream<'static, (Token, WatchedEvent)>>,
    timer: Option<(Instant, BoxFuture<'static, ()>)>,
}

enum Wake<C> {
    Input(Input<C>),
    Stop,
}

impl<M> Driver<M>
where
    M: Machine,
    M::Event: Clone,
{
    async fn run(
        mut self,
        mut states: impl Stream<Item = crate::ConnectionState> + Unpin,
        mut commands: mpsc::UnboundedReceiver<M::Command>,
    ) {
        // Ops queued by the machine's constructor go out first.
        let mut running = self.drain();
        while running {
            let input = match self.next(&mut states, &mut commands).await {
                Wake::Input(input) => input,
                Wake::Stop => break,
            };
            let now = self.client.now();
            self.machine
                .lock()
                .expect("machine poisoned")
                .handle(now, input);
            running = self.drain();
        }
        let mut subs = self.subscribers.lock().expect("subscribers poisoned");
        subs.open = false;
        subs.senders.clear();
    }

    /// Submits the machine's ops in order, broadcasts its events, re-arms the timer. False
    /// once the machine is done.
    fn drain(&mut self) -> bool {
        let mut machine = self.machine.lock().expect("machine poisoned");
        while let Some((token, op)) = machine.poll_op() {
            let reply = self.client.submit(op);
            self.replies.push(reply.map(move |r| (token, r)).boxed());
        }
        let mut subs = self.subscribers.lock().expect("subscribers poisoned");
        while let Some(event) = machine.poll_event() {
            subs.senders
                .retain(|tx| tx.unbounded_send(event.clone()).is_ok());
        }
        let wanted = machine.poll_timeout();
        if wanted != self.timer.as_ref().map(|(at, _)| *at) {
            self.timer = wanted.map(|at| (at, self.client.coordinator().sleep_until(at)));
        }
        !machine.is_done()
    }

    async fn next(
        &mut self,
        states: &mut (impl Stream<Item = crate::ConnectionState> + Unpin),
        commands: &mut mpsc::UnboundedReceiver<M::Command>,
    ) -> Wake<M::Command> {
        let client = &self.client;
        let replies = &mut self.replies;
        let watches = &mut self.watches;
        let timer = &mut self.timer;
        future::poll_fn(|cx| {
            if let Poll::Ready(state) = states.poll_next_unpin(cx) {
                return Poll::Ready(match state {
                    Some(state) => Wake::Input(Input::Connection {
                        state,
                        session_id: client.session_id(),
                    }),
                    None => Wake::Stop, // the client was closed
                });
            }
            // Watch events before replies: the transport resolves both in the order the server
            // sent them, so a fired watch that is ready now came no later than any ready reply.
            // Feeding a reply first could show the machine a newer state and then the stale
            // event of an older change (a node deleted and re-created: the delete's event after
            // the listing that already shows the new node). A watch left by a reply is polled
            // here only once that reply was fed.
            if let Poll::Ready(Some((token, event))) = watches.poll_next_unpin(cx) {
                return Poll::Ready(Wake::Input(Input::Watch { token, event }));
            }
            if let Poll::Ready(Some((token, reply))) = replies.poll_next_unpin(cx) {
                let result = reply.map(|reply| {
                    match reply.watch {
                        Some(Watch::OneShot(fired)) => {
                            watches.push(fired.map(move |e| (token, e)).into_stream().boxed())
                        }
                        Some(Watch::Persistent(events)) => {
                            watches.push(events.map(move |e| (token, e)).boxed())
                        }
                        None => {}
                    }
                    reply.result
                });
                return Poll::Ready(Wake::Input(Input::OpDone::<M::Command> { token, result }));
            }
            if let Poll::Ready(command) = commands.poll_next_unpin(cx) {
                return Poll::Ready(command.map_or(Wake::Stop, |c| Wake::Input(Input::Command(c))));
            }
            if let Some((_, sleep)) = timer {
                if sleep.poll_unpin(cx).is_ready() {
                    *timer = None;
                    return Poll::Ready(Wake::Input(Input::Timeout));
                }
            }
            Poll::Pending
        })
        .await
    }
}
