//! [`Query`] → plain words, one line per clause, for readers who do not know the query language
//! (the "About" of an export, a rule's summary).

use chrono::{FixedOffset, SecondsFormat};

use super::{ActionPattern, Clause, Query, TargetPattern, Term, TimeBound};

impl Query {
    /// One line per clause, in the order written; times are shown in `tz` and in UTC.
    /// The empty query is described as "every entry".
    ///
    /// ```
    /// use vigil_core::Query;
    /// let q: Query = "section:finance,bonuses -outcome:denied action:bonus.*".parse().unwrap();
    /// let tz = chrono::FixedOffset::east_opt(0).unwrap();
    /// assert_eq!(q.describe(&tz), [
    ///     "section is finance or bonuses",
    ///     "outcome is not denied",
    ///     "action starts with \"bonus.\"",
    /// ]);
    /// ```
    pub fn describe(&self, tz: &FixedOffset) -> Vec<String> {
        if self.clauses.is_empty() {
            return vec!["every entry".into()];
        }
        self.clauses.iter().map(|c| clause(c, tz)).collect()
    }
}

/// "is alice", "is alice or bob"; negated: "is not alice", "is neither alice nor bob",
/// "is none of alice, bob, carol".
fn is_one_of(negated: bool, values: Vec<String>) -> String {
    match (negated, values.len()) {
        (false, _) => format!("is {}", values.join(" or ")),
        (true, 0 | 1) => format!("is not {}", values.join("")),
        (true, 2) => format!("is neither {} nor {}", values[0], values[1]),
        (true, _) => format!("is none of {}", values.join(", ")),
    }
}

fn clause(c: &Clause, tz: &FixedOffset) -> String {
    let is = |values: Vec<String>| is_one_of(c.negated, values);
    let either = |values: Vec<String>| values.join(" or ");
    match &c.term {
        Term::Actor(v) => format!("actor {}", is(v.clone())),
        Term::Behalf(v) if c.negated => format!("not acting as {}", v.join(" nor ")),
        Term::Behalf(v) => format!("acting as {}", either(v.clone())),
        Term::Request(v) => format!("request {}", is(v.clone())),
        Term::Correlation(v) => format!("action (correlation) {}", is(v.clone())),
        Term::Section(v) => format!("section {}", is(v.clone())),
        Term::Sender(v) => format!("sent by {}", is(v.clone())),
        Term::Mark(v) if c.negated => format!("not marked {}", v.join(" nor ")),
        Term::Mark(v) => format!("marked {}", either(v.clone())),
        Term::Incident(v) if c.negated => format!("not in incident {}", v.join(" nor ")),
        Term::Incident(v) => format!("in incident {}", either(v.clone())),
        Term::Kind(_) | Term::Severity(_) | Term::Outcome(_) => format!(
            "{} {}",
            c.term.qualifier().unwrap_or_default(),
            is(c.term.values())
        ),
        Term::Action(v) => {
            let each = v.iter().map(|a| match a {
                ActionPattern::Exact(s) => format!("is {s}"),
                ActionPattern::Prefix(s) => format!("starts with {s:?}"),
            });
            let text = each.collect::<Vec<_>>().join(" or ");
            if c.negated {
                format!("action: none that {text}")
            } else {
                format!("action {text}")
            }
        }
        Term::Target(v) => {
            let each = v.iter().map(|t| match t {
                TargetPattern::Exact { kind, id } => format!("{kind} {id}"),
                TargetPattern::Type(kind) => format!("any {kind}"),
                TargetPattern::Id(id) => format!("id {id}"),
            });
            format!("target {}", is(each.collect()))
        }
        Term::Ip(v) => {
            let nets = v.iter().map(|n| {
                if n.prefix_len() == n.max_prefix_len() {
                    n.addr().to_string()
                } else {
                    format!("in {n}")
                }
            });
            format!("IP {}", is(nets.collect()))
        }
        Term::After(t) => time_clause(c.negated, "at or after", "before", t, tz),
        Term::Before(t) => time_clause(c.negated, "before", "at or after", t, tz),
        Term::On(days) => {
            let list = days.iter().map(|d| d.to_string()).collect::<Vec<_>>();
            let on = if c.negated { "not on" } else { "on" };
            format!("occurred {on} {} ({tz})", list.join(" or "))
        }
        Term::Has(_) => {
            let has = if c.negated { "has no" } else { "has" };
            format!("{has} {}", either(c.term.values()))
        }
        Term::Text { text, .. } => {
            let verb = if c.negated {
                "does not contain"
            } else {
                "contains"
            };
            format!("text {verb} {text:?}")
        }
        Term::Any(queries) => {
            let each = queries
                .iter()
                .map(|q| format!("({})", q.describe(tz).join("; ")))
                .collect::<Vec<_>>()
                .join(" or ");
            let within = if c.negated { "outside" } else { "within" };
            format!("{within} the scope {each}")
        }
    }
}

fn time_clause(
    negated: bool,
    word: &str,
    opposite: &str,
    t: &TimeBound,
    tz: &FixedOffset,
) -> String {
    let at = t.instant(tz);
    let local = at
        .with_timezone(tz)
        .to_rfc3339_opts(SecondsFormat::AutoSi, false);
    let utc = at.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    let word = if negated { opposite } else { word };
    format!("occurred {word} {local} ({utc})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(q: &str, tz_hours: i32) -> Vec<String> {
        let tz = FixedOffset::east_opt(tz_hours * 3600).unwrap();
        q.parse::<Query>().unwrap().describe(&tz)
    }

    #[test]
    fn every_clause_reads_as_words() {
        assert_eq!(words("", 0), ["every entry"]);
        assert_eq!(
            words(
                r#"actor:alice,bob kind:rights -severity:info target:player/42,game/* ip:10.0.0.0/8 ip:1.2.3.4 "manual bonus" -refund"#,
                0
            ),
            [
                "actor is alice or bob",
                "kind is rights",
                "severity is not info",
                "target is player 42 or any game",
                "IP is in 10.0.0.0/8",
                "IP is 1.2.3.4",
                "text contains \"manual bonus\"",
                "text does not contain \"refund\"",
            ]
        );
        assert_eq!(
            words("mark:suspicious -mark:reviewed has:comment -has:mark", 0),
            [
                "marked suspicious",
                "not marked reviewed",
                "has comment",
                "has no mark"
            ]
        );
    }

    #[test]
    fn negated_lists_read_as_none_of_them() {
        assert_eq!(
            words("-section:finance,bonuses -actor:a,b,c -kind:rights", 0),
            [
                "section is neither finance nor bonuses",
                "actor is none of a, b, c",
                "kind is not rights",
            ]
        );
    }

    #[test]
    fn times_are_shown_in_the_zone_and_in_utc() {
        assert_eq!(
            words("after:2026-11-01 before:2026-11-02T10:30", 1),
            [
                "occurred at or after 2026-11-01T00:00:00+01:00 (2026-10-31T23:00:00Z)",
                "occurred before 2026-11-02T10:30:00+01:00 (2026-11-02T09:30:00Z)",
            ]
        );
        assert_eq!(
            words("-after:2026-11-01 on:2026-11-05", 0),
            [
                "occurred before 2026-11-01T00:00:00+00:00 (2026-11-01T00:00:00Z)",
                "occurred on 2026-11-05 (+00:00)",
            ]
        );
    }
}
