//! The citizen portal (`examples/citizen_portal`) driven over HTTP, without
//! a browser, against a real Sésame: sign-in, Rapprochement (new espace and
//! link to an existing portal account), consent refused, refresh, logout
//! and the back-channel logout receiver.
//!
//! Both servers run in-process on 127.0.0.1:0. The portal is an example
//! binary, which a test cannot import; so its code lives in
//! `examples/citizen_portal/portal/mod.rs` and is included here with
//! `#[path]` (it is a `mod.rs`, so its submodules resolve the same way from
//! the example and from this test). No `cargo build` of the example, no
//! child process: reliable and fast.

// A test stops at the line that failed (Cargo.toml denies these outside tests;
// helpers here are not `#[test]` functions, so clippy.toml does not cover them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../examples/citizen_portal/portal/mod.rs"]
mod portal;

#[path = "../common/mod.rs"]
mod common;

mod backchannel;
mod harness;
mod journeys;
mod throttle;
