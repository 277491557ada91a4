//! Signing keys: created at first start, reloaded unchanged, rotated by
//! `sesame keys rotate`. One RS256 key (OIDC's default ID-token algorithm)
//! and one ES256 key (cheap: access tokens) are active at a time; retired
//! keys stay published in the JWKS so tokens they signed still verify.
//!
//! Files: `KEYS_DIR/<alg>-<unix time>-<random>.pem` (PKCS#8, mode 0600).
//! The newest file of an algorithm is its active key. The `kid` is the
//! RFC 7638 thumbprint of the public key, so it never changes on reload.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::Jwk;
use josekit::jws::{ES256, JwsVerifier, RS256};

use crate::config::SigningAlg;

/// A retired key is deleted by `keys rotate` once its successor has been
/// active this long: longer than any token it can have signed lives.
pub const RETIRED_KEY_GRACE_SECONDS: i64 = 2 * 86_400;

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

struct ActiveKey {
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

/// The loaded keys, prepared once: signers, verifiers by `kid`, and the
/// JWKS document already serialised.
pub struct KeyRing {
    rs256: ActiveKey,
    es256: ActiveKey,
    verifiers: HashMap<String, Box<dyn JwsVerifier>>,
    jwks: String,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("rs256", &self.rs256.kid)
            .field("es256", &self.es256.kid)
            .finish()
    }
}

impl KeyRing {
    /// Loads the keys in `dir`, creating the folder and a first key of each
    /// algorithm when missing.
    pub fn load_or_create(dir: &Path, now: i64) -> Result<KeyRing, KeyError> {
        create_dir(dir)?;
        let files = list(dir)?;
        for alg in [SigningAlg::Rs256, SigningAlg::Es256] {
            if !files.iter().any(|f| f.alg == alg) {
                generate(dir, alg, now)?;
            }
        }
        KeyRing::load(dir)
    }

    fn load(dir: &Path) -> Result<KeyRing, KeyError> {
        let files = list(dir)?;
        let mut verifiers: HashMap<String, Box<dyn JwsVerifier>> = HashMap::new();
        let mut published = Vec::new();
        let mut active: HashMap<&'static str, ActiveKey> = HashMap::new();
        // Oldest first, so the newest of each algorithm ends up active.
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
            active.insert(file.alg.as_str(), ActiveKey { kid, prepared });
        }
        // Active keys first: some clients try keys in order.
        published.reverse();
        let jwks = serde_json::json!({ "keys": published }).to_string();
        let missing = |alg: &str| KeyError::Bad(dir.to_path_buf(), format!("no {alg} key"));
        Ok(KeyRing {
            rs256: active.remove("RS256").ok_or_else(|| missing("RS256"))?,
            es256: active.remove("ES256").ok_or_else(|| missing("ES256"))?,
            verifiers,
            jwks,
        })
    }

    /// The JWKS document (public keys only).
    pub fn jwks_json(&self) -> &str {
        &self.jwks
    }

    pub fn active_kid(&self, alg: SigningAlg) -> &str {
        &self.active(alg).kid
    }

    fn active(&self, alg: SigningAlg) -> &ActiveKey {
        match alg {
            SigningAlg::Rs256 => &self.rs256,
            SigningAlg::Es256 => &self.es256,
        }
    }

    /// Signs `payload` (JSON claims) as a compact JWS with the active key.
    pub fn sign(&self, alg: SigningAlg, typ: &str, payload: &[u8]) -> Result<String, KeyError> {
        let key = self.active(alg);
        compact(&key.prepared, &key.kid, typ, payload)
    }

    /// Verifies a compact JWS signed by one of our keys; returns the payload
    /// and the `typ` header.
    pub fn verify(&self, token: &str) -> Option<(Vec<u8>, Option<String>)> {
        if token.len() > 16 * 1024 {
            return None;
        }
        let (payload, header) = josekit::jws::deserialize_compact_with_selector(token, |header| {
            Ok(header
                .key_id()
                .and_then(|kid| self.verifiers.get(kid))
                .map(|v| v.as_ref()))
        })
        .ok()?;
        Some((payload, header.token_type().map(str::to_owned)))
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
        generate(dir, alg, now)?;
    }
    let ring = KeyRing::load(dir)?;
    Ok(vec![ring.rs256.kid, ring.es256.kid])
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

    #[test]
    fn keys_are_created_once_reloaded_and_rotated() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::load_or_create(dir.path(), 1000).unwrap();
        let again = KeyRing::load_or_create(dir.path(), 2000).unwrap();
        assert_eq!(
            ring.active_kid(SigningAlg::Rs256),
            again.active_kid(SigningAlg::Rs256)
        );
        assert_eq!(
            ring.active_kid(SigningAlg::Es256),
            again.active_kid(SigningAlg::Es256)
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
            rotated.active_kid(SigningAlg::Es256),
            ring.active_kid(SigningAlg::Es256)
        );
        let (payload, typ) = rotated.verify(&jws).expect("old key still verifies");
        assert_eq!(payload, b"{\"a\":1}");
        assert_eq!(typ.as_deref(), Some("at+jwt"));
        let jwks: serde_json::Value = serde_json::from_str(rotated.jwks_json()).unwrap();
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
        let jwks: serde_json::Value = serde_json::from_str(ring.jwks_json()).unwrap();
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
                    Some(ring.active_kid(alg))
                );
            }
        }
    }
}
