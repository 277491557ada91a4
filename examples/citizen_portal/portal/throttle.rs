//! Throttling of « J'ai déjà un compte »: the portal password of a legacy
//! espace is guessable by anyone signed in at the provider, and the espace
//! holds children's data. As at the provider's own sign-in: a few free
//! failures, then each failure blocks the identifiant tried — and the
//! provider identity trying — for a doubling delay, 2 s up to 15 minutes,
//! never for good. A success clears both. Counters are rows of the
//! portal's database, so a restart forgets nothing.

use rusqlite::Connection;

use super::db::{self, LinkCounter};

/// Failures that cost nothing.
const FREE: i64 = 5;
const FIRST_DELAY: i64 = 2;
const MAX_DELAY: i64 = 900;
/// A run of failures is forgotten this long after it ends.
const FORGET_AFTER: i64 = 3600;

/// The counters one attempt touches: the portal account guessed at and the
/// provider identity guessing.
pub fn keys(identifiant: &str, sub: &str) -> [String; 2] {
    [
        format!("identifiant:{}", identifiant.trim().to_lowercase()),
        format!("sub:{sub}"),
    ]
}

/// Seconds to wait before `keys` may be tried again, if any.
pub fn blocked(c: &Connection, keys: &[String], now: i64) -> rusqlite::Result<Option<i64>> {
    let mut wait = None;
    for key in keys {
        if let Some(counter) = db::link_counter(c, key)?.filter(|k| k.blocked_until > now) {
            wait = wait.max(Some(counter.blocked_until - now));
        }
    }
    Ok(wait)
}

/// Counts a failure of each key (before the password is checked: a
/// success clears it), blocking past the free ones.
pub fn fail(c: &Connection, keys: &[String], now: i64) -> rusqlite::Result<()> {
    for key in keys {
        let failures = match db::link_counter(c, key)? {
            Some(k) if now <= k.last_failure.max(k.blocked_until) + FORGET_AFTER => k.failures + 1,
            _ => 1,
        };
        let blocked_until = match delay(failures) {
            0 => 0,
            d => now + d,
        };
        let counter = LinkCounter {
            failures,
            last_failure: now,
            blocked_until,
        };
        db::put_link_counter(c, key, &counter)?;
    }
    Ok(())
}

/// Forgets the keys' failures (the right password was given).
pub fn clear(c: &Connection, keys: &[String]) -> rusqlite::Result<()> {
    for key in keys {
        db::delete_link_counter(c, key)?;
    }
    Ok(())
}

/// The block the `failures`th failure of a run earns, in seconds.
fn delay(failures: i64) -> i64 {
    let over = failures - FREE;
    if over <= 0 {
        return 0;
    }
    let doublings = u32::try_from((over - 1).min(30)).unwrap_or(30);
    (FIRST_DELAY << doublings).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_two_seconds_to_fifteen_minutes() {
        let d: Vec<i64> = (1..=16).map(delay).collect();
        assert_eq!(
            d,
            vec![0, 0, 0, 0, 0, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
        );
    }
}
