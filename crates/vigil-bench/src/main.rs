//! The benchmark of the audit store, end to end over HTTP:
//!
//! ```text
//! cargo run --release -p vigil-bench -- --events 1000000
//! ```
//!
//! 1. Ingest: a real server on 127.0.0.1:0 over a fresh SQLite file; `--senders` concurrent
//!    clients post demo events in batches of `--batch` (durable: each 2xx is fsynced).
//! 2. Annotate: `--annotations` finance entries get a comment and a mark, one request at a time
//!    (each durable, with its journal entry), p50/p95/p99.
//! 3. Search: the first page (50) of each query class, `--runs` times each, p50/p95/p99,
//!    annotation queries (`mark:`, `has:comment`, comment words) included.
//! 4. Timeline and facets for a few queries.
//! 5. Disk bytes per event.
//!
//! `--reuse` keeps a database from an earlier run with the same `--events` and skips ingest.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use vigil_client::{Client, SearchOptions};

#[derive(Parser)]
#[command(about = "Benchmark the Vigil audit store over HTTP")]
struct Args {
    /// Events to ingest.
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Concurrent senders.
    #[arg(long, default_value_t = 4)]
    senders: usize,
    /// Events per batch.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Runs of each query.
    #[arg(long, default_value_t = 30)]
    runs: usize,
    /// Where the database goes.
    #[arg(long, default_value = "target/vigil-bench")]
    dir: PathBuf,
    /// Reuse the database of an earlier run with the same --events.
    #[arg(long)]
    reuse: bool,
    /// Entries to annotate (skipped when reusing a database already annotated).
    #[arg(long, default_value_t = 2000)]
    annotations: usize,
}

const PASSWORD: &str = "bench password 123";
/// The journal spans a year, so that queries can match only old entries or few spread thinly.
const DAYS: u32 = 365;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let db = args.dir.join(format!("bench-{}.db", args.events));
    let reuse = args.reuse && db.exists();
    if !reuse {
        std::fs::create_dir_all(&args.dir)?;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        let _ = std::fs::remove_dir_all(format!("{}.index", db.display()));
    }
    let builder = vigil_testkit::TestServer::builder()
        .database(&db)
        .wall_clock()
        .password(PASSWORD);
    let builder = if reuse {
        builder.key(&format!("bench-{}", uuid::Uuid::now_v7()))
    } else {
        builder.user("bench", &["admin"]).key("bench")
    };
    let started = Instant::now();
    let server = builder.start().await;
    println!("store opened in {:.2} s", started.elapsed().as_secs_f64());
    let (state, key) = (server.state.clone(), server.key.clone());
    let client = Client::new(&server.url)?;

    if !reuse {
        demo_rate();
        let token = client.login("bench", PASSWORD).await?.token;
        let latencies = Arc::new(std::sync::Mutex::new(Latencies::default()));
        let searcher = tokio::spawn(search_while_ingesting(
            client.with_token(&token),
            latencies.clone(),
        ));
        ingest(&client.with_token(&key), &args).await?;
        searcher.abort();
        let mut latencies = latencies.lock().expect("latencies").clone();
        println!(
            "search during ingest (severity:critical, 10 per second): {}",
            percentiles(&mut latencies.first)
        );
        println!(
            "  its second pages (not journaled): {}",
            percentiles(&mut latencies.next)
        );
        println!(
            "  how far behind the journal the first pages' answers were: {}",
            behind(&mut latencies.behind)
        );
    }
    let count = vigil_server::service::journal::event_count(&state).await?;
    if (count as usize) < args.events {
        bail!("the journal has {count} events, expected {}", args.events);
    }
    let token = client.login("bench", PASSWORD).await?.token;
    let reader = client.with_token(&token);
    wait_for_index(&reader).await?;
    annotate(&reader, args.annotations).await?;
    wait_for_index(&reader).await?;
    queries(&reader, &args).await?;
    disk(&db, count)?;
    Ok(())
}

/// Annotates `n` finance entries, one request at a time, and prints the latency of each write
/// (durable, with its journal entry and the re-indexing it causes later).
async fn annotate(reader: &Client, n: usize) -> anyhow::Result<()> {
    let already = reader.search(&SearchOptions::query("has:mark")).await?;
    if n == 0 || !already.events.is_empty() {
        println!("annotate: skipped (the database is already annotated)");
        return Ok(());
    }
    let mut ids = Vec::with_capacity(n);
    let mut cursor = None;
    while ids.len() < n {
        let page = reader
            .search(&SearchOptions {
                q: "section:finance".into(),
                limit: Some(1000),
                cursor,
                ..Default::default()
            })
            .await?;
        ids.extend(page.events.iter().step_by(3).map(|e| e.entry.event.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    ids.truncate(n);
    let marks = ["suspicious", "reviewed", "player-request", "false-positive"];
    let comments = [
        "chargeback review, see ticket",
        "vu avec le joueur, geste commercial",
        "montant vérifié avec la banque",
    ];
    let mut lat = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let body = serde_json::json!({
            "comment": format!("{} #{i}", comments[i % comments.len()]),
            "marks": [marks[i % marks.len()]],
        });
        let t = Instant::now();
        reader
            .record::<serde_json::Value>(&format!("v1/events/{id}/annotations"), &body)
            .await?;
        lat.push(t.elapsed());
    }
    println!(
        "annotate {} entries, one at a time (durable, journaled): {}",
        ids.len(),
        percentiles(&mut lat)
    );
    Ok(())
}

/// How fast the demo generator itself is (it shares the machine with the server during ingest).
fn demo_rate() {
    let until = chrono::Utc::now();
    let n = 500_000;
    let started = Instant::now();
    let mut demo = vigil_demo::Demo::new(1, until, 90, n);
    while !demo.take(10_000).is_empty() {}
    println!(
        "demo generator: {:.0} events/s",
        n as f64 / started.elapsed().as_secs_f64()
    );
}

/// Searches ten times a second while events pour in: what an auditor sees during peak ingest.
/// Every other search asks for a second page, which is not journaled: the difference between
/// the two is what writing the first page's trace costs under ingest.
async fn search_while_ingesting(reader: Client, latencies: Arc<std::sync::Mutex<Latencies>>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut q = SearchOptions {
        q: "severity:critical".into(),
        limit: Some(50),
        ..Default::default()
    };
    let mut first = true;
    loop {
        tick.tick().await;
        let t = Instant::now();
        let asked = SearchOptions {
            cursor: if first { None } else { q.cursor.clone() },
            ..q.clone()
        };
        if let Ok(page) = reader.search(&asked).await {
            let mut l = latencies.lock().expect("latencies");
            if first {
                l.first.push(t.elapsed());
                if let Some(f) = &page.freshness {
                    l.behind.push((f.behind_entries, f.behind_ms));
                }
                q.cursor = page.next_cursor;
            } else {
                l.next.push(t.elapsed());
            }
        }
        first = !first || q.cursor.is_none();
    }
}

/// Search latencies during ingest: first pages (journaled) and second pages (not).
#[derive(Default, Clone)]
struct Latencies {
    first: Vec<Duration>,
    next: Vec<Duration>,
    /// How far behind the journal each first page's answer was: entries, ms.
    behind: Vec<(u64, u64)>,
}

/// Posts the demo journal from `senders` tasks; a generator thread prepares the bodies.
async fn ingest(client: &Client, args: &Args) -> anyhow::Result<()> {
    let until =
        chrono::DateTime::parse_from_rfc3339("2026-11-26T12:00:00Z")?.with_timezone(&chrono::Utc);
    let (tx, rx) = async_channel(args.senders * 4);
    let (n, batch) = (args.events, args.batch);
    std::thread::spawn(move || {
        let mut demo = vigil_demo::Demo::new(7, until, DAYS, n);
        let mut left = n;
        while left > 0 {
            let events = demo.take(left.min(batch));
            left -= events.len();
            let body = serde_json::to_vec(&events).expect("events serialize");
            if tx.send_blocking(body).is_err() {
                return;
            }
        }
    });
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.senders)
        .map(|_| {
            let (client, rx) = (client.clone(), rx.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while let Some(body) = rx.recv().await {
                    let t = Instant::now();
                    client.ingest_raw(body).await.context("ingest")?;
                    latencies.push(t.elapsed());
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "ingest: {} events in {secs:.1} s = {:.0} events/s durable ({} senders, batches of {}); batch latency {}",
        args.events,
        args.events as f64 / secs,
        args.senders,
        args.batch,
        percentiles(&mut latencies)
    );
    Ok(())
}

/// A bounded multi-consumer channel from std and tokio parts.
fn async_channel(cap: usize) -> (Sender, Receiver) {
    let (tx, rx) = tokio::sync::mpsc::channel(cap);
    (Sender(tx), Receiver(Arc::new(tokio::sync::Mutex::new(rx))))
}

struct Sender(tokio::sync::mpsc::Sender<Vec<u8>>);
impl Sender {
    fn send_blocking(&self, v: Vec<u8>) -> Result<(), ()> {
        self.0.blocking_send(v).map_err(drop)
    }
}

#[derive(Clone)]
struct Receiver(Arc<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<Vec<u8>>>>);
impl Receiver {
    async fn recv(&self) -> Option<Vec<u8>> {
        self.0.lock().await.recv().await
    }
}

fn percentiles(d: &mut [Duration]) -> String {
    if d.is_empty() {
        return "n/a".into();
    }
    d.sort();
    let at = |p: f64| {
        d[((d.len() as f64 * p).ceil() as usize).clamp(1, d.len()) - 1].as_secs_f64() * 1000.0
    };
    format!(
        "p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        at(0.50),
        at(0.95),
        at(0.99),
        at(1.0)
    )
}

/// Median and largest lag of answers behind the journal, in entries and seconds.
fn behind(b: &mut [(u64, u64)]) -> String {
    if b.is_empty() {
        return "n/a".into();
    }
    let mut entries: Vec<u64> = b.iter().map(|x| x.0).collect();
    let mut ms: Vec<u64> = b.iter().map(|x| x.1).collect();
    entries.sort_unstable();
    ms.sort_unstable();
    let (mid, last) = (b.len() / 2, b.len() - 1);
    format!(
        "median {} entries ({:.1} s), most {} entries ({:.1} s)",
        entries[mid],
        ms[mid] as f64 / 1000.0,
        entries[last],
        ms[last] as f64 / 1000.0
    )
}

/// Waits until the search index holds every entry, and says how long that took.
async fn wait_for_index(reader: &Client) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let h = reader.health().await?;
        if h.indexed.is_some() && h.indexed == h.events {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "search index caught up {:.1} s after ingest ended",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Values to query for, read from the journal itself.
async fn samples(reader: &Client) -> anyhow::Result<(Vec<String>, String, String)> {
    let actors: Vec<String> = reader
        .facets("", "actor", Some(12))
        .await?
        .values
        .into_iter()
        .map(|v| v.value)
        .collect();
    let page = reader
        .search(&SearchOptions {
            q: "target:player/* has:ip".into(),
            limit: Some(1),
            ..Default::default()
        })
        .await?;
    let e = page
        .events
        .first()
        .context("no event with a player target")?;
    let target = e
        .entry
        .event
        .target
        .as_ref()
        .map(|t| format!("player/{}", t.id))
        .unwrap_or_default();
    let ip = e
        .entry
        .event
        .ip
        .map(|ip| ip.to_string())
        .unwrap_or_default();
    Ok((actors, target, ip))
}

/// The rarest action with at least 20 entries: a query whose few matches spread over the year.
async fn rare_action(reader: &Client) -> anyhow::Result<String> {
    let actions = reader.facets("", "action", Some(100)).await?.values;
    actions
        .iter()
        .filter(|v| v.count >= 20)
        .min_by_key(|v| v.count)
        .map(|v| v.value.clone())
        .context("no action with 20 entries")
}

/// One measured request: a query, its order, and how many pages deep.
struct Ask {
    q: String,
    order: Option<vigil_api::Order>,
    /// The page asked for (1 = first); deeper pages start from the cursor of the one before.
    page: usize,
}

impl Ask {
    fn first(q: impl Into<String>) -> Ask {
        Ask {
            q: q.into(),
            order: None,
            page: 1,
        }
    }

    fn oldest(q: impl Into<String>) -> Ask {
        Ask {
            order: Some(vigil_api::Order::Oldest),
            ..Ask::first(q)
        }
    }

    fn page(self, page: usize) -> Ask {
        Ask { page, ..self }
    }
}

/// The cursor of page `ask.page` (None for the first page), found by paging through.
async fn cursor_of(reader: &Client, ask: &Ask) -> anyhow::Result<Option<String>> {
    let mut cursor = None;
    for _ in 1..ask.page {
        let page = reader
            .search(&SearchOptions {
                q: ask.q.clone(),
                limit: Some(50),
                cursor,
                order: ask.order,
            })
            .await?;
        cursor = Some(page.next_cursor.context("the query has fewer pages")?);
    }
    Ok(cursor)
}

/// Runs a class of queries `runs` times and prints its latencies.
async fn class(reader: &Client, name: &str, asks: &[Ask], runs: usize) -> anyhow::Result<()> {
    let mut cursors = Vec::with_capacity(asks.len());
    for ask in asks {
        cursors.push(cursor_of(reader, ask).await?);
    }
    let mut lat = Vec::new();
    let mut hits = 0;
    for _ in 0..runs {
        for (ask, cursor) in asks.iter().zip(&cursors) {
            let t = Instant::now();
            let page = reader
                .search(&SearchOptions {
                    q: ask.q.clone(),
                    limit: Some(50),
                    cursor: cursor.clone(),
                    order: ask.order,
                })
                .await?;
            lat.push(t.elapsed());
            hits += page.events.len();
        }
    }
    println!(
        "  {name:<26} {}  (avg {} rows)",
        percentiles(&mut lat),
        hits / (runs * asks.len())
    );
    Ok(())
}

/// A client signed in as a viewer (personal data masked), made the first time.
async fn viewer(admin: &Client) -> anyhow::Result<Client> {
    let made = admin
        .add_user(&vigil_api::accounts::NewUserRequest {
            name: "bench-viewer".into(),
            password: PASSWORD.into(),
            roles: vec!["viewer".into()],
        })
        .await;
    if let Err(e) = made {
        // Made by an earlier run on this database (--reuse).
        if !e.to_string().contains("exists") {
            return Err(e.into());
        }
    }
    let token = admin.login("bench-viewer", PASSWORD).await?.token;
    Ok(admin.with_token(&token))
}

async fn queries(reader: &Client, args: &Args) -> anyhow::Result<()> {
    let (actors, target, ip) = samples(reader).await?;
    let rare = rare_action(reader).await?;
    let a = |i: usize| actors[i % actors.len()].clone();
    let plain = |qs: Vec<String>| qs.into_iter().map(Ask::first).collect::<Vec<_>>();
    let classes: Vec<(&str, Vec<Ask>)> = vec![
        (
            "actor + time",
            plain(
                (0..6)
                    .map(|i| format!("actor:{} after:2026-11-01", a(i)))
                    .collect(),
            ),
        ),
        (
            "section + kind",
            plain(vec![
                "section:finance kind:change".into(),
                "section:bonuses kind:create".into(),
                "section:players kind:access".into(),
            ]),
        ),
        (
            "action prefix",
            plain(vec![
                "action:bonus.*".into(),
                "action:withdrawal.*".into(),
                "action:role.*".into(),
            ]),
        ),
        (
            "critical in 30 days",
            plain(vec!["severity:critical after:2026-10-27".into()]),
        ),
        ("target", plain(vec![format!("target:{target}")])),
        (
            "IP",
            plain(vec![format!("ip:{ip}"), "ip:198.51.100.0/24".into()]),
        ),
        (
            "full-text word + section",
            plain(vec![
                "demande section:finance".into(),
                "chargeback section:finance".into(),
                "geste section:bonuses".into(),
            ]),
        ),
        (
            "three filters",
            plain(vec![
                format!("actor:{} section:finance -outcome:success", a(1)),
                "section:bonuses kind:create severity:warning,critical".into(),
            ]),
        ),
        (
            "annotations",
            plain(vec![
                "mark:suspicious".into(),
                "has:comment section:finance".into(),
                "\"chargeback review\" -mark:reviewed".into(),
            ]),
        ),
        ("everything", plain(vec!["".into()])),
        // Every match months older than the newest entry: the first page is far from "now".
        (
            "matches only old",
            plain(vec![
                "ip:198.51.100.0/24 before:2026-01-15".into(),
                format!("actor:{} before:2026-01-01", a(2)),
                "action:bonus.* before:2026-02-01".into(),
                "section:finance kind:change before:2025-12-20".into(),
            ]),
        ),
        // Few matches over the whole year, or fewer than a page: every one must be found.
        (
            "sparse over a year",
            plain(vec![
                format!("action:{rare}"),
                format!("action:{rare} -outcome:success"),
                "ip:192.0.2.66".into(),
                "action:api.access outcome:denied".into(),
            ]),
        ),
        (
            "oldest first",
            vec![
                Ask::oldest(""),
                Ask::oldest("section:finance"),
                Ask::oldest("action:bonus.*"),
                Ask::oldest("ip:198.51.100.0/24"),
                Ask::oldest(format!("actor:{} after:2026-06-01", a(3))),
            ],
        ),
        // Page 200 of a broad query (10,000 entries in), from the cursor of page 199.
        (
            "deep cursor (page 200)",
            vec![
                Ask::first("").page(200),
                Ask::first("section:finance").page(200),
                Ask::first("action:bonus.*").page(200),
                Ask::oldest("severity:info").page(200),
            ],
        ),
    ];
    println!("search, first page of 50 ({} runs per query):", args.runs);
    for (name, asks) in &classes {
        class(reader, name, asks, args.runs).await?;
    }
    // A viewer's full-text words skip the words only personal fields hold (a second term per
    // word in the index), and the answers are masked.
    let viewer = viewer(reader).await?;
    for (name, asks) in [
        (
            "full-text, as a viewer",
            plain(vec![
                "demande section:finance".into(),
                "chargeback section:finance".into(),
                "geste section:bonuses".into(),
                "\"chargeback review\" -mark:reviewed".into(),
            ]),
        ),
        ("everything, as a viewer", plain(vec!["".into()])),
    ] {
        class(&viewer, name, &asks, args.runs).await?;
    }
    println!("timeline and facets:");
    for q in ["", "section:finance", "severity:critical", "demande"] {
        let mut lat = Vec::new();
        for _ in 0..args.runs.div_ceil(3) {
            let t = Instant::now();
            reader.timeline(q, Some(100)).await?;
            lat.push(t.elapsed());
        }
        println!("  timeline {q:<22} {}", percentiles(&mut lat));
    }
    for (q, field) in [
        ("", "actor"),
        ("", "action"),
        ("section:finance", "actor"),
        ("severity:critical", "section"),
    ] {
        let mut lat = Vec::new();
        for _ in 0..args.runs.div_ceil(3) {
            let t = Instant::now();
            reader.facets(q, field, Some(10)).await?;
            lat.push(t.elapsed());
        }
        println!("  facets {field:<7} {q:<17} {}", percentiles(&mut lat));
    }
    Ok(())
}

fn disk(db: &std::path::Path, count: u64) -> anyhow::Result<()> {
    let mut bytes = 0;
    for suffix in ["", "-wal", "-shm"] {
        bytes += std::fs::metadata(format!("{}{suffix}", db.display()))
            .map(|m| m.len())
            .unwrap_or(0);
    }
    let index = PathBuf::from(format!("{}.index", db.display()));
    let index_bytes = dir_size(&index);
    println!(
        "disk: journal {:.1} MB + index {:.1} MB = {:.0} bytes per event",
        bytes as f64 / 1e6,
        index_bytes as f64 / 1e6,
        (bytes + index_bytes) as f64 / count as f64
    );
    Ok(())
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
