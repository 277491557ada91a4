//! Citizens: passwords and their hashing, account creation, the password
//! policy, email links (verification, reset) and their abuse limits.

pub mod links;
pub mod password;
pub mod policy;
pub mod signup;
pub mod users;
