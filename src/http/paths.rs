//! Every path, defined once: used by the router and by discovery.

pub const DISCOVERY: &str = "/.well-known/openid-configuration";
pub const JWKS: &str = "/jwks.json";
pub const AUTHORIZE: &str = "/authorize";
pub const TOKEN: &str = "/token";
pub const USERINFO: &str = "/userinfo";
pub const LOGIN: &str = "/login";
pub const CONSENT: &str = "/consent";
pub const SIGNUP: &str = "/signup";
pub const FORGOT: &str = "/password/forgot";
pub const HOME: &str = "/";
pub const STYLESHEET: &str = "/static/sesame.css";
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
