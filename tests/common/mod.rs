//! Helpers shared by every test binary (api, portal, e2e, cli), included
//! with `mod common;`: how a test instance's files are written, how Sésame
//! is started in-process, and the HTTP clients and page readers a test
//! drives it with. Each binary keeps only what is its own on top.

// Each binary uses a part of these helpers.
#![allow(dead_code)]

pub mod instance;
pub mod server;
pub mod totp;
pub mod web;
