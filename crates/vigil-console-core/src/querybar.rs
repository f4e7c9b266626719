//! The filter bar's view of a query: a flat list of clauses that controls can edit, converted
//! to and from the query text by vigil-core's parser (one language, one parser).

use serde::{Deserialize, Serialize};
use vigil_core::query::{quote, quote_if_needed, Query, QueryError, Term};

/// One clause as the filter bar edits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BarClause {
    /// The qualifier (`actor`, `after`, …) or `text`.
    pub key: String,
    /// Written with a leading `-`.
    #[serde(default)]
    pub negated: bool,
    /// The OR-ed values; for text, one entry: the words.
    pub values: Vec<String>,
    /// Text only: written as a "quoted phrase".
    #[serde(default)]
    pub quoted: bool,
}

/// The clauses of a query text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parsed {
    /// In the order written.
    pub clauses: Vec<BarClause>,
}

/// Parses query text into clauses; a syntax error carries its column.
pub fn parse(q: &str) -> Result<Parsed, QueryError> {
    let query: Query = q.parse()?;
    let clauses = query
        .clauses
        .iter()
        .map(|c| BarClause {
            key: c.term.qualifier().unwrap_or("text").to_owned(),
            negated: c.negated,
            values: c.term.values(),
            quoted: matches!(c.term, Term::Text { quoted: true, .. }),
        })
        .collect();
    Ok(Parsed { clauses })
}

/// Writes clauses as query text, then checks that it parses (so a bad value typed in a control
/// is reported with its column like any query error). Clauses without values are left out.
pub fn print(clauses: &[BarClause]) -> Result<String, QueryError> {
    let mut parts = Vec::new();
    for c in clauses {
        let values: Vec<&str> = c
            .values
            .iter()
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .collect();
        if values.is_empty() {
            continue;
        }
        let sign = if c.negated { "-" } else { "" };
        let body = if c.key == "text" {
            let text = values.join(" ");
            if c.quoted || c.negated {
                quote(&text)
            } else {
                // Words typed as text stay text: `actor:bob` typed in the text box is quoted,
                // not turned into a qualifier.
                text.split_whitespace()
                    .map(quote_if_needed)
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        } else {
            let list: Vec<String> = values.iter().map(|v| value_text(v)).collect();
            format!("{}:{}", c.key, list.join(","))
        };
        parts.push(format!("{sign}{body}"));
    }
    let text = parts.join(" ");
    text.parse::<Query>()?;
    Ok(text)
}

/// A qualifier's value as written: bare when the parser reads it back unchanged (times keep
/// their colons: `after:2026-11-27T08:00`), quoted otherwise.
fn value_text(v: &str) -> String {
    let plain = !v.is_empty()
        && !v
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, ',' | '"' | '\\'));
    if plain {
        v.to_owned()
    } else {
        quote_if_needed(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_clauses_round_trip() {
        let q = r#"actor:k.morel,"j doe" section:bonuses -outcome:denied after:2026-11-20T08:00 "manual bonus" refund"#;
        let parsed = parse(q).unwrap();
        assert_eq!(parsed.clauses.len(), 6);
        assert_eq!(parsed.clauses[0].values, ["k.morel", "j doe"]);
        assert!(parsed.clauses[2].negated);
        assert_eq!(parsed.clauses[4].key, "text");
        assert!(parsed.clauses[4].quoted);
        assert_eq!(print(&parsed.clauses).unwrap(), q);
    }

    #[test]
    fn a_bad_control_value_is_a_query_error_with_its_column() {
        let clauses = vec![
            BarClause {
                key: "section".into(),
                negated: false,
                values: vec!["finance".into()],
                quoted: false,
            },
            BarClause {
                key: "severity".into(),
                negated: false,
                values: vec!["loud".into()],
                quoted: false,
            },
        ];
        let e = print(&clauses).unwrap_err();
        assert_eq!(e.column, 26, "{e:?}");
        assert!(e.to_string().contains("severity:"), "{e}");
    }

    #[test]
    fn text_typed_in_the_text_box_stays_text() {
        let clauses = vec![BarClause {
            key: "text".into(),
            negated: false,
            values: vec!["actor:bob  refund -chargeback".into()],
            quoted: false,
        }];
        let text = print(&clauses).unwrap();
        assert_eq!(text, r#""actor:bob" refund "-chargeback""#);
        let back = parse(&text).unwrap();
        assert!(back.clauses.iter().all(|c| c.key == "text" && !c.negated));
    }

    #[test]
    fn empty_controls_are_left_out_and_odd_values_quoted() {
        let clauses = vec![
            BarClause {
                key: "actor".into(),
                negated: false,
                values: vec!["".into()],
                quoted: false,
            },
            BarClause {
                key: "target".into(),
                negated: false,
                values: vec!["player/31 2".into()],
                quoted: false,
            },
            BarClause {
                key: "text".into(),
                negated: true,
                values: vec!["=SUM(A1) \"x\"".into()],
                quoted: false,
            },
        ];
        let text = print(&clauses).unwrap();
        assert_eq!(text, r#"target:"player/31 2" -"=SUM(A1) \"x\"""#);
        assert_eq!(parse(&text).unwrap().clauses[1].values, ["=SUM(A1) \"x\""]);
    }
}
