//! `vigil export`: the entries matching a query written to a file, recorded in the journal.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use vigil_export::Format;
use vigil_store::{Order, StoreError};

use super::{operator, Database};
use crate::config::ServerConfig;
use crate::service::caller::Exporter;
use crate::service::exports::{self, ExportAsk, ExportError};
use crate::service::integrity;

#[derive(Args)]
pub(super) struct ExportArgs {
    #[command(flatten)]
    db: Database,
    /// The query, in the query language (empty: every entry).
    #[arg(long, default_value = "")]
    q: String,
    /// csv, xlsx, json or ndjson.
    #[arg(long)]
    format: String,
    /// The file to write (CSV and NDJSON also get FILE.about.json).
    #[arg(long)]
    out: PathBuf,
    /// The UTC offset in which the query's dates are read, e.g. +01:00 [default: UTC].
    #[arg(long)]
    tz: Option<String>,
    /// Oldest entries first (default: newest first).
    #[arg(long)]
    oldest_first: bool,
    /// CSV: start with a UTF-8 byte-order mark, so Excel reads accents right.
    #[arg(long)]
    bom: bool,
    /// Who is exporting, as recorded in the journal [default: the login name].
    #[arg(long, env = "USER")]
    by: Option<String>,
    /// The vigil.toml `vigil serve` runs with: the search index keeps the words of its
    /// `[privacy] personal_fields` apart, and is built again for other ones.
    #[arg(long, env = "VIGIL_CONFIG")]
    config: Option<PathBuf>,
    /// NDJSON and JSON: leave out the proof of the rows (the file's last line, or its `proof`
    /// member), for a reader that takes every line for an entry.
    #[arg(long)]
    no_proof: bool,
    /// The store's signing key, to sign a checkpoint holding the export's entries when the
    /// newest does not [default: [integrity] signing_key of --config, else DATABASE.signing-key].
    #[arg(long, env = "VIGIL_SIGNING_KEY")]
    signing_key: Option<PathBuf>,
}

/// How long `vigil export` waits for the search index before it gives up.
const INDEX_GIVE_UP: std::time::Duration = std::time::Duration::from_secs(600);

impl ExportArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let path = self.db.path()?;
        anyhow::ensure!(path.exists(), "no journal at {}", path.display());
        let file_config =
            crate::config::FileConfig::read_if(self.config.as_deref())?.under(None, None, None)?;
        let mut config = ServerConfig {
            database: path,
            privacy: file_config.privacy,
            integrity: file_config.integrity,
            ..ServerConfig::default()
        };
        if let Some(key) = &self.signing_key {
            config.integrity.signing_key = Some(key.clone());
        }
        let state = crate::open_unsigned(&config).map_err(|e| {
            // Opening answers `Unavailable` only when another process holds the index.
            if matches!(e.downcast_ref(), Some(StoreError::Unavailable(_))) {
                e.context(
                    "vigil export reads the search index: stop `vigil serve` on this journal \
                     first, or export through it (GET /v1/export, or Vigil Console's Export…)",
                )
            } else {
                e
            }
        })?;
        let ask = self.ask()?;
        let exporter: Exporter = operator(Some(self.by.as_deref().unwrap_or("unknown")))?;
        // The index is built or brought up to date when the journal is opened: wait for it,
        // saying so once.
        let started = std::time::Instant::now();
        let mut told = false;
        let (mut export, plan) = loop {
            let patience = std::time::Duration::from_secs(5);
            match exports::prepare(&state, &exporter, ask.clone(), patience).await {
                Err(ExportError::Store(StoreError::Unavailable(why))) => {
                    if started.elapsed() > INDEX_GIVE_UP {
                        bail!("the search index did not catch up in 10 minutes ({why})");
                    }
                    if !told {
                        eprintln!("vigil: waiting for the search index ({why})");
                        told = true;
                    }
                }
                other => break other?,
            }
        };
        export.by.name = Some("vigil export (command line)".into());
        if matches!(export.prove, Some(exports::Prove::Within(_))) {
            // No `vigil serve` runs on this journal (this process holds its index): sign a
            // checkpoint holding the export's entries with the store's key, if it is here.
            if let Err(e) = integrity::sign_now(&state, &config, plan.head).await {
                eprintln!("vigil: the export will carry no proof: {e:#}");
            }
        }
        let on_terminal = std::io::stderr().is_terminal();
        let about = exports::write_file(&state, &export, &plan, &self.out, move |done, total| {
            if on_terminal {
                eprint!("\rexport: {done}/{total} entries");
                let _ = std::io::stderr().flush();
            }
        })
        .await?;
        eprintln!(
            "\rexport: {} ({}) written to {}; sha256 of the rows {}",
            about.summary,
            about.format,
            self.out.display(),
            about.sha256
        );
        if about.format.has_sidecar() {
            eprintln!("about: {}", exports::sidecar_path(&self.out).display());
        }
        Ok(())
    }

    /// What the flags ask, each checked with a message that names its flag.
    fn ask(&self) -> anyhow::Result<ExportAsk> {
        let format = Format::parse(&self.format).with_context(|| {
            format!(
                "--format {:?} is not one of: {}",
                self.format,
                Format::choices()
            )
        })?;
        let query = self
            .q
            .parse::<vigil_core::Query>()
            .map_err(|e| anyhow::anyhow!("--q: {e}"))?;
        let tz = match self.tz.as_deref() {
            None => vigil_store::utc(),
            Some(t) => t
                .parse()
                .ok()
                .with_context(|| format!("--tz {t:?} is not a UTC offset such as +01:00"))?,
        };
        let dir = match self.out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        anyhow::ensure!(
            dir.is_dir(),
            "--out: the folder {} does not exist",
            dir.display()
        );
        anyhow::ensure!(
            !self.out.is_dir(),
            "--out: {} is a folder",
            self.out.display()
        );
        Ok(ExportAsk {
            q: self.q.clone(),
            query,
            format,
            tz,
            order: if self.oldest_first {
                Order::Oldest
            } else {
                Order::Newest
            },
            bom: self.bom,
            proof: !self.no_proof,
        })
    }
}
