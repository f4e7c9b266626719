//! A [`vigil_core::Query`] as a tantivy query over the index's fields.

use std::ops::Bound;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, InvertedIndexRangeQuery, Occur, PhraseQuery, Query,
    RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Searcher, Term};
use vigil_core::query::{day_start, ActionPattern, TargetPattern, Term as Q};

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

/// Entries whose occurred_at is within the bounds.
pub fn time_range(f: &Fields, from: Bound<i64>, to: Bound<i64>) -> Boxed {
    let t = |b: Bound<i64>| b.map(|v| Term::from_field_i64(f.time, v));
    Box::new(RangeQuery::new(t(from), t(to)))
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// What a query is compiled against: the fields, the time zone of dates without an offset, and
/// the searcher whose term dictionaries expand prefixes and address ranges.
pub struct Compiler<'a> {
    pub fields: &'a Fields,
    pub tz: &'a FixedOffset,
    pub searcher: &'a Searcher,
}

/// Prefixes and ranges with at most this many distinct terms become a union of their terms
/// (lazy, seekable); wider ones a set of documents built per segment.
const MAX_EXPANDED: usize = 128;

/// Compiles a query.
pub fn compile(c: &Compiler, q: &vigil_core::Query) -> Boxed {
    compile_clauses(c, q.clauses.iter())
}

/// Compiles a query without its positive top-level `after:` and `before:` clauses: the caller
/// applies [`vigil_core::Query::bounds`] itself (the index is sorted by time, so a time range is
/// a range of documents).
pub fn compile_within_bounds(c: &Compiler, q: &vigil_core::Query) -> Boxed {
    compile_clauses(
        c,
        q.clauses
            .iter()
            .filter(|cl| cl.negated || !matches!(cl.term, Q::After(_) | Q::Before(_))),
    )
}

fn compile_clauses<'q>(
    c: &Compiler,
    clauses: impl Iterator<Item = &'q vigil_core::query::Clause>,
) -> Boxed {
    // The positive `after:` and `before:` of one query are one time range (a role's scope
    // read in UTC has them inside its union): two ranges of the same column intersected make
    // tantivy's range document sets seek backwards.
    let (mut from, mut to) = (i64::MIN, i64::MAX);
    let mut bounded = false;
    let mut compiled: Vec<(Occur, Boxed)> = Vec::new();
    for cl in clauses {
        match &cl.term {
            Q::After(b) if !cl.negated => {
                from = from.max(micros(b.instant(c.tz)));
                bounded = true;
            }
            Q::Before(b) if !cl.negated => {
                to = to.min(micros(b.instant(c.tz)));
                bounded = true;
            }
            term => compiled.push((
                if cl.negated {
                    Occur::MustNot
                } else {
                    Occur::Must
                },
                clause(c, term),
            )),
        }
    }
    if bounded {
        let range = if from >= to {
            Box::new(EmptyQuery) as Boxed
        } else {
            time_range(
                c.fields,
                if from == i64::MIN {
                    Bound::Unbounded
                } else {
                    Bound::Included(from)
                },
                if to == i64::MAX {
                    Bound::Unbounded
                } else {
                    Bound::Excluded(to)
                },
            )
        };
        compiled.push((Occur::Must, range));
    }
    let mut clauses = compiled;
    if !clauses.iter().any(|(o, _)| *o == Occur::Must) {
        clauses.push((Occur::Must, Box::new(AllQuery)));
    }
    Box::new(BooleanQuery::new(clauses))
}

/// The terms of `field` within the bounds, over every segment: a union of term queries when
/// there are few, else an inverted-index range (a document set per segment). Never a scan of a
/// column: that costs a pass over every document.
fn term_range(
    c: &Compiler,
    field: Field,
    from: Bound<&Term>,
    to: Bound<&Term>,
    make: impl Fn(&[u8]) -> Option<Term>,
) -> Boxed {
    let bytes = |b: Bound<&Term>| b.map(|t| t.serialized_value_bytes().to_vec());
    let (lo, hi) = (bytes(from), bytes(to));
    let mut found = std::collections::BTreeSet::new();
    for segment in c.searcher.segment_readers() {
        // A dictionary that cannot be read: the range query reads it again when it runs, and
        // fails the search with the error rather than leave the segment out.
        let range_query = || Box::new(InvertedIndexRangeQuery::new(from.cloned(), to.cloned()));
        let Ok(index) = segment.inverted_index(field) else {
            return range_query();
        };
        let mut range = index.terms().range();
        range = match &lo {
            Bound::Included(v) => range.ge(v),
            Bound::Excluded(v) => range.gt(v),
            Bound::Unbounded => range,
        };
        range = match &hi {
            Bound::Included(v) => range.le(v),
            Bound::Excluded(v) => range.lt(v),
            Bound::Unbounded => range,
        };
        let Ok(mut stream) = range.into_stream() else {
            return range_query();
        };
        while stream.advance() {
            found.insert(stream.key().to_vec());
            if found.len() > MAX_EXPANDED {
                return range_query();
            }
        }
    }
    let terms: Vec<Boxed> = found
        .iter()
        .filter_map(|k| make(k))
        .map(|t| Box::new(TermQuery::new(t, IndexRecordOption::Basic)) as Boxed)
        .collect();
    if terms.is_empty() {
        return Box::new(EmptyQuery);
    }
    any(terms)
}

fn clause(c: &Compiler, t: &Q) -> Boxed {
    let (f, tz) = (c.fields, c.tz);
    let strings = |field: Field, vs: &[String]| any(vs.iter().map(|v| term(field, v)).collect());
    match t {
        // The actor, or the account the actor acted as.
        Q::Actor(v) => any(v
            .iter()
            .flat_map(|v| [term(f.actor, v), term(f.behalf, v)])
            .collect()),
        Q::Behalf(v) => strings(f.behalf, v),
        Q::Request(v) => strings(f.request, v),
        Q::Correlation(v) => strings(f.correlation, v),
        Q::Section(v) => strings(f.section, v),
        Q::Sender(v) => strings(f.sender, v),
        Q::Kind(v) => any(v.iter().map(|k| term(f.kind, k.as_str())).collect()),
        Q::Severity(v) => any(v.iter().map(|k| term(f.severity, k.as_str())).collect()),
        Q::Outcome(v) => any(v.iter().map(|k| term(f.outcome, k.as_str())).collect()),
        Q::Action(v) => any(v
            .iter()
            .map(|p| match p {
                ActionPattern::Exact(a) => term(f.action, a),
                ActionPattern::Prefix(a) => term_range(
                    c,
                    f.action,
                    Bound::Included(&Term::from_field_text(f.action, a)),
                    Bound::Excluded(&Term::from_field_text(
                        f.action,
                        &format!("{a}{}", char::MAX),
                    )),
                    |k| {
                        std::str::from_utf8(k)
                            .ok()
                            .map(|v| Term::from_field_text(f.action, v))
                    },
                ),
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
                term_range(
                    c,
                    f.ip,
                    Bound::Included(&ip(n.network())),
                    Bound::Included(&ip(n.broadcast())),
                    |k| {
                        let k: [u8; 16] = k.try_into().ok()?;
                        Some(Term::from_field_ip_addr(
                            f.ip,
                            std::net::Ipv6Addr::from(u128::from_be_bytes(k)),
                        ))
                    },
                )
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
        Q::Any(queries) => any(queries.iter().map(|q| compile(c, q)).collect()),
        Q::Mark(v) => strings(f.mark, v),
        Q::Incident(v) => strings(f.incident, v),
        Q::Has(v) => any(v.iter().map(|h| term(f.has, h.as_str())).collect()),
        Q::Text {
            text, as_masked, ..
        } => {
            let words = vigil_core::text::tokens(text);
            let found = full_text(f, &words);
            if !*as_masked {
                return found;
            }
            // As a reader of masked entries sees them: not where a word is one that only
            // personal fields hold.
            Box::new(BooleanQuery::new(vec![
                (Occur::Must, found),
                (
                    Occur::MustNot,
                    any(words.iter().map(|w| term(f.hidden, w)).collect()),
                ),
            ]))
        }
    }
}

/// The entries whose full text holds the words, in this order when there are several.
fn full_text(f: &Fields, words: &[String]) -> Boxed {
    if words.len() == 1 {
        return Box::new(TermQuery::new(
            Term::from_field_text(f.text, &words[0]),
            IndexRecordOption::Basic,
        ));
    }
    let terms = words
        .iter()
        .map(|w| Term::from_field_text(f.text, w))
        .collect();
    Box::new(PhraseQuery::new(terms))
}
