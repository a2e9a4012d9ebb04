//! `serve`: the local HTTP API, the WebSocket events and the web UI (docs/api.md), with the
//! background sync of `daemon`, until Ctrl-C or SIGTERM. Stopping lets the syncs this process
//! started end; a second signal stops at once.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, Result, bail};
use serde_json::json;
use syncdesk_api::{Server, ServerConfig, UiSource};
use syncdesk_engine::events::Subscription;
use syncdesk_engine::model::{ApiRole, CreatedToken, Event, JobId};

use super::Ctx;
use crate::args::ServeArgs;
use crate::exit::Exit;
use crate::output;

pub fn run(ctx: &Ctx, args: &ServeArgs) -> Result<Exit> {
    if !args.listen.ip().is_loopback() {
        if !args.allow_remote {
            bail!(
                "{} can be reached from other machines; add --allow-remote if that is what you want",
                args.listen
            );
        }
        eprintln!(
            "warning: serving on {}: other machines can reach the API (every request still needs a token)",
            args.listen
        );
    }
    let config = ServerConfig {
        listen: args.listen,
        allow_hosts: args.allow_host.clone(),
        ui: match args.ui_dir.clone().or_else(syncdesk_api::default_ui_dir) {
            Some(dir) => UiSource::Dir(dir),
            None => UiSource::None,
        },
        default_remote: ctx.state_dir.join("remote"),
    };
    if matches!(config.ui, UiSource::None) {
        eprintln!("warning: the web UI is not built (npm run build in ui/); serving the API only");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("api")
        // Room for slow requests (a remote test, a preview) next to quick ones; more threads
        // only add switching on a small machine (and wait on SQLite's few readers anyway).
        .max_blocking_threads(8)
        .on_thread_start(yield_to_syncs)
        .build()
        .context("cannot start the server's threads")?;
    let server = runtime.block_on(Server::start(ctx.engine.clone(), config))?;
    // Only once the server listens: a token made by a start that then failed would never be
    // shown. The syncs start here too, outside the server's threads, so they and their threads
    // keep the normal priority.
    let created = first_token(ctx)?;
    let jobs = RunningJobs::follow(ctx);
    let background = if args.no_background {
        None
    } else {
        ctx.engine.start_boot_sync()?;
        Some(ctx.engine.start_background())
    };
    runtime.block_on(serve(ctx, server, created, jobs, background))
}

/// Requests run at a lower CPU priority than syncs: a client polling as fast as it can
/// must not slow the sync it watches. (The engine starts sync threads from its own thread,
/// so they do not inherit this.)
fn yield_to_syncs() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on the calling thread, no pointers.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}

async fn serve(
    ctx: &Ctx,
    server: Server,
    created: Option<CreatedToken>,
    mut jobs: RunningJobs,
    background: Option<syncdesk_engine::Background>,
) -> Result<Exit> {
    let mut signals = StopSignals::new()?;
    let url = format!("http://{}/", server.local_addr());
    if ctx.json {
        output::json(
            &json!({ "listen": server.local_addr(), "url": url, "createdToken": created }),
        )?;
    } else {
        let mut text = format!("serving {url} (API: {url}api/…, events: {url}ws); Ctrl-C stops\n");
        if let Some(c) = &created {
            text.push_str(&format!(
                "created the admin token {:?}; it is shown only now:\n  {}\nopen the web UI at {url}#token={}\n",
                c.token.name, c.secret, c.secret
            ));
        }
        output::print(&text)?;
    }

    signals.next().await?;
    server.stop().await;
    // Joins the scheduler: no job starts after this.
    drop(tokio::task::spawn_blocking(move || drop(background)).await);
    loop {
        let running = jobs.count();
        if running == 0 {
            break;
        }
        eprintln!("stopping once {running} running sync(s) end; Ctrl-C again to stop at once");
        tokio::select! {
            _ = jobs.ended.recv() => {}
            _ = signals.next() => bail!("stopped while syncs still ran; they are recorded as interrupted"),
        }
    }
    Ok(Exit::Ok)
}

/// The jobs of this process not ended yet, followed from before any starts: stopping waits
/// for them.
struct RunningJobs {
    open: Arc<Mutex<BTreeSet<JobId>>>,
    ended: tokio::sync::mpsc::UnboundedReceiver<()>,
    _subscription: Subscription,
}

impl RunningJobs {
    fn follow(ctx: &Ctx) -> RunningJobs {
        let open = Arc::new(Mutex::new(BTreeSet::new()));
        let (ended_tx, ended) = tokio::sync::mpsc::unbounded_channel();
        let tracked = open.clone();
        let subscription = ctx.engine.events().subscribe(move |e| {
            if let Event::JobChanged(job) = e {
                let mut open = tracked.lock().unwrap_or_else(PoisonError::into_inner);
                if job.status.is_final() {
                    open.remove(&job.id);
                    let _ = ended_tx.send(());
                } else {
                    open.insert(job.id);
                }
            }
        });
        RunningJobs {
            open,
            ended,
            _subscription: subscription,
        }
    }

    fn count(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// The first start creates an admin token, so the API is usable at once.
fn first_token(ctx: &Ctx) -> Result<Option<CreatedToken>> {
    if !ctx.engine.api_tokens()?.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        ctx.engine
            .create_api_token(Some("default"), ApiRole::Admin)?,
    ))
}

/// Ctrl-C, SIGTERM and SIGHUP, caught from creation on (a signal that arrives before the
/// first wait is not lost, and does not kill the process the default way).
struct StopSignals {
    #[cfg(unix)]
    kinds: Vec<tokio::signal::unix::Signal>,
}

impl StopSignals {
    fn new() -> Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let kinds = [
                SignalKind::interrupt(),
                SignalKind::terminate(),
                SignalKind::hangup(),
            ]
            .into_iter()
            .map(signal)
            .collect::<Result<_, _>>()
            .context("cannot catch Ctrl-C and SIGTERM")?;
            Ok(StopSignals { kinds })
        }
        #[cfg(not(unix))]
        Ok(StopSignals {})
    }

    async fn next(&mut self) -> Result<()> {
        #[cfg(unix)]
        {
            let waits = self.kinds.iter_mut().map(|s| Box::pin(s.recv()));
            futures::future::select_all(waits).await;
        }
        #[cfg(not(unix))]
        tokio::signal::ctrl_c().await?;
        Ok(())
    }
}
