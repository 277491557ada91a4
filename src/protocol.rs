//! The protocol's values as types: a set of scopes, a client's id, a
//! redirect URI. Each is built once, by the rule that makes it valid, from
//! `clients.toml`, a request or a stored row, and is passed around as such
//! rather than as a string split and joined again in every layer.
//!
//! A leaf: nothing here imports from the rest of the crate, so the
//! configuration, the domain and the store all share these types.

mod client;
mod scope;

pub use client::{ClientId, RedirectUri};
pub use scope::{Scope, Scopes, UnknownScope};

#[cfg(test)]
mod tests;
