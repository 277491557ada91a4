//! Password hashes brought by `sesame user import` from a previous
//! provider: bcrypt (`$2b$`, `$2a$`, `$2y$`) and PBKDF2-SHA256
//! (`$pbkdf2-sha256$`, in the PHC form `i=ROUNDS,l=32$SALT$HASH` with
//! standard base64, or passlib's `ROUNDS$SALT$HASH` with its `.`-for-`+`
//! base64). They are checked at sign-in (off the executor, like argon2)
//! and replaced by argon2id at the first success.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use subtle::ConstantTimeEq;

/// Highest PBKDF2 round count accepted: far above any real deployment,
/// low enough that one sign-in cannot hold a core for seconds.
const MAX_PBKDF2_ROUNDS: u32 = 5_000_000;

/// Which family a stored hash belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Argon2,
    Bcrypt,
    Pbkdf2Sha256,
}

/// The family of `hash`, if it is one Sésame can check.
pub fn family(hash: &str) -> Option<Family> {
    if hash.starts_with("$argon2id$")
        || hash.starts_with("$argon2i$")
        || hash.starts_with("$argon2d$")
    {
        Some(Family::Argon2)
    } else if ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p)) {
        Some(Family::Bcrypt)
    } else if hash.starts_with("$pbkdf2-sha256$") {
        Some(Family::Pbkdf2Sha256)
    } else {
        None
    }
}

/// Whether `hash` is well formed for its family (checked by `user import`
/// before anything is written); the reason otherwise.
pub fn check_format(hash: &str) -> Result<Family, String> {
    let family = family(hash)
        .ok_or("password_hash must start with $argon2id$, $2b$ (bcrypt) or $pbkdf2-sha256$")?;
    let ok = match family {
        Family::Argon2 => argon2::password_hash::phc::PasswordHash::new(hash).is_ok(),
        Family::Bcrypt => hash.parse::<bcrypt::HashParts>().is_ok(),
        Family::Pbkdf2Sha256 => Pbkdf2::parse(hash).is_some(),
    };
    if ok {
        Ok(family)
    } else {
        Err(format!(
            "password_hash is not a well-formed {family:?} hash"
        ))
    }
}

/// Checks `password` against a bcrypt or PBKDF2 `hash` (blocking: call it
/// off the executor). `false` for anything malformed.
pub fn verify(hash: &str, password: &str) -> bool {
    match family(hash) {
        Some(Family::Bcrypt) => bcrypt::verify(password, hash).unwrap_or(false),
        Some(Family::Pbkdf2Sha256) => Pbkdf2::parse(hash).is_some_and(|p| p.verify(password)),
        _ => false,
    }
}

/// A parsed `$pbkdf2-sha256$` hash.
struct Pbkdf2 {
    rounds: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl Pbkdf2 {
    fn parse(text: &str) -> Option<Pbkdf2> {
        let rest = text.strip_prefix("$pbkdf2-sha256$")?;
        let mut parts = rest.split('$');
        let (params, salt, hash) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let (rounds, salt, hash) = if let Ok(rounds) = params.parse::<u32>() {
            // passlib: adapted base64 ('.' for '+'), no padding.
            let ab64 = |s: &str| STANDARD_NO_PAD.decode(s.replace('.', "+")).ok();
            (rounds, ab64(salt)?, ab64(hash)?)
        } else {
            // PHC: `i=ROUNDS` and an optional `l=LENGTH`, standard base64.
            let mut rounds = None;
            for param in params.split(',') {
                match param.split_once('=')? {
                    ("i", n) => rounds = n.parse().ok(),
                    ("l", _) => {}
                    _ => return None,
                }
            }
            let b64 = |s: &str| STANDARD_NO_PAD.decode(s).ok();
            (rounds?, b64(salt)?, b64(hash)?)
        };
        let sane = (1..=MAX_PBKDF2_ROUNDS).contains(&rounds)
            && !salt.is_empty()
            && (16..=64).contains(&hash.len());
        sane.then_some(Pbkdf2 { rounds, salt, hash })
    }

    fn verify(&self, password: &str) -> bool {
        let mut computed = vec![0u8; self.hash.len()];
        pbkdf2::pbkdf2_hmac::<pbkdf2::sha2::Sha256>(
            password.as_bytes(),
            &self.salt,
            self.rounds,
            &mut computed,
        );
        computed.ct_eq(&self.hash).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pbkdf2_in_both_notations() {
        // RFC 7914 §11's PBKDF2-HMAC-SHA256 vector: "passwd", "salt", 1 round.
        let dk = hex::decode("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc")
            .unwrap();
        let phc = format!(
            "$pbkdf2-sha256$i=1,l=32${}${}",
            STANDARD_NO_PAD.encode(b"salt"),
            STANDARD_NO_PAD.encode(&dk)
        );
        assert_eq!(check_format(&phc), Ok(Family::Pbkdf2Sha256));
        assert!(verify(&phc, "passwd"));
        assert!(!verify(&phc, "passwe"));
        let passlib = format!(
            "$pbkdf2-sha256$1${}${}",
            STANDARD_NO_PAD.encode(b"salt").replace('+', "."),
            STANDARD_NO_PAD.encode(&dk).replace('+', ".")
        );
        assert!(verify(&passlib, "passwd"));
    }

    #[test]
    fn malformed_hashes_are_named_and_never_match() {
        for bad in [
            "plain",
            "$2b$04$short",
            "$pbkdf2-sha256$i=0,l=32$c2FsdA$AAAA",
            "$pbkdf2-sha256$x=1$c2FsdA$AAAA",
            "$argon2id$nonsense",
        ] {
            assert!(check_format(bad).is_err(), "{bad}");
            assert!(!verify(bad, "x"), "{bad}");
        }
    }
}
