//! Joining a lock-style queue: a protected ephemeral-sequential create with the listing of
//! its directory pipelined right behind it.
//!
//! ZooKeeper applies one session's requests in order, so a `getChildren` sent right behind a
//! create that succeeds already lists the new node: acquiring costs the create's latency, not
//! a create plus another round trip. When the create's outcome was unknown and the protected
//! create found its node by looking, the pipelined listing proves nothing, and the recipe lists
//! again.

use std::collections::VecDeque;

use crate::framework::link::Link;
use crate::framework::protected::{self, Created, ProtectedCreate};
use crate::framework::sub::{Reply, Sub};
use crate::machine::{Token, Tokens};
use crate::op::Op;
use crate::path;
use crate::rng::Rng;
use crate::types::{Acl, CreateMode};
use crate::Error;

/// The listing that came with a successful enrolment. `epoch` is the link epoch it was sent
/// at: a listing lost in flight is asked for again once the connection came back after that.
#[derive(Debug)]
pub(crate) enum Listing {
    /// The listing sent behind the successful create has arrived.
    Ready { result: Reply, epoch: u64 },
    /// It is still in flight under this token.
    InFlight { token: Token, epoch: u64 },
    /// No valid listing: list again.
    Needed,
}

/// A create of the node and the listing sent right behind it.
#[derive(Debug)]
struct Pair {
    create: Token,
    listing: Token,
    epoch: u64,
}

/// A protected create of `<dir>/_c_<uuid>-<name><seq>` with pipelined listings.
#[derive(Debug)]
pub(crate) struct Enroll {
    dir: String,
    create: ProtectedCreate,
    link: Link,
    pairs: Vec<Pair>,
    /// The create op that succeeded.
    applied: Option<Token>,
    /// Listings that arrived before the create's outcome.
    arrived: Vec<(Token, Reply)>,
    ops: VecDeque<(Token, Op)>,
}

impl Enroll {
    /// Starts the create (ops are ready to poll at once; `mode` is ephemeral-sequential but
    /// for a read–write lock's downgrade); `link` is what the owner knows of
    /// the connection (the protected create needs the session id to recognise its node).
    pub(crate) fn start(
        dir: &str,
        name: &str,
        mode: CreateMode,
        data: Vec<u8>,
        link: &Link,
        rng: &mut Rng,
        tokens: &mut Tokens,
    ) -> Enroll {
        let mut create =
            ProtectedCreate::new(&path::join(dir, name), data, Acl::open(), mode, true, rng);
        create.handle_link(link, tokens);
        create.start(tokens);
        let mut enroll = Enroll {
            dir: dir.to_owned(),
            create,
            link: *link,
            pairs: Vec::new(),
            applied: None,
            arrived: Vec::new(),
            ops: VecDeque::new(),
        };
        enroll.pump(tokens);
        enroll
    }

    /// Moves the protected create's ops out, a listing right behind each create of the node.
    fn pump(&mut self, tokens: &mut Tokens) {
        while let Some((token, op)) = self.create.poll_op() {
            let node_create = matches!(&op, Op::Create { path, .. }
                if path::parent(path) == Some(self.dir.as_str())
                    && protected::is_protected(path::name(path)));
            self.ops.push_back((token, op));
            if node_create {
                let listing = tokens.next();
                let path = self.dir.clone();
                self.ops
                    .push_back((listing, Op::GetChildren { path, watch: false }));
                self.pairs.push(Pair {
                    create: token,
                    listing,
                    epoch: self.link.epoch(),
                });
            }
        }
    }
}

impl Sub for Enroll {
    /// The create's outcome, with whatever listing is valid for it.
    type Outcome = Result<(Created, Listing), Error>;

    fn handle_op(&mut self, token: Token, result: &Reply, tokens: &mut Tokens) -> bool {
        if self.pairs.iter().any(|p| p.listing == token) {
            self.arrived.push((token, result.clone()));
            return true;
        }
        if !self.create.handle_op(token, result, tokens) {
            return false;
        }
        if result.is_ok() && self.pairs.iter().any(|p| p.create == token) {
            self.applied = Some(token);
        }
        self.pump(tokens);
        true
    }

    fn handle_link(&mut self, link: &Link, tokens: &mut Tokens) {
        self.link = *link;
        self.create.handle_link(link, tokens);
        self.pump(tokens);
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.ops.pop_front()
    }

    fn poll_outcome(&mut self) -> Option<Self::Outcome> {
        let outcome = self.create.poll_outcome()?;
        Some(outcome.map(|created| {
            let paired = self
                .applied
                .and_then(|c| self.pairs.iter().find(|p| p.create == c));
            let listing = match paired {
                None => Listing::Needed,
                Some(&Pair { listing, epoch, .. }) => {
                    match self.arrived.iter().position(|a| a.0 == listing) {
                        Some(i) => Listing::Ready {
                            result: self.arrived.swap_remove(i).1,
                            epoch,
                        },
                        None => Listing::InFlight {
                            token: listing,
                            epoch,
                        },
                    }
                }
            };
            (created, listing)
        }))
    }

    fn is_done(&self) -> bool {
        self.create.is_done() && self.ops.is_empty()
    }
}
