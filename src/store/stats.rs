//! Counts for the metrics' gauges (citizens, live sessions, the mail
//! queue), read together in one job every few seconds rather than per
//! scrape, so a busy Prometheus cannot turn into a query storm.

use super::{Result, Tx, args};

/// What the gauges show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub citizens: i64,
    pub live_sessions: i64,
    pub mails_pending: i64,
    /// When the oldest mail still waiting was queued.
    pub oldest_mail_at: Option<i64>,
}

pub fn counts(tx: &Tx<'_>, now: i64) -> Result<Counts> {
    let citizens = tx.query_one("SELECT count(*) FROM users", args![], |r| r.get(0))?;
    let live_sessions = tx.query_one(
        "SELECT count(*) FROM sessions WHERE expires_at > ?1 AND idle_expires_at > ?1",
        args![now],
        |r| r.get(0),
    )?;
    let (mails_pending, oldest_mail_at) = tx.query_one(
        "SELECT count(*), min(created_at) FROM mail_queue",
        args![],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(Counts {
        citizens,
        live_sessions,
        mails_pending,
        oldest_mail_at,
    })
}

/// Bytes of the database holding data: its pages less the free ones
/// (what a `VACUUM` would leave). For the scale benchmark's size per citizen.
/// On PostgreSQL: the database's size on disk.
pub fn bytes_used(tx: &Tx<'_>) -> Result<i64> {
    if tx.is_postgres() {
        return tx.query_one(
            "SELECT pg_database_size(current_database())",
            args![],
            |r| r.get(0),
        );
    }
    let pragma = |name: &str| -> Result<i64> {
        tx.query_one(&format!("PRAGMA {name}"), args![], |r| r.get(0))
    };
    Ok((pragma("page_count")? - pragma("freelist_count")?) * pragma("page_size")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_database_counts_nothing() {
        let db = crate::store::memory();
        let counts = counts(&db.tx(), 0).unwrap();
        assert_eq!(
            counts,
            Counts {
                citizens: 0,
                live_sessions: 0,
                mails_pending: 0,
                oldest_mail_at: None
            }
        );
    }
}
