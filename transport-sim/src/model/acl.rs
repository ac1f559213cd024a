//! ACLs as ZooKeeper checks them: `world:anyone`, `digest` ids (`user:base64(sha1(user:password))`),
//! `auth` expanded to the session's authenticated ids at create time, and `ip` (the simulated
//! clients all connect from 127.0.0.1).

use docent::{Acl, AuthInfo, Error, Id, Perms};

/// The address every simulated client connects from.
const CLIENT_IP: &str = "127.0.0.1";

/// The ids a session holds once its credentials are checked: always `ip:127.0.0.1`, plus one
/// `digest` id per digest credential.
pub(crate) fn session_ids(auth: &[AuthInfo]) -> Vec<Id> {
    let mut ids = vec![Id::new("ip", CLIENT_IP)];
    for info in auth {
        if info.scheme == "digest" {
            ids.push(Id::new("digest", digest_id(&info.auth)));
        }
    }
    ids
}

/// `user:base64(sha1(user:password))` for the credentials `user:password`.
pub fn digest_id(credentials: &[u8]) -> String {
    let user_end = credentials
        .iter()
        .position(|&b| b == b':')
        .unwrap_or(credentials.len());
    let user = String::from_utf8_lossy(&credentials[..user_end]);
    format!("{user}:{}", base64(&sha1(credentials)))
}

/// True when a session holding `ids` has `perm` on a node with `acl` (ZooKeeper's `checkACL`,
/// without super users).
pub(crate) fn allowed(acl: &[Acl], perm: Perms, ids: &[Id]) -> bool {
    if acl.is_empty() {
        return true;
    }
    acl.iter().filter(|a| a.perms.contains(perm)).any(|a| {
        (a.id.scheme == "world" && a.id.id == "anyone")
            || ids
                .iter()
                .any(|id| id.scheme == a.id.scheme && id_matches(&a.id, &id.id))
    })
}

fn id_matches(acl_id: &Id, held: &str) -> bool {
    if acl_id.scheme == "ip" {
        // An exact address or a CIDR; the simulated clients are all 127.0.0.1.
        let (addr, bits) = match acl_id.id.split_once('/') {
            Some((a, b)) => (a, b.parse::<u32>().unwrap_or(32)),
            None => (acl_id.id.as_str(), 32),
        };
        return match (parse_v4(addr), parse_v4(held)) {
            (Some(a), Some(h)) => {
                let mask = if bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - bits.min(32))
                };
                a & mask == h & mask
            }
            _ => false,
        };
    }
    acl_id.id == held
}

fn parse_v4(s: &str) -> Option<u32> {
    let mut out = 0u32;
    let mut n = 0;
    for part in s.split('.') {
        out = out << 8 | part.parse::<u8>().ok()? as u32;
        n += 1;
    }
    (n == 4).then_some(out)
}

/// ZooKeeper's `fixupACL`: rejects an empty or malformed ACL with [`Error::InvalidAcl`] and
/// replaces `auth` entries with the session's authenticated (digest) ids.
pub(crate) fn fixup(acl: &[Acl], ids: &[Id]) -> Result<Vec<Acl>, Error> {
    if acl.is_empty() {
        return Err(Error::InvalidAcl);
    }
    let mut out: Vec<Acl> = Vec::with_capacity(acl.len());
    let mut push = |a: Acl| {
        if !out.contains(&a) {
            out.push(a);
        }
    };
    for a in acl {
        match a.id.scheme.as_str() {
            "world" if a.id.id == "anyone" => push(a.clone()),
            "auth" => {
                let mut any = false;
                for id in ids.iter().filter(|id| id.scheme == "digest") {
                    any = true;
                    push(Acl::new(a.perms, id.clone()));
                }
                if !any {
                    return Err(Error::InvalidAcl);
                }
            }
            "digest" if a.id.id.split(':').count() == 2 => push(a.clone()),
            "ip" if valid_ip_id(&a.id.id) => push(a.clone()),
            _ => return Err(Error::InvalidAcl),
        }
    }
    Ok(out)
}

fn valid_ip_id(id: &str) -> bool {
    match id.split_once('/') {
        Some((addr, bits)) => parse_v4(addr).is_some() && bits.parse::<u8>().is_ok_and(|b| b <= 32),
        None => parse_v4(id).is_some(),
    }
}

/// SHA-1 (FIPS 180-1) of `data`.
fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, &wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

/// Standard base64 with padding.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_vectors() {
        let hex = |d: [u8; 20]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(hex(sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(hex(sha1(long)), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    }

    #[test]
    fn base64_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
    }

    #[test]
    fn digest_matches_zookeeper() {
        // DigestAuthenticationProvider.generateDigest("super:test")
        assert_eq!(
            digest_id(b"super:test"),
            "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
        );
    }

    #[test]
    fn checks_and_fixup() {
        let ids = session_ids(&[AuthInfo::digest("u", "p")]);
        let mine = fixup(&Acl::creator_all(), &ids).unwrap();
        assert_eq!(mine.len(), 1);
        assert!(allowed(&mine, Perms::WRITE, &ids));
        assert!(!allowed(&mine, Perms::WRITE, &session_ids(&[])));
        assert_eq!(
            fixup(&Acl::creator_all(), &session_ids(&[])),
            Err(Error::InvalidAcl)
        );
        assert_eq!(fixup(&[], &ids), Err(Error::InvalidAcl));
        assert!(allowed(&Acl::read_only(), Perms::READ, &[]));
        assert!(!allowed(&Acl::read_only(), Perms::WRITE, &[]));
        let local = [Acl::new(Perms::ALL, Id::new("ip", "127.0.0.0/8"))];
        assert!(allowed(&local, Perms::READ, &ids));
    }
}
