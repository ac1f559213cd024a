//! Curator's queue wire format: the item bytes of a node and the node names of each kind of
//! queue (WIRE.md). Pure functions: the consumer decides what to take, in what order, from these.
//!
//! Item bytes (`ItemSerializer`): i32 BE `0x00010001`, then per item `0x01`, i32 BE length and
//! the bytes, then `0x02`. Anything else is a foreign or broken node:
//! [`Error::CorruptData`], never misread.

use crate::Error;

/// The version word that opens every node of a Curator queue.
const VERSION: i32 = 0x0001_0001;
const ITEM_OPCODE: u8 = 0x01;
const EOF_OPCODE: u8 = 0x02;

/// The prefix of every item node of a [`DistributedQueue`](super::DistributedQueue) (and of
/// the id, priority and delay queues): `queue-`.
pub const QUEUE_PREFIX: &str = "queue-";

/// The bytes of a node holding `items` (Curator's `ItemSerializer.serialize`).
pub fn encode<T: AsRef<[u8]>>(items: &[T]) -> Vec<u8> {
    let len: usize = items.iter().map(|i| 5 + i.as_ref().len()).sum();
    let mut out = Vec::with_capacity(4 + len + 1);
    out.extend_from_slice(&VERSION.to_be_bytes());
    for item in items {
        let item = item.as_ref();
        out.push(ITEM_OPCODE);
        out.extend_from_slice(&(item.len() as i32).to_be_bytes());
        out.extend_from_slice(item);
    }
    out.push(EOF_OPCODE);
    out
}

/// The items of node `path` holding `bytes` (Curator's `ItemSerializer.deserialize`), or
/// [`Error::CorruptData`] saying what is wrong.
pub fn decode(path: &str, bytes: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let corrupt = |reason: String| Error::CorruptData {
        path: path.to_owned(),
        reason,
    };
    let word = |at: usize| -> Option<i32> {
        let b = bytes.get(at..at + 4)?;
        Some(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    match word(0) {
        Some(VERSION) => {}
        Some(v) => {
            return Err(corrupt(format!(
                "not a Curator queue node (version {v:#x})"
            )))
        }
        None => return Err(corrupt(format!("{} bytes: no version word", bytes.len()))),
    }
    let mut at = 4;
    let mut items = Vec::new();
    loop {
        match bytes.get(at) {
            Some(&ITEM_OPCODE) => {
                let len = word(at + 1)
                    .ok_or_else(|| corrupt(format!("item length cut short at byte {at}")))?;
                let start = at + 5;
                let end = usize::try_from(len)
                    .ok()
                    .and_then(|len| start.checked_add(len))
                    .filter(|end| *end <= bytes.len())
                    .ok_or_else(|| corrupt(format!("item of length {len} at byte {at}")))?;
                items.push(bytes[start..end].to_vec());
                at = end;
            }
            Some(&EOF_OPCODE) if at + 1 == bytes.len() => return Ok(items),
            Some(&EOF_OPCODE) => {
                return Err(corrupt(format!(
                    "{} bytes after the end",
                    bytes.len() - at - 1
                )))
            }
            Some(op) => return Err(corrupt(format!("opcode {op:#x} at byte {at}"))),
            None => return Err(corrupt("no end marker".into())),
        }
    }
}

/// What kind of queue names and orders the nodes (WIRE.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// `queue-<seq>`, in sequence order.
    Plain,
    /// `queue-|<id>|<seq>` (`DistributedIdQueue`), in sequence order.
    Id,
    /// `queue-` + `1`/`0` + `%08X` + `<seq>` (`DistributedPriorityQueue`): plain string order.
    Priority,
    /// `queue-|%08X(epoch ms)|<seq>` (`DistributedDelayQueue`): in order of the due time.
    Delay,
}

/// The name (before the sequence) of a node of a priority queue: `queue-` + `1` for
/// `priority >= 0` else `0`, then `%08X` of `priority` as u32 (Curator's `priorityToString`).
pub fn priority_prefix(priority: i32) -> String {
    let sign = if priority >= 0 { '1' } else { '0' };
    format!("{QUEUE_PREFIX}{sign}{:08X}", priority as u32)
}

/// The name (before the sequence) of a node of a delay queue due at `epoch_ms`.
pub fn delay_prefix(epoch_ms: i64) -> String {
    format!("{QUEUE_PREFIX}|{:08X}|", epoch_ms)
}

/// The name (before the sequence) of a node of an id queue for `id`; ids may not hold `|`
/// or `/` (Curator's `DistributedIdQueue` refuses the separator too).
pub fn id_prefix(id: &str) -> Result<String, Error> {
    if id.is_empty() || id.contains(['|', '/']) {
        return Err(Error::InvalidArgument(format!(
            "queue item id {id:?} must be non-empty without '|' or '/'"
        )));
    }
    Ok(format!("{QUEUE_PREFIX}|{id}|"))
}

/// The id of an id queue's node name `queue-|<id>|<seq>`.
pub fn id_of(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(QUEUE_PREFIX)?.strip_prefix('|')?;
    let end = rest.rfind('|')?;
    Some(&rest[..end])
}

/// The due time (epoch ms) of a delay queue's node name `queue-|%08X|<seq>`.
pub fn due_of(name: &str) -> Option<i64> {
    let rest = name.strip_prefix(QUEUE_PREFIX)?.strip_prefix('|')?;
    let (hex, _) = rest.split_once('|')?;
    i64::from_str_radix(hex, 16).ok()
}

/// The sequence suffix (10 digits) of a node name.
fn sequence(name: &str) -> &str {
    &name[name.len().saturating_sub(10)..]
}

/// The item nodes among `children` (names starting with `prefix`), in the order `kind`
/// consumes them. Foreign children are left out.
pub fn sorted(children: Vec<String>, prefix: &str, kind: Kind) -> Vec<String> {
    let mut nodes: Vec<String> = children
        .into_iter()
        .filter(|c| c.starts_with(prefix) && c.len() >= prefix.len() + 10)
        .collect();
    match kind {
        Kind::Plain | Kind::Priority => nodes.sort(),
        Kind::Id => nodes.sort_by(|a, b| sequence(a).cmp(sequence(b))),
        Kind::Delay => {
            nodes.sort_by_key(|n| (due_of(n).unwrap_or(i64::MAX), sequence(n).to_owned()))
        }
    }
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_curator_does() {
        // What Curator 5.4's ItemSerializer writes for ["ab", ""].
        let bytes = encode(&[b"ab".as_slice(), b""]);
        assert_eq!(
            bytes,
            [0, 1, 0, 1, 1, 0, 0, 0, 2, b'a', b'b', 1, 0, 0, 0, 0, 2]
        );
        assert_eq!(decode("/q/n", &bytes), Ok(vec![b"ab".to_vec(), Vec::new()]));
        assert_eq!(decode("/q/n", &encode::<&[u8]>(&[])), Ok(Vec::new()));
    }

    #[test]
    fn corrupt_bytes_are_reported_never_misread() {
        let good = encode(&[b"xyz"]);
        let cases: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"hello".to_vec(),
            good[..good.len() - 1].to_vec(),
            [&good[..], &[0][..]].concat(),
            {
                let mut b = good.clone();
                b[8] = 9; // length 9 of a 3-byte item
                b
            },
            {
                let mut b = good.clone();
                b[4] = 7;
                b
            },
            [&good[..4], &[1, 0xff, 0xff, 0xff, 0xff, 2]].concat(), // negative length
        ];
        for bytes in cases {
            let got = decode("/q/queue-0000000001", &bytes);
            assert!(
                matches!(&got, Err(Error::CorruptData { path, .. }) if path == "/q/queue-0000000001"),
                "{bytes:?} gave {got:?}"
            );
        }
    }

    #[test]
    fn names_and_orders() {
        assert_eq!(priority_prefix(5), "queue-100000005");
        assert_eq!(priority_prefix(-1), "queue-0FFFFFFFF");
        assert_eq!(delay_prefix(0x18c_0000_0000), "queue-|18C00000000|");
        assert_eq!(id_prefix("job-7").unwrap(), "queue-|job-7|");
        assert!(id_prefix("a|b").is_err());
        assert_eq!(id_of("queue-|job-7|0000000003"), Some("job-7"));
        assert_eq!(due_of("queue-|0000000A|0000000003"), Some(10));
        let children = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        // Lower priority values first; negative before non-negative.
        let p = sorted(
            children(&[
                "queue-1000000050000000001",
                "queue-0FFFFFFFF0000000002",
                "queue-1000000010000000003",
                "x",
            ]),
            QUEUE_PREFIX,
            Kind::Priority,
        );
        assert_eq!(
            p,
            children(&[
                "queue-0FFFFFFFF0000000002",
                "queue-1000000010000000003",
                "queue-1000000050000000001"
            ])
        );
        let d = sorted(
            children(&["queue-|00000014|0000000001", "queue-|0000000A|0000000002"]),
            QUEUE_PREFIX,
            Kind::Delay,
        );
        assert_eq!(
            d,
            children(&["queue-|0000000A|0000000002", "queue-|00000014|0000000001"])
        );
        let i = sorted(
            children(&[
                "queue-|b|0000000002",
                "queue-|a|0000000003",
                "queue-|c|0000000001",
            ]),
            QUEUE_PREFIX,
            Kind::Id,
        );
        assert_eq!(
            i,
            children(&[
                "queue-|c|0000000001",
                "queue-|b|0000000002",
                "queue-|a|0000000003"
            ])
        );
    }
}
