//! A planted double barrier bug (`tests/planted_barrier.rs`): Curator GH 1290's spurious
//! wake-up. [`Spurious`] wraps docent's own double barrier machine and, while an `enter` is in
//! progress, takes **any** watch event as the sign that the barrier is full: it reports the
//! enter passed without looking at the member count again. The ready node's creation is such
//! an event, but so is the end of a session (an expiry, a LOST session closed by the client),
//! and then the member walks in alone.

use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};

use docent::framework::{spawn_machine, Driven};
use docent::recipes::barrier::double::{
    DoubleBarrierCommand, DoubleBarrierMachine, DoubleBarrierState,
};
use docent::recipes::barrier::BarrierEvent;
use docent::{Client, Error, Input, Instant, Machine, Op, Token};

use crate::barriers::Member;

/// Docent's double barrier machine with the spurious wake-up planted.
#[derive(Debug)]
pub struct Spurious {
    inner: DoubleBarrierMachine,
    /// The enter call in progress.
    entering: Option<u64>,
    extra: Option<BarrierEvent>,
}

impl Spurious {
    /// Wraps `inner`.
    pub fn new(inner: DoubleBarrierMachine) -> Spurious {
        Spurious {
            inner,
            entering: None,
            extra: None,
        }
    }
}

impl Machine for Spurious {
    type Command = DoubleBarrierCommand;
    type Event = BarrierEvent;

    fn handle(&mut self, now: Instant, input: Input<DoubleBarrierCommand>) {
        match &input {
            Input::Command(DoubleBarrierCommand::Enter { call, .. }) => self.entering = Some(*call),
            Input::Command(_) => self.entering = None,
            // The bug: woken up, so the barrier must be full.
            Input::Watch { .. } if self.inner.state() == DoubleBarrierState::Entering => {
                if let Some(call) = self.entering.take() {
                    self.extra = Some(BarrierEvent::Done {
                        call,
                        outcome: Ok(true),
                    });
                }
            }
            _ => {}
        }
        self.inner.handle(now, input);
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.inner.poll_op()
    }

    fn poll_event(&mut self) -> Option<BarrierEvent> {
        self.extra.take().or_else(|| self.inner.poll_event())
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.inner.poll_timeout()
    }

    fn is_done(&self) -> bool {
        self.inner.is_done()
    }
}

/// A [`Member`] driving a [`Spurious`] machine.
pub struct SpuriousMember {
    client: Client,
    driven: Driven<Spurious>,
    calls: u64,
}

impl SpuriousMember {
    /// A member of the barrier in `dir` waiting for `qty` members.
    pub fn start(client: &Client, dir: &str, qty: usize) -> SpuriousMember {
        let machine = DoubleBarrierMachine::new(dir.to_owned(), qty, client.next_rng());
        SpuriousMember {
            client: client.clone(),
            driven: spawn_machine(client, Spurious::new(machine)),
            calls: 0,
        }
    }

    async fn call(&mut self, enter: bool, timeout: Duration) -> Result<bool, Error> {
        self.calls += 1;
        let (call, deadline) = (self.calls, Some(self.client.now() + timeout));
        let mut events = self.driven.subscribe();
        self.driven.command(match enter {
            true => DoubleBarrierCommand::Enter { call, deadline },
            false => DoubleBarrierCommand::Leave { call, deadline },
        })?;
        while let Some(event) = events.next().await {
            match event {
                BarrierEvent::Done {
                    call: done,
                    outcome,
                } if done == call => return outcome,
                _ => {}
            }
        }
        Err(Error::Closed)
    }
}

impl Member for SpuriousMember {
    fn enter(&mut self, timeout: Duration) -> BoxFuture<'_, Result<bool, Error>> {
        self.call(true, timeout).boxed()
    }
    fn leave(&mut self, timeout: Duration) -> BoxFuture<'_, Result<bool, Error>> {
        self.call(false, timeout).boxed()
    }
    fn node(&self) -> String {
        self.driven.inspect(|m| m.inner.node().to_owned())
    }
    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        async move {
            let _ = self.driven.command(DoubleBarrierCommand::Close);
            self.driven.finished().await;
        }
        .boxed()
    }
}
