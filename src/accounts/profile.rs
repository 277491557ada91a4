//! « Profil » of the citizen's own space: the form parsed into the profile
//! claims (OIDC Core §5.1 with FranceConnect's conventions: `family_name`
//! is the birth name, `preferred_username` the name in use), every problem
//! named on its field, and the change saved with `updated_at` moved, so
//! services see it at their next userinfo or refresh.

use time::{Date, OffsetDateTime};

use crate::store::users::{self, Profile};
use crate::store::{self, Tx};

/// Longest accepted name, street or locality.
const MAX_TEXT: usize = 100;

/// The fields of the form, as typed.
#[derive(Debug, Clone, Default)]
pub struct ProfileForm {
    pub civilite: String,
    pub family_name: String,
    pub preferred_username: String,
    pub given_name: String,
    pub birthdate: String,
    pub phone_number: String,
    pub street_address: String,
    pub postal_code: String,
    pub locality: String,
    pub country: String,
}

impl ProfileForm {
    /// The form filled with what is stored.
    pub fn of(p: &Profile) -> ProfileForm {
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        ProfileForm {
            civilite: s(&p.gender),
            family_name: s(&p.family_name),
            preferred_username: s(&p.preferred_username),
            given_name: s(&p.given_name),
            birthdate: s(&p.birthdate),
            phone_number: s(&p.phone_number),
            street_address: s(&p.street_address),
            postal_code: s(&p.postal_code),
            locality: s(&p.locality),
            country: s(&p.country),
        }
    }
}

/// One problem on one field of an account form: the field's name, a
/// catalogue key and, for a length rule, the figure to put in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Problem {
    pub field: &'static str,
    pub key: &'static str,
    pub figure: Option<usize>,
}

impl Problem {
    pub fn on(field: &'static str, key: &'static str) -> Problem {
        Problem {
            field,
            key,
            figure: None,
        }
    }
}

/// The stored profile of a citizen.
pub fn of_user(u: &users::User) -> Profile {
    Profile {
        gender: u.gender.clone(),
        family_name: u.family_name.clone(),
        preferred_username: u.preferred_username.clone(),
        given_name: u.given_name.clone(),
        birthdate: u.birthdate.clone(),
        phone_number: u.phone_number.clone(),
        street_address: u.street_address.clone(),
        postal_code: u.postal_code.clone(),
        locality: u.locality.clone(),
        country: u.country.clone(),
    }
}

/// Parses the form; `now` bounds the birth date.
pub fn parse(form: &ProfileForm, now: i64) -> Result<Profile, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut text = |field: &'static str, value: &str, required: bool| -> Option<String> {
        let v = value.trim();
        if v.is_empty() {
            if required {
                problems.push(Problem::on(field, "required_field"));
            }
            return None;
        }
        if v.chars().count() > MAX_TEXT || v.chars().any(char::is_control) {
            problems.push(Problem::on(field, "signup_name_invalid"));
            return None;
        }
        Some(v.to_owned())
    };
    let family_name = text("family_name", &form.family_name, true);
    let given_name = text("given_name", &form.given_name, true);
    let preferred_username = text("preferred_username", &form.preferred_username, false);
    let street_address = text("street_address", &form.street_address, false);
    let locality = text("locality", &form.locality, false);
    let gender = match form.civilite.trim() {
        "" => None,
        g @ ("female" | "male") => Some(g.to_owned()),
        _ => {
            problems.push(Problem::on("civilite", "signup_civilite_invalid"));
            None
        }
    };
    let birthdate = optional(&form.birthdate, "birthdate", &mut problems, |v| {
        birthdate(v, now)
    });
    let phone_number = optional(&form.phone_number, "phone_number", &mut problems, phone);
    let postal_code = optional(&form.postal_code, "postal_code", &mut problems, postal_code);
    let country = optional(&form.country, "country", &mut problems, country);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Profile {
        gender,
        family_name,
        preferred_username,
        given_name,
        birthdate,
        phone_number,
        street_address,
        postal_code,
        locality,
        country,
    })
}

/// An optional field checked by `check` (an `Err` names the catalogue key).
fn optional(
    raw: &str,
    field: &'static str,
    problems: &mut Vec<Problem>,
    check: impl Fn(&str) -> Result<String, &'static str>,
) -> Option<String> {
    let v = raw.trim();
    if v.is_empty() {
        return None;
    }
    match check(v) {
        Ok(v) => Some(v),
        Err(key) => {
            problems.push(Problem::on(field, key));
            None
        }
    }
}

/// `AAAA-MM-JJ`, a real day, not in the future, not before 1900.
fn birthdate(v: &str, now: i64) -> Result<String, &'static str> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = Date::parse(v, format).map_err(|_| "profile_birthdate_invalid")?;
    let today = OffsetDateTime::from_unix_timestamp(now)
        .map(|t| t.date())
        .map_err(|_| "profile_birthdate_invalid")?;
    if date > today {
        return Err("profile_birthdate_future");
    }
    if date.year() < 1900 {
        return Err("profile_birthdate_invalid");
    }
    Ok(date.to_string())
}

/// A phone number in international form (`+33 1 45 25 26 23`) or French
/// national form (`01 45 25 26 23`), stored as E.164 (`+33145252623`).
/// Spaces, dots and dashes between digits are allowed.
pub fn phone(v: &str) -> Result<String, &'static str> {
    let bad = "profile_phone_invalid";
    if v.len() > 30 {
        return Err(bad);
    }
    let (plus, rest) = match v.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, v),
    };
    if !rest
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '.' | '-'))
    {
        return Err(bad);
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    if plus {
        if (8..=15).contains(&digits.len()) && !digits.starts_with('0') {
            return Ok(format!("+{digits}"));
        }
        return Err(bad);
    }
    match digits.strip_prefix('0') {
        Some(national) if national.len() == 9 && !national.starts_with('0') => {
            Ok(format!("+33{national}"))
        }
        _ => Err(bad),
    }
}

fn postal_code(v: &str) -> Result<String, &'static str> {
    let ok = v.len() <= 10
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-');
    if ok {
        Ok(v.to_owned())
    } else {
        Err("profile_postal_code_invalid")
    }
}

fn country(v: &str) -> Result<String, &'static str> {
    if v.chars().count() <= 60 && !v.chars().any(char::is_control) {
        Ok(v.to_owned())
    } else {
        Err("signup_name_invalid")
    }
}

/// What saving the form came to.
#[derive(Debug)]
pub enum Saved {
    Done,
    Invalid(Vec<Problem>),
}

/// Checks and saves the form for `sub` (nothing is written when a field is
/// wrong).
pub fn save(tx: &Tx<'_>, sub: &str, form: &ProfileForm, now: i64) -> store::Result<Saved> {
    match parse(form, now) {
        Ok(profile) => {
            users::set_profile(tx, sub, &profile, now)?;
            Ok(Saved::Done)
        }
        Err(problems) => Ok(Saved::Invalid(problems)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_000_000; // 2026-11-30

    fn form() -> ProfileForm {
        ProfileForm {
            civilite: "female".into(),
            family_name: "Test".into(),
            given_name: "Nathalie".into(),
            birthdate: "1977-01-01".into(),
            phone_number: "01 45 25 26 23".into(),
            ..ProfileForm::default()
        }
    }

    #[test]
    fn a_good_form_is_normalised() {
        let p = parse(&form(), NOW).unwrap();
        assert_eq!(p.phone_number.as_deref(), Some("+33145252623"));
        assert_eq!(p.birthdate.as_deref(), Some("1977-01-01"));
        assert_eq!(p.preferred_username, None);
    }

    #[test]
    fn each_bad_field_is_named() {
        let bad = ProfileForm {
            civilite: "other".into(),
            family_name: "x".repeat(101),
            given_name: String::new(),
            birthdate: "2099-01-01".into(),
            phone_number: "12ab".into(),
            postal_code: "<script>".into(),
            ..ProfileForm::default()
        };
        let problems = parse(&bad, NOW).unwrap_err();
        let keys: Vec<_> = problems.iter().map(|p| (p.field, p.key)).collect();
        assert!(keys.contains(&("family_name", "signup_name_invalid")));
        assert!(keys.contains(&("given_name", "required_field")));
        assert!(keys.contains(&("civilite", "signup_civilite_invalid")));
        assert!(keys.contains(&("birthdate", "profile_birthdate_future")));
        assert!(keys.contains(&("phone_number", "profile_phone_invalid")));
        assert!(keys.contains(&("postal_code", "profile_postal_code_invalid")));
    }

    #[test]
    fn phones() {
        assert_eq!(phone("+33 6 12 34 56 78").unwrap(), "+33612345678");
        assert_eq!(phone("06.12.34.56.78").unwrap(), "+33612345678");
        assert!(phone("0612").is_err());
        assert!(phone("+0612345678").is_err());
        assert!(phone("6 12 34 56 78").is_err());
        assert!(birthdate("1977-02-30", NOW).is_err());
    }
}
