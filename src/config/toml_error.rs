//! TOML errors (syntax, unknown key, wrong type) turned into a [`ConfigError`]
//! that names the key as well as the line: serde reports a type error at the
//! value, so the key is read back from the text around it.

use std::path::Path;

use super::ConfigError;

pub(crate) fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let message = e.message().trim().to_owned();
    let Some(start) = e.span().map(|span| span.start) else {
        return ConfigError::new(path, "(syntax)", message);
    };
    let before = text.get(..start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let key = match key_at(before, text) {
        Some(key) => format!("{key} (line {line})"),
        None => format!("line {line}"),
    };
    ConfigError::new(path, key, message)
}

/// The dotted key whose value (or name) starts at the end of `before`: the
/// `key =` of its line, prefixed by the last `[table]` / `[[table]]` header.
fn key_at(before: &str, text: &str) -> Option<String> {
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let (name, _) = text[line_start..line_end].split_once('=')?;
    let name = name.trim();
    if name.is_empty() || name.starts_with('#') || name.starts_with('[') {
        return None;
    }
    let table = text[..line_start].lines().rev().find_map(|l| {
        let l = l.trim();
        l.starts_with('[')
            .then(|| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned())
    });
    Some(match table {
        Some(table) => format!("{table}.{name}"),
        None => name.to_owned(),
    })
}
