//! Which instance a command acts on: the `sesame.toml` of `--config`, else
//! of `SESAME_CONFIG` (clap reads both; the option wins), else the built-in
//! defaults in the current folder. Every command names it on standard
//! error before acting, so an operator never writes to the wrong database
//! without being told where.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::store;

/// A loaded configuration and the file it came from (`None`: defaults).
pub struct Instance {
    pub config: Config,
    file: Option<PathBuf>,
}

impl Instance {
    /// Loads `file`, or the built-in defaults; says which on standard error.
    pub fn open(file: Option<&Path>) -> Result<Instance, String> {
        let instance = Instance::load(file)?;
        eprintln!("sesame: {}", instance.describe());
        Ok(instance)
    }

    /// Loads `file`, or the built-in defaults, without a word: `serve`
    /// names the instance once its logger is installed, so that a JSON log
    /// holds JSON lines only.
    pub fn load(file: Option<&Path>) -> Result<Instance, String> {
        let config = Config::load_or_default(file).map_err(|e| e.to_string())?;
        Ok(Instance {
            config,
            file: file.map(Path::to_path_buf),
        })
    }

    /// `instance: config /srv/sesame/sesame.toml; data /srv/…; keys /srv/…`.
    pub fn describe(&self) -> String {
        let source = match &self.file {
            Some(file) => format!("config {}", shown(file)),
            None => "built-in defaults (no --config, no SESAME_CONFIG)".to_owned(),
        };
        format!(
            "instance: {source}; data {}; keys {}",
            shown(&self.config.data_dir),
            shown(&self.config.keys_dir)
        )
    }

    /// Refuses to act on the built-in defaults where no server has ever run
    /// (no database in `./data`): the command would create a new, empty
    /// instance that nobody serves. After `sesame init` a `sesame.toml`
    /// names the instance; after `cargo run --release` in the repository,
    /// the database is there and the defaults are the served instance.
    pub fn require_existing(&self) -> Result<(), String> {
        let database = store::database_file(&self.config.data_dir);
        let on_postgres = matches!(self.config.database, store::Database::Postgres(_));
        if self.file.is_some() || on_postgres || database.exists() {
            return Ok(());
        }
        Err(format!(
            "no instance here: no --config, no SESAME_CONFIG and no database at {}; \
             acting on the built-in defaults would create a new, empty instance that no \
             server uses. Name the instance with --config DIR/sesame.toml (written by \
             `sesame init DIR`), or run this where `sesame serve` runs on its defaults",
            shown(&database)
        ))
    }
}

/// `path` made absolute against the current folder, so the operator sees
/// where it is whatever folder the command ran from.
fn shown(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}
