//! Browser tests: the citizen's journeys through « Espace Citoyens »
//! (`examples/citizen_portal`) and Sésame, in headless Chromium driven by
//! chromedriver (WebDriver, through `fantoccini`). Sésame and the portal
//! run as real processes on free ports with temporary data folders; every
//! page visited is checked with axe-core (WCAG 2.1 A and AA) and saved as a
//! PNG under `target/e2e-screenshots/<test>/`.
//!
//! Needs Debian's `chromium` and `chromium-driver`, and `npm ci` in
//! `tests/e2e` (axe-core): `scripts/test` installs them. Without them the
//! tests fail and say how to install; they never pass silently.

// A test stops at the line that failed (Cargo.toml denies these outside tests;
// helpers here are not `#[test]` functions, so clippy.toml does not cover them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

mod browser;
mod processes;

mod account;
mod journeys;
mod second_factor;
mod strength;
