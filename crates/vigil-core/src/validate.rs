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

use crate::event::{Actor, ActorKind, Change, Event, Kind, Outcome, Severity, Target};

/// Largest accepted event, as compact JSON.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;
/// Most events in one batch.
pub const MAX_BATCH_EVENTS: usize = 1000;
/// Largest accepted request body.
pub const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;
/// Longest identifier-like string (ids, action, section, types).
const MAX_NAME: usize = 256;

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
        "reason",
        "details",
    ];
    reject_unknown(obj, "", FIELDS)?;
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
        reason: optional_text(obj, "reason")?,
        details: present(obj, "details")
            .map(|v| {
                v.as_object()
                    .cloned()
                    .ok_or_else(|| expected("details", "an object", v))
            })
            .transpose()?,
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

/// Lowercase letters, digits, `_` and `-`, starting with a letter.
fn is_name(s: &str) -> bool {
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
    let s = text(v, field)?;
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
}
