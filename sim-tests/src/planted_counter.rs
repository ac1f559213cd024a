//! A naive counter increment, the way Curator's `DistributedAtomicValue` runs it inside its
//! retry loop: read, `setData` at the version read, and after a `ConnectionLoss` start over.
//! When the lost write had been applied, starting over applies the increment a second time
//! while the caller is told it happened once. The counter checks must catch it
//! (`tests/planted_counter.rs`); without the flaw, the same increment reports the lost reply
//! as unknown and passes.

use docent::{Acl, Client, CreateMode, Error, Op, OpResult};

use crate::atomic::Outcome;

/// The bug a [`naive_increment`] carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterFlaw {
    /// None: a lost write reply is reported as unknown. The control.
    None,
    /// A lost write reply is retried blindly (read again, write again).
    BlindRetry,
}

/// Adds one to the 8-byte counter at `path` (created when absent; its parent must exist),
/// each read and write sent once (the client's retry loop would hide the lost reply).
pub async fn naive_increment(client: &Client, path: &str, flaw: CounterFlaw) -> Outcome {
    let path = path.to_owned();
    loop {
        let read = Op::GetData {
            path: path.clone(),
            watch: false,
        };
        let write = match client.submit(read).await.map(|r| r.result) {
            Ok(OpResult::Data { data, stat }) => {
                let value = <[u8; 8]>::try_from(data.as_slice()).map_or(0, i64::from_be_bytes);
                Op::SetData {
                    path: path.clone(),
                    data: (value + 1).to_be_bytes().to_vec(),
                    version: Some(stat.version),
                }
            }
            Err(Error::NoNode) => Op::Create {
                path: path.clone(),
                data: 1i64.to_be_bytes().to_vec(),
                acl: Acl::open(),
                mode: CreateMode::Persistent,
            },
            Ok(_) | Err(_) => return Outcome::NotApplied,
        };
        let written = client.submit(write).await.map(|_| true);
        match Outcome::of_try_set(&written) {
            Outcome::Unknown if flaw == CounterFlaw::BlindRetry => continue,
            Outcome::NotApplied if written.as_ref().is_err_and(conflict) => continue,
            outcome => return outcome,
        }
    }
}

/// Someone else wrote between the read and the write: read again.
fn conflict(error: &Error) -> bool {
    matches!(error, Error::BadVersion | Error::NodeExists | Error::NoNode)
}
