//! Integration tests: the real server on 127.0.0.1:0, driven over HTTP by
//! the `openidconnect` crate as relying party and a cookie-keeping client
//! as the browser.

// A test stops at the line that failed (Cargo.toml denies these outside tests;
// helpers here are not `#[test]` functions, so clippy.toml does not cover them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;
mod helpers;
mod mailbox;
mod rp;

mod admin;
mod authorize;
mod backchannel;
mod batches;
mod client_credentials;
mod csrf;
mod discovery;
mod flows;
mod hardening;
mod hot_writers;
mod housekeeping;
mod introspection;
mod issuer_path;
mod limits;
mod logout;
mod metrics;
mod mfa;
mod mfa_services;
mod operations;
mod pages;
mod properties;
mod races;
mod refresh;
mod revocation;
mod robustness;
mod server;
mod shared_reads;
mod sso;
mod throttle;
mod token;
mod userinfo;
// — comptes
mod account;
mod account_data;
mod account_security;
mod hijacking;
mod links;
mod mail;
mod password_change;
mod password_rules;
mod reauth_throttle;
mod reset;
mod signup;
mod strength;
