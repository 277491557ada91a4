//! `server_secrets`: keys the server makes for itself at first start.

use super::args;

use super::{Result, Tx};

/// The secret `name`, stored as `fresh` if it has none yet.
pub fn get_or_create(tx: &Tx<'_>, name: &str, fresh: &[u8; 32], now: i64) -> Result<[u8; 32]> {
    tx.execute(
        "INSERT INTO server_secrets (name, value, created_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (name) DO NOTHING",
        args![name, &fresh[..], now],
    )?;
    let stored: Option<Vec<u8>> = tx.query_opt(
        "SELECT value FROM server_secrets WHERE name = ?1",
        args![name],
        |row| row.get(0),
    )?;
    stored
        .and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok())
        .ok_or_else(|| super::Error::Internal(format!("server secret {name} is malformed")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_then_kept() {
        let db = crate::store::memory();
        let first = get_or_create(&db.tx(), "csrf", &[1; 32], 0).unwrap();
        assert_eq!(first, [1; 32]);
        assert_eq!(
            get_or_create(&db.tx(), "csrf", &[2; 32], 1).unwrap(),
            [1; 32]
        );
    }
}
