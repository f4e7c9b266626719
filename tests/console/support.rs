//! The store the console's tests sign in to (vigil-testkit's real server, with the auditor
//! `k.auditor` and the ingest key `backoffice`), and consoles whose settings live in a temporary
//! folder and whose token goes to the real OS keyring when the test runs under
//! scripts/with-keyring.

use std::path::Path;

use vigil_console::vault::Vault;
use vigil_console::Console;
pub use vigil_testkit::{TestServer as Store, PASSWORD};

pub const USER: &str = "k.auditor";

/// How these tests start a store.
pub trait Start {
    /// A store with the auditor [`USER`], nobody signed in.
    async fn start() -> Store;
}

impl Start for Store {
    async fn start() -> Store {
        Store::builder().user(USER, &["auditor"]).start().await
    }
}

/// The vault the tests use: the real Secret Service under scripts/with-keyring (which sets
/// VIGIL_TEST_KEYRING), memory otherwise.
pub fn vault() -> Vault {
    if std::env::var_os("VIGIL_TEST_KEYRING").is_some() {
        let v = Vault::open();
        assert_eq!(
            v.kind(),
            "os",
            "scripts/with-keyring started a Secret Service, yet the console did not reach it: {:?}",
            v.note()
        );
        v
    } else {
        Vault::memory("tests run without scripts/with-keyring")
    }
}

pub fn console(dir: &Path) -> Console {
    Console::new(dir, vault()).expect("console opens")
}
