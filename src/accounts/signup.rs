//! « Créer un compte » (DESIGN §1.1): the form parsed into a new citizen,
//! every problem reported on its field, and a pending sign-up stored with
//! its activation mail — or, for an address that already has an account,
//! the « compte existant » mail, with the very same answer and the very
//! same pending row (no enumeration, even by signing in afterwards). The
//! account exists only once the link is confirmed (`activation`).

use crate::store::Tx;

use super::links::{self, Limit, MailContext, Recipient};
use super::policy::{self, Personal, Rule};
use super::users::Email;
use crate::config::PolicyConfig;
use crate::mail::{self, Mailer};
use crate::store::signups::{self, Signup};
use crate::store::users::{self, User};

/// The form's fields, in page order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Civilite,
    FamilyName,
    GivenName,
    Email,
    Password,
    Confirm,
}

impl Field {
    /// The form field's name (and the input's id).
    pub fn name(self) -> &'static str {
        match self {
            Field::Civilite => "civilite",
            Field::FamilyName => "family_name",
            Field::GivenName => "given_name",
            Field::Email => "email",
            Field::Password => "password",
            Field::Confirm => "password_confirm",
        }
    }
}

/// One problem, on one field: a catalogue key and, for the length rule,
/// the figure to put in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: Field,
    pub key: &'static str,
    pub figure: Option<usize>,
}

impl Problem {
    fn new(field: Field, key: &'static str) -> Problem {
        Problem {
            field,
            key,
            figure: None,
        }
    }
}

/// The raw form, as typed.
#[derive(Debug, Clone, Default)]
pub struct SignupForm {
    pub civilite: String,
    pub family_name: String,
    pub given_name: String,
    pub email: String,
    pub password: String,
    pub password_confirm: String,
}

/// A sign-up that passed every check.
#[derive(Debug, Clone)]
pub struct NewCitizen {
    /// OIDC `gender`: "female" (Madame) or "male" (Monsieur).
    pub gender: &'static str,
    pub family_name: String,
    pub given_name: String,
    pub email: Email,
    pub password: String,
}

const MAX_NAME: usize = 100;

/// Checks the whole form; every problem of every field is returned.
/// Runs the password estimator: call it off the executor.
pub fn parse(form: &SignupForm, policy: &PolicyConfig) -> Result<NewCitizen, Vec<Problem>> {
    let mut problems = Vec::new();
    let gender = match form.civilite.as_str() {
        "female" => Some("female"),
        "male" => Some("male"),
        "" => {
            problems.push(Problem::new(Field::Civilite, "required_field"));
            None
        }
        _ => {
            problems.push(Problem::new(Field::Civilite, "signup_civilite_invalid"));
            None
        }
    };
    let family_name = name(form.family_name.trim(), Field::FamilyName, &mut problems);
    let given_name = name(form.given_name.trim(), Field::GivenName, &mut problems);
    let email = match Email::parse(&form.email) {
        Some(e) => Some(e),
        None if form.email.trim().is_empty() => {
            problems.push(Problem::new(Field::Email, "required_field"));
            None
        }
        None => {
            problems.push(Problem::new(Field::Email, "signup_email_invalid"));
            None
        }
    };
    if form.password.is_empty() {
        problems.push(Problem::new(Field::Password, "required_field"));
    } else {
        let personal = Personal {
            email: email.as_ref().map(Email::as_str).unwrap_or_default(),
            names: vec![form.family_name.trim(), form.given_name.trim()],
        };
        problems.extend(password_problems(policy, &form.password, &personal));
    }
    if form.password_confirm.is_empty() {
        problems.push(Problem::new(Field::Confirm, "required_field"));
    } else if form.password_confirm != form.password {
        problems.push(Problem::new(Field::Confirm, "password_mismatch"));
    }
    match (gender, family_name, given_name, email) {
        (Some(gender), Some(family_name), Some(given_name), Some(email)) if problems.is_empty() => {
            Ok(NewCitizen {
                gender,
                family_name,
                given_name,
                email,
                password: form.password.clone(),
            })
        }
        _ => Err(problems),
    }
}

/// The policy's verdict on a new password, as problems of the password
/// field (shared with the reset form).
pub fn password_problems(
    policy: &PolicyConfig,
    password: &str,
    personal: &Personal<'_>,
) -> Vec<Problem> {
    policy::check(policy, password, personal)
        .into_iter()
        .map(|rule| Problem {
            field: Field::Password,
            key: rule.key(),
            figure: match rule {
                Rule::MinLength(n) => Some(n),
                _ => None,
            },
        })
        .collect()
}

/// A new password and its confirmation, against the citizen's own
/// details `personal` (a reset, an activation with a new password): the
/// policy's problems, then the confirmation's. Runs the password
/// estimator: call it off the executor.
pub fn password_and_confirmation(
    policy: &PolicyConfig,
    password: &str,
    confirm: &str,
    personal: &Personal<'_>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    if password.is_empty() {
        problems.push(Problem::new(Field::Password, "required_field"));
    } else {
        problems.extend(password_problems(policy, password, personal));
    }
    if confirm != password {
        let key = if confirm.is_empty() {
            "required_field"
        } else {
            "password_mismatch"
        };
        problems.push(Problem::new(Field::Confirm, key));
    }
    problems
}

fn name(value: &str, field: Field, problems: &mut Vec<Problem>) -> Option<String> {
    if value.is_empty() {
        problems.push(Problem::new(field, "required_field"));
        None
    } else if value.chars().count() > MAX_NAME || value.chars().any(char::is_control) {
        problems.push(Problem::new(field, "signup_name_invalid"));
        None
    } else {
        Some(value.to_owned())
    }
}

/// What is wrong with a new password chosen for `user` (a reset): the
/// policy's rules, then the confirmation. CPU-bound (the breached-password
/// list): callers run it off the executor.
pub fn new_password_problems(
    policy: &PolicyConfig,
    user: &User,
    password: &str,
    confirm: &str,
) -> Vec<Problem> {
    let names = [user.family_name.as_deref(), user.given_name.as_deref()];
    let personal = Personal {
        email: &user.email,
        names: names.into_iter().flatten().collect(),
    };
    password_and_confirmation(policy, password, confirm, &personal)
}

/// Stores the pending sign-up and queues its activation mail; for an
/// address that already has an account, queues the « compte existant »
/// mail with a reset link instead (the pending row is stored all the same,
/// so that signing in with this password looks the same either way). One
/// transaction; the same result either way. Returns the link sent (for the
/// outbox log) or the limit hit.
pub fn register(
    tx: &Tx<'_>,
    mailer: &Mailer,
    citizen: &NewCitizen,
    password_hash: String,
    ctx: &MailContext,
    now: i64,
) -> crate::store::Result<Result<String, Limit>> {
    let tx = tx.savepoint()?;
    let email = citizen.email.as_str();
    if let Err(limit) = links::allow_mail(&tx, email, ctx, now)? {
        return Ok(Err(limit));
    }
    let signup = Signup {
        id: crate::secrets::random_b64(18),
        email: email.to_owned(),
        password_hash,
        gender: Some(citizen.gender.to_owned()),
        given_name: Some(citizen.given_name.clone()),
        family_name: Some(citizen.family_name.clone()),
        locale: Some(ctx.lang.code().to_owned()),
        browser: ctx.browser.clone(),
        interaction: ctx.interaction.clone(),
        created_at: now,
    };
    signups::insert(&tx, &signup)?;
    crate::metrics::signed_up();
    let (to, kind) = match users::by_email(&tx, email)? {
        Some(existing) => (Recipient::account(&existing), mail::Kind::Exists),
        None => (Recipient::signup(&signup), mail::Kind::Verify),
    };
    let link = links::send(&tx, mailer, &to, kind, ctx, now)?;
    tx.commit()?;
    Ok(Ok(link))
}

/// What a password sign-in for `email` is checked against: the account,
/// and the newest pending sign-up (a password matching it gets « vérifiez
/// votre courriel », whether or not an account exists).
pub fn sign_in_candidates(
    tx: &Tx<'_>,
    email: &str,
) -> crate::store::Result<(Option<User>, Option<Signup>)> {
    Ok((users::by_email(tx, email)?, signups::latest(tx, email)?))
}

/// A browser gave the password of the pending sign-up `id`: the links
/// sent from now on activate there and continue its request (as if it
/// had signed up itself).
pub fn proven_in(
    tx: &Tx<'_>,
    id: &str,
    browser: &str,
    interaction: Option<&str>,
) -> crate::store::Result<()> {
    signups::bind(tx, id, browser, interaction)
}
