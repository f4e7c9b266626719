//! The benchmark of exports: a million rows in each format, with the time and the peak memory
//! of the process that writes them.
//!
//! ```text
//! cargo build --release -p vigil-server -p vigil-bench
//! target/release/vigil-export-bench --events 1000000
//! ```
//!
//! 1. A demo journal of `--events` entries (made once with `vigil demo`, then reused, and read
//!    once so that it is in the OS page cache), served by a real `vigil serve` child process on
//!    127.0.0.1.
//! 2. The bare writers for comparison: the csv crate and rust_xlsxwriter (constant memory) writing
//!    the same number of audit rows as plain text cells, in this process.
//! 3. From the store: `GET /v1/export` per format, saved to a file; seconds, size, and the
//!    server's peak RSS during the export (its high-water mark is reset before each one).
//! 4. From the console: vigil-console-core's `save_export`, the code behind the console's "Export…"
//!    (progress, temporary file, check against the store's record), in this process; its peak RSS.
//! 5. `--in-a-row` exports (10 by default) one after the other: the server's peak RSS over them.
//! 6. The ratios that compare from day to day (this machine's speed varies by 2x): each format
//!    from the store against the bare csv writer (XLSX against bare rust_xlsxwriter).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use vigil_client::{Client, ExportOptions};
use vigil_console_core::{save_export, SaveRequest};
use vigil_export::Format;

#[derive(Parser)]
#[command(about = "Benchmark Vigil's exports: 1M rows per format, seconds and peak RSS")]
struct Args {
    /// Entries in the journal (all of them are exported).
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Where the journal and the files go.
    #[arg(long, default_value = "target/vigil-bench")]
    dir: PathBuf,
    /// The `vigil` binary [default: beside this one].
    #[arg(long)]
    vigil: Option<PathBuf>,
    /// Formats to measure.
    #[arg(long, value_delimiter = ',', default_value = "csv,ndjson,json,xlsx")]
    formats: Vec<String>,
    /// Exports of every entry made one after the other at the end (in the first format), to see
    /// that the server's memory stays flat.
    #[arg(long, default_value_t = 10)]
    in_a_row: usize,
}

const PASSWORD: &str = "bench password 123";

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

/// Kills the server when the bench ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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
    std::fs::create_dir_all(&args.dir)?;
    let db = args.dir.join(format!("export-{}.db", args.events));
    if !db.exists() {
        let started = Instant::now();
        let status = Command::new(&vigil)
            .args(["demo", "--events", &args.events.to_string(), "--days", "90"])
            .arg("--database")
            .arg(&db)
            .status()?;
        anyhow::ensure!(status.success(), "vigil demo failed");
        println!(
            "demo journal: {} entries in {:.1} s",
            args.events,
            started.elapsed().as_secs_f64()
        );
        let mut add = Command::new(&vigil)
            .args([
                "user",
                "add",
                "bench",
                "--role",
                "admin",
                "--password-stdin",
            ])
            .arg("--database")
            .arg(&db)
            .stdin(Stdio::piped())
            .spawn()?;
        use std::io::Write;
        add.stdin
            .take()
            .context("stdin")?
            .write_all(PASSWORD.as_bytes())?;
        anyhow::ensure!(add.wait()?.success(), "vigil user add failed");
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let server = Server(
        Command::new(&vigil)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--database")
            .arg(&db)
            .env("RUST_LOG", "warn")
            .envs(std::env::var("VIGIL_BENCH_SERVER_ENV").ok().and_then(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
            }))
            .stderr(Stdio::null())
            .spawn()?,
    );
    let url = format!("http://127.0.0.1:{port}");
    let client = Client::new(&url)?;
    let started = Instant::now();
    // The counts are told to a signed-in caller only.
    let mut token = None;
    loop {
        if token.is_none() {
            token = client.login("bench", PASSWORD).await.ok().map(|l| l.token);
        }
        if let Some(token) = &token {
            if let Ok(h) = client.with_token(token).health().await {
                if h.indexed.is_some() && h.indexed >= h.events {
                    break;
                }
            }
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("the store did not come up with its index");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let reader = client.with_token(&client.login("bench", PASSWORD).await?.token);
    let pid = server.0.id();
    // The peak too: a start that reads the whole journal (the checkpoint signer's tree) once
    // mapped all of it into the server's memory.
    println!(
        "store ready in {:.1} s; server RSS {} MB, peak {} MB",
        started.elapsed().as_secs_f64(),
        rss_mb(pid, "VmRSS")?,
        rss_mb(pid, "VmHWM")?
    );

    let mut timed = Vec::new();
    for name in &args.formats {
        let format = Format::parse(name).with_context(|| format!("unknown format {name}"))?;
        timed.push((format, from_store(&reader, pid, format, &args.dir).await?));
        from_console(&reader, format, &args.dir).await?;
    }
    // The proof of a scattered selection (a fifth of the journal, spread over all of it) costs
    // a pass over the chain hashes of the whole span and about three hashes a row; of every
    // entry, nothing to speak of.
    if args.formats.iter().any(|f| f == "ndjson") {
        let path = args.dir.join("bench-proof.ndjson");
        // The signer signs at most one checkpoint a second for exports: the one before this
        // asked for one, and this figure is the proof's, not that wait.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        for proof in [false, true] {
            // A scattered selection's proof once held 180 MB of hex strings and a mapped journal.
            reset_peak(pid)?;
            let started = Instant::now();
            let (_, bytes) = save_query(
                &reader,
                "section:finance",
                Format::Ndjson,
                Some(proof),
                &path,
            )
            .await?;
            println!(
                "  section:finance ndjson, proof={proof:<5}  {:.2} s  {:.1} MB file  server peak RSS {} MB",
                started.elapsed().as_secs_f64(),
                bytes as f64 / 1e6,
                rss_mb(pid, "VmHWM")?
            );
        }
        std::fs::remove_file(&path)?;
    }
    if let Some(&(format, _)) = timed.first().filter(|_| args.in_a_row > 0) {
        reset_peak(pid)?;
        let started = Instant::now();
        for _ in 0..args.in_a_row {
            from_store_quiet(&reader, format, &args.dir).await?;
        }
        println!(
            "{} {} exports in a row: {:.1} s; server peak RSS {} MB, RSS after {} MB",
            args.in_a_row,
            format.as_str(),
            started.elapsed().as_secs_f64(),
            rss_mb(pid, "VmHWM")?,
            rss_mb(pid, "VmRSS")?
        );
    }
    // Last: the sample rows they hold would stay in this process's memory figures.
    let (bare_csv, bare_xlsx) = bare_writers(&reader, args.events, &args.dir).await?;
    // The machine's speed varies from day to day: the figures that compare are these ratios,
    // from one run.
    let ratios: Vec<String> = timed
        .iter()
        .map(|(format, secs)| match format {
            Format::Xlsx => format!("xlsx {:.2}x bare rust_xlsxwriter", secs / bare_xlsx),
            f => format!("{} {:.2}x", f.as_str(), secs / bare_csv),
        })
        .collect();
    println!(
        "from store against the bare writers (csv, ndjson, json: x bare csv): {}",
        ratios.join(", ")
    );
    drop(server);
    Ok(())
}

/// One export of every entry in `format`, saved to `path`: the journal entry that records it
/// and the bytes received.
async fn save(reader: &Client, format: Format, path: &Path) -> anyhow::Result<(uuid::Uuid, u64)> {
    save_query(reader, "", format, None, path).await
}

/// One export of the matches of `q`, with or without the proof of its rows (`None`: as the
/// store does by default), saved to `path`.
async fn save_query(
    reader: &Client,
    q: &str,
    format: Format,
    proof: Option<bool>,
    path: &Path,
) -> anyhow::Result<(uuid::Uuid, u64)> {
    let mut d = reader
        .export(&ExportOptions {
            q: q.into(),
            format: format.as_str().into(),
            proof,
            ..Default::default()
        })
        .await?;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut bytes = 0;
    while let Some(chunk) = d.chunk().await? {
        bytes += chunk.len() as u64;
        std::io::Write::write_all(&mut file, &chunk)?;
    }
    std::io::Write::flush(&mut file)?;
    Ok((d.entry, bytes))
}

/// One export of every entry to a file, untimed (for memory over many exports).
async fn from_store_quiet(reader: &Client, format: Format, dir: &Path) -> anyhow::Result<()> {
    let path = dir.join(format!("bench-row.{}", format.as_str()));
    save(reader, format, &path).await?;
    std::fs::remove_file(&path)?;
    Ok(())
}

/// Peak or current memory of a process, in MB, from /proc.
fn rss_mb(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: u64 = status
        .lines()
        .find_map(|l| {
            let v = l.strip_prefix(field)?.strip_prefix(':')?;
            v.trim().strip_suffix("kB")?.trim().parse().ok()
        })
        .with_context(|| format!("{field} in /proc/{pid}/status"))?;
    Ok(kb / 1024)
}

/// Samples a process's anonymous and file-backed resident memory every 10 ms until dropped;
/// `peaks()` gives the largest of each seen, in MB.
struct Sampler {
    stop: std::sync::Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<(u64, u64)>>,
}

impl Sampler {
    fn start(pid: u32) -> Sampler {
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let (mut anon, mut file) = (0, 0);
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                anon = anon.max(rss_mb(pid, "RssAnon").unwrap_or(0));
                file = file.max(rss_mb(pid, "RssFile").unwrap_or(0));
                std::thread::sleep(Duration::from_millis(10));
            }
            (anon, file)
        });
        Sampler {
            stop,
            thread: Some(thread),
        }
    }

    fn peaks(mut self) -> (u64, u64) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread
            .take()
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

/// Resets a process's RSS high-water mark (VmHWM).
fn reset_peak(pid: u32) -> anyhow::Result<()> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").context("resetting the peak RSS")
}

fn line(
    what: &str,
    format: Format,
    rows: u64,
    secs: f64,
    bytes: u64,
    peak: u64,
    parts: (u64, u64),
) {
    println!(
        "  {what:<13} {:<6} {rows:>8} rows  {secs:>6.2} s  {:>7.1} MB file  peak RSS {peak:>4} MB (anonymous {:>3} MB, mapped files {:>3} MB)",
        format.as_str(),
        bytes as f64 / 1e6,
        parts.0,
        parts.1
    );
}

async fn from_store(reader: &Client, pid: u32, format: Format, dir: &Path) -> anyhow::Result<f64> {
    let path = dir.join(format!("bench-store.{}", format.as_str()));
    reset_peak(pid)?;
    let sampler = Sampler::start(pid);
    let started = Instant::now();
    let (entry, bytes) = save(reader, format, &path).await?;
    let secs = started.elapsed().as_secs_f64();
    let about = reader
        .event(entry)
        .await?
        .entry
        .event
        .details
        .context("the export's About")?;
    let rows = about["rows"].as_u64().unwrap_or(0);
    let parts = sampler.peaks();
    line(
        "from store",
        format,
        rows,
        secs,
        bytes,
        rss_mb(pid, "VmHWM")?,
        parts,
    );
    std::fs::remove_file(&path)?;
    Ok(secs)
}

async fn from_console(reader: &Client, format: Format, dir: &Path) -> anyhow::Result<()> {
    let path = dir.join(format!("bench-console.{}", format.as_str()));
    let me = std::process::id();
    reset_peak(me)?;
    let sampler = Sampler::start(me);
    let started = Instant::now();
    let saved = save_export(
        reader,
        &SaveRequest {
            q: String::new(),
            format,
            bom: format == Format::Csv,
            order: None,
            path: path.clone(),
            by: "bench".into(),
        },
        std::sync::Arc::new(AtomicBool::new(false)),
        |_| {},
    )
    .await?;
    let secs = started.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(&path)?.len();
    let parts = sampler.peaks();
    line(
        "from console",
        format,
        saved.about.rows,
        secs,
        bytes,
        rss_mb(me, "VmHWM")?,
        parts,
    );
    std::fs::remove_file(&path)?;
    if let Some(about) = saved.about_path {
        std::fs::remove_file(about)?;
    }
    Ok(())
}

/// The csv crate and rust_xlsxwriter alone, writing `n` rows of the journal's own entries (the
/// first 20,000, repeated) as plain text cells: the floor Vigil's exports are compared with.
async fn bare_writers(reader: &Client, n: usize, dir: &Path) -> anyhow::Result<(f64, f64)> {
    let mut sample = Vec::new();
    let mut cursor = None;
    while sample.len() < 20_000 {
        let page = reader
            .search(&vigil_client::SearchOptions {
                limit: Some(1000),
                cursor,
                ..Default::default()
            })
            .await?;
        sample.extend(page.events.into_iter().map(|a| a.entry));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let rows: Vec<Vec<String>> = sample.iter().map(plain_cells).collect();
    println!("bare writers ({n} rows, {} columns):", rows[0].len());
    let me = std::process::id();

    reset_peak(me)?;
    let sampler = Sampler::start(me);
    let path = dir.join("bench-bare.csv");
    let started = Instant::now();
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(std::fs::File::create(&path)?));
    for i in 0..n {
        w.write_record(&rows[i % rows.len()])?;
    }
    w.flush()?;
    drop(w);
    let bytes = std::fs::metadata(&path)?.len();
    let secs = started.elapsed().as_secs_f64();
    let csv_secs = secs;
    line(
        "bare",
        Format::Csv,
        n as u64,
        secs,
        bytes,
        rss_mb(me, "VmHWM")?,
        sampler.peaks(),
    );
    std::fs::remove_file(&path)?;

    reset_peak(me)?;
    let sampler = Sampler::start(me);
    let path = dir.join("bench-bare.xlsx");
    let started = Instant::now();
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet_with_constant_memory()?;
    for i in 0..n {
        for (c, cell) in rows[i % rows.len()].iter().enumerate() {
            sheet.write_string(i as u32 + 1, c as u16, cell)?;
        }
    }
    book.save(&path)?;
    let bytes = std::fs::metadata(&path)?.len();
    let secs = started.elapsed().as_secs_f64();
    line(
        "bare",
        Format::Xlsx,
        n as u64,
        secs,
        bytes,
        rss_mb(me, "VmHWM")?,
        sampler.peaks(),
    );
    std::fs::remove_file(&path)?;
    Ok((csv_secs, secs))
}

/// An entry as 26 text cells, the way a plain dump would write it.
fn plain_cells(s: &vigil_core::StoredEvent) -> Vec<String> {
    let e = &s.event;
    let opt = |v: Option<&str>| v.unwrap_or_default().to_owned();
    let t = e.target.as_ref();
    vec![
        vigil_core::event::micros::format(&e.occurred_at),
        s.seq.to_string(),
        e.id.to_string(),
        e.actor.id.clone(),
        opt(e.actor.name.as_deref()),
        opt(e.actor.role.as_deref()),
        opt(e.actor.kind.map(|k| k.as_str())),
        e.action.clone(),
        e.kind.as_str().into(),
        e.section.clone(),
        e.severity.as_str().into(),
        e.outcome.as_str().into(),
        opt(t.map(|t| t.kind.as_str())),
        opt(t.map(|t| t.id.as_str())),
        opt(t.and_then(|t| t.name.as_deref())),
        e.ip.map(|ip| ip.to_string()).unwrap_or_default(),
        opt(e.reason.as_deref()),
        e.changes
            .as_ref()
            .map(|c| serde_json::to_string(c).unwrap_or_default())
            .unwrap_or_default(),
        e.details
            .as_ref()
            .map(|d| serde_json::to_string(d).unwrap_or_default())
            .unwrap_or_default(),
        String::new(),
        "0".into(),
        opt(e.user_agent.as_deref()),
        opt(e.session_id.as_deref()),
        opt(e.request_id.as_deref()),
        vigil_core::event::micros::format(&s.received_at),
        s.hash.clone(),
    ]
}
