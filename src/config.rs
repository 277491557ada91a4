//! `sesame.toml`: read as raw TOML (unknown keys are errors), then checked
//! into a [`Config`] whose values are already parsed. Paths are relative to
//! the file's folder. Without a file, the built-in defaults of DESIGN §4 apply.

pub mod clients;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use clients::{AuthMethod, Client, Clients, ConsentMode, GrantType, SigningAlg};

/// A configuration problem, naming the file, the key and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {key}: {problem}")]
pub struct ConfigError {
    pub file: String,
    pub key: String,
    pub problem: String,
}

impl ConfigError {
    pub fn new(file: &Path, key: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError {
            file: file.display().to_string(),
            key: key.into(),
            problem: problem.into(),
        }
    }
}

pub const DEFAULT_ISSUER: &str = "http://127.0.0.1:8080";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_FROM: &str = "Espace Citoyens <nepasrepondre@example.org>";

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    issuer: Option<String>,
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    keys_dir: Option<PathBuf>,
    clients_file: Option<PathBuf>,
    #[serde(default)]
    mail: RawMail,
    #[serde(default)]
    policy: RawPolicy,
    #[serde(default)]
    tokens: RawTokens,
    #[serde(default)]
    sessions: RawSessions,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMail {
    transport: Option<String>,
    from: Option<String>,
    outbox_dir: Option<PathBuf>,
    smtp_url: Option<String>,
    smtp_username: Option<String>,
    smtp_password: Option<String>,
    smtp_password_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    password_min_length: Option<usize>,
    password_require: Option<Vec<String>>,
    verification_ttl_seconds: Option<i64>,
    // — comptes (issue 3)
    password_min_score: Option<u8>,
    unverified_account_ttl_days: Option<i64>,
    mail_min_interval_seconds: Option<i64>,
    mail_max_per_address_per_hour: Option<i64>,
    mail_max_per_ip_per_hour: Option<i64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTokens {
    access_token_ttl_seconds: Option<i64>,
    id_token_ttl_seconds: Option<i64>,
    access_token_alg: Option<String>,
    refresh_idle_ttl_seconds: Option<i64>,
    refresh_absolute_ttl_seconds: Option<i64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSessions {
    idle_ttl_seconds: Option<i64>,
    absolute_ttl_seconds: Option<i64>,
}

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Issuer identifier, without a trailing slash.
    pub issuer: String,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub keys_dir: PathBuf,
    /// `None`: the built-in demo client only.
    pub clients_file: Option<PathBuf>,
    pub mail: MailConfig,
    pub policy: PolicyConfig,
    pub tokens: TokenConfig,
    pub sessions: SessionConfig,
}

#[derive(Debug, Clone)]
pub enum MailTransport {
    Outbox,
    Smtp {
        url: String,
        username: Option<String>,
        password: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct MailConfig {
    pub transport: MailTransport,
    pub from: String,
    pub outbox_dir: PathBuf,
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

#[derive(Debug, Clone)]
pub struct TokenConfig {
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub access_token_alg: SigningAlg,
    pub refresh_idle_ttl: i64,
    pub refresh_absolute_ttl: i64,
    /// Authorization codes: 60 s, single use (DESIGN §3).
    pub code_ttl: i64,
    /// How long a pending authorization request waits for the citizen.
    pub interaction_ttl: i64,
}

#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub idle_ttl: i64,
    pub absolute_ttl: i64,
}

impl Config {
    /// The built-in defaults, relative to the current directory.
    pub fn defaults() -> Config {
        Config::from_raw(
            RawConfig::default(),
            Path::new("."),
            Path::new("(built-in defaults)"),
        )
        .unwrap_or_else(|e| unreachable!("built-in defaults are valid: {e}"))
    }

    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(path, "(file)", format!("cannot read: {e}")))?;
        let raw: RawConfig = toml::from_str(&text).map_err(|e| toml_error(path, &text, &e))?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Config::from_raw(raw, base, path)
    }

    /// `--config` if given, else the built-in defaults.
    pub fn load_or_default(path: Option<&Path>) -> Result<Config, ConfigError> {
        match path {
            Some(p) => Config::load(p),
            None => Ok(Config::defaults()),
        }
    }

    /// Applies `serve --issuer`.
    pub fn set_issuer(&mut self, issuer: &str) -> Result<(), ConfigError> {
        self.issuer = parse_issuer(Path::new("--issuer"), issuer)?;
        Ok(())
    }

    /// Applies `serve --listen`.
    pub fn set_listen(&mut self, listen: &str) -> Result<(), ConfigError> {
        self.listen = parse_listen(Path::new("--listen"), listen)?;
        Ok(())
    }

    /// Whether cookies must carry `Secure`.
    pub fn https(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    /// Loads the relying parties this configuration names.
    pub fn load_clients(&self) -> Result<Clients, ConfigError> {
        match &self.clients_file {
            Some(path) => Clients::load(path),
            None => Ok(Clients::demo()),
        }
    }

    fn from_raw(raw: RawConfig, base: &Path, file: &Path) -> Result<Config, ConfigError> {
        let at = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let issuer = parse_issuer(file, raw.issuer.as_deref().unwrap_or(DEFAULT_ISSUER))?;
        let listen = parse_listen(file, raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN))?;
        let data_dir = at(raw.data_dir.unwrap_or_else(|| "data".into()));
        let keys_dir = at(raw.keys_dir.unwrap_or_else(|| "keys".into()));
        let clients_file = raw.clients_file.map(at);
        let mail = mail_config(raw.mail, file, &at, &data_dir)?;
        let policy = policy_config(raw.policy, file)?;
        let tokens = token_config(raw.tokens, file)?;
        let idle_ttl = positive(
            file,
            "sessions.idle_ttl_seconds",
            raw.sessions.idle_ttl_seconds,
            1800,
        )?;
        let absolute_ttl = positive(
            file,
            "sessions.absolute_ttl_seconds",
            raw.sessions.absolute_ttl_seconds,
            36_000,
        )?;
        Ok(Config {
            issuer,
            listen,
            data_dir,
            keys_dir,
            clients_file,
            mail,
            policy,
            tokens,
            sessions: SessionConfig {
                idle_ttl,
                absolute_ttl,
            },
        })
    }
}

pub(crate) fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let message = e.message().trim().to_owned();
    let line = e
        .span()
        .map(|span| text.get(..span.start).unwrap_or(text).matches('\n').count() + 1);
    let key = match line {
        Some(n) if n > 0 => format!("line {n}"),
        _ => "(syntax)".into(),
    };
    ConfigError::new(path, key, message)
}

fn parse_issuer(file: &Path, value: &str) -> Result<String, ConfigError> {
    let url = url::Url::parse(value)
        .map_err(|e| ConfigError::new(file, "issuer", format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::new(
            file,
            "issuer",
            "must be an http:// or https:// URL",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::new(
            file,
            "issuer",
            "must have no query and no fragment",
        ));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

fn parse_listen(file: &Path, value: &str) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|_| {
        ConfigError::new(
            file,
            "listen",
            format!("`{value}` is not an address:port such as 127.0.0.1:8080"),
        )
    })
}

fn positive(file: &Path, key: &str, value: Option<i64>, default: i64) -> Result<i64, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) if v > 0 => Ok(v),
        Some(v) => Err(ConfigError::new(
            file,
            key,
            format!("must be a positive number of seconds, not {v}"),
        )),
    }
}

fn mail_config(
    raw: RawMail,
    file: &Path,
    at: &dyn Fn(PathBuf) -> PathBuf,
    data_dir: &Path,
) -> Result<MailConfig, ConfigError> {
    let from = raw.from.unwrap_or_else(|| DEFAULT_FROM.into());
    if from.parse::<lettre::message::Mailbox>().is_err() {
        return Err(ConfigError::new(
            file,
            "mail.from",
            format!("`{from}` is not a mail address such as Name <a@b.org>"),
        ));
    }
    let outbox_dir = raw
        .outbox_dir
        .map(at)
        .unwrap_or_else(|| data_dir.join("outbox"));
    let transport = match raw.transport.as_deref().unwrap_or("outbox") {
        "outbox" => MailTransport::Outbox,
        "smtp" => {
            let url = raw
                .smtp_url
                .unwrap_or_else(|| "smtp://127.0.0.1:2525".into());
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(ConfigError::new(
                    file,
                    "mail.smtp_url",
                    "must start with smtp:// or smtps://",
                ));
            }
            let password = match (raw.smtp_password, raw.smtp_password_file) {
                (Some(p), _) => Some(p),
                (None, Some(path)) => Some(
                    std::fs::read_to_string(at(path))
                        .map_err(|e| {
                            ConfigError::new(
                                file,
                                "mail.smtp_password_file",
                                format!("cannot read: {e}"),
                            )
                        })?
                        .trim()
                        .to_owned(),
                ),
                (None, None) => std::env::var("SESAME_SMTP_PASSWORD").ok(),
            };
            MailTransport::Smtp {
                url,
                username: raw.smtp_username,
                password,
            }
        }
        other => {
            return Err(ConfigError::new(
                file,
                "mail.transport",
                format!("`{other}` is neither \"outbox\" nor \"smtp\""),
            ));
        }
    };
    Ok(MailConfig {
        transport,
        from,
        outbox_dir,
    })
}

fn policy_config(raw: RawPolicy, file: &Path) -> Result<PolicyConfig, ConfigError> {
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

fn token_config(raw: RawTokens, file: &Path) -> Result<TokenConfig, ConfigError> {
    let access_token_alg = match raw.access_token_alg.as_deref().unwrap_or("ES256") {
        "ES256" => SigningAlg::Es256,
        "RS256" => SigningAlg::Rs256,
        other => {
            return Err(ConfigError::new(
                file,
                "tokens.access_token_alg",
                format!("`{other}` is neither ES256 nor RS256"),
            ));
        }
    };
    Ok(TokenConfig {
        access_token_ttl: positive(
            file,
            "tokens.access_token_ttl_seconds",
            raw.access_token_ttl_seconds,
            600,
        )?,
        id_token_ttl: positive(
            file,
            "tokens.id_token_ttl_seconds",
            raw.id_token_ttl_seconds,
            3600,
        )?,
        access_token_alg,
        refresh_idle_ttl: positive(
            file,
            "tokens.refresh_idle_ttl_seconds",
            raw.refresh_idle_ttl_seconds,
            30 * 86_400,
        )?,
        refresh_absolute_ttl: positive(
            file,
            "tokens.refresh_absolute_ttl_seconds",
            raw.refresh_absolute_ttl_seconds,
            180 * 86_400,
        )?,
        code_ttl: 60,
        interaction_ttl: 3600,
    })
}

/// The `sesame.toml` that `sesame init` writes.
pub fn init_file(issuer: &str, listen: &str) -> String {
    format!(
        r#"# Sésame configuration — every key is described in docs/configuration.md.
# Paths are relative to this file's folder.
issuer = "{issuer}"
listen = "{listen}"
data_dir = "data"            # SQLite database, outbox
keys_dir = "keys"            # signing keys (secrets: back up and protect apart from data)
clients_file = "clients.toml"

[mail]
transport = "outbox"        # or "smtp"
from = "{DEFAULT_FROM}"
outbox_dir = "data/outbox"
smtp_url = "smtp://127.0.0.1:2525"

[policy]
password_min_length = 8
password_require = ["lower", "upper", "digit"]
verification_ttl_seconds = 300
# — comptes (issue 3), described in docs/accounts.md
password_min_score = 2              # zxcvbn score 0-4 a new password must reach (0: off)
unverified_account_ttl_days = 7     # unverified accounts are removed after this
mail_min_interval_seconds = 60      # between two verification/reset mails to one address
mail_max_per_address_per_hour = 5
mail_max_per_ip_per_hour = 20       # 0 turns a limit off

[tokens]
access_token_ttl_seconds = 600
id_token_ttl_seconds = 3600
access_token_alg = "ES256"
refresh_idle_ttl_seconds = 2592000      # 30 days
refresh_absolute_ttl_seconds = 15552000 # 180 days

[sessions]
idle_ttl_seconds = 1800
absolute_ttl_seconds = 36000
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn init_file_round_trips_with_paths_relative_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "sesame.toml",
            &init_file("https://id.example.org/", "0.0.0.0:443"),
        );
        let config = Config::load(&path).unwrap();
        assert_eq!(config.issuer, "https://id.example.org");
        assert_eq!(config.data_dir, dir.path().join("data"));
        assert_eq!(config.clients_file, Some(dir.path().join("clients.toml")));
        assert!(config.https());
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "sesame.toml",
            "issuer = \"http://a\"\n[policy]\npasword_min_length = 3\n",
        );
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("sesame.toml")
                && err.contains("pasword_min_length")
                && err.contains("line 3"),
            "{err}"
        );
    }

    #[test]
    fn bad_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        for (text, key) in [
            ("issuer = \"ftp://x\"", "issuer"),
            ("listen = \"nowhere\"", "listen"),
            ("[mail]\ntransport = \"pigeon\"", "mail.transport"),
            ("[mail]\nfrom = \"not an address\"", "mail.from"),
            (
                "[policy]\npassword_require = [\"emoji\"]",
                "policy.password_require",
            ),
            (
                "[policy]\nverification_ttl_seconds = 0",
                "policy.verification_ttl_seconds",
            ),
            (
                "[policy]\npassword_min_score = 5",
                "policy.password_min_score",
            ),
            (
                "[policy]\nunverified_account_ttl_days = 0",
                "policy.unverified_account_ttl_days",
            ),
            (
                "[policy]\nmail_max_per_ip_per_hour = -1",
                "policy.mail_max_per_ip_per_hour",
            ),
        ] {
            let path = write(dir.path(), "s.toml", text);
            let err = Config::load(&path).unwrap_err();
            assert_eq!(err.key, key, "{text}: {err}");
        }
    }
}
