//! Accounts: failed sign-ins lock a name for a while, and are journaled; sessions and ingest
//! keys are revoked from the command line.

use serde_json::{json, Value};

use crate::support::{event_json, Start, TestServer, PASSWORD};

async fn sign_in(s: &TestServer, name: &str, password: &str) -> (u16, Value) {
    let r = s
        .raw(reqwest::Method::POST, "/v1/auth/login")
        .json(&json!({"name": name, "password": password}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn journal_of(s: &TestServer, actor: &str) -> Vec<(String, String)> {
    s.state
        .store
        .scan(1, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event.section == "vigil" && e.event.actor.id == actor)
        .map(|e| (e.event.action, e.event.outcome.as_str().to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_failed_sign_ins_lock_the_name_for_fifteen_minutes() {
    let s = TestServer::start().await;
    for attempt in 1..=4 {
        let (status, err) = sign_in(&s, "alice", "not the password").await;
        assert_eq!(status, 401, "attempt {attempt}: {err}");
        assert_eq!(err["error"]["message"], "wrong user name or password");
    }
    let (status, err) = sign_in(&s, "alice", "not the password").await;
    assert_eq!(status, 429, "the fifth failure locks: {err}");
    assert_eq!(err["error"]["code"], "locked");
    let message = err["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("too many failed sign-ins for \"alice\": signing in is locked until "),
        "{message}"
    );
    assert!(message.contains("vigil user unlock alice"), "{message}");
    // Even the right password waits for the lock to end; the attempts during it are not
    // journaled one by one (the lock was).
    let (status, _) = sign_in(&s, "alice", PASSWORD).await;
    assert_eq!(status, 429);
    // The setup signed alice in once.
    let mut want: Vec<(String, String)> = vec![("auth.login".into(), "success".into())];
    want.extend(vec![("auth.login".into(), "failure".into()); 5]);
    want.push(("auth.lockout".into(), "denied".into()));
    assert_eq!(journal_of(&s, "alice").await, want);
    s.advance(chrono::Duration::minutes(15) - chrono::Duration::seconds(1));
    assert_eq!(
        sign_in(&s, "alice", PASSWORD).await.0,
        429,
        "locked for the whole 15 minutes"
    );
    s.advance(chrono::Duration::seconds(1));
    let (status, answer) = sign_in(&s, "alice", PASSWORD).await;
    assert_eq!(status, 200, "{answer}");
    // A good sign-in forgets the failures: three, a success, then four more do not lock (without
    // the forgetting, the second of those would be the fifth).
    for _ in 0..3 {
        assert_eq!(sign_in(&s, "alice", "wrong again!").await.0, 401);
    }
    assert_eq!(sign_in(&s, "alice", PASSWORD).await.0, 200);
    for _ in 0..4 {
        assert_eq!(sign_in(&s, "alice", "wrong again!").await.0, 401);
    }
    assert_eq!(sign_in(&s, "alice", PASSWORD).await.0, 200);
    // A name nobody has is treated the same (nothing tells which names exist).
    for _ in 0..4 {
        assert_eq!(sign_in(&s, "mallory", "guess guess guess").await.0, 401);
    }
    assert_eq!(sign_in(&s, "mallory", "guess guess guess").await.0, 429);
    // Failures further apart than the window do not add up.
    for _ in 0..4 {
        assert_eq!(sign_in(&s, "alice", "wrong again!").await.0, 401);
        s.advance(chrono::Duration::minutes(4));
    }
    assert_eq!(sign_in(&s, "alice", "wrong again!").await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_cannot_slip_past_the_lock() {
    let s = std::sync::Arc::new(TestServer::start().await);
    let mut guesses = Vec::new();
    for i in 0..16 {
        let s = s.clone();
        guesses.push(tokio::spawn(async move {
            sign_in(&s, "alice", &format!("guess number {i}")).await.0
        }));
    }
    let mut answers = Vec::new();
    for g in guesses {
        answers.push(g.await.unwrap());
    }
    assert!(
        answers.iter().all(|a| *a == 401 || *a == 429),
        "{answers:?}"
    );
    let wrong = answers.iter().filter(|a| **a == 401).count();
    assert!(
        wrong <= 4,
        "at most four guesses are told 'wrong' before the lock: {answers:?}"
    );
    assert_eq!(
        sign_in(&s, "alice", PASSWORD).await.0,
        429,
        "the lock holds against the right password"
    );
}

#[test]
fn sessions_and_ingest_keys_are_revoked_from_the_command_line() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let s = runtime.block_on(TestServer::start());
    let db = s.state.config.database.to_str().unwrap().to_owned();
    let vigil = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--database", &db]);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(&all)
            .env("USER", "root")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // alice's session (the test server signed her in) ends.
    assert!(runtime.block_on(s.reader.me()).is_ok());
    let (code, out, err) = vigil(&["user", "revoke", "alice"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "revoked 1 session(s) of \"alice\"\n");
    let e = runtime.block_on(s.reader.me()).unwrap_err();
    assert!(e.to_string().contains("token was revoked at"), "{e}");
    let (code, _, err) = vigil(&["user", "revoke", "nobody"]);
    assert_eq!(
        (code, err.as_str()),
        (Some(1), "vigil: user \"nobody\" not found\n")
    );
    // Ingest keys: listed without their secret, then revoked.
    let (_, out, _) = vigil(&["key", "list"]);
    assert!(
        out.starts_with(
            "NAME        CREATED                  REVOKED                  SECTIONS\nbackoffice  "
        ),
        "{out}"
    );
    assert!(
        out.trim_end().ends_with("-                        any"),
        "{out}"
    );
    assert!(!out.contains(&s.key));
    assert!(runtime
        .block_on(s.ingester.ingest(&json!(event_json(1))))
        .is_ok());
    let (code, out, err) = vigil(&["key", "revoke", "backoffice"]);
    assert_eq!(
        (code, out.as_str()),
        (Some(0), "ingest key \"backoffice\" revoked\n"),
        "{err}"
    );
    let e = runtime
        .block_on(s.ingester.ingest(&json!(event_json(2))))
        .unwrap_err();
    assert_eq!(e.status(), Some(401));
    assert!(
        e.to_string()
            .contains("ingest key \"backoffice\" was revoked"),
        "{e}"
    );
    let (code, _, err) = vigil(&["key", "revoke", "backoffice"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("was already revoked at"), "{err}");
    let (_, out, _) = vigil(&["key", "list"]);
    assert!(!out.trim_end().ends_with('-'), "{out}");
    // Unlock.
    for _ in 0..5 {
        runtime.block_on(sign_in(&s, "alice", "nope nope nope"));
    }
    assert_eq!(runtime.block_on(sign_in(&s, "alice", PASSWORD)).0, 429);
    let (_, out, _) = vigil(&["user", "unlock", "alice"]);
    assert_eq!(out, "\"alice\" may sign in again\n");
    assert_eq!(runtime.block_on(sign_in(&s, "alice", PASSWORD)).0, 200);
    let (_, out, _) = vigil(&["user", "unlock", "alice"]);
    assert_eq!(out, "\"alice\" was not locked\n");
    let by_root: Vec<(String, String)> = runtime.block_on(journal_of(&s, "root"));
    let actions: Vec<&str> = by_root.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "user.create",
            "key.create",
            "user.revoke",
            "key.revoke",
            "user.unlock"
        ]
    );
}
