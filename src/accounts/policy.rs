//! The password policy of `[policy]` (DESIGN §1.1): a minimum length, the
//! character classes required, and — checked offline — no common or
//! breached password or trivial variant of one (the list shipped in
//! `common_passwords.txt`, then the zxcvbn estimator and its ~30,000-word
//! dictionaries), and nothing of the citizen's own name or address.

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::config::{CharClass, PolicyConfig};

/// Longest password accepted, in characters (argon2 takes any length, but
/// a bound keeps a hostile form cheap to check).
const MAX_LENGTH: usize = 128;

/// A rule a password breaks; every broken rule is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    MinLength(usize),
    MaxLength,
    Lower,
    Upper,
    Digit,
    Symbol,
    /// One of the most common passwords, or a trivial variant of one.
    Common,
    /// Easy to guess by the zxcvbn estimate.
    Guessable,
    /// Contains the citizen's name or the local part of their address.
    Personal,
}

impl Rule {
    /// The catalogue key of its message.
    pub fn key(self) -> &'static str {
        match self {
            Rule::MinLength(_) => "password_rule_length",
            Rule::MaxLength => "password_rule_max_length",
            Rule::Lower => "password_rule_lower",
            Rule::Upper => "password_rule_upper",
            Rule::Digit => "password_rule_digit",
            Rule::Symbol => "password_rule_symbol",
            Rule::Common => "password_rule_common",
            Rule::Guessable => "password_rule_guessable",
            Rule::Personal => "password_rule_personal",
        }
    }
}

/// What the citizen told about themselves, which a password must not hold.
#[derive(Debug, Default, Clone)]
pub struct Personal<'a> {
    pub email: &'a str,
    pub names: Vec<&'a str>,
}

/// Every rule of `policy` that `password` breaks (empty: acceptable).
/// Pure CPU work of a few milliseconds: call it off the executor.
pub fn check(policy: &PolicyConfig, password: &str, personal: &Personal<'_>) -> Vec<Rule> {
    let mut broken = Vec::new();
    let length = password.chars().count();
    if length < policy.password_min_length {
        broken.push(Rule::MinLength(policy.password_min_length));
    }
    if length > MAX_LENGTH {
        broken.push(Rule::MaxLength);
        return broken;
    }
    for class in &policy.password_require {
        let (present, rule) = match class {
            CharClass::Lower => (password.chars().any(char::is_lowercase), Rule::Lower),
            CharClass::Upper => (password.chars().any(char::is_uppercase), Rule::Upper),
            CharClass::Digit => (password.chars().any(|c| c.is_ascii_digit()), Rule::Digit),
            CharClass::Symbol => (password.chars().any(|c| !c.is_alphanumeric()), Rule::Symbol),
        };
        if !present {
            broken.push(rule);
        }
    }
    if password.is_empty() {
        return broken;
    }
    let personal_words = personal_words(personal);
    if contains_personal(password, &personal_words) {
        broken.push(Rule::Personal);
    }
    if is_common(password) {
        broken.push(Rule::Common);
    } else if policy.password_min_score > 0 {
        let inputs: Vec<&str> = personal_words.iter().map(String::as_str).collect();
        let score = u8::from(zxcvbn::zxcvbn(password, &inputs).score());
        if score < policy.password_min_score {
            broken.push(Rule::Guessable);
        }
    }
    broken
}

fn common_words() -> &'static HashSet<&'static str> {
    static WORDS: OnceLock<HashSet<&'static str>> = OnceLock::new();
    WORDS.get_or_init(|| common_list().collect())
}

/// The shipped list of common passwords, one folded base word each (the
/// strength indicator of the pages checks the same list in the browser).
pub fn common_list() -> impl Iterator<Item = &'static str> {
    include_str!("common_passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Whether `password` is a listed password or a trivial variant of one:
/// case, accents, leetspeak and digits or symbols around it do not count.
fn is_common(password: &str) -> bool {
    let words = common_words();
    let folded = fold(password);
    let core = folded.trim_matches(|c: char| !c.is_alphabetic());
    let candidates = [
        folded.clone(),
        unleet(&folded),
        unleet(core),
        unleet(&folded)
            .trim_matches(|c: char| !c.is_alphabetic())
            .to_owned(),
    ];
    candidates
        .iter()
        .any(|c| !c.is_empty() && words.contains(c.as_str()))
}

/// Lowercase, without accents.
fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' | 'ì' => 'i',
            'ô' | 'ö' | 'ó' | 'ò' | 'õ' => 'o',
            'ù' | 'û' | 'ü' | 'ú' => 'u',
            'ç' => 'c',
            'ÿ' => 'y',
            'ñ' => 'n',
            other => other,
        })
        .collect()
}

/// Undoes the usual character substitutions.
fn unleet(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0' => 'o',
            '1' | '!' => 'i',
            '3' => 'e',
            '4' | '@' => 'a',
            '5' | '$' => 's',
            '7' => 't',
            other => other,
        })
        .collect()
}

/// The citizen's words worth refusing: the address's local part (whole and
/// its longer pieces) and each name, folded.
fn personal_words(personal: &Personal<'_>) -> Vec<String> {
    let mut words = Vec::new();
    let local = fold(personal.email.split('@').next().unwrap_or_default());
    if local.chars().count() >= 3 {
        words.push(local.clone());
    }
    let pieces = local.split(|c: char| !c.is_alphanumeric());
    for piece in pieces.chain(
        personal
            .names
            .iter()
            .flat_map(|n| n.split([' ', '-', '\''])),
    ) {
        let piece = fold(piece.trim());
        if piece.chars().count() >= 3 && !words.contains(&piece) {
            words.push(piece);
        }
    }
    words
}

fn contains_personal(password: &str, words: &[String]) -> bool {
    let folded = fold(password);
    let plain = unleet(&folded);
    words
        .iter()
        .any(|w| folded.contains(w.as_str()) || plain.contains(w.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Backoff, LoginLimits, MailLimits, WindowLimit};

    fn policy() -> PolicyConfig {
        PolicyConfig {
            password_min_length: 8,
            password_require: vec![CharClass::Lower, CharClass::Upper, CharClass::Digit],
            verification_ttl_seconds: 300,
            password_min_score: 2,
            unverified_account_ttl_days: 7,
            audit_retention_days: 365,
            mail_limits: MailLimits {
                min_interval_seconds: 60,
                max_per_requester_per_hour: 5,
                max_per_address_per_window: 5,
                address_window_seconds: 300,
                max_per_ip_per_hour: 20,
            },
            login_limits: LoginLimits {
                account: BACKOFF,
                client: BACKOFF,
            },
            pending_requests: WindowLimit {
                max: 0,
                window_seconds: 600,
            },
        }
    }

    const BACKOFF: Backoff = Backoff {
        free: 5,
        first_delay_seconds: 2,
        max_delay_seconds: 900,
        forget_after_seconds: 3600,
    };

    fn me() -> Personal<'static> {
        Personal {
            email: "jean.dupont@example.test",
            names: vec!["Dupont", "Jean-Éric"],
        }
    }

    fn rules(password: &str) -> Vec<Rule> {
        check(&policy(), password, &me())
    }

    #[test]
    fn a_good_password_passes() {
        assert_eq!(rules("Correct-Horse-42"), vec![]);
        assert_eq!(rules("Tramway7Gentiane"), vec![]);
    }

    #[test]
    fn each_unmet_rule_is_named() {
        assert_eq!(rules("Ab1"), vec![Rule::MinLength(8), Rule::Guessable]);
        assert!(rules("lowercase-only-9x").contains(&Rule::Upper));
        assert!(rules("UPPERCASE-ONLY-9X").contains(&Rule::Lower));
        assert!(rules("No-Digits-Here-x").contains(&Rule::Digit));
        let missing = rules("");
        for rule in [Rule::MinLength(8), Rule::Lower, Rule::Upper, Rule::Digit] {
            assert!(missing.contains(&rule), "{rule:?}");
        }
        assert_eq!(rules(&"Aa1".repeat(50)), vec![Rule::MaxLength]);
    }

    #[test]
    fn symbols_when_the_policy_asks() {
        let mut p = policy();
        p.password_require.push(CharClass::Symbol);
        assert_eq!(check(&p, "Tramway7Gentiane", &me()), vec![Rule::Symbol]);
        assert_eq!(check(&p, "Tramway7-Gentiane", &me()), vec![]);
    }

    #[test]
    fn length_follows_the_setting() {
        let mut p = policy();
        p.password_min_length = 12;
        assert_eq!(check(&p, "Tram7Gent", &me()), vec![Rule::MinLength(12)]);
    }

    #[test]
    fn common_passwords_and_their_variants_are_refused() {
        for pw in [
            "Azerty123",
            "Motdepasse1",
            "Password1",
            "P@ssw0rd!",
            "Soleil2024",
            "M0tDeP@sse",
            "AZERTYuiop1",
            "Qwerty123!",
            "Marseille13",
            "1234567890",
        ] {
            assert!(is_common(pw), "{pw}");
        }
        assert!(rules("Azerty123").contains(&Rule::Common));
        assert!(!is_common("Correct-Horse-42"));
    }

    #[test]
    fn guessable_passwords_are_refused_by_zxcvbn() {
        // Not in the shipped list, but in zxcvbn's dictionaries.
        assert!(rules("Baseball12").contains(&Rule::Common));
        assert!(rules("Wizard1989").contains(&Rule::Guessable));
        let mut off = policy();
        off.password_min_score = 0;
        assert_eq!(check(&off, "Wizard1989", &me()), vec![]);
    }

    #[test]
    fn the_name_and_the_address_are_refused() {
        assert!(rules("Dupont2024x").contains(&Rule::Personal));
        assert!(rules("MyJean.Dupont9").contains(&Rule::Personal));
        assert!(rules("Xx-Eric-Zebre-77").contains(&Rule::Personal));
        assert!(rules("Xx-Éric-Zèbre-77").contains(&Rule::Personal));
        assert!(!rules("Tramway7Gentiane").contains(&Rule::Personal));
    }
}
