//! Who may read what Sésame writes: the data folder (database, outbox of
//! mails with live links) is the service account's alone — 0700, files
//! 0600 — and a key folder that others can read is reported at start.
//!
//! Set explicitly rather than through the umask, so an operator's shell or
//! unit file cannot widen them, and so in-process starts get them too.

use std::path::Path;

/// Mode of folders Sésame keeps private.
pub const DIR_MODE: u32 = 0o700;
/// Mode of files Sésame keeps private.
pub const FILE_MODE: u32 = 0o600;

/// Restricts `dir` (which exists) to its owner.
pub fn restrict_dir(dir: &Path) -> std::io::Result<()> {
    set_mode(dir, DIR_MODE)
}

/// Restricts each of `files` that exists to its owner (SQLite's `-wal`
/// and `-shm` files may not exist yet; SQLite gives them the database
/// file's mode when it creates them).
pub fn restrict_files(files: &[&Path]) -> std::io::Result<()> {
    for file in files {
        if file.exists() {
            set_mode(file, FILE_MODE)?;
        }
    }
    Ok(())
}

/// The entries of `dir` (itself included) that its group or others can
/// read: signing keys must not be among them.
pub fn readable_by_others(dir: &Path) -> Vec<String> {
    let mut open = Vec::new();
    let mut check = |path: &Path| {
        if mode(path).is_some_and(|m| m & 0o077 != 0) {
            open.push(path.display().to_string());
        }
    };
    check(dir);
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            check(&entry.path());
        }
    }
    open
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
fn mode(_path: &Path) -> Option<u32> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_folder_open_to_others_is_reported_and_a_private_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("rs256.pem");
        std::fs::write(&key, "secret").unwrap();
        set_mode(dir.path(), 0o755).unwrap();
        set_mode(&key, 0o644).unwrap();
        assert_eq!(readable_by_others(dir.path()).len(), 2);
        restrict_dir(dir.path()).unwrap();
        restrict_files(&[&key]).unwrap();
        assert!(readable_by_others(dir.path()).is_empty());
    }
}
