//! `vigil verify`: walk the journal end to end: its hash chain, its Merkle tree, and every
//! signed checkpoint against the store's public key.

use anyhow::Context;
use clap::Args;
use vigil_core::checkpoint::PublicKey;

use super::Database;
use crate::config::ServerConfig;
use crate::service::integrity;

#[derive(Args)]
pub(super) struct VerifyArgs {
    #[command(flatten)]
    db: Database,
    /// The store's public key (PEM, base64 or hex, or a file holding it), as `vigil integrity
    /// key` printed it [default: derived from the signing key beside the database]. Again for
    /// each key the store has signed with.
    #[arg(long)]
    key: Vec<String>,
    /// The signing key to derive the public key from [default: DATABASE.signing-key].
    #[arg(long, env = "VIGIL_SIGNING_KEY", conflicts_with = "key")]
    signing_key: Option<std::path::PathBuf>,
    /// A checkpoint kept elsewhere (the JSON of `vigil integrity checkpoint --json` or
    /// GET /v1/integrity/checkpoint), checked like the store's own; may be given again.
    #[arg(long, value_name = "FILE")]
    checkpoint: Vec<std::path::PathBuf>,
    /// Check an export file instead of the journal, without the store: an NDJSON or JSON
    /// export against its proof and the store's key (--key); a CSV or XLSX export against the
    /// NDJSON or JSON export of the same query given with --against.
    #[arg(long, value_name = "FILE")]
    export: Option<std::path::PathBuf>,
    /// With --export of a CSV or XLSX file: the NDJSON or JSON export of the same rows, which
    /// proves them.
    #[arg(long, value_name = "FILE", requires = "export")]
    against: Option<std::path::PathBuf>,
    /// Check a running store through its API instead of the database file: its feed and its
    /// checkpoints, against the key given with --key. Sign in with --user (the password in
    /// VIGIL_PASSWORD) or a session token in VIGIL_TOKEN; the user must read and export every
    /// entry unmasked (an auditor).
    #[arg(long, value_name = "URL", conflicts_with_all = ["export", "signing_key"])]
    url: Option<String>,
    /// With --url: the user to sign in as (the password in VIGIL_PASSWORD).
    #[arg(long, requires = "url")]
    user: Option<String>,
    /// Print the findings as JSON.
    #[arg(long)]
    json: bool,
}

/// What `vigil verify --export` found.
#[derive(serde::Serialize)]
struct ExportFindings {
    ok: bool,
    file: String,
    format: Option<vigil_export::Format>,
    rows: Option<u64>,
    /// Lowest and highest seq of the rows.
    seqs: Option<(u64, u64)>,
    checkpoint: Option<vigil_api::SignedCheckpoint>,
    /// The file that proves the rows, when another one does.
    proved_by: Option<String>,
    problem: Option<String>,
}

impl VerifyArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        if let Some(file) = &self.export {
            return self.run_export(file);
        }
        if let Some(url) = &self.url {
            return self.run_remote(url).await;
        }
        let path = self.db.path()?;
        anyhow::ensure!(path.exists(), "no journal at {}", path.display());
        let keys = match (self.key.is_empty(), &self.signing_key) {
            (false, _) => self.keys()?,
            (true, given) => {
                let mut config = ServerConfig {
                    database: path.clone(),
                    ..ServerConfig::default()
                };
                config.integrity.signing_key = given.clone();
                let file = integrity::key_path(&config);
                match (file.exists(), given.is_some()) {
                    (true, _) | (false, true) => vec![*integrity::read_key(&file)?.public()],
                    (false, false) => Vec::new(),
                }
            }
        };
        let given = self.given()?;
        // The search index as its last commit left it (read first: a running server may commit
        // more meanwhile, which only adds entries the journal has).
        let mut index_dir = path.as_os_str().to_owned();
        index_dir.push(".index");
        let census = vigil_index::census(std::path::Path::new(&index_dir))
            .with_context(|| format!("reading the search index {}", index_dir.display()))?;
        // Read-only: checking the file never changes it (its digest, taken before for the
        // record, is the same after).
        let state = self.db.open_read_only()?;
        let found = integrity::verify(&state, keys, given, census).await?;
        self.report(&found, "the journal")
    }

    /// Prints what was found (as JSON with --json); an error naming the first problem unless
    /// everything verified.
    fn report(&self, found: &integrity::Verification, what: &str) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(found)?);
        } else {
            print!("{found}");
        }
        if !found.ok {
            anyhow::bail!(
                "{what} does not verify: {}",
                found.problems.first().map_or("", String::as_str)
            );
        }
        Ok(())
    }

    /// The checkpoints given with --checkpoint.
    fn given(&self) -> anyhow::Result<Vec<vigil_core::checkpoint::Checkpoint>> {
        self.checkpoint.iter().map(|f| read_checkpoint(f)).collect()
    }

    /// The keys given with --key.
    fn keys(&self) -> anyhow::Result<Vec<PublicKey>> {
        self.key.iter().map(|k| public_key(k)).collect()
    }
}

impl VerifyArgs {
    /// `vigil verify --url URL --key KEY`: a running store, through its API.
    async fn run_remote(&self, url: &str) -> anyhow::Result<()> {
        use vigil_client::{Client, ClientError};
        anyhow::ensure!(
            !self.key.is_empty(),
            "--url: give the store's public key with --key (as `vigil integrity key` printed it, \
             from whoever runs the store): what the store says of its own key proves nothing"
        );
        let keys = self.keys()?;
        let given = self.given()?;
        let anonymous = Client::new(url)?;
        let client = match (
            &self.user,
            std::env::var("VIGIL_TOKEN").ok().filter(|t| !t.is_empty()),
        ) {
            (Some(user), _) => {
                let password = std::env::var("VIGIL_PASSWORD")
                    .ok()
                    .filter(|p| !p.is_empty())
                    .ok_or_else(|| {
                        anyhow::anyhow!("--user {user}: put the password in VIGIL_PASSWORD")
                    })?;
                let answer = anonymous
                    .login(user, &password)
                    .await
                    .with_context(|| format!("signing in to {url} as {user}"))?;
                anonymous.with_token(&answer.token)
            }
            (None, Some(token)) => anonymous.with_token(&token),
            (None, None) => anyhow::bail!(
                "--url: sign in with --user NAME (the password in VIGIL_PASSWORD), or give a \
                 session token in VIGIL_TOKEN"
            ),
        };
        // The store must show checkpoints to this user (it withholds them from one who reads
        // some entries masked) and sign with a key given.
        let shown = client
            .integrity_key()
            .await
            .context("reading the store's key")?;
        if let Err(ClientError::Api {
            status: 403,
            message,
            ..
        }) = client.checkpoints(0, 1).await
        {
            anyhow::bail!("the store refuses its checkpoints to this user: {message}");
        }
        let mut found = integrity::verify_remote(client, keys.clone(), given).await?;
        // From afar, a journal no signature covers proves nothing: anyone can serve entries
        // whose chain holds.
        if found.entries > 0 && found.checkpoints_verified == 0 && found.problems.is_empty() {
            found.problems.push(format!(
                "no checkpoint signed by a key you gave covers any of the {} entries the store \
                 showed: their chain holds, but nothing proves they are the store's (give a \
                 checkpoint kept elsewhere with --checkpoint, or wait for the store to sign one)",
                found.entries
            ));
            found.ok = false;
        }
        if !keys.iter().any(|k| k.id() == shown.key_id) {
            found.problems.insert(
                0,
                format!(
                    "the store at {url} says it signs with key {}, which is not a key you gave ({})",
                    shown.key_id,
                    keys.iter().map(|k| k.id()).collect::<Vec<_>>().join(", ")
                ),
            );
            found.ok = false;
        }
        self.report(&found, &format!("the store at {url}"))
    }

    /// `vigil verify --export FILE [--against PROVED]`.
    fn run_export(&self, file: &std::path::Path) -> anyhow::Result<()> {
        // The key is the trust anchor: the one you were handed, never one found beside the
        // file or the database.
        anyhow::ensure!(
            !self.key.is_empty(),
            "--export: give the store's public key with --key (as `vigil integrity key` printed \
             it, from whoever runs the store)"
        );
        let keys = self.keys()?;
        anyhow::ensure!(file.is_file(), "--export: no file at {}", file.display());
        let format = match file.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("csv") => Some(vigil_export::Format::Csv),
            Some(e) if e.eq_ignore_ascii_case("xlsx") => Some(vigil_export::Format::Xlsx),
            _ => None,
        };
        let mut found = ExportFindings {
            ok: false,
            file: file.display().to_string(),
            format,
            rows: None,
            seqs: None,
            checkpoint: None,
            proved_by: None,
            problem: None,
        };
        let proving = match (format, &self.against) {
            (Some(_), Some(against)) => against.as_path(),
            (Some(f), None) => anyhow::bail!(
                "--export: a {f} file carries no proof: give the NDJSON or JSON export of the \
                 same query with --against"
            ),
            (None, Some(_)) => {
                anyhow::bail!("--against: only a CSV or XLSX export is checked against another")
            }
            (None, None) => file,
        };
        if proving != file {
            found.proved_by = Some(proving.display().to_string());
        }
        let result = vigil_export::proof::check(proving, &keys)
            .map_err(|e| match &found.proved_by {
                Some(p) => format!("{p}: {e}"),
                None => e,
            })
            .and_then(|proven| {
                found.rows = Some(proven.rows);
                found.seqs = proven.seqs;
                found.checkpoint = Some(integrity::checkpoint_answer(&proven.checkpoint));
                if found.format.is_none() {
                    found.format = Some(proven.format);
                }
                match format {
                    Some(f) => vigil_export::proof::same_rows(file, f, proving).map(drop),
                    None => Ok(()),
                }
            });
        found.ok = result.is_ok();
        found.problem = result.err();
        if self.json {
            println!("{}", serde_json::to_string_pretty(&found)?);
        } else if found.ok {
            let cp = found
                .checkpoint
                .as_ref()
                .expect("a proved file has a checkpoint");
            println!(
                "export: {} ({}), {} rows{}",
                found.file,
                found.format.map_or("?", |f| f.as_str()),
                found.rows.unwrap_or(0),
                found
                    .seqs
                    .map_or(String::new(), |(a, b)| format!(", entries {a} to {b}")),
            );
            if let Some(p) = &found.proved_by {
                println!("rows: the same as in {p}, which proves them");
            }
            println!(
                "checkpoint: {} entries, signed {} with key {}",
                cp.size, cp.signed_at, cp.key_id
            );
            println!(
                "ok: every row is an entry of the journal exactly as it was stored, under the \
                 signed checkpoint"
            );
        }
        match &found.problem {
            None => Ok(()),
            Some(problem) => anyhow::bail!("the export does not verify: {problem}"),
        }
    }
}

/// A public key given as text, or as the name of a file holding it.
pub(super) fn public_key(given: &str) -> anyhow::Result<PublicKey> {
    let path = std::path::Path::new(given);
    let text = if !given.trim_start().starts_with("-----") && path.is_file() {
        std::fs::read_to_string(path).with_context(|| format!("reading the key {given}"))?
    } else {
        given.to_owned()
    };
    PublicKey::parse(&text).with_context(|| format!("--key {given:?}"))
}

/// A checkpoint as the API and `vigil integrity checkpoint --json` give it.
fn read_checkpoint(file: &std::path::Path) -> anyhow::Result<vigil_core::checkpoint::Checkpoint> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the checkpoint {}", file.display()))?;
    let answer: vigil_api::SignedCheckpoint = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a checkpoint's JSON", file.display()))?;
    integrity::checkpoint_from(&answer)
        .with_context(|| format!("{} is not a checkpoint's JSON", file.display()))
}
