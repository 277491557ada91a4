//! Live key rotation against a running process: `keys rotate` and SIGHUP
//! publish the new key at once, it signs once the JWKS's cache lifetime
//! has passed, and a token signed before still verifies.

use std::time::{Duration, Instant};

use crate::process::{Instance, check_against, new_browser};
use crate::{sesame, text};

#[tokio::test]
async fn rotated_keys_are_published_first_then_sign_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let max_age = 6;
    let extra = format!("[tokens]\njwks_max_age_seconds = {max_age}\n");
    let instance = Instance::start(dir.path(), &extra, &["nathalie@example.test"]);
    let browser = new_browser();
    let before = instance.id_token(&browser, "nathalie@example.test").await;
    let (old_kid, ok) = check_against(&instance.jwks().await, &before);
    assert!(ok, "the first ID token verifies against the JWKS");
    let jwks = instance.jwks().await;
    assert_eq!(jwks.keys().len(), 2);

    let config = instance.config.to_str().unwrap();
    // Before the command: the key file is stamped in whole seconds, at
    // most one second before this.
    let rotated_at = Instant::now();
    let rotated = sesame(&["keys", "rotate", "--config", config], None);
    assert!(rotated.status.success(), "{}", text(&rotated.stderr));
    instance.serving.signal("HUP");
    instance.serving.wait_for("signing keys reloaded");

    // Staged: published at once, not signing yet (every JWKS cached before
    // the reload may still be served to relying parties).
    let jwks = instance.jwks().await;
    assert_eq!(jwks.keys().len(), 4, "{}", instance.serving.log());
    let staged = instance.id_token(&browser, "nathalie@example.test").await;
    if rotated_at.elapsed() < Duration::from_secs(max_age - 2) {
        assert_eq!(check_against(&jwks, &staged), (old_kid.clone(), true));
    }

    // Once the cache lifetime has passed, the new key signs.
    tokio::time::sleep(Duration::from_secs(max_age + 1).saturating_sub(rotated_at.elapsed())).await;
    let after = instance.id_token(&browser, "nathalie@example.test").await;
    let jwks = instance.jwks().await;
    let (new_kid, ok) = check_against(&jwks, &after);
    assert!(ok, "the new ID token verifies against the JWKS");
    assert_ne!(new_kid, old_kid, "signed with the new key");
    assert!(
        check_against(&jwks, &before).1,
        "a token signed before the rotation still verifies"
    );
}
