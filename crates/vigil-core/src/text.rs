//! Full-text: what part of an event is searchable, and how words are folded so that a search is
//! case- and accent-insensitive (`rembourse` finds « remboursé »).
//!
//! The SQLite backend indexes [`searchable`] with FTS5's `unicode61 remove_diacritics 2`
//! tokenizer; [`tokens`] folds the same way so that a query evaluated in memory
//! ([`crate::query::Query::matches`]) agrees with the index.

use serde_json::Value;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::event::Event;

/// Lowercases and strips diacritics: `Remboursé` → `rembourse`.
pub fn fold(s: &str) -> String {
    s.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Splits folded text into words: runs of letters and digits.
pub fn tokens(s: &str) -> Vec<String> {
    fold(s)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The searchable text of an event: action, actor, on whose behalf, target, reason, changes and
/// details, in that
/// order, separated by newlines. (Comments join it when annotations exist.)
pub fn searchable(e: &Event) -> String {
    let mut out = String::new();
    searchable_parts(e, |_, s| {
        out.push_str(s);
        out.push('\n');
    });
    out
}

/// Where a part of the searchable text comes from, for what masking may hide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part<'a> {
    /// Never masked: the action, ids, types, role, field names and detail keys.
    Plain,
    /// `actor.name`.
    ActorName,
    /// `target.name`.
    TargetName,
    /// `on_behalf_of.name`.
    BehalfName,
    /// `reason`.
    Reason,
    /// A before or after value of the change of this field.
    Change(&'a str),
    /// The value of this top-level key of the details.
    Detail(&'a str),
}

/// The parts of [`searchable`], in its order, each with where it comes from.
pub fn searchable_parts<'a>(e: &'a Event, mut push: impl FnMut(Part<'a>, &str)) {
    push(Part::Plain, &e.action);
    push(Part::Plain, &e.actor.id);
    if let Some(name) = &e.actor.name {
        push(Part::ActorName, name);
    }
    if let Some(role) = &e.actor.role {
        push(Part::Plain, role);
    }
    if let Some(p) = &e.on_behalf_of {
        if let Some(kind) = &p.kind {
            push(Part::Plain, kind);
        }
        push(Part::Plain, &p.id);
        if let Some(name) = &p.name {
            push(Part::BehalfName, name);
        }
    }
    if let Some(t) = &e.target {
        push(Part::Plain, &t.kind);
        push(Part::Plain, &t.id);
        if let Some(name) = &t.name {
            push(Part::TargetName, name);
        }
    }
    if let Some(reason) = &e.reason {
        push(Part::Reason, reason);
    }
    for c in e.changes.iter().flatten() {
        push(Part::Plain, &c.field);
        json_text(&c.before, &mut |s| push(Part::Change(&c.field), s));
        json_text(&c.after, &mut |s| push(Part::Change(&c.field), s));
    }
    if let Some(d) = &e.details {
        for (k, v) in d {
            push(Part::Plain, k);
            json_text(v, &mut |s| push(Part::Detail(k), s));
        }
    }
}

/// The words in a JSON value: strings and numbers, and object keys.
fn json_text(v: &Value, push: &mut impl FnMut(&str)) {
    match v {
        Value::String(s) => push(s),
        Value::Number(n) => push(&n.to_string()),
        Value::Array(items) => items.iter().for_each(|i| json_text(i, push)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            push(k);
            json_text(v, push)
        }),
        Value::Bool(_) | Value::Null => {}
    }
}

/// Whether `phrase` (already tokenized) occurs as consecutive words of `doc`.
pub fn contains_phrase(doc: &[String], phrase: &[String]) -> bool {
    !phrase.is_empty() && doc.windows(phrase.len()).any(|w| w == phrase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_and_accents() {
        assert_eq!(
            tokens("Remboursé À LA DEMANDE du joueur"),
            ["rembourse", "a", "la", "demande", "du", "joueur"]
        );
        assert_eq!(
            tokens("bonus.create 🎰 x=1,5"),
            ["bonus", "create", "x", "1", "5"]
        );
    }

    #[test]
    fn phrases_need_consecutive_words() {
        let doc = tokens("manual bonus granted");
        assert!(contains_phrase(&doc, &tokens("Manual Bonus")));
        assert!(!contains_phrase(&doc, &tokens("manual granted")));
    }
}
