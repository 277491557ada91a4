//! What an authorization request needs next (OIDC Core §3.1.2.3–§3.1.2.4):
//! a login, the second factor (or its enrolment), a consent, an error for
//! `prompt=none`, or a code.

use super::authorize::AuthRequest;
use super::{ErrorCode, OAuthError};
use crate::config::{Client, ConsentMode};
use crate::protocol::Scopes;
use crate::store::sessions::Session;

#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    Login,
    /// The session must prove the citizen's second factor (a step-up: the
    /// password is not asked again).
    SecondFactor,
    /// The client or the request wants a second factor the citizen has not
    /// enrolled yet: guided enrolment, then back to the request.
    Enrol,
    Consent,
    Issue,
    Fail(OAuthError),
}

/// What the citizen already did for this very request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Signed in for it (so `prompt=login`, `max_age` and a hint are satisfied).
    pub signed_in: bool,
    /// Accepted its consent page (so `prompt=consent` is satisfied).
    pub consented: bool,
}

/// Decides the next step; `consented` lists the scopes already granted,
/// `enrolled` says whether the session's citizen has a second factor.
pub fn next_step(
    req: &AuthRequest,
    client: &Client,
    session: Option<&Session>,
    progress: Progress,
    consented: Option<Scopes>,
    enrolled: bool,
    now: i64,
) -> Next {
    let hinted_other = |s: &Session| req.hint_sub.as_ref().is_some_and(|hint| *hint != s.sub);
    let needs_login = match session {
        None => true,
        // OIDC Core §3.1.2.1: the hinted citizen must be the one who signs
        // in; anyone else gets no code, and the client learns it.
        Some(s) if progress.signed_in && hinted_other(s) => {
            return Next::Fail(OAuthError::new(
                ErrorCode::LoginRequired,
                "the citizen who signed in is not the one id_token_hint names",
            ));
        }
        Some(_) if progress.signed_in => false,
        Some(s) => {
            req.prompt.login
                || req
                    .max_age
                    .is_some_and(|max| max == 0 || now - s.auth_time > max)
                || hinted_other(s)
        }
    };
    if needs_login {
        return if req.prompt.none {
            Next::Fail(OAuthError::new(
                ErrorCode::LoginRequired,
                "the citizen must sign in",
            ))
        } else {
            Next::Login
        };
    }
    // A citizen who enrolled proves it at every sign-in, whichever client
    // asks; a client (or a request) that requires it gets it from everyone.
    let proved = session.is_some_and(|s| s.amr.iter().any(|m| m == "otp"));
    let required = enrolled || client.require_2fa || req.second_factor;
    if required && !proved {
        return if req.prompt.none {
            Next::Fail(OAuthError::new(
                ErrorCode::InteractionRequired,
                "the citizen must prove a second factor",
            ))
        } else if enrolled {
            Next::SecondFactor
        } else {
            Next::Enrol
        };
    }
    let covered = consented.is_some_and(|granted| req.consent_scopes.is_subset(granted));
    let needs_consent = client.consent == ConsentMode::Required
        && !progress.consented
        && (req.prompt.consent || !covered);
    if needs_consent {
        return if req.prompt.none {
            Next::Fail(OAuthError::new(
                ErrorCode::ConsentRequired,
                "the citizen must consent",
            ))
        } else {
            Next::Consent
        };
    }
    Next::Issue
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Clients;
    use crate::oidc::authorize::{Prompt, ResponseMode, ReturnTo};
    use crate::protocol::{ClientId, RedirectUri};

    fn request() -> AuthRequest {
        AuthRequest {
            client_id: ClientId::parse("portail-citoyen").unwrap(),
            return_to: ReturnTo {
                redirect_uri: RedirectUri::parse("https://rp.example/cb").unwrap(),
                response_mode: ResponseMode::Query,
                state: None,
            },
            scopes: Scopes::parse("openid email").unwrap(),
            consent_scopes: Scopes::parse("email openid").unwrap(),
            nonce: None,
            code_challenge: None,
            prompt: Prompt::default(),
            max_age: None,
            login_hint: None,
            ui_locales: None,
            claims: None,
            hint_sub: None,
            second_factor: false,
        }
    }

    fn session(auth_time: i64) -> Session {
        Session {
            sid: "sid".into(),
            sub: "alice".into(),
            auth_time,
            amr: vec!["pwd".into()],
            acr: None,
            idle_expires_at: i64::MAX,
            expires_at: i64::MAX,
        }
    }

    fn step(
        req: &AuthRequest,
        s: Option<&Session>,
        fresh: bool,
        consented: Option<Scopes>,
        now: i64,
    ) -> Next {
        let clients = Clients::demo();
        let progress = Progress {
            signed_in: fresh,
            consented: false,
        };
        next_step(
            req,
            clients.get("portail-citoyen").unwrap(),
            s,
            progress,
            consented,
            false,
            now,
        )
    }

    #[test]
    fn no_session_means_login_or_login_required() {
        assert_eq!(step(&request(), None, false, None, 0), Next::Login);
        let mut none = request();
        none.prompt.none = true;
        assert!(
            matches!(step(&none, None, false, None, 0), Next::Fail(e) if e.code == ErrorCode::LoginRequired)
        );
    }

    #[test]
    fn max_age_forces_a_new_login_once() {
        let mut req = request();
        req.max_age = Some(60);
        let granted = Scopes::parse("email openid").unwrap();
        assert_eq!(
            step(&req, Some(&session(1000)), false, Some(granted), 1061),
            Next::Login
        );
        assert_eq!(
            step(&req, Some(&session(1000)), false, Some(granted), 1060),
            Next::Issue
        );
        assert_eq!(
            step(&req, Some(&session(1061)), true, Some(granted), 1061),
            Next::Issue
        );
    }

    #[test]
    fn consent_only_for_new_scopes_or_prompt_consent() {
        let s = session(0);
        let req = request();
        assert_eq!(step(&req, Some(&s), false, None, 1), Next::Consent);
        assert_eq!(
            step(
                &req,
                Some(&s),
                false,
                Some(Scopes::parse("openid").unwrap()),
                1
            ),
            Next::Consent
        );
        let all = Scopes::parse("email openid profile").unwrap();
        assert_eq!(step(&req, Some(&s), false, Some(all), 1), Next::Issue);
        let mut again = request();
        again.prompt.consent = true;
        assert_eq!(step(&again, Some(&s), false, Some(all), 1), Next::Consent);
        let clients = Clients::demo();
        let client = clients.get("portail-citoyen").unwrap();
        let done = Progress {
            signed_in: false,
            consented: true,
        };
        assert_eq!(
            next_step(&again, client, Some(&s), done, Some(all), false, 1),
            Next::Issue
        );
        let mut none = request();
        none.prompt.none = true;
        assert!(
            matches!(step(&none, Some(&s), false, None, 1), Next::Fail(e) if e.code == ErrorCode::ConsentRequired)
        );
    }

    #[test]
    fn id_token_hint_for_someone_else_requires_login() {
        let mut req = request();
        req.prompt.none = true;
        req.hint_sub = Some("bob".into());
        let all = Scopes::parse("email openid").unwrap();
        assert!(
            matches!(step(&req, Some(&session(0)), false, Some(all), 1), Next::Fail(e) if e.code == ErrorCode::LoginRequired)
        );
        req.hint_sub = Some("alice".into());
        assert_eq!(
            step(&req, Some(&session(0)), false, Some(all), 1),
            Next::Issue
        );
    }

    #[test]
    fn signing_in_as_someone_else_than_the_hint_answers_login_required() {
        let mut req = request();
        req.hint_sub = Some("bob".into());
        let all = Scopes::parse("email openid").unwrap();
        assert_eq!(
            step(&req, Some(&session(0)), false, Some(all), 1),
            Next::Login,
            "without prompt=none, the hinted citizen is asked to sign in"
        );
        assert!(
            matches!(step(&req, Some(&session(0)), true, Some(all), 1), Next::Fail(e) if e.code == ErrorCode::LoginRequired),
            "alice signed in for a request hinted for bob"
        );
        req.hint_sub = Some("alice".into());
        assert_eq!(
            step(&req, Some(&session(0)), true, Some(all), 1),
            Next::Issue
        );
    }

    #[test]
    fn a_second_factor_comes_after_the_password_and_before_consent() {
        let clients = Clients::demo();
        let demo = clients.get("portail-citoyen").unwrap();
        let all = Scopes::parse("email openid").ok();
        let s = session(0);
        let fresh = Progress::default();
        let decide = |req: &AuthRequest, client: &Client, s: &Session, enrolled: bool| {
            next_step(req, client, Some(s), fresh, all, enrolled, 1)
        };
        assert_eq!(decide(&request(), demo, &s, false), Next::Issue);
        assert_eq!(decide(&request(), demo, &s, true), Next::SecondFactor);
        let mut strict = demo.clone();
        strict.require_2fa = true;
        assert_eq!(decide(&request(), &strict, &s, false), Next::Enrol);
        let mut asked = request();
        asked.second_factor = true;
        assert_eq!(decide(&asked, demo, &s, false), Next::Enrol);
        let proved = Session {
            amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
            ..session(0)
        };
        assert_eq!(decide(&asked, &strict, &proved, true), Next::Issue);
        asked.prompt.none = true;
        assert!(
            matches!(decide(&asked, demo, &s, true), Next::Fail(e) if e.code == ErrorCode::InteractionRequired)
        );
        assert_eq!(
            next_step(&request(), &strict, None, fresh, None, false, 1),
            Next::Login,
            "the password first"
        );
    }
}
