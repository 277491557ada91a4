//! Every path, defined once: used by the router and by discovery.

pub const DISCOVERY: &str = "/.well-known/openid-configuration";
pub const JWKS: &str = "/jwks.json";
pub const AUTHORIZE: &str = "/authorize";
pub const TOKEN: &str = "/token";
pub const USERINFO: &str = "/userinfo";
pub const LOGIN: &str = "/login";
/// The second factor's code, after the password or for a step-up.
pub const SECOND_FACTOR: &str = "/login/code";
pub const CONSENT: &str = "/consent";
pub const SIGNUP: &str = "/signup";
pub const FORGOT: &str = "/password/forgot";
pub const HOME: &str = "/";
pub const STYLESHEET: &str = "/static/sesame.css";
/// The password strength indicator's script (linked with `?v=` its digest).
pub const STRENGTH_SCRIPT: &str = "/static/strength.js";
/// « Imprimer » on the recovery codes page.
pub const PRINT_SCRIPT: &str = "/static/print.js";
pub const REVOKE: &str = "/revoke";
pub const INTROSPECT: &str = "/introspect";
pub const LOGOUT: &str = "/logout";
pub const HEALTH_LIVE: &str = "/health/live";
pub const HEALTH_READY: &str = "/health/ready";
// — comptes
pub const SIGNUP_RESEND: &str = "/signup/resend";
pub const VERIFY: &str = "/verify";
pub const LINK_RENEW: &str = "/link/renew";
pub const RESET: &str = "/password/reset";
// — « Mon compte »
pub const ACCOUNT: &str = "/account";
pub const ACCOUNT_PROFILE: &str = "/account/profile";
pub const ACCOUNT_EMAIL: &str = "/account/email";
pub const ACCOUNT_EMAIL_CONFIRM: &str = "/account/email/confirm";
pub const ACCOUNT_EMAIL_CANCEL: &str = "/account/email/cancel";
pub const ACCOUNT_SECURITY: &str = "/account/security";
pub const ACCOUNT_PASSWORD: &str = "/account/security/password";
/// The second factor's pages (their own module) live under this path.
pub const ACCOUNT_TOTP: &str = "/account/security/totp";
pub const ACCOUNT_TOTP_ENROL: &str = "/account/security/totp/enrol";
pub const ACCOUNT_TOTP_CONFIRM: &str = "/account/security/totp/confirm";
pub const ACCOUNT_TOTP_CODES: &str = "/account/security/totp/recovery-codes";
pub const ACCOUNT_TOTP_DISABLE: &str = "/account/security/totp/disable";
pub const ACCOUNT_SESSIONS: &str = "/account/sessions";
pub const ACCOUNT_SESSIONS_END: &str = "/account/sessions/end";
pub const ACCOUNT_SESSIONS_END_OTHERS: &str = "/account/sessions/end-others";
pub const ACCOUNT_APPLICATIONS: &str = "/account/applications";
pub const ACCOUNT_WITHDRAW: &str = "/account/applications/withdraw";
pub const ACCOUNT_DATA: &str = "/account/data";
pub const ACCOUNT_EXPORT: &str = "/account/data/export";
pub const ACCOUNT_DELETE: &str = "/account/data/delete";
pub const ACCOUNT_REAUTH: &str = "/account/reauth";
