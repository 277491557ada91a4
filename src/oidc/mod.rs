//! The OpenID Connect and OAuth 2.0 rules, without HTTP: authorization
//! request validation, the next step of a flow, PKCE, scopes and claims,
//! token contents, and grants (codes and what they produce).

pub mod authorize;
pub mod client_auth;
pub mod error;
pub mod flow;
pub mod grants;
pub mod params;
pub mod pkce;
pub mod scopes;
pub mod tokens;

pub use error::{ErrorCode, OAuthError};
