//! Integration tests: the real server on 127.0.0.1:0, driven over HTTP by
//! the `openidconnect` crate as relying party and a cookie-keeping client
//! as the browser.

mod helpers;

mod authorize;
mod discovery;
mod flows;
mod operations;
mod pages;
mod robustness;
mod token;
mod userinfo;
