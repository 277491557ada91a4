//! Sign-in sessions: found by the digest of their cookie, their idle
//! deadline sliding with use; opened after a sign-in in place of the
//! browser's previous one.

use crate::store::{self, Tx};

pub use crate::store::sessions::{Session, Standing};

/// The live session under `digest`, its idle deadline (`idle` seconds
/// after use) pushed forward when due.
pub fn live(tx: &Tx<'_>, digest: &str, now: i64, idle: i64) -> store::Result<Option<Session>> {
    let found = store::sessions::live(tx, digest, now)?;
    if let Some(s) = &found {
        slide(tx, digest, s, now, idle)?;
    }
    Ok(found)
}

/// [`live`], with what its citizen granted `client_id` and whether they
/// have a second factor (read together: an authorization request).
pub fn live_with_standing(
    tx: &Tx<'_>,
    digest: &str,
    now: i64,
    idle: i64,
    client_id: &str,
) -> store::Result<Option<(Session, Standing)>> {
    let found = store::sessions::live_with_standing(tx, digest, now, client_id)?;
    if let Some((s, _)) = &found {
        slide(tx, digest, s, now, idle)?;
    }
    Ok(found)
}

/// Pushes a live session's idle deadline forward when due.
fn slide(tx: &Tx<'_>, digest: &str, s: &Session, now: i64, idle: i64) -> store::Result<()> {
    if needs_touch(s.idle_expires_at, now, idle) {
        store::sessions::touch(tx, digest, now + idle)?;
    }
    Ok(())
}

/// Opens `session` under `digest`, ending the browser's `previous` one.
pub fn open(
    tx: &Tx<'_>,
    previous: Option<&str>,
    digest: &str,
    session: &Session,
    now: i64,
) -> store::Result<()> {
    let tx = tx.savepoint()?;
    if let Some(previous) = previous {
        store::sessions::delete(&tx, previous)?;
    }
    store::sessions::insert(&tx, digest, session, now)?;
    tx.commit()
}

/// Sliding idle expiry, written only when the deadline would move by a
/// minute, or by half the idle lifetime when that is shorter.
fn needs_touch(idle_expires_at: i64, now: i64, idle: i64) -> bool {
    let step = (idle / 2).clamp(1, 60);
    now + idle - idle_expires_at >= step
}

#[cfg(test)]
mod tests {
    use super::needs_touch;

    #[test]
    fn idle_deadline_slides_for_short_and_long_lifetimes() {
        assert!(!needs_touch(1800, 0, 1800), "just written");
        assert!(!needs_touch(1800, 59, 1800));
        assert!(needs_touch(1800, 60, 1800));
        assert!(!needs_touch(10, 4, 10));
        assert!(needs_touch(10, 5, 10), "short lifetimes slide too");
        assert!(!needs_touch(1, 0, 1), "just written");
        assert!(needs_touch(1, 1, 1));
    }
}
