//! The driver: the one loop that runs a sans-IO [`Machine`] over a [`Client`], and the
//! [`Driven`] handle recipes wrap.
//!
//! The driver task (spawned on the transport's runtime) first delivers the current connection
//! state, then waits on everything at once — connection states, watches, op replies and the
//! machine's timer — and feeds whichever comes first (in that order of preference when several
//! are ready: a watch event is never fed after a reply the session delivered after it, or a
//! cache would apply a fresh read and then an older deletion). After every input it drains
//! [`Machine::poll_op`], submitting each op **immediately, in poll order** (so pipelined ops
//! reach the server in that order), then [`Machine::poll_event`], broadcasting each event to
//! every subscriber. It stops when [`Machine::is_done`], when every [`Driven`] handle is
//! dropped, or when the client is closed.
//!
//! Commands do not wait for the driver task: once it has fed the first connection state,
//! [`Driven::command`] handles the command in the caller's task, under the machine's lock, and
//! submits its ops there and then (a release and the acquire after it reach the session
//! back to back); the driver only collects their replies.
//!
//! # Logs
//! Each driver runs in a debug-level `tracing` span: [`recipe_span`] (recipe, path, id, and
//! the session, recorded at every connection state) for a recipe started with
//! [`spawn_machine_in`], the machine's type name otherwise. In it the driver logs every op it
//! submits (token, op, path), every input it feeds and every event the machine emits, so
//! `RUST_LOG=docent=debug` tells the story of a recipe.
//!
//! # Waiting for a condition without lost wake-ups
//! Subscribe first, then inspect, then await events: an event emitted between the inspection
//! and the await is already in the subscription. [`wait_for`] does exactly that:
//!
//! ```ignore
//! let driven = spawn_machine(&client, machine);
//! let leader = wait_for(&driven, |m| m.is_leader().then_some(())).await?;
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::channel::{mpsc, oneshot};
use futures::future::{self, BoxFuture, Shared};
use futures::stream::{BoxStream, FuturesUnordered, SelectAll};
use futures::{FutureExt, Stream, StreamExt};
use tracing::{field, Instrument, Span};

use crate::framework::read::{self, MULTI_READ_BATCH};
use crate::framework::Client;
use crate::machine::{Input, Machine, Token};
use crate::op::{Op, OpResult, Reply, Watch};
use crate::time::Instant;
use crate::types::WatchedEvent;
use crate::Error;

/// A machine running on its driver task.
pub struct Driven<M: Machine> {
    client: Client,
    span: Span,
    core: Arc<Mutex<Core<M>>>,
    kicks: mpsc::UnboundedSender<Kick<M::Command>>,
    subscribers: Arc<Mutex<Subscribers<M::Event>>>,
    finished: Shared<oneshot::Receiver<()>>,
}

/// The machine, and whether commands run in the caller's task yet.
struct Core<M> {
    machine: M,
    /// Set once the driver has fed the first connection state. Until then commands go through
    /// the driver, which feeds a known state before them (and commands alone if none comes).
    live: bool,
}

/// What a [`Driven`] handle passes to its driver task.
enum Kick<C> {
    /// A command for the driver to feed (only before the driver is live).
    Command(C),
    /// The replies of ops a command submitted in the caller's task; the driver collects them
    /// and re-arms the machine's timer.
    Replies(Vec<ReplyFuture>),
}

struct Subscribers<E> {
    open: bool,
    senders: Vec<mpsc::UnboundedSender<E>>,
}

impl<M: Machine> fmt::Debug for Driven<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Driven");
        match self.core.try_lock() {
            Ok(core) => d.field("machine", &core.machine),
            Err(_) => d.field("machine", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
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

impl<M: Machine> Driven<M>
where
    M::Event: Clone,
{
    /// Feeds a command to the machine; [`Error::Closed`] once the driver has stopped.
    ///
    /// Once the driver is running the command is handled right here, in the caller's task:
    /// its ops are on their way and its events broadcast before `command` returns (no hop
    /// through the driver task on the way out).
    pub fn command(&self, command: M::Command) -> Result<(), Error> {
        let mut core = self.core.lock().expect("machine poisoned");
        if self.kicks.is_closed() || core.machine.is_done() {
            return Err(Error::Closed);
        }
        let kick = if core.live {
            let _span = self.span.enter();
            tracing::debug!(?command, "command");
            core.machine
                .handle(self.client.now(), Input::Command(command));
            Kick::Replies(emit(&self.client, &mut core.machine, &self.subscribers))
        } else {
            Kick::Command(command)
        };
        self.kicks.unbounded_send(kick).map_err(|_| Error::Closed)
    }
}

impl<M: Machine> Driven<M> {
    /// Runs `f` on the machine's current state.
    pub fn inspect<R>(&self, f: impl FnOnce(&M) -> R) -> R {
        f(&self.core.lock().expect("machine poisoned").machine)
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

    /// Like [`subscribe`](Self::subscribe), but the stream starts with the events `snapshot`
    /// makes of the machine's current state. Both happen under the machine's lock: no event
    /// falls between the snapshot and the subscription, none is in both.
    pub fn subscribe_from(
        &self,
        snapshot: impl FnOnce(&M) -> Vec<M::Event>,
    ) -> EventStream<M::Event> {
        let core = self.core.lock().expect("machine poisoned");
        let (tx, rx) = mpsc::unbounded();
        for event in snapshot(&core.machine) {
            let _ = tx.unbounded_send(event);
        }
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

/// Submits the machine's ops and broadcasts its events: what follows every `handle`. Returns
/// the ops' reply futures.
///
/// Ops leave in poll order, except that unwatched `getData` reads polled together leave as
/// `multiRead` requests of up to [`MULTI_READ_BATCH`] reads (ZooKeeper 3.6+), in the place of
/// the first: a large load costs a few requests, not one per node, and each read still gets
/// its own reply under its own token. A batch passes over other reads only, never a write or
/// a sync, so a read still sees every write polled before it.
fn emit<M: Machine>(
    client: &Client,
    machine: &mut M,
    subscribers: &Mutex<Subscribers<M::Event>>,
) -> Vec<ReplyFuture>
where
    M::Event: Clone,
{
    let mut ops: VecDeque<(Token, Op)> = std::iter::from_fn(|| machine.poll_op()).collect();
    let mut replies = Vec::new();
    while let Some((token, op)) = ops.pop_front() {
        tracing::debug!(token = token.0, op = op.name(), path = op.path(), "submit");
        if client.multi_read_works() && plain_read(&op) {
            replies.push(read_batch(client, (token, op), &mut ops));
        } else {
            replies.push(submit(client, token, op));
        }
    }
    let mut subs = subscribers.lock().expect("subscribers poisoned");
    while let Some(event) = machine.poll_event() {
        tracing::debug!(?event, "event");
        subs.senders
            .retain(|tx| tx.unbounded_send(event.clone()).is_ok());
    }
    replies
}

/// Submits one op, alone.
fn submit(client: &Client, token: Token, op: Op) -> ReplyFuture {
    client.submit(op).map(move |r| vec![(token, r)]).boxed()
}

fn plain_read(op: &Op) -> bool {
    matches!(op, Op::GetData { watch: false, .. })
}

/// Sends `first` and the next plain reads of `ops` (up to a batch, before the next write or
/// sync) as one `multiRead` ([`read::get_data_batch`]); its reply is split into one per
/// read. A read with no other to join goes alone.
fn read_batch(client: &Client, first: (Token, Op), ops: &mut VecDeque<(Token, Op)>) -> ReplyFuture {
    let mut reads = vec![first];
    // Ops passed over keep their order at the front; the scan stops at a full batch, so a
    // large load costs one batch's work per batch, not the whole queue's.
    // It stops at a write or a sync too: a read polled after one must see it.
    let mut passed = Vec::new();
    while reads.len() < MULTI_READ_BATCH {
        let Some(next) = ops.pop_front() else { break };
        if plain_read(&next.1) {
            tracing::debug!(
                token = next.0 .0,
                op = "getData",
                path = next.1.path(),
                "submit"
            );
            reads.push(next);
        } else if next.1.is_write() || matches!(next.1, Op::Sync { .. }) {
            ops.push_front(next);
            break;
        } else {
            passed.push(next);
        }
    }
    for op in passed.into_iter().rev() {
        ops.push_front(op);
    }
    if reads.len() == 1 {
        let (token, op) = reads.remove(0);
        return submit(client, token, op);
    }
    let (tokens, paths): (Vec<Token>, Vec<String>) = reads
        .into_iter()
        .map(|(token, op)| (token, op.path().expect("getData has a path").to_owned()))
        .unzip();
    let reply = read::get_data_batch(client, paths, Client::submit);
    async move {
        match reply.await {
            Ok(results) => tokens
                .into_iter()
                .zip(results)
                .map(|(token, r)| {
                    let reply = r.map(|(data, stat)| Reply::plain(OpResult::Data { data, stat }));
                    (token, reply)
                })
                .collect(),
            Err(error) => tokens
                .into_iter()
                .map(|t| (t, Err(error.clone())))
                .collect(),
        }
    }
    .boxed()
}

/// Logs an input the driver feeds (at debug level, in the machine's span), and records the
/// session of a connection state in the span.
fn trace_input<C: fmt::Debug>(input: &Input<C>) {
    match input {
        Input::OpDone { token, result } => match result {
            Ok(result) => tracing::debug!(token = token.0, result = brief(result), "reply"),
            Err(error) => tracing::debug!(token = token.0, %error, "reply"),
        },
        Input::Watch { token, event } => {
            tracing::debug!(token = token.0, kind = ?event.kind, path = event.path, "watch")
        }
        Input::Connection { state, session_id } => {
            let session = format!("{session_id:#x}");
            Span::current().record("session", session.as_str());
            tracing::debug!(?state, session, "connection");
        }
        Input::Timeout => tracing::debug!("timeout"),
        Input::Command(command) => tracing::debug!(?command, "command"),
    }
}

/// A result in a few words (node data is not printed).
fn brief(result: &OpResult) -> String {
    match result {
        OpResult::Created { path, stat } => format!("created {path} (czxid {})", stat.czxid),
        OpResult::Data { data, stat } => {
            format!("{} bytes at version {}", data.len(), stat.version)
        }
        OpResult::Children { children, .. } => format!("children {children:?}"),
        OpResult::Exists(stat) => format!("exists: {}", stat.is_some()),
        other => format!("{other:?}"),
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

/// Spawns the driver of `machine` on the client's transport and returns its handle. Its
/// logs go in a debug span named after the machine's type; recipes use [`spawn_machine_in`]
/// with a [`recipe_span`].
pub fn spawn_machine<M>(client: &Client, machine: M) -> Driven<M>
where
    M: Machine,
    M::Event: Clone,
{
    let name = std::any::type_name::<M>()
        .rsplit("::")
        .next()
        .unwrap_or("machine");
    let span = tracing::debug_span!("machine", name, session = field::Empty);
    spawn_machine_in(client, machine, span)
}

/// The span of one recipe instance: `recipe` (`"latch"`, `"lock"`, ...), its `path` and
/// participant `id`, and the session (recorded by the driver at every connection state).
/// Under it, the driver logs at debug level every op it submits (token, op, path), every
/// input it feeds and every event the machine emits: `RUST_LOG=docent=debug` tells what
/// the recipe did.
pub fn recipe_span(recipe: &'static str, path: &str, id: &str) -> Span {
    tracing::debug_span!("recipe", recipe, path, id, session = field::Empty)
}

/// [`spawn_machine`] with the driver's logs in `span` (see [`recipe_span`]); a `session`
/// field of the span is recorded at every connection state.
pub fn spawn_machine_in<M>(client: &Client, machine: M, span: Span) -> Driven<M>
where
    M: Machine,
    M::Event: Clone,
{
    let core = Arc::new(Mutex::new(Core {
        machine,
        live: false,
    }));
    let (kicks, kick_rx) = mpsc::unbounded();
    let subscribers = Arc::new(Mutex::new(Subscribers {
        open: true,
        senders: Vec::new(),
    }));
    let (done_tx, done_rx) = oneshot::channel();
    let driver = Driver {
        client: client.clone(),
        core: core.clone(),
        subscribers: subscribers.clone(),
        replies: FuturesUnordered::new(),
        ready: VecDeque::new(),
        watches: SelectAll::new(),
        timer: None,
    };
    let states = client.connection_states();
    client.coordinator().spawn(
        async move {
            driver.run(states, kick_rx).await;
            drop(done_tx);
        }
        .instrument(span.clone())
        .boxed(),
    );
    Driven {
        client: client.clone(),
        span,
        core,
        kicks,
        subscribers,
        finished: done_rx.shared(),
    }
}

/// The replies behind one request: one, or one per read of a `multiRead` batch.
type ReplyFuture = BoxFuture<'static, Vec<(Token, Result<Reply, Error>)>>;

struct Driver<M: Machine> {
    client: Client,
    core: Arc<Mutex<Core<M>>>,
    subscribers: Arc<Mutex<Subscribers<M::Event>>>,
    replies: FuturesUnordered<ReplyFuture>,
    /// Replies in, not fed yet (the rest of a split `multiRead`).
    ready: VecDeque<(Token, Result<Reply, Error>)>,
    watches: SelectAll<BoxStream<'static, (Token, WatchedEvent)>>,
    timer: Option<(Instant, BoxFuture<'static, ()>)>,
}

enum Wake<C> {
    Input(Input<C>),
    /// Replies of a command's ops were taken in: re-arm the timer, check for done.
    Settle,
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
        mut kicks: mpsc::UnboundedReceiver<Kick<M::Command>>,
    ) {
        let core = self.core.clone();
        let mut live = false;
        // Ops queued by the machine's constructor go out first.
        let mut running = {
            let machine = &mut core.lock().expect("machine poisoned").machine;
            let replies = emit(&self.client, machine, &self.subscribers);
            self.after(machine, replies)
        };
        while running {
            let wake = self.next(&mut states, &mut kicks, live).await;
            let connection = matches!(wake, Wake::Input(Input::Connection { .. }));
            let mut core = core.lock().expect("machine poisoned");
            running = match wake {
                Wake::Input(input) => self.feed(&mut core.machine, input),
                Wake::Settle => self.after(&core.machine, Vec::new()),
                Wake::Stop => break,
            };
            if connection && !live {
                // The first state is in: commands queued meanwhile go in now, in order; from
                // here on commands run in their callers' tasks (the lock keeps the order).
                while running {
                    running = match kicks.try_recv() {
                        Ok(Kick::Command(command)) => {
                            self.feed(&mut core.machine, Input::Command(command))
                        }
                        Ok(Kick::Replies(replies)) => self.after(&core.machine, replies),
                        Err(_) => break,
                    };
                }
                core.live = true;
                live = true;
            }
        }
        let mut subs = self.subscribers.lock().expect("subscribers poisoned");
        subs.open = false;
        subs.senders.clear();
    }

    /// Feeds one input and does what follows it. False once the machine is done.
    fn feed(&mut self, machine: &mut M, input: Input<M::Command>) -> bool {
        trace_input(&input);
        machine.handle(self.client.now(), input);
        let replies = emit(&self.client, machine, &self.subscribers);
        self.after(machine, replies)
    }

    /// Takes charge of `replies` and re-arms the timer. False once the machine is done.
    fn after(&mut self, machine: &M, replies: Vec<ReplyFuture>) -> bool {
        self.replies.extend(replies);
        let wanted = machine.poll_timeout();
        if wanted != self.timer.as_ref().map(|(at, _)| *at) {
            self.timer = wanted.map(|at| (at, self.client.coordinator().sleep_until(at)));
        }
        !machine.is_done()
    }

    async fn next(
        &mut self,
        states: &mut (impl Stream<Item = crate::ConnectionState> + Unpin),
        kicks: &mut mpsc::UnboundedReceiver<Kick<M::Command>>,
        live: bool,
    ) -> Wake<M::Command> {
        let client = &self.client;
        let replies = &mut self.replies;
        let ready = &mut self.ready;
        let watches = &mut self.watches;
        let timer = &mut self.timer;
        future::poll_fn(|cx| {
            // Replies of ops a command sent come in first: they were submitted before anything
            // the driver submits from here on.
            if live {
                let mut took = false;
                loop {
                    match kicks.poll_next_unpin(cx) {
                        Poll::Ready(Some(Kick::Replies(r))) => {
                            replies.extend(r);
                            took = true;
                        }
                        Poll::Ready(Some(Kick::Command(c))) => {
                            return Poll::Ready(Wake::Input(Input::Command(c)))
                        }
                        // Every handle is gone.
                        Poll::Ready(None) => return Poll::Ready(Wake::Stop),
                        Poll::Pending => break,
                    }
                }
                if took {
                    return Poll::Ready(Wake::Settle);
                }
            }
            if let Poll::Ready(state) = states.poll_next_unpin(cx) {
                return Poll::Ready(match state {
                    Some(state) => Wake::Input(Input::Connection {
                        state,
                        session_id: client.session_id(),
                    }),
                    None => Wake::Stop, // the client was closed
                });
            }
            // Watch events before replies: a session delivers an event before any reply sent
            // after the change, so when both are ready the event may be the older one. A reply
            // that did come first is then older than the event, and a machine must not let it
            // undo what the event started: a re-read on the event supersedes it, and a listing
            // sent before a node was found says nothing about that node (the tree cache's
            // persistent watch met this: see its `since` tokens).
            if let Poll::Ready(Some((token, event))) = watches.poll_next_unpin(cx) {
                return Poll::Ready(Wake::Input(Input::Watch { token, event }));
            }
            if ready.is_empty() {
                if let Poll::Ready(Some(batch)) = replies.poll_next_unpin(cx) {
                    ready.extend(batch);
                }
            }
            if let Some((token, reply)) = ready.pop_front() {
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
            // Before the first state, commands wait here (behind everything else, as they
            // would be fed if no state ever came).
            if !live {
                match kicks.poll_next_unpin(cx) {
                    Poll::Ready(Some(Kick::Command(c))) => {
                        return Poll::Ready(Wake::Input(Input::Command(c)))
                    }
                    Poll::Ready(Some(Kick::Replies(r))) => {
                        replies.extend(r);
                        return Poll::Ready(Wake::Settle);
                    }
                    Poll::Ready(None) => return Poll::Ready(Wake::Stop),
                    Poll::Pending => {}
                }
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
