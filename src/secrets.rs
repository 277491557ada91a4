//! Random tokens and digests. Codes, refresh tokens, session cookies and
//! email links are 256-bit random strings stored only as SHA-256 digests.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// 256 random bits, base64url without padding (43 characters).
pub fn token() -> String {
    random_b64(32)
}

/// `n` random bytes, base64url without padding.
pub fn random_b64(n: usize) -> String {
    let mut buf = vec![0u8; n];
    rand::fill(&mut buf[..]);
    URL_SAFE_NO_PAD.encode(&buf)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bits_and_distinct() {
        let (a, b) = (token(), token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
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
