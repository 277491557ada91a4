//! The second factor: a TOTP key (RFC 6238 with SHA-1, 6 digits and 30 s
//! steps — what every authenticator app computes) and ten single-use
//! recovery codes.
//!
//! - Enrolment is two steps: [`begin`] stores a key that protects nothing
//!   yet, [`confirm`] turns it on after one right code and hands out the
//!   recovery codes (shown once, stored as digests).
//! - [`check`] judges an answer at sign-in, on turning the factor off, or
//!   when confirming: a code of the current step or one step either side
//!   (clocks drift), newer than the last step used (RFC 6238 §5.2: a code
//!   is good once), or an unused recovery code.
//! - Wrong answers are throttled on their own (per citizen: a few free
//!   tries, then a growing wait) and count toward the client address's
//!   sign-in throttle too. No code is ever logged or recorded: the audit
//!   trail says only what happened.
//!
//! Time is passed in (`now`, Unix seconds), so the windows are testable.

use std::sync::Arc;

use totp_rs::{Builder, Secret};

use super::audit::{self, Kind};
use super::links::{Recipient, queue_letter};
use super::reauth::Reentered;
use super::sessions::Session;
use super::throttle;
use crate::config::{Backoff, LoginLimits};
use crate::i18n::Lang;
use crate::mail::{self, Mailer};
use crate::secrets;
use crate::store::{self, Tx, sessions, totp, users};

/// Seconds per time step.
pub const STEP: i64 = 30;
/// Steps tolerated either side of the current one.
const SKEW: i64 = 1;
/// How many recovery codes a set holds.
pub const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code (Crockford's base32: no I, L, O, U).
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Characters per recovery code: 80 random bits, so a digest is enough.
const RECOVERY_LEN: usize = 16;
/// Longest answer looked at; anything longer is simply wrong.
const MAX_ANSWER: usize = 64;

/// RFC 8176 method names a session carries once its second factor is
/// proven (`mfa` only when a password was proven too).
pub const AMR_OTP: &str = "otp";
pub const AMR_MFA: &str = "mfa";

/// Wrong answers a citizen gets free before waiting (the wait then starts
/// at 30 s and doubles up to 15 minutes; forgotten after a quiet day).
pub const WRONG_ANSWERS: Backoff = Backoff {
    free: 5,
    first_delay_seconds: 30,
    max_delay_seconds: 900,
    forget_after_seconds: 86_400,
};

/// The throttle counter of `sub`'s wrong second-factor answers.
pub fn throttle_key(sub: &str) -> String {
    format!("otp:{sub}")
}

/// Whether a session still owes its second factor: its citizen enrolled
/// one (in whichever browser) and it did not prove it.
pub fn owes_code(tx: &Tx<'_>, session: &Session) -> store::Result<bool> {
    Ok(!proved(session) && totp::enrolled(tx, &session.sub)?)
}

/// Whether the session's sign-in proved a second factor.
pub fn proved(session: &Session) -> bool {
    session.amr.iter().any(|m| m == AMR_OTP)
}

/// The second factor's state, as the security page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Status {
    /// When it was turned on; `None`: off.
    pub since: Option<i64>,
    pub codes_left: i64,
}

pub fn status(tx: &Tx<'_>, sub: &str) -> store::Result<Status> {
    let since = totp::get(tx, sub)?.and_then(|k| k.confirmed_at);
    let codes_left = match since {
        Some(_) => totp::codes_left(tx, sub)?,
        None => 0,
    };
    Ok(Status { since, codes_left })
}

/// A key waiting for its first code, as the enrolment page shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Enrolment {
    /// base32, unpadded.
    secret: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment([redacted])")
    }
}

impl Enrolment {
    /// The key for typing by hand: groups of four, as apps show them.
    pub fn grouped(&self) -> String {
        let chars: Vec<char> = self.secret.chars().collect();
        chars
            .chunks(4)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The `otpauth://` URI the QR code holds (issuer and account label
    /// shown by the app).
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        let label =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period={STEP}",
            label(issuer).replace('+', "%20"),
            label(account).replace('+', "%20"),
            self.secret,
            label(issuer).replace('+', "%20"),
        )
    }
}

/// What starting an enrolment comes to.
#[derive(Debug)]
pub enum Begun {
    Started(Enrolment),
    /// A second factor is on already: turn it off first.
    AlreadyOn,
}

/// Stores a new key for `sub`, replacing any enrolment left unfinished.
pub fn begin(tx: &Tx<'_>, sub: &str, now: i64) -> store::Result<Begun> {
    let secret = Secret::generate().to_base32();
    Ok(if totp::begin(tx, sub, &secret, now)? {
        Begun::Started(Enrolment { secret })
    } else {
        Begun::AlreadyOn
    })
}

/// How the citizen hears of their second factor's changes: a notice mail
/// whose link is « Mot de passe oublié ? ».
#[derive(Clone)]
pub struct Notices {
    pub mailer: Arc<Mailer>,
    /// The absolute URL of « Mot de passe oublié ? ».
    pub forgot_url: String,
    /// The language of the request (the citizen's own wins).
    pub lang: Lang,
}

impl Notices {
    fn send(&self, tx: &Tx<'_>, sub: &str, kind: mail::Kind, now: i64) -> store::Result<()> {
        let Some(user) = users::by_sub(tx, sub)? else {
            return Ok(());
        };
        let to = Recipient::account(&user);
        let link = &self.forgot_url;
        queue_letter(tx, &self.mailer, &to, kind, link, self.lang, 0, now)
    }
}

/// Where an answer comes from: the throttle and the audit trail's view,
/// and who to tell.
#[derive(Clone)]
pub struct Attempt {
    /// The client address, as the HTTP layer gives it.
    pub client: String,
    pub limits: LoginLimits,
    pub audit: audit::Origin,
    /// The service whose sign-in it is, if any.
    pub service: Option<String>,
    pub notices: Notices,
}

/// What an answer (a code or a recovery code) comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// A right code of time step `step` (now used).
    Code,
    /// An unused recovery code (now used); this many are left.
    Recovery { left: i64 },
    /// Wrong, expired, replayed, malformed: one answer for all.
    Refused,
    /// Too many wrong answers lately: try again in this many seconds
    /// (the answer was not looked at).
    Throttled { retry_after: i64 },
    /// No second factor to check against.
    NotEnrolled,
}

/// Judges `answer` for `sub`'s confirmed second factor, using what it
/// matched; counts a wrong one toward the throttles.
pub fn check(
    tx: &Tx<'_>,
    sub: &str,
    answer: &str,
    attempt: &Attempt,
    now: i64,
) -> store::Result<Checked> {
    let Some(key) = totp::get(tx, sub)?.filter(|k| k.confirmed_at.is_some()) else {
        return Ok(Checked::NotEnrolled);
    };
    let keys = [
        throttle_key(sub),
        throttle::client_key(&throttle::requester(&attempt.client)),
    ];
    let waits = [
        throttle::blocked(tx, &keys[0], now)?,
        throttle::blocked(tx, &keys[1], now)?,
    ];
    let record = |kind, detail| {
        let service = attempt.service.as_deref();
        audit::record(tx, kind, Some(sub), service, &attempt.audit, detail, now)
    };
    if let Some(retry_after) = waits.into_iter().flatten().max() {
        record(Kind::SecondFactorFailed, Some("throttled"))?;
        return Ok(Checked::Throttled { retry_after });
    }
    let outcome = match Answer::parse(answer) {
        Answer::Code(code) => match matching_step(&key.secret, &code, key.last_step, now) {
            Some(step) if totp::use_step(tx, sub, step)? => Checked::Code,
            _ => Checked::Refused,
        },
        Answer::Recovery(code) => {
            if totp::use_code(tx, sub, &recovery_digest(sub, &code), now)? {
                let left = totp::codes_left(tx, sub)?;
                Checked::Recovery { left }
            } else {
                Checked::Refused
            }
        }
        Answer::Malformed => Checked::Refused,
    };
    match outcome {
        Checked::Code => {
            throttle::clear(tx, &keys[0])?;
            record(Kind::SecondFactorSucceeded, None)?;
        }
        Checked::Recovery { .. } => {
            throttle::clear(tx, &keys[0])?;
            record(Kind::RecoveryCodeUsed, None)?;
            let kind = mail::Kind::RecoveryCodeUsed;
            attempt.notices.send(tx, sub, kind, now)?;
        }
        _ => {
            throttle::fail(tx, &keys[0], &WRONG_ANSWERS, now)?;
            throttle::fail(tx, &keys[1], &attempt.limits.client, now)?;
            record(Kind::SecondFactorFailed, None)?;
        }
    }
    Ok(outcome)
}

/// What confirming an enrolment comes to.
#[derive(Debug)]
pub enum Confirmed {
    /// On, with these recovery codes (to show once).
    Enabled(Vec<String>),
    /// Not the code of the key shown: the same key, to try again.
    Wrong(Enrolment),
    /// Too many wrong codes lately: the same key, to try again later.
    Throttled {
        retry_after: i64,
        enrolment: Enrolment,
    },
    /// No enrolment waiting (finished in another tab, or never started).
    NotStarted,
}

/// Turns the waiting key of `sub` on if `answer` is one of its codes, and
/// makes its first set of recovery codes.
pub fn confirm(
    tx: &Tx<'_>,
    sub: &str,
    answer: &str,
    attempt: &Attempt,
    now: i64,
) -> store::Result<Confirmed> {
    let Some(key) = totp::get(tx, sub)?.filter(|k| k.confirmed_at.is_none()) else {
        return Ok(Confirmed::NotStarted);
    };
    let counter = throttle_key(sub);
    if let Some(retry_after) = throttle::blocked(tx, &counter, now)? {
        let enrolment = Enrolment { secret: key.secret };
        return Ok(Confirmed::Throttled {
            retry_after,
            enrolment,
        });
    }
    let step = match Answer::parse(answer) {
        Answer::Code(code) => matching_step(&key.secret, &code, 0, now),
        _ => None,
    };
    let confirmed = match step {
        Some(step) => totp::confirm(tx, sub, step, now)?,
        None => false,
    };
    if !confirmed {
        throttle::fail(tx, &counter, &WRONG_ANSWERS, now)?;
        return Ok(Confirmed::Wrong(Enrolment { secret: key.secret }));
    }
    throttle::clear(tx, &counter)?;
    let codes = new_codes(tx, sub)?;
    let service = attempt.service.as_deref();
    audit::record(
        tx,
        Kind::SecondFactorEnabled,
        Some(sub),
        service,
        &attempt.audit,
        None,
        now,
    )?;
    let kind = mail::Kind::SecondFactorOn;
    attempt.notices.send(tx, sub, kind, now)?;
    Ok(Confirmed::Enabled(codes))
}

/// Confirms the enrolment of `session`'s citizen ([`confirm`]) and, when
/// it is on, steps `session` up: the code just typed proved the factor.
pub fn enable(
    tx: &Tx<'_>,
    session: &Session,
    answer: &str,
    attempt: &Attempt,
    rotate: &str,
    now: i64,
) -> store::Result<Confirmed> {
    let confirmed = confirm(tx, &session.sub, answer, attempt, now)?;
    if let Confirmed::Enabled(_) = confirmed {
        step_up(tx, session, rotate)?;
    }
    Ok(confirmed)
}

/// What turning the second factor off comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnedOff {
    Done,
    /// The password was refused (or throttled: `Some(wait)`).
    WrongPassword(Option<i64>),
    /// The code or recovery code was refused (or throttled: `Some(wait)`).
    WrongCode(Option<i64>),
    /// It was not on.
    NotOn,
}

/// The « Désactiver » form, as typed, and where it comes from.
pub struct TurnOff {
    pub password: String,
    /// A current code or a recovery code.
    pub answer: String,
    pub attempt: Attempt,
}

/// Turns the second factor of `session`'s citizen off: the password and a
/// current code (or a recovery code) are both needed, so neither a stolen
/// phone nor a stolen password alone is enough.
pub async fn turn_off(
    store: &store::Store,
    hasher: &super::password::Hasher,
    session: &Session,
    form: TurnOff,
    now: i64,
) -> Result<TurnedOff, store::Error> {
    let TurnOff {
        password,
        answer,
        attempt,
    } = form;
    // The password under the sign-in throttle, like every password typed
    // again; the code under its own.
    let reentry = super::reauth::Attempt {
        limits: attempt.limits,
        origin: attempt.audit.clone(),
    };
    let sub = &session.sub;
    match super::reauth::check_password(store, hasher, sub, password, &reentry, now).await? {
        Reentered::Right => {}
        Reentered::Wrong => return Ok(TurnedOff::WrongPassword(None)),
        Reentered::Throttled { retry_after } => {
            return Ok(TurnedOff::WrongPassword(Some(retry_after)));
        }
    }
    let sub = session.sub.clone();
    store
        .run(move |tx| {
            match check(tx, &sub, &answer, &attempt, now)? {
                Checked::Code | Checked::Recovery { .. } => {}
                Checked::Refused => return Ok(TurnedOff::WrongCode(None)),
                Checked::Throttled { retry_after } => {
                    return Ok(TurnedOff::WrongCode(Some(retry_after)));
                }
                Checked::NotEnrolled => return Ok(TurnedOff::NotOn),
            }
            totp::delete(tx, &sub)?;
            let service = attempt.service.as_deref();
            let origin = &attempt.audit;
            audit::record(
                tx,
                Kind::SecondFactorDisabled,
                Some(&sub),
                service,
                origin,
                None,
                now,
            )?;
            let kind = mail::Kind::SecondFactorOff;
            attempt.notices.send(tx, &sub, kind, now)?;
            Ok(TurnedOff::Done)
        })
        .await
}

/// The help desk's `sesame user reset-2fa`: removes the key and recovery
/// codes of `sub` (and its wrong-answer counter), recorded in the audit
/// trail with `detail` (the command and the operator), and queues a notice
/// to the citizen like every change of the factor, all or nothing; false
/// when there was no second factor.
pub fn reset(
    tx: &Tx<'_>,
    sub: &str,
    origin: &audit::Origin,
    detail: &str,
    notices: &Notices,
    now: i64,
) -> store::Result<bool> {
    // One-off commands' statements each commit on their own.
    let tx = tx.savepoint()?;
    if !totp::delete(&tx, sub)? {
        return Ok(false);
    }
    throttle::clear(&tx, &throttle_key(sub))?;
    let kind = Kind::SecondFactorDisabled;
    audit::record(&tx, kind, Some(sub), None, origin, Some(detail), now)?;
    notices.send(&tx, sub, mail::Kind::SecondFactorReset, now)?;
    tx.commit()?;
    Ok(true)
}

/// A new set of recovery codes for `sub` (the old set dies); `None` when
/// no second factor is on.
pub fn regenerate(
    tx: &Tx<'_>,
    sub: &str,
    origin: &audit::Origin,
    now: i64,
) -> store::Result<Option<Vec<String>>> {
    if !totp::enrolled(tx, sub)? {
        return Ok(None);
    }
    let codes = new_codes(tx, sub)?;
    let detail = Some("recovery codes renewed");
    audit::record(
        tx,
        Kind::SecondFactorEnabled,
        Some(sub),
        None,
        origin,
        detail,
        now,
    )?;
    Ok(Some(codes))
}

/// Marks `session` as having proven the second factor (`otp`, and `mfa`
/// when a password was proven too), in place: the same `sid`, so services
/// that know it keep it. `rotate`: the new cookie digest it moves under (a
/// session that gains a factor gets a new cookie, as at any sign-in).
pub fn step_up(tx: &Tx<'_>, session: &Session, rotate: &str) -> store::Result<Session> {
    let mut amr = session.amr.clone();
    let with_password = amr.iter().any(|m| m == "pwd");
    for method in [AMR_OTP, AMR_MFA] {
        let earned = method == AMR_OTP || with_password;
        if earned && !amr.iter().any(|m| m == method) {
            amr.push(method.to_owned());
        }
    }
    sessions::step_up(tx, &session.sid, &amr, rotate)?;
    Ok(Session {
        amr,
        ..session.clone()
    })
}

/// What the sign-in's second-factor step comes to.
#[derive(Debug)]
pub enum Proved {
    /// The session now carries `otp`; `recovery_left`: a recovery code was
    /// used, and this many are left.
    SteppedUp {
        session: Session,
        recovery_left: Option<i64>,
    },
    Refused,
    Throttled {
        retry_after: i64,
    },
    /// Nothing to prove: no session in this browser (`None`), or one that
    /// owes no code (proved already, or no second factor enrolled).
    Nothing(Option<Session>),
}

/// Checks `answer` for the browser's `session` and steps it up when right
/// (moving it under the cookie digest `rotate`).
pub fn prove(
    tx: &Tx<'_>,
    session: Option<Session>,
    answer: &str,
    attempt: &Attempt,
    rotate: &str,
    now: i64,
) -> store::Result<Proved> {
    let Some(session) = session else {
        return Ok(Proved::Nothing(None));
    };
    if proved(&session) {
        return Ok(Proved::Nothing(Some(session)));
    }
    let recovery_left = match check(tx, &session.sub, answer, attempt, now)? {
        Checked::Code => None,
        Checked::Recovery { left } => Some(left),
        Checked::Refused => return Ok(Proved::Refused),
        Checked::Throttled { retry_after } => return Ok(Proved::Throttled { retry_after }),
        Checked::NotEnrolled => return Ok(Proved::Nothing(Some(session))),
    };
    let session = step_up(tx, &session, rotate)?;
    Ok(Proved::SteppedUp {
        session,
        recovery_left,
    })
}

/// Makes, stores (as digests) and returns a new set of recovery codes.
fn new_codes(tx: &Tx<'_>, sub: &str) -> store::Result<Vec<String>> {
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
    let digests: Vec<String> = codes
        .iter()
        .map(|c| recovery_digest(sub, &normalise(c)))
        .collect();
    totp::replace_codes(tx, sub, &digests)?;
    Ok(codes)
}

/// A random recovery code, shown in groups of four (`xxxx-xxxx-…`).
fn recovery_code() -> String {
    let mut bytes = [0u8; RECOVERY_LEN];
    rand::fill(&mut bytes);
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| char::from(RECOVERY_ALPHABET[usize::from(b & 31)]))
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A recovery code as typed, reduced to its characters: case, spaces and
/// dashes do not matter, and I, L, O read as 1, 1, 0 (Crockford).
fn normalise(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_lowercase() {
            'i' | 'l' => '1',
            'o' => '0',
            other => other,
        })
        .collect()
}

/// The stored form of a recovery code: its SHA-256 bound to the citizen
/// (80 random bits need no slow hash).
fn recovery_digest(sub: &str, normalised: &str) -> String {
    secrets::digest(&format!("{sub}:{normalised}"))
}

/// An answer, parsed once.
enum Answer {
    Code(String),
    Recovery(String),
    Malformed,
}

impl Answer {
    fn parse(typed: &str) -> Answer {
        if typed.len() > MAX_ANSWER {
            return Answer::Malformed;
        }
        let compact: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.len() == 6 && compact.bytes().all(|b| b.is_ascii_digit()) {
            return Answer::Code(compact);
        }
        let code = normalise(typed);
        if code.len() == RECOVERY_LEN && code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)) {
            Answer::Recovery(code)
        } else {
            Answer::Malformed
        }
    }
}

/// The time step within [`SKEW`] of `now` whose code is `code`, if newer
/// than `after` (the newest step used).
fn matching_step(secret: &str, code: &str, after: i64, now: i64) -> Option<i64> {
    let totp = key(secret)?;
    let current = now.div_euclid(STEP);
    (current - SKEW..=current + SKEW)
        .filter(|&step| step > after && step >= 0)
        .find(|&step| {
            let expected = totp.generate((step * STEP).unsigned_abs()).to_string();
            secrets::same(&expected, code)
        })
}

/// The RFC 6238 generator for a stored key.
fn key(secret: &str) -> Option<totp_rs::Totp> {
    let secret = Secret::try_from_base32(secret).ok()?;
    Builder::new().with_secret(secret).build().ok()
}

/// The code of `secret` at `time` (for tests, and the enrolment tests of
/// other modules).
#[cfg(test)]
pub(crate) fn code_at(secret: &str, time: i64) -> String {
    key(secret)
        .map(|k| k.generate(time.unsigned_abs()).to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
