//! Authentication context classes (OIDC Core §2 `acr`, §3.1.2.1
//! `acr_values`): the level a sign-in reached, named with the REFEDS
//! profiles that relying parties already know — single-factor (a password,
//! or a link sent to the mailbox) and multi-factor (a second factor proven
//! too). The level is read from the sign-in's `amr` (RFC 8176), so codes,
//! grants and ID tokens need nothing more stored.

/// One factor proven.
pub const SINGLE_FACTOR: &str = "https://refeds.org/profile/sfa";
/// A second factor (TOTP code or recovery code) proven as well.
pub const MULTI_FACTOR: &str = "https://refeds.org/profile/mfa";
/// What discovery lists as `acr_values_supported`.
pub const SUPPORTED: [&str; 2] = [SINGLE_FACTOR, MULTI_FACTOR];

/// The level a sign-in with these methods reached.
pub fn of(amr: &[String]) -> &'static str {
    if amr.iter().any(|m| m == "otp") {
        MULTI_FACTOR
    } else {
        SINGLE_FACTOR
    }
}

/// Whether an `acr_values` parameter (space-separated, in order of
/// preference) asks for the second-factor level. Values Sésame does not
/// know are ignored, as OIDC Core §3.1.2.1 makes them voluntary.
pub fn asks_second_factor(acr_values: &str) -> bool {
    acr_values.split(' ').any(|v| v == MULTI_FACTOR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_level_follows_the_methods() {
        assert_eq!(of(&["pwd".into()]), SINGLE_FACTOR);
        assert_eq!(of(&[]), SINGLE_FACTOR);
        assert_eq!(
            of(&["pwd".into(), "otp".into(), "mfa".into()]),
            MULTI_FACTOR
        );
        assert!(asks_second_factor(&format!("urn:x {MULTI_FACTOR}")));
        assert!(!asks_second_factor(SINGLE_FACTOR));
        assert!(!asks_second_factor("mfa"));
    }
}
