//! Checking what the store shows against what it signed: a checkpoint under a key the caller
//! trusts, a newer checkpoint as an extension of an older one, and entries (from their content,
//! not from the hash they carry) as leaves of a checkpoint's tree.

use vigil_api::{ConsistencyProof, EntriesProof, EntrySeal, SignedCheckpoint};
use vigil_core::checkpoint::{Checkpoint, PublicKey};
use vigil_core::merkle::{self, Hash, ProofError};
use vigil_core::seal::{Commitments, SealView};
use vigil_core::StoredEvent;

/// Why entries do not check out against a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryFault {
    /// The entry as shown does not give the chain hash it carries: its content was changed
    /// after it was hashed (or its predecessor's hash was).
    #[error("entry {seq}: its content does not give the hash it carries: it was changed after it was recorded")]
    Changed {
        /// The entry.
        seq: u64,
    },
    /// The entries' hashes are not leaves of the signed tree: the store shows entries that are
    /// not the ones it signed.
    #[error("the signed checkpoint of {size} entries does not hold these entries as shown")]
    NotInTree {
        /// The checkpoint's size.
        size: u64,
    },
    /// The proof is not a proof of these entries in this checkpoint.
    #[error("the store's proof is malformed: {0}")]
    Malformed(String),
}

fn hash_of(text: &str, what: &str) -> Result<Hash, String> {
    let mut h = [0u8; 32];
    hex::decode_to_slice(text, &mut h).map_err(|_| format!("{what}: not 64 hex digits"))?;
    Ok(h)
}

/// Checks a checkpoint's signature under `key`: the checkpoint, or why not.
pub fn check_checkpoint(answer: &SignedCheckpoint, key: &PublicKey) -> Result<Checkpoint, String> {
    let cp = answer.checkpoint()?;
    key.verify(&cp).map_err(|e| e.to_string())?;
    Ok(cp)
}

/// Checks that `new` extends `old` (both already checked under the trusted key) with `proof`.
/// Equal sizes need equal roots; a smaller newer checkpoint never extends an older one.
pub fn check_extends(
    old: &Checkpoint,
    new: &Checkpoint,
    proof: &ConsistencyProof,
) -> Result<(), String> {
    if new.size < old.size {
        return Err(format!(
            "the store's newest checkpoint holds {} entries, fewer than the {} it showed before",
            new.size, old.size
        ));
    }
    if proof.from != old.size || proof.to != new.size {
        return Err(format!(
            "the store answered a proof from {} to {} entries when asked from {} to {}",
            proof.from, proof.to, old.size, new.size
        ));
    }
    let hashes = proof
        .proof
        .iter()
        .map(|h| hash_of(h, "a hash of the consistency proof"))
        .collect::<Result<Vec<_>, _>>()?;
    merkle::verify_consistency(old.size, new.size, &old.root, &new.root, &hashes).map_err(|e| {
        format!(
            "the checkpoint of {} entries does not extend the one of {} it showed before: {e}",
            new.size, old.size
        )
    })
}

/// The commitments a sealed entry's hash covers, from what the store gave to check it: its salt,
/// or the openings and commitments of a reader who sees parts of it masked. `None` for an entry
/// without a seal (written before entries were sealed).
fn commitments(
    e: &StoredEvent,
    seal: Option<&EntrySeal>,
) -> Result<Option<Commitments>, EntryFault> {
    let Some(seal) = seal else {
        return Ok(None);
    };
    let malformed = |why: String| EntryFault::Malformed(format!("entry {}: {why}", e.seq));
    // A reader shown the entry's hash sees every entry they read whole: theirs is the salt.
    if !e.hash.is_empty() && seal.salt.is_none() {
        return Err(malformed(
            "its seal withholds parts of an entry shown whole".into(),
        ));
    }
    match (&seal.salt, &seal.openings, &seal.commitments) {
        (Some(salt), None, None) => {
            let salt = vigil_core::seal::decode_salt(salt)
                .ok_or_else(|| malformed("its salt is not 32 hex digits".into()))?;
            Ok(Some(Commitments::from_salt(&e.event, &salt)))
        }
        (None, openings, commitments) => {
            let view = SealView {
                openings: openings.clone().unwrap_or_default(),
                commitments: commitments.clone().unwrap_or_default(),
            };
            Commitments::from_view(&e.event, &view)
                .map(Some)
                .map_err(|f| malformed(f.to_string()))
        }
        (Some(_), _, _) => Err(malformed(
            "its seal gives both a salt and parts of one".into(),
        )),
    }
}

/// Checks entries against a checkpoint whose signature was checked: each entry's chain hash is
/// computed from its content (and the hash before its run, from the proof), compared with the
/// hash it carries, and the hashes are proved leaves of the checkpoint's tree. `entries` must be
/// in ascending seq order, each once, as the proof was asked for.
pub fn check_entries(
    entries: &[&StoredEvent],
    proof: &EntriesProof,
    checkpoint: &Checkpoint,
) -> Result<(), EntryFault> {
    let malformed = EntryFault::Malformed;
    if proof.size != checkpoint.size {
        return Err(malformed(format!(
            "it is for a tree of {} entries, not the checkpoint's {}",
            proof.size, checkpoint.size
        )));
    }
    if hash_of(&proof.root, "root").map_err(malformed)? != checkpoint.root {
        return Err(EntryFault::NotInTree {
            size: checkpoint.size,
        });
    }
    if entries.is_empty() {
        return Err(malformed("it proves no entry".into()));
    }
    if entries[0].seq == 0 {
        return Err(malformed(
            "it names an entry 0 (entries are numbered from 1)".into(),
        ));
    }
    if let Some(w) = entries.windows(2).find(|w| w[0].seq >= w[1].seq) {
        return Err(malformed(format!(
            "entry {} is given after entry {}",
            w[1].seq, w[0].seq
        )));
    }
    let mut seals: std::collections::HashMap<u64, &EntrySeal> = Default::default();
    for seal in &proof.seals {
        if seals.insert(seal.seq, seal).is_some() {
            return Err(malformed(format!(
                "it gives two seals for entry {}",
                seal.seq
            )));
        }
    }
    let mut prevs = proof.prev.iter();
    let mut leaves = Vec::with_capacity(entries.len());
    let mut last: Option<(u64, Hash)> = None;
    for e in entries {
        let before = match last {
            Some((seq, h)) if seq + 1 == e.seq => h,
            _ if e.seq == 1 => vigil_core::chain::GENESIS,
            _ => match prevs.next() {
                Some(p) if p.seq == e.seq => {
                    hash_of(&p.hash, "a hash before a run").map_err(malformed)?
                }
                Some(p) => {
                    return Err(malformed(format!(
                        "it gives the hash before entry {} where entry {} starts a run",
                        p.seq, e.seq
                    )))
                }
                None => {
                    return Err(malformed(format!(
                        "it lacks the hash before entry {}",
                        e.seq
                    )))
                }
            },
        };
        let computed = match commitments(e, seals.remove(&e.seq))? {
            Some(c) => vigil_core::chain::link_sealed(&before, &e.event, e.seq, &e.received_at, &c),
            None => vigil_core::chain::link(&before, &e.event, e.seq, &e.received_at),
        };
        // A reader who sees some entries masked is shown no hash: the tree is the proof.
        if !e.hash.is_empty() && hex::encode(computed) != e.hash {
            return Err(EntryFault::Changed { seq: e.seq });
        }
        leaves.push((e.seq - 1, merkle::leaf(&computed)));
        last = Some((e.seq, computed));
    }
    if let Some(seq) = seals.keys().min() {
        return Err(malformed(format!(
            "it gives a seal for entry {seq}, which it was not asked to prove"
        )));
    }
    if let Some(p) = prevs.next() {
        return Err(malformed(format!(
            "it gives a hash before entry {}, which starts no run",
            p.seq
        )));
    }
    let nodes = proof
        .proof
        .iter()
        .map(|h| hash_of(h, "a hash of the proof"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(malformed)?;
    match merkle::verify_batch(&leaves, checkpoint.size, &nodes, &checkpoint.root) {
        Ok(()) => Ok(()),
        Err(ProofError::Mismatch) => Err(EntryFault::NotInTree {
            size: checkpoint.size,
        }),
        Err(e) => Err(malformed(e.to_string())),
    }
}
