//! `metrics_listen` and `log_format` of `sesame.toml`: where Prometheus
//! scrapes Sésame (off when absent) and how log lines are written.

use std::net::SocketAddr;
use std::path::Path;

use super::ConfigError;

/// How log lines are written on standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One human-readable line per event (colours only on a terminal).
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

pub(super) fn log_format(file: &Path, value: Option<&str>) -> Result<LogFormat, ConfigError> {
    match value.unwrap_or("text") {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        other => Err(ConfigError::new(
            file,
            "log_format",
            format!("`{other}` is neither \"text\" nor \"json\""),
        )),
    }
}

pub(super) fn metrics_listen(
    file: &Path,
    value: Option<&str>,
) -> Result<Option<SocketAddr>, ConfigError> {
    value
        .map(|v| {
            v.parse().map_err(|_| {
                ConfigError::new(
                    file,
                    "metrics_listen",
                    format!("`{v}` is not an address:port such as 127.0.0.1:9464"),
                )
            })
        })
        .transpose()
}
