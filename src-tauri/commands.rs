//! The Tauri commands: one-line adapters over [`Console`]'s functions (docs/console.md lists
//! them with their arguments and answers).

use tauri::ipc::Channel;
use tauri::State;
use vigil_api::{Facets, Mark, Timeline};

use crate::admin::Accounts;
use crate::annotations::{AnnotateAnswer, IncidentDetailView, IncidentView, Opened, Queued};
use crate::console::{Console, Entries, EntriesPage, Entry, IndexProgress, Live, Session};
use crate::error::UiError;
use crate::export::{ExportDone, ExportProgress, ExportRequest};
use crate::outbox::Outbox;
use crate::settings::SavedSearch;
use crate::trust::{EntryCheck, Report, Trust};
use vigil_console_core::querybar::{BarClause, Parsed};

type Answer<T> = Result<T, UiError>;

#[tauri::command]
pub async fn session_status(console: State<'_, Console>) -> Answer<Session> {
    Ok(console.session_status().await)
}

#[tauri::command]
pub async fn sign_in(
    console: State<'_, Console>,
    server: String,
    user: String,
    password: String,
    plain_http: Option<bool>,
) -> Answer<Session> {
    console
        .sign_in(&server, &user, &password, plain_http.unwrap_or(false))
        .await
}

#[tauri::command]
pub async fn sign_out(console: State<'_, Console>) -> Answer<Session> {
    console.sign_out().await
}

#[tauri::command]
pub async fn change_password(
    console: State<'_, Console>,
    old_password: String,
    new_password: String,
) -> Answer<()> {
    console.change_password(&old_password, &new_password).await
}

#[tauri::command]
pub fn parse_query(console: State<'_, Console>, q: String) -> Answer<Parsed> {
    console.parse_query(&q)
}

#[tauri::command]
pub fn print_query(console: State<'_, Console>, clauses: Vec<BarClause>) -> Answer<String> {
    console.print_query(&clauses)
}

#[tauri::command]
pub async fn search(
    console: State<'_, Console>,
    q: String,
    cursor: Option<String>,
    limit: Option<usize>,
    order: Option<String>,
) -> Answer<EntriesPage> {
    console.search(&q, cursor, limit, order.as_deref()).await
}

#[tauri::command]
pub async fn index_progress(console: State<'_, Console>) -> Answer<IndexProgress> {
    console.index_progress().await
}

#[tauri::command]
pub async fn timeline(
    console: State<'_, Console>,
    q: String,
    buckets: Option<u32>,
) -> Answer<Timeline> {
    console.timeline(&q, buckets).await
}

#[tauri::command]
pub async fn facets(
    console: State<'_, Console>,
    q: String,
    field: String,
    limit: Option<usize>,
) -> Answer<Facets> {
    console.facets(&q, &field, limit).await
}

#[tauri::command]
pub async fn event(console: State<'_, Console>, id: String) -> Answer<Entry> {
    console.event(&id).await
}

#[tauri::command]
pub async fn around(console: State<'_, Console>, id: String) -> Answer<Entries> {
    console.around(&id).await
}

#[tauri::command]
pub fn live_start(console: State<'_, Console>, q: String, channel: Channel<Live>) -> Answer<()> {
    console.live_start(&q, move |m| channel.send(m).is_ok())
}

#[tauri::command]
pub fn live_stop(console: State<'_, Console>) {
    console.live_stop()
}

#[tauri::command]
pub fn saved_searches(console: State<'_, Console>) -> Vec<SavedSearch> {
    console.saved_searches()
}

#[tauri::command]
pub fn save_search(
    console: State<'_, Console>,
    name: String,
    q: String,
) -> Answer<Vec<SavedSearch>> {
    console.save_search(&name, &q)
}

#[tauri::command]
pub fn delete_search(console: State<'_, Console>, name: String) -> Answer<Vec<SavedSearch>> {
    console.delete_search(&name)
}

/// Opens the native save dialog for an export; `null` when the user closes it.
#[tauri::command]
pub async fn export_pick<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    console: State<'_, Console>,
    format: String,
) -> Answer<Option<String>> {
    use tauri_plugin_dialog::DialogExt;
    let name = crate::export::suggested_name(&format, chrono::Local::now());
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Export the search")
        .set_file_name(&name)
        .add_filter(format.to_uppercase(), &[format.as_str()])
        .save_file(move |picked| {
            let _ = tx.send(picked);
        });
    let picked = rx.await.ok().flatten().and_then(|p| p.into_path().ok());
    Ok(picked.map(|p| console.remember_pick(p, &format)))
}

#[tauri::command]
pub async fn export_start(
    console: State<'_, Console>,
    request: ExportRequest,
    on_progress: Channel<ExportProgress>,
) -> Answer<ExportDone> {
    console.take_pick(&request.path)?;
    console
        .export(request, move |p| {
            let _ = on_progress.send(p);
        })
        .await
}

#[tauri::command]
pub fn export_cancel(console: State<'_, Console>) -> bool {
    console.export_cancel()
}

#[tauri::command]
pub async fn marks(console: State<'_, Console>) -> Answer<Vec<Mark>> {
    console.marks().await
}

#[tauri::command]
pub async fn annotate(
    console: State<'_, Console>,
    id: String,
    comment: Option<String>,
    marks: Option<Vec<String>>,
    supersedes: Option<String>,
) -> Answer<AnnotateAnswer> {
    console.annotate(&id, comment, marks, supersedes).await
}

#[tauri::command]
pub async fn incidents(console: State<'_, Console>) -> Answer<Vec<IncidentView>> {
    console.incidents().await
}

#[tauri::command]
pub async fn incident(console: State<'_, Console>, id: String) -> Answer<IncidentDetailView> {
    console.incident(&id).await
}

#[tauri::command]
pub async fn open_incident(
    console: State<'_, Console>,
    title: String,
    description: Option<String>,
) -> Answer<Opened> {
    console.open_incident(&title, description).await
}

#[tauri::command]
pub async fn pin_entry(
    console: State<'_, Console>,
    incident: String,
    entry: String,
) -> Answer<Queued> {
    console.pin_entry(&incident, &entry).await
}

#[tauri::command]
pub async fn incident_note(
    console: State<'_, Console>,
    incident: String,
    text: Option<String>,
    status: Option<String>,
) -> Answer<Queued> {
    console.incident_note(&incident, text, status).await
}

#[tauri::command]
pub async fn outbox(console: State<'_, Console>) -> Answer<Outbox> {
    console.outbox().await
}

#[tauri::command]
pub async fn outbox_retry(console: State<'_, Console>, n: Option<i64>) -> Answer<Outbox> {
    console.outbox_retry(n).await
}

#[tauri::command]
pub fn outbox_discard(console: State<'_, Console>, n: i64) -> Answer<Outbox> {
    console.outbox_discard(n)
}

#[tauri::command]
pub async fn senders(console: State<'_, Console>) -> Answer<Vec<vigil_api::SenderReport>> {
    console.senders().await
}

#[tauri::command]
pub async fn accounts(console: State<'_, Console>) -> Answer<Accounts> {
    console.accounts().await
}

#[tauri::command]
pub async fn add_user(
    console: State<'_, Console>,
    name: String,
    password: String,
    roles: Vec<String>,
) -> Answer<Accounts> {
    console.add_user(&name, &password, roles).await
}

#[tauri::command]
pub async fn set_roles(
    console: State<'_, Console>,
    name: String,
    roles: Vec<String>,
) -> Answer<Accounts> {
    console.set_roles(&name, roles).await
}

#[tauri::command]
pub async fn revoke_user(console: State<'_, Console>, name: String) -> Answer<Accounts> {
    console.revoke_user(&name).await
}

#[tauri::command]
pub async fn disable_user(console: State<'_, Console>, name: String) -> Answer<Accounts> {
    console.set_disabled(&name, true).await
}

#[tauri::command]
pub async fn enable_user(console: State<'_, Console>, name: String) -> Answer<Accounts> {
    console.set_disabled(&name, false).await
}

#[tauri::command]
pub async fn add_role(
    console: State<'_, Console>,
    name: String,
    rights: Vec<String>,
    scope: Option<String>,
) -> Answer<Accounts> {
    console
        .add_role(&name, rights, scope.as_deref().unwrap_or(""))
        .await
}

#[tauri::command]
pub async fn remove_role(console: State<'_, Console>, name: String) -> Answer<Accounts> {
    console.remove_role(&name).await
}

#[tauri::command]
pub async fn trust(console: State<'_, Console>) -> Answer<Trust> {
    console.trust().await
}

#[tauri::command]
pub async fn verify_entry(
    console: State<'_, Console>,
    id: String,
    copy: Option<u64>,
) -> Answer<EntryCheck> {
    console.verify_entry(&id, copy).await
}

#[tauri::command]
pub async fn verify_search(console: State<'_, Console>, q: String) -> Answer<Report> {
    console.verify_search(&q).await
}

#[tauri::command]
pub async fn trust_new_key(console: State<'_, Console>, key_id: String) -> Answer<Trust> {
    console.trust_new_key(&key_id).await
}

#[tauri::command]
pub async fn trust_new_history(console: State<'_, Console>) -> Answer<Trust> {
    console.trust_new_history().await
}
