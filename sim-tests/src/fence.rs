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
