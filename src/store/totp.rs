//! `totp` and `recovery_codes`: a citizen's second factor (its key, whether
//! it was confirmed, the newest time step used) and the digests of its
//! single-use recovery codes.

use super::args;

use super::{Result, Tx};

/// A TOTP key as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    /// base32, as the authenticator app holds it.
    pub secret: String,
    pub created_at: i64,
    /// `None` while the enrolment waits for its first right code.
    pub confirmed_at: Option<i64>,
    pub last_step: i64,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("secret", &"[redacted]")
            .field("confirmed_at", &self.confirmed_at)
            .field("last_step", &self.last_step)
            .finish_non_exhaustive()
    }
}

pub fn get(tx: &Tx<'_>, sub: &str) -> Result<Option<Key>> {
    tx.query_opt(
        "SELECT secret, created_at, confirmed_at, last_step FROM totp WHERE sub = ?1",
        args![sub],
        |row| {
            Ok(Key {
                secret: row.get(0)?,
                created_at: row.get(1)?,
                confirmed_at: row.get(2)?,
                last_step: row.get(3)?,
            })
        },
    )
}

/// Whether `sub` has a confirmed second factor.
pub fn enrolled(tx: &Tx<'_>, sub: &str) -> Result<bool> {
    Ok(tx
        .query_opt(
            "SELECT 1 FROM totp WHERE sub = ?1 AND confirmed_at IS NOT NULL",
            args![sub],
            |_| Ok(()),
        )?
        .is_some())
}

/// Starts (or starts again) an enrolment with `secret`; a confirmed key is
/// never replaced this way. Returns whether the key was written.
pub fn begin(tx: &Tx<'_>, sub: &str, secret: &str, now: i64) -> Result<bool> {
    // `totp.`: PostgreSQL finds a bare column ambiguous here (the row in
    // place, or the one proposed?); SQLite reads both spellings the same.
    Ok(tx.execute(
        "INSERT INTO totp (sub, secret, created_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (sub) DO UPDATE SET secret = ?2, created_at = ?3, last_step = 0 \
             WHERE totp.confirmed_at IS NULL",
        args![sub, secret, now],
    )? == 1)
}

/// Confirms the waiting enrolment of `sub`, its first code being of time
/// step `step`; false when there is none waiting.
pub fn confirm(tx: &Tx<'_>, sub: &str, step: i64, now: i64) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE totp SET confirmed_at = ?3, last_step = ?2 \
             WHERE sub = ?1 AND confirmed_at IS NULL",
        args![sub, step, now],
    )? == 1)
}

/// Records that a code of time step `step` was used: false when that step
/// (or a newer one) was used already, so of two requests racing with the
/// same code only one gets through.
pub fn use_step(tx: &Tx<'_>, sub: &str, step: i64) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE totp SET last_step = ?2 \
             WHERE sub = ?1 AND confirmed_at IS NOT NULL AND last_step < ?2",
        args![sub, step],
    )? == 1)
}

/// Removes the key and the recovery codes of `sub`; returns whether a
/// confirmed key was there.
pub fn delete(tx: &Tx<'_>, sub: &str) -> Result<bool> {
    tx.execute("DELETE FROM recovery_codes WHERE sub = ?1", args![sub])?;
    Ok(tx
        .query_opt(
            "DELETE FROM totp WHERE sub = ?1 RETURNING confirmed_at",
            args![sub],
            |row| row.get::<Option<i64>>(0),
        )?
        .flatten()
        .is_some())
}

/// Replaces every recovery code of `sub` with `digests`.
pub fn replace_codes(tx: &Tx<'_>, sub: &str, digests: &[String]) -> Result<()> {
    tx.execute("DELETE FROM recovery_codes WHERE sub = ?1", args![sub])?;
    for digest in digests {
        tx.execute(
            "INSERT INTO recovery_codes (sub, digest) VALUES (?1, ?2)",
            args![sub, digest],
        )?;
    }
    Ok(())
}

/// Uses the unused recovery code of `sub` with this digest; false when
/// there is none (unknown, or used already).
pub fn use_code(tx: &Tx<'_>, sub: &str, digest: &str, now: i64) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE recovery_codes SET used_at = ?3 \
             WHERE sub = ?1 AND digest = ?2 AND used_at IS NULL",
        args![sub, digest, now],
    )? == 1)
}

/// How many recovery codes of `sub` are still unused.
pub fn codes_left(tx: &Tx<'_>, sub: &str) -> Result<i64> {
    tx.query_one(
        "SELECT COUNT(*) FROM recovery_codes WHERE sub = ?1 AND used_at IS NULL",
        args![sub],
        |row| row.get(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enrolment_confirmation_steps_and_codes() {
        let db = crate::store::memory();
        let tx = db.tx();
        let user = crate::store::users::User {
            sub: "s1".into(),
            email: "a@example.test".into(),
            ..Default::default()
        };
        crate::store::users::insert(&tx, &user).unwrap();
        assert!(begin(&tx, "s1", "AAAA", 10).unwrap());
        assert!(!enrolled(&tx, "s1").unwrap(), "not before its first code");
        assert!(
            !use_step(&tx, "s1", 5).unwrap(),
            "an unconfirmed key is no factor"
        );
        assert!(
            begin(&tx, "s1", "BBBB", 20).unwrap(),
            "a new start replaces it"
        );
        assert!(confirm(&tx, "s1", 7, 30).unwrap());
        assert!(!confirm(&tx, "s1", 8, 31).unwrap());
        assert!(
            !begin(&tx, "s1", "CCCC", 40).unwrap(),
            "never over a confirmed key"
        );
        assert_eq!(get(&tx, "s1").unwrap().unwrap().secret, "BBBB");
        assert!(enrolled(&tx, "s1").unwrap());
        assert!(
            !use_step(&tx, "s1", 7).unwrap(),
            "the confirming step is used"
        );
        assert!(use_step(&tx, "s1", 8).unwrap());
        assert!(!use_step(&tx, "s1", 8).unwrap());

        replace_codes(&tx, "s1", &["d1".into(), "d2".into()]).unwrap();
        assert!(use_code(&tx, "s1", "d1", 50).unwrap());
        assert!(!use_code(&tx, "s1", "d1", 51).unwrap());
        assert!(!use_code(&tx, "s2", "d2", 51).unwrap(), "another citizen's");
        assert_eq!(codes_left(&tx, "s1").unwrap(), 1);
        replace_codes(&tx, "s1", &["d3".into()]).unwrap();
        assert!(!use_code(&tx, "s1", "d2", 52).unwrap(), "the old set died");
        assert!(delete(&tx, "s1").unwrap());
        assert!(!enrolled(&tx, "s1").unwrap());
        assert_eq!(codes_left(&tx, "s1").unwrap(), 0);
    }
}
