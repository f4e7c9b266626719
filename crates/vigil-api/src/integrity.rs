//! Tamper evidence: the store's public key, its signed checkpoints and the Merkle proofs that
//! tie entries and checkpoints together (`/v1/integrity/...`).

use serde::{Deserialize, Serialize};

/// The public part of the store's signing key (`GET /v1/integrity/key`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntegrityKey {
    /// Always `ed25519`.
    pub algorithm: String,
    /// The key's id, as checkpoints name it: the first 8 bytes of SHA-256 of the key, in hex.
    pub key_id: String,
    /// The 32 bytes of the key, base64.
    pub public_key: String,
    /// The key as PEM (SubjectPublicKeyInfo): `openssl pkeyutl -verify -pubin` reads it.
    pub pem: String,
}

/// A signed checkpoint (`GET /v1/integrity/checkpoint`): the Merkle root of the journal's first
/// `size` entries, signed with the store's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedCheckpoint {
    /// Entries covered: seqs 1 to `size`.
    pub size: u64,
    /// The Merkle root, hex.
    pub root: String,
    /// When it was signed (RFC 3339, UTC, microseconds).
    pub signed_at: String,
    /// The signing key's id.
    pub key_id: String,
    /// The Ed25519 signature of `text`, base64.
    pub signature: String,
    /// The exact text signed.
    pub text: String,
}

impl SignedCheckpoint {
    /// The checkpoint these fields describe, to check its signature
    /// ([`vigil_core::checkpoint::PublicKey::verify`] checks it over the text it rebuilds, so a
    /// `text` that says otherwise than the fields is of no help to a forger).
    pub fn checkpoint(&self) -> Result<vigil_core::checkpoint::Checkpoint, String> {
        use base64::Engine;
        let mut root = [0u8; 32];
        hex::decode_to_slice(&self.root, &mut root).map_err(|_| "root: not 64 hex digits")?;
        let signed_at = chrono::DateTime::parse_from_rfc3339(&self.signed_at)
            .map_err(|_| "signed_at: not an RFC 3339 time")?
            .to_utc();
        let signature = base64::engine::general_purpose::STANDARD
            .decode(&self.signature)
            .map_err(|_| "signature: not base64")?;
        Ok(vigil_core::checkpoint::Checkpoint {
            size: self.size,
            root,
            signed_at,
            key_id: self.key_id.clone(),
            signature,
        })
    }
}

/// Parameters of the list of checkpoints (`GET /v1/integrity/checkpoints`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct CheckpointsParams {
    /// Checkpoints of more entries than this (0, the default, for the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// At most this many, 1 to 1,000 (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 1000))]
    pub limit: Option<usize>,
}

/// The store's checkpoints, smallest first (`GET /v1/integrity/checkpoints`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckpointList {
    /// Each as `GET /v1/integrity/checkpoint` gives the newest.
    pub checkpoints: Vec<SignedCheckpoint>,
}

/// Parameters of an inclusion proof (`GET /v1/integrity/proof/inclusion`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct InclusionParams {
    /// The entry's seq.
    #[cfg_attr(feature = "openapi", param(minimum = 1))]
    pub seq: u64,
    /// The tree size to prove it in (a checkpoint's size); default the newest checkpoint's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1))]
    pub size: Option<u64>,
}

/// That an entry is in the tree of `size` entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InclusionProof {
    /// The entry's seq (its leaf is `seq - 1`).
    pub seq: u64,
    /// The tree size.
    pub size: u64,
    /// The entry's chain hash, hex: its leaf is SHA-256(0x00 ‖ hash).
    pub hash: String,
    /// The audit path from the leaf up, hex (RFC 9162, section 2.1.3).
    pub proof: Vec<String>,
    /// The root the path leads to, hex: compare it with a signed checkpoint of this size.
    pub root: String,
    /// What checking a sealed entry from its content needs, as the caller sees it; absent for
    /// an entry written before entries were sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<EntrySeal>,
}

/// What checking a sealed entry from its content needs (`vigil_core::seal`): its `salt` (hex)
/// for a caller who sees it whole, or, for one who sees parts of it masked, the salt of each
/// part they see as stored (`openings`) and the commitment of each part they see masked
/// (`commitments`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntrySeal {
    /// The entry.
    pub seq: u64,
    /// The entry's salt, 32 hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// Part → its salt, for the parts shown as stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openings: Option<std::collections::BTreeMap<String, String>>,
    /// Part → its commitment, for the parts shown masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitments: Option<std::collections::BTreeMap<String, String>>,
}

/// The most entries one [`EntriesProofRequest`] may name.
pub const ENTRIES_PROOF_LIMIT: usize = 10_000;

/// What `POST /v1/integrity/proof/entries` proves: that these entries are in the tree of
/// `size` entries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EntriesProofRequest {
    /// The entries' seqs, 1 to 10,000 of them, in any order (each is proved once).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<SeqFrom1>, min_items = 1, max_items = 10000))]
    pub seqs: Vec<u64>,
    /// The tree size to prove them in (a checkpoint's size); default the newest checkpoint's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub size: Option<u64>,
}

/// The schema of an entry's seq in a request: an integer from 1.
#[cfg(feature = "openapi")]
pub struct SeqFrom1;

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for SeqFrom1 {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(1))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for SeqFrom1 {}

/// The chain hash of the entry before one of the entries proved, where that entry is not
/// itself among them: with it, the client computes the chain hash of each run of entries
/// from their content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrevHash {
    /// The entry that starts a run of the seqs asked for (not 1: entry 1 follows 64 zeros).
    pub seq: u64,
    /// The chain hash of entry `seq - 1`, hex.
    pub hash: String,
}

/// That entries are in the tree of `size` entries: one batch proof for all of them
/// (`vigil_core::merkle::verify_batch`; a single entry's is its audit path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntriesProof {
    /// The tree size.
    pub size: u64,
    /// The chain hash before each run of consecutive seqs asked for, in order.
    pub prev: Vec<PrevHash>,
    /// The roots of the largest subtrees holding none of the entries, left to right, hex.
    pub proof: Vec<String>,
    /// The root they lead to, hex: compare it with a signed checkpoint of this size.
    pub root: String,
    /// For each sealed entry among them, in seq order, what checking it from its content needs
    /// as the caller sees it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seals: Vec<EntrySeal>,
}

/// Parameters of a consistency proof (`GET /v1/integrity/proof/consistency`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ConsistencyParams {
    /// The older tree size.
    #[cfg_attr(feature = "openapi", param(minimum = 1))]
    pub from: u64,
    /// The newer tree size; default the newest checkpoint's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1))]
    pub to: Option<u64>,
}

/// That the tree of `from` entries is a prefix of the tree of `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsistencyProof {
    /// The older size.
    pub from: u64,
    /// The newer size.
    pub to: u64,
    /// The proof, hex (RFC 9162, section 2.1.4).
    pub proof: Vec<String>,
}

/// The header of a feed page that says where the next page starts (`after_seq`).
pub const FEED_NEXT_HEADER: &str = "vigil-feed-next-after-seq";

/// Parameters of the feed (`GET /v1/feed`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct FeedParams {
    /// Entries after this seq (0, the default, for the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_seq: Option<u64>,
    /// At most this many entries, 1 to 10,000 (default 1,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 10000))]
    pub limit: Option<usize>,
}
