//! What investigators add to the journal without changing it: annotations (a comment and/or
//! marks on an entry), incidents that gather entries, and the [`AnnotationSummary`] a query
//! sees of an entry's annotations.
//!
//! Everything here is append-only. A correction is a new annotation that names the one it
//! supersedes; a superseded annotation stays in the thread but no longer counts for `mark:`,
//! `has:` or full-text search.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::{micros, StoredEvent};

/// Longest comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 10_000;
/// Most marks on one annotation.
pub const MAX_MARKS: usize = 16;
/// Longest incident title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

/// An annotation as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Annotation {
    /// Chosen by the client (so that a retried post is recognised), else by the server.
    pub id: Uuid,
    /// The annotated entry's id.
    pub entry: Uuid,
    /// Who wrote it (from their session, never from the request).
    pub author: String,
    /// When the author wrote it (on their machine: maybe offline, long before it was received).
    #[serde(with = "micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub written_at: DateTime<Utc>,
    /// When the store received it.
    #[serde(with = "micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub received_at: DateTime<Utc>,
    /// The comment, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Mark keys from the catalog.
    #[serde(default)]
    pub marks: Vec<String>,
    /// The annotation this one corrects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<Uuid>,
    /// The journal entry (section `vigil`, action `annotation.create`) that records it.
    pub journal_seq: u64,
}

/// An incident as a list or an entry shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentRef {
    /// Its id.
    pub id: Uuid,
    /// Its number, given by the store in order of receipt (`incident:12`).
    pub number: u64,
    /// Its title.
    pub title: String,
}

/// What a query sees of an entry's annotations and incidents: the marks and comments of the
/// annotations that no later one supersedes, and the incidents it is pinned to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnnotationSummary {
    /// Mark keys, each once, sorted.
    pub marks: Vec<String>,
    /// Comments, oldest first.
    pub comments: Vec<String>,
    /// The incidents' numbers and ids, as text (both are accepted by `incident:`).
    pub incidents: Vec<String>,
}

impl AnnotationSummary {
    /// The summary of an entry's whole thread (any order) and its incidents.
    pub fn of(annotations: &[Annotation], incidents: &[IncidentRef]) -> AnnotationSummary {
        let superseded: std::collections::HashSet<Uuid> =
            annotations.iter().filter_map(|a| a.supersedes).collect();
        let mut live: Vec<&Annotation> = annotations
            .iter()
            .filter(|a| !superseded.contains(&a.id))
            .collect();
        live.sort_by_key(|a| a.journal_seq);
        let mut marks: Vec<String> = live.iter().flat_map(|a| a.marks.clone()).collect();
        marks.sort();
        marks.dedup();
        AnnotationSummary {
            marks,
            comments: live
                .iter()
                .filter_map(|a| a.comment.clone())
                .filter(|c| !c.trim().is_empty())
                .collect(),
            incidents: incidents
                .iter()
                .flat_map(|i| [i.number.to_string(), i.id.to_string()])
                .collect(),
        }
    }

    /// Nothing to see.
    pub fn is_empty(&self) -> bool {
        self.marks.is_empty() && self.comments.is_empty() && self.incidents.is_empty()
    }
}

/// An entry as the API answers it: the journal's record, its annotations (oldest first) and
/// the incidents it is pinned to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Annotated {
    /// The entry.
    #[serde(flatten)]
    pub entry: StoredEvent,
    /// Its annotations, in order of receipt.
    #[serde(default)]
    pub annotations: Vec<Annotation>,
    /// The incidents it is pinned to.
    #[serde(default)]
    pub incidents: Vec<IncidentRef>,
    /// The fields masked because the reader may not see personal data (`ip`, `target.name`,
    /// `changes.email`, …); absent when nothing was. Whoever reads some entries masked gets
    /// every entry's `hash` empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub masked: Vec<String>,
}

impl Annotated {
    /// An entry with nothing added.
    pub fn bare(entry: StoredEvent) -> Self {
        Annotated {
            entry,
            annotations: Vec::new(),
            incidents: Vec::new(),
            masked: Vec::new(),
        }
    }

    /// What a query sees of its annotations.
    pub fn summary(&self) -> AnnotationSummary {
        AnnotationSummary::of(&self.annotations, &self.incidents)
    }
}

/// A mark key: 1 to 40 of `a-z`, `0-9` and `-`, starting with a letter.
pub fn check_mark_key(key: &str) -> Result<(), String> {
    let ok = (1..=40).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{key:?} is not a mark key: 1 to 40 of a-z, 0-9 and -, starting with a letter"
        ))
    }
}

/// A colour written `#rrggbb`.
pub fn check_colour(colour: &str) -> Result<(), String> {
    let ok = colour.len() == 7
        && colour.starts_with('#')
        && colour[1..].chars().all(|c| c.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(format!("{colour:?} is not a colour written #rrggbb"))
    }
}

/// Checks a comment's length; an empty or blank comment counts as none.
pub fn clean_comment(comment: Option<String>) -> Result<Option<String>, String> {
    match comment {
        Some(c) if c.trim().is_empty() => Ok(None),
        Some(c) => {
            let n = c.chars().count();
            if n > MAX_COMMENT_CHARS {
                Err(format!(
                    "the comment is {n} characters, over the limit of {MAX_COMMENT_CHARS}"
                ))
            } else {
                Ok(Some(c))
            }
        }
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(
        id: u128,
        seq: u64,
        comment: Option<&str>,
        marks: &[&str],
        sup: Option<u128>,
    ) -> Annotation {
        Annotation {
            id: Uuid::from_u128(id),
            entry: Uuid::from_u128(1),
            author: "alice".into(),
            written_at: DateTime::UNIX_EPOCH,
            received_at: DateTime::UNIX_EPOCH,
            comment: comment.map(str::to_owned),
            marks: marks.iter().map(|m| m.to_string()).collect(),
            supersedes: sup.map(Uuid::from_u128),
            journal_seq: seq,
        }
    }

    #[test]
    fn a_correction_replaces_what_it_supersedes() {
        let thread = [
            note(10, 5, Some("looks odd"), &["suspicious"], None),
            note(11, 6, None, &["reviewed"], None),
            note(
                12,
                7,
                Some("player asked, see ticket"),
                &["false-positive"],
                Some(10),
            ),
        ];
        let n = AnnotationSummary::of(&thread, &[]);
        assert_eq!(n.marks, ["false-positive", "reviewed"]);
        assert_eq!(n.comments, ["player asked, see ticket"]);
    }

    #[test]
    fn keys_colours_and_comments_are_checked() {
        assert!(check_mark_key("false-positive").is_ok());
        for bad in ["", "Suspect", "1st", "a b", &"x".repeat(41)] {
            assert!(check_mark_key(bad).is_err(), "{bad:?}");
        }
        assert!(check_colour("#a1B2c3").is_ok());
        assert!(check_colour("red").is_err() && check_colour("#12345").is_err());
        assert_eq!(clean_comment(Some("  \n".into())), Ok(None));
        assert!(clean_comment(Some("é".repeat(MAX_COMMENT_CHARS))).is_ok());
        assert!(clean_comment(Some("é".repeat(MAX_COMMENT_CHARS + 1)))
            .unwrap_err()
            .contains("over the limit of 10000"));
    }
}
