//! Log lines on standard error: text for people (colours only when
//! standard error is a terminal, so files and journald get no escape
//! codes), or one JSON object a line for log shippers (`log_format`).
//! `RUST_LOG` filters them (default `info`), except for the targets in
//! [`HELD_AT_INFO`], which no setting makes more verbose.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Dependencies whose debug lines hold the values Sésame hands them:
/// tokio-postgres writes every statement's parameters at `debug`, among
/// them second-factor keys (stored in clear), addresses and digests. Held
/// at `info` whatever `RUST_LOG` says (a directive for the same target
/// replaces the operator's).
const HELD_AT_INFO: [&str; 2] = ["tokio_postgres=info", "tokio_postgres::query=info"];

/// Installs the process's logger; a second call changes nothing.
pub fn init(format: LogFormat) {
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    for held in HELD_AT_INFO {
        if let Ok(directive) = held.parse() {
            filter = filter.add_directive(directive);
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    // Already installed (tests start several servers in one process).
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
}
