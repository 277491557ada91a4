//! Email links (DESIGN §1.2, §3): 256-bit random tokens stored as SHA-256
//! digests, valid `verification_ttl_seconds`, single use; a new link of a
//! purpose replaces the earlier ones. A link that expired, was used or was
//! replaced still names its account, so its page can send a fresh one.
//! Also the abuse limits on the mails a visitor can ask for, and what
//! each request sends: verification, « compte existant », reset. A link is
//! held by an account or by a sign-up still waiting for its activation
//! (see `activation` for what opening an activation link does).

use crate::store::Tx;

use crate::config::MailLimits;
use crate::i18n::Lang;
use crate::mail::{self, Mailer};
use crate::secrets;
use crate::store::email_tokens;
pub use crate::store::email_tokens::EmailToken;
use crate::store::signups::Signup;
use crate::store::{mail_queue, mail_requests, signups, users};

use super::password_change::{Ended, PasswordChange, password_changed};
use crate::config::Clients;

/// Whom a link is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// An account (`sub`): reset links, and activation links of accounts
    /// made unverified by `sesame user add`.
    Account(String),
    /// A pending sign-up (its id): activation links.
    Signup(String),
}

impl Holder {
    /// The holder named by a stored link.
    pub fn of(row: &EmailToken) -> Option<Holder> {
        match (&row.sub, &row.signup) {
            (Some(sub), None) => Some(Holder::Account(sub.clone())),
            (None, Some(id)) => Some(Holder::Signup(id.clone())),
            _ => None,
        }
    }
}

/// Who a mail goes to: the link's holder, the address and the language.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub holder: Holder,
    pub email: String,
    pub locale: Option<String>,
}

impl Recipient {
    pub fn account(user: &users::User) -> Recipient {
        Recipient {
            holder: Holder::Account(user.sub.clone()),
            email: user.email.clone(),
            locale: user.locale.clone(),
        }
    }

    pub fn signup(signup: &Signup) -> Recipient {
        Recipient {
            holder: Holder::Signup(signup.id.clone()),
            email: signup.email.clone(),
            locale: signup.locale.clone(),
        }
    }
}

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Verify,
    Reset,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Verify => "verify",
            Purpose::Reset => "reset",
        }
    }

    fn parse(s: &str) -> Option<Purpose> {
        match s {
            "verify" => Some(Purpose::Verify),
            "reset" => Some(Purpose::Reset),
            _ => None,
        }
    }
}

/// Everything about the request that the mails and limits need.
#[derive(Debug, Clone)]
pub struct MailContext {
    pub ip: String,
    pub lang: Lang,
    /// The pending authorization request to resume after the link.
    pub interaction: Option<String>,
    /// Digest of the asking browser's link cookie.
    pub browser: Option<String>,
    pub ttl_seconds: i64,
    pub limits: MailLimits,
    /// Absolute URL prefixes to which the token is appended.
    pub verify_url: String,
    pub reset_url: String,
}

/// Which abuse limit a request hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Too many mails to this address lately.
    Address,
    /// Too many mail requests from this IP in the last hour.
    Ip,
}

/// The state of a presented link.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkState {
    Valid(EmailToken),
    Expired(EmailToken),
    Used(EmailToken),
    Replaced(EmailToken),
    Unknown,
}

/// Makes a new link for `holder`, replacing its open links of that
/// purpose; returns the token (only its digest is stored).
fn issue(
    tx: &Tx<'_>,
    holder: &Holder,
    purpose: Purpose,
    ctx: &MailContext,
    now: i64,
) -> crate::store::Result<String> {
    let (sub, signup) = match holder {
        Holder::Account(sub) => (Some(sub.clone()), None),
        Holder::Signup(id) => (None, Some(id.clone())),
    };
    email_tokens::replace_open(tx, sub.as_deref(), signup.as_deref(), purpose.as_str(), now)?;
    let token = secrets::token();
    let row = EmailToken {
        sub,
        signup,
        purpose: purpose.as_str().to_owned(),
        interaction: ctx.interaction.clone(),
        browser: ctx.browser.clone(),
        created_at: now,
        expires_at: now + ctx.ttl_seconds,
        used_at: None,
        replaced_at: None,
    };
    email_tokens::insert(tx, &secrets::digest(&token), &row)?;
    Ok(token)
}

/// What `token` is, for `purpose`, at `now` (nothing is changed).
pub fn inspect(
    tx: &Tx<'_>,
    token: &str,
    purpose: Purpose,
    now: i64,
) -> crate::store::Result<LinkState> {
    if token.len() != secrets::TOKEN_LEN {
        return Ok(LinkState::Unknown);
    }
    let Some(row) = email_tokens::get(tx, &secrets::digest(token))? else {
        return Ok(LinkState::Unknown);
    };
    if Purpose::parse(&row.purpose) != Some(purpose) {
        return Ok(LinkState::Unknown);
    }
    Ok(if row.used_at.is_some() {
        LinkState::Used(row)
    } else if row.replaced_at.is_some() {
        LinkState::Replaced(row)
    } else if row.expires_at <= now {
        LinkState::Expired(row)
    } else {
        LinkState::Valid(row)
    })
}

/// Uses `token` once: `Valid` only for the one call that marked it used.
pub fn redeem(
    tx: &Tx<'_>,
    token: &str,
    purpose: Purpose,
    now: i64,
) -> crate::store::Result<LinkState> {
    let state = inspect(tx, token, purpose, now)?;
    if let LinkState::Valid(row) = &state
        && !email_tokens::mark_used(tx, &secrets::digest(token), now)?
    {
        return Ok(LinkState::Used(row.clone()));
    }
    Ok(state)
}

/// Checks the abuse limits for a mail to `address` and, when allowed,
/// counts the request. The tight limits (one a minute, a few an hour) are
/// per (address, requester): what a third party asks for the citizen's
/// address uses up only its own allowance. The per-address ceiling counts
/// everyone over a short window, so it bounds a distributed flood of the
/// mailbox while the owner still gets a link once that window ends.
pub fn allow_mail(
    tx: &Tx<'_>,
    address: &str,
    ctx: &MailContext,
    now: i64,
) -> crate::store::Result<Result<(), Limit>> {
    if let Err(limit) = mail_limit(tx, address, ctx, now)? {
        return Ok(Err(limit));
    }
    mail_requests::record(tx, address, &ctx.ip, now)?;
    Ok(Ok(()))
}

/// The limit a mail to `address` would hit now, without counting anything:
/// lets a sign-up refuse before its costly password checks.
pub fn mail_limit(
    tx: &Tx<'_>,
    address: &str,
    ctx: &MailContext,
    now: i64,
) -> crate::store::Result<Result<(), Limit>> {
    let limits = ctx.limits;
    let requester = ctx.ip.as_str();
    if limits.max_per_ip_per_hour > 0
        && mail_requests::for_ip(tx, requester, now - 3600)? >= limits.max_per_ip_per_hour
    {
        return Ok(Err(Limit::Ip));
    }
    let mine = |since| mail_requests::for_address_and_ip(tx, address, requester, since);
    if limits.min_interval_seconds > 0 && mine(now - limits.min_interval_seconds)? > 0 {
        return Ok(Err(Limit::Address));
    }
    if limits.max_per_requester_per_hour > 0
        && mine(now - 3600)? >= limits.max_per_requester_per_hour
    {
        return Ok(Err(Limit::Address));
    }
    if limits.max_per_address_per_window > 0
        && mail_requests::for_address(tx, address, now - limits.address_window_seconds)?
            >= limits.max_per_address_per_window
    {
        return Ok(Err(Limit::Address));
    }
    Ok(Ok(()))
}

/// Issues a link and queues its mail (in the caller's transaction, so the
/// account, the link and the mail are kept or lost together). Returns the
/// link.
pub fn send(
    tx: &Tx<'_>,
    mailer: &Mailer,
    to: &Recipient,
    kind: mail::Kind,
    ctx: &MailContext,
    now: i64,
) -> crate::store::Result<String> {
    let purpose = match kind {
        mail::Kind::Verify => Purpose::Verify,
        mail::Kind::Exists | mail::Kind::Reset => Purpose::Reset,
        mail::Kind::PasswordChanged
        | mail::Kind::EmailChange
        | mail::Kind::EmailChangeNotice
        | mail::Kind::AccountDeleted
        | mail::Kind::SecondFactorOn
        | mail::Kind::SecondFactorOff
        | mail::Kind::RecoveryCodeUsed
        | mail::Kind::SecondFactorReset => {
            return Err(crate::store::Error::Internal(
                "not a sign-up or reset link mail".into(),
            ));
        }
    };
    let token = issue(tx, &to.holder, purpose, ctx, now)?;
    let prefix = match purpose {
        Purpose::Verify => &ctx.verify_url,
        Purpose::Reset => &ctx.reset_url,
    };
    let link = format!("{prefix}{token}");
    queue_letter(tx, mailer, to, kind, &link, ctx.lang, ctx.ttl_seconds, now)?;
    Ok(link)
}

/// Composes a mail to `to` in their language (else `lang`) and queues it
/// in the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub fn queue_letter(
    tx: &Tx<'_>,
    mailer: &Mailer,
    to: &Recipient,
    kind: mail::Kind,
    link: &str,
    lang: Lang,
    ttl_seconds: i64,
    now: i64,
) -> crate::store::Result<()> {
    let lang = to
        .locale
        .as_deref()
        .and_then(Lang::from_tag)
        .unwrap_or(lang);
    let composed = mailer
        .compose(&mail::Letter {
            kind,
            to: &to.email,
            lang,
            link,
            ttl_seconds,
        })
        .map_err(|e| crate::store::Error::Internal(format!("mail: {e}")))?;
    mail_queue::push(
        tx,
        &composed.sender,
        &composed.recipient,
        &composed.message,
        now,
    )?;
    crate::metrics::mail("queued");
    Ok(())
}

/// « Cliquez ici pour renvoyer le courriel »: the « compte existant » mail
/// for a verified account, a new activation link for an unverified one or
/// else for the newest pending sign-up of the address, nothing for an
/// unknown address — the same answer for all.
pub fn resend_verification(
    tx: &Tx<'_>,
    mailer: &Mailer,
    email: &str,
    ctx: &MailContext,
    now: i64,
) -> crate::store::Result<Result<Option<String>, Limit>> {
    let tx = tx.savepoint()?;
    if let Err(limit) = allow_mail(&tx, email, ctx, now)? {
        return Ok(Err(limit));
    }
    let mut ctx = ctx.clone();
    // A disabled account gets no link: one would sign it in.
    let (to, kind) = match users::by_email(&tx, email)?.filter(|u| u.disabled_at.is_none()) {
        Some(user) if user.email_verified => (Recipient::account(&user), mail::Kind::Exists),
        Some(user) => (Recipient::account(&user), mail::Kind::Verify),
        None => match signups::latest(&tx, email)? {
            Some(signup) => {
                // Whoever asks, the link stays bound to the browser that
                // made this sign-up: else a stranger's sign-up, resent
                // from the owner's browser, would activate there with the
                // stranger's password.
                ctx.browser = signup.browser.clone();
                ctx.interaction = signup.interaction.clone();
                (Recipient::signup(&signup), mail::Kind::Verify)
            }
            None => {
                tx.commit()?;
                return Ok(Ok(None));
            }
        },
    };
    let link = send(&tx, mailer, &to, kind, &ctx, now)?;
    tx.commit()?;
    Ok(Ok(Some(link)))
}

/// « Mot de passe oublié ? »: a reset link to a known address, nothing to
/// an unknown one.
pub fn forgot(
    tx: &Tx<'_>,
    mailer: &Mailer,
    email: &str,
    ctx: &MailContext,
    now: i64,
) -> crate::store::Result<Result<Option<String>, Limit>> {
    let tx = tx.savepoint()?;
    if let Err(limit) = allow_mail(&tx, email, ctx, now)? {
        return Ok(Err(limit));
    }
    // A disabled account gets no link: one would sign it in.
    let link = match users::by_email(&tx, email)?.filter(|u| u.disabled_at.is_none()) {
        Some(user) => Some(send(
            &tx,
            mailer,
            &Recipient::account(&user),
            mail::Kind::Reset,
            ctx,
            now,
        )?),
        None => None,
    };
    tx.commit()?;
    Ok(Ok(link))
}

/// What renewing a dead link did.
#[derive(Debug, Clone, PartialEq)]
pub enum Renewed {
    /// A fresh link went out (the link, for the outbox log).
    Sent(String),
    /// A verification link of an account already verified: nothing to
    /// send; sign in (resuming this request, if any).
    AlreadyVerified(Option<String>),
    Limited(Limit),
    Unknown,
}

/// Sends a fresh link in place of `token` (expired, used or replaced),
/// to the same holder, for the same purpose and pending request.
pub fn renew(
    tx: &Tx<'_>,
    mailer: &Mailer,
    token: &str,
    ctx: &MailContext,
    now: i64,
) -> crate::store::Result<Renewed> {
    let tx = tx.savepoint()?;
    let Some(row) = token_row(&tx, token)? else {
        return Ok(Renewed::Unknown);
    };
    let purpose = Purpose::parse(&row.purpose);
    let (to, kind) = match (Holder::of(&row), purpose) {
        (Some(Holder::Account(sub)), Some(purpose)) => {
            let Some(user) = users::by_sub(&tx, &sub)?.filter(|u| u.disabled_at.is_none()) else {
                return Ok(Renewed::Unknown);
            };
            match purpose {
                Purpose::Verify if user.email_verified => {
                    return Ok(Renewed::AlreadyVerified(row.interaction));
                }
                Purpose::Verify => (Recipient::account(&user), mail::Kind::Verify),
                Purpose::Reset => (Recipient::account(&user), mail::Kind::Reset),
            }
        }
        (Some(Holder::Signup(id)), Some(Purpose::Verify)) => {
            let Some(signup) = signups::get(&tx, &id)? else {
                return Ok(Renewed::Unknown);
            };
            // Another sign-up for the address was confirmed meanwhile.
            if users::by_email(&tx, &signup.email)?.is_some() {
                return Ok(Renewed::AlreadyVerified(row.interaction));
            }
            (Recipient::signup(&signup), mail::Kind::Verify)
        }
        _ => return Ok(Renewed::Unknown),
    };
    if let Err(limit) = allow_mail(&tx, &to.email, ctx, now)? {
        return Ok(Renewed::Limited(limit));
    }
    // Same request, same browser binding as the dead link: renewing a
    // link must not let another browser sign in without the password.
    let ctx = MailContext {
        interaction: row.interaction.clone(),
        browser: row.browser.clone(),
        ..ctx.clone()
    };
    let link = send(&tx, mailer, &to, kind, &ctx, now)?;
    tx.commit()?;
    Ok(Renewed::Sent(link))
}

fn token_row(tx: &Tx<'_>, token: &str) -> crate::store::Result<Option<EmailToken>> {
    if token.len() != secrets::TOKEN_LEN {
        return Ok(None);
    }
    email_tokens::get(tx, &secrets::digest(token))
}

/// A valid reset link and its account (nothing is changed).
pub fn reset_target(
    tx: &Tx<'_>,
    token: &str,
    now: i64,
) -> crate::store::Result<Result<(EmailToken, users::User), LinkState>> {
    match inspect(tx, token, Purpose::Reset, now)? {
        LinkState::Valid(row) => match row.sub.as_deref() {
            Some(sub) => match users::by_sub(tx, sub)? {
                Some(user) => Ok(Ok((row, user))),
                None => Ok(Err(LinkState::Unknown)),
            },
            None => Ok(Err(LinkState::Unknown)),
        },
        other => Ok(Err(other)),
    }
}

/// A reset link's form, filled in.
pub struct NewPassword<'a> {
    pub token: &'a str,
    pub password_hash: &'a str,
    /// The language of the notice when the account has none recorded.
    pub lang: Lang,
    /// The absolute URL of « Mot de passe oublié ? », for the notice.
    pub forgot_url: &'a str,
    /// Where the form came from, for the audit trail.
    pub origin: &'a super::audit::Origin,
    /// Digest of the cookie of the browser finishing the reset.
    pub browser: Option<&'a str>,
}

/// A completed reset: the account, what was ended, and the pending
/// request to resume — only when the reset was finished in the browser
/// that asked for the link, so that a link asked for by someone else never
/// carries the citizen into that someone's request.
#[derive(Debug, Clone, PartialEq)]
pub struct Reset {
    pub sub: String,
    pub ended: Ended,
    pub resume: Option<String>,
}

/// Completes a reset: uses the link, stores the new hash, marks the
/// address verified (the mailbox was proven), clears the address's
/// sign-in throttle, removes the address's pending sign-ups (their
/// passwords must never become valid), and ends everything the old
/// password gave ([`password_changed`]).
pub fn reset_password(
    tx: &Tx<'_>,
    mailer: &Mailer,
    clients: &Clients,
    new: &NewPassword<'_>,
    now: i64,
) -> crate::store::Result<Result<Reset, LinkState>> {
    let tx = tx.savepoint()?;
    let row = match redeem(&tx, new.token, Purpose::Reset, now)? {
        LinkState::Valid(row) => row,
        other => return Ok(Err(other)),
    };
    let Some(user) = users::by_sub(&tx, row.sub.as_deref().unwrap_or_default())? else {
        return Ok(Err(LinkState::Unknown));
    };
    users::set_password_hash(&tx, &user.sub, new.password_hash, now)?;
    users::set_verified(&tx, &user.sub, now)?;
    // The mailbox owner chose a new password: failed guesses at the old one
    // no longer delay them.
    crate::accounts::throttle::clear(&tx, &crate::accounts::throttle::account_key(&user.email))?;
    signups::delete_for(&tx, &user.email)?;
    let change = PasswordChange {
        sub: &user.sub,
        keep_sid: None,
        lang: new.lang,
        forgot_url: new.forgot_url,
    };
    let ended = password_changed(&tx, mailer, clients, &change, now)?;
    let kind = super::audit::Kind::PasswordReset;
    super::audit::record(&tx, kind, Some(&user.sub), None, new.origin, None, now)?;
    tx.commit()?;
    tracing::info!(
        sessions_ended = ended.sessions,
        grants_revoked = ended.grants,
        "password reset"
    );
    let resume = row
        .interaction
        .filter(|_| same_digest(row.browser.as_deref(), new.browser));
    Ok(Ok(Reset {
        sub: user.sub,
        ended,
        resume,
    }))
}

/// Whether two browser digests are present and equal.
pub fn same_digest(bound: Option<&str>, presented: Option<&str>) -> bool {
    matches!((bound, presented), (Some(a), Some(b)) if secrets::same(a, b))
}

/// Periodic clean-up: unverified accounts and pending sign-ups older than
/// the setting (so the address can be used again), old links and old
/// limit records.
pub fn housekeeping(
    tx: &Tx<'_>,
    now: i64,
    unverified_ttl_days: i64,
) -> crate::store::Result<usize> {
    let horizon = now - unverified_ttl_days * 86_400;
    let removed = users::delete_unverified_before(tx, horizon)? + signups::purge(tx, horizon)?;
    email_tokens::purge(tx, horizon)?;
    mail_requests::purge(tx, now - 86_400)?;
    Ok(removed)
}

#[cfg(test)]
mod tests;
