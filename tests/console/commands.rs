//! [`Console`]'s functions, as the commands call them.

use std::time::Duration;

use serde_json::json;
use vigil_console::console::Live;
use vigil_console::Console;

use crate::support::{console, Start, Store, PASSWORD, USER};

#[tokio::test]
async fn sign_in_errors_are_precise() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let c = console(dir.path());
    let code = |r: Result<_, vigil_console::error::UiError>| r.unwrap_err().code;

    assert_eq!(
        code(c.sign_in("localhost:7878", USER, PASSWORD, false).await),
        "bad_url"
    );
    assert_eq!(
        code(c.sign_in("ftp://127.0.0.1", USER, PASSWORD, false).await),
        "bad_url"
    );
    assert_eq!(code(c.sign_in("", USER, PASSWORD, false).await), "bad_url");
    // Something answers HTTP there, but it is not a Vigil store.
    let not_vigil = format!("{}/not/vigil/", store.url);
    let e = c
        .sign_in(&not_vigil, USER, PASSWORD, false)
        .await
        .unwrap_err();
    assert_eq!(e.code, "bad_url");
    assert!(e.message.contains("No Vigil store"), "{e:?}");
    // Nothing listens on port 9.
    let e = c
        .sign_in("http://127.0.0.1:9", USER, PASSWORD, false)
        .await
        .unwrap_err();
    assert_eq!(e.code, "unreachable");
    assert!(e.message.contains("127.0.0.1:9"), "{e:?}");
    let e = c
        .sign_in(&store.url, USER, "wrong password!", false)
        .await
        .unwrap_err();
    assert_eq!(e.code, "bad_credentials");
    assert_eq!(
        code(c.sign_in(&store.url, "", PASSWORD, false).await),
        "bad_credentials"
    );
    // Plain HTTP beyond this machine would send the password in clear: refused before any
    // connection (the addresses below are not reached), unless the person confirms.
    for remote in [
        "http://192.0.2.10:7878",
        "http://[2001:db8::1]:7878",
        "http://vigil.example",
    ] {
        let e = c.sign_in(remote, USER, PASSWORD, false).await.unwrap_err();
        assert_eq!(e.code, "plain_http", "{remote}: {e:?}");
        assert!(e.message.contains("https://"), "{e:?}");
    }
    // Loopback in any spelling is this machine.
    for local in ["http://localhost:9", "http://127.0.0.2:9", "http://[::1]:9"] {
        let e = c.sign_in(local, USER, PASSWORD, false).await.unwrap_err();
        assert_eq!(e.code, "unreachable", "{local}: {e:?}");
    }
    assert_eq!(c.session_status().await.state, "signed_out");
    // Nothing works before signing in, and says so.
    let e = c.search("", None, None, None).await.unwrap_err();
    assert_eq!(e.code, "signed_out");
}

#[tokio::test]
async fn the_next_launch_goes_straight_in_until_the_token_ends() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let first = console(dir.path());
    let s = first
        .sign_in(&store.url, USER, PASSWORD, false)
        .await
        .unwrap();
    assert_eq!(s.state, "signed_in");
    assert_eq!(s.user.as_ref().unwrap().roles, ["auditor"]);
    drop(first);
    // The token is in the keyring (or memory), never in the settings file.
    let settings = std::fs::read_to_string(dir.path().join("console.json")).unwrap();
    assert!(
        !settings.contains("vgl_"),
        "the token must not reach a file: {settings}"
    );

    let second = console(dir.path());
    let status = second.session_status().await;
    if second_has_os_keyring(&status) {
        assert_eq!(status.state, "signed_in", "{status:?}");
        assert_eq!(status.user.unwrap().name, USER);
        second.search("", None, Some(1), None).await.unwrap();
        drop(second);

        // A day later the token has expired: the next launch says why and forgets it.
        store.advance(chrono::Duration::hours(25));
        let third = console(dir.path());
        let status = third.session_status().await;
        assert_eq!(status.state, "signed_out");
        assert!(
            status.reason.as_deref().unwrap().contains("expired"),
            "{status:?}"
        );
        assert_eq!(
            status.last_user.as_deref(),
            Some(USER),
            "the form is prefilled"
        );
        assert_eq!(status.server.as_deref(), Some(store.url.as_str()));
        let again = console(dir.path()).session_status().await;
        assert_eq!(again.reason, None, "the dead token was forgotten");
    } else {
        assert_eq!(
            status.state, "signed_out",
            "memory keeps nothing between launches"
        );
    }
}

fn second_has_os_keyring(s: &vigil_console::console::Session) -> bool {
    s.keyring == "os"
}

#[tokio::test]
async fn a_revoked_session_returns_to_sign_in_and_sign_out_forgets() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let c = console(dir.path());
    c.sign_in(&store.url, USER, PASSWORD, false).await.unwrap();
    c.search("", None, Some(1), None).await.unwrap();

    // The same session, opened by a second launch from the keyring, signs out: that revokes the
    // token on the store, and the first window's next call says the session has ended.
    let second = console(dir.path());
    if second.session_status().await.state != "signed_in" {
        eprintln!("skipped the revocation half: no OS keyring to share the token (run under scripts/with-keyring)");
        return;
    }
    second.sign_out().await.unwrap();
    let e = c.search("", None, Some(1), None).await.unwrap_err();
    assert_eq!(e.code, "signed_out");
    assert_eq!(c.session_status().await.state, "signed_out");

    let s = c.sign_in(&store.url, USER, PASSWORD, false).await.unwrap();
    assert_eq!(s.state, "signed_in");
    let out = c.sign_out().await.unwrap();
    assert_eq!(out.state, "signed_out");
    assert_eq!(out.reason, None);
    let next = console(dir.path()).session_status().await;
    assert_eq!(next.state, "signed_out", "sign out forgets the token");
}

#[tokio::test]
async fn search_timeline_facets_and_detail_follow_the_query() {
    let store = Store::start().await;
    let events = store.demo(3000).await;
    let dir = tempfile::tempdir().unwrap();
    let c = console(dir.path());
    c.sign_in(&store.url, USER, PASSWORD, false).await.unwrap();

    let q = "section:bonuses severity:critical";
    let expected = events
        .iter()
        .filter(|e| e.section == "bonuses" && e.severity.as_str() == "critical")
        .count();
    assert!(expected > 0, "the demo has critical bonuses");
    let t = c.timeline(q, Some(60)).await.unwrap();
    assert_eq!(
        t.buckets.iter().map(|b| b.count).sum::<u64>() as usize,
        expected
    );
    assert_eq!(
        t.buckets.iter().map(|b| b.critical).sum::<u64>() as usize,
        expected
    );

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = c.search(q, cursor, Some(25), None).await.unwrap();
        seen.extend(page.events);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), expected);
    assert!(seen
        .windows(2)
        .all(|w| w[0].stored.event.occurred_at >= w[1].stored.event.occurred_at));

    let f = c.facets(q, "actor", Some(3)).await.unwrap();
    assert!(f.values.len() <= 3);
    let top = &f.values[0];
    let by_top = seen
        .iter()
        .filter(|e| e.stored.event.actor.id == top.value)
        .count();
    assert_eq!(top.count as usize, by_top);

    let one = c.event(&seen[0].stored.event.id.to_string()).await.unwrap();
    // The same entry, numbered as the copy the detail checks (search rows have no number).
    assert!(one.copy.is_some() && seen[0].copy.is_none());
    assert_eq!(vigil_console::console::Entry { copy: None, ..one }, seen[0]);
    assert_eq!(c.event("nope").await.unwrap_err().code, "invalid");
    let missing = uuid::Uuid::now_v7().to_string();
    assert_eq!(c.event(&missing).await.unwrap_err().code, "not_found");

    let e = c
        .search("severity:loud", None, None, None)
        .await
        .unwrap_err();
    assert_eq!((e.code, e.column), ("bad_query", Some(10)));
    // The UI writes "Column 10: " before the message itself.
    assert!(e.message.starts_with("severity: "), "{}", e.message);
    assert_eq!(
        c.search("", None, None, Some("sideways"))
            .await
            .unwrap_err()
            .code,
        "invalid"
    );
}

#[tokio::test]
async fn dates_in_the_query_are_the_users_wall_clock() {
    let store = Store::start().await;
    let now = chrono::Local::now();
    let id = uuid::Uuid::now_v7();
    store
        .ingester
        .ingest(&json!([{
            "id": id, "occurred_at": vigil_core::event::micros::format(&now.to_utc()),
            "actor": {"id": "k.morel"}, "action": "bonus.grant", "kind": "change", "section": "bonuses"
        }]))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let c = console(dir.path());
    c.sign_in(&store.url, USER, PASSWORD, false).await.unwrap();
    // What the filter bar writes for "today" and "the last hour", in local wall-clock time.
    // Vigil's own entries of today (the user, the key, the sign-in, the searches) left out.
    let today = format!("on:{} -section:vigil", now.format("%Y-%m-%d"));
    let last_hour = format!(
        "-section:vigil after:{}",
        (now - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M")
    );
    for q in [today, last_hour] {
        let page = c.search(&q, None, None, None).await.unwrap();
        assert_eq!(page.events.len(), 1, "{q}");
    }
}

#[tokio::test]
async fn pivots_everything_about_a_target_and_around_an_entry() {
    let store = Store::start().await;
    let base = chrono::Utc::now() - chrono::Duration::hours(2);
    let at = |minutes: i64, actor: &str, target: &str| {
        json!({
            "id": uuid::Uuid::now_v7(),
            "occurred_at": vigil_core::event::micros::format(&(base + chrono::Duration::minutes(minutes))),
            "actor": {"id": actor}, "action": "bonus.grant", "kind": "change", "section": "bonuses",
            "target": {"type": "player", "id": target},
        })
    };
    let batch = vec![
        at(0, "k.morel", "312284"), // 0: the entry
        at(-14, "k.morel", "1"),    // 1: same actor, in the window
        at(10, "j.doe", "312284"),  // 2: same target, in the window
        at(-16, "k.morel", "2"),    // 3: same actor, outside
        at(20, "j.doe", "312284"),  // 4: same target, outside
        at(5, "j.doe", "9"),        // 5: neither
        at(-600, "a.b", "312284"),  // 6: same target, long before
    ];
    let ids: Vec<String> = batch
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    store.ingester.ingest(&batch).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let c = console(dir.path());
    c.sign_in(&store.url, USER, PASSWORD, false).await.unwrap();

    let around = c.around(&ids[0]).await.unwrap();
    let got: Vec<String> = around
        .events
        .iter()
        .map(|e| e.stored.event.id.to_string())
        .collect();
    assert_eq!(
        got,
        [ids[1].clone(), ids[0].clone(), ids[2].clone()],
        "oldest first, each once"
    );

    let about = c
        .search("target:player/312284", None, None, Some("oldest"))
        .await
        .unwrap();
    let got: Vec<String> = about
        .events
        .iter()
        .map(|e| e.stored.event.id.to_string())
        .collect();
    assert_eq!(
        got,
        [
            ids[6].clone(),
            ids[0].clone(),
            ids[2].clone(),
            ids[4].clone()
        ]
    );
}

#[tokio::test]
async fn the_live_tail_delivers_new_matching_entries() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let c = console(dir.path());
    c.sign_in(&store.url, USER, PASSWORD, false).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    c.live_start("severity:critical", move |m| tx.send(m).is_ok())
        .unwrap();
    let next = |rx: &mut tokio::sync::mpsc::UnboundedReceiver<Live>| {
        let m = rx.try_recv();
        m.ok()
    };
    let first = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first, Live::Connected);
    let event = |severity: &str| {
        json!({"id": uuid::Uuid::now_v7(), "occurred_at": vigil_core::event::micros::format(&chrono::Utc::now()),
               "actor": {"id": "s.cohen"}, "action": "role.grant", "kind": "rights",
               "section": "staff", "severity": severity})
    };
    store
        .ingester
        .ingest(&json!([event("info"), event("critical")]))
        .await
        .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    match got {
        Live::Event { event } => assert_eq!(event.stored.event.severity.as_str(), "critical"),
        other => panic!("expected an entry, got {other:?}"),
    }
    c.live_stop();
    store
        .ingester
        .ingest(&json!([event("critical")]))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(next(&mut rx), None, "nothing arrives after live_stop");
    assert_eq!(
        c.live_start("severity:", |_| true).unwrap_err().code,
        "bad_query"
    );
}

#[tokio::test]
async fn saved_searches_are_kept_between_launches() {
    let dir = tempfile::tempdir().unwrap();
    let c = console(dir.path());
    assert!(c.saved_searches().is_empty());
    c.save_search("Night bonuses", "section:bonuses after:2026-11-01")
        .unwrap();
    c.save_search("Admin grants", "kind:rights action:role.grant")
        .unwrap();
    let list = c
        .save_search("Night bonuses", "section:bonuses severity:critical")
        .unwrap();
    assert_eq!(
        list.iter()
            .map(|s| (s.name.as_str(), s.q.as_str()))
            .collect::<Vec<_>>(),
        [
            ("Admin grants", "kind:rights action:role.grant"),
            ("Night bonuses", "section:bonuses severity:critical")
        ]
    );
    assert_eq!(c.save_search(" ", "x").unwrap_err().code, "invalid");
    assert_eq!(
        c.save_search("bad", "severity:").unwrap_err().code,
        "bad_query"
    );
    drop(c);
    let again = Console::new(dir.path(), crate::support::vault()).expect("console opens");
    assert_eq!(again.saved_searches().len(), 2);
    assert_eq!(again.delete_search("Admin grants").unwrap().len(), 1);
    assert_eq!(again.saved_searches()[0].name, "Night bonuses");
}

#[tokio::test]
async fn a_damaged_settings_file_is_set_aside_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("console.json"), b"{not json").unwrap();
    let c = console(dir.path());
    assert!(c.saved_searches().is_empty());
    assert!(dir.path().join("console.json.damaged").exists());
    c.save_search("ok", "section:finance").unwrap();
    assert_eq!(console(dir.path()).saved_searches().len(), 1);
}

#[tokio::test]
async fn an_ended_session_ends_the_live_tail_and_the_session() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let c = console(dir.path());
    c.sign_in(&store.url, USER, PASSWORD, false).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    c.live_start("", move |m| tx.send(m).is_ok()).unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first, Live::Connected);
    // A day later the token has expired: the store ends the tail, the reconnect is refused.
    store.advance(chrono::Duration::hours(25));
    let mut codes = Vec::new();
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(8), rx.recv()).await {
        if let Live::Error { code, .. } = m {
            codes.push(code.clone());
            if code == "signed_out" {
                break;
            }
        }
    }
    assert_eq!(
        codes.last().map(String::as_str),
        Some("signed_out"),
        "{codes:?}"
    );
    assert_eq!(c.session_status().await.state, "signed_out");
}

/// `senders`: what the store answers for the auditor (each sender with its numbering's gaps),
/// and its refusal for a reader limited to some entries, passed on with its message.
#[tokio::test]
async fn senders_lists_gaps_for_who_may_see_them() {
    let store = Store::builder()
        .user(USER, &["auditor"])
        .user("admin", &["admin"])
        .start()
        .await;
    let numbered = |n: u64| {
        json!({"occurred_at": "2026-11-20T10:00:00Z", "actor": {"id": "s.vella"},
               "action": "player.view", "kind": "access", "section": "players",
               "source_seq": n, "stream": "bo-1"})
    };
    store
        .ingester
        .ingest(&[numbered(1), numbered(2), numbered(9)])
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let c = console(dir.path());
    c.sign_in(&store.url, USER, PASSWORD, false).await.unwrap();
    let senders = c.senders().await.unwrap();
    let bo = senders.iter().find(|s| s.name == "backoffice").unwrap();
    assert_eq!(bo.events, 3);
    let stream = &bo.streams[0];
    assert_eq!(stream.stream.as_deref(), Some("bo-1"));
    assert_eq!(
        stream
            .gaps
            .iter()
            .map(|g| (g.first, g.last))
            .collect::<Vec<_>>(),
        [(3, 8)]
    );

    // A reader of finance alone is refused, with the store's reason.
    let admin = store.sign_in("admin").await;
    admin
        .add_role(&vigil_api::NewRoleRequest {
            name: "finance-reader".into(),
            rights: vec!["read".into()],
            scope: "section:finance".into(),
        })
        .await
        .unwrap();
    store.add_user("fiona", &["finance-reader"]).await;
    let other = tempfile::tempdir().unwrap();
    let f = console(other.path());
    f.sign_in(&store.url, "fiona", PASSWORD, false)
        .await
        .unwrap();
    let refused = f.senders().await.unwrap_err();
    assert_eq!(refused.code, "forbidden", "{refused:?}");
    assert!(refused.message.contains("the whole journal"), "{refused:?}");
}
