//! `sesame user import`: citizens brought from a previous provider, one
//! JSON object a line (DESIGN §4b), with the hash they had there. Every
//! line is checked before anything is written; then the new ones go in
//! one transaction, and the addresses already known are reported, never
//! duplicated, so a second run of the same file changes nothing.

use std::collections::HashMap;

use serde::Deserialize;

use super::legacy_hash;
use super::users::{Email, new_user};
use crate::store::{self, Tx, users};

/// One line of the file, as DESIGN §4b names its fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    email: String,
    #[serde(default)]
    email_verified: bool,
    password_hash: String,
    given_name: Option<String>,
    family_name: Option<String>,
    preferred_username: Option<String>,
    gender: Option<String>,
    birthdate: Option<String>,
    phone_number: Option<String>,
    address: Option<Address>,
    #[serde(default)]
    roles: Vec<String>,
}

/// OIDC Core §5.1.1's address claim (`formatted` is rebuilt from the parts).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Address {
    street_address: Option<String>,
    postal_code: Option<String>,
    locality: Option<String>,
    country: Option<String>,
    formatted: Option<String>,
    region: Option<String>,
}

/// A line that cannot be imported: its number (from 1) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub line: usize,
    pub reason: String,
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// A checked line, ready to insert.
#[derive(Debug, Clone)]
pub struct Citizen {
    pub line: usize,
    pub user: users::User,
}

/// Checks every line of `text` (blank lines are skipped); all the bad
/// ones are returned, so the operator fixes the file in one go.
pub fn parse(text: &str, now: i64) -> Result<Vec<Citizen>, Vec<BadLine>> {
    let mut citizens = Vec::new();
    let mut bad = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        if raw.trim().is_empty() {
            continue;
        }
        match parse_line(raw, now) {
            Ok(user) => {
                let key = user.email.to_lowercase();
                if let Some(first) = seen.insert(key, line) {
                    let reason = format!("{} is already on line {first}", user.email);
                    bad.push(BadLine { line, reason });
                } else {
                    citizens.push(Citizen { line, user });
                }
            }
            Err(reason) => bad.push(BadLine { line, reason }),
        }
    }
    if bad.is_empty() {
        Ok(citizens)
    } else {
        Err(bad)
    }
}

fn parse_line(raw: &str, now: i64) -> Result<users::User, String> {
    let line: Line = serde_json::from_str(raw).map_err(|e| e.to_string())?;
    let email = Email::parse(&line.email)
        .ok_or_else(|| format!("email: `{}` is not an email address", line.email))?;
    legacy_hash::check_format(&line.password_hash)?;
    if let Some(date) = &line.birthdate {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(date, &format)
            .map_err(|_| format!("birthdate: `{date}` is not YYYY-MM-DD"))?;
    }
    if let Some(gender) = &line.gender
        && !matches!(gender.as_str(), "female" | "male" | "other")
    {
        return Err(format!(
            "gender: `{gender}` is not \"female\", \"male\" or \"other\""
        ));
    }
    let mut user = new_user(&email, line.password_hash, now);
    user.email_verified = line.email_verified;
    user.given_name = line.given_name;
    user.family_name = line.family_name;
    user.preferred_username = line.preferred_username;
    user.gender = line.gender;
    user.birthdate = line.birthdate;
    user.phone_number = line.phone_number;
    user.roles = line.roles;
    if let Some(address) = line.address {
        // `formatted` and `region` have no column: Sésame rebuilds the
        // former from the parts and has no use for the latter in France.
        let _ = (address.formatted, address.region);
        user.street_address = address.street_address;
        user.postal_code = address.postal_code;
        user.locality = address.locality;
        user.country = address.country;
    }
    Ok(user)
}

/// What an import did (or, on a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    pub created: usize,
    /// Addresses already known, with their line: left as they are.
    pub existing: Vec<(usize, String)>,
}

/// Inserts the citizens not known yet, all in one savepoint (kept only
/// when `dry_run` is false); `progress` is told how many lines are done.
pub fn import(
    tx: &Tx<'_>,
    citizens: &[Citizen],
    dry_run: bool,
    progress: &mut dyn FnMut(usize),
) -> store::Result<Imported> {
    let tx = tx.savepoint()?;
    let mut outcome = Imported::default();
    for (done, citizen) in citizens.iter().enumerate() {
        if users::by_email(&tx, &citizen.user.email)?.is_some() {
            outcome
                .existing
                .push((citizen.line, citizen.user.email.clone()));
        } else {
            users::insert(&tx, &citizen.user)?;
            outcome.created += 1;
        }
        progress(done + 1);
    }
    if !dry_run {
        tx.commit()?;
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$pbkdf2-sha256$i=1,l=32$c2FsdA$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLw";

    #[test]
    fn every_bad_line_is_named() {
        let text = format!(
            "{{\"email\":\"a@example.test\",\"password_hash\":\"{HASH}\"}}\n\
             \n\
             {{\"email\":\"nope\",\"password_hash\":\"{HASH}\"}}\n\
             {{\"email\":\"A@example.test\",\"password_hash\":\"{HASH}\"}}\n\
             {{\"email\":\"b@example.test\",\"password_hash\":\"plain\"}}\n\
             {{\"email\":\"c@example.test\",\"password_hash\":\"{HASH}\",\"colour\":1}}\n"
        );
        let bad = parse(&text, 0).unwrap_err();
        let lines: Vec<usize> = bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, [3, 4, 5, 6], "{bad:?}");
        assert!(bad[1].reason.contains("line 1"));
    }

    #[test]
    fn a_second_run_creates_nothing() {
        let db = crate::store::memory();
        let text = format!(
            "{{\"email\":\"a@example.test\",\"email_verified\":true,\"password_hash\":\"{HASH}\",\
             \"address\":{{\"locality\":\"Lyon\"}},\"roles\":[\"agent\"]}}"
        );
        let citizens = parse(&text, 0).unwrap();
        let dry = import(&db.tx(), &citizens, true, &mut |_| {}).unwrap();
        assert_eq!(dry.created, 1);
        assert!(
            users::by_email(&db.tx(), "a@example.test")
                .unwrap()
                .is_none()
        );
        let first = import(&db.tx(), &citizens, false, &mut |_| {}).unwrap();
        assert_eq!(first.created, 1);
        let second = import(&db.tx(), &citizens, false, &mut |_| {}).unwrap();
        assert_eq!(second.created, 0);
        assert_eq!(second.existing, [(1, "a@example.test".to_owned())]);
        let user = users::by_email(&db.tx(), "a@example.test")
            .unwrap()
            .unwrap();
        assert_eq!(user.locality.as_deref(), Some("Lyon"));
        assert_eq!(user.roles, ["agent"]);
    }
}
