//! Tamper evidence through the API: signed checkpoints, the public key, and inclusion and
//! consistency proofs checked the way a client checks them (vigil_core's RFC 9162 verifiers),
//! with what callers with fewer rights, strangers and bad parameters get.

use std::time::Duration;

use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};
use vigil_core::checkpoint::{Checkpoint, PublicKey};
use vigil_core::merkle;

use crate::support::{Start, TestServer, PASSWORD};
use vigil_testkit::intrude;

async fn get(s: &TestServer, token: Option<&str>, path: &str) -> (u16, Value) {
    let mut r = s.raw(Method::GET, path);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let answer = r.send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

async fn token_of(s: &TestServer, name: &str) -> String {
    s.anonymous.login(name, PASSWORD).await.unwrap().token
}

fn hash(hex_text: &Value) -> merkle::Hash {
    let mut h = [0u8; 32];
    hex::decode_to_slice(hex_text.as_str().unwrap(), &mut h).unwrap();
    h
}

/// The checkpoint an answer describes, as a client rebuilds it to check the signature.
fn checkpoint(v: &Value) -> Checkpoint {
    Checkpoint {
        size: v["size"].as_u64().unwrap(),
        root: hash(&v["root"]),
        signed_at: chrono::DateTime::parse_from_rfc3339(v["signed_at"].as_str().unwrap())
            .unwrap()
            .to_utc(),
        key_id: v["key_id"].as_str().unwrap().to_owned(),
        signature: base64::engine::general_purpose::STANDARD
            .decode(v["signature"].as_str().unwrap())
            .unwrap(),
    }
}

/// Waits for a checkpoint of at least `size` entries (a minute later by the server's clock, the
/// longest it waits to sign new entries).
async fn checkpoint_of_at_least(s: &TestServer, token: &str, size: u64) -> Value {
    s.advance(chrono::Duration::seconds(61));
    for _ in 0..100 {
        let (status, cp) = get(s, Some(token), "/v1/integrity/checkpoint").await;
        if status == 200 && cp["size"].as_u64().unwrap() >= size {
            return cp;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no checkpoint of {size} entries within 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_are_signed_and_every_proof_checks_out_through_the_api() {
    let s = TestServer::start_with(|c| c.integrity.checkpoint_every = 100).await;
    let alice = token_of(&s, "alice").await;
    s.demo(700).await;
    let journal = s.journal().await;
    let head = journal.len() as u64;
    let first = checkpoint_of_at_least(&s, &alice, head).await;

    let (status, key) = get(&s, Some(&alice), "/v1/integrity/key").await;
    assert_eq!(status, 200);
    assert_eq!(key["algorithm"], "ed25519");
    let public = PublicKey::parse(key["pem"].as_str().unwrap()).unwrap();
    assert_eq!(
        public,
        PublicKey::parse(key["public_key"].as_str().unwrap()).unwrap()
    );
    assert_eq!(key["key_id"], public.id());
    let cp = checkpoint(&first);
    assert_eq!(
        first["text"],
        cp.text(),
        "the text given is the text signed"
    );
    public
        .verify(&cp)
        .expect("the checkpoint's signature verifies");
    let mut forged = cp.clone();
    forged.size -= 1;
    assert!(public.verify(&forged).is_err());

    let size = cp.size;
    for seq in [1, 2, 100, 256, 257, 350, size] {
        let (status, p) = get(
            &s,
            Some(&alice),
            &format!("/v1/integrity/proof/inclusion?seq={seq}&size={size}"),
        )
        .await;
        assert_eq!(status, 200, "{p}");
        assert_eq!(
            p["hash"],
            journal[seq as usize - 1].hash,
            "entry {seq}'s hash"
        );
        assert_eq!(p["root"], first["root"]);
        let proof: Vec<merkle::Hash> = p["proof"].as_array().unwrap().iter().map(hash).collect();
        merkle::verify_inclusion(
            &merkle::leaf(&hash(&p["hash"])),
            seq - 1,
            size,
            &proof,
            &cp.root,
        )
        .unwrap_or_else(|e| panic!("entry {seq}: {e}"));
        // The same proof does not prove a neighbour.
        let other = journal[(seq as usize) % journal.len()].hash.clone();
        assert!(merkle::verify_inclusion(
            &merkle::leaf(&hash(&json!(other))),
            seq - 1,
            size,
            &proof,
            &cp.root
        )
        .is_err());
    }
    // Without a size: the newest checkpoint's.
    let (_, p) = get(&s, Some(&alice), "/v1/integrity/proof/inclusion?seq=5").await;
    assert_eq!(p["size"], first["size"]);

    // More entries, a newer checkpoint, and the proof that it extends the first.
    s.demo(300).await;
    let head = s.journal().await.len() as u64;
    let second = checkpoint_of_at_least(&s, &alice, head).await;
    let newer = checkpoint(&second);
    public.verify(&newer).unwrap();
    let (status, c) = get(
        &s,
        Some(&alice),
        &format!(
            "/v1/integrity/proof/consistency?from={size}&to={}",
            newer.size
        ),
    )
    .await;
    assert_eq!(status, 200, "{c}");
    let proof: Vec<merkle::Hash> = c["proof"].as_array().unwrap().iter().map(hash).collect();
    merkle::verify_consistency(size, newer.size, &cp.root, &newer.root, &proof)
        .expect("the newer checkpoint extends the older");
    let mut rewritten = cp.root;
    rewritten[3] ^= 1;
    assert!(merkle::verify_consistency(size, newer.size, &rewritten, &newer.root, &proof).is_err());

    // Parameters that name no proof, each refused in words.
    for (path, field) in [
        ("inclusion?seq=0&size=10", "seq"),
        ("inclusion?seq=11&size=10", "seq"),
        (
            &format!("inclusion?seq=1&size={}", head + 1000) as &str,
            "size",
        ),
        ("inclusion?seq=abc", "seq"),
        ("inclusion?size=5", "seq"),
        ("inclusion?seq=-1&size=5", "seq"),
        ("inclusion?seq=1&size=18446744073709551616", "size"),
        ("consistency?from=0&to=10", "from"),
        ("consistency?from=11&to=10", "from"),
        (&format!("consistency?from=1&to={}", head + 1000), "to"),
        ("consistency?to=10", "from"),
    ] {
        let (status, e) = get(&s, Some(&alice), &format!("/v1/integrity/proof/{path}")).await;
        assert_eq!(status, 400, "{path}: {e}");
        let message = e["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{path}: {message}");
    }
    // An entry that does not exist.
    let (status, _) = get(
        &s,
        Some(&alice),
        &format!("/v1/integrity/proof/inclusion?seq={}", head + 50),
    )
    .await;
    assert_eq!(status, 404);

    // Strangers and ingest keys get nothing.
    for path in [
        "/v1/integrity/key",
        "/v1/integrity/checkpoint",
        "/v1/integrity/proof/inclusion?seq=1&size=10",
        "/v1/integrity/proof/consistency?from=1&to=10",
    ] {
        assert_eq!(get(&s, None, path).await.0, 401, "{path} without a token");
        assert_eq!(
            get(&s, Some("nope"), path).await.0,
            401,
            "{path} with a bad token"
        );
        let (status, _) = get(&s, Some(&s.key), path).await;
        assert!(
            matches!(status, 401 | 403),
            "{path} with an ingest key: {status}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_get_proofs_only_of_entries_they_may_read_in_the_clear() {
    let s = TestServer::start().await;
    let alice = token_of(&s, "alice").await;
    s.demo(300).await;
    let made = s
        .raw(Method::POST, "/v1/roles")
        .bearer_auth(&alice)
        .json(&json!({"name": "finance-clear", "rights": ["read", "unmask"], "scope": "section:finance"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        made.status().as_u16(),
        201,
        "{}",
        made.text().await.unwrap()
    );
    s.add_user("vera", &["viewer"]).await;
    s.add_user("fin", &["finance-clear"]).await;
    let journal = s.journal().await;
    let size = journal.len() as u64;
    checkpoint_of_at_least(&s, &alice, size).await;
    let finance = journal
        .iter()
        .position(|e| e.event.section == "finance")
        .unwrap()
        + 1;
    let other = journal
        .iter()
        .position(|e| e.event.section != "finance")
        .unwrap()
        + 1;

    // The viewer reads personal fields masked. The journal is sealed from its first entry, so
    // she is shown checkpoints and proofs: what she sees masked enters them only as salted
    // commitments, and she is given the salt of no part she does not see.
    let vera = token_of(&s, "vera").await;
    for path in [
        "/v1/integrity/proof/consistency?from=1&to=2".to_owned(),
        format!("/v1/integrity/proof/consistency?from=3&to={size}"),
        "/v1/integrity/checkpoint".to_owned(),
    ] {
        let (status, e) = get(&s, Some(&vera), &path).await;
        assert_eq!(status, 200, "{path}: {e}");
    }
    let masked_one = journal
        .iter()
        .find(|e| e.event.section == "finance" && e.event.ip.is_some())
        .unwrap()
        .seq;
    let inclusion = format!("/v1/integrity/proof/inclusion?seq={masked_one}&size={size}");
    let (status, p) = get(&s, Some(&vera), &inclusion).await;
    assert_eq!(status, 200, "{p}");
    let seal = &p["seal"];
    assert!(seal.get("salt").is_none(), "{p}");
    assert!(seal["commitments"]["ip"].is_string(), "{p}");
    for part in seal["commitments"].as_object().unwrap().keys() {
        assert!(
            seal["openings"].get(part).is_none(),
            "{part} both opened and committed"
        );
    }
    let ip = journal[masked_one as usize - 1]
        .event
        .ip
        .unwrap()
        .to_string();
    assert!(!p.to_string().contains(&ip), "{p}");
    // The reader who sees the entry whole gets its salt.
    let (status, p) = get(&s, Some(&alice), &inclusion).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(
        p["seal"]["salt"],
        json!(hex::encode(journal[masked_one as usize - 1].salt.unwrap()))
    );

    // A journal that began before entries were sealed (its first entry unsealed, as one that
    // was upgraded): hashes over its earlier entries cover clear values, so a masked reader is
    // refused its checkpoints and proofs; a reader of only unmasked entries is not.
    intrude(&s.database)
        .execute("UPDATE events SET salt = NULL WHERE seq = 1", [])
        .unwrap();
    for path in [
        inclusion.clone(),
        "/v1/integrity/proof/consistency?from=1&to=2".to_owned(),
        "/v1/integrity/checkpoint".to_owned(),
    ] {
        let (status, e) = get(&s, Some(&vera), &path).await;
        assert_eq!(status, 403, "{path}: {e}");
        let message = e["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("began before entries were sealed") && message.contains("unmask"),
            "{e}"
        );
    }
    assert_eq!(get(&s, Some(&vera), "/v1/integrity/key").await.0, 200);

    // A reader scoped to finance, in the clear: proofs of finance entries, and outside the
    // scope the same 404 as an entry that does not exist.
    let fin = token_of(&s, "fin").await;
    let (status, p) = get(
        &s,
        Some(&fin),
        &format!("/v1/integrity/proof/inclusion?seq={finance}&size={size}"),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["hash"], journal[finance - 1].hash);
    let (status, e) = get(
        &s,
        Some(&fin),
        &format!("/v1/integrity/proof/inclusion?seq={other}&size={size}"),
    )
    .await;
    assert_eq!(status, 404, "{e}");
    let (missing, _) = get(
        &s,
        Some(&fin),
        &format!("/v1/integrity/proof/inclusion?seq={}", size + 10_000),
    )
    .await;
    assert_eq!(missing, 404);
}

/// A key `openssl genpkey -algorithm ed25519` made.
const OPENSSL_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIMZaGWZrn9lWpmABnKxoquXrqRF1xZc4MacN/R12bPGr\n-----END PRIVATE KEY-----\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signing_key_is_made_once_private_and_kept_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let s = TestServer::builder()
        .user("alice", &["admin"])
        .database(&db)
        .start()
        .await;
    let alice = token_of(&s, "alice").await;
    s.demo(10).await;
    let before = checkpoint(&checkpoint_of_at_least(&s, &alice, 10).await);
    let key_file = dir.path().join("vigil.db.signing-key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only its owner may read the key");
    }
    let text = std::fs::read_to_string(&key_file).unwrap();
    assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"));
    // Started again, the same key: the old checkpoint verifies under the key it now shows.
    let s = s.stop().await.start().await;
    let alice = token_of(&s, "alice").await;
    let (_, key) = get(&s, Some(&alice), "/v1/integrity/key").await;
    PublicKey::parse(key["pem"].as_str().unwrap())
        .unwrap()
        .verify(&before)
        .expect("the key survived the restart");
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), text);
    s.stop().await;

    // A key others may read is refused at start, in words.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let config = vigil_server::config::ServerConfig {
            database: db.clone(),
            ..Default::default()
        };
        let refused = vigil_server::open(&config).err().expect("refused");
        let message = vigil_server::cli::one_line(&refused);
        assert!(message.contains("chmod 600"), "{message}");
    }
    // A file that is not a key is refused too; a configured path elsewhere is made there.
    std::fs::write(&key_file, "not a key").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let config = vigil_server::config::ServerConfig {
        database: db.clone(),
        ..Default::default()
    };
    let refused = vigil_server::open(&config).err().expect("refused");
    assert!(vigil_server::cli::one_line(&refused).contains("not usable"));
    let elsewhere = tempfile::tempdir().unwrap();
    let made = elsewhere.path().join("keys").join("checkpoint.key");
    let mut fresh = vigil_server::config::ServerConfig {
        database: elsewhere.path().join("vigil.db"),
        ..Default::default()
    };
    fresh.integrity.signing_key = Some(made.clone());
    vigil_server::open(&fresh).expect("opens with a key made elsewhere");
    assert!(made.exists(), "made with its folder");

    // No key beside a journal with checkpoints: refused rather than a new key made quietly
    // (it could not sign on from the lost key's checkpoints).
    std::fs::remove_file(&key_file).unwrap();
    let refused = vigil_server::open(&config).err().expect("refused");
    let message = vigil_server::cli::one_line(&refused);
    assert!(message.contains("no signing key at"), "{message}");
    assert!(message.contains(&before.key_id), "names the key: {message}");
    assert!(!key_file.exists(), "no key was made");
    // A symbolic link is not followed.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&made, &key_file).unwrap();
        let refused = vigil_server::open(&config).err().expect("refused");
        let message = vigil_server::cli::one_line(&refused);
        assert!(message.contains("symbolic link"), "{message}");
        std::fs::remove_file(&key_file).unwrap();
    }
    // A key made on purpose with OpenSSL (`openssl genpkey -algorithm ed25519`, PKCS#8 v1:
    // this one) is taken.
    std::fs::write(&key_file, OPENSSL_KEY).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    vigil_server::open(&config).expect("opens with a key made by openssl");
}

/// The feed's lines, its next `after_seq`, or the error.
async fn feed(s: &TestServer, token: &str, query: &str) -> (u16, Vec<Value>, Option<u64>) {
    let r = s
        .raw(Method::GET, &format!("/v1/feed{query}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let next = r
        .headers()
        .get("vigil-feed-next-after-seq")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let text = r.text().await.unwrap();
    let lines = match status {
        200 => text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
        _ => vec![serde_json::from_str(&text).unwrap()],
    };
    (status, lines, next)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_siem_pulls_the_journal_page_by_page_within_its_rights() {
    let s = TestServer::start().await;
    let alice = token_of(&s, "alice").await;
    let sent = s.demo(250).await;
    let journal = s.journal().await;

    // Page after page, from where the last one ended: every entry once, in seq order, with
    // its hash, byte-exact.
    let (mut after, mut got) = (0u64, Vec::new());
    while after < journal.len() as u64 {
        let (status, lines, next) =
            feed(&s, &alice, &format!("?after_seq={after}&limit=100")).await;
        assert_eq!(status, 200, "{lines:?}");
        assert!(lines.len() <= 100);
        let next = next.unwrap();
        assert!(next > after, "the feed moves on");
        after = next;
        got.extend(lines);
    }
    let seqs: Vec<u64> = got.iter().map(|l| l["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs[..journal.len()],
        (1..=journal.len() as u64).collect::<Vec<_>>()[..]
    );
    for (line, entry) in got.iter().zip(&journal) {
        assert_eq!(line["hash"], entry.hash);
        assert_eq!(line["id"], entry.event.id.to_string());
    }
    let first_sent = got
        .iter()
        .find(|l| l["id"] == sent[0].id.to_string())
        .unwrap();
    assert_eq!(
        serde_json::to_value(&sent[0].action).unwrap(),
        first_sent["action"]
    );
    // Each page is journaled.
    let traces: Vec<_> = s
        .journal()
        .await
        .into_iter()
        .filter(|e| e.event.action == "journal.feed")
        .collect();
    assert!(traces.len() >= 3);
    assert_eq!(traces[0].event.actor.id, "alice");
    let details = traces[0].event.details.as_ref().unwrap();
    assert_eq!(details["after_seq"], 0);
    assert_eq!(details["entries"], 100);

    // Polling an idle journal: the pages hold only alice's own earlier pages' records and are
    // not recorded again, so the journal stops growing.
    let (_, _, next) = feed(&s, &alice, &format!("?after_seq={after}")).await;
    let length = s.journal().await.len();
    let (status, lines, _) = feed(&s, &alice, &format!("?after_seq={}", next.unwrap())).await;
    assert_eq!((status, lines.len()), (200, 0));
    let (_, lines, _) = feed(&s, &alice, &format!("?after_seq={after}")).await;
    assert!(lines.iter().all(|l| l["action"] == "journal.feed"));
    assert_eq!(
        s.journal().await.len(),
        length,
        "idle polls are not journaled"
    );

    // Bad limits, in words; past the end, nothing.
    for bad in [
        "?limit=0",
        "?limit=10001",
        "?limit=many",
        "?after_seq=-1",
        "?after_seq=9223372036854775808",
    ] {
        let (status, e, _) = feed(&s, &alice, bad).await;
        assert_eq!(status, 400, "{bad}: {e:?}");
    }
    let (status, lines, next) = feed(&s, &alice, "?after_seq=999999999").await;
    assert_eq!((status, lines.len()), (200, 0));
    assert!(next.unwrap() < 999_999_999);

    // A scoped exporter who reads masked: only their section, masked, without hashes, and the
    // next page starts after the last entry read, kept or not.
    let made = s
        .raw(Method::POST, "/v1/roles")
        .bearer_auth(&alice)
        .json(&json!({"name": "finance-feed", "rights": ["read", "export"], "scope": "section:finance"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status().as_u16(), 201);
    s.add_user("siem", &["finance-feed"]).await;
    s.add_user("vera", &["viewer"]).await;
    let siem = token_of(&s, "siem").await;
    let (status, lines, next) = feed(&s, &siem, "?limit=10000").await;
    assert_eq!(status, 200);
    let finance = journal
        .iter()
        .filter(|e| e.event.section == "finance")
        .count();
    assert_eq!(lines.len(), finance);
    assert!(lines
        .iter()
        .all(|l| l["section"] == "finance" && l["hash"] == ""));
    assert!(next.unwrap() >= journal.len() as u64);
    // Without the export right, and for strangers and keys: nothing.
    let vera = token_of(&s, "vera").await;
    assert_eq!(feed(&s, &vera, "").await.0, 403);
    assert_eq!(get(&s, None, "/v1/feed").await.0, 401);
    let (status, _) = get(&s, Some(&s.key), "/v1/feed").await;
    assert!(matches!(status, 401 | 403));
}

/// Checkpoints published as they are signed: an email archive and a webhook each receive every
/// checkpoint once, with what a third party needs to check it (the signed text, the signature),
/// through the alert outbox (retried when refused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_reach_the_channels_they_are_published_to_as_they_are_signed() {
    use vigil_server::alerts::model::{AlertsConfig, ChannelSpec, Secret, Tls};

    use crate::fakes::{Fake, Refusal, Smtp};
    let smtp = Smtp::start().await;
    let hook = Fake::webhook().await;
    let mut alerts = AlertsConfig {
        retry_initial_seconds: 1,
        retry_max_seconds: 2,
        ..AlertsConfig::default()
    };
    alerts.channels.insert(
        "archive".into(),
        ChannelSpec::Email {
            host: "127.0.0.1".into(),
            port: Some(smtp.port),
            tls: Tls::None,
            username: None,
            password: None,
            from: "Vigil <vigil@example.com>".into(),
            to: vec!["checkpoints@auditor.example".into()],
        },
    );
    alerts.channels.insert(
        "notary".into(),
        ChannelSpec::Webhook {
            url: format!("{}/hook", hook.url()),
            secret: Secret::Value("notary key".into()),
        },
    );
    hook.refuse([Refusal::Broken]);
    let s = TestServer::start_with(move |c| {
        c.alerts = alerts;
        c.integrity.checkpoint_every = 100;
        c.integrity.publish = vec!["archive".into(), "notary".into()];
    })
    .await;
    vigil_server::alerts::check_setup(&s.state).await.unwrap();
    let alice = token_of(&s, "alice").await;
    let (_, key) = get(&s, Some(&alice), "/v1/integrity/key").await;
    let public = PublicKey::parse(key["pem"].as_str().unwrap()).unwrap();
    s.demo(300).await;
    let first = checkpoint_of_at_least(&s, &alice, 300).await;

    // The webhook refused the first time: the outbox tries again, and it gets each checkpoint
    // once (the built-in rule sends it critical entries too).
    let checkpoints_of = |got: Vec<crate::fakes::Got>| -> Vec<Value> {
        got.iter()
            .map(|g| g.json())
            .filter(|b| !b["checkpoint"].is_null())
            .collect()
    };
    let start = std::time::Instant::now();
    let body = loop {
        s.advance(chrono::Duration::seconds(3));
        s.state.alerts.wake.notify_one();
        if let Some(b) = checkpoints_of(hook.accepted())
            .into_iter()
            .find(|b| b["checkpoint"]["size"] == first["size"])
        {
            break b;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{:?}",
            hook.got().len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        checkpoints_of(hook.got()).len() > checkpoints_of(hook.accepted()).len(),
        "the first was refused, and sent again"
    );
    let cp = &body["checkpoint"];
    assert_eq!(
        body["headline"],
        format!("Vigil checkpoint: {} entries signed", first["size"])
    );
    assert!(body["entries"].as_array().unwrap().is_empty());
    public.verify(&checkpoint(cp)).unwrap();
    assert!(cp["text"]
        .as_str()
        .unwrap()
        .contains(&format!("root {}", first["root"].as_str().unwrap())));

    // The email archive: the signed text and the signature, in a message of its own.
    let start = std::time::Instant::now();
    let mail = loop {
        let mails = smtp.wait_for(1, Duration::from_secs(15)).await;
        if let Some(m) = mails
            .iter()
            .map(|m| {
                let message = mail_parser::MessageParser::default().parse(m).unwrap();
                let headers =
                    String::from_utf8_lossy(&m[..message.root_part().offset_body as usize])
                        .to_string();
                format!("{headers}{}", message.body_text(0).unwrap())
            })
            .find(|m| m.contains("Vigil checkpoint") && m.contains(first["root"].as_str().unwrap()))
        {
            break m;
        }
        assert!(start.elapsed() < Duration::from_secs(15));
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(mail.contains("checkpoints@auditor.example"), "{mail}");
    assert!(mail.contains(first["key_id"].as_str().unwrap()), "{mail}");
    assert!(
        mail.contains(first["signature"].as_str().unwrap()),
        "{mail}"
    );
    assert!(
        mail.contains(&format!(".checkpoint.{}@vigil>", first["size"])),
        "{mail}"
    );
    assert!(
        mail.contains("Signed text: vigil checkpoint v1\nkey "),
        "{mail}"
    );

    // The outbox lists them as checkpoints, by size; nothing was sent twice.
    let (_, list) = get(&s, Some(&alice), "/v1/alerts/deliveries").await;
    let published: Vec<&Value> = list["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "checkpoint")
        .collect();
    assert!(published.len() >= 2, "{list:#}");
    for d in &published {
        assert_eq!(d["status"], "sent", "{d:#}");
        assert!(d["rule"] == "", "{d:#}");
    }
    let checkpoints = published
        .iter()
        .filter(|d| d["seqs"][0] == first["size"])
        .count();
    assert_eq!(checkpoints, 2, "one per channel: {list:#}");
    // A checkpoint an export asks for is signed at once but not published: the next
    // scheduled one covers it. (The first export is covered by the checkpoint of the whole
    // journal; the second holds the first one's record, which none covers yet.)
    let mut asked = Value::Null;
    for _ in 0..2 {
        let answer = s
            .raw(Method::GET, "/v1/export")
            .query(&[("format", "ndjson")])
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap();
        let body = answer.text().await.unwrap();
        let proof: Value = serde_json::from_str(body.lines().last().unwrap()).unwrap();
        asked = proof["proof"]["checkpoint"]["size"].clone();
    }
    assert!(asked.as_u64().unwrap() > first["size"].as_u64().unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut sizes: Vec<Value> = checkpoints_of(hook.accepted())
        .iter()
        .map(|b| b["checkpoint"]["size"].clone())
        .collect();
    let all = sizes.len();
    sizes.sort_by_key(|v| v.as_u64());
    sizes.dedup();
    assert_eq!(sizes.len(), all, "each checkpoint once");
    assert_eq!(all, published.len() / 2);
    let (_, list) = get(&s, Some(&alice), "/v1/alerts/deliveries").await;
    assert!(
        !list["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["kind"] == "checkpoint" && d["seqs"][0] == asked),
        "{list:#}"
    );
}

#[tokio::test]
async fn publishing_checkpoints_to_a_channel_that_does_not_exist_is_refused_at_start() {
    let s = TestServer::start_with(|c| c.integrity.publish = vec!["nowhere".into()]).await;
    let err = vigil_server::alerts::check_setup(&s.state)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[integrity] publish names channel \"nowhere\", which is not in vigil.toml"),
        "{err}"
    );
}

async fn post_proof(s: &TestServer, token: Option<&str>, body: &str) -> (u16, Value) {
    let mut r = s
        .raw(Method::POST, "/v1/integrity/proof/entries")
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let answer = r.send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_are_proved_from_their_content_within_the_readers_rights() {
    use vigil_client::proof::{check_entries, EntryFault};
    let s = TestServer::start().await;
    let alice = token_of(&s, "alice").await;
    s.demo(400).await;
    let journal = s.journal().await;
    let head = journal.len() as u64;
    let cp = checkpoint(&checkpoint_of_at_least(&s, &alice, head).await);
    let size = cp.size;
    let entry = |seq: u64| journal[seq as usize - 1].clone();

    // Runs and single entries, the first and the last: checked from their content.
    let seqs = [1, 2, 3, 57, 200, 201, 202, size];
    let (status, p) = post_proof(&s, Some(&alice), &json!({ "seqs": seqs }).to_string()).await;
    assert_eq!(status, 200, "{p}");
    let proof: vigil_api::EntriesProof = serde_json::from_value(p).unwrap();
    assert_eq!(proof.size, size);
    assert_eq!(
        proof.prev.iter().map(|p| p.seq).collect::<Vec<_>>(),
        [57, 200, size],
        "the hash before each run that does not start at entry 1"
    );
    let shown: Vec<_> = seqs.iter().map(|&q| entry(q)).collect();
    let refs: Vec<_> = shown.iter().collect();
    check_entries(&refs, &proof, &cp).expect("the entries check out");
    // One entry alone, as the console's detail asks.
    let (status, one) = post_proof(
        &s,
        Some(&alice),
        &json!({ "seqs": [57], "size": size }).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{one}");
    let one: vigil_api::EntriesProof = serde_json::from_value(one).unwrap();
    check_entries(&[&entry(57)], &one, &cp).unwrap();

    // What a client must catch: an entry shown otherwise than it was recorded, an entry and
    // its hash both rewritten, a proof with a hash changed, missing or extra, the hash before a
    // run changed.
    let mut changed = shown.clone();
    changed[3].event.reason = Some("nothing to see".into());
    let refs: Vec<_> = changed.iter().collect();
    assert_eq!(
        check_entries(&refs, &proof, &cp),
        Err(EntryFault::Changed { seq: 57 })
    );
    let before = vigil_core::chain::decode(&entry(56).hash).unwrap();
    changed[3].hash = hex::encode(vigil_core::chain::link_stored(
        &before,
        &changed[3].event,
        57,
        &changed[3].received_at,
        changed[3].salt.as_ref(),
    ));
    let refs: Vec<_> = changed.iter().collect();
    assert_eq!(
        check_entries(&refs, &proof, &cp),
        Err(EntryFault::NotInTree { size })
    );
    let refs: Vec<_> = shown.iter().collect();
    let mut bad = proof.clone();
    let flipped = if bad.proof[0].starts_with("00") {
        "11"
    } else {
        "00"
    };
    bad.proof[0].replace_range(0..2, flipped);
    assert_eq!(
        check_entries(&refs, &bad, &cp),
        Err(EntryFault::NotInTree { size })
    );
    let mut short = proof.clone();
    short.proof.pop();
    assert!(matches!(
        check_entries(&refs, &short, &cp),
        Err(EntryFault::Malformed(_))
    ));
    let mut long = proof.clone();
    long.proof.push(long.proof[0].clone());
    assert!(matches!(
        check_entries(&refs, &long, &cp),
        Err(EntryFault::Malformed(_))
    ));
    let mut prev = proof.clone();
    prev.prev[1].hash = entry(57).hash.clone();
    assert!(check_entries(&refs, &prev, &cp).is_err());
    let mut no_prev = proof.clone();
    no_prev.prev.remove(0);
    assert!(matches!(
        check_entries(&refs, &no_prev, &cp),
        Err(EntryFault::Malformed(_))
    ));
    // Fewer entries than the proof was for.
    assert!(check_entries(&refs[1..], &proof, &cp).is_err());

    // In any order, each once: the proof of the seqs sorted.
    let (status, any) = post_proof(
        &s,
        Some(&alice),
        &json!({"seqs": [200, 57, 200, 1], "size": size}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{any}");
    let any: vigil_api::EntriesProof = serde_json::from_value(any).unwrap();
    check_entries(&[&entry(1), &entry(57), &entry(200)], &any, &cp).unwrap();
    // Bodies that name no proof, each refused in words.
    let many: Vec<u64> = (1..=10_001).collect();
    for (body, field) in [
        ("{}".to_owned(), "seqs"),
        (json!({"seqs": []}).to_string(), "seqs"),
        (json!({"seqs": [0]}).to_string(), "seqs"),
        (json!({"seqs": many}).to_string(), "10000"),
        (json!({"seqs": [1], "size": 0}).to_string(), "size"),
        (json!({"seqs": [11], "size": 10}).to_string(), "seqs"),
        (
            json!({"seqs": [1], "size": head + 1000}).to_string(),
            "size",
        ),
        (json!({"seqs": [1], "extra": true}).to_string(), "extra"),
        (json!({"seqs": ["1"]}).to_string(), "seqs"),
        (json!({"seqs": [-1]}).to_string(), "seqs"),
        ("[1]".to_owned(), "seqs"),
        ("{\"seqs\": [1".to_owned(), "seqs"),
    ] {
        let (status, e) = post_proof(&s, Some(&alice), &body).await;
        assert_eq!(status, 400, "{body}: {e}");
        let message = e["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{body}: {message}");
    }
    let text = s
        .raw(Method::POST, "/v1/integrity/proof/entries")
        .bearer_auth(&alice)
        .header("content-type", "text/plain")
        .body("{\"seqs\": [1]}")
        .send()
        .await
        .unwrap();
    assert_eq!(text.status().as_u16(), 415);
    // An entry that does not exist (yet), one newer than the newest checkpoint: refused before
    // anything is read.
    let (status, e) = post_proof(
        &s,
        Some(&alice),
        &json!({"seqs": [1, head + 50]}).to_string(),
    )
    .await;
    assert_eq!(status, 400, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("newest checkpoint"),
        "{e}"
    );
    s.demo(1).await;
    let newest = s.journal().await.len() as u64;
    let (status, e) = post_proof(&s, Some(&alice), &json!({"seqs": [newest]}).to_string()).await;
    assert_eq!(status, 400, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("newest checkpoint"),
        "{e}"
    );

    // Within the reader's rights: a masked reader gets no proof, a scoped one proofs of the
    // entries in scope only (any other is the 404 of an entry that does not exist); strangers
    // and ingest keys nothing.
    let made = s
        .raw(Method::POST, "/v1/roles")
        .bearer_auth(&alice)
        .json(&json!({"name": "finance-clear", "rights": ["read", "unmask"], "scope": "section:finance"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status().as_u16(), 201);
    s.add_user("vera", &["viewer"]).await;
    s.add_user("fin", &["finance-clear"]).await;
    let finance: Vec<u64> = journal
        .iter()
        .filter(|e| e.event.section == "finance")
        .map(|e| e.seq)
        .collect();
    let other = journal
        .iter()
        .find(|e| e.event.section != "finance")
        .unwrap()
        .seq;
    // The viewer proves what she is shown, masked: the proof gives her the commitments of what
    // she does not see.
    let vera = token_of(&s, "vera").await;
    let (status, p) = post_proof(
        &s,
        Some(&vera),
        &json!({"seqs": finance, "size": size}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    assert!(!p.to_string().contains("\"salt\""), "{p}");
    let p: vigil_api::EntriesProof = serde_json::from_value(p).unwrap();
    let mut hers = Vec::new();
    for &seq in &finance {
        let id = entry(seq).event.id;
        let (status, shown) = get(&s, Some(&vera), &format!("/v1/events/{id}")).await;
        assert_eq!(status, 200);
        let shown: vigil_core::StoredEvent = serde_json::from_value(shown).unwrap();
        assert!(shown.hash.is_empty() && shown.salt.is_none());
        hers.push(shown);
    }
    assert!(
        hers.iter().any(|e| e.event.ip != entry(e.seq).event.ip),
        "some are masked"
    );
    check_entries(&hers.iter().collect::<Vec<_>>(), &p, &cp).expect("her entries check out");
    // Shown otherwise than stored where she does see the value: caught.
    let mut changed = hers.clone();
    changed[0].event.action = "nothing.to.see".into();
    assert!(check_entries(&changed.iter().collect::<Vec<_>>(), &p, &cp).is_err());
    // Her seals are hers: the salt of a part she does not see, added, is refused.
    let mut widened = p.clone();
    widened.seals[0].salt = Some(hex::encode(entry(finance[0]).salt.unwrap()));
    assert!(matches!(
        check_entries(&hers.iter().collect::<Vec<_>>(), &widened, &cp),
        Err(EntryFault::Malformed(_))
    ));
    let fin = token_of(&s, "fin").await;
    let (status, p) = post_proof(
        &s,
        Some(&fin),
        &json!({"seqs": finance, "size": size}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    let p: vigil_api::EntriesProof = serde_json::from_value(p).unwrap();
    let theirs: Vec<_> = finance.iter().map(|&q| entry(q)).collect();
    check_entries(&theirs.iter().collect::<Vec<_>>(), &p, &cp).unwrap();
    let mut mixed = vec![finance[0], other];
    mixed.sort();
    let (status, e) = post_proof(
        &s,
        Some(&fin),
        &json!({"seqs": mixed, "size": size}).to_string(),
    )
    .await;
    assert_eq!(status, 404, "{e}");
    assert_eq!(post_proof(&s, None, "{\"seqs\": [1]}").await.0, 401);
    assert!(matches!(
        post_proof(&s, Some(&s.key), "{\"seqs\": [1]}").await.0,
        401 | 403
    ));
}

/// `vigil verify` with `args`, the environment `env`; (exit code, stdout, stderr).
async fn vigil_verify(
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
) -> (Option<i32>, String, String) {
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
            .arg("verify")
            .args(&args)
            .env_remove("VIGIL_PASSWORD")
            .env_remove("VIGIL_TOKEN")
            .envs(env)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vigil_verify_url_checks_a_running_store_through_its_api() {
    let s = TestServer::start_with(|c| c.integrity.checkpoint_every = 100).await;
    let alice = token_of(&s, "alice").await;
    s.demo(350).await;
    let head = s.journal().await.len() as u64;
    checkpoint_of_at_least(&s, &alice, head).await;
    let dir = tempfile::tempdir().unwrap();
    let key = s.reader.integrity_key().await.unwrap();
    let key_file = dir.path().join("store.pem");
    std::fs::write(&key_file, &key.pem).unwrap();
    let password = || vec![("VIGIL_PASSWORD", PASSWORD.to_owned())];
    let args = |extra: &[&str]| {
        let mut a = vec!["--url".to_owned(), s.url.clone()];
        a.extend(extra.iter().map(|x| x.to_string()));
        a
    };
    let key_arg = key_file.to_str().unwrap();

    let (code, out, err) =
        vigil_verify(args(&["--user", "alice", "--key", key_arg]), password()).await;
    assert_eq!(code, Some(0), "{out}{err}");
    let verified: u64 = out
        .strip_prefix("verified ")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(verified >= head, "{out}");
    assert!(
        out.contains(&format!("each signed by key {}", key.key_id)),
        "{out}"
    );
    // The same as JSON, with a session token in place of the password.
    let (code, out, err) = vigil_verify(
        args(&["--key", key_arg, "--json"]),
        vec![("VIGIL_TOKEN", alice.clone())],
    )
    .await;
    assert_eq!(code, Some(0), "{err}");
    let found: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(found["ok"], true);
    let kept = found["checkpoints"].as_u64().unwrap();
    let listed = s.reader.checkpoints(0, 1000).await.unwrap();
    assert!(kept >= 2, "{found}");
    assert_eq!(
        kept,
        listed.len() as u64,
        "every checkpoint the store lists: {found}"
    );
    assert!(listed.windows(2).all(|w| w[0].size < w[1].size));
    // The list, page by page, and what it refuses.
    let (status, page) = get(
        &s,
        Some(&alice),
        &format!("/v1/integrity/checkpoints?after={}&limit=1", listed[0].size),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["checkpoints"].as_array().unwrap().len(), 1);
    assert_eq!(page["checkpoints"][0]["size"], listed[1].size);
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("after=abc", "after"),
        ("after=9223372036854775808", "after"),
    ] {
        let (status, e) = get(
            &s,
            Some(&alice),
            &format!("/v1/integrity/checkpoints?{query}"),
        )
        .await;
        assert_eq!(status, 400, "{query}: {e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(field),
            "{query}: {e}"
        );
    }
    assert_eq!(get(&s, None, "/v1/integrity/checkpoints").await.0, 401);
    assert_eq!(found["checkpoints_verified"].as_u64(), Some(kept));

    // Another key than the store's: named, exit 1.
    let (other, _) = vigil_core::checkpoint::SigningKey::generate().unwrap();
    let (code, out, err) = vigil_verify(
        args(&["--user", "alice", "--key", &other.public().to_base64()]),
        password(),
    )
    .await;
    assert_eq!(code, Some(1), "{out}");
    assert!(err.contains("is not a key you gave"), "{err}");
    // What it needs, each refused in words.
    let (code, _, err) = vigil_verify(args(&["--user", "alice"]), password()).await;
    assert_eq!(code, Some(1));
    assert!(err.contains("--key"), "{err}");
    let (code, _, err) = vigil_verify(args(&["--user", "alice", "--key", key_arg]), vec![]).await;
    assert_eq!(code, Some(1));
    assert!(err.contains("VIGIL_PASSWORD"), "{err}");
    let (code, _, err) = vigil_verify(args(&["--key", key_arg]), vec![]).await;
    assert_eq!(code, Some(1));
    assert!(err.contains("--user"), "{err}");
    let (code, _, err) = vigil_verify(
        args(&["--user", "alice", "--key", key_arg]),
        vec![("VIGIL_PASSWORD", "wrong password!".into())],
    )
    .await;
    assert_eq!(code, Some(1));
    assert!(err.contains("signing in"), "{err}");
    // A viewer reads personal fields masked: the journal is sealed, so she is shown the
    // checkpoints, but her feed has no hashes: the whole journal cannot be checked as her, and
    // that is said, not taken for a fault of the journal.
    let made = s
        .raw(Method::POST, "/v1/roles")
        .bearer_auth(&alice)
        .json(&json!({"name": "masked-exporter", "rights": ["read", "export"], "scope": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status().as_u16(), 201);
    s.add_user("vera", &["masked-exporter"]).await;
    let vera = token_of(&s, "vera").await;
    assert_eq!(
        get(&s, Some(&vera), "/v1/integrity/checkpoints").await.0,
        200
    );
    let (code, out, err) =
        vigil_verify(args(&["--user", "vera", "--key", key_arg]), password()).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(
        err.contains("withholds the hashes") && err.contains("unmask"),
        "{out}{err}"
    );

    // Someone with the database file rewrites an entry's content: the store, asked through its
    // API, is caught at that entry.
    let victim = s.journal().await[120].clone();
    let db = s.database.clone();
    let stopped = s.stop().await;
    {
        let conn = vigil_testkit::intrude(&db);
        conn.execute(
            "UPDATE events SET body = (SELECT body FROM events WHERE seq = ?1) WHERE seq = ?2",
            [victim.seq as i64 + 1, victim.seq as i64],
        )
        .unwrap();
    }
    let s = stopped.start().await;
    let (code, out, err) = vigil_verify(
        vec![
            "--url".into(),
            s.url.clone(),
            "--user".into(),
            "alice".into(),
            "--key".into(),
            key_arg.into(),
        ],
        password(),
    )
    .await;
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("entry {} (id", victim.seq)) && out.contains("content changed"),
        "{out}"
    );
    assert!(err.contains("does not verify"), "{err}");
}

/// A hostile store on 127.0.0.1:0 that serves `journal` through its feed, `key` as its key
/// and, for any `after`, the checkpoints `list` (all of them, again and again).
async fn hostile_store(
    journal: Vec<vigil_core::StoredEvent>,
    key: vigil_api::IntegrityKey,
    list: Vec<vigil_api::SignedCheckpoint>,
) -> String {
    use axum::extract::Query;
    use axum::routing::get;
    use std::collections::HashMap;
    let journal = std::sync::Arc::new(journal);
    let app = axum::Router::new()
        .route(
            "/v1/integrity/key",
            get(move || async move { axum::Json(key) }),
        )
        .route(
            "/v1/integrity/checkpoints",
            get(move || async move { axum::Json(vigil_api::CheckpointList { checkpoints: list }) }),
        )
        .route(
            "/v1/feed",
            get(move |Query(q): Query<HashMap<String, u64>>| async move {
                let after = q.get("after_seq").copied().unwrap_or(0);
                let limit = q.get("limit").copied().unwrap_or(1000) as usize;
                let page: Vec<_> = journal
                    .iter()
                    .filter(|e| e.seq > after)
                    .take(limit)
                    .collect();
                let next = page.last().map_or(journal.len() as u64, |e| e.seq);
                // As the store's feed writes them: the salt of a sealed entry last.
                let body: String = page
                    .iter()
                    .map(|e| {
                        let mut line = serde_json::to_value(e).unwrap();
                        if let Some(salt) = e.salt {
                            line["salt"] = json!(hex::encode(salt));
                        }
                        line.to_string() + "\n"
                    })
                    .collect();
                ([(vigil_api::FEED_NEXT_HEADER, next.to_string())], body)
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vigil_verify_url_is_not_fooled_by_a_store_that_withholds_or_repeats_its_checkpoints() {
    let s = TestServer::start().await;
    let alice = token_of(&s, "alice").await;
    s.demo(150).await;
    let head = s.journal().await.len() as u64;
    checkpoint_of_at_least(&s, &alice, head).await;
    let journal = s.journal().await;
    let key = s.reader.integrity_key().await.unwrap();
    let list = s.reader.checkpoints(0, 1000).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("store.pem");
    std::fs::write(&key_file, &key.pem).unwrap();
    let run = |url: String| {
        vigil_verify(
            vec![
                "--url".into(),
                url,
                "--key".into(),
                key_file.to_str().unwrap().into(),
            ],
            vec![("VIGIL_TOKEN", "any".into())],
        )
    };

    // The store's own entries, every hash holding, but no checkpoint: nothing proves them.
    let withheld = hostile_store(journal.clone(), key.clone(), Vec::new()).await;
    let (code, out, err) = run(withheld).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("no checkpoint signed by a key you gave covers"),
        "{out}"
    );
    assert!(err.contains("does not verify"), "{err}");

    // Its checkpoints answered again for every page: read once, and the walk ends.
    let repeating = hostile_store(journal.clone(), key.clone(), list.clone()).await;
    let (code, out, err) = tokio::time::timeout(Duration::from_secs(60), run(repeating))
        .await
        .expect("the walk ends");
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains(&format!("{} checkpoint", list.len())), "{out}");

    // Entries made up and chained anew, under the store's key: no checkpoint of the key holds them.
    let mut forged = journal.clone();
    let mut prev = vigil_core::chain::GENESIS;
    for e in forged.iter_mut() {
        e.event.reason = Some("all in order".into());
        let h =
            vigil_core::chain::link_stored(&prev, &e.event, e.seq, &e.received_at, e.salt.as_ref());
        e.hash = hex::encode(h);
        prev = h;
    }
    let made_up = hostile_store(forged, key.clone(), list.clone()).await;
    let (code, out, _) = run(made_up).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("its root does not match the journal"), "{out}");
}
