//! The sub-machines as stand-alone machines, run by the driver for the fluent builders'
//! `.protected()` creates and `.guaranteed()` deletes.

use std::convert::Infallible;

use futures::channel::oneshot;
use futures::FutureExt;

use crate::framework::driver::{recipe_span, spawn_machine_in, wait_for};
use crate::framework::{Client, Created, GuaranteedDelete, ProtectedCreate, RetryPolicy};
use crate::machine::{Input, Machine, Token, Tokens};
use crate::op::Op;
use crate::rng::Rng;
use crate::time::Instant;
use crate::Error;

/// A [`ProtectedCreate`] on its own, under a retry policy: each unknown outcome counts as a
/// retry; once the policy gives up, the create is abandoned (and cleaned up).
#[derive(Debug)]
pub(crate) struct ProtectedTask {
    create: ProtectedCreate,
    tokens: Tokens,
    policy: RetryPolicy,
    rng: Rng,
    started: Option<Instant>,
    retries: u32,
    changed: bool,
    pub(crate) outcome: Option<Result<Created, Error>>,
}

impl ProtectedTask {
    pub(crate) fn new(create: ProtectedCreate, policy: RetryPolicy, rng: Rng) -> Self {
        ProtectedTask {
            create,
            tokens: Tokens::default(),
            policy,
            rng,
            started: None,
            retries: 0,
            changed: false,
            outcome: None,
        }
    }
}

impl Machine for ProtectedTask {
    type Command = Infallible;
    type Event = ();

    fn handle(&mut self, now: Instant, input: Input<Infallible>) {
        match input {
            Input::Connection { state, session_id } => {
                self.create
                    .handle_connection(state, session_id, &mut self.tokens);
                if self.started.is_none() && state.is_connected() {
                    self.started = Some(now);
                    self.create.start(&mut self.tokens);
                }
            }
            Input::OpDone { token, result } => {
                self.create
                    .handle_op_done(now, token, &result, &mut self.tokens);
            }
            _ => {}
        }
        while self.create.unknown_outcomes() > self.retries {
            let elapsed = now.saturating_since(self.started.unwrap_or(now));
            let allowed = self.policy.next_delay(self.retries, elapsed, &mut self.rng);
            self.retries += 1;
            if allowed.is_none() {
                self.create.abandon(Error::ConnectionLoss, &mut self.tokens);
            }
        }
        if let Some(outcome) = self.create.poll_outcome() {
            self.outcome = Some(outcome);
            self.changed = true;
        }
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.create.poll_op()
    }

    fn poll_event(&mut self) -> Option<()> {
        std::mem::take(&mut self.changed).then_some(())
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn is_done(&self) -> bool {
        self.outcome.is_some()
    }
}

/// A [`GuaranteedDelete`] on its own; it starts with the first connection state.
#[derive(Debug)]
pub(crate) struct DeleteTask {
    delete: GuaranteedDelete,
    tokens: Tokens,
    started: bool,
    changed: bool,
    pub(crate) outcome: Option<Result<(), Error>>,
}

impl Machine for DeleteTask {
    type Command = Infallible;
    type Event = ();

    fn handle(&mut self, now: Instant, input: Input<Infallible>) {
        match input {
            Input::Connection { state, session_id } => {
                self.delete
                    .handle_connection(state, session_id, &mut self.tokens);
                if !self.started {
                    self.started = true;
                    self.delete.start(&mut self.tokens);
                }
            }
            Input::OpDone { token, result } => {
                self.delete
                    .handle_op_done(now, token, &result, &mut self.tokens);
            }
            _ => {}
        }
        if let Some(outcome) = self.delete.poll_outcome() {
            self.outcome = Some(outcome);
            self.changed = true;
        }
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.delete.poll_op()
    }

    fn poll_event(&mut self) -> Option<()> {
        std::mem::take(&mut self.changed).then_some(())
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn is_done(&self) -> bool {
        self.outcome.is_some()
    }
}

/// Runs a protected create to its end.
pub(crate) async fn protected_create(
    client: &Client,
    create: ProtectedCreate,
) -> Result<Created, Error> {
    client.wait_connected().await?;
    let span = recipe_span("protected-create", &create.protected_path(), create.uuid());
    let task = ProtectedTask::new(create, client.retry_policy().clone(), client.next_rng());
    let driven = spawn_machine_in(client, task, span);
    wait_for(&driven, |m| m.outcome.clone()).await?
}

/// Runs a guaranteed delete in the background: the returned future may be dropped, the delete
/// goes on while the client lives, and a failure nobody awaits goes to
/// [`Client::unhandled_errors`].
pub(crate) async fn guaranteed_delete(
    client: &Client,
    path: &str,
    version: Option<i32>,
) -> Result<(), Error> {
    let task = DeleteTask {
        delete: GuaranteedDelete::new(path, version),
        tokens: Tokens::default(),
        started: false,
        changed: false,
        outcome: None,
    };
    let driven = spawn_machine_in(client, task, recipe_span("guaranteed-delete", path, ""));
    let (tx, rx) = oneshot::channel();
    let reporter = client.clone();
    let path = path.to_owned();
    client.coordinator().spawn(
        async move {
            let outcome = wait_for(&driven, |m| m.outcome.clone())
                .await
                .and_then(|r| r);
            if let Err(Err(error)) = tx.send(outcome) {
                tracing::warn!(%path, %error, "guaranteed delete gave up");
                reporter.report(error);
            }
        }
        .boxed(),
    );
    rx.await.unwrap_or(Err(Error::Closed))
}
