//! Random tokens and digests. Codes, refresh tokens, session cookies and
//! email links are 256-bit random strings stored only as SHA-256 digests.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq;

/// 256 random bits, base64url without padding (43 characters).
/// Length of a [`token`]: 32 random bytes in base64url without padding.
/// Every cookie, link and id made by `token` is recognised by it.
pub const TOKEN_LEN: usize = 43;

pub fn token() -> String {
    random_b64(32)
}

/// `n` random bytes, base64url without padding.
pub fn random_b64(n: usize) -> String {
    let mut buf = vec![0u8; n];
    rand::fill(&mut buf[..]);
    URL_SAFE_NO_PAD.encode(&buf)
}

/// A unique identifier that sorts by creation: 13 hex digits of
/// microseconds since 1970 (strictly increasing within the process), then 96
/// random bits. Rows keyed by it are appended to the rightmost page of their
/// b-tree instead of a random one, so a commit writes a page or two to the
/// WAL however many rows it adds.
pub fn ordered_id() -> String {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    let previous = LAST
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(now.max(last.saturating_add(1)))
        })
        .unwrap_or(now);
    let micros = now.max(previous.saturating_add(1));
    format!("{micros:013x}{}", random_b64(12))
}

/// Length of an [`ordered_id`].
const ORDERED_ID_LEN: usize = 13 + 16;

/// A secret token whose first part is an [`ordered_id`] (its key where it
/// is stored, so new rows are appended) and the rest 256 random bits; only
/// the SHA-256 of the whole token is stored beside the key.
/// Returns the key and the whole token.
pub fn keyed_token() -> (String, String) {
    let key = ordered_id();
    let whole = format!("{key}{}", token());
    (key, whole)
}

/// The key of a [`keyed_token`]; `None` for anything of another shape.
pub fn token_key(token: &str) -> Option<&str> {
    (token.len() == ORDERED_ID_LEN + TOKEN_LEN && token.is_ascii())
        .then(|| &token[..ORDERED_ID_LEN])
}

pub fn sha256(input: &[u8]) -> [u8; 32] {
    Sha256::digest(input).into()
}

/// The digest under which a secret token is stored.
pub fn digest(token: &str) -> String {
    hex::encode(sha256(token.as_bytes()))
}

/// `sha256:<hex>`, the form client secrets take in `clients.toml`.
pub fn sha256_prefixed(secret: &str) -> String {
    format!("sha256:{}", digest(secret))
}

pub fn parse_sha256_prefixed(value: &str) -> Option<[u8; 32]> {
    let hex_part = value.strip_prefix("sha256:")?;
    if hex_part.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut out).ok()?;
    Some(out)
}

/// Whether `secret` hashes to `expected`, compared in constant time.
pub fn secret_matches(secret: &str, expected: &[u8; 32]) -> bool {
    sha256(secret.as_bytes()).ct_eq(expected).into()
}

/// Constant-time equality of two strings (CSRF tokens and the like).
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// HMAC-SHA256 (RFC 2104) of `parts`, each prefixed by its length so
/// that no two lists of parts give the same input.
pub fn hmac(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let pad = |byte: u8| {
        let mut block = [byte; 64];
        block.iter_mut().zip(key).for_each(|(b, k)| *b ^= k);
        block
    };
    let mut inner = Sha256::new();
    inner.update(pad(0x36));
    for part in parts {
        inner.update((part.len() as u64).to_be_bytes());
        inner.update(part);
    }
    let mut outer = Sha256::new();
    outer.update(pad(0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// 32 random bytes, for a server key.
pub fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    rand::fill(&mut key[..]);
    key
}

/// base64url without padding, as tokens are written.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_is_rfc_2104_over_length_prefixed_parts() {
        // RFC 4231 test case 2's construction, with a 32-byte key and the
        // length prefix written out: the same digest as one plain HMAC call.
        let key = [0x0b; 32];
        let mut framed = 4u64.to_be_bytes().to_vec();
        framed.extend_from_slice(b"data");
        let mut inner = Sha256::new();
        inner.update([0x0b ^ 0x36; 32]);
        inner.update([0x36; 32]);
        inner.update(&framed);
        let mut outer = Sha256::new();
        outer.update([0x0b ^ 0x5c; 32]);
        outer.update([0x5c; 32]);
        outer.update(inner.finalize());
        let expected: [u8; 32] = outer.finalize().into();
        assert_eq!(hmac(&key, &[b"data"]), expected);
        assert_ne!(hmac(&key, &[b"ab", b"c"]), hmac(&key, &[b"a", b"bc"]));
    }

    #[test]
    fn tokens_are_256_bits_and_distinct() {
        let (a, b) = (token(), token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }

    #[test]
    fn ordered_ids_sort_by_creation_and_stay_unique() {
        let ids: Vec<String> = (0..1000).map(|_| ordered_id()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "strictly increasing");
        assert!(ids.iter().all(|id| id.len() == ORDERED_ID_LEN));
    }

    #[test]
    fn keyed_tokens_carry_their_key() {
        let (key, t) = keyed_token();
        assert_eq!(token_key(&t), Some(key.as_str()));
        assert_eq!(token_key(&t[1..]), None);
        assert_eq!(token_key(&"é".repeat(36)), None);
    }

    #[test]
    fn prefixed_digest_round_trips() {
        let stored = sha256_prefixed("s3cret");
        let parsed = parse_sha256_prefixed(&stored).unwrap();
        assert!(secret_matches("s3cret", &parsed));
        assert!(!secret_matches("s3cret!", &parsed));
        assert!(parse_sha256_prefixed("sha256:abc").is_none());
        assert!(parse_sha256_prefixed("md5:00").is_none());
    }
}
