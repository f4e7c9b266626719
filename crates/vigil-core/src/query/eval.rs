//! Evaluating a [`Query`] against one event in memory: the live tail, alert rules and the
//! console's offline cache use this, and the store's conformance suite checks every backend
//! against it.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::{local_start, ActionPattern, Has, Query, TargetPattern, Term};
use crate::annotation::AnnotationSummary;
use crate::event::Event;
use crate::text;

/// The time range a query pins down, if any: `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bounds {
    /// Inclusive lower bound.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound.
    pub to: Option<DateTime<Utc>>,
}

impl Query {
    /// Whether the event matches, reading dates and times without an offset in `tz`, for an
    /// entry without annotations (`mark:`, `incident:`, `has:comment` and `has:mark` do not
    /// match): new entries, as the live tail and alert rules see them.
    pub fn matches<Tz: TimeZone>(&self, e: &Event, tz: &Tz) -> bool {
        self.matches_annotated(e, &AnnotationSummary::default(), tz)
    }

    /// Whether the entry matches with what its annotations and incidents add: marks, comments
    /// (full-text searches each comment on its own, as well as the event) and incidents.
    pub fn matches_annotated<Tz: TimeZone>(
        &self,
        e: &Event,
        summary: &AnnotationSummary,
        tz: &Tz,
    ) -> bool {
        self.matches_seen(e, e, summary, tz)
    }

    /// [`Self::matches_annotated`], with full-text terms marked `as_masked` matched against
    /// `seen` (the entry masked as their reader sees it) and everything else against `e`.
    pub fn matches_seen<Tz: TimeZone>(
        &self,
        e: &Event,
        seen: &Event,
        summary: &AnnotationSummary,
        tz: &Tz,
    ) -> bool {
        let mut words: Option<Vec<String>> = None;
        let mut seen_words: Option<Vec<String>> = None;
        self.clauses.iter().all(|c| {
            let hit = match &c.term {
                Term::Text {
                    text: t, as_masked, ..
                } => {
                    let wanted = text::tokens(t);
                    let doc = if *as_masked {
                        seen_words.get_or_insert_with(|| text::tokens(&text::searchable(seen)))
                    } else {
                        words.get_or_insert_with(|| text::tokens(&text::searchable(e)))
                    };
                    text::contains_phrase(doc, &wanted)
                        || summary
                            .comments
                            .iter()
                            .any(|c| text::contains_phrase(&text::tokens(c), &wanted))
                }
                Term::Mark(v) => v.iter().any(|m| summary.marks.contains(m)),
                Term::Incident(v) => v.iter().any(|i| summary.incidents.contains(i)),
                Term::Any(queries) => queries.iter().any(|q| q.matches_seen(e, seen, summary, tz)),
                Term::Has(v) if v.iter().any(|h| matches!(h, Has::Comment | Has::Mark)) => {
                    v.iter().any(|h| match h {
                        Has::Comment => !summary.comments.is_empty(),
                        Has::Mark => !summary.marks.is_empty(),
                        other => term_matches(&Term::Has(vec![*other]), e, tz),
                    })
                }
                term => term_matches(term, e, tz),
            };
            hit != c.negated
        })
    }

    /// The `[from, to)` range that the non-negated time clauses imply (the tightest one).
    pub fn bounds<Tz: TimeZone>(&self, tz: &Tz) -> Bounds {
        let mut b = Bounds::default();
        for c in self.clauses.iter().filter(|c| !c.negated) {
            let (from, to) = match &c.term {
                Term::After(t) => (Some(t.instant(tz)), None),
                Term::Before(t) => (None, Some(t.instant(tz))),
                Term::On(days) if !days.is_empty() => {
                    let first = days.iter().min().expect("not empty");
                    let last = days.iter().max().expect("not empty");
                    (
                        Some(day_start(tz, *first)),
                        Some(day_start(tz, *last + Duration::days(1))),
                    )
                }
                _ => continue,
            };
            if let Some(f) = from {
                b.from = Some(b.from.map_or(f, |x| x.max(f)));
            }
            if let Some(t) = to {
                b.to = Some(b.to.map_or(t, |x| x.min(t)));
            }
        }
        b
    }
}

/// The start of a day in `tz`, in UTC.
pub fn day_start<Tz: TimeZone>(tz: &Tz, d: chrono::NaiveDate) -> DateTime<Utc> {
    local_start(tz, d.and_hms_opt(0, 0, 0).expect("midnight exists"))
}

fn term_matches<Tz: TimeZone>(term: &Term, e: &Event, tz: &Tz) -> bool {
    match term {
        Term::Actor(v) => {
            v.contains(&e.actor.id) || e.on_behalf_of.as_ref().is_some_and(|p| v.contains(&p.id))
        }
        Term::Behalf(v) => e.on_behalf_of.as_ref().is_some_and(|p| v.contains(&p.id)),
        Term::Request(v) => e.request_id.as_ref().is_some_and(|r| v.contains(r)),
        Term::Correlation(v) => e.correlation_id.as_ref().is_some_and(|c| v.contains(c)),
        Term::Section(v) => v.contains(&e.section),
        Term::Sender(v) => e.sender.as_ref().is_some_and(|s| v.contains(s)),
        Term::Kind(v) => v.contains(&e.kind),
        Term::Severity(v) => v.contains(&e.severity),
        Term::Outcome(v) => v.contains(&e.outcome),
        Term::Action(v) => v.iter().any(|p| match p {
            ActionPattern::Exact(a) => e.action == *a,
            ActionPattern::Prefix(a) => e.action.starts_with(a.as_str()),
        }),
        Term::Target(v) => e.target.as_ref().is_some_and(|t| {
            v.iter().any(|p| match p {
                TargetPattern::Exact { kind, id } => t.kind == *kind && t.id == *id,
                TargetPattern::Type(kind) => t.kind == *kind,
                TargetPattern::Id(id) => t.id == *id,
            })
        }),
        Term::Ip(nets) => {
            e.ip.is_some_and(|ip| nets.iter().any(|n| net_contains(n, ip)))
        }
        Term::After(t) => e.occurred_at >= t.instant(tz),
        Term::Before(t) => e.occurred_at < t.instant(tz),
        Term::On(days) => days.iter().any(|d| {
            e.occurred_at >= day_start(tz, *d)
                && e.occurred_at < day_start(tz, *d + Duration::days(1))
        }),
        Term::Mark(_) | Term::Incident(_) => false,
        Term::Has(v) => v.iter().any(|h| match h {
            Has::Comment | Has::Mark => false,
            Has::Changes => e.changes.as_ref().is_some_and(|c| !c.is_empty()),
            Has::Reason => e.reason.is_some(),
            Has::Target => e.target.is_some(),
            Has::Ip => e.ip.is_some(),
            Has::Details => e.details.is_some(),
            Has::Behalf => e.on_behalf_of.is_some(),
        }),
        Term::Text { .. } | Term::Any(_) => {
            unreachable!("text and unions are matched by the caller, which has the annotations")
        }
    }
}

/// CIDR containment that also matches IPv4 addresses written as IPv4-mapped IPv6 and back.
pub fn net_contains(net: &ipnet::IpNet, ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match (net, ip) {
        (ipnet::IpNet::V4(n), IpAddr::V6(v6)) => {
            v6.to_ipv4_mapped().is_some_and(|v4| n.contains(&v4))
        }
        (ipnet::IpNet::V6(n), IpAddr::V4(v4)) => n.contains(&v4.to_ipv6_mapped()),
        _ => net.contains(&ip),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::event_from_json;

    fn event() -> Event {
        let v = serde_json::json!({
            "occurred_at": "2026-11-05T23:30:00Z", "actor": {"id": "m.dupont", "name": "Marie Dupont"},
            "action": "player.balance.adjust", "kind": "change", "section": "finance",
            "severity": "critical", "target": {"type": "player", "id": "12345", "name": "Élodie"},
            "ip": "203.0.113.7", "reason": "Remboursé à la demande du joueur",
            "changes": [{"field": "balance", "before": 10, "after": 510}]});
        event_from_json(&v, uuid::Uuid::now_v7).unwrap()
    }

    fn hit(q: &str) -> bool {
        q.parse::<Query>().unwrap().matches(&event(), &Utc)
    }

    #[test]
    fn qualifiers_match_their_field() {
        for q in [
            "actor:m.dupont",
            "section:bonuses,finance",
            "kind:change",
            "action:player.*",
            "action:player.balance.adjust",
            "severity:critical",
            "outcome:success",
            "target:player/12345",
            "target:player/*",
            "target:12345",
            "ip:203.0.113.0/24",
            "ip:203.0.113.7",
            "after:2026-11-05",
            "before:2026-11-06",
            "on:2026-11-05",
            "has:changes",
            "-has:comment",
            "rembourse",
            "\"la demande\"",
            "ELODIE",
            "510",
            "-actor:bot",
        ] {
            assert!(hit(q), "{q} should match");
        }
        for q in [
            "actor:dupont",
            "section:bonuses",
            "action:player",
            "action:bonus.*",
            "target:player/1",
            "ip:10.0.0.0/8",
            "after:2026-11-06",
            "before:2026-11-05T23:30:00Z",
            "on:2026-11-06",
            "mark:suspicious",
            "has:comment",
            "\"demande la\"",
            "refund",
            "-severity:critical",
        ] {
            assert!(!hit(q), "{q} should not match");
        }
    }

    #[test]
    fn annotations_count_once_the_entry_has_some() {
        let summary = AnnotationSummary {
            marks: vec!["suspicious".into()],
            comments: vec!["Chargeback review #4411".into(), "vu avec le joueur".into()],
            incidents: vec!["12".into(), "0190a5e0-0000-7000-8000-000000000001".into()],
        };
        let hit = |q: &str| {
            q.parse::<Query>()
                .unwrap()
                .matches_annotated(&event(), &summary, &Utc)
        };
        for q in [
            "mark:suspicious",
            "mark:reviewed,suspicious",
            "has:comment",
            "has:mark",
            "has:ip,mark",
            "chargeback",
            "\"review 4411\"",
            "\"vu avec\" rembourse",
            "incident:12",
            "incident:0190A5E0-0000-7000-8000-000000000001",
            "-mark:reviewed",
        ] {
            assert!(hit(q), "{q} should match");
        }
        for q in [
            "mark:reviewed",
            "-has:comment",
            "-has:mark",
            "\"4411 vu\"",
            "incident:13",
        ] {
            assert!(!hit(q), "{q} should not match");
        }
        assert!("-has:mark"
            .parse::<Query>()
            .unwrap()
            .matches(&event(), &Utc));
    }

    #[test]
    fn dates_follow_the_time_zone() {
        let paris = chrono::FixedOffset::east_opt(3600).unwrap();
        let q: Query = "on:2026-11-06".parse().unwrap();
        assert!(
            q.matches(&event(), &paris),
            "23:30 UTC is 00:30 on the 6th in Paris"
        );
        assert!(!q.matches(&event(), &Utc));
    }

    #[test]
    fn bounds_take_the_tightest_range() {
        let q: Query = "after:2026-11-01 after:2026-11-03 before:2026-11-20 -before:2026-11-02"
            .parse()
            .unwrap();
        let b = q.bounds(&Utc);
        assert_eq!(b.from.unwrap().to_rfc3339(), "2026-11-03T00:00:00+00:00");
        assert_eq!(b.to.unwrap().to_rfc3339(), "2026-11-20T00:00:00+00:00");
    }
}
