//! `sesame.toml`: read as raw TOML (unknown keys are errors), then checked
//! into a [`Config`] whose values are already parsed. Paths are relative to
//! the file's folder. Without a file, the built-in defaults of DESIGN §4 apply.

pub mod clients;
mod init_template;
mod mail;
mod observability;
mod policy;
pub mod server;
mod tokens;
mod toml_error;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use clients::{AuthMethod, Client, Clients, ConsentMode, GrantType, SigningAlg};
pub use init_template::init_file;
pub use mail::{MailConfig, MailTransport};
pub use observability::LogFormat;
pub use policy::{Backoff, CharClass, LoginLimits, MailLimits, PolicyConfig, WindowLimit};
pub use tokens::{SessionConfig, TokenConfig};

use mail::{RawMail, mail_config};
use policy::{RawPolicy, policy_config};
pub use server::ServerConfig;
use tokens::{RawSessions, RawTokens, session_config, token_config};
pub(crate) use toml_error::toml_error;

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
const DEFAULT_FROM: &str = "Espace Citoyens <nepasrepondre@example.org>";

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    issuer: Option<String>,
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    keys_dir: Option<PathBuf>,
    clients_file: Option<PathBuf>,
    trusted_proxies: Option<Vec<String>>,
    metrics_listen: Option<String>,
    log_format: Option<String>,
    #[serde(default)]
    server: server::RawServer,
    #[serde(default)]
    mail: RawMail,
    #[serde(default)]
    policy: RawPolicy,
    #[serde(default)]
    tokens: RawTokens,
    #[serde(default)]
    sessions: RawSessions,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Issuer identifier, without a trailing slash.
    pub issuer: String,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// SQLite in `data_dir` (the default), or PostgreSQL (`database_url`).
    pub database: crate::store::Database,
    pub keys_dir: PathBuf,
    /// `None`: the built-in demo client only.
    pub clients_file: Option<PathBuf>,
    pub mail: MailConfig,
    pub policy: PolicyConfig,
    pub tokens: TokenConfig,
    pub sessions: SessionConfig,
    pub server: ServerConfig,
    /// Where Prometheus scrapes `/metrics`; `None`: no metrics at all.
    pub metrics_listen: Option<SocketAddr>,
    pub log_format: LogFormat,
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

    /// The path of the issuer URL (`/sesame` for `https://ville.example/sesame`,
    /// empty for an issuer at the root): every route is served under it.
    pub fn issuer_path(&self) -> &str {
        let after_scheme = self.issuer.split_once("://").map_or("", |(_, rest)| rest);
        after_scheme.find('/').map_or("", |i| &after_scheme[i..])
    }

    /// Whether cookies must carry `Secure`.
    pub fn https(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    /// Loads the relying parties this configuration names.
    pub fn load_clients(&self) -> Result<Clients, ConfigError> {
        match &self.clients_file {
            Some(path) => self.load_clients_file(path),
            None => self.without_published_secret(Clients::demo(), Path::new("(built-in clients)")),
        }
    }

    /// Loads `path` as this instance's clients file would be loaded.
    fn load_clients_file(&self, path: &Path) -> Result<Clients, ConfigError> {
        self.without_published_secret(Clients::load(path)?, path)
    }

    /// The demo client's secret is printed in the docs: anyone could get
    /// tokens with it. Refused unless the issuer is this machine's loopback.
    fn without_published_secret(
        &self,
        clients: Clients,
        file: &Path,
    ) -> Result<Clients, ConfigError> {
        let published = crate::secrets::sha256(clients::DEMO_CLIENT_SECRET.as_bytes());
        let exposed = clients.iter().find(|c| c.secret_digest == Some(published));
        match exposed {
            Some(client) if !self.loopback_issuer() => Err(ConfigError::new(
                file,
                format!("client \"{}\".secret", client.id),
                format!(
                    "is the demo secret published in Sésame's documentation, refused for the issuer {}: write a clients.toml with `sesame clients new-secret` (or run `sesame init`)",
                    self.issuer
                ),
            )),
            _ => Ok(clients),
        }
    }

    /// Whether the issuer is on this machine only (127.0.0.0/8, ::1, localhost).
    fn loopback_issuer(&self) -> bool {
        match url::Url::parse(&self.issuer)
            .ok()
            .and_then(|u| u.host().map(|h| h.to_owned()))
        {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(name)) => name == "localhost",
            None => false,
        }
    }

    /// The clients for a reload of a running server (SIGHUP).
    pub fn reload_clients(&self) -> Result<Clients, ConfigError> {
        match &self.clients_file {
            Some(path) => self.deployable_clients(path),
            None => self.load_clients(),
        }
    }

    /// `path` as a reload would take it (what `sesame clients check FILE`
    /// runs on a candidate before it is deployed): as at start, and not
    /// empty. An emptied or truncated file is far more likely a mistake
    /// than a wish to turn every service away, so it is refused like a
    /// broken one and the running clients stay.
    pub fn deployable_clients(&self, path: &Path) -> Result<Clients, ConfigError> {
        let clients = self.load_clients_file(path)?;
        if clients.is_empty() {
            return Err(ConfigError::new(
                path,
                "client",
                "declares no client: refused, since every service would be turned away",
            ));
        }
        Ok(clients)
    }

    fn from_raw(raw: RawConfig, base: &Path, file: &Path) -> Result<Config, ConfigError> {
        let at = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let issuer = parse_issuer(file, raw.issuer.as_deref().unwrap_or(DEFAULT_ISSUER))?;
        let listen = parse_listen(file, raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN))?;
        let data_dir = at(raw.data_dir.unwrap_or_else(|| "data".into()));
        let keys_dir = at(raw.keys_dir.unwrap_or_else(|| "keys".into()));
        let database = database(file, raw.database_url, &data_dir)?;
        let clients_file = raw.clients_file.map(at);
        let mail = mail_config(raw.mail, file, &at, &data_dir)?;
        let policy = policy_config(raw.policy, file)?;
        let mut tokens = token_config(raw.tokens, file)?;
        // A request must outlive the verification link a sign-up sends.
        tokens.interaction_ttl = tokens
            .interaction_ttl
            .max(policy.verification_ttl_seconds + 600);
        let sessions = session_config(raw.sessions, file)?;
        let server = server::server_config(raw.server, raw.trusted_proxies, file)?;
        let metrics_listen = observability::metrics_listen(file, raw.metrics_listen.as_deref())?;
        let log_format = observability::log_format(file, raw.log_format.as_deref())?;
        Ok(Config {
            issuer,
            listen,
            data_dir,
            database,
            keys_dir,
            clients_file,
            mail,
            policy,
            tokens,
            sessions,
            server,
            metrics_listen,
            log_format,
        })
    }
}

/// `database_url` absent: SQLite in the data folder; present: a
/// PostgreSQL URL (its syntax is checked when the database is opened).
fn database(
    file: &Path,
    url: Option<String>,
    data_dir: &Path,
) -> Result<crate::store::Database, ConfigError> {
    match url {
        None => Ok(crate::store::Database::Sqlite(data_dir.to_owned())),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(crate::store::Database::Postgres(url))
        }
        Some(_) => Err(ConfigError::new(
            file,
            "database_url",
            "expected a PostgreSQL URL, postgres://user:password@host/database \
             (absent: SQLite in data_dir)",
        )),
    }
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

#[cfg(test)]
mod tests;
