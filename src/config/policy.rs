//! `[policy]` of `sesame.toml`: the password rules, the lifetime of
//! verification links and unverified accounts, and the limits on how many
//! verification / reset mails a visitor may ask for (docs/accounts.md).

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
    mail_min_interval_seconds: Option<i64>,
    mail_max_per_address_per_hour: Option<i64>,
    mail_max_per_ip_per_hour: Option<i64>,
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
    /// Abuse limits on verification and reset mails; 0 turns one off.
    pub mail_limits: MailLimits,
}

/// How many verification / reset mails a visitor may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailLimits {
    /// Seconds between two mails to one address.
    pub min_interval_seconds: i64,
    pub max_per_address_per_hour: i64,
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
        max_per_address_per_hour: limit(
            "policy.mail_max_per_address_per_hour",
            raw.mail_max_per_address_per_hour,
            5,
        )?,
        max_per_ip_per_hour: limit(
            "policy.mail_max_per_ip_per_hour",
            raw.mail_max_per_ip_per_hour,
            20,
        )?,
    };
    Ok(PolicyConfig {
        password_min_length,
        password_require,
        verification_ttl_seconds,
        password_min_score,
        unverified_account_ttl_days,
        mail_limits,
    })
}
