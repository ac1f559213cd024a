//! The guarded write the suites make under a lease: set [`DATA`] to `who:token`. Its outcomes
//! go to a [`FenceLog`](docent_sim::check::FenceLog) (or a
//! [`SlotFence`](docent_sim::check::SlotFence)), whose check is that a stale holder's write
//! never lands after a newer holder's.

use docent::MultiOp;

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
