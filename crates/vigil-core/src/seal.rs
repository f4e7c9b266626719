//! Sealed entries: the parts of an entry that a reader may see masked enter its hash as salted
//! commitments, so that a reader who sees a part masked can still check the entry, without
//! learning the value or being able to test a guess of it.
//!
//! Each sealed entry has a random 16-byte salt, kept by the store beside it. Each part (the
//! actor's, target's and principal's names, the IP, the user agent, the session, the reason,
//! each change's before and after, each top-level value of the details) has a salt of its own,
//! `SHA-256("vigil seal v1" ‖ 0x00 ‖ salt ‖ label)[..16]`, and a commitment,
//! `SHA-256(part salt ‖ the value's compact JSON)`. The hash of a sealed entry covers the
//! commitments in place of the values ([`crate::chain::canonical_sealed`]).
//!
//! A reader who sees the entry whole is given the entry's salt. A reader who sees some parts
//! masked is given a [`SealView`]: for each part they see as stored, its part salt (they compute
//! its commitment from the value, so what they see is checked); for each part they see masked,
//! only its commitment. A part salt says nothing of the entry's salt or of another part's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::event::Event;

/// An entry's salt.
pub type Salt = [u8; 16];
/// A commitment.
pub type Hash = [u8; 32];

/// A new random salt.
pub fn new_salt() -> Salt {
    let mut salt = [0u8; 16];
    fill_random(&mut salt);
    salt
}

/// Fills `buf` from the system's random source: the salts of a whole batch at once (one call
/// rather than one per entry).
pub fn fill_random(buf: &mut [u8]) {
    use ring::rand::SecureRandom as _;
    ring::rand::SystemRandom::new()
        .fill(buf)
        .expect("the system's random source answers");
}

/// Which part of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label<'a> {
    /// `actor.name`, `target.name`, `on_behalf_of.name`, `ip`, `user_agent`, `session_id`,
    /// `reason`.
    Fixed(&'static str),
    /// `changes.N`: the N-th change's before and after (from 0).
    Change(usize),
    /// `details.KEY`.
    Detail(&'a str),
}

impl Label<'_> {
    fn feed(&self, h: &mut Sha256) {
        match self {
            Label::Fixed(name) => h.update(name.as_bytes()),
            Label::Change(i) => {
                h.update(b"changes.");
                h.update(i.to_string().as_bytes());
            }
            Label::Detail(key) => {
                h.update(b"details.");
                h.update(key.as_bytes());
            }
        }
    }
}

impl std::fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Label::Fixed(name) => f.write_str(name),
            Label::Change(i) => write!(f, "changes.{i}"),
            Label::Detail(key) => write!(f, "details.{key}"),
        }
    }
}

/// A part's value, as it is committed to.
#[derive(Debug, Clone, Copy)]
enum Part<'a> {
    Text(&'a str),
    Ip(std::net::IpAddr),
    Pair(&'a Value, &'a Value),
    Json(&'a Value),
}

struct Hashing(Sha256);

impl std::io::Write for Hashing {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.update(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Part<'_> {
    fn write(&self, out: &mut impl std::io::Write) {
        let written = match self {
            Part::Text(s) => serde_json::to_writer(out, s),
            Part::Ip(ip) => serde_json::to_writer(out, &ip.to_string()),
            Part::Pair(before, after) => serde_json::to_writer(out, &(before, after)),
            Part::Json(v) => serde_json::to_writer(out, v),
        };
        written.expect("a value serializes");
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }
}

/// Each part an entry has, in the order of its sealed encoding.
fn each_part<'a>(e: &'a Event, mut f: impl FnMut(Label<'a>, Part<'a>)) {
    let mut text = |name: &'static str, v: &'a Option<String>| {
        if let Some(v) = v {
            f(Label::Fixed(name), Part::Text(v));
        }
    };
    text("actor.name", &e.actor.name);
    if let Some(t) = &e.target {
        text("target.name", &t.name);
    }
    if let Some(p) = &e.on_behalf_of {
        text("on_behalf_of.name", &p.name);
    }
    if let Some(ip) = e.ip {
        f(Label::Fixed("ip"), Part::Ip(ip));
    }
    let mut text = |name: &'static str, v: &'a Option<String>| {
        if let Some(v) = v {
            f(Label::Fixed(name), Part::Text(v));
        }
    };
    text("user_agent", &e.user_agent);
    text("session_id", &e.session_id);
    text("reason", &e.reason);
    for (i, c) in e.changes.iter().flatten().enumerate() {
        f(Label::Change(i), Part::Pair(&c.before, &c.after));
    }
    for (key, value) in e.details.iter().flatten() {
        f(Label::Detail(key), Part::Json(value));
    }
}

/// A part's own salt.
fn part_salt(salt: &Salt, label: Label<'_>) -> Salt {
    let mut h = Sha256::new();
    h.update(b"vigil seal v1\0");
    h.update(salt);
    label.feed(&mut h);
    let full: [u8; 32] = h.finalize().into();
    full[..16].try_into().expect("16 of 32 bytes")
}

fn commit(part_salt: &Salt, part: Part<'_>) -> Hash {
    let mut h = Hashing(Sha256::new());
    h.0.update(part_salt);
    part.write(&mut h);
    h.0.finalize().into()
}

/// The commitments of an entry's parts, as its sealed encoding holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commitments {
    pub(crate) actor_name: Option<Hash>,
    pub(crate) target_name: Option<Hash>,
    pub(crate) behalf_name: Option<Hash>,
    pub(crate) ip: Option<Hash>,
    pub(crate) user_agent: Option<Hash>,
    pub(crate) session_id: Option<Hash>,
    pub(crate) reason: Option<Hash>,
    pub(crate) changes: Vec<Hash>,
    pub(crate) details: Vec<Hash>,
}

impl Commitments {
    fn put(&mut self, label: Label<'_>, h: Hash) {
        match label {
            Label::Fixed("actor.name") => self.actor_name = Some(h),
            Label::Fixed("target.name") => self.target_name = Some(h),
            Label::Fixed("on_behalf_of.name") => self.behalf_name = Some(h),
            Label::Fixed("ip") => self.ip = Some(h),
            Label::Fixed("user_agent") => self.user_agent = Some(h),
            Label::Fixed("session_id") => self.session_id = Some(h),
            Label::Fixed("reason") => self.reason = Some(h),
            Label::Fixed(other) => unreachable!("no part is labelled {other}"),
            Label::Change(_) => self.changes.push(h),
            Label::Detail(_) => self.details.push(h),
        }
    }

    /// An entry's commitments from its salt (the entry as stored).
    pub fn from_salt(e: &Event, salt: &Salt) -> Commitments {
        let mut c = Commitments::default();
        each_part(e, |label, part| {
            c.put(label, commit(&part_salt(salt, label), part))
        });
        c
    }

    /// An entry's commitments as a reader who sees some parts masked computes them: from the
    /// entry as shown and the view the store gave with it. Every part the entry shows must be
    /// in the view, as an opening or a commitment.
    pub fn from_view(shown: &Event, view: &SealView) -> Result<Commitments, SealError> {
        let mut c = Commitments::default();
        let mut fault = None;
        each_part(shown, |label, part| {
            if fault.is_some() {
                return;
            }
            let name = label.to_string();
            let h = if let Some(given) = view.commitments.get(&name) {
                if !shown_masked(shown, label, part) {
                    // A commitment stands only for a value the reader is shown masked: for one
                    // shown in the clear it would let the store show any value.
                    Err(SealError::NotMasked(name))
                } else {
                    decode::<32>(given).ok_or(SealError::Malformed(name))
                }
            } else if let Some(opening) = view.openings.get(&name) {
                decode::<16>(opening)
                    .map(|s| commit(&s, part))
                    .ok_or(SealError::Malformed(name))
            } else {
                Err(SealError::Missing(name))
            };
            match h {
                Ok(h) => c.put(label, h),
                Err(e) => fault = Some(e),
            }
        });
        match fault {
            Some(e) => Err(e),
            None => Ok(c),
        }
    }
}

/// The texts of Vigil's own entries that masking hides in part (a search's or an export's query,
/// a scope, an alert rule): shown partly masked, never checked by a masked reader.
const PARTLY_MASKED: [&str; 5] = ["q", "scope", "query", "filters", "rule"];

/// Whether a part is shown as masking shows it (so that a commitment may stand for it): the
/// text `[masked]`, an address as its network, a change whose values are `[masked]` or null,
/// a value of the details `[masked]` (or one of the texts of Vigil's own entries that masking
/// hides in part).
fn shown_masked(e: &Event, label: Label<'_>, part: Part<'_>) -> bool {
    let masked = |v: &Value| v.as_str() == Some(crate::rights::MASKED);
    match (label, part) {
        (_, Part::Text(t)) => t == crate::rights::MASKED,
        (_, Part::Ip(ip)) => crate::rights::masked_ip(ip) == ip,
        (_, Part::Pair(before, after)) => {
            (masked(before) || before.is_null())
                && (masked(after) || after.is_null())
                && (masked(before) || masked(after))
        }
        (Label::Detail(key), Part::Json(v)) => {
            masked(v) || (e.section == "vigil" && PARTLY_MASKED.contains(&key))
        }
        (_, Part::Json(v)) => masked(v),
    }
}

fn decode<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// Decodes an entry's salt given as hex.
pub fn decode_salt(text: &str) -> Option<Salt> {
    decode::<16>(text)
}

/// Why a reader's view of a sealed entry cannot be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The view names a part in neither its openings nor its commitments.
    #[error("the seal gives nothing for {0}")]
    Missing(String),
    /// A value of the view is not hex of the right length.
    #[error("the seal's value for {0} is not hex of the right length")]
    Malformed(String),
    /// The view gives a commitment for a part shown in the clear.
    #[error("the seal withholds {0}, which is shown in the clear")]
    NotMasked(String),
}

/// What a reader who sees some parts of a sealed entry masked is given to check it: the salt of
/// each part they see as stored, the commitment of each part they see masked (labels as
/// [`Label`] prints them), in hex.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SealView {
    /// Part → its salt (32 hex digits), for the parts shown as stored.
    pub openings: BTreeMap<String, String>,
    /// Part → its commitment (64 hex digits), for the parts shown masked.
    pub commitments: BTreeMap<String, String>,
}

impl SealView {
    /// The view of a reader who is shown `shown` of the stored entry `clear` (masking listed
    /// `masked`, as [`crate::rights::mask_event`] returns it): a part shown as stored is
    /// opened, any other (masked, or missing) given only as its commitment. The IP, when
    /// masked, is always committed: an address that is its own network shows the same masked
    /// or not, and opening it would confirm it.
    pub fn for_reader(clear: &Event, shown: &Event, salt: &Salt, masked: &[String]) -> SealView {
        let mut seen: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        each_part(shown, |label, part| {
            seen.insert(label.to_string(), part.bytes());
        });
        let ip_masked = masked.iter().any(|m| m == "ip");
        let mut view = SealView::default();
        each_part(clear, |label, part| {
            let name = label.to_string();
            let s = part_salt(salt, label);
            let hidden = ip_masked && label == Label::Fixed("ip");
            if !hidden && seen.get(&name).is_some_and(|b| *b == part.bytes()) {
                view.openings.insert(name, hex::encode(s));
            } else {
                view.commitments.insert(name, hex::encode(commit(&s, part)));
            }
        });
        view
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::event_from_json;

    fn entry() -> Event {
        let doc: serde_json::Value = serde_json::from_str(
            r#"{"occurred_at": "2026-11-26T10:00:00Z",
                "actor": {"id": "m.dupont", "name": "Marie Dupont"},
                "action": "player.update", "kind": "change", "section": "players",
                "target": {"type": "player", "id": "p-1", "name": "Zoë « Borg » مرحبا"},
                "ip": "203.0.113.7",
                "reason": "=SUM(A1)\n\"quoted\" 🎰",
                "changes": [{"field": "email", "before": "a@x.org", "after": "b@x.org"},
                            {"field": "limit", "before": 100.10, "after": 1e400}],
                "details": {"email": "c@x.org", "note": null, "n": 12.50}}"#,
        )
        .unwrap();
        event_from_json(&doc, uuid::Uuid::now_v7).unwrap()
    }

    #[test]
    fn a_masked_reader_rebuilds_the_commitments_and_learns_no_part_salt_of_what_is_masked() {
        let clear = entry();
        let salt = new_salt();
        let mut shown = clear.clone();
        let masked = crate::rights::mask_event(&mut shown, &["changes.email".into()]);
        assert!(masked.contains(&"ip".to_owned()));
        let view = SealView::for_reader(&clear, &shown, &salt, &masked);
        let keys = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>();
        assert_eq!(
            keys(&view.commitments),
            ["changes.0", "ip", "target.name"],
            "exactly the parts shown masked"
        );
        assert_eq!(
            keys(&view.openings),
            [
                "actor.name",
                "changes.1",
                "details.email",
                "details.n",
                "details.note",
                "reason"
            ]
        );
        assert_eq!(
            Commitments::from_view(&shown, &view).unwrap(),
            Commitments::from_salt(&clear, &salt),
            "the reader's commitments are the store's"
        );
        // A guess of the masked IP, however good, cannot be tested: its part salt is not given.
        let guess = commit(&[0; 16], Part::Ip("203.0.113.7".parse().unwrap()));
        assert_ne!(hex::encode(guess), view.commitments["ip"]);
        // A part whose value the reader was shown changed: its commitment changes.
        let mut changed = shown.clone();
        changed.reason = Some("nothing to see".into());
        assert_ne!(
            Commitments::from_view(&changed, &view).unwrap(),
            Commitments::from_salt(&clear, &salt)
        );
        // A view that lacks a part, or garbles one, is refused by name.
        let mut lacking = view.clone();
        lacking.openings.remove("reason");
        assert_eq!(
            Commitments::from_view(&shown, &lacking),
            Err(SealError::Missing("reason".into()))
        );
        let mut garbled = view.clone();
        garbled.commitments.insert("ip".into(), "zz".into());
        assert_eq!(
            Commitments::from_view(&shown, &garbled),
            Err(SealError::Malformed("ip".into()))
        );
        // A store that shows a value changed in the clear and gives the original's commitment
        // in place of its opening is refused: a commitment stands only for a masked value.
        let (mut forged, mut view2) = (shown.clone(), view.clone());
        forged.reason = Some("routine".into());
        let opening = view2.openings.remove("reason").unwrap();
        view2.commitments.insert(
            "reason".into(),
            hex::encode(commit(
                &decode::<16>(&opening).unwrap(),
                Part::Text(clear.reason.as_deref().unwrap()),
            )),
        );
        assert_eq!(
            Commitments::from_view(&forged, &view2),
            Err(SealError::NotMasked("reason".into()))
        );
        // An address that is its own network is committed all the same when masked.
        let mut net = clear.clone();
        net.ip = Some("203.0.113.0".parse().unwrap());
        let mut net_shown = net.clone();
        let masked = crate::rights::mask_event(&mut net_shown, &[]);
        let view = SealView::for_reader(&net, &net_shown, &salt, &masked);
        assert!(view.commitments.contains_key("ip") && !view.openings.contains_key("ip"));
    }

    #[test]
    fn part_salts_differ_by_part_and_by_entry() {
        let (a, b) = (new_salt(), new_salt());
        assert_ne!(a, b);
        let ip = part_salt(&a, Label::Fixed("ip"));
        assert_ne!(ip, part_salt(&a, Label::Fixed("reason")));
        assert_ne!(ip, part_salt(&b, Label::Fixed("ip")));
        assert_ne!(
            part_salt(&a, Label::Change(1)),
            part_salt(&a, Label::Detail("1"))
        );
    }
}
