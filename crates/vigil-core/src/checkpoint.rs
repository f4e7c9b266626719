//! Signed checkpoints: a tree size, the Merkle root of the journal's first `size` entries and
//! a time, signed with the store's Ed25519 key.
//!
//! What is signed is a short text anyone can check with standard tools (`openssl pkeyutl
//! -verify -rawin`):
//!
//! ```text
//! vigil checkpoint v1
//! key 5e1f0c2a9b3d4e6f
//! size 1000
//! root 6b3f…(64 hex digits)
//! time 2026-12-07T10:00:00.000000Z
//! ```

use base64::Engine;
use chrono::{DateTime, Utc};
use ring::signature::{self, Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::event::micros;
use crate::merkle::Hash;

/// The first line of a checkpoint's signed text.
pub const HEADER: &str = "vigil checkpoint v1";

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before the 32 key bytes.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// A signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// How many entries it covers (the journal's seqs 1 to `size`).
    pub size: u64,
    /// The Merkle root of those entries.
    #[serde(with = "hex32")]
    pub root: Hash,
    /// When it was signed.
    #[serde(with = "micros")]
    pub signed_at: DateTime<Utc>,
    /// The id of the key that signed it (see [`PublicKey::id`]).
    pub key_id: String,
    /// The Ed25519 signature of [`Checkpoint::text`], 64 bytes.
    #[serde(with = "b64")]
    pub signature: Vec<u8>,
}

mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}

mod b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}

/// The text a checkpoint's signature is over.
pub fn text(key_id: &str, size: u64, root: &Hash, signed_at: &DateTime<Utc>) -> String {
    format!(
        "{HEADER}\nkey {key_id}\nsize {size}\nroot {}\ntime {}\n",
        hex::encode(root),
        micros::format(signed_at)
    )
}

impl Checkpoint {
    /// The signed text.
    pub fn text(&self) -> String {
        text(&self.key_id, self.size, &self.root, &self.signed_at)
    }
}

/// Why a key or a signature is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key's text is not a key.
    #[error("{0}")]
    Unreadable(String),
    /// The checkpoint names another key.
    #[error("checkpoint at size {size} names key {found}, not the store's key {expected}")]
    OtherKey {
        /// Its size.
        size: u64,
        /// The key it names.
        found: String,
        /// The key checked against.
        expected: String,
    },
    /// The signature does not match.
    #[error("checkpoint at size {size}: bad signature")]
    BadSignature {
        /// Its size.
        size: u64,
    },
}

/// The store's signing key.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    public: PublicKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.public.id())
    }
}

impl SigningKey {
    /// A new random key, with its PKCS#8 PEM text (what is kept on disk).
    pub fn generate() -> Result<(SigningKey, String), KeyError> {
        let rng = ring::rand::SystemRandom::new();
        let der = Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| KeyError::Unreadable("no randomness to make a key with".into()))?;
        let pem = pem("PRIVATE KEY", der.as_ref());
        Ok((SigningKey::from_pkcs8(der.as_ref())?, pem))
    }

    /// Reads a PKCS#8 PEM private key (as [`SigningKey::generate`] or `openssl genpkey
    /// -algorithm ed25519` write it).
    pub fn from_pem(text: &str) -> Result<SigningKey, KeyError> {
        let der = unpem(text, "PRIVATE KEY")?;
        SigningKey::from_pkcs8(&der)
    }

    fn from_pkcs8(der: &[u8]) -> Result<SigningKey, KeyError> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map_err(|e| KeyError::Unreadable(format!("not an Ed25519 private key: {e}")))?;
        let public = PublicKey(
            pair.public_key()
                .as_ref()
                .try_into()
                .expect("an Ed25519 public key is 32 bytes"),
        );
        Ok(SigningKey { pair, public })
    }

    /// Its public part.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// Signs a checkpoint of `size` entries with this `root`, at `signed_at`.
    pub fn sign(&self, size: u64, root: Hash, signed_at: DateTime<Utc>) -> Checkpoint {
        let key_id = self.public.id();
        let signature = self
            .pair
            .sign(text(&key_id, size, &root, &signed_at).as_bytes())
            .as_ref()
            .to_vec();
        Checkpoint {
            size,
            root,
            signed_at,
            key_id,
            signature,
        }
    }
}

/// The public part of a store's key: what checks its checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// Its id: the first 8 bytes of SHA-256 of the key, in hex.
    pub fn id(&self) -> String {
        hex::encode(&Sha256::digest(self.0)[..8])
    }

    /// The key as base64 of its 32 bytes.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    /// The key as a PEM SubjectPublicKeyInfo (`openssl pkey -pubin` reads it).
    pub fn to_pem(&self) -> String {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.0);
        pem("PUBLIC KEY", &der)
    }

    /// Reads a key given as PEM (public key), or base64 or hex of its 32 bytes.
    pub fn parse(text: &str) -> Result<PublicKey, KeyError> {
        let text = text.trim();
        let bytes = if text.starts_with("-----BEGIN") {
            let der = unpem(text, "PUBLIC KEY")?;
            der.strip_prefix(&SPKI_PREFIX[..])
                .ok_or_else(|| KeyError::Unreadable("not an Ed25519 public key".into()))?
                .to_vec()
        } else if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).map_err(|e| KeyError::Unreadable(e.to_string()))?
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| {
                    KeyError::Unreadable("a public key is PEM, or 32 bytes in base64 or hex".into())
                })?
        };
        let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            KeyError::Unreadable(format!(
                "an Ed25519 public key is 32 bytes, not {}",
                b.len()
            ))
        })?;
        Ok(PublicKey(key))
    }

    /// Checks a checkpoint's key id and signature.
    pub fn verify(&self, cp: &Checkpoint) -> Result<(), KeyError> {
        if cp.key_id != self.id() {
            return Err(KeyError::OtherKey {
                size: cp.size,
                found: cp.key_id.clone(),
                expected: self.id(),
            });
        }
        signature::UnparsedPublicKey::new(&signature::ED25519, self.0)
            .verify(cp.text().as_bytes(), &cp.signature)
            .map_err(|_| KeyError::BadSignature { size: cp.size })
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn unpem(text: &str, label: &str) -> Result<Vec<u8>, KeyError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body = text
        .trim()
        .strip_prefix(&begin)
        .and_then(|t| t.strip_suffix(&end))
        .ok_or_else(|| KeyError::Unreadable(format!("not a PEM {label}")))?;
    let b64: String = body.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| KeyError::Unreadable(format!("the PEM {label} is not base64")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_verifies_under_its_key_only_and_not_once_changed() {
        let (key, pem) = SigningKey::generate().unwrap();
        let again = SigningKey::from_pem(&pem).unwrap();
        assert_eq!(again.public(), key.public());
        let at = DateTime::parse_from_rfc3339("2026-12-07T10:00:00.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        let cp = key.sign(1000, [7; 32], at);
        assert!(cp.text().starts_with("vigil checkpoint v1\nkey "));
        assert!(cp.text().ends_with("size 1000\nroot 0707070707070707070707070707070707070707070707070707070707070707\ntime 2026-12-07T10:00:00.123456Z\n"));
        key.public().verify(&cp).unwrap();
        let public = PublicKey::parse(&key.public().to_pem()).unwrap();
        public.verify(&cp).unwrap();
        assert_eq!(PublicKey::parse(&key.public().to_base64()).unwrap(), public);
        assert_eq!(PublicKey::parse(&hex::encode(public.0)).unwrap(), public);

        let mut bad = cp.clone();
        bad.size = 1001;
        assert_eq!(
            public.verify(&bad),
            Err(KeyError::BadSignature { size: 1001 })
        );
        let mut bad = cp.clone();
        bad.root[0] ^= 1;
        assert!(public.verify(&bad).is_err());
        let mut bad = cp.clone();
        bad.signed_at += chrono::Duration::microseconds(1);
        assert!(public.verify(&bad).is_err());
        let mut bad = cp.clone();
        bad.signature[10] ^= 1;
        assert!(public.verify(&bad).is_err());
        bad.signature.truncate(10);
        assert!(public.verify(&bad).is_err());

        // Signed by another key: named as such, and refused even under the other key's id.
        let (other, _) = SigningKey::generate().unwrap();
        let forged = other.sign(1000, cp.root, at);
        assert!(matches!(
            public.verify(&forged),
            Err(KeyError::OtherKey { .. })
        ));
        let mut forged = forged;
        forged.key_id = public.id();
        assert!(public.verify(&forged).is_err());

        let json = serde_json::to_string(&cp).unwrap();
        assert_eq!(serde_json::from_str::<Checkpoint>(&json).unwrap(), cp);
    }

    #[test]
    fn keys_that_are_not_keys_are_refused_in_words() {
        assert!(SigningKey::from_pem("hello").is_err());
        assert!(PublicKey::parse("AAAA").is_err());
        assert!(
            PublicKey::parse("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----").is_err()
        );
        assert!(PublicKey::parse("not base64!").is_err());
    }
}
