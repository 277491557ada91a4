//! `[server]` and `trusted_proxies` of `sesame.toml`: how long a connection
//! may stall, how many may be open at once, and which reverse proxies are
//! believed when they name the client in `X-Forwarded-For`.

use std::path::Path;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

use super::ConfigError;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    header_timeout_seconds: Option<u64>,
    idle_timeout_seconds: Option<u64>,
    max_connections: Option<usize>,
    shutdown_grace_seconds: Option<u64>,
}

/// The connection limits and the proxies Sésame believes.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Time a client has to send a whole request head (HTTP/1), counted
    /// from when the server starts waiting for it — so it also ends a
    /// keep-alive connection that sends no next request.
    pub header_timeout: Duration,
    /// A connection on which no byte moves either way for this long is closed.
    pub idle_timeout: Duration,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// On SIGTERM / SIGINT, how long requests in flight may take to finish.
    pub shutdown_grace: Duration,
    /// Peers whose `X-Forwarded-For` is believed (DESIGN §4b).
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 512,
            shutdown_grace: Duration::from_secs(20),
            trusted_proxies: Vec::new(),
        }
    }
}

pub(super) fn server_config(
    raw: RawServer,
    proxies: Option<Vec<String>>,
    file: &Path,
) -> Result<ServerConfig, ConfigError> {
    let default = ServerConfig::default();
    let seconds = |key: &str, value: Option<u64>, default: Duration| match value {
        None => Ok(default),
        Some(v) if (1..=86_400).contains(&v) => Ok(Duration::from_secs(v)),
        Some(v) => Err(ConfigError::new(
            file,
            key,
            format!("must be between 1 and 86400 seconds, not {v}"),
        )),
    };
    let max_connections = match raw.max_connections {
        None => default.max_connections,
        Some(n) if (1..=1_000_000).contains(&n) => n,
        Some(n) => {
            return Err(ConfigError::new(
                file,
                "server.max_connections",
                format!("must be between 1 and 1000000, not {n}"),
            ));
        }
    };
    Ok(ServerConfig {
        header_timeout: seconds(
            "server.header_timeout_seconds",
            raw.header_timeout_seconds,
            default.header_timeout,
        )?,
        idle_timeout: seconds(
            "server.idle_timeout_seconds",
            raw.idle_timeout_seconds,
            default.idle_timeout,
        )?,
        max_connections,
        shutdown_grace: seconds(
            "server.shutdown_grace_seconds",
            raw.shutdown_grace_seconds,
            default.shutdown_grace,
        )?,
        trusted_proxies: trusted_proxies(proxies.unwrap_or_default(), file)?,
    })
}

/// CIDR blocks; a bare address means that one host.
fn trusted_proxies(list: Vec<String>, file: &Path) -> Result<Vec<IpNet>, ConfigError> {
    list.iter()
        .enumerate()
        .map(|(i, text)| {
            let text = text.trim();
            text.parse::<IpNet>()
                .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| {
                    ConfigError::new(
                        file,
                        format!("trusted_proxies[{i}]"),
                        format!("`{text}` is not an address block such as 10.0.0.0/8 or ::1/128"),
                    )
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_parse_as_blocks_and_bad_ones_are_named() {
        let file = Path::new("s.toml");
        let ok = trusted_proxies(
            vec!["10.1.2.3/8".into(), "::1".into(), "192.168.0.7".into()],
            file,
        )
        .unwrap();
        assert_eq!(
            ok.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
            ["10.0.0.0/8", "::1/128", "192.168.0.7/32"]
        );
        let err =
            trusted_proxies(vec!["10.0.0.0/8".into(), "proxy.local".into()], file).unwrap_err();
        assert_eq!(err.key, "trusted_proxies[1]");
    }
}
