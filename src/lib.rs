//! Sésame: a self-hosted OpenID Connect provider for a city's online
//! services. Dependencies point one way: `http` → `oidc` / `accounts` →
//! `store`, `keys`, `mail` (DESIGN §2).

// `unwrap_used`, `expect_used` and `panic` are denied in Cargo.toml's
// `[lints]`, for the binary and the example too; clippy.toml lets tests use them.

pub mod accounts;
pub mod app;
pub mod backchannel;
pub mod cli;
pub mod config;
pub mod housekeeping;
pub mod http;
pub mod i18n;
pub mod keys;
pub mod logging;
pub mod mail;
pub mod metrics;
pub mod oidc;
pub mod pages;
pub mod private_files;
pub mod protocol;
pub mod secrets;
pub mod store;
pub mod tuning;

#[cfg(test)]
mod tests;
