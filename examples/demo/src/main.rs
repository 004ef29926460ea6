//! `keygate-demo`: see the workspace README for its flags, ready line and routes.

use std::io::Write;
use std::process::ExitCode;

use keygate_demo::{Demo, Options, Overrides, ready_line};

fn main() -> ExitCode {
    if std::env::args().skip(1).any(|a| a == "--help" || a == "-h") {
        println!("{}", keygate_demo::options::USAGE);
        return ExitCode::SUCCESS;
    }
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    let level = std::env::var("KEYGATE_LOG")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    runtime.block_on(async {
        let demo = match Demo::build(&options, Overrides::default()).await {
            Ok(d) => d,
            Err(e) => return fail(&e),
        };
        let running = match demo.serve(options.framework, options.addr).await {
            Ok(r) => r,
            Err(e) => return fail(&e),
        };
        let mut stdout = std::io::stdout().lock();
        if writeln!(stdout, "{}", ready_line(&running)).and_then(|()| stdout.flush()).is_err() {
            return fail("cannot write the ready line to stdout");
        }
        drop(stdout);
        tracing::info!(addr = %running.addr, preset = %options.preset, "serving");
        shutdown_signal().await;
        tracing::info!("shutting down");
        running.stop().await;
        ExitCode::SUCCESS
    })
}

fn fail(message: &str) -> ExitCode {
    eprintln!("keygate-demo: {message}");
    ExitCode::from(2)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
