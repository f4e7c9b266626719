//! The `vigil` binary, run as a user would.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn vigil(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .env_remove("VIGIL_DATABASE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vigil starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn demo_verify_and_a_tampered_entry_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let db = db.to_str().unwrap();
    let out = vigil(
        &[
            "demo",
            "--database",
            db,
            "--events",
            "3000",
            "--until",
            "2026-11-26T12:00:00Z",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = vigil(&["verify", "--database", &format!("sqlite://{db}")], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("verified 3000 entries; head hash "),
        "{}",
        text(&out.stdout)
    );

    let again = vigil(&["demo", "--database", db], "");
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("the journal already has 3000 events"),
        "{}",
        text(&again.stderr)
    );

    // Someone with file access drops the guard and rewrites history: verify names the entry.
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(
        "DROP TRIGGER events_no_update; \
         UPDATE events SET body = (SELECT body FROM events WHERE seq = 1235) WHERE seq = 1234;",
    )
    .unwrap();
    drop(conn);
    let out = vigil(&["verify", "--database", db], "");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("vigil: the journal does not verify: entry 1234 (id "),
        "{err}"
    );
    assert!(err.contains("content changed"), "{err}");
}

#[test]
fn users_and_keys_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let db = db.to_str().unwrap();
    let out = vigil(
        &[
            "user",
            "add",
            "alice",
            "--role",
            "admin",
            "--password-stdin",
            "--database",
            db,
        ],
        "correct horse battery\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = vigil(
        &[
            "user",
            "add",
            "alice",
            "--role",
            "admin",
            "--password-stdin",
            "--database",
            db,
        ],
        "correct horse battery\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "vigil: creating the user: user \"alice\" already exists\n"
    );
    let out = vigil(
        &[
            "user",
            "add",
            "bob",
            "--role",
            "boss",
            "--password-stdin",
            "--database",
            db,
        ],
        "correct horse battery\n",
    );
    assert_eq!(
        text(&out.stderr),
        "vigil: creating the user: role \"boss\" does not exist: the built-in roles are admin, \
         auditor, investigator, viewer, and custom ones come from vigil role add\n"
    );
    let out = vigil(
        &[
            "user",
            "add",
            "bob",
            "--role",
            "viewer",
            "--password-stdin",
            "--database",
            db,
        ],
        "short\n",
    );
    assert_eq!(
        text(&out.stderr),
        "vigil: the password needs at least 10 characters\n"
    );
    let out = vigil(
        &["user", "add", "bob", "--role", "viewer", "--database", db],
        "",
    );
    assert!(
        text(&out.stderr).contains("pass --password-stdin"),
        "{}",
        text(&out.stderr)
    );

    let out = vigil(&["key", "create", "backoffice", "--database", db], "");
    assert!(out.status.success());
    let key = text(&out.stdout);
    let last = key.lines().last().unwrap();
    assert!(last.starts_with("vik_") && last.len() == 47, "{key}");

    let out = vigil(&["serve", "--database", "postgres://localhost/vigil"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("PostgreSQL is not available in this build yet"));
    let out = vigil(&["config", "example"], "");
    assert!(text(&out.stdout).contains("token_ttl_hours = 12"));
}

#[test]
fn serve_starts_says_how_to_begin_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fresh/v.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            db.to_str().unwrap(),
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..4 {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
        lines.push(line);
    }
    assert!(
        lines[0].contains("listening on http://127.0.0.1:") && lines[0].contains("0 events"),
        "{lines:?}"
    );
    if !lines[3].contains("vigil user add NAME --role admin --database") {
        let _ = child.kill();
        panic!("{lines:?}");
    }
    assert_eq!(
        lines[1],
        "alerts: no channel yet (vigil alerts channel add, or [alerts.channels] in vigil.toml)\n"
    );
    assert_eq!(lines[2], "No users yet. Create the first admin with:\n");
    assert!(
        db.exists(),
        "the first start creates the database and its folder"
    );
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(
        child.wait().unwrap().success(),
        "SIGTERM stops vigil cleanly"
    );
    // The store's own start and stop are in its journal, by the system account `vigil`.
    let out = vigil(
        &[
            "export",
            "--format",
            "ndjson",
            "--out",
            dir.path().join("j.ndjson").to_str().unwrap(),
            "--database",
            db.to_str().unwrap(),
            "--no-proof",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = std::fs::read_to_string(dir.path().join("j.ndjson")).unwrap();
    let seen: Vec<(String, String, String)> = lines
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|v| {
            let s = |p: &str| {
                v.pointer(p)
                    .and_then(|x| x.as_str())
                    .unwrap_or("")
                    .to_owned()
            };
            (s("/action"), s("/actor/id"), s("/actor/kind"))
        })
        .collect();
    let system = |a: &str| (a.to_owned(), "vigil".to_owned(), "system".to_owned());
    // Newest first: the stop, then the start.
    assert_eq!(seen, [system("vigil.stop"), system("vigil.start")]);
}

#[test]
fn roles_and_users_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let db = db.to_str().unwrap();
    let run = |args: &[&str], stdin: &str| {
        let mut all = args.to_vec();
        all.extend(["--database", db, "--by", "root"]);
        vigil(&all, stdin)
    };
    let out = run(
        &[
            "role",
            "add",
            "finance-auditor",
            "--scope",
            "section:finance",
            "--can",
            "read,annotate,export",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "role \"finance-auditor\" created: read,annotate,export on section:finance\n"
    );
    let out = run(&["role", "add", "x", "--can", "read,fly"], "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "vigil: \"fly\" is not a right; the rights are: read, unmask, annotate, review, export, alerts, marks, accounts\n"
    );
    let out = run(
        &["role", "add", "x", "--can", "read", "--scope", "colour:red"],
        "",
    );
    assert!(
        text(&out.stderr).starts_with("vigil: scope: column 1: "),
        "{}",
        text(&out.stderr)
    );
    let out = run(
        &[
            "user",
            "add",
            "fiona",
            "--role",
            "finance-auditor",
            "--password-stdin",
        ],
        "correct horse battery\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = vigil(&["role", "list", "--database", db], "");
    let listed = text(&out.stdout);
    assert!(listed.starts_with("NAME "), "{listed}");
    assert!(
        listed.contains("admin ") && listed.contains("every entry (built in)"),
        "{listed}"
    );
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("finance-auditor") && l.ends_with("section:finance")),
        "{listed}"
    );
    let out = run(&["role", "remove", "finance-auditor"], "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "vigil: role \"finance-auditor\" is held by fiona: take it from them first\n"
    );
    let out = run(&["user", "roles", "fiona", "--role", "viewer"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = vigil(&["user", "list", "--database", db], "");
    let users = text(&out.stdout);
    assert!(
        users
            .lines()
            .any(|l| l.starts_with("fiona") && l.contains(" viewer ")),
        "{users}"
    );
    let out = run(&["role", "remove", "finance-auditor"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&["role", "remove", "viewer"], "");
    assert_eq!(
        text(&out.stderr),
        "vigil: \"viewer\" is a built-in role and cannot be removed\n"
    );
    // Each change is journaled with the one acting.
    let out = vigil(&["verify", "--database", db], "");
    assert!(
        text(&out.stdout).starts_with("verified 4 entries"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_second_server_on_the_same_journal_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let db = db.to_str().unwrap();
    let mut first = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database", db])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Keep reading the first server's stderr open: a closed pipe would make its next line fail.
    let mut first_stderr = std::io::BufReader::new(first.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut first_stderr, &mut line).unwrap();
    assert!(line.contains("listening"), "{line}");
    let second = vigil(&["serve", "--listen", "127.0.0.1:0", "--database", db], "");
    assert_eq!(second.status.code(), Some(1));
    let err = text(&second.stderr);
    assert!(err.contains("is in use by another vigil process"), "{err}");
    // The verbs that only need the journal work beside the running server.
    let out = vigil(&["key", "create", "beside", "--database", db], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Export needs the index the server holds: it says what to do instead.
    let out_file = dir.path().join("x.csv");
    let out = vigil(
        &[
            "export",
            "--database",
            db,
            "--format",
            "csv",
            "--out",
            out_file.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("stop `vigil serve` on this journal first, or export through it"),
        "{err}"
    );
    assert!(!out_file.exists());
    first.kill().unwrap();
    first.wait().unwrap();
    drop(first_stderr);
}

#[test]
fn export_from_the_command_line_writes_the_file_its_about_and_a_journal_entry() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let db = db.to_str().unwrap();
    let out = vigil(
        &[
            "demo",
            "--database",
            db,
            "--events",
            "2000",
            "--until",
            "2026-11-26T12:00:00Z",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv_path = dir.path().join("finance.csv");
    let export = |format: &str, out_path: &std::path::Path, q: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vigil"));
        c.args([
            "export",
            "--database",
            db,
            "--q",
            q,
            "--format",
            format,
            "--tz",
            "+01:00",
        ])
        .arg("--out")
        .arg(out_path)
        .env_remove("VIGIL_DATABASE")
        .env("USER", "ana.auditor");
        if format == "csv" {
            c.arg("--bom");
        }
        c.output().unwrap()
    };
    let out = export("csv", &csv_path, "section:finance after:2026-11-20");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("written to"),
        "{}",
        text(&out.stderr)
    );
    let bytes = std::fs::read(&csv_path).unwrap();
    assert!(bytes.starts_with("\u{feff}occurred_at,seq,id,".as_bytes()));
    let about: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("finance.csv.about.json")).unwrap())
            .unwrap();
    let rows = csv::Reader::from_reader(&bytes[3..]).records().count() as u64;
    assert!(rows > 0);
    assert_eq!(about["rows"], rows);
    assert_eq!(about["generated_by"], "ana.auditor");
    assert_eq!(about["time_zone"], "+01:00");
    assert_eq!(
        about["filters"],
        serde_json::json!([
            "section is finance",
            "occurred at or after 2026-11-20T00:00:00+01:00 (2026-11-19T23:00:00Z)"
        ])
    );
    assert_eq!(
        about["file_sha256"],
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes))
    );
    // The journal records the export, and still verifies.
    let out = vigil(&["verify", "--database", db], "");
    assert!(
        text(&out.stdout).starts_with("verified 2001 entries"),
        "{}",
        text(&out.stdout)
    );

    // Bad input: a clear error, no file, nothing half-written left behind.
    let bad = dir.path().join("bad.xlsx");
    let out = export("pdf", &bad, "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("csv, xlsx, json, ndjson"),
        "{}",
        text(&out.stderr)
    );
    let out = export("xlsx", &bad, "actor:");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("vigil: --q: column 7"),
        "{}",
        text(&out.stderr)
    );
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("bad") || n.ends_with(".partial"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn marks_are_listed_added_changed_and_removed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let db = db.to_str().unwrap();
    let out = vigil(&["demo", "--database", db, "--events", "100"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let marks = |args: &[&str]| {
        let mut all = vec!["marks"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--database", db, "--by", "root"]);
        vigil(&all, "")
    };
    let out = marks(&["list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = text(&out.stdout);
    assert!(
        listed.contains("suspicious      #d9822b  suspect / suspicious"),
        "{listed}"
    );
    assert!(
        listed.contains("player-request  #2f7dd1  sur demande du joueur / at the player's request"),
        "{listed}"
    );
    let out = marks(&[
        "add",
        "chargeback",
        "--fr",
        "rétrofacturation",
        "--en",
        "chargeback",
        "--colour",
        "#AA0000",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "added mark chargeback (rétrofacturation / chargeback, #aa0000)\n"
    );
    let out = marks(&[
        "add",
        "chargeback",
        "--fr",
        "x",
        "--en",
        "y",
        "--colour",
        "#000000",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "vigil: mark \"chargeback\" already exists\n"
    );
    let out = marks(&[
        "add", "Bad", "--fr", "x", "--en", "y", "--colour", "#000000",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("key: \"Bad\" is not a mark key"),
        "{}",
        text(&out.stderr)
    );
    let out = marks(&["set", "chargeback", "--en", "charged back"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "mark chargeback is now rétrofacturation / charged back, #aa0000\n"
    );
    let out = marks(&["set", "chargeback"]);
    assert_eq!(
        text(&out.stderr),
        "vigil: nothing to change: give --fr, --en or --colour\n"
    );
    let out = marks(&["remove", "escalated"]);
    assert_eq!(text(&out.stdout), "removed mark escalated\n");
    let out = marks(&["remove", "escalated"]);
    assert_eq!(text(&out.stderr), "vigil: mark \"escalated\" not found\n");
    let listed = text(&marks(&["list"]).stdout);
    assert!(
        !listed.contains("escalated") && listed.contains("charged back"),
        "{listed}"
    );
    // Each change is in the journal, by root, and the journal verifies.
    let out = vigil(&["verify", "--database", db], "");
    assert!(
        text(&out.stdout).starts_with("verified 103 entries"),
        "{}",
        text(&out.stdout)
    );
    let entries = tokio::runtime::Runtime::new().unwrap().block_on(async {
        use vigil_store::JournalStore;
        let store = vigil_store_sqlite::SqliteStore::open_journal(
            db.as_ref(),
            vigil_store_sqlite::system_clock(),
        )
        .unwrap();
        store.scan(1, 1000).await.unwrap()
    });
    let actions: Vec<&str> = entries
        .iter()
        .filter(|e| e.event.section == "vigil" && e.event.actor.id == "root")
        .map(|e| e.event.action.as_str())
        .collect();
    assert_eq!(actions, ["mark.create", "mark.update", "mark.delete"]);
}
