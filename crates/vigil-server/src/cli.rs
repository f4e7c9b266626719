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
