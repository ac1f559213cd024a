//! Guarded writes in commit order (see [`FenceLog`], [`SlotFence`]).

use std::sync::{Arc, Mutex};

use docent::recipes::fencing::is_fenced_out;
use docent::{Error, MultiResult};

/// One landed write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landed {
    /// The commit zxid (the written node's mzxid after the write).
    pub zxid: i64,
    /// The writer's fencing token.
    pub token: i64,
    /// The writer.
    pub who: String,
}

/// Every guarded write's outcome for one lease. Cheap to clone; clones share one record.
///
/// # Example
/// ```
/// use docent::{MultiResult, Stat};
/// use docent_sim::check::FenceLog;
///
/// let landed = |mzxid| Ok(vec![MultiResult::DataSet(Stat { mzxid, ..Stat::default() })]);
/// let log = FenceLog::new();
/// log.record("a", 7, &landed(0x10)); // a, under token 7, committed at zxid 0x10
/// log.record("b", 9, &landed(0x12)); // b took over with 9
/// assert!(log.check().is_ok());
/// log.record("a", 7, &landed(0x15)); // a never learnt it lost the lease: its write lands late
/// let err = log.check().unwrap_err();
/// assert!(err.starts_with("stale write landed: a (token 7) at zxid 0x15"), "{err}");
/// ```
#[derive(Debug, Clone, Default)]
pub struct FenceLog {
    inner: Arc<Mutex<Log>>,
}

#[derive(Debug, Default)]
struct Log {
    landed: Vec<Landed>,
    fenced_out: u64,
}

impl FenceLog {
    /// An empty log.
    pub fn new() -> FenceLog {
        FenceLog::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Log> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the outcome of a guarded write by `who` under `token`: landed at the mzxid of
    /// its first `DataSet` result, refused because the lease was gone, or neither (another
    /// error: its outcome is unknown or it failed for another reason).
    pub fn record(&self, who: &str, token: i64, result: &Result<Vec<MultiResult>, Error>) {
        match result {
            Ok(results) => {
                let zxid = results.iter().find_map(|r| match r {
                    MultiResult::DataSet(stat) => Some(stat.mzxid),
                    _ => None,
                });
                if let Some(zxid) = zxid {
                    self.record_landed(who, token, zxid);
                }
            }
            Err(e) if is_fenced_out(e) => self.lock().fenced_out += 1,
            Err(_) => {}
        }
    }

    /// Records that a write by `who` under `token` committed at `zxid` (for writes whose
    /// zxid comes from elsewhere than [`FenceLog::record`] looks).
    pub fn record_landed(&self, who: &str, token: i64, zxid: i64) {
        self.lock().landed.push(Landed {
            zxid,
            token,
            who: who.to_owned(),
        });
    }

    /// The writes that landed, in the order they were recorded.
    pub fn landed(&self) -> Vec<Landed> {
        self.lock().landed.clone()
    }

    /// How many writes were refused because the lease was gone.
    pub fn fenced_out(&self) -> u64 {
        self.lock().fenced_out
    }

    /// Safety: in commit order, tokens never go down.
    pub fn check(&self) -> Result<(), String> {
        let mut landed = self.landed();
        landed.sort_by_key(|l| l.zxid);
        for pair in landed.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if b.token < a.token {
                return Err(format!(
                    "stale write landed: {} (token {}) at zxid {:#x} after {} (token {}) at \
                     zxid {:#x}",
                    b.who, b.token, b.zxid, a.who, a.token, a.zxid
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
///
/// ```
/// use docent::{MultiResult, Stat};
/// use docent_sim::check::SlotFence;
///
/// let landed = |mzxid| Ok(vec![MultiResult::DataSet(Stat { mzxid, ..Stat::default() })]);
/// let slots = SlotFence::new(1);
/// // In a simulation, `exists` reads the ensemble: `|n| sim.inspect(|m| m.node(None, n).is_some())`.
/// let a = slots.take("a", 7, "/sem/lease-1", |_| true);
/// slots.record(a, "a", 7, &landed(0x10));
/// slots.leave(a.unwrap(), "a", 7);
/// let b = slots.take("b", 9, "/sem/lease-2", |n| n == "/sem/lease-2");
/// assert_eq!(b, Some(0));
/// slots.record(b, "b", 9, &landed(0x12));
/// assert!(slots.check().is_ok());
/// ```
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

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
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
        let mut s = self.lock();
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
        let mut s = self.lock();
        if s.holders[slot]
            .as_ref()
            .is_some_and(|h| h.0 == who && h.1 == token)
        {
            s.holders[slot] = None;
        }
    }

    /// Records a guarded write by `who` under `token` in `slot` (`None`: a grant seen after
    /// its node was gone, whose write must not land), as [`FenceLog::record`] does.
    pub fn record(
        &self,
        slot: Option<usize>,
        who: &str,
        token: i64,
        result: &Result<Vec<MultiResult>, Error>,
    ) {
        let mut s = self.lock();
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
        let s = self.lock();
        if let Some(first) = s.violations.first() {
            return Err(first.clone());
        }
        for (slot, log) in s.logs.iter().enumerate() {
            log.check().map_err(|e| format!("slot {slot}: {e}"))?;
        }
        Ok(())
    }
}
