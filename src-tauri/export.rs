//! "Export…": the current search written to a file the user picks, with progress and cancel.
//! The work is vigil-console-core's [`save_export`](vigil_console_core::save_export): the file is
//! written under a temporary name beside the chosen one and renamed only when complete and
//! checked against the store's record of the export.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use vigil_console_core::save::{save_export, SaveError, SaveProgress, SaveRequest};
use vigil_export::Format;

use crate::console::Console;
use crate::error::UiError;

/// What the user asked to export.
#[derive(Debug, Clone, Deserialize)]
pub struct ExportRequest {
    /// The query.
    pub q: String,
    /// `csv`, `xlsx`, `json` or `ndjson`.
    pub format: String,
    /// The file the user picked (its extension is added when it has none).
    pub path: String,
    /// CSV: start with a byte-order mark, so that Excel reads accents right.
    #[serde(default)]
    pub bom: bool,
}

/// How far an export is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ExportProgress {
    /// Rows written.
    pub rows: u64,
    /// Rows expected.
    pub total: u64,
}

/// Where a finished export went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportDone {
    /// The file.
    pub path: String,
    /// Its `.about.json` (CSV and NDJSON).
    pub about_path: Option<String>,
    /// Rows written.
    pub rows: u64,
    /// "No activity" or "N entries".
    pub summary: String,
    /// SHA-256 of the rows (NDJSON form).
    pub sha256: String,
}

/// The file a picked path stands for: with the format's extension when it has none (unless a
/// file by that name exists, which the save dialog did not ask about overwriting).
pub fn with_extension(picked: PathBuf, format: &str) -> PathBuf {
    let Some(format) = Format::parse(format) else {
        return picked;
    };
    if picked.extension().is_some() {
        return picked;
    }
    let with = picked.with_extension(format.as_str());
    if with.exists() {
        picked
    } else {
        with
    }
}

/// Clears the running export's slot however the export ends.
struct Running<'a>(&'a Console);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.exporting.lock().expect("export lock").take();
    }
}

/// The file name offered in the save dialog: `vigil-export-20261127-0915.csv`.
pub fn suggested_name(format: &str, now: chrono::DateTime<chrono::Local>) -> String {
    let ext = Format::parse(format).map_or("csv", |f| f.as_str());
    format!("vigil-export-{}.{ext}", now.format("%Y%m%d-%H%M"))
}

impl Console {
    /// Exports the matches of `request.q` to `request.path`; `progress` hears the rows written.
    /// One export at a time; [`Console::export_cancel`] stops it, leaving nothing behind.
    pub async fn export(
        &self,
        request: ExportRequest,
        progress: impl FnMut(ExportProgress) + Send + 'static,
    ) -> Result<ExportDone, UiError> {
        let format = Format::parse(&request.format).ok_or_else(|| {
            UiError::invalid(format!(
                "{:?} is not an export format: {}",
                request.format,
                Format::choices()
            ))
        })?;
        request.q.parse::<vigil_core::Query>()?;
        let mut path = PathBuf::from(request.path.trim());
        if !path.is_absolute() {
            return Err(UiError::invalid(format!(
                "{:?}: choose where to save the file",
                request.path
            )));
        }
        if path.is_dir() {
            return Err(UiError::invalid(format!("{} is a folder", path.display())));
        }
        path = with_extension(path, format.as_str());
        let client = self.client()?;
        let cancel = Arc::new(AtomicBool::new(false));
        {
            let mut running = self.exporting.lock().expect("export lock");
            if running.is_some() {
                return Err(UiError::invalid(
                    "An export is already running: wait for it or cancel it.",
                ));
            }
            *running = Some(cancel.clone());
        }
        let running = Running(self);
        let save = SaveRequest {
            q: request.q,
            format,
            bom: request.bom,
            order: None,
            path,
            by: self.user_name().unwrap_or_default(),
        };
        let mut progress = progress;
        let result = save_export(&client, &save, cancel, move |p: SaveProgress| {
            progress(ExportProgress {
                rows: p.rows,
                total: p.total,
            })
        })
        .await;
        drop(running);
        match result {
            Ok(saved) => Ok(ExportDone {
                path: saved.path.display().to_string(),
                about_path: saved.about_path.map(|p| p.display().to_string()),
                rows: saved.about.rows,
                summary: saved.about.summary,
                sha256: saved.about.sha256,
            }),
            Err(SaveError::Client(e)) => self.call(Err(e)).await,
            Err(SaveError::Cancelled) => Err(UiError::new(
                "cancelled",
                "Export cancelled. Nothing was written.",
            )),
            Err(e @ (SaveError::Io { .. } | SaveError::Export(_))) => Err(UiError::new(
                "local",
                format!("The export could not be written: {e}. Nothing was left under that name."),
            )),
            Err(SaveError::TooManyRows(why)) => Err(UiError::invalid(why)),
            Err(SaveError::Incomplete(why)) => Err(UiError::new(
                "server",
                format!("The export was not saved: {why}."),
            )),
        }
    }

    /// Remembers the file the user picked in the save dialog; returns the path the export will
    /// write (with the format's extension).
    pub fn remember_pick(&self, picked: PathBuf, format: &str) -> String {
        let path = with_extension(picked, format);
        let shown = path.display().to_string();
        *self.picked.lock().expect("pick lock") = Some(path);
        shown
    }

    /// Checks that the webview exports to the file the user picked last (once per pick).
    pub fn take_pick(&self, path: &str) -> Result<(), UiError> {
        let picked = self.picked.lock().expect("pick lock").take();
        match picked {
            Some(p) if p.display().to_string() == path => Ok(()),
            _ => Err(UiError::invalid(
                "Choose where to save the export in the save dialog first.",
            )),
        }
    }

    /// Cancels the running export; false when none runs.
    pub fn export_cancel(&self) -> bool {
        match self.exporting.lock().expect("export lock").as_ref() {
            Some(flag) => {
                flag.store(true, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }
}
