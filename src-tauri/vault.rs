//! Where the session token lives between launches: the OS keyring (Secret Service on Linux,
//! Keychain on macOS, Credential Manager on Windows). Where none answers, the token lives in
//! memory only and the console says why.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use keyring_core::{CredentialStore, Entry};

use crate::error::UiError;

/// The keyring service name the console's entries are filed under.
const SERVICE: &str = "vigil-console";

/// The token store.
#[derive(Clone)]
pub struct Vault {
    store: Option<Arc<CredentialStore>>,
    note: Option<String>,
    /// Cache keys, when no OS keyring answers (the cache lasts as long as the app then).
    memory: Arc<Mutex<HashMap<String, [u8; 32]>>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("kind", &self.kind())
            .field("note", &self.note)
            .finish()
    }
}

impl Vault {
    /// The platform's keyring, or memory with the reason when it does not answer.
    pub fn open() -> Vault {
        match os_store() {
            Ok(store) => match probe(&store) {
                Ok(()) => Vault {
                    store: Some(store),
                    note: None,
                    memory: Arc::default(),
                },
                Err(reason) => Vault::memory(reason),
            },
            Err(reason) => Vault::memory(reason),
        }
    }

    /// A vault that keeps nothing between launches.
    pub fn memory(reason: impl Into<String>) -> Vault {
        Vault {
            store: None,
            note: Some(reason.into()),
            memory: Arc::default(),
        }
    }

    /// `"os"` or `"memory"`.
    pub fn kind(&self) -> &'static str {
        if self.store.is_some() {
            "os"
        } else {
            "memory"
        }
    }

    /// Why the OS keyring is not used, if it is not.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// The token kept for this user on this server.
    pub fn load(&self, server: &str, user: &str) -> Result<Option<String>, UiError> {
        let Some(entry) = self.entry(server, user)? else {
            return Ok(None);
        };
        match entry.get_password() {
            Ok(token) => Ok(Some(token)),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error("read the session from", e)),
        }
    }

    /// Keeps the token for next launch.
    pub fn save(&self, server: &str, user: &str, token: &str) -> Result<(), UiError> {
        match self.entry(server, user)? {
            Some(entry) => entry
                .set_password(token)
                .map_err(|e| keyring_error("save the session in", e)),
            None => Ok(()),
        }
    }

    /// Forgets the token (nothing kept is fine).
    pub fn forget(&self, server: &str, user: &str) -> Result<(), UiError> {
        let Some(entry) = self.entry(server, user)? else {
            return Ok(());
        };
        match entry.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error("remove the session from", e)),
        }
    }

    fn entry(&self, server: &str, user: &str) -> Result<Option<Entry>, UiError> {
        self.entry_for(&account(server, user))
    }

    fn entry_for(&self, account: &str) -> Result<Option<Entry>, UiError> {
        let Some(store) = &self.store else {
            return Ok(None);
        };
        Entry::new_in_store(store, SERVICE, account)
            .map(Some)
            .map_err(|e| keyring_error("use", e))
    }

    /// The key this user's offline cache on this server is sealed with: kept in the keyring
    /// beside the token, made on first use.
    pub fn cache_key(&self, server: &str, user: &str) -> Result<[u8; 32], UiError> {
        let account = cache_account(server, user);
        let Some(entry) = self.entry_for(&account)? else {
            let mut memory = self.memory.lock().expect("cache keys");
            return Ok(*memory.entry(account).or_insert_with(new_key));
        };
        match entry.get_password() {
            Ok(text) => {
                if let Some(key) = hex::decode(text.trim())
                    .ok()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                {
                    return Ok(key);
                }
            }
            Err(keyring_core::Error::NoEntry) => {}
            Err(e) => return Err(keyring_error("read the cache key from", e)),
        }
        let key = new_key();
        entry
            .set_password(&hex::encode(key))
            .map_err(|e| keyring_error("save the cache key in", e))?;
        Ok(key)
    }

    /// Forgets the cache key (signing out): what was sealed with it cannot be read again.
    pub fn forget_cache_key(&self, server: &str, user: &str) -> Result<(), UiError> {
        let account = cache_account(server, user);
        self.memory.lock().expect("cache keys").remove(&account);
        let Some(entry) = self.entry_for(&account)? else {
            return Ok(());
        };
        match entry.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error("remove the cache key from", e)),
        }
    }
}

/// One entry per user and server.
fn account(server: &str, user: &str) -> String {
    format!("{user}@{server}")
}

/// The cache key's entry, beside the token's.
fn cache_account(server: &str, user: &str) -> String {
    format!("cache:{user}@{server}")
}

fn new_key() -> [u8; 32] {
    use chacha20poly1305::aead::{KeyInit, OsRng};
    chacha20poly1305::XChaCha20Poly1305::generate_key(&mut OsRng).into()
}

fn keyring_error(what: &str, e: keyring_core::Error) -> UiError {
    UiError::new("keyring", format!("Could not {what} the OS keyring: {e}"))
}

/// Reads an entry that does not exist: proves the keyring answers (and is unlocked) before the
/// console relies on it.
fn probe(store: &Arc<CredentialStore>) -> Result<(), String> {
    let entry = Entry::new_in_store(store, SERVICE, "probe@vigil-console")
        .map_err(|e| format!("the OS keyring refused an entry: {e}"))?;
    match entry.get_password() {
        Ok(_) | Err(keyring_core::Error::NoEntry) => Ok(()),
        Err(e) => Err(format!("the OS keyring does not answer: {e}")),
    }
}

#[cfg(target_os = "linux")]
fn os_store() -> Result<Arc<CredentialStore>, String> {
    zbus_secret_service_keyring_store::Store::new()
        .map(|s| s as Arc<CredentialStore>)
        .map_err(|e| format!("no Secret Service answers on the session bus ({e})"))
}

#[cfg(not(target_os = "linux"))]
fn os_store() -> Result<Arc<CredentialStore>, String> {
    Err("this build of the console has no keyring store for this platform".into())
}
