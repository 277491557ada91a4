//! Sésame: a self-hosted OpenID Connect provider for a city's online
//! services. Dependencies point one way: `http` → `oidc` / `accounts` →
//! `store`, `keys`, `mail` (DESIGN §2).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod accounts;
pub mod app;
pub mod backchannel;
pub mod cli;
pub mod config;
pub mod http;
pub mod i18n;
pub mod keys;
pub mod mail;
pub mod oidc;
pub mod secrets;
pub mod store;
pub mod tuning;
