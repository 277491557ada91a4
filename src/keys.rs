//! Signing keys: created at first start, reloaded unchanged (and on
//! SIGHUP), rotated by `sesame keys rotate`. One RS256 key (OIDC's default
//! ID-token algorithm) and one ES256 key (cheap: access tokens) sign at a
//! time; every key on disk is published in the JWKS, so tokens signed by a
//! retired key still verify and a new key is known before it signs.
//!
//! Files: `KEYS_DIR/<alg>-<unix time>-<random>.pem` (PKCS#8, mode 0600).
//! A key signs once it is older than the JWKS's cache lifetime (relying
//! parties may keep a JWKS that long): the newest such key of an algorithm
//! signs; when none is that old yet (a fresh instance), the oldest one
//! does. The `kid` is the RFC 7638 thumbprint of the public key, so it
//! never changes on reload.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::Jwk;
use josekit::jws::{ES256, JwsVerifier, RS256};

use crate::config::SigningAlg;

/// A retired key is deleted by `keys rotate` once its successor has been
/// active this long: longer than any token it can have signed lives.
const RETIRED_KEY_GRACE_SECONDS: i64 = 2 * 86_400;

/// How long relying parties may cache the JWKS (its `Cache-Control`), and
/// so how long a new key is published before it signs.
pub const JWKS_MAX_AGE_SECONDS: i64 = 300;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key folder {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("key file {0}: {1}")]
    Bad(PathBuf, String),
    #[error("cannot create key: {0}")]
    Generate(String),
    #[error("cannot sign: {0}")]
    Sign(String),
}

struct KeyFile {
    path: PathBuf,
    alg: SigningAlg,
    created: i64,
}

struct SigningKey {
    /// When the key file was made (its name says so).
    created: i64,
    kid: String,
    /// The key prepared once for OpenSSL's low-level calls: josekit sets
    /// up an EVP context per signature, which in OpenSSL 3 costs about as
    /// much as a P-256 signature (access tokens and ID tokens are hot).
    prepared: Prepared,
}

enum Prepared {
    Ec(openssl::ec::EcKey<openssl::pkey::Private>),
    Rsa(openssl::rsa::Rsa<openssl::pkey::Private>),
}

/// The keys in use, replaced as a whole when the key folder is reloaded.
pub struct KeyRing {
    dir: PathBuf,
    /// Seconds a key is published before it signs.
    activation_delay: i64,
    current: RwLock<Arc<KeySet>>,
}

/// The keys of the folder at one moment, prepared once: signers (oldest
/// first, per algorithm), verifiers by `kid`, and the JWKS already
/// serialised.
struct KeySet {
    rs256: Vec<SigningKey>,
    es256: Vec<SigningKey>,
    verifiers: HashMap<String, Box<dyn JwsVerifier>>,
    jwks: Arc<[u8]>,
    /// The key files it was read from, to notice the folder changed.
    files: Vec<PathBuf>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("dir", &self.dir)
            .field("activation_delay", &self.activation_delay)
            .finish()
    }
}

impl KeyRing {
    /// Loads the keys in `dir`, creating the folder and a first key of each
    /// algorithm when missing.
    /// A key signs [`JWKS_MAX_AGE_SECONDS`] after it was made; see
    /// [`KeyRing::activating_after`].
    pub fn load_or_create(dir: &Path, now: i64) -> Result<KeyRing, KeyError> {
        create_dir(dir)?;
        let files = list(dir)?;
        for alg in [SigningAlg::Rs256, SigningAlg::Es256] {
            if !files.iter().any(|f| f.alg == alg) {
                generate(dir, alg, now)?;
            }
        }
        Ok(KeyRing {
            dir: dir.to_path_buf(),
            activation_delay: JWKS_MAX_AGE_SECONDS,
            current: RwLock::new(Arc::new(KeySet::load(dir)?)),
        })
    }

    /// Sets how long a new key is published before it signs (the JWKS's
    /// cache lifetime, `tokens.jwks_max_age_seconds`).
    pub fn activating_after(mut self, seconds: i64) -> KeyRing {
        self.activation_delay = seconds;
        self
    }

    /// Reads the key folder again (SIGHUP, after `keys rotate`); on error
    /// the keys in use stay. Returns how many keys are published.
    pub fn reload(&self) -> Result<usize, KeyError> {
        let fresh = KeySet::load(&self.dir)?;
        let count = fresh.verifiers.len();
        match self.current.write() {
            Ok(mut c) => *c = Arc::new(fresh),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(fresh),
        }
        Ok(count)
    }

    /// Reloads the key folder if its key files changed since it was read
    /// (a rotation made on another node, on a shared `keys_dir`); returns
    /// how many keys are published after a reload, `None` if unchanged.
    pub fn reload_if_changed(&self) -> Result<Option<usize>, KeyError> {
        let on_disk: Vec<PathBuf> = list(&self.dir)?.into_iter().map(|f| f.path).collect();
        if on_disk == self.current().files {
            return Ok(None);
        }
        self.reload().map(Some)
    }

    fn current(&self) -> Arc<KeySet> {
        match self.current.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The JWKS document (public keys only), as JSON.
    pub fn jwks_json(&self) -> Arc<[u8]> {
        self.current().jwks.clone()
    }

    /// The `kid` of the key that signs `alg` at `now` (what the rotation
    /// tests watch).
    #[cfg(test)]
    fn active_kid(&self, alg: SigningAlg, now: i64) -> Option<String> {
        let set = self.current();
        let key = set.signer(alg, now, self.activation_delay).ok()?;
        Some(key.kid.clone())
    }

    /// Signs `payload` (JSON claims) as a compact JWS with the key that
    /// signs `alg` now.
    pub fn sign(&self, alg: SigningAlg, typ: &str, payload: &[u8]) -> Result<String, KeyError> {
        let set = self.current();
        let key = set.signer(alg, unix_now(), self.activation_delay)?;
        compact(&key.prepared, &key.kid, typ, payload)
    }

    /// Verifies a compact JWS signed by one of our keys; returns the payload
    /// and the `typ` header.
    pub fn verify(&self, token: &str) -> Option<(Vec<u8>, Option<String>)> {
        if token.len() > 16 * 1024 {
            return None;
        }
        let set = self.current();
        let (payload, header) = josekit::jws::deserialize_compact_with_selector(token, |header| {
            Ok(header
                .key_id()
                .and_then(|kid| set.verifiers.get(kid))
                .map(|v| v.as_ref()))
        })
        .ok()?;
        Some((payload, header.token_type().map(str::to_owned)))
    }
}

/// The wall clock: which key signs depends on it, as the key files are
/// stamped with it.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl KeySet {
    fn load(dir: &Path) -> Result<KeySet, KeyError> {
        let files = list(dir)?;
        let mut verifiers: HashMap<String, Box<dyn JwsVerifier>> = HashMap::new();
        let mut published = Vec::new();
        let (mut rs256, mut es256) = (Vec::new(), Vec::new());
        // Oldest first, as `signer` expects.
        for file in &files {
            let pem = std::fs::read(&file.path).map_err(|e| KeyError::Io(file.path.clone(), e))?;
            let bad = |e: josekit::JoseError| KeyError::Bad(file.path.clone(), e.to_string());
            let mut public: Jwk = match file.alg {
                SigningAlg::Rs256 => josekit::jwk::KeyPair::to_jwk_public_key(
                    &RS256.key_pair_from_pem(&pem).map_err(bad)?,
                ),
                SigningAlg::Es256 => josekit::jwk::KeyPair::to_jwk_public_key(
                    &ES256.key_pair_from_pem(&pem).map_err(bad)?,
                ),
            };
            let kid = thumbprint(&public);
            public.set_key_id(&kid);
            public.set_algorithm(file.alg.as_str());
            public.set_key_use("sig");
            let verifier: Box<dyn JwsVerifier> = match file.alg {
                SigningAlg::Rs256 => Box::new(RS256.verifier_from_jwk(&public).map_err(bad)?),
                SigningAlg::Es256 => Box::new(ES256.verifier_from_jwk(&public).map_err(bad)?),
            };
            verifiers.insert(kid.clone(), verifier);
            published.push(serde_json::Value::Object(public.as_ref().clone()));
            let unreadable =
                |e: openssl::error::ErrorStack| KeyError::Bad(file.path.clone(), e.to_string());
            let prepared = match file.alg {
                SigningAlg::Es256 => Prepared::Ec(
                    openssl::ec::EcKey::private_key_from_pem(&pem).map_err(unreadable)?,
                ),
                SigningAlg::Rs256 => Prepared::Rsa(
                    openssl::rsa::Rsa::private_key_from_pem(&pem).map_err(unreadable)?,
                ),
            };
            let key = SigningKey {
                created: file.created,
                kid,
                prepared,
            };
            match file.alg {
                SigningAlg::Rs256 => rs256.push(key),
                SigningAlg::Es256 => es256.push(key),
            }
        }
        // Newest keys first: some clients try keys in order.
        published.reverse();
        let jwks = serde_json::json!({ "keys": published }).to_string();
        let missing = |alg: &str| KeyError::Bad(dir.to_path_buf(), format!("no {alg} key"));
        if rs256.is_empty() {
            return Err(missing("RS256"));
        }
        if es256.is_empty() {
            return Err(missing("ES256"));
        }
        Ok(KeySet {
            rs256,
            es256,
            verifiers,
            jwks: jwks.into_bytes().into(),
            files: files.into_iter().map(|f| f.path).collect(),
        })
    }

    /// The newest key of `alg` published for at least `delay` seconds at
    /// `now`, or the oldest one when none is (a fresh instance: no relying
    /// party can hold an older JWKS). `load` makes sure there is one.
    fn signer(&self, alg: SigningAlg, now: i64, delay: i64) -> Result<&SigningKey, KeyError> {
        let keys = match alg {
            SigningAlg::Rs256 => &self.rs256,
            SigningAlg::Es256 => &self.es256,
        };
        keys.iter()
            .rev()
            .find(|k| k.created + delay <= now)
            .or(keys.first())
            .ok_or_else(|| KeyError::Sign(format!("no {} key", alg.as_str())))
    }
}

/// A compact JWS (RFC 7515) signed with a prepared key: ES256's signature
/// is R || S, 32 bytes each (RFC 7518 §3.4); RS256's is RSASSA-PKCS1-v1_5
/// over SHA-256 (§3.3). `kid` and `typ` are ours, never input, so they need
/// no JSON escaping.
fn compact(key: &Prepared, kid: &str, typ: &str, payload: &[u8]) -> Result<String, KeyError> {
    let alg = match key {
        Prepared::Ec(_) => "ES256",
        Prepared::Rsa(_) => "RS256",
    };
    let header = format!(r#"{{"typ":"{typ}","alg":"{alg}","kid":"{kid}"}}"#);
    let mut jws = URL_SAFE_NO_PAD.encode(header);
    jws.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut jws);
    let digest = crate::secrets::sha256(jws.as_bytes());
    let failed = |e: openssl::error::ErrorStack| KeyError::Sign(e.to_string());
    let signature = match key {
        Prepared::Ec(ec) => {
            let signature = openssl::ecdsa::EcdsaSig::sign(&digest, ec).map_err(failed)?;
            let mut raw = signature.r().to_vec_padded(32).map_err(failed)?;
            raw.extend(signature.s().to_vec_padded(32).map_err(failed)?);
            raw
        }
        Prepared::Rsa(rsa) => {
            // EMSA-PKCS1-v1_5 (RFC 8017 §9.2): the DigestInfo of SHA-256, padded.
            const SHA256_DIGEST_INFO: [u8; 19] = [
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ];
            let mut info = SHA256_DIGEST_INFO.to_vec();
            info.extend_from_slice(&digest);
            let mut raw = vec![0u8; rsa.size() as usize];
            let len = rsa
                .private_encrypt(&info, &mut raw, openssl::rsa::Padding::PKCS1)
                .map_err(failed)?;
            raw.truncate(len);
            raw
        }
    };
    jws.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut jws);
    Ok(jws)
}

/// Makes a new active key of each algorithm and removes keys retired for
/// longer than [`RETIRED_KEY_GRACE_SECONDS`]. Returns the new kids.
pub fn rotate(dir: &Path, now: i64) -> Result<Vec<String>, KeyError> {
    create_dir(dir)?;
    let before = list(dir)?;
    for alg in [SigningAlg::Rs256, SigningAlg::Es256] {
        // A key is retired from the moment its successor was created.
        let of_alg: Vec<&KeyFile> = before.iter().filter(|f| f.alg == alg).collect();
        for pair in of_alg.windows(2) {
            if now - pair[1].created > RETIRED_KEY_GRACE_SECONDS {
                std::fs::remove_file(&pair[0].path)
                    .map_err(|e| KeyError::Io(pair[0].path.clone(), e))?;
            }
        }
        // Stamped after the newest key even within the same second, so
        // that "oldest" and "newest" are never a tie between file names.
        let stamp = of_alg
            .last()
            .map_or(now, |newest| now.max(newest.created + 1));
        generate(dir, alg, stamp)?;
    }
    let set = KeySet::load(dir)?;
    let newest = |keys: &[SigningKey]| keys.last().map(|k| k.kid.clone()).unwrap_or_default();
    Ok(vec![newest(&set.rs256), newest(&set.es256)])
}

fn create_dir(dir: &Path) -> Result<(), KeyError> {
    if !dir.exists() {
        std::fs::create_dir_all(dir).map_err(|e| KeyError::Io(dir.to_path_buf(), e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
    }
    Ok(())
}

/// Key files, oldest first.
fn list(dir: &Path) -> Result<Vec<KeyFile>, KeyError> {
    let entries = std::fs::read_dir(dir).map_err(|e| KeyError::Io(dir.to_path_buf(), e))?;
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(stem) = name.strip_suffix(".pem") else {
            continue;
        };
        let mut parts = stem.splitn(3, '-');
        let alg = match parts.next() {
            Some("rs256") => SigningAlg::Rs256,
            Some("es256") => SigningAlg::Es256,
            _ => continue,
        };
        let Some(created) = parts.next().and_then(|t| t.parse().ok()) else {
            continue;
        };
        files.push(KeyFile { path, alg, created });
    }
    files.sort_by(|a, b| (a.created, &a.path).cmp(&(b.created, &b.path)));
    Ok(files)
}

fn generate(dir: &Path, alg: SigningAlg, now: i64) -> Result<PathBuf, KeyError> {
    let gen_err = |e: josekit::JoseError| KeyError::Generate(e.to_string());
    let (prefix, pem) = match alg {
        SigningAlg::Rs256 => (
            "rs256",
            josekit::jwk::KeyPair::to_pem_private_key(
                &RS256.generate_key_pair(2048).map_err(gen_err)?,
            ),
        ),
        SigningAlg::Es256 => (
            "es256",
            josekit::jwk::KeyPair::to_pem_private_key(&ES256.generate_key_pair().map_err(gen_err)?),
        ),
    };
    let path = dir.join(format!(
        "{prefix}-{now}-{}.pem",
        &crate::secrets::random_b64(6)
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&path)
        .map_err(|e| KeyError::Io(path.clone(), e))?;
    file.write_all(&pem)
        .and_then(|_| file.sync_all())
        .map_err(|e| KeyError::Io(path.clone(), e))?;
    Ok(path)
}

/// RFC 7638 JWK thumbprint (SHA-256, base64url).
fn thumbprint(jwk: &Jwk) -> String {
    let p = |k: &str| {
        jwk.parameter(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let canonical = match jwk.key_type() {
        "RSA" => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, p("e"), p("n")),
        _ => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            p("crv"),
            p("x"),
            p("y")
        ),
    };
    URL_SAFE_NO_PAD.encode(crate::secrets::sha256(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Long after every key of these tests was made.
    const LATER: i64 = 1 << 40;

    /// A rotated key is published at once but signs only once every JWKS
    /// cached before it was published has expired.
    #[test]
    fn a_new_key_is_published_first_and_signs_after_the_jwks_max_age() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::load_or_create(dir.path(), 1000)
            .unwrap()
            .activating_after(300);
        let first = ring.active_kid(SigningAlg::Rs256, 1000).unwrap();
        rotate(dir.path(), 2000).unwrap();
        assert_eq!(ring.reload().unwrap(), 4);
        let jwks = String::from_utf8(ring.jwks_json().to_vec()).unwrap();
        let newest = ring.active_kid(SigningAlg::Rs256, 2300).unwrap();
        assert_ne!(newest, first);
        assert!(jwks.contains(&newest), "published before it signs");
        assert_eq!(ring.active_kid(SigningAlg::Rs256, 2299).unwrap(), first);
    }

    #[test]
    fn a_rotation_made_elsewhere_on_the_shared_folder_is_picked_up_once() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::load_or_create(dir.path(), 1000).unwrap();
        assert_eq!(ring.reload_if_changed().unwrap(), None, "nothing changed");
        // Another node (another KeyRing on the same folder) rotates.
        rotate(dir.path(), 2000).unwrap();
        assert_eq!(ring.reload_if_changed().unwrap(), Some(4));
        let newest = ring.active_kid(SigningAlg::Rs256, LATER).unwrap();
        let jwks = String::from_utf8(ring.jwks_json().to_vec()).unwrap();
        assert!(jwks.contains(&newest));
        assert_eq!(ring.reload_if_changed().unwrap(), None, "read once");
    }

    #[test]
    fn keys_are_created_once_reloaded_and_rotated() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::load_or_create(dir.path(), 1000).unwrap();
        let again = KeyRing::load_or_create(dir.path(), 2000).unwrap();
        assert_eq!(
            ring.active_kid(SigningAlg::Rs256, LATER),
            again.active_kid(SigningAlg::Rs256, LATER)
        );
        assert_eq!(
            ring.active_kid(SigningAlg::Es256, LATER),
            again.active_kid(SigningAlg::Es256, LATER)
        );

        #[cfg(unix)]
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            use std::os::unix::fs::PermissionsExt;
            let mode = entry.unwrap().metadata().unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let jws = ring
            .sign(SigningAlg::Es256, "at+jwt", b"{\"a\":1}")
            .unwrap();
        rotate(dir.path(), 3000).unwrap();
        let rotated = KeyRing::load_or_create(dir.path(), 3000).unwrap();
        assert_ne!(
            rotated.active_kid(SigningAlg::Es256, LATER),
            ring.active_kid(SigningAlg::Es256, LATER)
        );
        let (payload, typ) = rotated.verify(&jws).expect("old key still verifies");
        assert_eq!(payload, b"{\"a\":1}");
        assert_eq!(typ.as_deref(), Some("at+jwt"));
        let jwks: serde_json::Value = serde_json::from_slice(&rotated.jwks_json()).unwrap();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 4);
        for key in jwks["keys"].as_array().unwrap() {
            assert!(
                key.get("d").is_none() && key.get("p").is_none(),
                "public keys only"
            );
            assert!(key["kid"].is_string() && key["alg"].is_string() && key["use"] == "sig");
        }

        // Long after, a second rotation drops the keys retired by the first.
        rotate(dir.path(), 3000 + RETIRED_KEY_GRACE_SECONDS + 1).unwrap();
        let ring = KeyRing::load_or_create(dir.path(), 0).unwrap();
        assert!(ring.verify(&jws).is_none());
        let jwks: serde_json::Value = serde_json::from_slice(&ring.jwks_json()).unwrap();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 4);
    }
}

#[cfg(test)]
mod signing_tests {
    use super::*;

    /// Our own signatures (prepared OpenSSL keys) verify with josekit, an
    /// independent implementation, and carry the header fields RFC 9068
    /// and OIDC need. Many rounds, so that R or S with leading zero bytes
    /// come up.
    #[test]
    fn signatures_verify_independently() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::load_or_create(dir.path(), 0).unwrap();
        for alg in [SigningAlg::Es256, SigningAlg::Rs256] {
            for _ in 0..40 {
                let jws = ring.sign(alg, "at+jwt", b"{\"sub\":\"x\"}").unwrap();
                let (payload, typ) = ring.verify(&jws).expect("verifies");
                assert_eq!(payload, b"{\"sub\":\"x\"}");
                assert_eq!(typ.as_deref(), Some("at+jwt"));
                let header = josekit::jwt::decode_header(&jws).unwrap();
                assert_eq!(
                    header.claim("alg").and_then(|v| v.as_str()),
                    Some(alg.as_str())
                );
                assert_eq!(
                    header.claim("kid").and_then(|v| v.as_str()),
                    ring.active_kid(alg, unix_now()).as_deref()
                );
            }
        }
    }
}
