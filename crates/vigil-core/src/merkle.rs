//! The Merkle tree over the journal (RFC 9162, section 2.1), its proofs and their verification.
//!
//! Leaf `i` (0-based) is the entry with seq `i + 1`; its leaf data is the entry's 32-byte chain
//! hash, so the tree commits to every entry's content and to their order:
//! `leaf = SHA-256(0x00 ‖ chain hash)`, `node = SHA-256(0x01 ‖ left ‖ right)`, and the root of
//! `n` leaves splits them at the largest power of two below `n`, as in Certificate Transparency.
//!
//! Proofs are computed from a [`Subtrees`] source (a backend keeps the hashes of whole subtrees
//! of 256 leaves and up, and reads smaller ones from its chain hashes). The verifiers are the
//! RFC's algorithms; they refuse a proof that is too long, too short or for another tree size.

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// Subtrees of this many leaves (2^8) and larger are the ones a backend keeps.
pub const TILE_LEVEL: u32 = 8;
/// Leaves under one kept subtree of the lowest kept level.
pub const TILE: u64 = 1 << TILE_LEVEL;

/// The leaf hash of an entry with this chain hash.
pub fn leaf(chain_hash: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(chain_hash);
    h.finalize().into()
}

/// The hash of an interior node.
pub fn node(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of an empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The root of the leaf hashes given, computed from scratch.
pub fn root_of(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n as u64) as usize;
            node(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

/// The largest power of two strictly below `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// Where the hashes of whole subtrees come from.
pub trait Subtrees {
    /// The error of the source.
    type Error;
    /// The hash of the `2^level` leaves starting at leaf `start` (a multiple of `2^level`).
    fn perfect(&mut self, start: u64, level: u32) -> Result<Hash, Self::Error>;
}

/// The root of the leaves `[lo, hi)` (RFC 9162's MTH over a range whose left edge is aligned
/// as every range in a proof is).
fn range<S: Subtrees>(s: &mut S, lo: u64, hi: u64) -> Result<Hash, S::Error> {
    let n = hi - lo;
    if n.is_power_of_two() && lo.is_multiple_of(n) {
        return s.perfect(lo, n.trailing_zeros());
    }
    let k = split(n);
    Ok(node(&range(s, lo, lo + k)?, &range(s, lo + k, hi)?))
}

/// The root of the first `size` leaves.
pub fn root<S: Subtrees>(s: &mut S, size: u64) -> Result<Hash, S::Error> {
    if size == 0 {
        return Ok(empty_root());
    }
    range(s, 0, size)
}

/// The audit path of leaf `index` in the tree of the first `size` leaves (RFC 9162 PATH).
/// `index < size`.
pub fn inclusion_proof<S: Subtrees>(
    s: &mut S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, S::Error> {
    assert!(index < size, "leaf {index} is not in a tree of {size}");
    let mut path = Vec::new();
    let (mut lo, mut hi, mut m) = (0u64, size, index);
    // Walk down, then the path is the siblings from the leaf up.
    while hi - lo > 1 {
        let k = split(hi - lo);
        if m < k {
            path.push(range(s, lo + k, hi)?);
            hi = lo + k;
        } else {
            path.push(range(s, lo, lo + k)?);
            lo += k;
            m -= k;
        }
    }
    path.reverse();
    Ok(path)
}

/// The proof that the tree of `old` leaves is a prefix of the tree of `new` leaves (RFC 9162
/// PROOF). `0 < old ≤ new`; empty when they are equal.
pub fn consistency_proof<S: Subtrees>(
    s: &mut S,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, S::Error> {
    assert!(
        0 < old && old <= new,
        "no consistency proof from {old} to {new}"
    );
    let mut proof = Vec::new();
    let (mut lo, mut hi, mut m, mut whole) = (0u64, new, old, true);
    loop {
        let n = hi - lo;
        if m == n {
            if !whole {
                proof.push(range(s, lo, hi)?);
            }
            break;
        }
        let k = split(n);
        if m <= k {
            proof.push(range(s, lo + k, hi)?);
            hi = lo + k;
        } else {
            proof.push(range(s, lo, lo + k)?);
            lo += k;
            m -= k;
            whole = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Why a proof does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The positions cannot be proved at all.
    #[error("{0}")]
    Impossible(String),
    /// The proof has more or fewer hashes than the tree sizes call for.
    #[error("the proof has {found} hashes; a proof for these tree sizes has {expected}")]
    WrongLength {
        /// How many it has.
        found: usize,
        /// How many it should have.
        expected: usize,
    },
    /// The hashes do not lead to the root.
    #[error("the proof does not lead to the signed root")]
    Mismatch,
}

/// How many hashes an inclusion proof of leaf `index` in a tree of `size` has.
fn inclusion_length(index: u64, size: u64) -> usize {
    let (mut lo, mut hi, mut m, mut len) = (0u64, size, index, 0);
    while hi - lo > 1 {
        let k = split(hi - lo);
        if m < k {
            hi = lo + k;
        } else {
            lo += k;
            m -= k;
        }
        len += 1;
    }
    len
}

/// How many hashes a consistency proof from `old` to `new` has.
fn consistency_length(old: u64, new: u64) -> usize {
    let (mut lo, mut hi, mut m, mut whole, mut len) = (0u64, new, old, true, 0);
    loop {
        let n = hi - lo;
        if m == n {
            return len + usize::from(!whole);
        }
        let k = split(n);
        if m <= k {
            hi = lo + k;
        } else {
            lo += k;
            m -= k;
            whole = false;
        }
        len += 1;
    }
}

/// Checks that the leaf hash `leaf` is leaf `index` of the tree of `size` leaves with `root`
/// (RFC 9162, section 2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::Impossible(format!(
            "leaf {index} is not in a tree of {size} leaves"
        )));
    }
    let expected = inclusion_length(index, size);
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            found: proof.len(),
            expected,
        });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(ProofError::Mismatch);
        }
        if f & 1 == 1 || f == s {
            r = node(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s == 0 && r == *root {
        Ok(())
    } else {
        Err(ProofError::Mismatch)
    }
}

/// Checks that the tree of `old` leaves with `old_root` is a prefix of the tree of `new`
/// leaves with `new_root` (RFC 9162, section 2.1.4.2). Equal sizes need equal roots and an
/// empty proof; a tree of no leaves is a prefix of every tree.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::Impossible(format!(
            "a tree of {new} leaves cannot extend one of {old}"
        )));
    }
    if old == 0 || old == new {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                found: proof.len(),
                expected: 0,
            });
        }
        let holds = match (old, new) {
            (0, 0) => *old_root == empty_root() && *new_root == empty_root(),
            (0, _) => *old_root == empty_root(),
            _ => old_root == new_root,
        };
        return if holds {
            Ok(())
        } else {
            Err(ProofError::Mismatch)
        };
    }
    let expected = consistency_length(old, new);
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            found: proof.len(),
            expected,
        });
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if s == 0 {
            return Err(ProofError::Mismatch);
        }
        if f & 1 == 1 || f == s {
            fr = node(c, &fr);
            sr = node(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if fr == *old_root && sr == *new_root && s == 0 {
        Ok(())
    } else {
        Err(ProofError::Mismatch)
    }
}

/// The proof that the leaves in `selected` (sorted, disjoint ranges of leaf indices, all below
/// `size`) are in the tree of `size` leaves: one batch of their inclusion proofs, in which each
/// hash the paths share appears once. It is the roots of the largest subtrees holding none of the
/// selected leaves, left to right; a run of selected leaves needs no hash inside it, so the proof
/// of every leaf is a few hashes on the right edge and the proof of a scattered selection of `k`
/// leaves about `k · log2(size / k)`.
pub fn batch_proof<S: Subtrees>(
    s: &mut S,
    selected: &[std::ops::Range<u64>],
    size: u64,
) -> Result<Vec<Hash>, S::Error> {
    assert!(
        selected
            .windows(2)
            .all(|w| w[0].start < w[0].end && w[0].end <= w[1].start)
            && selected
                .last()
                .is_none_or(|r| r.start < r.end && r.end <= size),
        "batch proofs are of sorted, disjoint, non-empty ranges within the tree"
    );
    let mut out = Vec::new();
    if size > 0 {
        walk(s, 0, size, selected, &mut out)?;
    }
    Ok(out)
}

/// The hashes of a [`batch_proof`] within the subtree `[lo, hi)` of the tree (a child of the
/// root, as [`batch_halves`] gives): `selected` are the ranges that meet it.
pub fn batch_proof_within<S: Subtrees>(
    s: &mut S,
    selected: &[std::ops::Range<u64>],
    lo: u64,
    hi: u64,
) -> Result<Vec<Hash>, S::Error> {
    let mut out = Vec::new();
    if lo < hi {
        walk(s, lo, hi, selected, &mut out)?;
    }
    Ok(out)
}

/// A [`batch_proof`] in two halves that can be computed apart (on two cores): `(mid, left,
/// right)`, where the proof is [`batch_proof_within`] `left` over `[0, mid)` followed by
/// `right` over `[mid, size)`. `None` when it is not made of the root's two children's
/// proofs: no leaf selected, every leaf selected, or a tree of one leaf.
#[allow(clippy::type_complexity)]
pub fn batch_halves(
    selected: &[std::ops::Range<u64>],
    size: u64,
) -> Option<(u64, Vec<std::ops::Range<u64>>, Vec<std::ops::Range<u64>>)> {
    match selected {
        _ if size < 2 => None,
        [] => None,
        [only] if only.start == 0 && only.end >= size => None,
        _ => {
            let mid = split(size);
            let left = selected.partition_point(|r| r.start < mid);
            let right = selected.partition_point(|r| r.end <= mid);
            Some((mid, selected[..left].to_vec(), selected[right..].to_vec()))
        }
    }
}

/// One step of a batch proof: the hashes for the leaves `sel` within `[lo, hi)`.
fn walk<S: Subtrees>(
    s: &mut S,
    lo: u64,
    hi: u64,
    sel: &[std::ops::Range<u64>],
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    match sel {
        [] => out.push(range(s, lo, hi)?),
        [only] if only.start <= lo && only.end >= hi => {}
        _ => {
            let mid = lo + split(hi - lo);
            let left = sel.partition_point(|r| r.start < mid);
            let right = sel.partition_point(|r| r.end <= mid);
            walk(s, lo, mid, &sel[..left], out)?;
            walk(s, mid, hi, &sel[right..], out)?;
        }
    }
    Ok(())
}

/// Checks a [`batch_proof`]: that the leaf hashes given (with their leaf indices, sorted and
/// distinct) are those leaves of the tree of `size` leaves with `root`. Refuses leaves out of
/// order, repeated or beyond the tree, and a proof with a hash too many or too few.
pub fn verify_batch(
    leaves: &[(u64, Hash)],
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if leaves.is_empty() {
        return Err(ProofError::Impossible("a batch proof of no leaves".into()));
    }
    if let Some(w) = leaves.windows(2).find(|w| w[0].0 >= w[1].0) {
        return Err(ProofError::Impossible(format!(
            "leaf {} comes after leaf {}: leaves must be given once each, in order",
            w[1].0, w[0].0
        )));
    }
    let last = leaves[leaves.len() - 1].0;
    if last >= size {
        return Err(ProofError::Impossible(format!(
            "leaf {last} is not in a tree of {size} leaves"
        )));
    }
    fn walk(
        lo: u64,
        hi: u64,
        leaves: &[(u64, Hash)],
        proof: &mut std::slice::Iter<'_, Hash>,
        used: &mut usize,
    ) -> Option<Hash> {
        if leaves.is_empty() {
            *used += 1;
            return proof.next().copied();
        }
        if hi - lo == 1 {
            return Some(leaves[0].1);
        }
        let mid = lo + split(hi - lo);
        let at = leaves.partition_point(|(i, _)| *i < mid);
        let left = walk(lo, mid, &leaves[..at], proof, used);
        let right = walk(mid, hi, &leaves[at..], proof, used);
        Some(node(&left?, &right?))
    }
    let mut hashes = proof.iter();
    let mut used = 0;
    let computed = walk(0, size, leaves, &mut hashes, &mut used);
    if used != proof.len() {
        return Err(ProofError::WrongLength {
            found: proof.len(),
            expected: used,
        });
    }
    match computed {
        Some(r) if r == *root => Ok(()),
        _ => Err(ProofError::Mismatch),
    }
}

/// Builds the root of a growing list of leaves as they come, keeping one hash per level (the
/// roots of the whole subtrees on the tree's right edge): `vigil verify` walks the journal once
/// with it, and a backend finds which whole subtrees each new leaf completes.
#[derive(Debug, Clone, Default)]
pub struct Frontier {
    size: u64,
    /// The roots of the whole subtrees, largest (leftmost) first.
    stack: Vec<Hash>,
}

impl Frontier {
    /// Continues a tree of `size` leaves from the roots of the whole subtrees on its right
    /// edge, largest first (one per bit set in `size`); `None` if there are not that many.
    pub fn from_edge(size: u64, edge: Vec<Hash>) -> Option<Frontier> {
        (edge.len() == size.count_ones() as usize).then_some(Frontier { size, stack: edge })
    }

    /// How many leaves it holds.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds the next leaf; calls `done(start, level, hash)` for each whole subtree it
    /// completes, smallest first (the leaf itself is level 0).
    pub fn push(&mut self, leaf: Hash, mut done: impl FnMut(u64, u32, &Hash)) {
        let index = self.size;
        done(index, 0, &leaf);
        let mut h = leaf;
        let mut level = 0;
        while (index >> level) & 1 == 1 {
            let left = self
                .stack
                .pop()
                .expect("a left sibling for every odd index");
            h = node(&left, &h);
            level += 1;
            done(index + 1 - (1 << level), level, &h);
        }
        self.stack.push(h);
        self.size += 1;
    }

    /// The root of the leaves so far.
    pub fn root(&self) -> Hash {
        let mut it = self.stack.iter().rev();
        match it.next() {
            None => empty_root(),
            Some(last) => it.fold(*last, |acc, left| node(left, &acc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf(&Sha256::digest(i.to_be_bytes()).into()))
            .collect()
    }

    struct Flat<'a>(&'a [Hash]);

    impl Subtrees for Flat<'_> {
        type Error = std::convert::Infallible;
        fn perfect(&mut self, start: u64, level: u32) -> Result<Hash, Self::Error> {
            let (a, b) = (start as usize, (start + (1 << level)) as usize);
            Ok(root_of(&self.0[a..b]))
        }
    }

    #[test]
    fn known_roots_of_rfc_shaped_trees() {
        // The empty tree's root is SHA-256 of nothing (RFC 9162).
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let l = leaves(3);
        assert_eq!(root_of(&l), node(&node(&l[0], &l[1]), &l[2]));
        let l = leaves(5);
        assert_eq!(
            root_of(&l),
            node(&node(&node(&l[0], &l[1]), &node(&l[2], &l[3])), &l[4])
        );
    }

    #[test]
    fn the_frontier_agrees_with_the_tree_and_names_each_whole_subtree() {
        let l = leaves(300);
        let mut f = Frontier::default();
        for (i, h) in l.iter().enumerate() {
            let mut completed = Vec::new();
            f.push(*h, |start, level, hash| {
                completed.push((start, level, *hash))
            });
            for (start, level, hash) in completed {
                let (a, b) = (start as usize, start as usize + (1 << level));
                assert_eq!(b, i + 1);
                assert_eq!(hash, root_of(&l[a..b]));
            }
            assert_eq!(f.root(), root_of(&l[..=i]), "root of {}", i + 1);
        }
    }

    #[test]
    fn a_frontier_continued_from_its_edge_gives_the_same_roots() {
        let l = leaves(700);
        for size in [0u64, 1, 5, 256, 300, 511] {
            let edge = {
                let mut f = Frontier::default();
                l[..size as usize]
                    .iter()
                    .for_each(|h| f.push(*h, |_, _, _| {}));
                f.stack.clone()
            };
            if !edge.is_empty() {
                assert!(Frontier::from_edge(size, edge[1..].to_vec()).is_none());
            }
            let mut f = Frontier::from_edge(size, edge).unwrap();
            for h in &l[size as usize..] {
                f.push(*h, |_, _, _| {});
            }
            assert_eq!(f.root(), root_of(&l));
        }
        assert!(verify_consistency(0, 0, &empty_root(), &[1; 32], &[]).is_err());
        verify_consistency(0, 0, &empty_root(), &empty_root(), &[]).unwrap();
    }

    #[test]
    fn every_inclusion_proof_verifies_and_every_altered_one_is_refused() {
        let l = leaves(70);
        for size in 1..=70u64 {
            let root = root_of(&l[..size as usize]);
            for index in 0..size {
                let proof = inclusion_proof(&mut Flat(&l), index, size).unwrap();
                assert_eq!(proof.len(), inclusion_length(index, size));
                verify_inclusion(&l[index as usize], index, size, &proof, &root).unwrap();
                // Another leaf, another position, another size, another root.
                let other = (index + 1) % size;
                if other != index {
                    assert!(
                        verify_inclusion(&l[other as usize], index, size, &proof, &root).is_err()
                    );
                    assert!(
                        verify_inclusion(&l[index as usize], other, size, &proof, &root).is_err()
                    );
                }
                if size < 70 {
                    let bigger = root_of(&l[..=size as usize]);
                    assert!(
                        verify_inclusion(&l[index as usize], index, size + 1, &proof, &bigger)
                            .is_err()
                    );
                }
                assert!(
                    verify_inclusion(&l[index as usize], index, size, &proof, &l[0]).is_err()
                        || size == 1
                );
                // Each hash changed, one dropped, one added.
                for i in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[i][7] ^= 0x40;
                    assert!(
                        verify_inclusion(&l[index as usize], index, size, &bad, &root).is_err()
                    );
                    let mut short = proof.clone();
                    short.remove(i);
                    assert!(
                        verify_inclusion(&l[index as usize], index, size, &short, &root).is_err()
                    );
                }
                let mut long = proof.clone();
                long.push(root);
                assert!(matches!(
                    verify_inclusion(&l[index as usize], index, size, &long, &root),
                    Err(ProofError::WrongLength { .. })
                ));
            }
            assert!(verify_inclusion(&l[0], size, size, &[], &root).is_err());
        }
    }

    /// Every selection of the leaves of small trees, as sorted ranges.
    fn selections(size: u64) -> Vec<Vec<std::ops::Range<u64>>> {
        (1u64..1 << size)
            .map(|bits| {
                let mut ranges: Vec<std::ops::Range<u64>> = Vec::new();
                for i in (0..size).filter(|i| bits >> i & 1 == 1) {
                    match ranges.last_mut() {
                        Some(r) if r.end == i => r.end += 1,
                        _ => ranges.push(i..i + 1),
                    }
                }
                ranges
            })
            .collect()
    }

    #[test]
    fn every_batch_proof_verifies_and_every_altered_one_is_refused() {
        let l = leaves(70);
        for size in 1..=9u64 {
            let root = root_of(&l[..size as usize]);
            for sel in selections(size) {
                let proof = batch_proof(&mut Flat(&l), &sel, size).unwrap();
                let given: Vec<(u64, Hash)> = sel
                    .iter()
                    .flat_map(|r| r.clone())
                    .map(|i| (i, l[i as usize]))
                    .collect();
                verify_batch(&given, size, &proof, &root).unwrap();
                // One leaf changed, dropped (its hash not in the proof), moved; the proof
                // altered, shortened, lengthened; another root or size.
                for k in 0..given.len() {
                    let mut bad = given.clone();
                    bad[k].1[3] ^= 1;
                    assert!(verify_batch(&bad, size, &proof, &root).is_err());
                    if given.len() > 1 {
                        let mut fewer = given.clone();
                        fewer.remove(k);
                        assert!(verify_batch(&fewer, size, &proof, &root).is_err());
                    }
                    let mut moved = given.clone();
                    moved[k].0 = (moved[k].0 + 1) % size;
                    moved.sort_by_key(|(i, _)| *i);
                    if moved != given {
                        assert!(verify_batch(&moved, size, &proof, &root).is_err());
                    }
                }
                for i in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[i][0] ^= 0x80;
                    assert!(verify_batch(&given, size, &bad, &root).is_err());
                    let mut short = proof.clone();
                    short.remove(i);
                    assert!(verify_batch(&given, size, &short, &root).is_err());
                }
                let mut long = proof.clone();
                long.push(root);
                assert!(matches!(
                    verify_batch(&given, size, &long, &root),
                    Err(ProofError::WrongLength { .. })
                ));
                let other_root = root_of(&l[..size as usize + 1]);
                assert!(verify_batch(&given, size + 1, &proof, &other_root).is_err());
                assert!(verify_batch(&given, size, &proof, &l[69]).is_err());
                let mut twice = given.clone();
                twice.push(given[given.len() - 1]);
                assert!(verify_batch(&twice, size, &proof, &root).is_err());
            }
            assert!(verify_batch(&[], size, &[root], &root).is_err());
            assert!(verify_batch(&[(size, l[0])], size, &[], &root).is_err());
        }
    }

    #[test]
    fn a_batch_proof_in_halves_is_the_batch_proof() {
        let l = leaves(70);
        for size in 1..=9u64 {
            for sel in selections(size) {
                let whole = batch_proof(&mut Flat(&l), &sel, size).unwrap();
                match batch_halves(&sel, size) {
                    Some((mid, left, right)) => {
                        let mut halves = batch_proof_within(&mut Flat(&l), &left, 0, mid).unwrap();
                        halves
                            .extend(batch_proof_within(&mut Flat(&l), &right, mid, size).unwrap());
                        assert_eq!(halves, whole, "{sel:?} of {size}");
                    }
                    None => assert!(whole.is_empty() || sel.is_empty(), "{sel:?} of {size}"),
                }
            }
        }
    }

    #[test]
    #[allow(clippy::single_range_in_vec_init)] // selections of one run of leaves are meant
    fn a_batch_proof_of_single_leaves_holds_each_inclusion_proofs_hashes_once() {
        let l = leaves(70);
        let size = 70;
        let root = root_of(&l);
        // One leaf: the hashes of its inclusion proof (left to right rather than leaf up).
        for index in 0..size {
            let mut path = inclusion_proof(&mut Flat(&l), index, size).unwrap();
            let mut batch = batch_proof(&mut Flat(&l), &[index..index + 1], size).unwrap();
            path.sort_unstable();
            batch.sort_unstable();
            assert_eq!(batch, path);
        }
        // Every leaf: nothing to prove beyond the leaves; a long run: a few hashes.
        assert!(batch_proof(&mut Flat(&l), &[0..size], size)
            .unwrap()
            .is_empty());
        let run = batch_proof(&mut Flat(&l), &[3..67], size).unwrap();
        assert!(run.len() <= 12, "{}", run.len());
        let given: Vec<(u64, Hash)> = (3..67).map(|i| (i, l[i as usize])).collect();
        verify_batch(&given, size, &run, &root).unwrap();
    }

    #[test]
    fn every_consistency_proof_verifies_and_every_altered_one_is_refused() {
        let l = leaves(70);
        for new in 1..=70u64 {
            let new_root = root_of(&l[..new as usize]);
            for old in 1..=new {
                let old_root = root_of(&l[..old as usize]);
                let proof = consistency_proof(&mut Flat(&l), old, new).unwrap();
                assert_eq!(proof.len(), consistency_length(old, new));
                verify_consistency(old, new, &old_root, &new_root, &proof).unwrap();
                if old < new {
                    // A forked history: the old tree with one leaf changed.
                    let mut forked = l[..old as usize].to_vec();
                    forked[(old / 2) as usize][0] ^= 1;
                    assert!(
                        verify_consistency(old, new, &root_of(&forked), &new_root, &proof).is_err()
                    );
                    assert!(verify_consistency(old, new, &old_root, &old_root, &proof).is_err());
                    // The same proof for other sizes, against those sizes' true roots.
                    let next = root_of(&l[..=old as usize]);
                    assert!(verify_consistency(old + 1, new, &next, &new_root, &proof).is_err());
                    if new < 70 {
                        let bigger = root_of(&l[..=new as usize]);
                        assert!(
                            verify_consistency(old, new + 1, &old_root, &bigger, &proof).is_err()
                        );
                    }
                    for i in 0..proof.len() {
                        let mut bad = proof.clone();
                        bad[i][31] ^= 0x80;
                        assert!(verify_consistency(old, new, &old_root, &new_root, &bad).is_err());
                        let mut short = proof.clone();
                        short.remove(i);
                        assert!(verify_consistency(old, new, &old_root, &new_root, &short).is_err());
                    }
                } else {
                    assert!(verify_consistency(old, new, &old_root, &[9; 32], &proof).is_err());
                }
                let mut long = proof.clone();
                long.push(new_root);
                assert!(verify_consistency(old, new, &old_root, &new_root, &long).is_err());
            }
            assert!(verify_consistency(new + 1, new, &new_root, &new_root, &[]).is_err());
            verify_consistency(0, new, &empty_root(), &new_root, &[]).unwrap();
        }
    }

    #[test]
    fn proofs_from_the_source_match_proofs_from_scratch() {
        let l = leaves(1000);
        let mut flat = Flat(&l);
        assert_eq!(root(&mut flat, 1000).unwrap(), root_of(&l));
        assert_eq!(root(&mut flat, 0).unwrap(), empty_root());
        let p = inclusion_proof(&mut flat, 777, 1000).unwrap();
        verify_inclusion(&l[777], 777, 1000, &p, &root_of(&l)).unwrap();
        let p = consistency_proof(&mut flat, 513, 1000).unwrap();
        verify_consistency(513, 1000, &root_of(&l[..513]), &root_of(&l), &p).unwrap();
    }
}
