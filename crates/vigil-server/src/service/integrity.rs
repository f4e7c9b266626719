//! Tamper evidence: the store's Ed25519 signing key (made at first start, 0600), the checkpoints
//! it signs over the journal's Merkle tree (every N entries or T seconds, and at stop), and the
//! proofs readers check them with.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use vigil_api::{
    CheckpointList, CheckpointsParams, ConsistencyParams, ConsistencyProof, EntriesProof,
    EntriesProofRequest, InclusionParams, InclusionProof, IntegrityKey, PrevHash, SignedCheckpoint,
    ENTRIES_PROOF_LIMIT,
};
use vigil_core::checkpoint::{Checkpoint, PublicKey, SigningKey};
use vigil_core::event::micros;
use vigil_core::merkle::Frontier;
use vigil_store::StoreError;

use super::caller::CanRead;
use super::{Fault, Refusal};
use crate::config::ServerConfig;
use crate::state::AppState;

/// Why an integrity request was refused.
#[derive(Debug, thiserror::Error)]
pub enum IntegrityError {
    /// No checkpoint is signed yet (404).
    #[error(
        "no checkpoint is signed yet: the store signs one within a minute of its first entries"
    )]
    NoCheckpoint,
    /// This server runs without a signing key (the command line's verbs).
    #[error("this process has no signing key")]
    NoKey,
    /// The caller reads some entries masked, and the journal holds entries from before entries
    /// were sealed: checkpoints and proofs carry hashes over those entries' clear values.
    #[error(
        "checkpoints and proofs carry hashes of entries, and this journal began before entries \
         were sealed: with hashes over its earlier entries a masked value could be guessed and \
         checked, so they are withheld from a reader who reads some entries masked. This needs \
         the unmask right over every entry you may read"
    )]
    Masked,
    /// A bad size, seq or a store failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Refusal for IntegrityError {
    fn fault(&self) -> Fault {
        match self {
            IntegrityError::NoCheckpoint => Fault::NotFound,
            IntegrityError::NoKey => Fault::Unavailable,
            IntegrityError::Masked => Fault::Forbidden,
            IntegrityError::Store(e) => e.fault(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            IntegrityError::NoCheckpoint => "no_checkpoint",
            IntegrityError::NoKey => "no_key",
            IntegrityError::Masked => "forbidden",
            IntegrityError::Store(e) => e.code(),
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            IntegrityError::Store(e) => e.field(),
            _ => None,
        }
    }
}

/// Where the signing key is: `[integrity] signing_key`, else beside the database
/// (`vigil.db` → `vigil.db.signing-key`).
pub fn key_path(config: &ServerConfig) -> PathBuf {
    config.integrity.signing_key.clone().unwrap_or_else(|| {
        let mut name = config.database.as_os_str().to_owned();
        name.push(".signing-key");
        PathBuf::from(name)
    })
}

/// Reads the signing key, or makes one (mode 0600) if there is none yet: written whole to a
/// file of its own, synced, then linked to its name (never over an existing key), and the folder
/// synced, so that a crash leaves either no key or the whole key. A key that others may read is
/// refused: whoever holds it can sign a rewritten history.
pub fn load_or_create_key(path: &Path) -> anyhow::Result<SigningKey> {
    if std::fs::symlink_metadata(path).is_ok() {
        return read_key(path);
    }
    let folder = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(folder) => folder.to_owned(),
        None => PathBuf::from("."),
    };
    if !folder.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(&folder)
            .with_context(|| format!("making the signing key's folder {}", folder.display()))?;
    }
    let (_, pem) = SigningKey::generate()?;
    let mut fresh = path.as_os_str().to_owned();
    fresh.push(format!(".new-{:016x}", rand::random::<u64>()));
    let fresh = PathBuf::from(fresh);
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode_owner_only()
            .open(&fresh)?;
        file.write_all(pem.as_bytes())?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&fresh);
        return Err(e).with_context(|| format!("making the signing key {}", path.display()));
    }
    let linked = std::fs::hard_link(&fresh, path);
    let _ = std::fs::remove_file(&fresh);
    match linked {
        Ok(()) => {
            std::fs::File::open(&folder)
                .and_then(|dir| dir.sync_all())
                .with_context(|| format!("syncing the folder {}", folder.display()))?;
            // Read back as every later start reads it: a file system that does not keep the
            // mode fails now, not at the next start.
            let key = read_key(path)?;
            tracing::info!(key = %key.public().id(), path = %path.display(), "made the signing key");
            Ok(key)
        }
        // Another process made it first: that one is the key.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_key(path),
        Err(e) => Err(e).with_context(|| format!("making the signing key {}", path.display())),
    }
}

/// Reads an existing signing key, refusing a symbolic link and a key others may read (checked
/// on the file opened, not on its name).
pub fn read_key(path: &Path) -> anyhow::Result<SigningKey> {
    use std::io::Read as _;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Not through a link; and a FIFO put in its place does not hang the start.
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let mut file = options.open(path).map_err(|e| {
        let link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        match link {
            true => anyhow::anyhow!(
                "the signing key {} is a symbolic link: name the file itself ([integrity] signing_key)",
                path.display()
            ),
            false => anyhow::Error::new(e)
                .context(format!("reading the signing key {}", path.display())),
        }
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = file
            .metadata()
            .with_context(|| format!("reading the signing key {}", path.display()))?;
        let mode = meta.permissions().mode();
        anyhow::ensure!(
            meta.is_file(),
            "the signing key {} is not a file",
            path.display()
        );
        anyhow::ensure!(
            mode & 0o077 == 0,
            "the signing key {} may be read by others (mode {:o}): `chmod 600` it",
            path.display(),
            mode & 0o777
        );
    }
    let mut text = String::new();
    file.read_to_string(&mut text)
        .with_context(|| format!("reading the signing key {}", path.display()))?;
    SigningKey::from_pem(&text)
        .with_context(|| format!("the signing key {} is not usable", path.display()))
}

trait OwnerOnly {
    fn mode_owner_only(&mut self) -> &mut Self;
}

impl OwnerOnly for std::fs::OpenOptions {
    fn mode_owner_only(&mut self) -> &mut Self {
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            self.mode(0o600);
        }
        self
    }
}

/// The public key, as the API gives it.
pub fn key_answer(public: &PublicKey) -> IntegrityKey {
    IntegrityKey {
        algorithm: "ed25519".into(),
        key_id: public.id(),
        public_key: public.to_base64(),
        pem: public.to_pem(),
    }
}

/// A checkpoint as the API gives it.
pub fn checkpoint_answer(cp: &Checkpoint) -> SignedCheckpoint {
    use base64::Engine;
    SignedCheckpoint {
        size: cp.size,
        root: hex::encode(cp.root),
        signed_at: micros::format(&cp.signed_at),
        key_id: cp.key_id.clone(),
        signature: base64::engine::general_purpose::STANDARD.encode(&cp.signature),
        text: cp.text(),
    }
}

/// A checkpoint back from its API form (for one kept elsewhere).
pub fn checkpoint_from(answer: &SignedCheckpoint) -> anyhow::Result<Checkpoint> {
    answer.checkpoint().map_err(anyhow::Error::msg)
}

/// The store's public key.
pub fn key(state: &AppState, _reader: &CanRead) -> Result<IntegrityKey, IntegrityError> {
    let signer = state.signer.as_ref().ok_or(IntegrityError::NoKey)?;
    Ok(key_answer(signer.public()))
}

/// Whether every entry of the journal is sealed ([`vigil_core::seal`]): its first entry is (the
/// store seals every entry since, and an empty journal's first entry will be).
async fn sealed_from_start(state: &AppState) -> Result<bool, StoreError> {
    match state.store.entries(vec![1]).await {
        Ok(first) => Ok(first.first().is_none_or(|e| e.salt.is_some())),
        Err(StoreError::NotFound(_)) => Ok(true),
        Err(e) => Err(e),
    }
}

/// Checkpoints and proofs are for a caller shown hashes, and for any reader of a journal sealed
/// from its first entry: there a hash covers the commitments of what a reader may see masked,
/// never the values. A masked reader of a journal that began before sealing is refused: its
/// earlier entries' hashes cover clear values (a tree node over them could test a guess).
async fn may_verify(state: &AppState, reader: &CanRead) -> Result<(), IntegrityError> {
    if reader.sees_hashes() || sealed_from_start(state).await? {
        Ok(())
    } else {
        Err(IntegrityError::Masked)
    }
}

/// What checking `entry` from its content needs, as `reader` sees it: the salt to a reader who
/// sees it whole, else the openings of what they see and the commitments of what they do not.
fn seal_for(
    state: &AppState,
    reader: &CanRead,
    entry: &vigil_core::Annotated,
) -> Option<vigil_api::EntrySeal> {
    let salt = entry.entry.salt?;
    let seq = entry.entry.seq;
    if reader.unmasks(entry) {
        return Some(vigil_api::EntrySeal {
            seq,
            salt: Some(hex::encode(salt)),
            openings: None,
            commitments: None,
        });
    }
    let mut shown = entry.entry.event.clone();
    let masked = vigil_core::rights::mask_event(&mut shown, &state.config.privacy.personal_fields);
    let view = vigil_core::seal::SealView::for_reader(&entry.entry.event, &shown, &salt, &masked);
    Some(vigil_api::EntrySeal {
        seq,
        salt: None,
        openings: Some(view.openings),
        commitments: Some(view.commitments),
    })
}

/// The newest signed checkpoint.
pub async fn latest(
    state: &AppState,
    reader: &CanRead,
) -> Result<SignedCheckpoint, IntegrityError> {
    may_verify(state, reader).await?;
    let cp = state.store.latest_checkpoint().await?;
    Ok(checkpoint_answer(&cp.ok_or(IntegrityError::NoCheckpoint)?))
}

/// The store's checkpoints of more than `after` entries, smallest first, at most `limit`.
pub async fn list(
    state: &AppState,
    reader: &CanRead,
    p: CheckpointsParams,
) -> Result<CheckpointList, IntegrityError> {
    may_verify(state, reader).await?;
    let limit =
        super::bounded("limit", p.limit, 100, 1000).map_err(|m| StoreError::invalid("limit", m))?;
    let after = p.after.unwrap_or(0);
    if after > i64::MAX as u64 {
        return Err(StoreError::invalid(
            "after",
            format!("after: at most {} (a tree size), not {after}", i64::MAX),
        )
        .into());
    }
    let kept = state.store.checkpoints(after, limit).await?;
    Ok(CheckpointList {
        checkpoints: kept.iter().map(checkpoint_answer).collect(),
    })
}

/// The size asked for, else the newest checkpoint's.
async fn size_or_latest(state: &AppState, size: Option<u64>) -> Result<u64, IntegrityError> {
    match size {
        Some(size) => Ok(size),
        None => Ok(state
            .store
            .latest_checkpoint()
            .await?
            .ok_or(IntegrityError::NoCheckpoint)?
            .size),
    }
}

/// That entry `seq` is in the tree of `size` entries. Only for an entry the caller may read,
/// and only for a caller who is shown hashes.
pub async fn inclusion(
    state: &AppState,
    reader: &CanRead,
    p: InclusionParams,
) -> Result<InclusionProof, IntegrityError> {
    may_verify(state, reader).await?;
    if p.seq == 0 {
        return Err(StoreError::invalid("seq", "seq: entries are numbered from 1").into());
    }
    if p.size.is_some_and(|size| p.seq > size) {
        return Err(StoreError::invalid(
            "seq",
            format!(
                "seq: entry {} is not in the tree of the first {} entries",
                p.seq,
                p.size.unwrap_or_default()
            ),
        )
        .into());
    }
    let not_found = || StoreError::NotFound(format!("entry {}", p.seq));
    let entry = match state.store.entries(vec![p.seq]).await {
        Ok(mut e) if e.len() == 1 => e.remove(0),
        Ok(_) | Err(StoreError::NotFound(_)) => return Err(not_found().into()),
        Err(e) => return Err(e.into()),
    };
    let one = super::search::annotated(state, vec![entry])
        .await?
        .remove(0);
    if !reader.may_read(&one) {
        return Err(not_found().into());
    }
    let size = size_or_latest(state, p.size).await?;
    let proof = state.store.inclusion_proof(p.seq, size).await?;
    let root = state.store.tree_root(size).await?;
    Ok(InclusionProof {
        seq: p.seq,
        size,
        hash: one.entry.hash.clone(),
        proof: proof.iter().map(hex::encode).collect(),
        root: hex::encode(root),
        seal: seal_for(state, reader, &one),
    })
}

/// That the entries `seqs` (in any order, each proved once, at most [`ENTRIES_PROOF_LIMIT`]) are in the
/// tree of `size` entries, with the chain hash before each run of them: what a client needs to
/// check entries it was shown against a checkpoint. Only for entries the caller may read (any
/// other is the 404 of one that does not exist), and only for a caller who is shown hashes.
pub async fn entries(
    state: &AppState,
    reader: &CanRead,
    p: EntriesProofRequest,
) -> Result<EntriesProof, IntegrityError> {
    may_verify(state, reader).await?;
    let mut seqs = p.seqs;
    seqs.sort_unstable();
    seqs.dedup();
    if seqs.is_empty() {
        return Err(StoreError::invalid("seqs", "seqs: name at least one entry").into());
    }
    if seqs.len() > ENTRIES_PROOF_LIMIT {
        return Err(StoreError::invalid(
            "seqs",
            format!(
                "seqs: at most {ENTRIES_PROOF_LIMIT} entries a request, not {}",
                seqs.len()
            ),
        )
        .into());
    }
    if seqs[0] == 0 {
        return Err(StoreError::invalid("seqs", "seqs: entries are numbered from 1").into());
    }
    let last = seqs[seqs.len() - 1];
    if let Some(size) = p.size {
        if size == 0 {
            return Err(StoreError::invalid("size", "size: a tree holds at least 1 entry").into());
        }
        if last > size {
            return Err(StoreError::invalid(
                "seqs",
                format!("seqs: entry {last} is not in the tree of the first {size} entries"),
            )
            .into());
        }
    }
    // The tree first: entries past the newest checkpoint are refused before anything is read.
    let size = size_or_latest(state, p.size).await?;
    if last > size {
        return Err(StoreError::invalid(
            "seqs",
            format!(
                "seqs: entry {last} is not in the newest checkpoint, of the first {size} \
                 entries: ask again once one holds it, or give a size"
            ),
        )
        .into());
    }
    // Each entry must be one the caller may read: read in slices, as a search page is.
    let mut seals = Vec::new();
    for chunk in seqs.chunks(1_000) {
        let found = match state.store.entries(chunk.to_vec()).await {
            Ok(found) => found,
            Err(StoreError::NotFound(_)) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        if found.len() != chunk.len() {
            let held: std::collections::HashSet<u64> = found.iter().map(|e| e.seq).collect();
            let missing = chunk
                .iter()
                .find(|s| !held.contains(s))
                .unwrap_or(&chunk[0]);
            return Err(StoreError::NotFound(format!("entry {missing}")).into());
        }
        let annotated = super::search::annotated(state, found).await?;
        if let Some(hidden) = annotated.iter().find(|a| !reader.may_read(a)) {
            return Err(StoreError::NotFound(format!("entry {}", hidden.entry.seq)).into());
        }
        seals.extend(annotated.iter().filter_map(|a| seal_for(state, reader, a)));
    }
    seals.sort_by_key(|s| s.seq);
    let mut ranges: Vec<std::ops::Range<u64>> = Vec::new();
    for &seq in &seqs {
        match ranges.last_mut() {
            Some(r) if r.end == seq => r.end += 1,
            _ => ranges.push(seq..seq + 1),
        }
    }
    let store = state.store.as_ref();
    let (nodes, prev, root) = tokio::join!(
        store.batch_proof(ranges.clone(), size),
        prev_hashes(store, &ranges),
        store.tree_root(size)
    );
    Ok(EntriesProof {
        size,
        prev: prev?
            .into_iter()
            .map(|(seq, h)| PrevHash {
                seq,
                hash: hex::encode(h),
            })
            .collect(),
        proof: nodes?.iter().map(hex::encode).collect(),
        root: hex::encode(root?),
        seals,
    })
}

/// That the tree of `from` entries is a prefix of the tree of `to`.
pub async fn consistency(
    state: &AppState,
    reader: &CanRead,
    p: ConsistencyParams,
) -> Result<ConsistencyProof, IntegrityError> {
    // A proof between sizes one apart holds the leaf of an entry: from the journal's first
    // entry on, a masked reader could test guesses of masked values with them.
    may_verify(state, reader).await?;
    let to = size_or_latest(state, p.to).await?;
    let proof = state.store.consistency_proof(p.from, to).await?;
    Ok(ConsistencyProof {
        from: p.from,
        to,
        proof: proof.iter().map(hex::encode).collect(),
    })
}

/// The signer: the tree of the journal as far as it has verified it, continued from the
/// journal's own chain hashes (never from the kept subtrees, which only serve proofs), so that
/// what it signs is the journal's tree whatever was planted in the database.
pub struct Signer {
    key: Arc<SigningKey>,
    tree: Frontier,
    /// The size of the last checkpoint signed (0 before the first).
    signed: u64,
    last_signed_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Why the signer will not sign.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// The journal was changed under a checkpoint this key signed.
    #[error(
        "the journal no longer matches the checkpoint at size {0} this key signed: it was \
         changed after it was signed. Not signing any more checkpoints: run vigil verify"
    )]
    Forked(u64),
    /// The journal is shorter than a checkpoint this key signed: entries were removed, or an
    /// older copy of the database was put back.
    #[error(
        "the journal has {head} entries but this key signed a checkpoint of {size}: entries \
         were removed, or an older copy of the database was put back. Not signing any more \
         checkpoints: run vigil verify"
    )]
    Cut {
        /// The checkpoint's size.
        size: u64,
        /// The journal's length.
        head: u64,
    },
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Signer {
    /// Starts from the newest checkpoint this key signed, after checking that the journal still
    /// gives its root (and still holds its entries); from the journal's first entry when there
    /// is none. Checkpoints of other keys are passed over, and rows whose signature does not
    /// hold are logged and passed over (`vigil verify` names them).
    pub async fn start(state: &AppState, key: Arc<SigningKey>) -> Result<Signer, SignerError> {
        let head = state.store.head().await?.map_or(0, |(seq, _)| seq);
        let mut all: Vec<Checkpoint> = Vec::new();
        loop {
            let after = all.last().map_or(0, |c| c.size);
            let page = state.store.checkpoints(after, 10_000).await?;
            if page.is_empty() {
                break;
            }
            all.extend(page);
        }
        let mut from = None;
        for cp in all.iter().rev() {
            if cp.key_id != key.public().id() {
                continue;
            }
            if key.public().verify(cp).is_err() {
                tracing::error!(
                    size = cp.size,
                    "a checkpoint in the database is not one this key signed: run vigil verify"
                );
                continue;
            }
            if cp.size > head {
                return Err(SignerError::Cut {
                    size: cp.size,
                    head,
                });
            }
            from = Some(cp);
            break;
        }
        // The tree from the journal's own chain hashes (once, at start: 4 s at 10M), never
        // from the kept subtrees.
        let mut tree = Frontier::default();
        if let Some(cp) = from {
            extend(state, &mut tree, cp.size).await?;
            if tree.root() != cp.root {
                return Err(SignerError::Forked(cp.size));
            }
        }
        extend(state, &mut tree, head).await?;
        Ok(Signer {
            key,
            tree,
            signed: from.map_or(0, |c| c.size),
            last_signed_at: from.map(|c| c.signed_at),
        })
    }

    /// Signs a checkpoint of the whole journal if it has grown since the last one and `due`
    /// says so (given how many entries came since, and when the last was signed); returns it.
    /// It is published to the channels of `[integrity] publish`.
    pub async fn sign_if(
        &mut self,
        state: &AppState,
        due: impl FnOnce(u64, Option<chrono::DateTime<chrono::Utc>>) -> bool,
    ) -> Result<Option<Checkpoint>, StoreError> {
        self.sign_when(state, |since, last| due(since, last).then_some(true))
            .await
    }

    /// [`Signer::sign_if`], where `due` also says whether to publish the checkpoint (`None`:
    /// not due).
    async fn sign_when(
        &mut self,
        state: &AppState,
        due: impl FnOnce(u64, Option<chrono::DateTime<chrono::Utc>>) -> Option<bool>,
    ) -> Result<Option<Checkpoint>, StoreError> {
        let head = state.store.head().await?.map_or(0, |(seq, _)| seq);
        let since = head.saturating_sub(self.signed);
        if since == 0 {
            return Ok(None);
        }
        let Some(publish) = due(since, self.last_signed_at) else {
            return Ok(None);
        };
        extend(state, &mut self.tree, head).await?;
        let root = self.tree.root();
        // The kept tree serves proofs: one that differs is said, never signed.
        if state.store.tree_root(head).await.ok() != Some(root) {
            tracing::error!(
                size = head,
                "the kept Merkle tree differs from the journal's: proofs will fail until it is \
                 rebuilt; run vigil verify"
            );
        }
        let cp = self.key.sign(head, root, state.now());
        let publish = if publish {
            state.config.integrity.publish.clone()
        } else {
            Vec::new()
        };
        match state.store.add_checkpoint(cp.clone(), publish).await {
            Ok(()) => {
                self.signed = head;
                self.last_signed_at = Some(cp.signed_at);
                Ok(Some(cp))
            }
            Err(StoreError::Conflict { .. }) => {
                tracing::error!(
                    size = head,
                    "a checkpoint at this size is already in the database, not signed by this \
                     server: run vigil verify"
                );
                self.signed = head;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// Continues the tree with the journal's chain hashes up to `head`.
async fn extend(state: &AppState, tree: &mut Frontier, head: u64) -> Result<(), StoreError> {
    while tree.size() < head {
        let want = (head - tree.size()).min(100_000) as usize;
        let hashes = state.store.chain_hashes(tree.size() + 1, want).await?;
        if hashes.is_empty() {
            return Err(StoreError::backend(std::io::Error::other(format!(
                "entry {} is missing from the journal: run vigil verify",
                tree.size() + 1
            ))));
        }
        for h in &hashes {
            tree.push(vigil_core::merkle::leaf(h), |_, _, _| {});
        }
    }
    Ok(())
}

/// The least time between two checkpoints signed because exports asked for them.
const ASKED_GAP: Duration = Duration::from_secs(1);

/// Signs checkpoints while the server runs: when `checkpoint_every` entries have come since
/// the last one, or `checkpoint_seconds` have passed with any new entry; and once more at stop.
pub async fn run(state: AppState) {
    let Some(key) = state.signer.clone() else {
        return;
    };
    let every = state.config.integrity.checkpoint_every;
    let seconds = state.config.integrity.checkpoint_seconds;
    let mut stopping = state.stopping.subscribe();
    let mut wanted = state.checkpoint_wanted.subscribe();
    let mut signer: Option<Signer> = None;
    let mut told = false;
    // Over a rewritten or cut journal the signer gives up until the store is started again.
    let mut given_up = false;
    // When the last checkpoint asked for by an export was signed: at most one every
    // ASKED_GAP, whatever the exports (each adds its own entry, so each would need one).
    let mut last_asked: Option<std::time::Instant> = None;
    loop {
        if signer.is_none() && !given_up {
            match Signer::start(&state, key.clone()).await {
                Ok(s) => signer = Some(s),
                Err(e) => {
                    given_up = matches!(e, SignerError::Forked(_) | SignerError::Cut { .. });
                    state
                        .signer_stopped
                        .store(given_up, std::sync::atomic::Ordering::Relaxed);
                    if !told || given_up {
                        tracing::error!(error = %e, "checkpoints are not being signed");
                        told = true;
                    }
                }
            }
        }
        if let Some(signer) = signer.as_mut() {
            let now = state.now();
            // An export waiting for a checkpoint that holds its entries.
            let asked = *wanted.borrow_and_update() > signer.signed
                && last_asked.is_none_or(|t| t.elapsed() >= ASKED_GAP);
            let for_export = std::sync::atomic::AtomicBool::new(false);
            let due = |since: u64, last: Option<chrono::DateTime<chrono::Utc>>| {
                // A clock set back (below the last checkpoint's time) counts as time passed.
                let scheduled = since >= every
                    || last.is_none_or(|t| now < t || (now - t).num_seconds() >= seconds as i64);
                // Only scheduled checkpoints are published: one asked for by an export is
                // covered by the next scheduled one.
                for_export.store(!scheduled && asked, std::sync::atomic::Ordering::Relaxed);
                (scheduled || asked).then_some(scheduled)
            };
            match signer.sign_when(&state, due).await {
                Ok(Some(_)) if for_export.load(std::sync::atomic::Ordering::Relaxed) => {
                    last_asked = Some(std::time::Instant::now())
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "signing a checkpoint failed; trying again"),
            }
        }
        if *stopping.borrow() {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stopping.changed() => {}
            _ = wanted.changed() => {}
        }
    }
    // The last entries (vigil.stop is written after this) get a checkpoint at the next start.
    if let Some(signer) = signer.as_mut() {
        if let Err(e) = signer.sign_if(&state, |_, _| true).await {
            tracing::warn!(error = %e, "signing the last checkpoint failed");
        }
    }
}

/// The seqs an export wrote, as one bit each over the journal it was cut from.
#[derive(Debug, Default)]
pub struct Selection {
    words: Vec<u64>,
}

impl Selection {
    /// Adds entry `seq` (from 1).
    pub fn insert(&mut self, seq: u64) {
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if self.words.len() <= word {
            self.words.resize(word + 1, 0);
        }
        self.words[word] |= 1 << bit;
    }

    /// The seqs as sorted, disjoint ranges.
    pub fn ranges(&self) -> Vec<std::ops::Range<u64>> {
        let mut out: Vec<std::ops::Range<u64>> = Vec::new();
        for (w, &word) in self.words.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let seq = w as u64 * 64 + u64::from(bits.trailing_zeros());
                bits &= bits - 1;
                match out.last_mut() {
                    Some(r) if r.end == seq => r.end += 1,
                    _ => out.push(seq..seq + 1),
                }
            }
        }
        out
    }
}

/// What an export of the entries in `selection` (all at or below `head`) carries to prove
/// itself: a batch proof against the newest checkpoint once it holds `head` entries (waiting at
/// most `patience` for the signer, which [`AppState::checkpoint_wanted`] asked), or why there is
/// none.
pub async fn export_proof(
    store: &dyn vigil_store::Store,
    selection: &Selection,
    head: u64,
    patience: Duration,
) -> Result<Result<vigil_export::proof::ExportProof, String>, StoreError> {
    let started = std::time::Instant::now();
    let checkpoint = loop {
        match store.latest_checkpoint().await? {
            Some(cp) if cp.size >= head => break cp,
            newest => {
                if started.elapsed() >= patience {
                    return Ok(Err(match newest {
                        Some(cp) => format!(
                            "none: no signed checkpoint holds the {head} entries the export was \
                             cut from (the newest holds {})",
                            cp.size
                        ),
                        None => "none: the store has signed no checkpoint yet".into(),
                    }));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let ranges = selection.ranges();
    if ranges.is_empty() {
        return Ok(Ok(vigil_export::proof::ExportProof::new(
            checkpoint,
            Vec::new(),
            Vec::new(),
        )));
    }
    // The hash before each run of rows, read while the store makes the batch proof.
    let before = prev_hashes(store, &ranges);
    let (nodes, prev) = tokio::join!(store.batch_proof(ranges.clone(), checkpoint.size), before);
    let (nodes, prev) = (nodes?, prev?);
    Ok(Ok(vigil_export::proof::ExportProof::new(
        checkpoint, prev, nodes,
    )))
}

/// The chain hash before each run of `ranges` (sorted, disjoint seq ranges) that does not start
/// at entry 1, read a stretch of the journal at a time: `(start of the run, hash of the entry
/// before it)`.
pub async fn prev_hashes(
    store: &dyn vigil_store::Store,
    ranges: &[std::ops::Range<u64>],
) -> Result<Vec<(u64, vigil_core::merkle::Hash)>, StoreError> {
    let starts: Vec<u64> = ranges.iter().map(|r| r.start).filter(|s| *s > 1).collect();
    let mut prev = Vec::with_capacity(starts.len());
    let mut i = 0;
    while i < starts.len() {
        let from = starts[i] - 1;
        let mut j = i;
        while j + 1 < starts.len() && starts[j + 1] - 1 - from < 4096 {
            j += 1;
        }
        let span = (starts[j] - from) as usize;
        let hashes = store.chain_hashes(from, span).await?;
        for &s in &starts[i..=j] {
            let h = hashes.get((s - 1 - from) as usize).ok_or_else(|| {
                StoreError::backend(std::io::Error::other(format!(
                    "entry {} is missing from the journal: run vigil verify",
                    s - 1
                )))
            })?;
            prev.push((s, *h));
        }
        i = j + 1;
    }
    Ok(prev)
}

/// Signs a checkpoint of the whole journal now with the key of `config`, unless the newest
/// already holds `head` entries: for `vigil export`, which runs with no `vigil serve` on the
/// journal.
pub async fn sign_now(state: &AppState, config: &ServerConfig, head: u64) -> anyhow::Result<()> {
    if state
        .store
        .latest_checkpoint()
        .await?
        .is_some_and(|cp| cp.size >= head)
    {
        return Ok(());
    }
    let path = key_path(config);
    let key = Arc::new(read_key(&path).with_context(|| {
        format!(
            "no checkpoint holds its entries, and the signing key {} cannot be read",
            path.display()
        )
    })?);
    // Only the store's own key: one that signed none of its checkpoints is another store's
    // (or a mistake), and a checkpoint it signed would stand where the store's should.
    let kept = state.store.checkpoints(0, 10_000).await?;
    if let Some(other) = kept.iter().find(|c| c.key_id != key.public().id()) {
        if kept.iter().all(|c| c.key_id != key.public().id()) {
            anyhow::bail!(
                "the signing key {} ({}) signed none of this journal's checkpoints (they are by \
                 key {}): not the store's key",
                path.display(),
                key.public().id(),
                other.key_id
            );
        }
    }
    let mut signer = Signer::start(state, key).await?;
    // Published like the store's own scheduled ones: it is the one the file is proved against.
    signer.sign_if(state, |_, _| true).await?;
    Ok(())
}

/// The signer for `vigil serve`.
pub fn signer_for(config: &ServerConfig) -> anyhow::Result<Arc<SigningKey>> {
    Ok(Arc::new(load_or_create_key(&key_path(config))?))
}

/// Where `vigil verify` reads a journal: the database file, or a running store through its API.
#[async_trait::async_trait]
pub trait Source: Send + Sync + 'static {
    /// Up to `limit` entries from seq `from`, in seq order.
    async fn scan(&self, from: u64, limit: usize) -> anyhow::Result<Vec<vigil_core::StoredEvent>>;
    /// Up to `limit` checkpoints of more than `after` entries, smallest first.
    async fn checkpoints(&self, after: u64, limit: usize) -> anyhow::Result<Vec<Checkpoint>>;
    /// The kept hashes of these whole subtrees; `None` from a source that gives none.
    async fn tree_nodes(
        &self,
        which: Vec<(u64, u32)>,
    ) -> anyhow::Result<Option<Vec<Option<vigil_core::merkle::Hash>>>>;
    /// Said after "entries N–M missing": why else entries may be missing from this source.
    fn gap_hint(&self) -> &'static str {
        ""
    }
    /// Whether an entry that cannot be read is a fault of the journal (the database file), or
    /// a failure to reach it (a store's API) that ends the check.
    fn read_errors_are_faults(&self) -> bool {
        true
    }
}

/// The journal in the database file.
struct Database(Arc<dyn vigil_store::Store>);

#[async_trait::async_trait]
impl Source for Database {
    async fn scan(&self, from: u64, limit: usize) -> anyhow::Result<Vec<vigil_core::StoredEvent>> {
        Ok(self.0.scan(from, limit).await?)
    }
    async fn checkpoints(&self, after: u64, limit: usize) -> anyhow::Result<Vec<Checkpoint>> {
        Ok(self.0.checkpoints(after, limit).await?)
    }
    async fn tree_nodes(
        &self,
        which: Vec<(u64, u32)>,
    ) -> anyhow::Result<Option<Vec<Option<vigil_core::merkle::Hash>>>> {
        Ok(Some(self.0.tree_nodes(which).await?))
    }
}

/// A running store, through its API: the feed and the checkpoints' list.
struct Remote(vigil_client::Client);

#[async_trait::async_trait]
impl Source for Remote {
    async fn scan(&self, from: u64, limit: usize) -> anyhow::Result<Vec<vigil_core::StoredEvent>> {
        // A page may hold nothing yet not be the last (a scope that keeps few entries): go on
        // from where the store says the next page starts, until it stops moving (a while).
        let mut after = from.saturating_sub(1);
        for _ in 0..1000 {
            let (entries, next) = self
                .0
                .feed(after, limit)
                .await
                .context("reading the store's feed")?;
            if let Some(e) = entries.iter().find(|e| e.entry.hash.is_empty()) {
                // Not a fault of the journal: the store shows this user no hashes.
                anyhow::bail!(
                    "the store's feed withholds the hashes of entries (entry {} has none) from \
                     this user, who reads some entries masked: checking the whole journal needs \
                     a user who reads every entry unmasked (the unmask right over all they read)",
                    e.entry.seq
                );
            }
            if !entries.is_empty() || next <= after {
                return Ok(entries.into_iter().map(|a| a.entry).collect());
            }
            after = next;
        }
        anyhow::bail!("the store's feed gives empty pages without end after entry {after}")
    }
    async fn checkpoints(&self, after: u64, limit: usize) -> anyhow::Result<Vec<Checkpoint>> {
        let page = self
            .0
            .checkpoints(after, limit)
            .await
            .context("reading the store's checkpoints")?;
        page.iter()
            .map(|c| {
                c.checkpoint()
                    .map_err(|e| anyhow::anyhow!("the store's checkpoint at size {}: {e}", c.size))
            })
            .collect()
    }
    async fn tree_nodes(
        &self,
        _which: Vec<(u64, u32)>,
    ) -> anyhow::Result<Option<Vec<Option<vigil_core::merkle::Hash>>>> {
        Ok(None)
    }
    fn gap_hint(&self) -> &'static str {
        " (or the user's read or export scope leaves them out: verify --url needs a user who \
         reads and exports every entry)"
    }
    fn read_errors_are_faults(&self) -> bool {
        false
    }
}

/// What `vigil verify` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verification {
    /// Whether everything verified.
    pub ok: bool,
    /// Entries whose chain verified.
    pub entries: u64,
    /// The last verified entry's chain hash, hex.
    pub head_hash: String,
    /// The Merkle root of the verified entries, hex.
    pub root: String,
    /// Checkpoints kept.
    pub checkpoints: usize,
    /// Checkpoints whose signature and root both verified.
    pub checkpoints_verified: usize,
    /// The size of the largest of them: the entries after it verified by their chain alone.
    pub covered: u64,
    /// The key checkpoints were checked against.
    pub key_id: Option<String>,
    /// What is wrong, the first thing first, in words.
    pub problems: Vec<String>,
}

/// Walks the journal end to end: every entry's chain link, the Merkle tree recomputed from
/// them (and the subtrees the store keeps compared with it), every checkpoint's root at its size
/// and its signature under `key`.
///
/// `given` are checkpoints kept elsewhere (a copy someone else holds): each is checked like the
/// store's own, so a rewrite they cover is caught even if the store's checkpoints were removed.
/// `index` is what the search index holds ([`vigil_index::census`]): each entry it says it
/// holds must be there once, under the journal's time, and nothing else.
pub async fn verify(
    state: &AppState,
    keys: Vec<PublicKey>,
    given: Vec<Checkpoint>,
    index: Option<vigil_index::Census>,
) -> anyhow::Result<Verification> {
    let source = Arc::new(Database(state.store.clone()));
    walk(source, Some(state), keys, given, index).await
}

/// [`verify`] of a running store through its API (`vigil verify --url`): the journal read from
/// the feed, the checkpoints from `GET /v1/integrity/checkpoints`. The client's user must read
/// and export every entry unmasked; what the API does not give (the kept subtrees, the
/// annotation tables, the search index) is not checked.
pub async fn verify_remote(
    client: vigil_client::Client,
    keys: Vec<PublicKey>,
    given: Vec<Checkpoint>,
) -> anyhow::Result<Verification> {
    walk(Arc::new(Remote(client)), None, keys, given, None).await
}

async fn walk(
    source: Arc<dyn Source>,
    state: Option<&AppState>,
    keys: Vec<PublicKey>,
    given: Vec<Checkpoint>,
    index: Option<vigil_index::Census>,
) -> anyhow::Result<Verification> {
    use vigil_core::chain::{ChainError, Verifier};
    use vigil_core::merkle::{self, Frontier, TILE_LEVEL};

    let mut checkpoints: Vec<Checkpoint> = Vec::new();
    loop {
        let after = checkpoints.last().map_or(0, |c| c.size);
        // Only what moves on: a source that answers the same page again ends the list.
        let page: Vec<Checkpoint> = source
            .checkpoints(after, 1000)
            .await?
            .into_iter()
            .filter(|c| c.size > after)
            .collect();
        let Some(last) = page.iter().map(|c| c.size).max() else {
            break;
        };
        checkpoints.extend(page.into_iter().filter(|c| c.size <= last));
        checkpoints.sort_by_key(|c| c.size);
    }
    // The given ones after the store's of the same size, marked as given in what is said.
    let kept = checkpoints.len();
    checkpoints.extend(given);
    let mut order: Vec<usize> = (0..checkpoints.len()).collect();
    order.sort_by_key(|&i| (checkpoints[i].size, i));
    let external: Vec<bool> = order.iter().map(|&i| i >= kept).collect();
    let checkpoints: Vec<Checkpoint> = order.into_iter().map(|i| checkpoints[i].clone()).collect();
    let label = |i: usize| if external[i] { "given " } else { "" };
    let mut problems = Vec::new();
    let mut verified_cps = 0;
    let mut covered = 0u64;
    let signed = |cp: &Checkpoint| micros::format(&cp.signed_at);
    // Signatures first: they need nothing but the key.
    let mut good_signature = vec![false; checkpoints.len()];
    match keys.first() {
        Some(first) => {
            for (i, cp) in checkpoints.iter().enumerate() {
                // Under the key it names, if that is one given; else named as another's.
                let key = keys.iter().find(|k| k.id() == cp.key_id).unwrap_or(first);
                match key.verify(cp) {
                    Ok(()) => good_signature[i] = true,
                    Err(e) => problems.push(format!("{}{e} (signed {})", label(i), signed(cp))),
                }
            }
        }
        None if !checkpoints.is_empty() => problems.push(format!(
            "{} checkpoints kept but their signatures were not checked: no public key (give \
             --key, or keep the signing key where the store has it)",
            checkpoints.len()
        )),
        None => {}
    }

    let mut chain = Verifier::default();
    let mut frontier = Frontier::default();
    let mut next_cp = 0;
    let mut last_good_cp = 0u64;
    let mut damaged_tree = false;
    let mut broken = false;
    let mut records = Records::default();
    // The search index against the journal: the first entry it lacks or misfiles, and how many.
    let mut misindexed: Option<(String, u64)> = None;
    let mut index_note = |problem: String| match misindexed.as_mut() {
        Some((_, n)) => *n += 1,
        None => misindexed = Some((problem, 1)),
    };
    // The next batch is read (and decoded) while this one is hashed.
    let fetch = |from: u64| {
        let source = source.clone();
        tokio::spawn(async move { source.scan(from, 10_000).await })
    };
    let mut next = fetch(1);
    'walk: loop {
        let read = next.await.context("reading the journal")?;
        let read = match &read {
            Ok(batch)
                if batch
                    .last()
                    .is_some_and(|e| e.seq == chain.verified() + batch.len() as u64) =>
            {
                read
            }
            // A gap inside the batch: read from where the chain stands.
            Ok(_) => source.scan(chain.verified() + 1, 10_000).await,
            Err(_) => read,
        };
        next = fetch(match &read {
            Ok(batch) => batch.last().map_or(u64::MAX, |e| e.seq.saturating_add(1)),
            Err(_) => u64::MAX,
        });
        let batch = match read {
            Ok(batch) => batch,
            // A store that cannot be read through its API is not a damaged journal.
            Err(e) if !source.read_errors_are_faults() => return Err(e),
            Err(e) => {
                // Name the entry that cannot be read: walk up to it one by one.
                let mut at = chain.verified() + 1;
                let why = loop {
                    match source.scan(at, 1).await {
                        Ok(one) => match one.first() {
                            Some(entry) if entry.seq >= at && entry.seq < u64::MAX => {
                                at = entry.seq + 1
                            }
                            _ => break format!("{e:#}"),
                        },
                        Err(e) => break format!("{e:#}"),
                    }
                };
                problems.insert(
                    0,
                    format!("entry {at}: its stored form cannot be read ({why})"),
                );
                broken = true;
                break;
            }
        };
        if batch.is_empty() {
            break;
        }
        let mut completed: Vec<(u64, u32, merkle::Hash)> = Vec::new();
        for e in &batch {
            if let Err(err) = chain.check(e) {
                problems.insert(
                    0,
                    match err {
                        ChainError::Gap { after, found } if found > after + 1 => format!(
                            "entries {}–{} missing: entry {found} follows entry {after}{}",
                            after + 1,
                            found - 1,
                            source.gap_hint()
                        ),
                        ChainError::Gap { after, found } => {
                            format!("entry {found} is out of order: it follows entry {after}")
                        }
                        ChainError::Mismatch { seq, id, .. } => format!(
                            "entry {seq} (id {id}): content changed, or an entry before it was \
                             (its hash does not match its content and its predecessor's)"
                        ),
                        unsealed @ ChainError::Unsealed { .. } => unsealed.to_string(),
                    },
                );
                broken = true;
                break 'walk;
            }
            records.note(e);
            if let Some(c) = index.as_ref().filter(|c| e.seq <= c.indexed) {
                match c.times.get(e.seq as usize - 1).copied().flatten() {
                    None => index_note(format!(
                        "the search index lacks entry {}: searches do not find it",
                        e.seq
                    )),
                    Some(t) if t != e.event.occurred_at.timestamp_micros() => index_note(format!(
                        "the search index files entry {} under another time than the \
                             journal's: searches by time miss it",
                        e.seq
                    )),
                    Some(_) => {}
                }
                if e.seq == c.indexed && c.hash.as_deref() != Some(e.hash.as_str()) {
                    index_note(format!(
                        "the search index was built from another journal: its entry {} has \
                         another hash",
                        e.seq
                    ));
                }
            }
            let mut hash = [0u8; 32];
            hex::decode_to_slice(&e.hash, &mut hash).context("a verified hash is hex")?;
            frontier.push(merkle::leaf(&hash), |start, level, h| {
                if level >= TILE_LEVEL {
                    completed.push((start, level, *h));
                }
            });
            while next_cp < checkpoints.len() && checkpoints[next_cp].size <= frontier.size() {
                let cp = &checkpoints[next_cp];
                if cp.size == frontier.size() {
                    if cp.root == frontier.root() {
                        if good_signature[next_cp] {
                            verified_cps += 1;
                            covered = cp.size;
                        }
                        last_good_cp = cp.size;
                    } else {
                        problems.push(format!(
                            "{}checkpoint at size {} (signed {}): its root does not match the \
                             journal: entries {}–{} were changed, removed or reordered after it \
                             was signed",
                            label(next_cp),
                            cp.size,
                            signed(cp),
                            last_good_cp + 1,
                            cp.size
                        ));
                    }
                }
                next_cp += 1;
            }
        }
        if !completed.is_empty() && !damaged_tree {
            let which: Vec<(u64, u32)> = completed.iter().map(|&(s, l, _)| (s, l)).collect();
            let Some(kept) = source.tree_nodes(which).await? else {
                continue;
            };
            for ((start, level, h), kept) in completed.iter().zip(kept) {
                if kept != Some(*h) {
                    damaged_tree = true;
                    problems.push(format!(
                        "the store's kept Merkle tree {} entries {}–{}: proofs for them fail \
                         until it is rebuilt",
                        if kept.is_none() {
                            "lacks"
                        } else {
                            "is damaged over"
                        },
                        start + 1,
                        start + (1 << level)
                    ));
                    break;
                }
            }
        }
    }
    let entries = chain.verified();
    if let Some(cp) = checkpoints[next_cp..].first().filter(|_| !broken) {
        {
            problems.push(format!(
                "entries {}–{} missing after {}checkpoint at {} (signed {}): the journal was cut",
                entries + 1,
                cp.size,
                label(next_cp),
                cp.size,
                signed(cp)
            ));
        }
    }
    // What the annotation tables hold against what the journal recorded (when the journal
    // itself verified: otherwise its records cannot be trusted).
    if let Some(state) = state.filter(|_| !broken) {
        records.cross_check(state, entries, &mut problems).await?;
    }
    if let Some(c) = &index {
        let remedy = "(stop the store, delete its index folder: it is built again from the \
                      journal at start)";
        if !broken && c.indexed > entries {
            index_note(format!(
                "the search index holds entries {}–{} that the journal lacks",
                entries + 1,
                c.indexed
            ));
        }
        for seq in &c.beyond {
            index_note(format!(
                "the search index holds entry {seq} beyond what it says it holds"
            ));
        }
        for seq in &c.twice {
            index_note(format!("the search index holds entry {seq} twice"));
        }
        if let Some((first, n)) = misindexed {
            problems.push(match n {
                1 => format!("{first} {remedy}"),
                n => format!("{first}, and {} more such {remedy}", n - 1),
            });
        }
    }
    Ok(Verification {
        ok: problems.is_empty(),
        entries,
        head_hash: chain.head(),
        root: hex::encode(frontier.root()),
        checkpoints: checkpoints.len(),
        checkpoints_verified: verified_cps,
        covered,
        key_id: (!keys.is_empty()).then(|| {
            keys.iter()
                .map(PublicKey::id)
                .collect::<Vec<_>>()
                .join(", ")
        }),
        problems,
    })
}

impl std::fmt::Display for Verification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.ok {
            writeln!(
                f,
                "verified {} entries; head hash {}\nMerkle root {}",
                self.entries, self.head_hash, self.root
            )?;
            match (self.checkpoints, &self.key_id) {
                (0, _) => writeln!(
                    f,
                    "no checkpoint signed yet: `vigil serve` signs them as entries come"
                ),
                (1, Some(key)) => writeln!(
                    f,
                    "1 checkpoint, signed by key {key} and matching the journal"
                ),
                (n, Some(key)) => writeln!(
                    f,
                    "{n} checkpoints, each signed by key {key} and matching the journal"
                ),
                (n, None) => writeln!(f, "{n} checkpoints"),
            }?;
            if self.checkpoints_verified > 0 && self.covered < self.entries {
                writeln!(
                    f,
                    "entries {}–{} are newer than the newest checkpoint: their chain verified, \
                     no signature covers them yet",
                    self.covered + 1,
                    self.entries
                )?;
            }
            Ok(())
        } else {
            writeln!(f, "the journal does not verify:")?;
            for p in &self.problems {
                writeln!(f, "  - {p}")?;
            }
            writeln!(
                f,
                "{} entries verified before the first fault; {} of {} checkpoints verified",
                self.entries, self.checkpoints_verified, self.checkpoints
            )
        }
    }
}

/// What the journal recorded of annotations, incidents, pins and notes (Vigil's own entries
/// that tell of them), by the seq of the recording entry, and of the deliveries the alert rules
/// queued, gathered while the journal is walked.
#[derive(Default)]
struct Records(std::collections::BTreeMap<u64, Recorded>, Outbox);

/// What the journal recorded of the alert outbox, by delivery id.
#[derive(Default)]
struct Outbox {
    told: std::collections::BTreeMap<u64, Told>,
    /// What is wrong with the records themselves (a delivery made twice).
    faults: Vec<String>,
}

/// One delivery as the journal tells of it.
struct Told {
    /// The entry that recorded making it (`None`: only matches joining it were recorded: it
    /// was made before the journal recorded deliveries).
    made_at: Option<u64>,
    rule: String,
    channel: String,
    kind: String,
    /// The entries it tells of, in the order they were matched.
    entries: Vec<u64>,
}

impl Outbox {
    fn note(&mut self, seq: u64, details: Option<&serde_json::Map<String, serde_json::Value>>) {
        let queued = details
            .and_then(|d| d.get("deliveries"))
            .cloned()
            .map(serde_json::from_value::<Vec<vigil_store::QueuedDelivery>>);
        let Some(Ok(queued)) = queued else {
            self.faults.push(format!(
                "journal entry {seq} records queued alert deliveries in a form that cannot be read"
            ));
            return;
        };
        for q in queued {
            match self.told.entry(q.delivery) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(Told {
                        made_at: (!q.joined).then_some(seq),
                        rule: q.rule,
                        channel: q.channel,
                        kind: q.kind,
                        entries: vec![q.entry],
                    });
                }
                std::collections::btree_map::Entry::Occupied(mut o) => {
                    let t = o.get_mut();
                    if !q.joined {
                        self.faults.push(format!(
                            "delivery {} is recorded as made twice, by journal entries {} and \
                             {seq}: the first one's row was removed and its number used again",
                            q.delivery,
                            t.made_at.map_or("?".to_owned(), |s| s.to_string()),
                        ));
                        *t = Told {
                            made_at: Some(seq),
                            rule: q.rule,
                            channel: q.channel,
                            kind: q.kind,
                            entries: vec![q.entry],
                        };
                    } else {
                        t.entries.push(q.entry);
                    }
                }
            }
        }
    }

    /// Compares every delivery of the outbox with what the journal recorded of it.
    async fn cross_check(
        mut self,
        state: &AppState,
        walked: u64,
        problems: &mut Vec<String>,
    ) -> anyhow::Result<()> {
        use vigil_api::{DeliveryKind, DeliveryStatus};
        problems.append(&mut self.faults);
        let first_recorded = self
            .told
            .iter()
            .find(|(_, t)| t.made_at.is_some())
            .map(|(id, _)| *id);
        let mut before_id = None;
        loop {
            let page = state
                .store
                .deliveries(&vigil_store::DeliveryFilter {
                    before_id,
                    limit: 1000,
                    ..Default::default()
                })
                .await?;
            let Some(last) = page.last() else { break };
            before_id = Some(last.id);
            for d in &page {
                let what = format!(
                    "delivery {} (rule {:?} to channel {:?})",
                    d.id, d.rule, d.channel
                );
                // Queued after the walk read the journal (a server runs beside).
                if d.journal_seq > walked {
                    continue;
                }
                let Some(t) = self.told.remove(&d.id) else {
                    let unrecorded = matches!(d.kind, DeliveryKind::Event | DeliveryKind::Digest);
                    if d.journal_seq > 0 {
                        problems.push(format!(
                            "{what}: journal entry {}, which it names as its record, does not \
                             record it",
                            d.journal_seq
                        ));
                    } else if unrecorded && first_recorded.is_some_and(|f| d.id > f) {
                        problems.push(format!(
                            "{what} has no journal entry recording it, though the journal \
                             records every delivery since delivery {}: it was added to the \
                             outbox afterwards, or its record changed",
                            first_recorded.unwrap_or_default()
                        ));
                    }
                    continue;
                };
                let mut differs = Vec::new();
                if t.made_at.is_some_and(|s| s != d.journal_seq) {
                    differs.push("the entry named as its record");
                }
                if t.rule != d.rule {
                    differs.push("rule");
                }
                if t.channel != d.channel {
                    differs.push("channel");
                }
                if t.kind != d.kind.as_str() {
                    differs.push("kind");
                }
                // A digest that has not been tried yet may have taken matches recorded after
                // the walk; any other has all it will ever have.
                let open = d.status == DeliveryStatus::Pending && d.attempts == 0;
                let kept = t.entries.len().min(vigil_store::DIGEST_KEPT);
                // One made before the journal recorded deliveries holds matches no entry records.
                let seqs_differ = if t.made_at.is_none() {
                    false
                } else if open && d.kind == DeliveryKind::Digest {
                    d.seqs.len() < kept || d.seqs[..kept] != t.entries[..kept]
                } else {
                    d.seqs[..] != t.entries[..kept]
                };
                let count_differs = t.made_at.is_some()
                    && if open && d.kind == DeliveryKind::Digest {
                        d.matches < t.entries.len() as u64
                    } else {
                        d.matches != t.entries.len() as u64
                    };
                if seqs_differ || count_differs {
                    differs.push("the entries it tells of");
                }
                if !differs.is_empty() {
                    let record = t.made_at.unwrap_or(d.journal_seq);
                    problems.push(format!(
                        "{what}: {} changed since journal entry {record} recorded it",
                        differs.join(", ")
                    ));
                }
            }
        }
        for (id, t) in &self.told {
            let record = t.made_at.map_or_else(
                || format!("the journal records entry {} joining", t.entries[0]),
                |s| format!("journal entry {s} records"),
            );
            problems.push(format!(
                "{record} delivery {id} (rule {:?} to channel {:?}, about entry {}), which the \
                 alert outbox no longer holds",
                t.rule, t.channel, t.entries[0]
            ));
        }
        Ok(())
    }
}

struct Recorded {
    action: String,
    actor: String,
    target: Option<String>,
    target_name: Option<String>,
    details: serde_json::Map<String, serde_json::Value>,
}

/// The actions whose entries record a row of the annotation tables.
const RECORDING: [&str; 6] = [
    "annotation.create",
    "incident.create",
    "incident.pin",
    "incident.note",
    "incident.close",
    "incident.reopen",
];

impl Records {
    fn note(&mut self, e: &vigil_core::StoredEvent) {
        let ev = &e.event;
        if crate::alerts::engine::records_queued(ev) {
            self.1.note(e.seq, ev.details.as_ref());
            return;
        }
        if ev.section != super::own_entry::SECTION || !RECORDING.contains(&ev.action.as_str()) {
            return;
        }
        self.0.insert(
            e.seq,
            Recorded {
                action: ev.action.clone(),
                actor: ev.actor.id.clone(),
                target: ev.target.as_ref().map(|t| t.id.clone()),
                target_name: ev.target.as_ref().and_then(|t| t.name.clone()),
                details: ev.details.clone().unwrap_or_default(),
            },
        );
    }

    /// Compares every annotation, incident, pin and note the store holds with the entry that
    /// recorded it, and finds recorded ones the store no longer holds.
    async fn cross_check(
        mut self,
        state: &AppState,
        walked: u64,
        problems: &mut Vec<String>,
    ) -> anyhow::Result<()> {
        use serde_json::{json, Value};
        let mut found = Vec::new();
        // Each row: what it is, its journal seq, the action(s) that record it, its actor, its
        // target and the details it must match.
        let mut check = |what: String,
                         seq: u64,
                         actions: &[&str],
                         author: &str,
                         target: String,
                         name: Option<&str>,
                         want: Vec<(&str, Value)>,
                         records: &mut Records| {
            // Written after the walk read the journal (a server runs beside): not this check's.
            if seq > walked {
                return;
            }
            let Some(r) = records.0.remove(&seq) else {
                found.push(format!(
                    "{what}: journal entry {seq}, which it names as its record, does not record it"
                ));
                return;
            };
            let mut differs = Vec::new();
            if !actions.contains(&r.action.as_str()) {
                differs.push("kind");
            }
            if r.actor != author {
                differs.push("author");
            }
            if r.target.as_deref() != Some(target.as_str()) {
                differs.push("entry or incident");
            }
            if name.is_some() && r.target_name.as_deref() != name {
                differs.push("title");
            }
            for (key, value) in &want {
                if r.details.get(*key).unwrap_or(&Value::Null) != value {
                    differs.push(key);
                }
            }
            if !differs.is_empty() {
                found.push(format!(
                    "{what}: {} changed since journal entry {seq} recorded it",
                    differs.join(", ")
                ));
            }
        };
        let mut after = 0;
        loop {
            let page = state.store.annotations_after(after, 10_000).await?;
            let Some(last) = page.last() else { break };
            after = last.journal_seq;
            for a in &page {
                check(
                    format!("annotation {} on entry {}", a.id, a.entry),
                    a.journal_seq,
                    &["annotation.create"],
                    &a.author,
                    a.entry.to_string(),
                    None,
                    vec![
                        ("annotation", json!(a.id)),
                        ("comment", json!(a.comment)),
                        ("marks", json!(a.marks)),
                        ("supersedes", json!(a.supersedes)),
                        ("written_at", json!(micros::format(&a.written_at))),
                    ],
                    &mut self,
                );
            }
        }
        for i in state.store.incidents().await? {
            check(
                format!("incident {} ({})", i.number, i.id),
                i.journal_seq,
                &["incident.create"],
                &i.author,
                i.id.to_string(),
                Some(&i.title),
                vec![("description", json!(i.description))],
                &mut self,
            );
            for p in state.store.pins(i.id).await? {
                check(
                    format!("the pin of entry {} to incident {}", p.entry, i.number),
                    p.journal_seq,
                    &["incident.pin"],
                    &p.author,
                    p.entry.to_string(),
                    None,
                    vec![
                        ("incident", json!(p.incident)),
                        ("number", json!(i.number)),
                        ("pin", json!(p.id)),
                    ],
                    &mut self,
                );
            }
            for n in state.store.incident_notes(i.id).await? {
                let action = match n.status {
                    Some(vigil_api::IncidentStatus::Closed) => "incident.close",
                    Some(vigil_api::IncidentStatus::Open) => "incident.reopen",
                    None => "incident.note",
                };
                check(
                    format!("note {} on incident {}", n.id, i.number),
                    n.journal_seq,
                    &[action],
                    &n.author,
                    n.incident.to_string(),
                    None,
                    vec![
                        ("note", json!(n.id)),
                        ("text", json!(n.text)),
                        ("status", json!(n.status)),
                    ],
                    &mut self,
                );
            }
        }
        for (seq, r) in &self.0 {
            let id = ["annotation", "pin", "note"]
                .iter()
                .find_map(|k| r.details.get(*k).and_then(|v| v.as_str()))
                .or(r.target.as_deref())
                .unwrap_or("?");
            found.push(format!(
                "journal entry {seq} records {} {id}, which the store no longer holds",
                r.action
            ));
        }
        problems.extend(found);
        self.1.cross_check(state, walked, problems).await
    }
}
