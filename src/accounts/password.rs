//! Password hashing with argon2id (m = 19 MiB, t = 2, p = 1), always off the
//! async executor and bounded by a semaphore sized to the cores, so a burst
//! of logins queues instead of starving token issuance (DESIGN §3b).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes on the calling thread (CLI use).
pub fn hash_blocking(password: &str) -> Result<String, String> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// The result of checking a password.
#[derive(Debug, PartialEq)]
pub struct Checked {
    pub ok: bool,
    /// A new hash when the stored one used outdated parameters.
    pub rehash: Option<String>,
}

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    /// argon2 computations started, for the operator and for tests that
    /// show a refused request cost none.
    runs: Arc<AtomicU64>,
}

impl Default for Hasher {
    fn default() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Hasher {
            permits: Arc::new(Semaphore::new(cores)),
            runs: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl Hasher {
    /// How many hashes and checks were started since the process began.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    pub async fn hash(&self, password: String) -> Result<String, String> {
        self.runs.fetch_add(1, Ordering::Relaxed);
        let _permit = self.permits.acquire().await.map_err(|e| e.to_string())?;
        tokio::task::spawn_blocking(move || hash_blocking(&password))
            .await
            .map_err(|e| e.to_string())?
    }

    /// Checks `password` against `stored`; with no stored hash (unknown
    /// account) a dummy hash is checked instead so the answer takes as long.
    pub async fn verify(&self, stored: Option<String>, password: String) -> Checked {
        self.runs.fetch_add(1, Ordering::Relaxed);
        let Ok(_permit) = self.permits.acquire().await else {
            return Checked {
                ok: false,
                rehash: None,
            };
        };
        tokio::task::spawn_blocking(move || verify_blocking(stored.as_deref(), &password))
            .await
            .unwrap_or(Checked {
                ok: false,
                rehash: None,
            })
    }
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking(&crate::secrets::token()).unwrap_or_default())
}

fn verify_blocking(stored: Option<&str>, password: &str) -> Checked {
    // An imported bcrypt or PBKDF2 hash: checked with its own algorithm,
    // then replaced by argon2id (an outdated hash like any other).
    if let Some(legacy) = stored.filter(|s| {
        matches!(
            super::legacy_hash::family(s),
            Some(super::legacy_hash::Family::Bcrypt | super::legacy_hash::Family::Pbkdf2Sha256)
        )
    }) {
        let ok = super::legacy_hash::verify(legacy, password);
        let rehash = if ok {
            hash_blocking(password).ok()
        } else {
            None
        };
        return Checked { ok, rehash };
    }
    let known = stored.is_some();
    let text = stored.unwrap_or_else(|| dummy_hash());
    let Ok(parsed) = PasswordHash::new(text) else {
        return Checked {
            ok: false,
            rehash: None,
        };
    };
    let ok = argon2()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
        && known;
    let current = argon2();
    let outdated = parsed.algorithm.as_str() != "argon2id"
        || Params::try_from(&parsed)
            .map(|p| {
                let want = current.params();
                (p.m_cost(), p.t_cost(), p.p_cost())
                    != (want.m_cost(), want.t_cost(), want.p_cost())
            })
            .unwrap_or(true);
    let rehash = if ok && outdated {
        hash_blocking(password).ok()
    } else {
        None
    };
    Checked { ok, rehash }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verify_accepts_the_right_password_only() {
        let hasher = Hasher::default();
        let hash = hasher.hash("Correct-Horse-1".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(
            hasher
                .verify(Some(hash.clone()), "Correct-Horse-1".into())
                .await,
            Checked {
                ok: true,
                rehash: None
            }
        );
        assert!(!hasher.verify(Some(hash), "correct-horse-1".into()).await.ok);
        assert!(!hasher.verify(None, "anything".into()).await.ok);
    }

    #[test]
    fn outdated_parameters_are_rehashed() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw")
        .unwrap()
        .to_string();
        let checked = verify_blocking(Some(&weak), "pw");
        assert!(checked.ok);
        assert!(checked.rehash.unwrap().contains("m=19456,t=2,p=1"));
    }
}
