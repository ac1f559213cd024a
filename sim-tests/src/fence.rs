//! Guarded writes in commit order: each successful write's commit zxid and the token of the
//! lease it was made under. A stale holder's write landing after a newer holder's is the bug
//! fencing exists to prevent.

use std::sync::{Arc, Mutex};

use docent::recipes::fencing::is_fenced_out;
use docent::{Error, MultiOp, MultiResult};

/// The path every guarded write sets.
pub const DATA: &str = "/fenced-data";

/// The ops of one guarded write: set [`DATA`] to `who:token`.
pub fn write_ops(who: &str, token: i64) -> Vec<MultiOp> {
    vec![MultiOp::SetData {
        path: DATA.into(),
        data: format!("{who}:{token}").into_bytes(),
        version: None,
    }]
}

/// One landed write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landed {
    /// The commit zxid (the data node's mzxid after the write).
    pub zxid: i64,
    /// The writer's fencing token.
    pub token: i64,
    /// The writer.
    pub who: String,
}

/// Every guarded write's outcome. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct FenceLog {
    inner: Arc<Mutex<(Vec<Landed>, u64)>>,
}

impl FenceLog {
    /// A fresh log.
    pub fn new() -> FenceLog {
        FenceLog::default()
    }

    /// Records the outcome of a guarded write of [`write_ops`] by `who` under `token`.
    pub fn record(&self, who: &str, token: i64, result: &Result<Vec<MultiResult>, Error>) {
        let mut log = self.inner.lock().expect("fence log poisoned");
        match result {
            Ok(results) => {
                if let Some(MultiResult::DataSet(stat)) = results.first() {
                    log.0.push(Landed {
                        zxid: stat.mzxid,
                        token,
                        who: who.to_owned(),
                    });
                }
            }
            Err(e) if is_fenced_out(e) => log.1 += 1,
            Err(_) => {}
        }
    }

    /// Writes that landed.
    pub fn landed(&self) -> Vec<Landed> {
        self.inner.lock().expect("fence log poisoned").0.clone()
    }

    /// Writes refused because the lease was gone.
    pub fn fenced_out(&self) -> u64 {
        self.inner.lock().expect("fence log poisoned").1
    }

    /// Safety: in commit order, tokens never go down.
    pub fn check(&self) -> Result<(), String> {
        let mut landed = self.landed();
        landed.sort_by_key(|l| l.zxid);
        for pair in landed.windows(2) {
            if pair[1].token < pair[0].token {
                return Err(format!(
                    "stale write landed: {} (token {}) at zxid {:#x} after {} (token {}) at zxid {:#x}",
                    pair[1].who,
                    pair[1].token,
                    pair[1].zxid,
                    pair[0].who,
                    pair[0].token,
                    pair[0].zxid
                ));
            }
        }
        Ok(())
    }
}

/// Fencing for a lease of several slots (a semaphore of `n` leases): each grant takes a slot,
/// one that is free or whose holder's lease node is gone (ground truth); per slot, tokens
/// strictly increase in grant order and guarded writes land in token order, so a stale
/// holder's write landing after its successor's is caught as with one lease. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SlotFence {
    inner: Arc<Mutex<Slots>>,
}

#[derive(Debug)]
struct Slots {
    /// Each slot's holder: who, its token and lease node.
    holders: Vec<Option<(String, i64, String)>>,
    /// Each slot's tokens, in grant order.
    tokens: Vec<Vec<i64>>,
    /// Each slot's guarded writes.
    logs: Vec<FenceLog>,
    /// What broke, as it happened.
    violations: Vec<String>,
}

impl SlotFence {
    /// `n` free slots.
    pub fn new(n: usize) -> SlotFence {
        let slots = Slots {
            holders: vec![None; n],
            tokens: vec![Vec::new(); n],
            // One log each: a FenceLog's clones share one record.
            logs: (0..n).map(|_| FenceLog::new()).collect(),
            violations: Vec::new(),
        };
        SlotFence {
            inner: Arc::new(Mutex::new(slots)),
        }
    }

    /// `who` was granted `node` with `token`: the slot it takes (the first free one, else the
    /// first whose holder's node is gone by `exists`). `None` when its own node is already
    /// gone (a grant seen late, after a pause: any write it makes must be refused); a grant
    /// finding every slot held by a live node, or a token not above its slot's last, is a
    /// violation.
    pub fn take(
        &self,
        who: &str,
        token: i64,
        node: &str,
        exists: impl Fn(&str) -> bool,
    ) -> Option<usize> {
        let mut s = self.inner.lock().expect("slot fence poisoned");
        if !exists(node) {
            return None;
        }
        let free = s.holders.iter().position(Option::is_none);
        let slot = free.or_else(|| {
            let dead =
                |h: &Option<(String, i64, String)>| h.as_ref().is_some_and(|h| !exists(&h.2));
            s.holders.iter().position(dead)
        });
        let Some(slot) = slot else {
            let violation = format!(
                "{who} granted {token} while every slot is held: {:?}",
                s.holders
            );
            s.violations.push(violation);
            return None;
        };
        if let Some(&last) = s.tokens[slot].last() {
            if token <= last {
                let violation = format!("slot {slot}: {who} granted {token} after token {last}");
                s.violations.push(violation);
            }
        }
        s.tokens[slot].push(token);
        s.holders[slot] = Some((who.to_owned(), token, node.to_owned()));
        Some(slot)
    }

    /// `who` gives back the lease `token` it took `slot` with (a no-op if the slot has passed
    /// to another since).
    pub fn leave(&self, slot: usize, who: &str, token: i64) {
        let mut s = self.inner.lock().expect("slot fence poisoned");
        if s.holders[slot]
            .as_ref()
            .is_some_and(|h| h.0 == who && h.1 == token)
        {
            s.holders[slot] = None;
        }
    }

    /// Records a guarded write of [`write_ops`] by `who` under `token` in `slot` (`None`: a
    /// grant seen after its node was gone, whose write must not land).
    pub fn record(
        &self,
        slot: Option<usize>,
        who: &str,
        token: i64,
        result: &Result<Vec<MultiResult>, Error>,
    ) {
        let mut s = self.inner.lock().expect("slot fence poisoned");
        match slot {
            Some(slot) => s.logs[slot].record(who, token, result),
            None if result.is_ok() => {
                let violation =
                    format!("{who}'s write under {token} landed after its node was gone");
                s.violations.push(violation);
            }
            None => {}
        }
    }

    /// Safety: no violation at grant time, and in each slot, in commit order, tokens never go
    /// down.
    pub fn check(&self) -> Result<(), String> {
        let s = self.inner.lock().expect("slot fence poisoned");
        if let Some(first) = s.violations.first() {
            return Err(first.clone());
        }
        for (slot, log) in s.logs.iter().enumerate() {
            log.check().map_err(|e| format!("slot {slot}: {e}"))?;
        }
        Ok(())
    }
}
