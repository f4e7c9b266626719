//! What the console keeps between launches besides the token: the last server and user (to
//! prefill the sign-in form) and the saved searches. One JSON file in the app's data folder,
//! replaced atomically so that a crash never leaves half of it.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::UiError;

/// A named query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedSearch {
    /// As the user named it.
    pub name: String,
    /// The query text.
    pub q: String,
}

/// The settings file's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// The last server signed in to.
    #[serde(default)]
    pub server: Option<String>,
    /// The last user signed in.
    #[serde(default)]
    pub user: Option<String>,
    /// Saved searches, sorted by name.
    #[serde(default)]
    pub saved: Vec<SavedSearch>,
    /// What the console trusts of each store it signed in to, by address: the signing key it
    /// pinned and the newest checkpoint it verified (crate::trust).
    #[serde(default)]
    pub trust: std::collections::BTreeMap<String, crate::trust::StoreTrust>,
}

/// The settings file. Changes go through one lock, so two commands saving at once cannot lose
/// each other's change.
#[derive(Debug)]
pub struct SettingsFile {
    path: PathBuf,
    writing: std::sync::Mutex<()>,
}

impl SettingsFile {
    /// `console.json` in `dir` (created when first written).
    pub fn new(dir: &Path) -> SettingsFile {
        SettingsFile {
            path: dir.join("console.json"),
            writing: std::sync::Mutex::new(()),
        }
    }

    /// The settings; defaults when the file does not exist yet. A damaged file is set aside
    /// (renamed `.damaged`) rather than silently overwritten.
    pub fn load(&self) -> Settings {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                let aside = self.path.with_extension("json.damaged");
                tracing::warn!(error = %e, path = %self.path.display(), "settings file is damaged; set aside");
                let _ = std::fs::rename(&self.path, aside);
                Settings::default()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Settings::default(),
            Err(e) => {
                tracing::warn!(error = %e, path = %self.path.display(), "settings file unreadable");
                Settings::default()
            }
        }
    }

    /// Replaces the file: write a temporary file, flush it to disk, rename it over.
    pub fn store(&self, settings: &Settings) -> Result<(), UiError> {
        let fail = |e: std::io::Error| {
            UiError::new(
                "local",
                format!(
                    "Could not save the settings in {}: {e}",
                    self.path.display()
                ),
            )
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let tmp = self
            .path
            .with_extension(format!("json.{}.tmp", std::process::id()));
        let mut file = std::fs::File::create(&tmp).map_err(fail)?;
        file.write_all(&serde_json::to_vec_pretty(settings).expect("settings serialize"))
            .map_err(fail)?;
        file.sync_all().map_err(fail)?;
        std::fs::rename(&tmp, &self.path).map_err(fail)
    }

    /// Loads, changes and stores.
    pub fn update<T>(&self, change: impl FnOnce(&mut Settings) -> T) -> Result<T, UiError> {
        let _one_at_a_time = self.writing.lock().expect("settings lock");
        let mut settings = self.load();
        let out = change(&mut settings);
        self.store(&settings)?;
        Ok(out)
    }
}
