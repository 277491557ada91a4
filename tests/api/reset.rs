//! Password reset tests.
