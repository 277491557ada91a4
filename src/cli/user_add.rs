//! `sesame user add`: a citizen created by the city's staff, with the same
//! password policy as the sign-up form (docs/accounts.md) unless
//! `--allow-weak-password` says otherwise.

use std::io::BufRead;

use crate::accounts::password::hash_blocking;
use crate::accounts::policy::{self, Personal};
use crate::accounts::users::{Email, new_user};
use crate::i18n::{Catalogues, Lang};
use crate::{app, store};

use super::instance::Instance;
use super::{Gender, UserAdd};

pub(super) fn run(args: UserAdd) -> Result<(), String> {
    let instance = Instance::open(args.config.config.as_deref())?;
    instance.require_existing()?;
    let config = &instance.config;
    let email = Email::parse(&args.email)
        .ok_or_else(|| format!("--email: `{}` is not an email address", args.email))?;
    let password = read_password()?;
    if let Some(date) = &args.birthdate {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(date, &format)
            .map_err(|_| format!("--birthdate: `{date}` is not YYYY-MM-DD"))?;
    }
    if !args.allow_weak_password {
        let names = [
            &args.given_name,
            &args.family_name,
            &args.preferred_username,
        ];
        let personal = Personal {
            email: email.as_str(),
            names: names.iter().filter_map(|n| n.as_deref()).collect(),
        };
        let broken = policy::check(&config.policy, &password, &personal);
        // The rules refuse; zxcvbn's estimate alone only warns here: tools
        // that provision accounts through DESIGN §4's `user add` (the
        // interface contract among them) set passwords a rule accepts but
        // the estimator may score low, and must keep working.
        if broken.iter().any(|rule| *rule != policy::Rule::Guessable) {
            return Err(weak_password(&broken));
        }
        if !broken.is_empty() {
            eprintln!(
                "sesame: warning: {} The sign-up form would refuse this password.",
                describe(&broken)
            );
        }
    }
    let hash = hash_blocking(&password)?;
    let mut user = new_user(&email, hash, app::now());
    user.email_verified = args.verified;
    user.given_name = args.given_name;
    user.family_name = args.family_name;
    user.preferred_username = args.preferred_username;
    user.gender = args.gender.map(|g| match g {
        Gender::Female => "female".into(),
        Gender::Male => "male".into(),
    });
    user.birthdate = args.birthdate;
    user.phone_number = args.phone;
    user.street_address = args.street;
    user.postal_code = args.postal_code;
    user.locality = args.locality;
    user.country = args.country;
    user.roles = args.roles;
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
    let db = store::open_for_cli(&config.database).map_err(|e| e.to_string())?;
    let conn = db.tx();
    if store::users::by_email(&conn, email.as_str())
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Err(format!("an account with {} already exists", email.as_str()));
    }
    store::users::insert(&conn, &user).map_err(|e| e.to_string())?;
    let verified = if user.email_verified {
        ", verified"
    } else {
        ""
    };
    println!("created {} (sub {}){verified}", user.email, user.sub);
    Ok(())
}

fn read_password() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err("no password on standard input".into());
    }
    Ok(password.to_owned())
}

/// One line naming every broken rule, in the words of the sign-up form.
fn weak_password(broken: &[policy::Rule]) -> String {
    format!(
        "the password breaks the policy of [policy]: {} (--allow-weak-password skips this check)",
        describe(broken)
    )
}

fn describe(broken: &[policy::Rule]) -> String {
    let catalogues = Catalogues::load().ok();
    let rules: Vec<String> = broken
        .iter()
        .map(|rule| {
            let text = catalogues
                .as_ref()
                .map_or(rule.key(), |c| c.text(Lang::En, rule.key()));
            match rule {
                policy::Rule::MinLength(n) => text.replace("{n}", &n.to_string()),
                _ => text.to_owned(),
            }
        })
        .collect();
    rules.join(" ")
}
