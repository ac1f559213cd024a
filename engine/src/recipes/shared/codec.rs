//! The byte formats of shared values and counters (WIRE.md): big-endian numbers of a fixed
//! length. One decoder for every recipe that reads them (`SharedCount`, the semaphore's max
//! leases node, the atomic counters): another length is corrupt data, reported, never misread.

use crate::Error;

/// `data` as exactly `N` bytes; [`Error::CorruptData`] naming `path` and `what` otherwise.
pub(crate) fn be_bytes<const N: usize>(
    path: &str,
    data: &[u8],
    what: &str,
) -> Result<[u8; N], Error> {
    <[u8; N]>::try_from(data).map_err(|_| Error::CorruptData {
        path: path.to_owned(),
        reason: format!("{what} is {N} bytes, found {}", data.len()),
    })
}

/// A `SharedCount` node's data: a 4-byte big-endian `i32` (Curator's `SharedCount`).
pub(crate) fn decode_count(path: &str, data: &[u8]) -> Result<i32, Error> {
    be_bytes::<4>(path, data, "a count").map(i32::from_be_bytes)
}

/// The expected version of a compare-and-set. ZooKeeper reads -1 as "any version" (reached
/// after 2^32 - 1 writes, the version having wrapped): no compare-and-set can be made at it,
/// and sending it would write blindly, so it is refused with [`Error::InvalidArgument`].
pub(crate) fn expected_version(version: i32) -> Result<Option<i32>, Error> {
    if version == -1 {
        let why = "the node is at version -1, which ZooKeeper reads as any version: no \
                   compare-and-set can be made at it (write it once unconditionally)";
        return Err(Error::InvalidArgument(why.into()));
    }
    Ok(Some(version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_is_four_big_endian_bytes_and_nothing_else() {
        assert_eq!(decode_count("/c", &[0, 0, 1, 2]), Ok(258));
        assert_eq!(decode_count("/c", &(-7i32).to_be_bytes()), Ok(-7));
        for bad in [&[][..], &[1, 2, 3], &[0, 0, 0, 0, 1]] {
            let Err(Error::CorruptData { path, reason }) = decode_count("/c", bad) else {
                panic!("{bad:?} read as a count");
            };
            assert_eq!(path, "/c");
            assert_eq!(reason, format!("a count is 4 bytes, found {}", bad.len()));
        }
    }
}
