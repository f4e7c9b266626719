//! Turning a sender's JSON into an [`Event`], naming the exact field that is wrong.
//!
//! Validation works on a parsed [`serde_json::Value`] rather than through serde's derive so that
//! every error names its field (`actor.id: required`) and unknown fields are refused instead of
//! being silently dropped.

use std::net::IpAddr;
use std::str::FromStr;

use chrono::{DateTime, Timelike, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::event::{Actor, ActorKind, Change, Event, Kind, Outcome, Principal, Severity, Target};

/// Largest accepted event, as compact JSON.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;
/// Most events in one batch.
pub const MAX_BATCH_EVENTS: usize = 1000;
/// Largest accepted request body.
pub const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;
/// Longest identifier-like string (ids, action, section, types).
pub const MAX_NAME: usize = 256;
/// Largest `source_seq`: 2⁵³ − 1, the largest whole number a JSON reader in JavaScript (the
/// console, most senders) keeps exact.
pub const MAX_SOURCE_SEQ: u64 = (1 << 53) - 1;

/// A field that is wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// Dotted path of the field, e.g. `actor.id` or `changes[2].field`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
    /// It is over a size limit (rather than malformed).
    pub too_large: bool,
}

impl FieldError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
            too_large: false,
        }
    }

    fn over_limit(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            too_large: true,
            ..Self::new(field, message)
        }
    }
}

type Result<T> = std::result::Result<T, FieldError>;

/// Validates one event. `new_id` supplies the id when the sender gave none.
pub fn event_from_json(value: &Value, new_id: impl FnOnce() -> Uuid) -> Result<Event> {
    let obj = value.as_object().ok_or_else(|| {
        FieldError::new(
            "event",
            format!("expected an object, got {}", type_name(value)),
        )
    })?;
    let size = serde_json::to_vec(value)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_EVENT_BYTES {
        return Err(FieldError::over_limit(
            "event",
            format!("{size} bytes is over the limit of {MAX_EVENT_BYTES} bytes per event"),
        ));
    }
    const FIELDS: &[&str] = &[
        "id",
        "occurred_at",
        "actor",
        "on_behalf_of",
        "action",
        "kind",
        "section",
        "severity",
        "outcome",
        "target",
        "changes",
        "ip",
        "user_agent",
        "session_id",
        "request_id",
        "correlation_id",
        "reason",
        "details",
        "source_seq",
        "stream",
    ];
    if obj.contains_key("sender") {
        return Err(FieldError::new(
            "sender",
            "set by the store (the name of the ingest key that sent the event): leave it out",
        ));
    }
    reject_unknown(obj, "", FIELDS)?;
    let source_seq = present(obj, "source_seq").map(source_seq).transpose()?;
    let stream = present(obj, "stream")
        .map(|v| ident(v, "stream"))
        .transpose()?;
    if stream.is_some() && source_seq.is_none() {
        return Err(FieldError::new(
            "stream",
            "names the numbering of source_seq: send it with a source_seq",
        ));
    }
    let id = match present(obj, "id") {
        None => new_id(),
        Some(v) => {
            let s = v
                .as_str()
                .ok_or_else(|| expected("id", "a UUID string", v))?;
            Uuid::parse_str(s).map_err(|_| FieldError::new("id", format!("{s:?} is not a UUID")))?
        }
    };
    Ok(Event {
        id,
        occurred_at: timestamp(required(obj, "", "occurred_at")?, "occurred_at")?,
        actor: actor(required(obj, "", "actor")?)?,
        on_behalf_of: present(obj, "on_behalf_of").map(principal).transpose()?,
        action: action(required(obj, "", "action")?)?,
        kind: choice(required(obj, "", "kind")?, "kind")?,
        section: name(required(obj, "", "section")?, "section")?,
        severity: present(obj, "severity")
            .map(|v| choice(v, "severity"))
            .transpose()?
            .unwrap_or_default(),
        outcome: present(obj, "outcome")
            .map(|v| choice(v, "outcome"))
            .transpose()?
            .unwrap_or_default(),
        target: present(obj, "target").map(target).transpose()?,
        changes: present(obj, "changes").map(changes).transpose()?,
        ip: present(obj, "ip").map(ip).transpose()?,
        user_agent: optional_text(obj, "user_agent")?,
        session_id: optional_text(obj, "session_id")?,
        request_id: optional_text(obj, "request_id")?,
        correlation_id: present(obj, "correlation_id")
            .map(|v| ident(v, "correlation_id"))
            .transpose()?,
        reason: optional_text(obj, "reason")?,
        details: present(obj, "details")
            .map(|v| {
                v.as_object()
                    .cloned()
                    .ok_or_else(|| expected("details", "an object", v))
            })
            .transpose()?,
        source_seq,
        stream,
        sender: None,
    })
}

/// Parses a request body (one event or an array of them) straight into events, without the
/// `Value` tree that [`event_from_json`] works on: `None` when anything is not plainly valid,
/// for the caller to take the careful path, which names the field. Whatever this accepts,
/// [`event_from_json`] accepts too and gives the same event (tests compare the two on
/// hand-written, hostile and demo batches).
pub fn fast_batch(bytes: &[u8], mut new_id: impl FnMut() -> Uuid) -> Option<Vec<Event>> {
    let texts = split_events(bytes)?;
    if texts.is_empty() || texts.len() > MAX_BATCH_EVENTS {
        return None;
    }
    texts
        .into_iter()
        .map(|text| fast_event(text, &mut new_id))
        .collect()
}

/// Deepest nesting the fast path takes (serde_json refuses beyond 128, counting the batch's
/// array): anything deeper goes the careful way, which decides.
const FAST_DEPTH: usize = 64;

/// The text of each event of a body (one object, or an array of objects), found by following
/// its strings and brackets; `None` if it is not that shape or an event nests deeper than
/// [`FAST_DEPTH`]. Each text is then parsed whole and strictly, so a body cut wrongly here
/// fails there and goes the careful way.
fn split_events(bytes: &[u8]) -> Option<Vec<&str>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let b = text.as_bytes();
    let skip_ws = |mut i: usize| {
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
        }
        i
    };
    // The end (exclusive) of the object that starts at `i`.
    let object_end = |i: usize| -> Option<usize> {
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        for (j, &c) in b.iter().enumerate().skip(i) {
            if in_string {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_string = false,
                    _ => {}
                }
                continue;
            }
            match c {
                b'"' => in_string = true,
                b'{' | b'[' => {
                    depth += 1;
                    if depth > FAST_DEPTH {
                        return None;
                    }
                }
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(j + 1);
                    }
                }
                _ => {}
            }
        }
        None
    };
    let start = skip_ws(0);
    let mut events = Vec::new();
    let end = match b.get(start)? {
        b'{' => {
            let end = object_end(start)?;
            events.push(&text[start..end]);
            end
        }
        b'[' => {
            let mut i = skip_ws(start + 1);
            if b.get(i) == Some(&b']') {
                return Some(events);
            }
            loop {
                if b.get(i) != Some(&b'{') {
                    return None;
                }
                let end = object_end(i)?;
                events.push(&text[i..end]);
                if events.len() > MAX_BATCH_EVENTS {
                    return None;
                }
                i = skip_ws(end);
                match b.get(i)? {
                    b',' => i = skip_ws(i + 1),
                    b']' => break i + 1,
                    _ => return None,
                }
            }
        }
        _ => return None,
    };
    (skip_ws(end) == b.len()).then_some(events)
}

/// A struct read only from a JSON object: serde's derive also reads a struct from an array,
/// field by field, which the careful path refuses.
struct Obj<T>(T);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Obj<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct OnlyMap<T>(std::marker::PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for OnlyMap<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<Obj<T>, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Obj)
            }
        }
        d.deserialize_map(OnlyMap(std::marker::PhantomData))
    }
}

/// One event as the sender wrote it: every field optional here (what is required is checked
/// after), unknown and repeated fields refused.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    occurred_at: Option<String>,
    #[serde(default)]
    actor: Option<Obj<WireActor>>,
    #[serde(default)]
    on_behalf_of: Option<Obj<WirePrincipal>>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    section: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    target: Option<Obj<WireTarget>>,
    #[serde(default)]
    changes: Option<Vec<Obj<WireChange>>>,
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    user_agent: Option<String>,
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    correlation_id: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    /// Read as any value and then required to be an object, exactly as the careful path does.
    #[serde(default)]
    details: Option<crate::json::Plain>,
    #[serde(default)]
    source_seq: Option<u64>,
    #[serde(default)]
    stream: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WirePrincipal {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WireActor {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    kind: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WireTarget {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WireChange {
    #[serde(default)]
    field: Option<String>,
    #[serde(default, deserialize_with = "crate::json::value")]
    before: Value,
    #[serde(default, deserialize_with = "crate::json::value")]
    after: Value,
}

/// A name-like string as [`ident`] accepts it.
fn fast_ident(s: &str) -> bool {
    !s.trim().is_empty() && (s.len() <= MAX_NAME || s.chars().count() <= MAX_NAME)
}

fn fast_event(raw: &str, new_id: &mut impl FnMut() -> Uuid) -> Option<Event> {
    // Compact JSON is never longer than the text it was parsed from (numbers keep their text):
    // an event this short is within the limit without writing it out again.
    if raw.len() > MAX_EVENT_BYTES {
        return None;
    }
    let Obj(w): Obj<Wire> = serde_json::from_str(raw).ok()?;
    let id = match w.id {
        None => new_id(),
        Some(s) => Uuid::parse_str(&s).ok()?,
    };
    let occurred_at = time_text(&w.occurred_at?, "occurred_at").ok()?;
    let Obj(actor) = w.actor?;
    let actor_id = actor.id.filter(|s| fast_ident(s))?;
    let action = w
        .action
        .filter(|s| fast_ident(s) && s.split('.').all(is_name))?;
    let section = w.section.filter(|s| fast_ident(s) && is_name(s))?;
    let target = match w.target {
        None => None,
        Some(Obj(t)) => Some(Target {
            kind: t.kind.filter(|s| fast_ident(s) && is_name(s))?,
            id: t.id.filter(|s| fast_ident(s))?,
            name: t.name,
        }),
    };
    let changes = match w.changes {
        None => None,
        Some(items) => Some(
            items
                .into_iter()
                .map(|Obj(c)| {
                    Some(Change {
                        field: c.field.filter(|s| fast_ident(s))?,
                        before: c.before,
                        after: c.after,
                    })
                })
                .collect::<Option<Vec<_>>>()?,
        ),
    };
    let details = match w.details {
        None | Some(crate::json::Plain(Value::Null)) => None,
        Some(crate::json::Plain(Value::Object(map))) => Some(map),
        Some(_) => return None,
    };
    let on_behalf_of = match w.on_behalf_of {
        None => None,
        Some(Obj(p)) => Some(Principal {
            kind: match p.kind {
                None => None,
                Some(k) => Some(k).filter(|s| fast_ident(s) && is_name(s))?.into(),
            },
            id: p.id.filter(|s| fast_ident(s))?,
            name: p.name,
        }),
    };
    let source_seq = match w.source_seq {
        None => None,
        Some(n) => Some(n).filter(|n| *n <= MAX_SOURCE_SEQ)?.into(),
    };
    let stream = match w.stream {
        None => None,
        Some(s) => Some(s)
            .filter(|s| fast_ident(s) && source_seq.is_some())?
            .into(),
    };
    let correlation_id = match w.correlation_id {
        None => None,
        Some(s) => Some(s).filter(|s| fast_ident(s))?.into(),
    };
    Some(Event {
        id,
        occurred_at,
        actor: Actor {
            id: actor_id,
            name: actor.name,
            role: actor.role,
            kind: match actor.kind {
                None => None,
                Some(k) => Some(k.parse().ok()?),
            },
        },
        action,
        kind: w.kind?.parse().ok()?,
        section,
        severity: match w.severity {
            None => Severity::default(),
            Some(s) => s.parse().ok()?,
        },
        outcome: match w.outcome {
            None => Outcome::default(),
            Some(s) => s.parse().ok()?,
        },
        target,
        changes,
        ip: match w.ip {
            None => None,
            Some(s) => Some(s.parse().ok()?),
        },
        on_behalf_of,
        user_agent: w.user_agent,
        session_id: w.session_id,
        request_id: w.request_id,
        correlation_id,
        reason: w.reason,
        details,
        source_seq,
        stream,
        sender: None,
    })
}

/// A field that is present and not null.
fn present<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn required<'a>(obj: &'a Map<String, Value>, prefix: &str, key: &str) -> Result<&'a Value> {
    present(obj, key).ok_or_else(|| FieldError::new(format!("{prefix}{key}"), "required"))
}

fn reject_unknown(obj: &Map<String, Value>, prefix: &str, known: &[&str]) -> Result<()> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(FieldError::new(
            format!("{prefix}{k}"),
            format!("unknown field (expected one of: {})", known.join(", ")),
        )),
        None => Ok(()),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn expected(field: &str, what: &str, got: &Value) -> FieldError {
    FieldError::new(field, format!("expected {what}, got {}", type_name(got)))
}

fn text<'a>(v: &'a Value, field: &str) -> Result<&'a str> {
    v.as_str().ok_or_else(|| expected(field, "a string", v))
}

fn optional_text(obj: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    present(obj, key)
        .map(|v| text(v, key).map(str::to_owned))
        .transpose()
}

/// A non-empty identifier-like string of bounded length.
fn ident(v: &Value, field: &str) -> Result<String> {
    let s = text(v, field)?;
    if s.trim().is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if s.chars().count() > MAX_NAME {
        return Err(FieldError::new(
            field,
            format!("longer than {MAX_NAME} characters"),
        ));
    }
    Ok(s.to_owned())
}

/// Whether `s` is a section's (or any lowercase name's) form: lowercase letters, digits, `_` or
/// `-`, starting with a letter.
pub fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '-'))
}

fn name(v: &Value, field: &str) -> Result<String> {
    let s = ident(v, field)?;
    if !is_name(&s) {
        return Err(FieldError::new(
            field,
            format!("{s:?} must be lowercase letters, digits, '_' or '-', starting with a letter"),
        ));
    }
    Ok(s)
}

fn action(v: &Value) -> Result<String> {
    let s = ident(v, "action")?;
    if !s.split('.').all(is_name) {
        return Err(FieldError::new(
            "action",
            format!("{s:?} must be a lowercase dotted verb such as player.balance.adjust"),
        ));
    }
    Ok(s)
}

fn choice<T: FromStr + ChoiceList>(v: &Value, field: &str) -> Result<T> {
    let s = text(v, field)?;
    s.parse()
        .map_err(|_| FieldError::new(field, format!("{s:?} is not one of: {}", T::list())))
}

/// The accepted values of an enum, for messages.
trait ChoiceList {
    fn list() -> String;
}

macro_rules! choice_list {
    ($($t:ty),*) => {$(impl ChoiceList for $t { fn list() -> String { <$t>::choices() } })*};
}
choice_list!(Kind, Severity, Outcome, ActorKind);

/// RFC 3339 with an offset; stored in UTC with microseconds.
pub fn timestamp(v: &Value, field: &str) -> Result<DateTime<Utc>> {
    time_text(text(v, field)?, field)
}

/// [`timestamp`] of the text itself.
fn time_text(s: &str, field: &str) -> Result<DateTime<Utc>> {
    let t = DateTime::parse_from_rfc3339(s).map_err(|_| {
        FieldError::new(
            field,
            format!(
                "{s:?} is not an RFC 3339 time with an offset, e.g. 2026-11-26T14:03:07.123456Z"
            ),
        )
    })?;
    if t.nanosecond() % 1000 != 0 {
        return Err(FieldError::new(
            field,
            format!("{s:?} is more precise than microseconds"),
        ));
    }
    let utc = t.with_timezone(&Utc);
    if !(1970..=9999).contains(&chrono::Datelike::year(&utc)) {
        return Err(FieldError::new(
            field,
            format!("{s:?} is outside the years 1970 to 9999"),
        ));
    }
    Ok(utc)
}

fn actor(v: &Value) -> Result<Actor> {
    let obj = v
        .as_object()
        .ok_or_else(|| expected("actor", "an object", v))?;
    reject_unknown(obj, "actor.", &["id", "name", "role", "kind"])?;
    Ok(Actor {
        id: ident(required(obj, "actor.", "id")?, "actor.id")?,
        name: present(obj, "name")
            .map(|v| text(v, "actor.name").map(str::to_owned))
            .transpose()?,
        role: present(obj, "role")
            .map(|v| text(v, "actor.role").map(str::to_owned))
            .transpose()?,
        kind: present(obj, "kind")
            .map(|v| choice(v, "actor.kind"))
            .transpose()?,
    })
}

fn principal(v: &Value) -> Result<Principal> {
    let obj = v
        .as_object()
        .ok_or_else(|| expected("on_behalf_of", "an object", v))?;
    reject_unknown(obj, "on_behalf_of.", &["type", "id", "name"])?;
    Ok(Principal {
        kind: present(obj, "type")
            .map(|v| name(v, "on_behalf_of.type"))
            .transpose()?,
        id: ident(required(obj, "on_behalf_of.", "id")?, "on_behalf_of.id")?,
        name: present(obj, "name")
            .map(|v| text(v, "on_behalf_of.name").map(str::to_owned))
            .transpose()?,
    })
}

/// A sender's number for an event: a whole number from 0 to [`MAX_SOURCE_SEQ`].
fn source_seq(v: &Value) -> Result<u64> {
    let Value::Number(n) = v else {
        return Err(expected("source_seq", "a whole number", v));
    };
    if let Some(n) = n.as_u64().filter(|n| *n <= MAX_SOURCE_SEQ) {
        return Ok(n);
    }
    let text = n.to_string();
    let why = if text.starts_with('-') {
        "must be 0 or more"
    } else if n.as_u64().is_some() || text.bytes().all(|b| b.is_ascii_digit()) {
        "is over the largest source_seq, 9007199254740991 (2⁵³ − 1, the largest whole number \
         JavaScript keeps exact)"
    } else {
        "must be a whole number (no fraction or exponent)"
    };
    Err(FieldError::new("source_seq", format!("{text} {why}")))
}

fn target(v: &Value) -> Result<Target> {
    let obj = v
        .as_object()
        .ok_or_else(|| expected("target", "an object", v))?;
    reject_unknown(obj, "target.", &["type", "id", "name"])?;
    Ok(Target {
        kind: name(required(obj, "target.", "type")?, "target.type")?,
        id: ident(required(obj, "target.", "id")?, "target.id")?,
        name: present(obj, "name")
            .map(|v| text(v, "target.name").map(str::to_owned))
            .transpose()?,
    })
}

fn changes(v: &Value) -> Result<Vec<Change>> {
    let items = v
        .as_array()
        .ok_or_else(|| expected("changes", "an array", v))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let at = format!("changes[{i}]");
            let obj = item
                .as_object()
                .ok_or_else(|| expected(&at, "an object", item))?;
            reject_unknown(obj, &format!("{at}."), &["field", "before", "after"])?;
            Ok(Change {
                field: ident(
                    required(obj, &format!("{at}."), "field")?,
                    &format!("{at}.field"),
                )?,
                before: obj.get("before").cloned().unwrap_or(Value::Null),
                after: obj.get("after").cloned().unwrap_or(Value::Null),
            })
        })
        .collect()
}

fn ip(v: &Value) -> Result<IpAddr> {
    let s = text(v, "ip")?;
    s.parse()
        .map_err(|_| FieldError::new("ip", format!("{s:?} is not an IPv4 or IPv6 address")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: Value) -> Result<Event> {
        event_from_json(&v, Uuid::nil)
    }

    fn minimal() -> Value {
        json!({"occurred_at": "2026-11-26T10:00:00.123456+01:00", "actor": {"id": "alice"},
               "action": "bonus.create", "kind": "create", "section": "bonuses"})
    }

    #[test]
    fn minimal_event_gets_defaults_and_utc() {
        let e = check(minimal()).unwrap();
        assert_eq!(e.severity, Severity::Info);
        assert_eq!(e.outcome, Outcome::Success);
        assert_eq!(
            crate::event::micros::format(&e.occurred_at),
            "2026-11-26T09:00:00.123456Z"
        );
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            ("actor", json!({"name": "x"}), "actor.id: required"),
            (
                "kind",
                json!("edit"),
                "kind: \"edit\" is not one of: change, create, delete, rights, access",
            ),
            (
                "occurred_at",
                json!("2026-11-26 10:00"),
                "occurred_at: \"2026-11-26 10:00\" is not an RFC 3339",
            ),
            (
                "occurred_at",
                json!("2026-11-26T10:00:00.123456789Z"),
                "more precise than microseconds",
            ),
            (
                "action",
                json!("Bonus.Create"),
                "action: \"Bonus.Create\" must be a lowercase dotted verb",
            ),
            ("ip", json!("300.1.1.1"), "ip: \"300.1.1.1\" is not an IPv4"),
            (
                "changes",
                json!([{"before": 1}]),
                "changes[0].field: required",
            ),
            (
                "target",
                json!({"type": "player", "id": 5}),
                "target.id: expected a string, got a number",
            ),
            ("colour", json!("red"), "colour: unknown field"),
            ("source_seq", json!(-3), "source_seq: -3 must be 0 or more"),
            (
                "source_seq",
                json!(1.5),
                "source_seq: 1.5 must be a whole number (no fraction or exponent)",
            ),
            (
                "source_seq",
                json!("12"),
                "source_seq: expected a whole number, got a string",
            ),
            (
                "source_seq",
                json!(9_007_199_254_740_992u64),
                "source_seq: 9007199254740992 is over the largest source_seq, 9007199254740991",
            ),
            (
                "correlation_id",
                json!("c".repeat(MAX_NAME + 1)),
                "correlation_id: longer than 256 characters",
            ),
            (
                "correlation_id",
                json!(" "),
                "correlation_id: must not be empty",
            ),
            (
                "on_behalf_of",
                json!({"type": "player"}),
                "on_behalf_of.id: required",
            ),
            (
                "on_behalf_of",
                json!({"id": "1", "type": "Player"}),
                "on_behalf_of.type: \"Player\" must be lowercase",
            ),
            (
                "on_behalf_of",
                json!("12345"),
                "on_behalf_of: expected an object",
            ),
            (
                "stream",
                json!("night"),
                "stream: names the numbering of source_seq",
            ),
        ];
        for (key, value, want) in cases {
            let mut v = minimal();
            v[key] = value;
            let err = check(v).unwrap_err().to_string();
            assert!(
                err.starts_with(want) || err.ends_with(want),
                "{key}: got {err:?}, want {want:?}"
            );
        }
    }

    #[test]
    fn oversize_event_names_the_limit() {
        let mut v = minimal();
        v["reason"] = json!("x".repeat(MAX_EVENT_BYTES));
        let err = check(v).unwrap_err();
        assert!(err.message.contains("65536 bytes"), "{err}");
    }

    /// The careful path's answer for a body of one event or an array (ids absent get nil).
    fn careful(body: &str) -> std::result::Result<Vec<Event>, FieldError> {
        match serde_json::from_str::<Value>(body).expect("valid JSON") {
            Value::Array(items) => items
                .iter()
                .map(|v| event_from_json(v, Uuid::nil))
                .collect(),
            v => event_from_json(&v, Uuid::nil).map(|e| vec![e]),
        }
    }

    #[test]
    fn the_fast_path_gives_what_the_careful_path_gives() {
        let full = r#"{"id": "0190d6a4-7a1e-7c3b-9d4e-5f6a7b8c9d0e",
            "occurred_at": "2026-11-26T10:00:00.123456+01:00",
            "actor": {"id": "élodie\u0040casino", "name": "Élodie \"E\" Martin", "role": "ops", "kind": "staff"},
            "action": "player.balance.adjust", "kind": "change", "section": "finance",
            "severity": "critical", "outcome": "denied",
            "target": {"type": "player", "id": "123", "name": "مرحبا 🎰"},
            "changes": [{"field": "balance", "before": 1e5, "after": -0},
                        {"field": "note", "before": null},
                        {"field": "big", "after": 123456789012345678901234567890.50}],
            "ip": "2001:db8::1", "user_agent": "Mozilla\/5.0\nline", "session_id": "s",
            "request_id": null, "reason": "=HYPERLINK(\"x\")",
            "details": {"b": 1, "a": {"z": [1, "2", null], "y": true}, "b": 2.0},
            "on_behalf_of": {"type": "player", "id": "12345", "name": "זואי 🎰"},
            "correlation_id": "wd-7", "source_seq": 9007199254740991, "stream": "node 2"}"#;
        let minimal = r#"{"occurred_at":"2026-11-26T09:00:00Z","actor":{"id":"a"},"action":"x","kind":"create","section":"s"}"#;
        let nulls = r#"{"id":null,"occurred_at":"2026-11-26T09:00:00Z","actor":{"id":"a","kind":null},"action":"x","kind":"create","section":"s","target":null,"changes":[],"ip":null,"details":{}}"#;
        for body in [
            full.to_owned(),
            minimal.to_owned(),
            nulls.to_owned(),
            format!("[{full}, {minimal}, {nulls}]"),
            format!(" \n[{minimal}]"),
        ] {
            let fast = fast_batch(body.as_bytes(), Uuid::nil).expect("plainly valid");
            assert_eq!(fast, careful(&body).unwrap(), "{body}");
            // Byte-exact: the stored fields are what the careful path stores, text for text.
            assert_eq!(
                serde_json::to_string(&fast).unwrap(),
                serde_json::to_string(&careful(&body).unwrap()).unwrap()
            );
        }
        // Accepted by the careful path but not plainly: a field given twice (the last counts).
        let twice = r#"{"occurred_at":"2026-11-26T09:00:00Z","actor":{"id":"a"},"action":"x","kind":"create","section":"s","reason":"one","reason":"two"}"#;
        assert!(fast_batch(twice.as_bytes(), Uuid::nil).is_none());
        assert_eq!(careful(twice).unwrap()[0].reason.as_deref(), Some("two"));
        // Everything wrong is left to the careful path, which names it.
        let long = "n".repeat(MAX_NAME + 1);
        let wrong = [
            minimal.replace(r#""section":"s""#, r#""section":"s","colour":"red""#),
            minimal.replace("create", "edit"),
            minimal.replace(r#""action":"x""#, r#""action":" ""#),
            minimal.replace(r#""action":"x""#, r#""action":"X.y""#),
            minimal.replace(r#""section":"s""#, &format!(r#""section":"{long}""#)),
            minimal.replace(
                r#""id":"a""#,
                &format!(r#""id":"{}""#, "é".repeat(MAX_NAME + 1)),
            ),
            minimal.replace(r#""section":"s""#, r#""section":"s","ip":"300.1.1.1""#),
            minimal.replace("09:00:00Z", "09:00:00.123456789Z"),
            minimal.replace("2026-11-26T09:00:00Z", "0999-11-26T09:00:00Z"),
            minimal.replace(r#""actor":{"id":"a"}"#, r#""actor":null"#),
            minimal.replace(r#""section":"s""#, r#""section":"s","details":[1]"#),
            minimal.replace(
                r#""section":"s""#,
                r#""section":"s","changes":[{"before":1}]"#,
            ),
            minimal.replace(
                r#""section":"s""#,
                r#""section":"s","target":{"type":"Player","id":"1"}"#,
            ),
            minimal.replace(r#""section":"s""#, r#""section":"s","id":"not-a-uuid""#),
            minimal.replace(
                r#""section":"s""#,
                &format!(
                    r#""section":"s","reason":"{}""#,
                    "x".repeat(MAX_EVENT_BYTES)
                ),
            ),
            minimal.replace(r#""section":"s""#, r#""section":"s","source_seq":-1"#),
            minimal.replace(r#""section":"s""#, r#""section":"s","source_seq":2.0"#),
            minimal.replace(
                r#""section":"s""#,
                r#""section":"s","source_seq":9007199254740992"#,
            ),
            minimal.replace(r#""section":"s""#, r#""section":"s","stream":"a""#),
            minimal.replace(
                r#""section":"s""#,
                &format!(r#""section":"s","correlation_id":"{long}""#),
            ),
            minimal.replace(
                r#""section":"s""#,
                r#""section":"s","on_behalf_of":{"name":"x"}"#,
            ),
            minimal.replace(
                r#""section":"s""#,
                r#""section":"s","on_behalf_of":{"id":"1","type":"A b"}"#,
            ),
            "[]".to_owned(),
            format!("[{}]", vec![minimal; MAX_BATCH_EVENTS + 1].join(",")),
            "42".to_owned(),
            format!("[{minimal}, 1]"),
            // serde's derive reads a struct from an array too; the careful path does not.
            r#"[[null,"2026-11-26T09:00:00Z",["a"],"x","create","s"]]"#.to_owned(),
            minimal.replace(r#"{"id":"a"}"#, r#"["a"]"#),
            minimal.replace(
                r#""section":"s""#,
                r#""section":"s","target":["player","1"]"#,
            ),
            minimal.replace(r#""section":"s""#, r#""section":"s","changes":[["f",1,2]]"#),
            // serde_json's private key for a number is a number to the careful path.
            minimal.replace(
                r#""section":"s""#,
                r#""section":"s","details":{"$serde_json::private::Number":"5"}"#,
            ),
            // Malformed around the events: a missing comma, trailing text, a byte-order mark.
            format!("[{minimal} {minimal}]"),
            format!("[{minimal}] x"),
            format!("{minimal},"),
            format!("\u{feff}{minimal}"),
            // Nested deeper than the fast path goes: the careful path decides.
            minimal.replace(
                r#""section":"s""#,
                &format!(
                    r#""section":"s","details":{{"a":{}1{}}}"#,
                    "[".repeat(FAST_DEPTH),
                    "]".repeat(FAST_DEPTH)
                ),
            ),
        ];
        for body in wrong {
            assert!(
                fast_batch(body.as_bytes(), Uuid::nil).is_none(),
                "{body:.200}"
            );
        }
        // Brackets and quotes inside strings do not confuse where an event ends.
        let tricky = minimal.replace(
            r#""section":"s""#,
            r#""section":"s","reason":"}]\"{[\\","details":{"k]":"{"}"#,
        );
        let body = format!("[{tricky},{minimal}]");
        assert_eq!(
            fast_batch(body.as_bytes(), Uuid::nil).unwrap(),
            careful(&body).unwrap()
        );
        // Nested as deep as the fast path goes: the same on both paths.
        let deep = minimal.replace(
            r#""section":"s""#,
            &format!(
                r#""section":"s","details":{{"a":{}1{}}}"#,
                "[".repeat(FAST_DEPTH - 2),
                "]".repeat(FAST_DEPTH - 2)
            ),
        );
        assert_eq!(
            fast_batch(deep.as_bytes(), Uuid::nil).unwrap(),
            careful(&deep).unwrap()
        );
        // A name of 256 characters of two bytes each is within the limit on both paths.
        let wide = minimal.replace(
            r#""id":"a""#,
            &format!(r#""id":"{}""#, "é".repeat(MAX_NAME)),
        );
        assert_eq!(
            fast_batch(wide.as_bytes(), Uuid::nil).unwrap(),
            careful(&wide).unwrap()
        );
    }
}
