//! The OpenID Connect and OAuth 2.0 rules, without HTTP: authorization
//! request validation, the next step of a flow, PKCE, scopes and claims,
//! token contents, grants (codes and what they produce), revocation,
//! introspection and logout.

pub mod acr;
pub mod authorize;
pub mod client_auth;
pub mod error;
pub mod flow;
pub mod grants;
pub mod introspection;
pub mod logout;
pub mod params;
pub mod pending;
pub mod pkce;
pub mod revocation;
pub mod scopes;
pub mod token;
pub mod tokens;
pub mod userinfo;

pub use error::{ErrorCode, OAuthError};

#[cfg(test)]
mod tests;
