//! The `sesame.toml` that `sesame init` writes: every key with its default,
//! so an operator sees what can be changed (docs/configuration.md).

use super::DEFAULT_FROM;

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
# outbox_dir = "data/outbox"  # default: the outbox folder inside data_dir
smtp_url = "smtp://127.0.0.1:2525"

[policy]
password_min_length = 8
password_require = ["lower", "upper", "digit"]
verification_ttl_seconds = 300
# Accounts (docs/accounts.md):
password_min_score = 2              # zxcvbn score 0-4 a new password must reach (0: off)
unverified_account_ttl_days = 7     # unverified accounts are removed after this
audit_retention_days = 365          # security events (`sesame audit`) are kept this long
mail_min_interval_seconds = 60      # between two mails to one address from one client address
mail_max_per_requester_per_hour = 5 # mails to one address from one client address
mail_max_per_address_per_window = 10 # to one address, whoever asks, per 300 s
mail_max_per_ip_per_hour = 20       # 0 turns a limit off
# Sign-in throttling (docs/configuration.md): a growing delay after failures.
login_failures_before_delay = 5     # per address typed
login_client_failures_before_delay = 100 # per client address
login_max_delay_seconds = 900       # never a permanent lock
pending_requests_per_client = 300   # pending /authorize requests per client address per 600 s

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
