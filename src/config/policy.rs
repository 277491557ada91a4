//! `[policy]` of `sesame.toml`: the password rules, the lifetime of
//! verification links and unverified accounts, and the limits on how many
//! verification / reset mails a visitor may ask for, how failed sign-ins
//! slow down further attempts, and how many pending requests one client
//! address may open (docs/configuration.md, docs/security.md).

use std::path::Path;

use serde::Deserialize;

use super::{ConfigError, positive};

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    password_min_length: Option<usize>,
    password_require: Option<Vec<String>>,
    verification_ttl_seconds: Option<i64>,
    password_min_score: Option<u8>,
    unverified_account_ttl_days: Option<i64>,
    audit_retention_days: Option<i64>,
    mail_min_interval_seconds: Option<i64>,
    /// Was per address; now counted per (address, requester): a third
    /// party's requests must not use up the owner's.
    #[serde(alias = "mail_max_per_address_per_hour")]
    mail_max_per_requester_per_hour: Option<i64>,
    mail_max_per_address_per_window: Option<i64>,
    mail_address_window_seconds: Option<i64>,
    mail_max_per_ip_per_hour: Option<i64>,
    login_failures_before_delay: Option<i64>,
    login_client_failures_before_delay: Option<i64>,
    login_first_delay_seconds: Option<i64>,
    login_max_delay_seconds: Option<i64>,
    login_forget_after_seconds: Option<i64>,
    pending_requests_per_client: Option<i64>,
    pending_requests_window_seconds: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharClass {
    Lower,
    Upper,
    Digit,
    Symbol,
}

#[derive(Debug, Clone)]
pub struct PolicyConfig {
    pub password_min_length: usize,
    pub password_require: Vec<CharClass>,
    pub verification_ttl_seconds: i64,
    /// Lowest zxcvbn score (0–4) a new password must reach; 0 turns it off.
    pub password_min_score: u8,
    /// Accounts still unverified after this long are removed.
    pub unverified_account_ttl_days: i64,
    /// Audit events older than this are purged by housekeeping.
    pub audit_retention_days: i64,
    /// Abuse limits on verification and reset mails; 0 turns one off.
    pub mail_limits: MailLimits,
    /// How failed sign-ins slow down the next attempts.
    pub login_limits: LoginLimits,
    /// How many pending authorization requests one client address may
    /// open per window; 0 turns it off.
    pub pending_requests: WindowLimit,
}

/// At most `max` events per `window_seconds` (0 = no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowLimit {
    pub max: i64,
    pub window_seconds: i64,
}

/// A growing delay after failures: the first `free` failures of a run cost
/// nothing; each further one blocks the key for `first_delay_seconds`,
/// doubled each time, at most `max_delay_seconds`. A run is forgotten
/// `forget_after_seconds` after its last failure or block, whichever ends
/// later: never a permanent lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub free: i64,
    pub first_delay_seconds: i64,
    pub max_delay_seconds: i64,
    pub forget_after_seconds: i64,
}

/// Sign-in throttling, per submitted address and per client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    pub account: Backoff,
    pub client: Backoff,
}

/// How many verification / reset mails a visitor may ask for. A requester
/// is a client address: the limits that a third party can reach are its
/// own (per address *and* requester), and the per-address ceiling counts
/// over a short window, so the owner gets a link within that window
/// whatever others asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailLimits {
    /// Seconds between two mails to one address asked by one requester.
    pub min_interval_seconds: i64,
    /// Mails to one address one requester may ask for in an hour.
    pub max_per_requester_per_hour: i64,
    /// Mails to one address, whoever asks, per `address_window_seconds`.
    pub max_per_address_per_window: i64,
    pub address_window_seconds: i64,
    /// Mails one requester may ask for in an hour, all addresses together.
    pub max_per_ip_per_hour: i64,
}

pub(super) fn policy_config(raw: RawPolicy, file: &Path) -> Result<PolicyConfig, ConfigError> {
    let password_min_length = raw.password_min_length.unwrap_or(8);
    if !(1..=128).contains(&password_min_length) {
        return Err(ConfigError::new(
            file,
            "policy.password_min_length",
            "must be between 1 and 128",
        ));
    }
    let require = raw
        .password_require
        .unwrap_or_else(|| vec!["lower".into(), "upper".into(), "digit".into()]);
    let password_require = require
        .iter()
        .map(|class| match class.as_str() {
            "lower" => Ok(CharClass::Lower),
            "upper" => Ok(CharClass::Upper),
            "digit" => Ok(CharClass::Digit),
            "symbol" => Ok(CharClass::Symbol),
            other => Err(ConfigError::new(
                file,
                "policy.password_require",
                format!("`{other}` is not one of \"lower\", \"upper\", \"digit\", \"symbol\""),
            )),
        })
        .collect::<Result<_, _>>()?;
    let verification_ttl_seconds = positive(
        file,
        "policy.verification_ttl_seconds",
        raw.verification_ttl_seconds,
        300,
    )?;
    let password_min_score = raw.password_min_score.unwrap_or(2);
    if password_min_score > 4 {
        return Err(ConfigError::new(
            file,
            "policy.password_min_score",
            "must be between 0 (off) and 4",
        ));
    }
    let unverified_account_ttl_days = positive(
        file,
        "policy.unverified_account_ttl_days",
        raw.unverified_account_ttl_days,
        7,
    )?;
    let audit_retention_days = positive(
        file,
        "policy.audit_retention_days",
        raw.audit_retention_days,
        crate::accounts::audit::DEFAULT_RETENTION_DAYS,
    )?;
    let limit = |key: &str, value: Option<i64>, default: i64| match value {
        None => Ok(default),
        Some(v) if v >= 0 => Ok(v),
        Some(v) => Err(ConfigError::new(
            file,
            key,
            format!("must be 0 (no limit) or more, not {v}"),
        )),
    };
    let mail_limits = MailLimits {
        min_interval_seconds: limit(
            "policy.mail_min_interval_seconds",
            raw.mail_min_interval_seconds,
            60,
        )?,
        max_per_requester_per_hour: limit(
            "policy.mail_max_per_requester_per_hour",
            raw.mail_max_per_requester_per_hour,
            5,
        )?,
        max_per_address_per_window: limit(
            "policy.mail_max_per_address_per_window",
            raw.mail_max_per_address_per_window,
            10,
        )?,
        address_window_seconds: positive(
            file,
            "policy.mail_address_window_seconds",
            raw.mail_address_window_seconds,
            300,
        )?,
        max_per_ip_per_hour: limit(
            "policy.mail_max_per_ip_per_hour",
            raw.mail_max_per_ip_per_hour,
            20,
        )?,
    };
    let backoff = |free_key: &str, free: Option<i64>, default_free: i64| {
        Ok::<_, ConfigError>(Backoff {
            free: limit(free_key, free, default_free)?,
            first_delay_seconds: positive(
                file,
                "policy.login_first_delay_seconds",
                raw.login_first_delay_seconds,
                2,
            )?,
            max_delay_seconds: positive(
                file,
                "policy.login_max_delay_seconds",
                raw.login_max_delay_seconds,
                900,
            )?,
            forget_after_seconds: positive(
                file,
                "policy.login_forget_after_seconds",
                raw.login_forget_after_seconds,
                3600,
            )?,
        })
    };
    let login_limits = LoginLimits {
        account: backoff(
            "policy.login_failures_before_delay",
            raw.login_failures_before_delay,
            5,
        )?,
        client: backoff(
            "policy.login_client_failures_before_delay",
            raw.login_client_failures_before_delay,
            100,
        )?,
    };
    let pending_requests = WindowLimit {
        max: limit(
            "policy.pending_requests_per_client",
            raw.pending_requests_per_client,
            300,
        )?,
        window_seconds: positive(
            file,
            "policy.pending_requests_window_seconds",
            raw.pending_requests_window_seconds,
            600,
        )?,
    };
    Ok(PolicyConfig {
        password_min_length,
        password_require,
        verification_ttl_seconds,
        password_min_score,
        unverified_account_ttl_days,
        audit_retention_days,
        mail_limits,
        login_limits,
        pending_requests,
    })
}
