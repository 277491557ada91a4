//! Citizens: passwords and their hashing, sign-in and its throttling,
//! account creation, the password policy, email links (verification,
//! reset) and their abuse limits, and what a password change ends; the
//! citizen's own space (profile, address and password changes, devices,
//! consented services, export, deletion).

pub mod activation;
pub mod admin;
pub mod applications;
pub mod audit;
pub mod deletion;
pub mod devices;
pub mod email_change;
pub mod export;
pub mod import;
pub mod legacy_hash;
pub mod links;
pub mod login;
pub mod own_password;
pub mod password;
pub mod password_change;
pub mod policy;
pub mod profile;
pub mod reauth;
pub mod sessions;
pub mod signup;
pub mod throttle;
pub mod totp;
pub mod users;

pub use crate::store::users::User;
pub use password_change::password_changed;
pub use sessions::Session;
