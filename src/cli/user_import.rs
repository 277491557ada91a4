//! `sesame user import [--dry-run] FILE.jsonl`: reads the file, checks
//! every line (`accounts::import`), then creates the new citizens in one
//! transaction, with a progress line when standard error is a terminal.

use std::io::{IsTerminal, Write};
use std::path::Path;

use crate::accounts::audit::{self, Kind, Origin};
use crate::accounts::import;
use crate::{app, store};

use super::instance::Instance;
use super::user_admin::operator;

pub(super) fn run(config: Option<&Path>, file: &Path, dry_run: bool) -> Result<(), String> {
    let instance = Instance::open(config)?;
    instance.require_existing()?;
    let config = &instance.config;
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let now = app::now();
    let citizens = import::parse(&text, now).map_err(|bad| {
        let lines: Vec<String> = bad
            .iter()
            .map(|b| format!("{}: {b}", file.display()))
            .collect();
        format!(
            "{}\nnothing imported ({} bad line(s))",
            lines.join("\n"),
            bad.len()
        )
    })?;
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
    let db = store::open_for_cli(&config.database).map_err(|e| e.to_string())?;
    let total = citizens.len();
    let terminal = std::io::stderr().is_terminal();
    let mut progress = |done: usize| {
        if terminal && (done.is_multiple_of(500) || done == total) {
            eprint!("\rsesame: {done}/{total} lines");
            let _ = std::io::stderr().flush();
        }
    };
    let tx = db.tx();
    let outcome =
        import::import(&tx, &citizens, dry_run, &mut progress).map_err(|e| e.to_string())?;
    if terminal {
        eprintln!();
    }
    for (line, email) in &outcome.existing {
        println!("line {line}: {email} exists already; left as it is");
    }
    if dry_run {
        println!(
            "dry run: {total} line(s) OK; {} citizen(s) would be created, {} exist already",
            outcome.created,
            outcome.existing.len()
        );
        return Ok(());
    }
    println!(
        "imported {} citizen(s) from {}; {} existed already",
        outcome.created,
        file.display(),
        outcome.existing.len()
    );
    let detail = operator(&format!("user import: {} created", outcome.created));
    audit::record(
        &tx,
        Kind::Admin,
        None,
        None,
        &Origin::default(),
        Some(&detail),
        now,
    )
    .map_err(|e| e.to_string())
}
