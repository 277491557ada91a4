//! Citizens: passwords and their hashing, sign-in and its throttling,
//! account creation, the password policy, email links (verification,
//! reset) and their abuse limits, and what a password change ends.

pub mod activation;
pub mod admin;
pub mod audit;
pub mod import;
pub mod legacy_hash;
pub mod links;
pub mod login;
pub mod password;
pub mod password_change;
pub mod policy;
pub mod sessions;
pub mod signup;
pub mod throttle;
pub mod users;

pub use crate::store::users::User;
pub use password_change::password_changed;
pub use sessions::Session;
