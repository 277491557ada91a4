//! Creating citizens: the email as a checked type and a fresh opaque `sub`.

use crate::store::users::User;
use crate::store::{self, Tx};

/// A syntactically plausible email address, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Option<Email> {
        let s = input.trim();
        let (local, domain) = s.rsplit_once('@')?;
        let ok = !local.is_empty()
            && local.len() <= 64
            && s.len() <= 254
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !s.chars().any(|c| {
                c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';')
            })
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        ok.then(|| Email(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new citizen record with an opaque random `sub` (never the email).
pub fn new_user(email: &Email, password_hash: String, now: i64) -> User {
    User {
        sub: crate::secrets::random_b64(18),
        email: email.as_str().to_owned(),
        password_hash,
        created_at: now,
        updated_at: now,
        ..User::default()
    }
}

/// The citizen `sub`, if the account still exists.
pub fn by_sub(tx: &Tx<'_>, sub: &str) -> store::Result<Option<User>> {
    store::users::by_sub(tx, sub)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(Email::parse(" nathalie@example.test ").is_some());
        for bad in [
            "", "a", "a@b", "@b.c", "a b@c.d", "a@b..c.", "a@.b.c", "<a@b.c>",
        ] {
            assert!(Email::parse(bad).is_none(), "{bad}");
        }
    }
}
