//! The ingest body, as `POST /v1/events` reads it: any bytes. Neither path panics; whatever the
//! fast path accepts, the careful path (the one that names the field) accepts as the same
//! events; every accepted event has a canonical encoding that is one JSON value, and comes back
//! from its own JSON unchanged (what goes in comes out byte-exact).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use vigil_core::validate::{event_from_json, fast_batch};
use vigil_core::Event;

fn careful(bytes: &[u8]) -> Option<Vec<Event>> {
    let vigil_core::json::Plain(value) = serde_json::from_slice(bytes).ok()?;
    let fixed = || uuid::Uuid::from_u128(7);
    match &value {
        Value::Array(items) => items
            .iter()
            .map(|v| event_from_json(v, fixed).ok())
            .collect(),
        Value::Object(_) => event_from_json(&value, fixed).ok().map(|e| vec![e]),
        _ => None,
    }
}

fuzz_target!(|bytes: &[u8]| {
    let fast = fast_batch(bytes, || uuid::Uuid::from_u128(7));
    let slow = careful(bytes);
    if let Some(fast) = &fast {
        assert_eq!(Some(fast), slow.as_ref(), "the careful path gives what the fast one did");
    }
    let received = chrono::DateTime::from_timestamp_micros(1_790_000_000_000_000).unwrap();
    for e in slow.iter().flatten() {
        let canonical = vigil_core::chain::canonical(e, 1, &received);
        serde_json::from_slice::<serde::de::IgnoredAny>(&canonical)
            .expect("the canonical encoding is one JSON value");
        let text = serde_json::to_vec(e).unwrap();
        let vigil_core::json::Plain(again) = serde_json::from_slice(&text).unwrap();
        let back = event_from_json(&again, || unreachable!("the id is kept")).unwrap();
        assert_eq!(&back, e, "an event comes back from its own JSON unchanged");
    }
});
