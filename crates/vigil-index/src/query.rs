//! A [`vigil_core::Query`] as a tantivy query over the index's fields.

use std::ops::Bound;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use tantivy::query::{AllQuery, BooleanQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::Term;
use vigil_core::query::{day_start, ActionPattern, TargetPattern, Term as Q};
use vigil_store::{Cursor, Order};

use crate::schema::{ipv6, Fields};

type Boxed = Box<dyn Query>;

fn term(field: Field, value: &str) -> Boxed {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}

/// Any of the queries (a single one stays as it is).
fn any(mut queries: Vec<Boxed>) -> Boxed {
    if queries.len() == 1 {
        return queries.remove(0);
    }
    Box::new(BooleanQuery::new(
        queries.into_iter().map(|q| (Occur::Should, q)).collect(),
    ))
}

fn all_of(queries: Vec<Boxed>) -> Boxed {
    Box::new(BooleanQuery::new(
        queries.into_iter().map(|q| (Occur::Must, q)).collect(),
    ))
}

/// Entries whose occurred_at is within the bounds.
pub fn time_range(f: &Fields, from: Bound<i64>, to: Bound<i64>) -> Boxed {
    let t = |b: Bound<i64>| b.map(|v| Term::from_field_i64(f.time, v));
    Box::new(RangeQuery::new(t(from), t(to)))
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// Compiles a query; dates without an offset are read in `tz`.
pub fn compile(f: &Fields, q: &vigil_core::Query, tz: &FixedOffset) -> Boxed {
    let mut clauses: Vec<(Occur, Boxed)> = q
        .clauses
        .iter()
        .map(|c| {
            (
                if c.negated {
                    Occur::MustNot
                } else {
                    Occur::Must
                },
                clause(f, &c.term, tz),
            )
        })
        .collect();
    if !clauses.iter().any(|(o, _)| *o == Occur::Must) {
        clauses.push((Occur::Must, Box::new(AllQuery)));
    }
    Box::new(BooleanQuery::new(clauses))
}

/// Entries strictly after the cursor in the given order.
pub fn after_cursor(f: &Fields, c: Cursor, order: Order) -> Boxed {
    let seq = |b: Bound<u64>| b.map(|v| Term::from_field_u64(f.seq, v));
    let (time, seq_range) = match order {
        Order::Newest => (
            time_range(f, Bound::Unbounded, Bound::Excluded(c.occurred_at)),
            RangeQuery::new(seq(Bound::Unbounded), seq(Bound::Excluded(c.seq))),
        ),
        Order::Oldest => (
            time_range(f, Bound::Excluded(c.occurred_at), Bound::Unbounded),
            RangeQuery::new(seq(Bound::Excluded(c.seq)), seq(Bound::Unbounded)),
        ),
    };
    let same_time = time_range(
        f,
        Bound::Included(c.occurred_at),
        Bound::Included(c.occurred_at),
    );
    any(vec![time, all_of(vec![same_time, Box::new(seq_range)])])
}

fn clause(f: &Fields, t: &Q, tz: &FixedOffset) -> Boxed {
    let strings = |field: Field, vs: &[String]| any(vs.iter().map(|v| term(field, v)).collect());
    match t {
        Q::Actor(v) => strings(f.actor, v),
        Q::Section(v) => strings(f.section, v),
        Q::Kind(v) => any(v.iter().map(|k| term(f.kind, k.as_str())).collect()),
        Q::Severity(v) => any(v.iter().map(|k| term(f.severity, k.as_str())).collect()),
        Q::Outcome(v) => any(v.iter().map(|k| term(f.outcome, k.as_str())).collect()),
        Q::Action(v) => any(v
            .iter()
            .map(|p| match p {
                ActionPattern::Exact(a) => term(f.action, a),
                ActionPattern::Prefix(a) => Box::new(RangeQuery::new(
                    Bound::Included(Term::from_field_text(f.action, a)),
                    Bound::Excluded(Term::from_field_text(
                        f.action,
                        &format!("{a}{}", char::MAX),
                    )),
                )) as Boxed,
            })
            .collect()),
        Q::Target(v) => any(v
            .iter()
            .map(|p| match p {
                TargetPattern::Exact { kind, id } => term(f.target, &format!("{kind}/{id}")),
                TargetPattern::Type(kind) => term(f.target_type, kind),
                TargetPattern::Id(id) => term(f.target_id, id),
            })
            .collect()),
        Q::Ip(nets) => any(nets
            .iter()
            .map(|n| {
                let ip = |a| Term::from_field_ip_addr(f.ip, ipv6(a));
                Box::new(RangeQuery::new(
                    Bound::Included(ip(n.network())),
                    Bound::Included(ip(n.broadcast())),
                )) as Boxed
            })
            .collect()),
        Q::After(b) => time_range(f, Bound::Included(micros(b.instant(tz))), Bound::Unbounded),
        Q::Before(b) => time_range(f, Bound::Unbounded, Bound::Excluded(micros(b.instant(tz)))),
        Q::On(days) => any(days
            .iter()
            .map(|d| {
                let (from, to) = (day_start(tz, *d), day_start(tz, *d + Duration::days(1)));
                time_range(
                    f,
                    Bound::Included(micros(from)),
                    Bound::Excluded(micros(to)),
                )
            })
            .collect()),
        Q::Any(queries) => any(queries.iter().map(|q| compile(f, q, tz)).collect()),
        Q::Mark(v) => strings(f.mark, v),
        Q::Incident(v) => strings(f.incident, v),
        Q::Has(v) => any(v.iter().map(|h| term(f.has, h.as_str())).collect()),
        Q::Text { text, .. } => {
            let words = vigil_core::text::tokens(text);
            if words.len() == 1 {
                Box::new(TermQuery::new(
                    Term::from_field_text(f.text, &words[0]),
                    IndexRecordOption::Basic,
                ))
            } else {
                let terms = words
                    .iter()
                    .map(|w| Term::from_field_text(f.text, w))
                    .collect();
                Box::new(PhraseQuery::new(terms))
            }
        }
    }
}
