//! The engine's seeded randomness: ChaCha8 from the transport's seed, never a thread RNG.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// A deterministic random source for ids and jitter.
#[derive(Debug, Clone)]
pub struct Rng(ChaCha8Rng);

impl Rng {
    /// A generator for `seed`, on its own `stream` (so that several machines of one process
    /// draw independent numbers from one seed).
    pub fn new(seed: u64, stream: u64) -> Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Rng(rng)
    }

    /// A uniformly random `u64`.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A uniform value in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0, "empty range");
        // Lemire's multiply-shift; the bias is negligible for the bounds used here.
        ((self.0.next_u64() as u128 * bound as u128) >> 64) as u64
    }

    /// A version-4 UUID in lower-case dashed form (36 characters), as Java's
    /// `UUID.randomUUID().toString()` prints it.
    pub fn uuid(&mut self) -> String {
        let mut b = [0u8; 16];
        self.0.fill_bytes(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }
}

/// True when `s` is a UUID in the dashed 8-4-4-4-12 hex form.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_uuids() {
        let a = Rng::new(7, 0).uuid();
        assert_eq!(a, Rng::new(7, 0).uuid());
        assert_ne!(a, Rng::new(7, 1).uuid());
        assert!(is_uuid(&a));
        assert_eq!(&a[14..15], "4");
        assert!(!is_uuid("53345f98-9423-4e0c-a7b5-9f819e3ec2e"));
        assert!(is_uuid("53345f98-9423-4e0c-a7b5-9f819e3ec2e1"));
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = Rng::new(1, 0);
        assert!((0..1000).all(|_| r.below(7) < 7));
    }
}
