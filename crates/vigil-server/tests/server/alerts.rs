//! Alerts end to end: a real server evaluates rules on ingest and delivers to a real SMTP server
//! (aiosmtpd) and to local servers speaking Telegram's, Slack's and a webhook's protocols.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use vigil_server::alerts::model::{AlertsConfig, ChannelSpec, ChatId, RuleSpec, Secret, Tls};

use crate::fakes::{Fake, Got, Refusal, Smtp, BOT_TOKEN, SLACK_PATH};
use crate::support::{event_json, Start, TestServer, PASSWORD};

const WAIT: Duration = Duration::from_secs(15);

pub fn critical(n: u32) -> Value {
    let mut e = event_json(n);
    e["severity"] = json!("critical");
    e["action"] = json!("bonus.grant");
    e["section"] = json!("bonuses");
    e
}

async fn ingest(s: &TestServer, events: Vec<Value>) {
    let (status, _) = s
        .ingester
        .ingest_raw(serde_json::to_vec(&events).unwrap())
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CREATED);
}

async fn token(s: &TestServer, name: &str) -> String {
    let r = s
        .raw(Method::POST, "/v1/auth/login")
        .json(&json!({"name": name, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `(status, body)` of an admin request.
async fn call(
    s: &TestServer,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let token = token(s, "alice").await;
    let mut r = s.raw(method, path).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn deliveries(s: &TestServer, query: &str) -> Value {
    let (status, body) = call(
        s,
        Method::GET,
        &format!("/v1/alerts/deliveries{query}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Waits until the outbox's counts are as expected.
async fn wait_counts(s: &TestServer, pending: u64, sent: u64, failed: u64) -> Value {
    let start = std::time::Instant::now();
    loop {
        let body = deliveries(s, "?limit=500").await;
        let c = &body["counts"];
        if (
            c["pending"].as_u64(),
            c["sent"].as_u64(),
            c["failed"].as_u64(),
        ) == (Some(pending), Some(sent), Some(failed))
        {
            return body;
        }
        assert!(
            start.elapsed() < WAIT,
            "expected {pending} pending, {sent} sent, {failed} failed; outbox: {body:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn telegram(fake: &Fake) -> ChannelSpec {
    ChannelSpec::Telegram {
        bot_token: Secret::Value(BOT_TOKEN.into()),
        chat_id: ChatId("-1001234567890".into()),
        thread_id: Some(42),
        api_base: Some(fake.url()),
    }
}

pub(crate) fn slack(fake: &Fake) -> ChannelSpec {
    ChannelSpec::Slack {
        webhook_url: Secret::Value(format!("{}{SLACK_PATH}", fake.url())),
    }
}

pub(crate) fn alerts(channels: Vec<(&str, ChannelSpec)>) -> AlertsConfig {
    let mut config = AlertsConfig {
        retry_initial_seconds: 1,
        retry_max_seconds: 2,
        time_zone: Some("+01:00".into()),
        public_url: Some("https://vigil.example.com".into()),
        ..AlertsConfig::default()
    };
    for (name, spec) in channels {
        config.channels.insert(name.into(), spec);
    }
    config
}

#[tokio::test]
async fn a_critical_event_reaches_telegram_escaped_with_who_what_where_and_a_link() {
    let tg = Fake::telegram().await;
    let config = alerts(vec![("ops-tg", telegram(&tg))]);
    let s = TestServer::start_with(|c| c.alerts = config).await;
    let mut e = critical(1);
    e["actor"] = json!({"id": "eve<b>", "name": "Ève & \"co\"", "kind": "staff"});
    e["reason"] = json!("sur demande du joueur <script>alert(1)</script> 🎰 مرحبا");
    e["ip"] = json!("203.0.113.9");
    ingest(&s, vec![e.clone(), event_json(2)]).await;

    let got = tg.wait_for(1, WAIT).await;
    assert_eq!(got[0].path, format!("/bot{BOT_TOKEN}/sendMessage"));
    let m = got[0].json();
    assert_eq!(
        (&m["chat_id"], &m["message_thread_id"], &m["parse_mode"]),
        (&json!("-1001234567890"), &json!(42), &json!("HTML"))
    );
    let text = m["text"].as_str().unwrap();
    for needle in [
        "<b>CRITICAL bonus.grant by eve&lt;b&gt; in bonuses</b>",
        "<b>Who:</b> eve&lt;b&gt; (Ève &amp; &quot;co&quot;)",
        "<b>Where:</b> bonuses",
        "<b>IP:</b> 203.0.113.9",
        "sur demande du joueur &lt;script&gt;alert(1)&lt;/script&gt; 🎰 مرحبا",
        "<b>Change:</b> balance: 10 → 20",
        "UTC (2026-11-02 11:01:00 +01:00)",
        &format!(
            "https://vigil.example.com/v1/events/{}",
            e["id"].as_str().unwrap()
        ),
        &format!("vigil://event/{}", e["id"].as_str().unwrap()),
    ] {
        assert!(text.contains(needle), "{needle:?} missing from\n{text}");
    }
    let body = wait_counts(&s, 0, 1, 0).await;
    let d = &body["deliveries"][0];
    assert_eq!(
        (
            d["rule"].as_str(),
            d["channel"].as_str(),
            d["kind"].as_str()
        ),
        (Some("critical"), Some("ops-tg"), Some("event"))
    );
    assert!(d["sent_at"].is_string());
    // Only the critical entry matched the built-in rule.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(tg.got().len(), 1);
}

#[tokio::test]
async fn telegram_429_is_retried_after_retry_after_and_secrets_never_show() {
    let tg = Fake::telegram().await;
    tg.refuse([Refusal::RateLimited(1)]);
    let mut config = alerts(vec![("ops-tg", telegram(&tg))]);
    // Telegram channels added through the API use the operator's Bot API address, here the
    // local one (which is not public: the operator allows it).
    config.telegram_api_base = Some(tg.url());
    config.allow_private_targets = true;
    let s = TestServer::start_with(|c| c.alerts = config).await;
    ingest(&s, vec![critical(1)]).await;

    // Refused: the delivery waits for the retry_after Telegram asked for (the test's clock
    // stands still until moved).
    let start = std::time::Instant::now();
    let d = loop {
        let body = deliveries(&s, "").await;
        let d = body["deliveries"][0].clone();
        if d["last_error"].is_string() {
            break d;
        }
        assert!(start.elapsed() < WAIT, "{body:#}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_u64()),
        (Some("pending"), Some(1))
    );
    assert_eq!(
        d["last_error"],
        "Telegram answered 429: Too Many Requests: retry after 1"
    );
    let at = |f: &str| chrono::DateTime::parse_from_rfc3339(d[f].as_str().unwrap()).unwrap();
    let wait = at("next_at") - at("created_at");
    assert!(
        wait >= chrono::Duration::seconds(1),
        "retried after {wait}, before retry_after"
    );
    assert!(
        wait <= chrono::Duration::seconds(2),
        "retry_initial_seconds is 1: {wait}"
    );
    s.advance(chrono::Duration::seconds(2));
    s.state.alerts.wake.notify_one();
    let got = tg.wait_for(2, WAIT).await;
    assert_eq!(got[0].body, got[1].body, "the same message is sent again");
    let body = wait_counts(&s, 0, 1, 0).await;
    let d = &body["deliveries"][0];
    assert_eq!(d["attempts"], 2);
    assert_eq!(
        d["last_error"],
        "Telegram answered 429: Too Many Requests: retry after 1"
    );

    // A wrong token: the error says so, and neither it nor any answer shows the token.
    let (status, listed) = call(&s, Method::GET, "/v1/alerts/channels", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["channels"][0]["spec"]["bot_token"], "(set)");
    assert!(!listed.to_string().contains(BOT_TOKEN));
    // A channel added through the API may not choose the Bot API's address (the token would
    // go there): it is the operator's setting, telegram_api_base.
    let (status, refused) = call(
        &s,
        Method::POST,
        "/v1/alerts/channels",
        Some(json!({"name": "wrong-bot", "type": "telegram", "bot_token": "999:WRONG-secret-token", "chat_id": 5, "api_base": "https://attacker.example"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("api_base: "));
    let (status, added) = call(
        &s,
        Method::POST,
        "/v1/alerts/channels",
        Some(json!({"name": "wrong-bot", "type": "telegram", "bot_token": "999:WRONG-secret-token", "chat_id": 5})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(added["spec"]["bot_token"], "(set)");
    let (status, tested) = call(&s, Method::POST, "/v1/alerts/channels/wrong-bot/test", None).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let message = tested["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Telegram answered 401: Unauthorized"),
        "{message}"
    );
    let all = deliveries(&s, "").await.to_string();
    assert!(!all.contains("WRONG-secret-token") && !message.contains("WRONG-secret-token"));
    // Nor the journal's record of the channel and the test.
    let journal = s
        .reader
        .search(&vigil_client::SearchOptions::query("section:vigil"))
        .await
        .unwrap();
    let journal = serde_json::to_string(&journal.events).unwrap();
    assert!(journal.contains("alert.channel.test") && !journal.contains("WRONG-secret-token"));
}

#[tokio::test]
async fn slack_gets_blocks_and_a_webhook_gets_a_signed_body() {
    let sl = Fake::slack().await;
    let hook = Fake::webhook().await;
    let mut config = alerts(vec![("ops-slack", slack(&sl))]);
    config.channels.insert(
        "siem".into(),
        ChannelSpec::Webhook {
            url: format!("{}/hook", hook.url()),
            secret: Secret::Value("hmac key ✓".into()),
        },
    );
    let s = TestServer::start_with(|c| c.alerts = config).await;
    let mut e = critical(3);
    e["target"] = json!({"type": "player", "id": "4411", "name": "<@U024BE7LH> & <!channel>"});
    e["details"] = json!({"amount": "AMOUNT", "formula": "=HYPERLINK(\"x\")"});
    let body = serde_json::to_string(&[&e])
        .unwrap()
        .replace(r#""AMOUNT""#, "100.10");
    sl.refuse([Refusal::RateLimited(1)]);
    hook.refuse([Refusal::Broken]);
    s.ingester.ingest_raw(body.into_bytes()).await.unwrap();

    // Both refuse the first time; the errors are kept, and they get it again later.
    sl.wait_for(1, WAIT).await;
    hook.wait_for(1, WAIT).await;
    let start = std::time::Instant::now();
    let errors = loop {
        let body = deliveries(&s, "").await;
        let mut errors: Vec<String> = body["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d["last_error"].as_str().map(String::from))
            .collect();
        if errors.len() == 2 {
            errors.sort();
            break errors;
        }
        assert!(start.elapsed() < WAIT, "{body:#}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        errors,
        [
            "Slack answered 429 Too Many Requests: rate_limited",
            "the webhook answered 503 Service Unavailable: "
        ]
    );
    s.advance(chrono::Duration::seconds(2));
    s.state.alerts.wake.notify_one();

    let got = sl.wait_for(2, WAIT).await;
    let payload = got[1].json();
    assert_eq!(payload["blocks"][0]["type"], "header");
    assert_eq!(payload["text"], "CRITICAL bonus.grant by staff0 in bonuses");
    let shown = payload.to_string();
    assert!(
        shown.contains("&lt;@U024BE7LH&gt; &amp; &lt;!channel&gt;"),
        "mentions are escaped: {shown}"
    );
    assert!(!shown.contains("<@U024BE7LH>") && !shown.contains("<!channel>"));

    let got = hook.wait_for(2, WAIT).await;
    assert_eq!(got[0].body, got[1].body);
    assert_eq!(
        got[0].headers["x-vigil-delivery"], got[1].headers["x-vigil-delivery"],
        "the same delivery id on a retry"
    );
    let signature = got[0].headers["x-vigil-signature"].to_str().unwrap();
    assert_eq!(
        signature,
        vigil_server::alerts::send::signature("hmac key ✓".as_bytes(), &got[0].body),
        "the signature is HMAC-SHA256 of the exact body"
    );
    let sent: Value = got[0].json();
    assert!(got[0].headers["x-vigil-delivery"]
        .to_str()
        .unwrap()
        .parse::<u64>()
        .is_ok());
    let entry = &sent["entries"][0];
    assert_eq!(entry["target"], e["target"]);
    assert_eq!(entry["details"]["formula"], e["details"]["formula"]);
    assert_eq!(entry["id"], e["id"]);
    let raw = String::from_utf8(got[0].body.to_vec()).unwrap();
    assert!(
        raw.contains(r#""amount":100.10"#),
        "numbers keep their text: {raw}"
    );
    wait_counts(&s, 0, 2, 0).await;
}

#[tokio::test]
async fn email_arrives_at_a_real_smtp_server_with_both_parts() {
    let smtp = Smtp::start().await;
    let config = alerts(vec![(
        "secops-mail",
        ChannelSpec::Email {
            host: "127.0.0.1".into(),
            port: Some(smtp.port),
            tls: Tls::None,
            username: None,
            password: None,
            from: "Vigil <vigil@example.com>".into(),
            to: vec![
                "secops@example.com".into(),
                "Zoé Lead <lead@example.com>".into(),
            ],
        },
    )]);
    let s = TestServer::start_with(|c| c.alerts = config).await;
    let mut e = critical(4);
    e["actor"] = json!({"id": "zoé", "name": "Zoé « admin »", "kind": "staff"});
    e["reason"] = json!("chargeback review #4411 <b>bold</b> 💸");
    ingest(&s, vec![e.clone()]).await;

    let raw = smtp.wait_for(1, WAIT).await.remove(0);
    let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert_eq!(
        message.subject(),
        Some("CRITICAL bonus.grant by zoé in bonuses")
    );
    let from = message.from().unwrap().first().unwrap();
    assert_eq!(
        (from.name(), from.address()),
        (Some("Vigil"), Some("vigil@example.com"))
    );
    let to: Vec<_> = message
        .to()
        .unwrap()
        .iter()
        .map(|a| a.address().unwrap().to_owned())
        .collect();
    assert_eq!(to, ["secops@example.com", "lead@example.com"]);
    let rcpt = message.header_raw("X-RcptTo").unwrap();
    assert!(
        rcpt.contains("secops@example.com") && rcpt.contains("lead@example.com"),
        "{rcpt}"
    );
    let id = message.message_id().unwrap();
    assert!(
        id.starts_with("vigil.delivery.")
            && id.ends_with(&format!("{}@vigil", e["id"].as_str().unwrap())),
        "{id}"
    );
    assert_eq!(message.text_body_count(), 1);
    assert_eq!(message.html_body_count(), 1);
    let text = message.body_text(0).unwrap();
    assert!(text.contains("Who: zoé (Zoé « admin »)"), "{text}");
    assert!(
        text.contains("Reason: chargeback review #4411 <b>bold</b> 💸"),
        "{text}"
    );
    let html = message.body_html(0).unwrap();
    assert!(
        html.contains("chargeback review #4411 &lt;b&gt;bold&lt;/b&gt; 💸"),
        "{html}"
    );
    assert!(html.contains(&format!(
        "href=\"https://vigil.example.com/v1/events/{}\"",
        e["id"].as_str().unwrap()
    )));
    wait_counts(&s, 0, 1, 0).await;
}

#[tokio::test]
async fn a_throttled_rule_sends_one_message_then_one_digest_per_window() {
    let sl = Fake::slack().await;
    let mut config = alerts(vec![("ops-slack", slack(&sl))]);
    config.default_rule = false;
    config.rules.insert(
        "withdrawals".into(),
        RuleSpec {
            q: "action:withdrawal.cancel".into(),
            channels: vec!["ops-slack".into()],
            window_minutes: Some(10),
        },
    );
    let s = TestServer::start_with(|c| c.alerts = config).await;
    let cancel = |n: u32| {
        let mut e = event_json(n);
        e["action"] = json!("withdrawal.cancel");
        e
    };
    ingest(&s, vec![cancel(1)]).await;
    sl.wait_for(1, WAIT).await;
    // Fourteen more within the window, and an entry the rule does not match.
    ingest(&s, (2..=15).map(cancel).chain([event_json(99)]).collect()).await;
    let body = wait_counts(&s, 1, 1, 0).await;
    let digest = &body["deliveries"][0];
    assert_eq!(digest["kind"], "digest");
    assert_eq!(digest["matches"], 14);
    assert_eq!(
        digest["seqs"].as_array().unwrap().len(),
        11,
        "the first eleven are kept"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sl.got().len(), 1, "nothing more until the window ends");

    // The window ends: one digest of the fourteen.
    s.advance(chrono::Duration::minutes(10));
    s.state.alerts.wake.notify_one();
    let got = sl.wait_for(2, WAIT).await;
    let payload = got[1].json();
    assert_eq!(
        payload["text"],
        "INFO withdrawal.cancel by staff2 in finance (and 13 more)"
    );
    let shown = payload.to_string();
    assert!(shown.contains("And 13 more:"), "{shown}");
    wait_counts(&s, 0, 2, 0).await;

    // A match right after: the next window's digest, not a message at once.
    s.advance(chrono::Duration::seconds(1));
    ingest(&s, vec![cancel(16)]).await;
    let body = wait_counts(&s, 1, 2, 0).await;
    assert_eq!(body["deliveries"][0]["kind"], "digest");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sl.got().len(), 2);
}

#[tokio::test]
async fn managing_channels_and_rules_is_checked_journaled_and_admin_only() {
    let sl = Fake::slack().await;
    // The fake Slack listens on loopback: the operator allows channels added through the API
    // to send there.
    let s = TestServer::start_with(|c| c.alerts.allow_private_targets = true).await;
    s.add_user("bob", &["auditor"]).await;
    let bob = token(&s, "bob").await;
    let r = s
        .raw(Method::GET, "/v1/alerts/rules")
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = s.raw(Method::GET, "/v1/alerts/rules").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = s
        .raw(Method::GET, "/v1/alerts/rules")
        .bearer_auth(&s.key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let (_, rules) = call(&s, Method::GET, "/v1/alerts/rules", None).await;
    assert_eq!(
        rules["rules"],
        json!([
            {"name": "critical", "q": "severity:critical -section:vigil", "channels": [], "window_minutes": null, "source": "builtin"},
            {"name": "sign-in-locks", "q": "section:vigil severity:critical", "channels": [], "window_minutes": 15, "source": "builtin"},
            {"name": "senders", "q": "section:vigil action:sender.gap,sender.silent,sender.revoked_key", "channels": [], "window_minutes": 15, "source": "builtin"}
        ])
    );

    let bad = [
        (json!({"type": "slack", "webhook_url": "https://x"}), "name"),
        (
            json!({"name": "Ops", "type": "slack", "webhook_url": "https://x"}),
            "channel name \"Ops\"",
        ),
        (
            json!({"name": "ops", "type": "pager", "url": "x"}),
            "unknown variant `pager`",
        ),
        (
            json!({"name": "ops", "type": "slack"}),
            "missing field `webhook_url`",
        ),
        (
            json!({"name": "ops", "type": "slack", "webhook_url": "ftp://x"}),
            "webhook_url: expected an http",
        ),
        (
            json!({"name": "ops", "type": "email", "host": "h", "from": "v@example.com", "to": ["nope"]}),
            "to: \"nope\" is not an email address",
        ),
        (
            json!({"name": "ops", "type": "telegram", "bot_token": {"env": "X"}, "chat_id": 1, "chat": 2}),
            "unknown field `chat`",
        ),
        (json!(["ops"]), "must be a JSON object"),
        (
            json!({"name": "ops", "type": "slack", "webhook_url": {"env": "DATABASE_PASSWORD"}}),
            "cannot be used by a channel added here: use one named VIGIL_",
        ),
        (
            json!({"name": "ops", "type": "webhook", "url": "https://x", "secret": {"file": "/proc/self/environ"}}),
            "only inside [alerts] secrets_dir",
        ),
    ];
    for (body, why) in bad {
        let (status, answer) =
            call(&s, Method::POST, "/v1/alerts/channels", Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(why),
            "{body}: {message:?} should say {why:?}"
        );
    }
    let before = s.count().await;
    assert_eq!(
        before, 1,
        "refused requests journal nothing (bob's creation is the one entry)"
    );

    let ops =
        json!({"name": "ops", "type": "slack", "webhook_url": format!("{}{SLACK_PATH}", sl.url())});
    assert_eq!(
        call(&s, Method::POST, "/v1/alerts/channels", Some(ops.clone()))
            .await
            .0,
        StatusCode::CREATED
    );
    assert_eq!(
        call(&s, Method::POST, "/v1/alerts/channels", Some(ops))
            .await
            .0,
        StatusCode::CONFLICT
    );
    let (status, answer) = call(
        &s,
        Method::POST,
        "/v1/alerts/rules",
        Some(json!({"name": "wd", "q": "action:withdrawal.cancel", "channels": ["nope"]})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer["error"]["message"],
        "channels: no channel named nope; the channels are: ops"
    );
    let (status, answer) = call(
        &s,
        Method::POST,
        "/v1/alerts/rules",
        Some(json!({"name": "wd", "q": "severity:"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("q: "),
        "{answer}"
    );
    let (status, answer) = call(
        &s,
        Method::POST,
        "/v1/alerts/rules",
        Some(json!({"name": "wd", "q": "x", "window_minutes": 0})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let (status, rule) = call(&s, Method::POST, "/v1/alerts/rules", Some(json!({"name": "wd", "q": "action:withdrawal.cancel", "channels": ["ops"], "window_minutes": 5}))).await;
    assert_eq!(status, StatusCode::CREATED, "{rule}");
    assert_eq!(rule["source"], "api");

    let (status, answer) = call(&s, Method::DELETE, "/v1/alerts/channels/ops", None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        answer["error"]["message"],
        "channel \"ops\" is used by rule(s) wd: remove them first"
    );
    assert_eq!(
        call(&s, Method::DELETE, "/v1/alerts/rules/critical", None)
            .await
            .0,
        StatusCode::CONFLICT
    );
    let (status, tested) = call(&s, Method::POST, "/v1/alerts/channels/ops/test", None).await;
    assert_eq!(status, StatusCode::OK, "{tested}");
    assert_eq!(
        (tested["status"].as_str(), tested["kind"].as_str()),
        (Some("sent"), Some("test"))
    );
    let got = sl.wait_for(1, WAIT).await;
    assert_eq!(got[0].json()["text"], "Vigil test message for channel ops");
    assert_eq!(
        call(&s, Method::DELETE, "/v1/alerts/rules/wd", None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&s, Method::DELETE, "/v1/alerts/channels/ops", None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&s, Method::DELETE, "/v1/alerts/channels/ops", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&s, Method::GET, "/v1/alerts/deliveries?status=lost", None)
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        call(&s, Method::POST, "/v1/alerts/deliveries/999/retry", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    // Every change is in the journal, with alice as the actor, and the chain still verifies.
    let page = s
        .reader
        .search(&vigil_client::SearchOptions::query(
            "section:vigil action:alert.*",
        ))
        .await
        .unwrap();
    let mut actions: Vec<(String, String, String)> = page
        .events
        .iter()
        .map(|e| {
            (
                e.entry.event.action.clone(),
                e.entry.event.actor.id.clone(),
                e.entry.event.target.as_ref().unwrap().id.clone(),
            )
        })
        .collect();
    actions.reverse();
    let expected = [
        ("alert.channel.create", "ops"),
        ("alert.rule.create", "wd"),
        ("alert.channel.test", "ops"),
        ("alert.rule.delete", "wd"),
        ("alert.channel.delete", "ops"),
    ];
    assert_eq!(
        actions,
        expected.map(|(a, t)| (a.to_owned(), "alice".to_owned(), t.to_owned()))
    );
    let entries = s.journal().await.len();
    assert!(vigil_server::service::journal::verify(&s.state)
        .await
        .unwrap()
        .starts_with(&format!("verified {entries} entries")));
}

/// `vigil serve` as a child process, killed with SIGKILL when dropped.
struct Served {
    child: std::process::Child,
    url: String,
}

impl Served {
    async fn start(db: &std::path::Path, config: &std::path::Path) -> Served {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--database")
            .arg(db)
            .arg("--config")
            .arg(config)
            .env("VIGIL_TEST_TG_TOKEN", BOT_TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let start = std::time::Instant::now();
        while reqwest::get(format!("{url}/healthz")).await.is_err() {
            assert!(start.elapsed() < WAIT, "vigil serve did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Served { child, url }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn vigil_cli(args: &[&str], db: &std::path::Path, stdin: &str) -> String {
    let out = vigil_run(args, db, stdin, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn vigil_run(
    args: &[&str],
    db: &std::path::Path,
    stdin: &str,
    env: &[(&str, &str)],
) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .envs(env.iter().copied())
        .env("USER", "ops-admin")
        .arg("--database")
        .arg(db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

// Multi-threaded: the fake channels answer while this thread waits for vigil processes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_down_through_a_kill_and_restart_gets_every_alert_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let tg_addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    // A second channel that takes requests in and never answers.
    let sl = Fake::slack().await;
    sl.set_hang(true);
    let config = dir.path().join("vigil.toml");
    std::fs::write(
        &config,
        format!(
            "[alerts]\nretry_initial_seconds = 1\nretry_max_seconds = 2\n\
             [alerts.channels.ops-tg]\ntype = \"telegram\"\nbot_token = {{ env = \"VIGIL_TEST_TG_TOKEN\" }}\n\
             chat_id = -100\napi_base = \"http://{tg_addr}\"\n\
             [alerts.channels.ops-slack]\ntype = \"slack\"\nwebhook_url = \"{}{SLACK_PATH}\"\n",
            sl.url()
        ),
    )
    .unwrap();
    vigil_cli(
        &[
            "user",
            "add",
            "alice",
            "--role",
            "admin",
            "--password-stdin",
        ],
        &db,
        PASSWORD,
    );
    let key = vigil_cli(&["key", "create", "backoffice"], &db, "");
    let key = key.trim();

    // The channel is down (nothing listens on its address) while 50 critical entries arrive.
    let served = Served::start(&db, &config).await;
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    for batch in 0..5 {
        let events: Vec<Value> = (0..10).map(|i| critical(batch * 10 + i)).collect();
        ids.extend(events.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        let r = http
            .post(format!("{}/v1/events", served.url))
            .bearer_auth(key)
            .json(&events)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let token = http
        .post(format!("{}/v1/auth/login", served.url))
        .json(&json!({"name": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let start = std::time::Instant::now();
    loop {
        let body: Value = http
            .get(format!("{}/v1/alerts/deliveries?limit=500", served.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let tried = body["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| {
                d["channel"] == "ops-tg" && d["status"] == "pending" && d["last_error"].is_string()
            })
            .count();
        if tried == 50 && !sl.got().is_empty() {
            let error = body["deliveries"][0]["last_error"].as_str().unwrap();
            assert!(error.starts_with("could not connect"), "{error}");
            assert!(
                !body.to_string().contains(BOT_TOKEN),
                "the token is in no answer"
            );
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "50 pending deliveries, each tried: {body:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Killed without warning while Slack holds a request and others wait claimed behind it;
    // both channels come back; vigil restarts.
    drop(served);
    let tg = Fake::telegram_on(tg_addr).await;
    sl.set_hang(false);
    let served = Served::start(&db, &config).await;
    tg.wait_accepted(50, Duration::from_secs(30)).await;
    sl.wait_accepted(50, Duration::from_secs(30)).await;
    // Longer than the longest retry delay: anything sent twice would have arrived by now.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (channel, accepted) in [("telegram", tg.accepted()), ("slack", sl.accepted())] {
        // Each message names its entry in its link (vigil://event/<id>).
        let text = |g: &Got| g.json().to_string();
        assert_eq!(
            accepted.len(),
            50,
            "{channel}: every alert once, none twice"
        );
        for id in &ids {
            let n = accepted
                .iter()
                .filter(|g| text(g).contains(id.as_str()))
                .count();
            assert_eq!(n, 1, "{channel}: entry {id} was announced {n} times");
        }
    }
    assert_eq!(
        tg.got().len(),
        50,
        "Telegram was down: nothing reached it before"
    );
    let out = vigil_cli(&["alerts", "status", "--limit", "1"], &db, "");
    assert!(
        out.starts_with("outbox: 0 pending, 100 sent, 0 failed\n"),
        "{out}"
    );
    drop(served);
}

// Multi-threaded: the fake Slack answers while this thread waits for the vigil process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vigil_alerts_manages_channels_and_rules_from_the_command_line() {
    let sl = Fake::slack().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    vigil_cli(
        &[
            "user",
            "add",
            "alice",
            "--role",
            "admin",
            "--password-stdin",
        ],
        &db,
        PASSWORD,
    );
    let hook = format!("{}{SLACK_PATH}", sl.url());
    let env = [("VIGIL_OPS_SLACK_URL", hook.as_str())];
    let run = |args: &[&str]| vigil_run(args, &db, "", &env);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();

    let out = run(&[
        "alerts",
        "channel",
        "add",
        "ops",
        "--type",
        "slack",
        "--webhook-url-env",
        "VIGIL_OPS_SLACK_URL",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "channel \"ops\" added: {\"type\":\"slack\",\"webhook_url\":{\"env\":\"VIGIL_OPS_SLACK_URL\"}}\n"
    );
    let out = run(&[
        "alerts",
        "rule",
        "add",
        "wd",
        "--q",
        "action:withdrawal.cancel",
        "--channel",
        "ops",
        "--window-minutes",
        "15",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&["alerts", "rule", "list"]);
    assert_eq!(
        text(&out.stdout),
        "critical\tBuiltin\tseverity:critical -section:vigil\t→ ops\teach match\n\
         sign-in-locks\tBuiltin\tsection:vigil severity:critical\t→ ops\tat most one message per 15 min\n\
         senders\tBuiltin\tsection:vigil action:sender.gap,sender.silent,sender.revoked_key\t→ ops\tat most one message per 15 min\n\
         wd\tApi\taction:withdrawal.cancel\t→ ops\tat most one message per 15 min\n"
    );
    let out = run(&["alerts", "channel", "test", "ops"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "channel \"ops\" accepted the test message (delivery 1)\n"
    );
    assert_eq!(sl.got().len(), 1);
    let out = run(&["alerts", "status"]);
    assert!(text(&out.stdout).starts_with("outbox: 0 pending, 1 sent, 0 failed\n#1 sent test rule=- channel=ops entries=0 attempts=1 sent "), "{}", text(&out.stdout));

    // Clear refusals, exit code 1, nothing stored.
    let refused: [(&[&str], &str); 7] = [
        (
            &[
                "alerts",
                "channel",
                "add",
                "x",
                "--type",
                "slack",
                "--webhook-url-env",
                "HOME",
            ],
            "environment variable \"HOME\" cannot be used by a channel added here",
        ),
        (
            &[
                "alerts",
                "channel",
                "add",
                "x",
                "--type",
                "slack",
                "--webhook-url-file",
                "/etc/passwd",
            ],
            "only inside [alerts] secrets_dir",
        ),
        (
            &["alerts", "channel", "add", "x", "--type", "pager"],
            "unknown variant `pager`",
        ),
        (
            &[
                "alerts",
                "channel",
                "add",
                "x",
                "--type",
                "telegram",
                "--chat-id",
                "-100",
            ],
            "missing field `bot-token`",
        ),
        (
            &[
                "alerts",
                "channel",
                "add",
                "x",
                "--type",
                "slack",
                "--webhook-url-env",
                "A",
                "--webhook-url-file",
                "B",
            ],
            "not both",
        ),
        (
            &[
                "alerts",
                "rule",
                "add",
                "y",
                "--q",
                "action:x",
                "--channel",
                "nope",
            ],
            "no channel named nope; the channels are: ops",
        ),
        (
            &["alerts", "channel", "remove", "ops"],
            "used by rule(s) wd",
        ),
    ];
    for (args, why) in refused {
        let out = run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            text(&out.stderr).contains(why),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    // Without the variable, a test says what is missing, not a value.
    let out = vigil_run(&["alerts", "channel", "test", "ops"], &db, "", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr)
            .contains("webhook_url: environment variable VIGIL_OPS_SLACK_URL is not set"),
        "{}",
        text(&out.stderr)
    );

    // Who did what is in the journal, and it verifies.
    let out = vigil_cli(&["verify"], &db, "");
    assert!(out.starts_with("verified "), "{out}");
    let state = vigil_server::open(&vigil_server::config::ServerConfig {
        database: db.clone(),
        ..Default::default()
    })
    .unwrap();
    let page = state.store.scan(1, 100).await.unwrap();
    assert!(
        out.starts_with(&format!("verified {} entries", page.len())),
        "{out}"
    );
    let seen: Vec<_> = page
        .iter()
        .filter(|e| e.event.action.starts_with("alert."))
        .map(|e| (e.event.action.as_str(), e.event.actor.id.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("alert.channel.create", "ops-admin"),
            ("alert.rule.create", "ops-admin"),
            ("alert.channel.test", "ops-admin"),
            ("alert.channel.test", "ops-admin"),
        ]
    );
}

#[test]
fn vigil_serve_refuses_a_rule_naming_a_channel_that_exists_nowhere() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = dir.path().join("vigil.toml");
    std::fs::write(
        &config,
        "[alerts.rules.wd]\nq = \"action:withdrawal.cancel\"\nchannels = [\"ops\"]\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--database")
        .arg(&db)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("alert rule \"wd\" names channel \"ops\", which is neither in vigil.toml nor added through the API"),
        "{stderr}"
    );
    std::fs::write(&config, "[alerts.channels.ops]\ntype = \"slack\"\nwebhook_url = \"https://hooks.slack.com/services/T/B/x\"\nchanel = \"#ops\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--database")
        .arg(&db)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown field `chanel`"), "{stderr}");
}
