//! `keygate-demo`: see the workspace README for its flags, ready line and routes.

use std::io::Write;
use std::process::ExitCode;

use keygate_demo::{Demo, Options, Overrides, Parsed, ready_line};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let options = match Options::from_args(std::env::args_os()) {
        Ok(Parsed::Run(o)) => o,
        Ok(Parsed::Print(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(e) => return fail(&e),
    };
    // `RUST_LOG` filters the logs (`RUST_LOG=keygate=debug,info`); info by default.
    let filter = match std::env::var("RUST_LOG") {
        Ok(text) => match EnvFilter::try_new(&text) {
            Ok(filter) => filter,
            Err(e) => return fail(&format!("RUST_LOG `{text}` is not a log filter: {e}")),
        },
        Err(_) => EnvFilter::new("info"),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
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
        let stop = shutdown_signal();
        let mut stdout = std::io::stdout().lock();
        if writeln!(stdout, "{}", ready_line(&running)).and_then(|()| stdout.flush()).is_err() {
            return fail("cannot write the ready line to stdout");
        }
        drop(stdout);
        tracing::info!(addr = %running.addr, preset = %options.preset, "serving");
        stop.await;
        tracing::info!("shutting down");
        running.stop().await;
        ExitCode::SUCCESS
    })
}

fn fail(message: &str) -> ExitCode {
    eprintln!("keygate-demo: {message}");
    ExitCode::from(2)
}

/// SIGTERM or SIGINT (Ctrl-C). The handlers are installed when this is called, not when the
/// future is first polled: called before the ready line, a signal sent as soon as that line is
/// read is caught.
fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let handlers = signal(SignalKind::terminate())
            .and_then(|term| signal(SignalKind::interrupt()).map(|interrupt| (term, interrupt)));
        async move {
            match handlers {
                Ok((mut term, mut interrupt)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = interrupt.recv() => {}
                    }
                }
                Err(_) => std::future::pending().await,
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
