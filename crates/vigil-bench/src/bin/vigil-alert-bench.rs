//! The benchmark of alert latency: from sending a critical entry to the store until a channel
//! receives the message.
//!
//! ```text
//! cargo build --release -p vigil-server -p vigil-bench
//! target/release/vigil-alert-bench --alerts 200
//! ```
//!
//! 1. A local HTTP server that answers like a Slack incoming webhook (`ok`), noting when each
//!    message arrives.
//! 2. A real `vigil serve` child process on a fresh journal (with `--journal-events` demo
//!    entries in it first), its Slack channel pointing at that server, the built-in rule
//!    `severity:critical` on.
//! 3. One at a time: POST one critical entry with an ingest key, wait for its message; the time
//!    from the POST to the message's arrival. Then a burst: `--burst` critical entries in one
//!    batch, the time until the last message arrives.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use axum::body::Bytes;
use clap::Parser;
use serde_json::json;

#[derive(Parser)]
#[command(about = "Benchmark Vigil's alerts: latency from ingest to the channel's receipt")]
struct Args {
    /// Critical entries sent one at a time.
    #[arg(long, default_value_t = 200)]
    alerts: usize,
    /// Critical entries sent in one batch afterwards.
    #[arg(long, default_value_t = 100)]
    burst: usize,
    /// Demo entries in the journal before the measure.
    #[arg(long, default_value_t = 50_000)]
    journal_events: usize,
    /// Where the journal goes (a fresh one each run).
    #[arg(long, default_value = "target/vigil-bench/alerts")]
    dir: PathBuf,
    /// The `vigil` binary [default: beside this one].
    #[arg(long)]
    vigil: Option<PathBuf>,
}

/// Kills the server when the bench ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

/// The Slack stand-in: notes the entry id of each message (from its `vigil://event/…` link).
async fn slack(arrivals: Arrivals) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/services/T0/B0/bench", listener.local_addr()?);
    let app = axum::Router::new().route(
        "/services/T0/B0/bench",
        axum::routing::post(move |body: Bytes| {
            let at = Instant::now();
            let arrivals = arrivals.clone();
            async move {
                let text = String::from_utf8_lossy(&body);
                if let Some(i) = text.find("vigil://event/") {
                    let id = text[i + 14..].chars().take(36).collect::<String>();
                    arrivals.lock().expect("arrivals").insert(id, at);
                }
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

fn vigil_cmd(
    vigil: &PathBuf,
    db: &std::path::Path,
    args: &[&str],
    stdin: &str,
) -> anyhow::Result<String> {
    use std::io::Write;
    let mut child = Command::new(vigil)
        .args(args)
        .arg("--database")
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .context("stdin")?
        .write_all(stdin.as_bytes())?;
    let out = child.wait_with_output()?;
    anyhow::ensure!(out.status.success(), "vigil {args:?} failed");
    Ok(String::from_utf8(out.stdout)?)
}

fn critical(n: usize) -> serde_json::Value {
    json!({
        "id": uuid::Uuid::now_v7(),
        "occurred_at": vigil_core::event::micros::format(&chrono::Utc::now()),
        "actor": {"id": format!("bench{}", n % 7), "kind": "staff"},
        "action": "bonus.grant", "kind": "change", "section": "bonuses", "severity": "critical",
        "target": {"type": "player", "id": n.to_string()},
        "changes": [{"field": "balance", "before": "10.00", "after": "510.00"}],
        "ip": "10.0.0.7",
    })
}

async fn run(args: Args) -> anyhow::Result<()> {
    let vigil = match &args.vigil {
        Some(p) => p.clone(),
        None => std::env::current_exe()?.with_file_name("vigil"),
    };
    anyhow::ensure!(
        vigil.exists(),
        "{} is missing: cargo build --release -p vigil-server -p vigil-bench",
        vigil.display()
    );
    let _ = std::fs::remove_dir_all(&args.dir);
    std::fs::create_dir_all(&args.dir)?;
    let db = args.dir.join("alerts.db");
    if args.journal_events > 0 {
        vigil_cmd(
            &vigil,
            &db,
            &["demo", "--events", &args.journal_events.to_string()],
            "",
        )?;
    }
    let key = vigil_cmd(&vigil, &db, &["key", "create", "bench"], "")?;
    let key = key.trim().to_owned();

    let arrivals: Arrivals = Arc::default();
    let hook = slack(arrivals.clone()).await?;
    let config = args.dir.join("vigil.toml");
    std::fs::write(
        &config,
        format!("[alerts]\n[alerts.channels.bench]\ntype = \"slack\"\nwebhook_url = \"{hook}\"\n"),
    )?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let _server = Server(
        Command::new(&vigil)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--database")
            .arg(&db)
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stderr(Stdio::null())
            .spawn()?,
    );
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(r) = http
            .get(format!("{url}/healthz"))
            .bearer_auth(&key)
            .send()
            .await
        {
            let h: serde_json::Value = r.json().await?;
            if h["indexed"].as_u64() >= h["events"].as_u64() {
                break;
            }
        }
        if started.elapsed() > Duration::from_secs(300) {
            bail!("the store did not come up");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The alert cursor starts at the head when the server first runs: let it settle.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut latencies = Vec::with_capacity(args.alerts);
    for n in 0..args.alerts {
        let event = critical(n);
        let id = event["id"].as_str().context("id")?.to_owned();
        let sent = Instant::now();
        let r = http
            .post(format!("{url}/v1/events"))
            .bearer_auth(&key)
            .json(&[event])
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "ingest answered {}", r.status());
        let arrived = wait_for(&arrivals, &id).await?;
        latencies.push(arrived - sent);
    }
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "one at a time ({} alerts, ingest → Slack webhook received): median {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        ms(at(0.5)),
        ms(at(0.9)),
        ms(at(0.99)),
        ms(*latencies.last().context("no alerts measured")?)
    );

    if args.burst > 0 {
        let events: Vec<_> = (0..args.burst).map(|n| critical(100_000 + n)).collect();
        let ids: Vec<String> = events
            .iter()
            .filter_map(|e| e["id"].as_str().map(String::from))
            .collect();
        let sent = Instant::now();
        let r = http
            .post(format!("{url}/v1/events"))
            .bearer_auth(&key)
            .json(&events)
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "ingest answered {}", r.status());
        let mut last = sent;
        for id in &ids {
            last = last.max(wait_for(&arrivals, id).await?);
        }
        println!(
            "burst of {} critical entries in one batch: all {} messages received {:.1} ms after the POST",
            args.burst,
            ids.len(),
            ms(last - sent)
        );
    }
    Ok(())
}

async fn wait_for(arrivals: &Arrivals, id: &str) -> anyhow::Result<Instant> {
    let start = Instant::now();
    loop {
        if let Some(at) = arrivals.lock().expect("arrivals").get(id) {
            return Ok(*at);
        }
        if start.elapsed() > Duration::from_secs(30) {
            bail!("no message for entry {id} within 30 s");
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}
