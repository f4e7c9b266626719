//! What the CLI verbs do, as plain functions (the binary only parses arguments).

use anyhow::{bail, Context};
use chrono::{DateTime, DurationRound, Utc};
use serde_json::json;
use vigil_core::chain::Verifier;
use vigil_core::{rights, Kind};
use vigil_store::{AccountChange, NewKey, NewUser};

use crate::auth::{self, ManageAccounts};
use crate::state::AppState;

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

/// Checks a user name: 1 to 64 letters, digits, `.`, `_`, `-` or `@`.
pub fn check_user_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "user name {name:?} must be 1 to 64 letters, digits, '.', '_', '-' or '@'"
        ))
    }
}

/// An entry about accounts (users, roles, keys) at `at`, by whoever holds `cap`, on the
/// `target_type` named `id`.
fn account_entry(
    at: DateTime<Utc>,
    cap: &ManageAccounts,
    action: &str,
    family: vigil_core::Kind,
    target_type: &str,
    id: &str,
    details: serde_json::Value,
) -> vigil_core::Event {
    crate::journal::entry(
        at,
        &crate::journal::staff(cap.by()),
        action,
        family,
        crate::journal::target(target_type, id, None),
        details,
    )
}

/// The roles in the order given, each once.
fn distinct(roles: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    roles
        .iter()
        .filter(|r| seen.insert(r.as_str()))
        .cloned()
        .collect()
}

/// Refuses to take the accounts right from the last user who has it: nobody could then manage
/// users from the console or the API.
async fn keeps_an_account_manager(
    state: &AppState,
    name: &str,
    roles: &[String],
) -> anyhow::Result<()> {
    let manages = |g: &vigil_core::rights::Grants| g.accounts;
    let grants = |roles: Vec<String>| async move {
        auth::grants_of(state, &roles)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.body.message))
    };
    if !manages(&grants(state.store.user(name).await?.roles).await?)
        || manages(&grants(roles.to_vec()).await?)
    {
        return Ok(());
    }
    for other in state.store.users(state.now()).await? {
        if other.name != name && manages(&grants(other.roles).await?) {
            return Ok(());
        }
    }
    Err(vigil_store::StoreError::Conflict {
        message: format!(
            "{name:?} is the last user who may manage users, roles and keys: give someone else \
             the admin role (or another role with the accounts right) first"
        ),
        index: None,
    }
    .into())
}

/// Creates a user after checking the name, roles and password rules, journaled as
/// `user.create` by `by`.
pub async fn add_user(
    state: &AppState,
    cap: &ManageAccounts,
    name: &str,
    roles: &[String],
    password: &str,
) -> anyhow::Result<()> {
    check_user_name(name).map_err(anyhow::Error::msg)?;
    auth::check_password_rules(password).map_err(anyhow::Error::msg)?;
    let roles = distinct(roles);
    let password = password.to_owned();
    let password_hash = tokio::task::spawn_blocking(move || auth::hash_password(&password)).await?;
    let journal = account_entry(
        state.now(),
        cap,
        "user.create",
        Kind::Rights,
        "user",
        name,
        json!({"roles": roles}),
    );
    state
        .store
        .change_accounts(
            AccountChange::AddUser(NewUser {
                name: name.into(),
                password_hash,
                roles,
                created_at: state.now(),
            }),
            journal,
        )
        .await
        .context("creating the user")?;
    Ok(())
}

/// Gives a user these roles (in place of theirs), journaled as `user.roles` by `by` with the
/// roles before and after.
pub async fn set_roles(
    state: &AppState,
    cap: &ManageAccounts,
    name: &str,
    roles: &[String],
) -> anyhow::Result<()> {
    let before = state.store.user(name).await?.roles;
    let roles = distinct(roles);
    keeps_an_account_manager(state, name, &roles).await?;
    let mut journal = account_entry(
        state.now(),
        cap,
        "user.roles",
        Kind::Rights,
        "user",
        name,
        json!({}),
    );
    journal.changes = Some(vec![vigil_core::Change {
        field: "roles".into(),
        before: json!(before),
        after: json!(roles),
    }]);
    state
        .store
        .change_accounts(
            AccountChange::SetRoles {
                name: name.into(),
                roles,
            },
            journal,
        )
        .await?;
    Ok(())
}

/// Creates a custom role after checking its name, rights and scope, journaled as
/// `role.create` by `by`.
pub async fn add_role(
    state: &AppState,
    cap: &ManageAccounts,
    name: &str,
    rights: &str,
    scope: &str,
) -> anyhow::Result<vigil_store::RoleRecord> {
    rights::check_role_name(name).map_err(anyhow::Error::msg)?;
    let rights = rights::parse_rights(rights).map_err(anyhow::Error::msg)?;
    let scope: vigil_core::Query = scope.parse().map_err(|e| anyhow::anyhow!("scope: {e}"))?;
    let record = vigil_store::RoleRecord {
        name: name.into(),
        rights: rights.iter().map(|r| r.as_str().to_owned()).collect(),
        scope: scope.to_string(),
        created_at: state.now(),
    };
    let journal = account_entry(
        state.now(),
        cap,
        "role.create",
        Kind::Rights,
        "role",
        name,
        json!({"rights": record.rights, "scope": record.scope}),
    );
    state
        .store
        .change_accounts(AccountChange::AddRole(record.clone()), journal)
        .await?;
    Ok(record)
}

/// Removes a custom role nobody holds, journaled as `role.delete` by `by`.
pub async fn remove_role(state: &AppState, cap: &ManageAccounts, name: &str) -> anyhow::Result<()> {
    if rights::builtin(name).is_some() {
        bail!("{name:?} is a built-in role and cannot be removed");
    }
    let journal = account_entry(
        state.now(),
        cap,
        "role.delete",
        Kind::Rights,
        "role",
        name,
        json!({}),
    );
    state
        .store
        .change_accounts(AccountChange::RemoveRole(name.into()), journal)
        .await?;
    Ok(())
}

/// Every role, built in and custom, with its rights and scope.
pub async fn all_roles(state: &AppState) -> anyhow::Result<Vec<vigil_api::RoleInfo>> {
    let mut out: Vec<_> = rights::BUILTIN
        .iter()
        .filter_map(|n| rights::builtin(n))
        .map(|r| vigil_api::RoleInfo {
            name: r.name,
            rights: r.rights.iter().map(|r| r.as_str().to_owned()).collect(),
            scope: String::new(),
            builtin: true,
        })
        .collect();
    out.extend(
        state
            .store
            .roles()
            .await?
            .into_iter()
            .map(|r| vigil_api::RoleInfo {
                name: r.name,
                rights: r.rights,
                scope: r.scope,
                builtin: false,
            }),
    );
    Ok(out)
}

/// The roles as a table.
pub async fn list_roles(state: &AppState) -> anyhow::Result<String> {
    let roles = all_roles(state).await?;
    let width = roles
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = format!("{:width$}  {:40}  SCOPE\n", "NAME", "RIGHTS");
    for r in roles {
        let scope = match (r.builtin, r.scope.is_empty()) {
            (true, _) => "every entry (built in)".to_owned(),
            (false, true) => "every entry".to_owned(),
            (false, false) => r.scope,
        };
        out.push_str(&format!(
            "{:width$}  {:40}  {scope}\n",
            r.name,
            r.rights.join(",")
        ));
    }
    Ok(out)
}

/// The users as a table: name, roles, live sessions, lock.
pub async fn list_users(state: &AppState) -> anyhow::Result<String> {
    let users = state.store.users(state.now()).await?;
    let width = users
        .iter()
        .map(|u| u.name.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = format!(
        "{:width$}  {:30}  SESSIONS  LOCKED UNTIL\n",
        "NAME", "ROLES"
    );
    for u in users {
        out.push_str(&format!(
            "{:width$}  {:30}  {:8}  {}\n",
            u.name,
            u.roles.join(","),
            u.live_sessions,
            u.locked_until.map_or("-".to_owned(), |t| t
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string())
        ));
    }
    Ok(out)
}

/// Creates an ingest key and returns it (the store keeps only its hash), journaled as
/// `key.create` by `by`.
pub async fn create_key(
    state: &AppState,
    cap: &ManageAccounts,
    name: &str,
) -> anyhow::Result<String> {
    if name.trim().is_empty() || name.chars().count() > 64 {
        bail!("key name {name:?} must be 1 to 64 characters");
    }
    let key = auth::new_secret(auth::KEY_PREFIX);
    let journal = account_entry(
        state.now(),
        cap,
        "key.create",
        Kind::Rights,
        "ingest_key",
        name,
        json!({}),
    );
    state
        .store
        .change_accounts(
            AccountChange::AddKey(NewKey {
                name: name.into(),
                key_hash: auth::secret_hash(&key),
                created_at: state.now(),
            }),
            journal,
        )
        .await
        .context("creating the ingest key")?;
    Ok(key)
}

/// Ends every live session of a user, journaled as `user.revoke` by `by`: how many.
pub async fn revoke_user(
    state: &AppState,
    cap: &ManageAccounts,
    name: &str,
) -> anyhow::Result<u64> {
    let now = state.now();
    let journal = account_entry(
        now,
        cap,
        "user.revoke",
        Kind::Change,
        "user",
        name,
        json!({}),
    );
    Ok(state.store.revoke_user_sessions(name, now, journal).await?)
}

/// Lifts a sign-in lock, journaled as `user.unlock` by `by` when one held: whether it did.
pub async fn unlock_user(
    state: &AppState,
    cap: &ManageAccounts,
    name: &str,
) -> anyhow::Result<bool> {
    let now = state.now();
    let journal = account_entry(
        now,
        cap,
        "user.unlock",
        Kind::Change,
        "user",
        name,
        json!({}),
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
pub async fn revoke_key(state: &AppState, cap: &ManageAccounts, name: &str) -> anyhow::Result<()> {
    let now = state.now();
    let journal = account_entry(
        now,
        cap,
        "key.revoke",
        Kind::Change,
        "ingest_key",
        name,
        json!({}),
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
    // Vigil's own entries (the users and keys created first, say) do not make it a journal of
    // activity.
    let only_vigil = existing <= 1000
        && state
            .store
            .scan(1, 1000)
            .await?
            .iter()
            .all(|e| e.event.section == crate::journal::SECTION);
    if existing > 0 && !only_vigil {
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
        scope: None,
        mask: None,
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
