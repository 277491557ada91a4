//! The audit trail: every security event goes through [`record`], inside
//! the database job of the event itself (so the record and the event are
//! kept or undone together, with no extra round trip). Never a password,
//! code, token or cookie in it: only who, which service, from where, and a
//! short detail. docs/operations.md lists the kinds; `sesame audit` prints
//! them; the account space shows a citizen their own with [`recent`].

use crate::store::{self, Tx, audit};

pub use crate::store::audit::{Event, Filter};

/// What happened. The text form is what `sesame audit` prints and filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SignInSucceeded,
    SignInFailed,
    SignInThrottled,
    /// A right password for a disabled account.
    SignInDisabled,
    SecondFactorSucceeded,
    SecondFactorFailed,
    SecondFactorEnabled,
    SecondFactorDisabled,
    RecoveryCodeUsed,
    PasswordChanged,
    PasswordReset,
    EmailVerified,
    EmailChanged,
    ConsentGiven,
    ConsentWithdrawn,
    TokensRevoked,
    AccountDeleted,
    /// A command of `sesame` run by the city's staff (detail: which).
    Admin,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SignInSucceeded => "sign_in.succeeded",
            Kind::SignInFailed => "sign_in.failed",
            Kind::SignInThrottled => "sign_in.throttled",
            Kind::SignInDisabled => "sign_in.disabled",
            Kind::SecondFactorSucceeded => "second_factor.succeeded",
            Kind::SecondFactorFailed => "second_factor.failed",
            Kind::SecondFactorEnabled => "second_factor.enabled",
            Kind::SecondFactorDisabled => "second_factor.disabled",
            Kind::RecoveryCodeUsed => "second_factor.recovery_code_used",
            Kind::PasswordChanged => "password.changed",
            Kind::PasswordReset => "password.reset",
            Kind::EmailVerified => "email.verified",
            Kind::EmailChanged => "email.changed",
            Kind::ConsentGiven => "consent.given",
            Kind::ConsentWithdrawn => "consent.withdrawn",
            Kind::TokensRevoked => "tokens.revoked",
            Kind::AccountDeleted => "account.deleted",
            Kind::Admin => "admin",
        }
    }
}

/// Where a request came from, as the HTTP layer saw it (the client
/// address after `trusted_proxies`, the `User-Agent` header). Empty for
/// the command line.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub address: Option<String>,
    pub user_agent: Option<String>,
}

/// Longest user agent kept: the header is the visitor's to fill.
const MAX_USER_AGENT: usize = 256;

impl Origin {
    pub fn new(address: Option<String>, user_agent: Option<&str>) -> Origin {
        Origin {
            address,
            user_agent: user_agent.map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_USER_AGENT)
                    .collect()
            }),
        }
    }
}

/// Records one event of `kind` about `sub` (if known) for `client` (if
/// any), from `origin`, with a short `detail` that must hold no secret.
pub fn record(
    tx: &Tx<'_>,
    kind: Kind,
    sub: Option<&str>,
    client: Option<&str>,
    origin: &Origin,
    detail: Option<&str>,
    now: i64,
) -> store::Result<()> {
    audit::insert(
        tx,
        &Event {
            at: now,
            kind: kind.as_str().to_owned(),
            sub: sub.map(str::to_owned),
            client_id: client.map(str::to_owned),
            address: origin.address.clone(),
            user_agent: origin.user_agent.clone(),
            detail: detail.map(str::to_owned),
        },
    )
}

/// A citizen's own most recent events, newest first (« Activité récente »
/// of the account space).
pub fn recent(tx: &Tx<'_>, sub: &str, limit: i64) -> store::Result<Vec<Event>> {
    audit::list(
        tx,
        &Filter {
            sub: Some(sub.to_owned()),
            limit: Some(limit),
            ..Filter::default()
        },
    )
}

/// Events older than this many days are purged by housekeeping.
pub const DEFAULT_RETENTION_DAYS: i64 = 365;

/// Rows one housekeeping job deletes at most; it runs again until done.
pub const PURGE_BATCH: i64 = 1000;

/// Deletes one batch of events older than `retention_days`; returns how
/// many (fewer than [`PURGE_BATCH`] once caught up).
pub fn purge(tx: &Tx<'_>, now: i64, retention_days: i64) -> store::Result<usize> {
    audit::purge(tx, now - retention_days * 86_400, PURGE_BATCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_then_listed_then_purged() {
        let db = crate::store::memory();
        let tx = db.tx();
        let origin = Origin::new(Some("203.0.113.7".into()), Some("Firefox\n<x>"));
        record(
            &tx,
            Kind::SignInFailed,
            Some("s1"),
            None,
            &origin,
            None,
            100,
        )
        .unwrap();
        record(
            &tx,
            Kind::ConsentGiven,
            Some("s1"),
            Some("portail"),
            &origin,
            None,
            200,
        )
        .unwrap();
        record(
            &tx,
            Kind::SignInFailed,
            Some("s2"),
            None,
            &origin,
            None,
            300,
        )
        .unwrap();
        let mine = recent(&tx, "s1", 10).unwrap();
        assert_eq!(mine.len(), 2);
        assert_eq!(mine[0].kind, "consent.given", "newest first");
        assert_eq!(mine[0].user_agent.as_deref(), Some("Firefox<x>"));
        let portal = audit::list(
            &tx,
            &Filter {
                client_id: Some("portail".into()),
                since: Some(150),
                ..Filter::default()
            },
        )
        .unwrap();
        assert_eq!(portal.len(), 1);
        assert_eq!(purge(&tx, 86_400 + 250, 1).unwrap(), 2);
        assert_eq!(audit::list(&tx, &Filter::default()).unwrap().len(), 1);
    }
}
