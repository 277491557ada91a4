//! `[mail]` of `sesame.toml`: the outbox (files, the default) or SMTP, and
//! the sender address. An SMTP password may come from a file or from
//! `SESAME_SMTP_PASSWORD`, so that it need not sit in the config file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{ConfigError, DEFAULT_FROM};

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMail {
    transport: Option<String>,
    from: Option<String>,
    outbox_dir: Option<PathBuf>,
    smtp_url: Option<String>,
    smtp_username: Option<String>,
    smtp_password: Option<String>,
    smtp_password_file: Option<PathBuf>,
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

pub(super) fn mail_config(
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
