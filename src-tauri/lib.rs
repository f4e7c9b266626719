//! Vigil Console: the desktop app auditors and investigators use to search the Vigil audit
//! journal. The Rust side does the work through vigil-client ([`console::Console`]); the
//! webview (ui/) only renders and calls the commands in [`commands`]; the session token stays
//! here and in the OS keyring ([`vault`]).
//!
//! Tests build the app with [`builder`] and [`context`] over tauri's mock runtime, or call
//! [`console::Console`] directly.
#![forbid(unsafe_code)]

pub mod admin;
pub mod annotations;
mod commands;
pub mod console;
pub mod error;
pub mod export;
pub mod local;
pub mod outbox;
pub mod settings;
pub mod trust;
pub mod vault;

use tauri::{Builder, Context, Manager, Runtime};

pub use console::Console;

/// Sign-in given on the command line (`--server URL --user NAME`, password in `VIGIL_PASSWORD`),
/// as the README's demo command does. `Debug` does not show the password.
#[derive(Clone, Default)]
pub struct Launch {
    /// The store.
    pub server: Option<String>,
    /// The user.
    pub user: Option<String>,
    /// The password (from the environment, never the command line).
    pub password: Option<String>,
}

impl Launch {
    /// Reads `--server` and `--user` from the arguments and the password from `VIGIL_PASSWORD`.
    pub fn from_env() -> Launch {
        let mut launch = Launch {
            password: std::env::var("VIGIL_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty()),
            ..Launch::default()
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--server" => launch.server = args.next(),
                "--user" => launch.user = args.next(),
                _ => {}
            }
        }
        launch
    }
}

/// WebKit takes the page's language (`navigator.language`, the default of every `Intl` format)
/// from the locale; under `LANG=C` or `POSIX`, or none, it is "C", which is no language tag, and
/// the first `Intl.DateTimeFormat()` throws. Such sessions get English, as the C locale means.
fn give_webkit_a_language() {
    let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
    let bare = locale
        .as_deref()
        .map(|l| l.split(['.', '@']).next().unwrap_or(""))
        .is_none_or(|l| matches!(l, "C" | "POSIX" | ""));
    if bare && std::env::var_os("LANGUAGE").is_none() {
        // Before any thread starts: GTK and WebKit read it when they initialise.
        // WebKit reads LC_MESSAGES; GTK may warn that the C library lacks the locale, which
        // changes nothing else.
        std::env::set_var("LANGUAGE", "en_US");
        std::env::set_var("LC_MESSAGES", "en_US.UTF-8");
    }
}

/// Registers the commands; the [`Console`] state is managed by the caller (see [`run`]).
pub fn builder<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    builder
        .plugin(tauri_plugin_dialog::init())
        .invoke_handler(tauri::generate_handler![
            commands::session_status,
            commands::sign_in,
            commands::change_password,
            commands::sign_out,
            commands::parse_query,
            commands::print_query,
            commands::search,
            commands::timeline,
            commands::index_progress,
            commands::facets,
            commands::event,
            commands::around,
            commands::live_start,
            commands::live_stop,
            commands::saved_searches,
            commands::save_search,
            commands::delete_search,
            commands::export_pick,
            commands::export_start,
            commands::export_cancel,
            commands::marks,
            commands::annotate,
            commands::incidents,
            commands::incident,
            commands::open_incident,
            commands::pin_entry,
            commands::incident_note,
            commands::outbox,
            commands::outbox_retry,
            commands::outbox_discard,
            commands::accounts,
            commands::senders,
            commands::add_user,
            commands::set_roles,
            commands::revoke_user,
            commands::disable_user,
            commands::enable_user,
            commands::add_role,
            commands::remove_role,
            commands::trust,
            commands::verify_entry,
            commands::verify_search,
            commands::trust_new_key,
            commands::trust_new_history,
        ])
}

/// The app's configuration, capabilities and embedded ui/.
pub fn context<R: Runtime>() -> Context<R> {
    tauri::generate_context!("tauri.conf.json")
}

/// Runs the desktop app.
pub fn run() {
    let launch = Launch::from_env();
    give_webkit_a_language();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "vigil_console=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    builder(tauri::Builder::default())
        .setup(move |app| {
            let data_dir = app.path().app_data_dir()?;
            let console = Console::new(&data_dir, vault::Vault::open())?;
            if let (Some(server), Some(user), Some(password)) =
                (&launch.server, &launch.user, &launch.password)
            {
                let signed_in =
                    tauri::async_runtime::block_on(console.sign_in(server, user, password, false));
                if let Err(e) = signed_in {
                    tracing::error!(
                        code = e.code,
                        "signing in as {user} at {server} failed: {}",
                        e.message
                    );
                }
            }
            app.manage(console);
            Ok(())
        })
        .run(context())
        .expect("the console's window could not be opened");
}
