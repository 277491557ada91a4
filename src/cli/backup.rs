//! `sesame backup OUT`: a consistent copy of the database while the server
//! runs (`store::backup`); docs/operations.md says how to restore it and
//! what to keep beside it (the keys, the config files).

use std::path::Path;

use crate::accounts::audit::{self, Kind, Origin};
use crate::{app, store};

use super::instance::Instance;
use super::user_admin::operator;

pub(super) fn run(config: Option<&Path>, out: &Path) -> Result<(), String> {
    let instance = Instance::open(config)?;
    instance.require_existing()?;
    let config = &instance.config;
    let started = std::time::Instant::now();
    let store::Database::Sqlite(dir) = &config.database else {
        return Err(
            "this instance is on PostgreSQL (database_url): back it up with pg_dump, \
             as docs/deployment.md says"
                .into(),
        );
    };
    store::backup(dir, out)?;
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    println!(
        "wrote {} ({bytes} bytes) in {} ms; keep {} with it (signing keys are not in the database)",
        out.display(),
        started.elapsed().as_millis(),
        config.keys_dir.display()
    );
    // Recorded in the live database, after the copy: the backup itself
    // does not hold its own record.
    let db = store::open_for_cli(&config.database).map_err(|e| e.to_string())?;
    let detail = operator(&format!("backup {}", out.display()));
    audit::record(
        &db.tx(),
        Kind::Admin,
        None,
        None,
        &Origin::default(),
        Some(&detail),
        app::now(),
    )
    .map_err(|e| e.to_string())
}
