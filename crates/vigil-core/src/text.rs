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

/// The searchable text of an event: action, actor, target, reason, changes and details, in that
/// order, separated by newlines. (Comments join it when annotations exist.)
pub fn searchable(e: &Event) -> String {
    let mut out = String::new();
    let mut push = |s: &str| {
        out.push_str(s);
        out.push('\n');
    };
    push(&e.action);
    push(&e.actor.id);
    e.actor.name.as_deref().map(&mut push);
    e.actor.role.as_deref().map(&mut push);
    if let Some(t) = &e.target {
        push(&t.kind);
        push(&t.id);
        t.name.as_deref().map(&mut push);
    }
    e.reason.as_deref().map(&mut push);
    for c in e.changes.iter().flatten() {
        push(&c.field);
        json_text(&c.before, &mut push);
        json_text(&c.after, &mut push);
    }
    if let Some(d) = &e.details {
        for (k, v) in d {
            push(k);
            json_text(v, &mut push);
        }
    }
    out
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
