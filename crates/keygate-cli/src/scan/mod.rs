//! `keygate scan`: leaked keys in files, directories and stdin.

mod check;
mod find;
mod report;
mod walk;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use keygate::preset::Preset;

use crate::cli::{Global, PRESETS, Scan};
use crate::output::Failure;

pub(crate) use find::{Formats, Hit};

/// An input: a file, or stdin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Input {
    File(PathBuf),
    Stdin,
}

impl Input {
    /// How the input is named in findings.
    pub(crate) fn name(&self) -> String {
        match self {
            Input::File(path) => path.display().to_string(),
            Input::Stdin => "<stdin>".into(),
        }
    }
}

/// The keys found in one input.
#[derive(Debug)]
pub(crate) struct FileHits {
    pub(crate) file: String,
    pub(crate) hits: Vec<Hit>,
    /// With `--check`: for each hit, whether it still works in the store.
    pub(crate) status: Vec<&'static str>,
}

/// What the scan saw, for the summary.
#[derive(Debug, Default)]
pub(crate) struct Totals {
    pub(crate) scanned: usize,
    pub(crate) skipped: usize,
    pub(crate) errors: usize,
}

pub(crate) fn run(global: &Global, args: &Scan) -> Result<ExitCode, Failure> {
    let presets: Vec<Preset> = match &global.preset {
        Some(name) => Preset::by_name(name).into_iter().collect(),
        None => PRESETS.iter().filter_map(|n| Preset::by_name(n)).collect(),
    };
    let formats = Formats::new(presets);
    if args.check && global.store.is_none() {
        return Err(Failure::msg("--check needs --store (or KEYGATE_STORE)"));
    }
    // The store and pepper are checked before reading anything: a bad setting fails at once.
    let checker = if args.check { Some(check::Checker::open(global)?) } else { None };
    let mut totals = Totals::default();
    let mut inputs = Vec::new();
    for path in &args.paths {
        if path.as_os_str() == "-" {
            inputs.push(Input::Stdin);
        } else if let Err(e) = walk::collect(path, &mut inputs, &mut totals.errors) {
            report::error(&e);
            totals.errors += 1;
        }
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, 64);
    let mut results = scan_all(&formats, &inputs, args.max_size, args.check, threads, &mut totals);
    if let Some(checker) = checker {
        checker.check(&formats, &mut results)?;
    }
    match report::write(args.format, &results, &totals) {
        // A reader that went away (`keygate scan . | head -1`) still gets the scan's answer.
        Ok(()) | Err(Failure::Pipe) => {}
        Err(e) => return Err(e),
    }
    Ok(if totals.errors > 0 {
        ExitCode::from(2)
    } else if results.iter().any(|r| !r.hits.is_empty()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Scans every input on `threads` threads; the results keep the inputs' order.
fn scan_all(
    formats: &Formats,
    inputs: &[Input],
    max_size: u64,
    keep_keys: bool,
    threads: usize,
    totals: &mut Totals,
) -> Vec<FileHits> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let bytes = AtomicU64::new(0);
    let found = AtomicUsize::new(0);
    let finished = AtomicBool::new(false);
    let outcomes: Mutex<Vec<(usize, walk::Outcome)>> = Mutex::new(Vec::new());
    let progress = std::io::stderr().is_terminal();
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads.min(inputs.len().max(1)))
            .map(|_| {
                s.spawn(|| {
                    let mut buf = Vec::new();
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(input) = inputs.get(i) else { break };
                        let outcome =
                            walk::scan_input(formats, input, max_size, keep_keys, &mut buf, |n| {
                                bytes.fetch_add(n as u64, Ordering::Relaxed);
                            });
                        if let walk::Outcome::Hits(h) = &outcome {
                            found.fetch_add(h.len(), Ordering::Relaxed);
                        }
                        mine.push((i, outcome));
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    if let Ok(mut all) = outcomes.lock() {
                        all.append(&mut mine);
                    }
                })
            })
            .collect();
        if progress {
            s.spawn(|| {
                while !finished.load(Ordering::Relaxed) {
                    report::progress(
                        done.load(Ordering::Relaxed),
                        inputs.len(),
                        bytes.load(Ordering::Relaxed),
                        found.load(Ordering::Relaxed),
                    );
                    std::thread::sleep(Duration::from_millis(100));
                }
            });
        }
        for worker in workers {
            let _ = worker.join();
        }
        finished.store(true, Ordering::Relaxed);
    });
    if progress {
        report::progress_done(
            inputs.len(),
            bytes.load(Ordering::Relaxed),
            found.load(Ordering::Relaxed),
        );
    }
    let mut outcomes = outcomes.into_inner().unwrap_or_else(|e| e.into_inner());
    outcomes.sort_by_key(|(i, _)| *i);
    let mut results = Vec::new();
    for (i, outcome) in outcomes {
        match outcome {
            walk::Outcome::Hits(hits) => {
                totals.scanned += 1;
                if !hits.is_empty() {
                    results.push(FileHits { file: inputs[i].name(), hits, status: Vec::new() });
                }
            }
            walk::Outcome::Skipped => totals.skipped += 1,
            walk::Outcome::Failed(e) => {
                report::error(&e);
                totals.errors += 1;
            }
        }
    }
    results
}
