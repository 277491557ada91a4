//! Mail transport tests.
