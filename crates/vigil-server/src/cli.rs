//! What the CLI verbs do, as plain functions (the binary only parses arguments).

use anyhow::{bail, Context};
use chrono::{DateTime, DurationRound, Utc};
use vigil_core::chain::Verifier;
use vigil_store::{NewKey, NewUser};

use crate::auth;
use crate::state::AppState;

/// The built-in roles.
pub const ROLES: &[&str] = &["admin", "auditor", "investigator", "viewer"];

/// An error and its causes on one line.
pub fn one_line(e: &anyhow::Error) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

/// Entries in the journal.
pub async fn event_count(state: &AppState) -> anyhow::Result<u64> {
    Ok(state.store.head().await?.map_or(0, |(seq, _)| seq))
}

/// Creates a user after checking the name, roles and password rules.
pub async fn add_user(
    state: &AppState,
    name: &str,
    roles: &[String],
    password: &str,
) -> anyhow::Result<()> {
    let valid_name = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if !valid_name {
        bail!("user name {name:?} must be 1 to 64 letters, digits, '.', '_', '-' or '@'");
    }
    if let Some(bad) = roles.iter().find(|r| !ROLES.contains(&r.as_str())) {
        bail!("role {bad:?} is not one of: {}", ROLES.join(", "));
    }
    auth::check_password_rules(password).map_err(anyhow::Error::msg)?;
    let password = password.to_owned();
    let password_hash = tokio::task::spawn_blocking(move || auth::hash_password(&password)).await?;
    let mut roles = roles.to_vec();
    roles.dedup();
    state
        .store
        .add_user(&NewUser {
            name: name.into(),
            password_hash,
            roles,
            created_at: state.now(),
        })
        .await
        .context("creating the user")?;
    Ok(())
}

/// Creates an ingest key and returns it (the store keeps only its hash).
pub async fn create_key(state: &AppState, name: &str) -> anyhow::Result<String> {
    if name.trim().is_empty() || name.len() > 64 {
        bail!("key name {name:?} must be 1 to 64 characters");
    }
    let key = auth::new_secret(auth::KEY_PREFIX);
    state
        .store
        .add_key(&NewKey {
            name: name.into(),
            key_hash: auth::secret_hash(&key),
            created_at: state.now(),
        })
        .await
        .context("creating the ingest key")?;
    Ok(key)
}

/// Ends every live session of a user, journaled as `user.revoke` by `by`: how many.
pub async fn revoke_user(state: &AppState, by: &str, name: &str) -> anyhow::Result<u64> {
    let now = state.now();
    let journal = crate::journal::entry(
        now,
        &crate::journal::staff(by),
        "user.revoke",
        vigil_core::Kind::Change,
        crate::journal::target("user", name, None),
        serde_json::json!({}),
    );
    Ok(state.store.revoke_user_sessions(name, now, journal).await?)
}

/// Lifts a sign-in lock, journaled as `user.unlock` by `by` when one held: whether it did.
pub async fn unlock_user(state: &AppState, by: &str, name: &str) -> anyhow::Result<bool> {
    let now = state.now();
    let journal = crate::journal::entry(
        now,
        &crate::journal::staff(by),
        "user.unlock",
        vigil_core::Kind::Change,
        crate::journal::target("user", name, None),
        serde_json::json!({}),
    );
    Ok(state.store.unlock_sign_in(name, now, journal).await?)
}

/// The ingest keys as a table: name, created, revoked.
pub async fn list_keys(state: &AppState) -> anyhow::Result<String> {
    let keys = state.store.ingest_keys().await?;
    let width = keys
        .iter()
        .map(|k| k.name.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let time = |t: &DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let mut out = format!("{:width$}  {:23}  REVOKED\n", "NAME", "CREATED");
    for k in keys {
        out.push_str(&format!(
            "{:width$}  {:23}  {}\n",
            k.name,
            time(&k.created_at),
            k.revoked_at.as_ref().map_or("-".to_owned(), time)
        ));
    }
    Ok(out)
}

/// Revokes an ingest key, journaled as `key.revoke` by `by`.
pub async fn revoke_key(state: &AppState, by: &str, name: &str) -> anyhow::Result<()> {
    let now = state.now();
    let journal = crate::journal::entry(
        now,
        &crate::journal::staff(by),
        "key.revoke",
        vigil_core::Kind::Change,
        crate::journal::target("ingest_key", name, None),
        serde_json::json!({}),
    );
    Ok(state.store.revoke_key(name, now, journal).await?)
}

/// `--until`, or now rounded down to the hour.
pub fn parse_until(until: Option<&str>) -> anyhow::Result<DateTime<Utc>> {
    match until {
        Some(s) => Ok(DateTime::parse_from_rfc3339(s)
            .with_context(|| {
                format!("--until {s:?} is not an RFC 3339 time like 2026-11-26T12:00:00Z")
            })?
            .with_timezone(&Utc)),
        None => Ok(Utc::now().duration_trunc(chrono::Duration::hours(1))?),
    }
}

/// Writes `n` demo events into an empty journal, in batches of 1000; returns how many.
pub async fn demo(
    state: &AppState,
    n: usize,
    seed: u64,
    until: DateTime<Utc>,
    days: u32,
    mut progress: impl FnMut(usize),
) -> anyhow::Result<usize> {
    let existing = event_count(state).await?;
    if existing > 0 {
        bail!("the journal already has {existing} events; demo data goes into an empty journal (pick another --database)");
    }
    anyhow::ensure!(days > 0, "--days must be at least 1");
    let mut demo = vigil_demo::Demo::new(seed, until, days, n);
    let mut done = 0;
    while done < n {
        let batch = demo.take((n - done).min(1000));
        done += batch.len();
        state
            .store
            .append(batch)
            .await
            .context("writing demo events")?;
        progress(done);
    }
    Ok(done)
}

/// Walks the whole chain; `Err` names the first entry that does not match.
pub async fn verify(state: &AppState) -> anyhow::Result<String> {
    let mut v = Verifier::default();
    loop {
        let batch = state.store.scan(v.verified() + 1, 10_000).await?;
        if batch.is_empty() {
            break;
        }
        for e in &batch {
            v.check(e).context("the journal does not verify")?;
        }
    }
    Ok(format!(
        "verified {} entries; head hash {}",
        v.verified(),
        v.head()
    ))
}

/// What `vigil export` is asked.
#[derive(Debug, Clone)]
pub struct ExportArgs {
    /// The query.
    pub q: String,
    /// `csv`, `xlsx`, `json` or `ndjson`.
    pub format: String,
    /// The UTC offset of the query's dates (`+01:00`; default UTC).
    pub tz: Option<String>,
    /// Newest or oldest first.
    pub order: vigil_store::Order,
    /// CSV: start with a byte-order mark.
    pub bom: bool,
    /// The file to write.
    pub out: std::path::PathBuf,
    /// Who runs it (the journal entry's actor).
    pub by: String,
}

/// Exports from the journal itself (the store opened with its index) to `args.out`, written
/// under a temporary name and renamed when complete, with `<out>.about.json` beside CSV and
/// NDJSON files; records the export in the journal. `progress` hears (rows done, rows expected).
pub async fn export(
    state: &AppState,
    args: &ExportArgs,
    progress: impl FnMut(u64, u64) + Send + 'static,
) -> anyhow::Result<vigil_export::About> {
    use crate::export::Export;
    let format = vigil_export::Format::parse(&args.format).with_context(|| {
        format!(
            "--format {:?} is not one of: {}",
            args.format,
            vigil_export::Format::choices()
        )
    })?;
    let query: vigil_core::Query = args
        .q
        .parse()
        .map_err(|e: vigil_core::QueryError| anyhow::anyhow!("--q: {e}"))?;
    let tz = match args.tz.as_deref() {
        None => vigil_store::utc(),
        Some(t) => t
            .parse()
            .ok()
            .with_context(|| format!("--tz {t:?} is not a UTC offset such as +01:00"))?,
    };
    let dir = match args.out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => std::path::PathBuf::from("."),
    };
    anyhow::ensure!(
        dir.is_dir(),
        "--out: the folder {} does not exist",
        dir.display()
    );
    anyhow::ensure!(
        !args.out.is_dir(),
        "--out: {} is a folder",
        args.out.display()
    );
    let export = Export {
        query_text: args.q.clone(),
        query,
        tz,
        order: args.order,
        format,
        bom: args.bom,
        by: vigil_core::Actor {
            id: args.by.clone(),
            name: Some("vigil export (command line)".into()),
            role: None,
            kind: Some(vigil_core::ActorKind::Staff),
        },
        at: state.now(),
        entry: uuid::Uuid::now_v7(),
    };
    wait_for_index(|| {
        crate::export::index_caught_up(state.store.as_ref(), std::time::Duration::from_secs(5))
    })
    .await?;
    let plan = export.plan(state.store.as_ref()).await?;
    if let Some(why) = plan.refusal(format) {
        bail!("{why}");
    }
    let total = plan.total;
    let partial = tempfile::Builder::new()
        .prefix(".vigil-export-")
        .suffix(".partial")
        .tempfile_in(&dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    let file = std::io::BufWriter::new(partial.as_file().try_clone()?);
    let mut progress = progress;
    let result = export
        .run(
            &plan,
            state.store.clone(),
            file,
            state.stopping.subscribe(),
            move |rows| progress(rows, total),
        )
        .await;
    // The file first, then its About beside it, then the journal says how it went.
    let out = &args.out;
    let saved = (|| -> anyhow::Result<vigil_export::About> {
        let (file, about) = result?;
        file.into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()
            .context("writing the export to disk")?;
        partial
            .persist(out)
            .with_context(|| format!("writing {}", out.display()))?;
        if format.has_sidecar() {
            let sidecar = sidecar_path(out);
            let mut side = tempfile::Builder::new()
                .prefix(".vigil-export-")
                .suffix(".partial")
                .tempfile_in(&dir)?;
            serde_json::to_writer_pretty(&mut side, &about)?;
            std::io::Write::write_all(&mut side, b"\n")?;
            side.as_file().sync_all()?;
            side.persist(&sidecar)
                .with_context(|| format!("writing {}", sidecar.display()))?;
        }
        Ok(about)
    })();
    let entry = export.journal_entry(saved.as_ref().map_err(one_line));
    state
        .append(vec![entry])
        .await
        .context("recording the export in the journal")?;
    saved
}

/// `<file>.about.json`: where the About of a CSV or NDJSON export goes.
pub fn sidecar_path(out: &std::path::Path) -> std::path::PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".about.json");
    name.into()
}

/// Runs `f` until the search index answers (it is built or brought up to date when the journal
/// is opened), saying once that it waits.
async fn wait_for_index<T, F, Fut>(mut f: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, vigil_store::StoreError>>,
{
    let mut told = false;
    let started = std::time::Instant::now();
    loop {
        match f().await {
            Err(vigil_store::StoreError::Unavailable(why)) => {
                if started.elapsed() > std::time::Duration::from_secs(600) {
                    bail!("the search index did not catch up in 10 minutes ({why})");
                }
                if !told {
                    eprintln!("vigil: waiting for the search index ({why})");
                    told = true;
                }
            }
            other => return Ok(other?),
        }
    }
}
