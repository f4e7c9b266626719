//! The generator through its public API: validity, determinism, the time window, the documented
//! stories and speed.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Duration, TimeZone, Timelike, Utc};
use vigil_core::validate::event_from_json;
use vigil_core::{Event, Outcome, Query, Severity};
use vigil_demo::{events, Demo};

fn until() -> DateTime<Utc> {
    // Nanoseconds on purpose: the generator must truncate to microseconds.
    Utc.with_ymd_and_hms(2026, 11, 30, 18, 0, 0).unwrap() + Duration::nanoseconds(123_456_789)
}

fn json_lines(events: &[Event]) -> String {
    events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap() + "\n")
        .collect()
}

fn matching<'a>(events: &'a [Event], query: &str) -> Vec<&'a Event> {
    let q: Query = query.parse().unwrap_or_else(|e| panic!("{query}: {e}"));
    events.iter().filter(|e| q.matches(e, &Utc)).collect()
}

#[test]
fn every_event_passes_validation_unchanged() {
    for e in events(5_000, 7, until(), 30) {
        let json = serde_json::to_value(&e).unwrap();
        let back =
            event_from_json(&json, uuid::Uuid::nil).unwrap_or_else(|err| panic!("{err}: {json}"));
        assert_eq!(back, e);
    }
}

#[test]
fn same_arguments_same_bytes() {
    let a = json_lines(&events(3_000, 99, until(), 14));
    let b = json_lines(&events(3_000, 99, until(), 14));
    assert_eq!(a, b);
    assert_ne!(a, json_lines(&events(3_000, 100, until(), 14)));
}

#[test]
fn batches_give_the_same_stream_as_one_call() {
    let whole = events(12_345, 5, until(), 30);
    let mut demo = Demo::new(5, until(), 30, 12_345);
    let mut pieces = Vec::new();
    for size in [1, 7, 0, 333, 1_000].into_iter().cycle() {
        if demo.remaining() == 0 {
            break;
        }
        pieces.extend(demo.take(size));
    }
    assert!(demo.take(10).is_empty());
    assert_eq!(json_lines(&pieces), json_lines(&whole));
}

#[test]
fn exact_count_inside_the_window_oldest_first() {
    let last = until().timestamp_micros();
    for days in [1, 7, 30] {
        for n in [1, 2, 10, 1_999, 2_000, 20_000] {
            let all = events(n, 3, until(), days);
            assert_eq!(all.len(), n, "days {days}");
            let first = last - i64::from(days) * 86_400_000_000;
            for e in &all {
                let t = e.occurred_at.timestamp_micros();
                assert!(
                    first < t && t <= last,
                    "{} outside {days} days (n {n})",
                    e.occurred_at
                );
                assert_eq!(e.occurred_at.nanosecond() % 1_000, 0);
            }
            assert!(
                all.windows(2).all(|w| w[0].occurred_at <= w[1].occurred_at),
                "days {days}, n {n}"
            );
            let ids: HashSet<_> = all.iter().map(|e| e.id).collect();
            assert_eq!(ids.len(), n);
        }
    }
}

#[test]
fn the_routine_looks_like_a_back_office() {
    let all = events(50_000, 11, until(), 30);
    let share =
        |f: &dyn Fn(&Event) -> bool| all.iter().filter(|e| f(e)).count() as f64 / all.len() as f64;
    assert!(share(&|e| e.severity == Severity::Info) > 0.6);
    assert!(share(&|e| e.severity == Severity::Critical) < 0.1);
    assert!(share(&|e| e.outcome == Outcome::Success) > 0.95);
    let office = share(&|e| (8..20).contains(&e.occurred_at.hour()));
    assert!(office > 0.7, "office hours share {office}");
    let actors: HashSet<_> = all.iter().map(|e| e.actor.id.as_str()).collect();
    assert!(actors.len() >= 43, "{} actors", actors.len());
    let sections: BTreeSet<_> = all.iter().map(|e| e.section.as_str()).collect();
    assert_eq!(sections.len(), 8, "{sections:?}");
    let actions: BTreeSet<_> = all.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions.len(), 20, "{actions:?}");
    let players: HashSet<_> = all
        .iter()
        .filter_map(|e| e.target.as_ref())
        .filter(|t| t.kind == "player")
        .map(|t| &t.id)
        .collect();
    assert!(players.len() > 1_000, "{} players", players.len());
}

#[test]
fn balances_carry_over_between_adjustments() {
    let all = events(20_000, 4, until(), 30);
    let mut last_after = std::collections::HashMap::new();
    for e in all.iter().filter(|e| e.action == "player.balance.adjust") {
        let player = &e.target.as_ref().unwrap().id;
        let change = &e.changes.as_ref().unwrap()[0];
        assert!(change
            .before
            .to_string()
            .split('.')
            .nth(1)
            .is_some_and(|d| d.len() == 2));
        if let Some(previous) = last_after.insert(player.clone(), change.after.clone()) {
            assert_eq!(previous, change.before, "player {player}");
        }
    }
}

#[test]
fn the_documented_stories_are_there() {
    let all = events(20_000, 42, until(), 30);

    // 1. Night-time bonuses from an address nobody else uses.
    let bonuses = matching(&all, "actor:k.morel action:bonus.create ip:192.0.2.66");
    assert!(
        (15..=20).contains(&bonuses.len()),
        "{} bonuses",
        bonuses.len()
    );
    let nights: BTreeSet<_> = bonuses.iter().map(|e| e.occurred_at.date_naive()).collect();
    assert_eq!(nights.len(), 5);
    let players: BTreeSet<_> = bonuses
        .iter()
        .map(|e| e.target.as_ref().unwrap().id.as_str())
        .collect();
    assert_eq!(players, BTreeSet::from(["195352", "197050", "312284"]));
    assert!(bonuses
        .iter()
        .all(|e| (1..4).contains(&e.occurred_at.hour()) && e.severity == Severity::Warning));
    assert!(matching(&all, "ip:192.0.2.66")
        .iter()
        .all(|e| e.actor.id == "k.morel"));
    assert!(
        !matching(&all, "actor:k.morel action:bonus.create -ip:192.0.2.66").is_empty(),
        "routine bonuses too"
    );

    // 2. The denied API burst.
    let burst = matching(&all, "action:api.access outcome:denied ip:198.18.7.42");
    assert_eq!(burst.len(), 80);
    let span = burst.last().unwrap().occurred_at - burst[0].occurred_at;
    assert!(span < Duration::minutes(15), "{span}");

    // 3. Admin granted at 03:00, then the new admin loosens settings.
    let grants = matching(
        &all,
        "action:role.grant target:staff/y.amrani actor:s.cohen severity:critical",
    );
    let grant = grants
        .iter()
        .find(|e| e.occurred_at.hour() == 3)
        .expect("the 03:00 grant");
    let settings = matching(&all, "actor:y.amrani action:settings.update");
    assert_eq!(settings.len(), 3);
    assert!(settings.iter().all(|e| e.occurred_at > grant.occurred_at
        && e.occurred_at - grant.occurred_at < Duration::hours(1)));
    assert_eq!(
        matching(&all, "action:settings.update severity:critical").len(),
        3
    );
}

#[test]
fn short_or_small_runs_have_no_stories() {
    for all in [
        events(20_000, 42, until(), 6),
        events(1_999, 42, until(), 30),
    ] {
        assert!(matching(&all, "ip:192.0.2.66").is_empty());
        assert!(matching(&all, "ip:198.18.7.42").is_empty());
    }
}

/// The stories of completeness: a support agent acting as players, one withdrawal under one
/// correlation id, a quiet hour, and numbers lost on two nights.
#[test]
fn the_completeness_stories_are_there() {
    let all = events(20_000, 7, until(), 30);
    // Day −2 is 2026-11-28, day −3 2026-11-27, day −5 2026-11-25.
    let acted = matching(&all, "has:behalf");
    assert_eq!(acted.len(), 8, "five views and three limit raises");
    assert!(acted.iter().all(
        |e| e.actor.id == "k.haddad" && e.occurred_at.date_naive().to_string() == "2026-11-28"
    ));
    assert!(acted
        .iter()
        .all(|e| e.on_behalf_of.as_ref().unwrap().id == e.target.as_ref().unwrap().id));
    assert_eq!(
        matching(&all, "has:behalf action:player.limits.change").len(),
        3
    );

    let flow = matching(&all, "correlation:wd-20261129-000417");
    let steps: Vec<&str> = flow.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        steps,
        [
            "player.kyc.update",
            "player.limits.change",
            "withdrawal.approve",
            "withdrawal.approve"
        ]
    );
    let request = flow[1].request_id.clone().unwrap();
    assert_eq!(matching(&all, &format!("request:{request}")).len(), 2);

    let quiet = matching(&all, "after:2026-11-27T15:00Z before:2026-11-27T16:00Z");
    assert!(quiet.is_empty(), "the back office was down");
    assert!(!matching(&all, "after:2026-11-27T14:00Z before:2026-11-27T15:00Z").is_empty());

    // Numbered 1, 2, 3, … in one stream, but for 5 numbers lost on day −5 at 03:00 and 3 on
    // day −2.
    let mut lost = Vec::new();
    for w in all.windows(2) {
        assert_eq!(w[1].stream.as_deref(), Some(vigil_demo::STREAM));
        let (a, b) = (w[0].source_seq.unwrap(), w[1].source_seq.unwrap());
        if b != a + 1 {
            lost.push((
                w[1].occurred_at.date_naive().to_string(),
                w[1].occurred_at.hour(),
                b - a - 1,
            ));
        }
    }
    assert_eq!(all[0].source_seq, Some(1));
    assert_eq!(
        lost,
        [
            ("2026-11-25".to_owned(), 3, 5),
            ("2026-11-28".to_owned(), 3, 3)
        ]
    );
}
