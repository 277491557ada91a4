//! Citizens: passwords and their hashing, account creation.

pub mod password;
pub mod users;
