//! "Export…" at the commands level: big exports complete and exact, progress, cancel, and bad
//! requests, against a real store.

use std::path::Path;
use std::sync::{Arc, Mutex};

use vigil_console::export::{ExportProgress, ExportRequest};

use crate::support::{console, Start, Store, PASSWORD, USER};

fn request(q: &str, format: &str, path: &Path) -> ExportRequest {
    ExportRequest {
        q: q.into(),
        format: format.into(),
        path: path.display().to_string(),
        bom: format == "csv",
    }
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100k_row_export_is_complete_and_a_cancelled_one_leaves_nothing() {
    let store = Store::start().await;
    store.demo_direct(100_000).await;
    let home = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let c = console(home.path());
    c.sign_in(&store.url, USER, PASSWORD, false).await.unwrap();

    // 100k rows of CSV: every row there, progress up to the total, the About beside it (the
    // journal's own entries, section vigil, left out).
    let seen: Arc<Mutex<Vec<ExportProgress>>> = Arc::default();
    let sink = seen.clone();
    let path = out.path().join("everything.csv");
    let done = c
        .export(request("-section:vigil", "csv", &path), move |p| {
            sink.lock().unwrap().push(p)
        })
        .await
        .unwrap();
    assert_eq!(done.rows, 100_000);
    assert_eq!(done.summary, "100000 entries");
    assert_eq!(done.path, path.display().to_string());
    let progress = seen.lock().unwrap().clone();
    assert_eq!(progress.first().unwrap().rows, 0);
    assert_eq!(
        progress.last().unwrap(),
        &ExportProgress {
            rows: 100_000,
            total: 100_000
        }
    );
    assert!(
        progress.len() > 3,
        "progress is reported as rows arrive: {progress:?}"
    );
    assert!(progress.windows(2).all(|w| w[0].rows <= w[1].rows));
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with("\u{feff}occurred_at,".as_bytes()));
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let ids: std::collections::HashSet<String> =
        reader.records().map(|r| r.unwrap()[2].to_owned()).collect();
    assert_eq!(ids.len(), 100_000, "every entry once");
    let about: serde_json::Value =
        serde_json::from_slice(&std::fs::read(done.about_path.unwrap()).unwrap()).unwrap();
    assert_eq!(about["rows"], 100_000);
    assert_eq!(about["generated_by"], USER);
    assert_eq!(about["sha256"], done.sha256);

    // The same rows as XLSX, written locally: cancelled once it is under way.
    let path = out.path().join("everything.xlsx");
    let c = Arc::new(c);
    let started = Arc::new(tokio::sync::Notify::new());
    let (c2, started2) = (c.clone(), started.clone());
    let task = tokio::spawn({
        let path = path.clone();
        async move {
            c2.export(request("", "xlsx", &path), move |p| {
                if p.rows > 0 {
                    started2.notify_one();
                }
            })
            .await
        }
    });
    started.notified().await;
    assert!(c.export_cancel());
    let err = task.await.unwrap().unwrap_err();
    assert_eq!(err.code, "cancelled", "{err:?}");
    assert!(!path.exists(), "nothing under the chosen name");
    assert!(
        leftovers(out.path()).is_empty(),
        "{:?}",
        leftovers(out.path())
    );
    assert!(!c.export_cancel(), "nothing runs any more");
}

#[tokio::test]
async fn xlsx_and_json_exports_carry_their_about_and_bad_requests_are_refused() {
    let store = Store::start().await;
    store.demo(600).await;
    let home = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let c = console(home.path());
    c.sign_in(&store.url, USER, PASSWORD, false).await.unwrap();

    // No extension: the format's is added.
    let done = c
        .export(
            request("section:finance", "xlsx", &out.path().join("finance")),
            |_| {},
        )
        .await
        .unwrap();
    assert!(done.path.ends_with("finance.xlsx"), "{}", done.path);
    assert!(
        done.about_path.is_none(),
        "the About is inside the workbook"
    );
    assert!(done.rows > 0);
    let book = std::fs::read(&done.path).unwrap();
    assert_eq!(&book[..2], b"PK", "a zip container");

    let done_json = c
        .export(
            request("section:finance", "json", &out.path().join("finance.json")),
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(done_json.rows, done.rows);
    assert_eq!(done_json.sha256, done.sha256, "the same rows in both");
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&done_json.path).unwrap()).unwrap();
    assert_eq!(doc["about"]["rows"], done.rows);
    assert_eq!(doc["events"].as_array().unwrap().len() as u64, done.rows);

    let code = |r: Result<_, vigil_console::error::UiError>| r.map(|_| ()).unwrap_err().code;
    let here = out.path().join("x.csv");
    assert_eq!(
        code(c.export(request("", "pdf", &here), |_| {}).await),
        "invalid"
    );
    assert_eq!(
        code(c.export(request("actor:", "csv", &here), |_| {}).await),
        "bad_query"
    );
    let mut relative = request("", "csv", &here);
    relative.path = "x.csv".into();
    assert_eq!(code(c.export(relative, |_| {}).await), "invalid");
    assert_eq!(
        code(c.export(request("", "csv", out.path()), |_| {}).await),
        "invalid"
    );
    let missing = out.path().join("no/such/folder/x.csv");
    assert_eq!(
        code(c.export(request("", "csv", &missing), |_| {}).await),
        "local"
    );
    assert!(!here.exists());
    assert!(leftovers(out.path()).is_empty());
    c.sign_out().await.unwrap();
    assert_eq!(
        code(c.export(request("", "csv", &here), |_| {}).await),
        "signed_out"
    );
}

#[test]
fn the_webview_can_only_export_to_the_file_picked_in_the_save_dialog() {
    let home = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let c = console(home.path());
    let bashrc = out.path().join(".bashrc");
    assert_eq!(
        c.take_pick(&bashrc.display().to_string()).unwrap_err().code,
        "invalid",
        "nothing picked"
    );
    // The picked name gets the format's extension; that exact path, once.
    let shown = c.remember_pick(out.path().join("finance"), "xlsx");
    assert_eq!(shown, out.path().join("finance.xlsx").display().to_string());
    assert_eq!(
        c.take_pick(&bashrc.display().to_string()).unwrap_err().code,
        "invalid"
    );
    let shown = c.remember_pick(out.path().join("finance"), "xlsx");
    c.take_pick(&shown).unwrap();
    assert!(c.take_pick(&shown).is_err(), "a pick is used once");
    // An existing file the user confirmed keeps its name.
    std::fs::write(out.path().join("report.csv"), "x").unwrap();
    let shown = c.remember_pick(out.path().join("report"), "csv");
    assert_eq!(shown, out.path().join("report").display().to_string());
}
