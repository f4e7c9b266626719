//! Canonical encoding of a stored event and the SHA-256 hash chain over the journal.
//!
//! `hash(n) = SHA-256(raw hash(n-1) ‖ canonical(n))`, with 32 zero bytes before the first entry.
//! The canonical encoding is compact JSON with every field present (absent ones as `null`) in a
//! fixed order, timestamps as RFC 3339 UTC with six fractional digits, and JSON values (changes,
//! details) exactly as stored (key order and number digits preserved). The sender (recorded
//! since schema 8) is appended as a 19th element when present; entries without one keep their
//! 18 elements, so everything written before it verifies as it always did. An entry with any of
//! the fields of schema 10 (`on_behalf_of`, `correlation_id`, `source_seq`, `stream`) has 20:
//! the sender (or null) and then `[[type, id, name] or null, correlation_id, source_seq,
//! stream]`; an entry with none of them keeps its 18 or 19.

use chrono::{DateTime, Utc};
use serde::ser::{Serialize, SerializeSeq, Serializer};
use sha2::{Digest, Sha256};

use crate::event::{micros, Event, StoredEvent};
use crate::seal::Commitments;

/// The hash that precedes the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// The canonical bytes of an event at a given position in the journal.
pub fn canonical(event: &Event, seq: u64, received_at: &DateTime<Utc>) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    serde_json::to_writer(
        &mut out,
        &Canonical {
            event,
            seq,
            received_at,
        },
    )
    .expect("an event always serializes");
    out
}

/// The canonical encoding as a serializer sees it: a JSON array written straight from the
/// event's fields (the same bytes a `serde_json::Value` of them gives, without building one).
struct Canonical<'a> {
    event: &'a Event,
    seq: u64,
    received_at: &'a DateTime<Utc>,
}

impl Serialize for Canonical<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.event;
        // The sender is the 19th element when there is one: entries written before senders were
        // recorded keep the 18 elements they were hashed with. The fields of schema 10 are the
        // 20th, when the entry has any.
        let extended = e.on_behalf_of.is_some()
            || e.correlation_id.is_some()
            || e.source_seq.is_some()
            || e.stream.is_some();
        let len = if extended {
            20
        } else {
            18 + usize::from(e.sender.is_some())
        };
        let mut a = s.serialize_seq(Some(len))?;
        a.serialize_element(&self.seq)?;
        a.serialize_element(&micros::format(self.received_at))?;
        a.serialize_element(&e.id.to_string())?;
        a.serialize_element(&micros::format(&e.occurred_at))?;
        a.serialize_element(&(
            &e.actor.id,
            &e.actor.name,
            &e.actor.role,
            e.actor.kind.map(|k| k.as_str()),
        ))?;
        a.serialize_element(&e.action)?;
        a.serialize_element(e.kind.as_str())?;
        a.serialize_element(&e.section)?;
        a.serialize_element(e.severity.as_str())?;
        a.serialize_element(e.outcome.as_str())?;
        a.serialize_element(&e.target.as_ref().map(|t| (&t.kind, &t.id, &t.name)))?;
        a.serialize_element(&e.changes.as_deref().map(Changes))?;
        a.serialize_element(&e.ip.map(|ip| ip.to_string()))?;
        a.serialize_element(&e.user_agent)?;
        a.serialize_element(&e.session_id)?;
        a.serialize_element(&e.request_id)?;
        a.serialize_element(&e.reason)?;
        a.serialize_element(&e.details)?;
        if extended {
            a.serialize_element(&e.sender)?;
            a.serialize_element(&(
                e.on_behalf_of.as_ref().map(|p| (&p.kind, &p.id, &p.name)),
                &e.correlation_id,
                e.source_seq,
                &e.stream,
            ))?;
        } else if let Some(sender) = &e.sender {
            a.serialize_element(sender)?;
        }
        a.end()
    }
}

/// The canonical bytes of a sealed entry ([`crate::seal`]): `"s1"` first, then the same fields
/// as [`canonical`] always with all 21 elements, each part a reader may see masked replaced by
/// its commitment (hex), the IP by `[its network as masked, commitment]`, a change by
/// `[field, before is null, after is null, commitment]`, the details by their keys each with
/// its value's commitment.
pub fn canonical_sealed(
    event: &Event,
    seq: u64,
    received_at: &DateTime<Utc>,
    c: &Commitments,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    serde_json::to_writer(
        &mut out,
        &Sealed {
            event,
            seq,
            received_at,
            c,
        },
    )
    .expect("an event always serializes");
    out
}

struct Sealed<'a> {
    event: &'a Event,
    seq: u64,
    received_at: &'a DateTime<Utc>,
    c: &'a Commitments,
}

/// A commitment as the encoding holds it (hex).
struct Hex<'a>(&'a [u8; 32]);

impl Serialize for Hex<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 64];
        hex::encode_to_slice(self.0, &mut buf).expect("64 digits for 32 bytes");
        s.serialize_str(std::str::from_utf8(&buf).expect("hex is ASCII"))
    }
}

impl Serialize for Sealed<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (e, c) = (self.event, self.c);
        fn opt(h: &Option<[u8; 32]>) -> Option<Hex<'_>> {
            h.as_ref().map(Hex)
        }
        let mut a = s.serialize_seq(Some(21))?;
        a.serialize_element("s1")?;
        a.serialize_element(&self.seq)?;
        a.serialize_element(&micros::format(self.received_at))?;
        a.serialize_element(&e.id.to_string())?;
        a.serialize_element(&micros::format(&e.occurred_at))?;
        a.serialize_element(&(
            &e.actor.id,
            opt(&c.actor_name),
            &e.actor.role,
            e.actor.kind.map(|k| k.as_str()),
        ))?;
        a.serialize_element(&e.action)?;
        a.serialize_element(e.kind.as_str())?;
        a.serialize_element(&e.section)?;
        a.serialize_element(e.severity.as_str())?;
        a.serialize_element(e.outcome.as_str())?;
        a.serialize_element(
            &e.target
                .as_ref()
                .map(|t| (&t.kind, &t.id, opt(&c.target_name))),
        )?;
        struct SealedChanges<'a>(&'a [crate::event::Change], &'a [[u8; 32]]);
        impl Serialize for SealedChanges<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                // Which of before and after is null is as every reader sees it: bound, so
                // that a masked change cannot be shown as a created or removed field.
                s.collect_seq(
                    self.0.iter().zip(self.1).map(|(ch, h)| {
                        (&ch.field, ch.before.is_null(), ch.after.is_null(), Hex(h))
                    }),
                )
            }
        }
        a.serialize_element(&e.changes.as_deref().map(|ch| SealedChanges(ch, &c.changes)))?;
        // The address as every reader sees it (its /24 or /48) beside its commitment: a store
        // that shows a masked reader another network is caught.
        a.serialize_element(
            &e.ip
                .zip(c.ip.as_ref())
                .map(|(ip, h)| (crate::rights::masked_ip(ip).to_string(), Hex(h))),
        )?;
        a.serialize_element(&opt(&c.user_agent))?;
        a.serialize_element(&opt(&c.session_id))?;
        a.serialize_element(&e.request_id)?;
        a.serialize_element(&opt(&c.reason))?;
        struct SealedDetails<'a>(
            &'a serde_json::Map<String, serde_json::Value>,
            &'a [[u8; 32]],
        );
        impl Serialize for SealedDetails<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (k, h) in self.0.keys().zip(self.1) {
                    m.serialize_entry(k, &Hex(h))?;
                }
                m.end()
            }
        }
        a.serialize_element(&e.details.as_ref().map(|d| SealedDetails(d, &c.details)))?;
        a.serialize_element(&e.sender)?;
        a.serialize_element(&(
            e.on_behalf_of
                .as_ref()
                .map(|p| (&p.kind, &p.id, opt(&c.behalf_name))),
            &e.correlation_id,
            e.source_seq,
            &e.stream,
        ))?;
        a.end()
    }
}

/// The chain hash of a sealed entry given the previous entry's raw hash and its commitments.
pub fn link_sealed(
    prev: &[u8; 32],
    event: &Event,
    seq: u64,
    received_at: &DateTime<Utc>,
    c: &Commitments,
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(canonical_sealed(event, seq, received_at, c));
    h.finalize().into()
}

/// The chain hash of a stored entry: sealed with its salt, or in the encoding of entries
/// written before entries were sealed.
pub fn link_stored(
    prev: &[u8; 32],
    event: &Event,
    seq: u64,
    received_at: &DateTime<Utc>,
    salt: Option<&crate::seal::Salt>,
) -> [u8; 32] {
    match salt {
        Some(salt) => link_sealed(
            prev,
            event,
            seq,
            received_at,
            &Commitments::from_salt(event, salt),
        ),
        None => link(prev, event, seq, received_at),
    }
}

/// Changes as arrays of field, before and after.
struct Changes<'a>(&'a [crate::event::Change]);

impl Serialize for Changes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|c| (&c.field, &c.before, &c.after)))
    }
}

/// The chain hash of an entry given the previous entry's raw hash.
pub fn link(prev: &[u8; 32], event: &Event, seq: u64, received_at: &DateTime<Utc>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(canonical(event, seq, received_at));
    h.finalize().into()
}

/// Why a stretch of the journal does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// An entry's seq is not the one after its predecessor.
    #[error("entry seq {found} follows seq {after}: the journal has a gap or is out of order")]
    Gap {
        /// The seq of the previous entry.
        after: u64,
        /// The seq found.
        found: u64,
    },
    /// An entry has no salt though an entry before it is sealed (the store seals every entry
    /// since it began to): its salt was removed.
    #[error(
        "entry {seq} (id {id}) is not sealed though entries before it are: its salt was \
         removed, or the entry replaced"
    )]
    Unsealed {
        /// The entry.
        seq: u64,
        /// Its id.
        id: String,
    },
    /// An entry's stored hash is not what its content and predecessor give.
    #[error(
        "entry seq {seq} (id {id}) does not match its hash: stored {stored}, computed {computed}"
    )]
    Mismatch {
        /// The entry.
        seq: u64,
        /// Its id.
        id: String,
        /// The hash it carries.
        stored: String,
        /// The hash its content gives.
        computed: String,
    },
}

/// Walks entries in seq order and checks each link. Feed entries with [`Verifier::check`].
#[derive(Debug, Clone)]
pub struct Verifier {
    prev: [u8; 32],
    last_seq: u64,
    /// Whether an entry verified so far was sealed: every later one must be.
    sealed: bool,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            prev: GENESIS,
            last_seq: 0,
            sealed: false,
        }
    }
}

impl Verifier {
    /// Checks the next entry; the first error names the entry that does not match.
    pub fn check(&mut self, e: &StoredEvent) -> Result<(), ChainError> {
        if e.seq != self.last_seq + 1 {
            return Err(ChainError::Gap {
                after: self.last_seq,
                found: e.seq,
            });
        }
        if self.sealed && e.salt.is_none() {
            return Err(ChainError::Unsealed {
                seq: e.seq,
                id: e.event.id.to_string(),
            });
        }
        let computed = link_stored(&self.prev, &e.event, e.seq, &e.received_at, e.salt.as_ref());
        if hex::encode(computed) != e.hash {
            return Err(ChainError::Mismatch {
                seq: e.seq,
                id: e.event.id.to_string(),
                stored: e.hash.clone(),
                computed: hex::encode(computed),
            });
        }
        self.prev = computed;
        self.last_seq = e.seq;
        self.sealed |= e.salt.is_some();
        Ok(())
    }

    /// The number of entries verified so far.
    pub fn verified(&self) -> u64 {
        self.last_seq
    }

    /// The head hash (hex) after the entries verified so far.
    pub fn head(&self) -> String {
        hex::encode(self.prev)
    }
}

/// Decodes a hex hash as stored; `None` if it is not 64 hex digits.
pub fn decode(hash: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hash, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::event_from_json;

    fn stored(seq: u64, prev: &[u8; 32], reason: &str) -> StoredEvent {
        let mut v: serde_json::Value = serde_json::from_str(
            r#"{"occurred_at": "2026-11-26T10:00:00Z", "actor": {"id": "a"}, "action": "x.y",
                "kind": "change", "section": "finance",
                "changes": [{"field": "balance", "before": 100.10, "after": 1e400}]}"#,
        )
        .unwrap();
        v["reason"] = reason.into();
        let event = event_from_json(&v, uuid::Uuid::now_v7).unwrap();
        let received_at = Utc::now();
        let hash = hex::encode(link(prev, &event, seq, &received_at));
        StoredEvent {
            salt: None,
            seq,
            received_at,
            hash,
            event,
        }
    }

    use serde_json::{json, Value};

    /// The encoding as it was first written: through a `serde_json::Value`.
    fn canonical_by_value(event: &Event, seq: u64, received_at: &DateTime<Utc>) -> Vec<u8> {
        let opt = |s: &Option<String>| {
            s.as_deref()
                .map_or(Value::Null, |s| Value::String(s.into()))
        };
        let doc = json!([
            seq,
            micros::format(received_at),
            event.id.to_string(),
            micros::format(&event.occurred_at),
            [
                event.actor.id,
                opt(&event.actor.name),
                opt(&event.actor.role),
                event.actor.kind.map(|k| k.as_str()),
            ],
            event.action,
            event.kind.as_str(),
            event.section,
            event.severity.as_str(),
            event.outcome.as_str(),
            event
                .target
                .as_ref()
                .map(|t| json!([t.kind, t.id, opt(&t.name)])),
            event.changes.as_ref().map(|cs| cs
                .iter()
                .map(|c| json!([c.field, c.before, c.after]))
                .collect::<Vec<_>>()),
            event.ip.map(|ip| ip.to_string()),
            opt(&event.user_agent),
            opt(&event.session_id),
            opt(&event.request_id),
            opt(&event.reason),
            event.details,
        ]);
        serde_json::to_vec(&doc).expect("a JSON value always serializes")
    }

    /// Written straight from the fields, the encoding is byte for byte the one every journal
    /// was hashed with (through a `Value`): empty and full events, every kind of text and number.
    #[test]
    fn the_encoding_is_the_one_journals_were_hashed_with() {
        let full = r#"{"occurred_at": "2026-11-26T10:00:00.123456Z",
            "actor": {"id": "m.dupont", "name": "Élodie \"Martin\" 🎰", "role": "finance", "kind": "staff"},
            "action": "player.balance.adjust", "kind": "change", "section": "finance",
            "severity": "critical", "outcome": "denied",
            "target": {"type": "player", "id": "12345", "name": "מרים\nכהן"},
            "changes": [{"field": "balance", "before": 100.10, "after": -1e400},
                        {"field": "note", "before": null, "after": {"b": [1, "=SUM(A1)"], "a": true}}],
            "ip": "2001:db8::1", "user_agent": "Mozilla/5.0 \u0000", "session_id": "s-1",
            "request_id": "r-1", "reason": "طلب اللاعب\t<b>",
            "details": {"z": 1, "a": {"nested": [null, 1.50]}, "emoji": "👍🏽"}}"#;
        let bare = r#"{"occurred_at": "2026-01-01T00:00:00Z", "actor": {"id": "a"},
            "action": "x", "kind": "access", "section": "s"}"#;
        for text in [full, bare] {
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            let e = event_from_json(&v, uuid::Uuid::now_v7).unwrap();
            let at = Utc::now();
            for seq in [1, 42, u64::MAX] {
                assert_eq!(
                    String::from_utf8(canonical(&e, seq, &at)).unwrap(),
                    String::from_utf8(canonical_by_value(&e, seq, &at)).unwrap()
                );
            }
        }
    }

    #[test]
    fn numbers_keep_their_digits_in_the_encoding() {
        let e = stored(1, &GENESIS, "r");
        let text = String::from_utf8(canonical(&e.event, 1, &e.received_at)).unwrap();
        assert!(text.contains("100.10") && text.contains("1e+400"), "{text}");
    }

    #[test]
    fn a_changed_entry_is_named() {
        let a = stored(1, &GENESIS, "one");
        let b = stored(2, &decode(&a.hash).unwrap(), "two");
        let mut v = Verifier::default();
        v.check(&a).unwrap();
        let mut tampered = b.clone();
        tampered.event.reason = Some("tww".into());
        let err = v.clone().check(&tampered).unwrap_err();
        assert!(matches!(err, ChainError::Mismatch { seq: 2, .. }), "{err}");
        v.check(&b).unwrap();
        assert_eq!(v.verified(), 2);
        assert_eq!(v.head(), b.hash);
    }

    /// The fields of schema 10 are under the hash as a 20th element: each one changed, added or
    /// removed changes it; an entry with none of them keeps its 18 or 19 elements.
    #[test]
    fn impersonation_correlation_and_numbering_are_under_the_hash() {
        let a = stored(1, &GENESIS, "one");
        let at = a.received_at;
        let text = |e: &Event| String::from_utf8(canonical(e, 1, &at)).unwrap();
        let mut sent = a.event.clone();
        sent.sender = Some("backoffice".into());
        let plain = text(&sent);
        assert!(plain.ends_with(r#","backoffice"]"#), "{plain}");
        let mut full = sent.clone();
        full.on_behalf_of = Some(crate::event::Principal {
            kind: Some("player".into()),
            id: "12345".into(),
            name: Some("Zoë \"ש\"".into()),
        });
        full.correlation_id = Some("wd-1".into());
        full.source_seq = Some(10_412);
        full.stream = Some("night".into());
        let t = text(&full);
        assert!(
            t.ends_with(r#","backoffice",[["player","12345","Zoë \"ש\""],"wd-1",10412,"night"]]"#),
            "{t}"
        );
        let mut seen = std::collections::HashSet::from([plain, t]);
        let variants: [fn(&mut Event); 6] = [
            |e| e.on_behalf_of.as_mut().unwrap().kind = None,
            |e| e.on_behalf_of = None,
            |e| e.correlation_id = None,
            |e| e.source_seq = Some(10_413),
            |e| e.stream = None,
            |e| e.sender = None,
        ];
        for change in variants {
            let mut e = full.clone();
            change(&mut e);
            assert!(seen.insert(text(&e)), "{}", text(&e));
        }
        // Only a source_seq, no sender: still 20 elements, the sender null.
        let mut bare = a.event.clone();
        bare.source_seq = Some(0);
        assert!(text(&bare).ends_with(r#",null,[null,null,0,null]]"#));
    }

    /// The sender is under the hash: an entry whose sender is changed, added or removed no longer
    /// verifies; without one, the encoding is the 18 elements entries had before senders.
    #[test]
    fn the_sender_is_under_the_hash_and_absent_keeps_the_old_encoding() {
        let a = stored(1, &GENESIS, "one");
        let old = String::from_utf8(canonical(&a.event, 1, &a.received_at)).unwrap();
        assert_eq!(
            old,
            String::from_utf8(canonical_by_value(&a.event, 1, &a.received_at)).unwrap()
        );
        let mut sent = a.event.clone();
        sent.sender = Some("backoffice \"prod\" 🎰".into());
        let text = String::from_utf8(canonical(&sent, 1, &a.received_at)).unwrap();
        assert_eq!(
            text,
            format!("{},\"backoffice \\\"prod\\\" 🎰\"]", &old[..old.len() - 1])
        );
        let entry = StoredEvent {
            hash: hex::encode(link(&GENESIS, &sent, 1, &a.received_at)),
            event: sent,
            ..a.clone()
        };
        Verifier::default().check(&entry).unwrap();
        for forged in [Some("other-key".to_owned()), None] {
            let mut tampered = entry.clone();
            tampered.event.sender = forged;
            assert!(matches!(
                Verifier::default().check(&tampered),
                Err(ChainError::Mismatch { seq: 1, .. })
            ));
        }
        let mut added = a.clone();
        added.event.sender = Some("vigil".into());
        assert!(Verifier::default().check(&added).is_err());
    }

    #[test]
    fn a_sealed_entry_verifies_from_its_salt_and_any_change_to_it_is_caught() {
        let plain = stored(1, &GENESIS, "Geste commercial");
        let salt = crate::seal::new_salt();
        let c = Commitments::from_salt(&plain.event, &salt);
        let text =
            String::from_utf8(canonical_sealed(&plain.event, 1, &plain.received_at, &c)).unwrap();
        assert!(text.starts_with("[\"s1\",1,"), "{text}");
        assert!(
            !text.contains("Geste commercial") && !text.contains("100.10"),
            "the reason and the change enter as commitments: {text}"
        );
        let sealed = StoredEvent {
            hash: hex::encode(link_sealed(
                &GENESIS,
                &plain.event,
                1,
                &plain.received_at,
                &c,
            )),
            salt: Some(salt),
            ..plain.clone()
        };
        Verifier::default().check(&sealed).unwrap();
        let mut changed = sealed.clone();
        changed.event.reason = Some("Geste commercial!".into());
        let mut other_salt = sealed.clone();
        other_salt.salt = Some(crate::seal::new_salt());
        let mut unsealed = sealed.clone();
        unsealed.salt = None;
        for tampered in [changed, other_salt, unsealed] {
            assert!(matches!(
                Verifier::default().check(&tampered),
                Err(ChainError::Mismatch { seq: 1, .. })
            ));
        }
    }

    #[test]
    fn a_gap_is_named() {
        let a = stored(1, &GENESIS, "one");
        let c = stored(3, &decode(&a.hash).unwrap(), "three");
        let mut v = Verifier::default();
        v.check(&a).unwrap();
        assert_eq!(
            v.check(&c).unwrap_err(),
            ChainError::Gap { after: 1, found: 3 }
        );
    }
}
