//! Property tests of the query language: printing a query and parsing it back gives the same query.

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use proptest::prelude::*;
use vigil_core::query::{ActionPattern, Clause, Has, Query, TargetPattern, Term, TimeBound};
use vigil_core::{Kind, Outcome, Severity};

/// Free-form values: letters (with accents, RTL and emoji), digits and the characters that need
/// quoting (spaces, quotes, commas, colons, backslashes, a leading '-').
fn value() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9éאب🎰 \",:\\\\._-]{1,12}"
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,8}"
}

fn word() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9éàאب][a-zA-Z0-9éàאב.*_]{0,10}"
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (1970i32..2100, 1u32..=12, 1u32..=28)
        .prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

fn local() -> impl Strategy<Value = NaiveDateTime> {
    (date(), 0u32..24, 0u32..60, 0u32..60, 0u32..1_000_000)
        .prop_map(|(d, h, m, s, us)| d.and_hms_micro_opt(h, m, s, us).unwrap())
}

fn time_bound() -> impl Strategy<Value = TimeBound> {
    prop_oneof![
        date().prop_map(TimeBound::Date),
        local().prop_map(TimeBound::Local),
        (local(), -14i32 * 60..=14 * 60).prop_map(|(t, off): (NaiveDateTime, i32)| {
            let tz = FixedOffset::east_opt(off * 60).unwrap();
            TimeBound::Exact(tz.from_local_datetime(&t).unwrap())
        }),
    ]
}

fn list<T: std::fmt::Debug>(s: impl Strategy<Value = T>) -> impl Strategy<Value = Vec<T>> {
    prop::collection::vec(s, 1..4)
}

fn term() -> impl Strategy<Value = Term> {
    prop_oneof![
        list(value()).prop_map(Term::Actor),
        list(value()).prop_map(Term::Section),
        list(value()).prop_map(Term::Mark),
        // Incident ids are read case-insensitively (kept lowercase).
        list(value().prop_map(|v| v.to_lowercase())).prop_map(Term::Incident),
        list(prop::sample::select(Kind::ALL)).prop_map(Term::Kind),
        list(prop::sample::select(Severity::ALL)).prop_map(Term::Severity),
        list(prop::sample::select(Outcome::ALL)).prop_map(Term::Outcome),
        list(prop::sample::select(Has::ALL)).prop_map(Term::Has),
        list(prop_oneof![
            "[a-z.]{1,12}".prop_map(ActionPattern::Exact),
            "[a-z.]{0,12}".prop_map(ActionPattern::Prefix),
        ])
        .prop_map(Term::Action),
        list(prop_oneof![
            (name(), "[a-zA-Z0-9/ -]{1,8}")
                .prop_map(|(kind, id)| TargetPattern::Exact { kind, id }),
            name().prop_map(TargetPattern::Type),
            "[a-zA-Z0-9 -]{1,8}".prop_map(TargetPattern::Id),
        ])
        .prop_map(Term::Target),
        list(prop_oneof![
            (any::<[u8; 4]>(), 0u8..=32)
                .prop_map(|(a, p)| ipnet::Ipv4Net::new(a.into(), p).unwrap().into()),
            (any::<[u8; 16]>(), 0u8..=128)
                .prop_map(|(a, p)| ipnet::Ipv6Net::new(a.into(), p).unwrap().into()),
        ])
        .prop_map(Term::Ip),
        time_bound().prop_map(Term::After),
        time_bound().prop_map(Term::Before),
        list(date()).prop_map(Term::On),
        word().prop_map(|text| Term::Text {
            as_masked: false,
            text,
            quoted: false
        }),
        value()
            .prop_filter("a phrase needs a letter or digit", |v| {
                !vigil_core::text::tokens(v).is_empty()
            })
            .prop_map(|text| Term::Text {
                text,
                quoted: true,
                as_masked: false,
            }),
    ]
}

fn query() -> impl Strategy<Value = Query> {
    prop::collection::vec((any::<bool>(), term()), 0..6).prop_map(|cs| Query {
        clauses: cs
            .into_iter()
            .map(|(negated, term)| Clause { negated, term })
            .collect(),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn print_then_parse_is_identity(q in query()) {
        let text = q.to_string();
        let back: Query = text.parse().map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(back, q, "printed as {:?}", text);
    }

    #[test]
    fn parsing_never_panics_and_errors_point_inside(s in "\\PC{0,40}") {
        if let Err(e) = s.parse::<Query>() {
            prop_assert!(e.column >= 1 && e.column <= s.chars().count() + 1, "{e} for {s:?}");
        }
    }
}

/// Found by `scripts/fuzz` (query_parser): a bare word holding a comma (or, negated, starting
/// with '-') was printed quoted, and read back as a phrase, so a query round-tripped through the
/// console's filter bar changed meaning (its words anywhere became the words side by side).
#[test]
fn a_bare_word_with_a_comma_or_backslash_stays_bare() {
    for text in [
        "has\0\0\0|nges,reason",
        "a,b",
        "back\\slash",
        "on:2026-11-05 x,y -actor:bot",
        // The second finding: a negated bare word that starts with '-'.
        "o12 --actnus.* sev\0\u{8})it",
        "--x",
    ] {
        let q: Query = text.parse().unwrap();
        let printed = q.to_string();
        assert_eq!(
            printed.parse::<Query>().unwrap(),
            q,
            "{text:?} printed as {printed:?}"
        );
    }
    let q: Query = "a,b".parse().unwrap();
    assert_eq!(q.to_string(), "a,b");
}

/// The third finding: `after:-026-11-01` was read as the year -26, which prints as
/// `-0026-11-01` and no longer parses. Years have four digits.
#[test]
fn a_date_has_a_four_digit_year() {
    for text in [
        "after:-026-11-01",
        "on:+2026-11-01",
        "before:-026-11-01T10:00",
        "after:20260-11-01",
    ] {
        let e = text.parse::<Query>().unwrap_err();
        assert!(e.message.contains("is not a date"), "{text}: {e}");
    }
    assert!("after:0001-01-01 before:9999-12-31T23:59"
        .parse::<Query>()
        .is_ok());
}
