//! Integration tests: the real server on 127.0.0.1:0, driven over HTTP by
//! the `openidconnect` crate as relying party and a cookie-keeping client
//! as the browser.

mod helpers;
mod mailbox;
mod rp;

mod authorize;
mod backchannel;
mod client_credentials;
mod discovery;
mod flows;
mod introspection;
mod logout;
mod operations;
mod pages;
mod refresh;
mod revocation;
mod robustness;
mod sso;
mod token;
mod userinfo;
// — comptes (issue 3)
mod links;
mod mail;
mod password_rules;
mod reset;
mod signup;
