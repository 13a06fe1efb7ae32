//! Wiring of the daemon: load the probes once (every process, no filter), open the sockets and
//! the event log, then read the kernel ring and fan events out until SIGTERM or SIGINT.
//! SIGHUP reopens the event log.

use std::{sync::Arc, time::Duration};

use log::{info, warn};
use tokio::{
    signal::unix::{signal, Signal, SignalKind},
    sync::mpsc,
    task::JoinSet,
};

use crate::{
    clock::Clock,
    daemon::{client::ClientContext, config::DaemonConfig, http, listen, Error},
    decode::{decode, task_change},
    kernel::{
        loader::{LoadOptions, Probes},
        losses::Told,
        reader::EventReader,
        sweep::SocketSweep,
    },
    model::{Return, Syscall},
    outputs::nats::snapshots::ListenersChanged,
    outputs::{
        event_log::handle::{open_event_log, LogHandle},
        hub::{Control, Hub},
        metrics::Metrics,
    },
    pipeline::{Pipeline, Record},
};

/// How often kernel drops are looked at.
const TICK: Duration = Duration::from_millis(250);
/// Ring records read at a time.
const READ_BATCH: usize = 1024;
/// How long clients get, at shutdown, to take what their queues hold.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Runs the daemon until SIGTERM or SIGINT; then flushes the log, closes the clients and
/// removes the socket.
pub async fn run(config: DaemonConfig) -> Result<(), Error> {
    // Before anything slow, so that a stop request during start-up is not lost.
    let mut signals = Signals {
        terminate: signal(SignalKind::terminate())?,
        interrupt: signal(SignalKind::interrupt())?,
        hangup: signal(SignalKind::hangup())?,
    };
    for warning in &config.warnings {
        warn!("{warning}");
    }
    if let Some(problem) = &config.log_problem {
        log::error!(
            "{problem}: events are streamed but not logged; the log is retried every few seconds"
        );
    }
    let mut daemon = Daemon::start(&config).await?;
    let stop = daemon.serve(&mut signals).await?;
    info!("{stop}: stopping");
    daemon.stop().await
}

struct Signals {
    terminate: Signal,
    interrupt: Signal,
    hangup: Signal,
}

/// A started daemon: probes attached, sockets open, log thread running.
struct Daemon {
    probes: Probes,
    reader: EventReader,
    metrics: Arc<Metrics>,
    hub: Hub,
    control_rx: mpsc::UnboundedReceiver<Control>,
    /// The accept loops and the metrics server.
    tasks: JoinSet<()>,
    socket_file: Option<listen::SocketFile>,
    ctx: Option<Arc<ClientContext>>,
    alive_tx: Option<mpsc::Sender<()>>,
    alive_rx: mpsc::Receiver<()>,
    /// Turns ring records into records for the hub.
    intake: Intake,
    batch: Vec<Record>,
    /// The kernel's losses told so far, and when last: at most once a second, with the
    /// counts since.
    losses_told: Told,
    losses_told_at: std::time::Instant,
    /// Removes the kernel's state of sockets that died without a close.
    sweep: SocketSweep,
}

impl Daemon {
    async fn start(config: &DaemonConfig) -> Result<Daemon, Error> {
        // Sockets first: a daemon already running or a port in use fails fast, before the
        // slow probe load (and the socket file goes away on any later failure).
        let (unix_listener, socket_file) =
            listen::bind_unix(&config.socket, config.socket_group.as_ref())?;
        let tcp_listener = match &config.tcp {
            Some(tcp) => Some(listen::bind_tcp(tcp.addr, "--listen").await?),
            None => None,
        };
        let metrics_listener = match &config.metrics {
            Some(settings) => Some((
                listen::bind_tcp(settings.addr, "--metrics").await?,
                settings.clone(),
            )),
            None => None,
        };
        let mut options = LoadOptions {
            ring_bytes: config.ring_bytes,
            btf: config.btf.clone(),
            max_sockets: config.max_sockets,
            exit_hook: config.exit_hook,
            state_map: config.state_map,
            ..LoadOptions::default()
        };
        options.config.task_events = 1;
        let mut probes = Probes::load(&options)?;
        probes.spawn_log_pump();
        let reader = EventReader::new(probes.take_events()?)?;
        // Losses from before the start (none: the maps are new) are not this run's news.
        let mut losses_told = Told::default();
        let _ = losses_told.news(&probes.counters()?);

        let metrics = Arc::new(Metrics::default());
        let log = match &config.log {
            Some(settings) => Some(LogHandle::spawn(
                open_event_log(settings.policy()).map_err(|e| Error::Log(e.to_string()))?,
                Arc::clone(&metrics),
            )?),
            None => None,
        };

        let changed = ListenersChanged::default();
        if let Some(nats) = &config.nats {
            info!(
                "publishing the event log to NATS at {} as host {}",
                nats.server.urls.join(","),
                nats.host_id
            );
            let snapshots = config.snapshots.clone().map(|s| (s, changed.clone()));
            crate::outputs::nats::publisher::spawn(nats.clone(), snapshots, Arc::clone(&metrics))?;
        }
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let (alive_tx, alive_rx) = mpsc::channel::<()>(1);
        let ctx = Arc::new(ClientContext::new(
            control_tx,
            Arc::clone(&metrics),
            config.client_queue,
            config.max_clients,
            config.tcp.as_ref().map(|t| t.token.clone()),
        ));
        let mut tasks = JoinSet::new();
        tasks.spawn(listen::accept_unix(
            unix_listener,
            Arc::clone(&ctx),
            alive_tx.clone(),
        ));
        if let Some(listener) = tcp_listener {
            tasks.spawn(listen::accept_tcp(
                listener,
                Arc::clone(&ctx),
                alive_tx.clone(),
            ));
        }
        if let Some((listener, settings)) = metrics_listener {
            if let Ok(addr) = listener.local_addr() {
                info!("serving metrics on http://{addr}/metrics");
            }
            tasks.spawn(http::serve(listener, Arc::clone(&metrics), settings));
        }
        info!("serving events on {}", config.socket.display());
        Ok(Daemon {
            probes,
            reader,
            intake: Intake {
                pipeline: Pipeline::new(Clock::now()).keep_lineage(),
                scope_netns: config.scope_netns,
                changed,
            },
            hub: Hub::new(Arc::clone(&metrics), log),
            metrics,
            control_rx,
            tasks,
            socket_file: Some(socket_file),
            ctx: Some(ctx),
            alive_tx: Some(alive_tx),
            alive_rx,
            batch: Vec::with_capacity(1024),
            losses_told,
            losses_told_at: std::time::Instant::now(),
            sweep: SocketSweep::new(options.max_sockets),
        })
    }

    /// Fans events out until a stop signal; returns its name.
    async fn serve(&mut self, signals: &mut Signals) -> Result<&'static str, Error> {
        let mut tick = tokio::time::interval(TICK);
        let metrics = &self.metrics;
        let batch = &mut self.batch;
        let intake = &mut self.intake;
        loop {
            tokio::select! {
                _ = signals.terminate.recv() => return Ok("SIGTERM"),
                _ = signals.interrupt.recv() => return Ok("SIGINT"),
                _ = signals.hangup.recv() => self.hub.reopen_log(),
                Some(msg) = self.control_rx.recv() => self.hub.control(msg),
                // A bounded batch: under a burst, signals, clients and the tick still get turns.
                read = self.reader.read_some(READ_BATCH, |record| intake.take(record, batch, metrics)) => {
                    read?;
                    self.hub.publish_all(batch).await;
                }
                _ = tick.tick() => {
                    let counters = self.probes.counters()?;
                    // At most once a second, so that a burst of losses makes few records.
                    if self.losses_told_at.elapsed() >= Duration::from_secs(1) {
                        for (loss, count) in self.losses_told.news(&counters) {
                            self.hub.kernel_lost(loss, count);
                            self.losses_told_at = std::time::Instant::now();
                        }
                    }
                    self.sweep.tick(&mut self.probes, &counters)?;
                }
            }
        }
    }

    /// Stops accepting, hands out the last events, lets clients take their queues (for a
    /// bounded time) and flushes the log.
    async fn stop(mut self) -> Result<(), Error> {
        // The socket file goes first so that nobody connects to a dying daemon.
        self.tasks.shutdown().await;
        self.socket_file = None;
        // Calls made just before the stop are already in the ring: hand them out too.
        let (metrics, batch, intake) = (&self.metrics, &mut self.batch, &mut self.intake);
        self.reader
            .drain(|record| intake.take(record, batch, metrics));
        while let Ok(msg) = self.control_rx.try_recv() {
            self.hub.control(msg);
        }
        self.hub.publish_all(batch).await;
        let counters = self.probes.counters()?;
        for (loss, count) in self.losses_told.news(&counters) {
            self.hub.kernel_lost(loss, count);
        }
        self.hub.close_clients();
        self.ctx = None;
        self.alive_tx = None;
        if tokio::time::timeout(CLOSE_GRACE, self.alive_rx.recv())
            .await
            .is_err()
        {
            warn!("some clients did not take their last events within {CLOSE_GRACE:?}");
        }
        self.hub.close_log();
        info!("stopped: {}", self.metrics.summary());
        Ok(())
    }
}

/// What the daemon makes of the ring's records.
struct Intake {
    /// Every fork and exit of the host is told to it, so that a client's `pid` keeps
    /// descendants.
    pipeline: Pipeline,
    /// With --netns: only events of sockets in this netns.
    scope_netns: Option<u64>,
    /// Tells the NATS snapshots that a listener may have changed.
    changed: ListenersChanged,
}

impl Intake {
    /// Takes one kernel record: a fork or an exit to the pipeline's process tree, a call into
    /// the batch as a record; counts what cannot be decoded.
    fn take(&mut self, record: &[u8], batch: &mut Vec<Record>, metrics: &Metrics) {
        if let Some(change) = task_change(record) {
            self.pipeline.task(change);
            return;
        }
        let event = match decode(record) {
            Ok(event) => event,
            Err(err) => {
                if metrics.decode_errors.get() == 0 {
                    warn!("undecodable event record: {err}");
                }
                metrics.decode_errors.inc();
                return;
            }
        };
        if let Some(scope) = self.scope_netns {
            // A socket is in a netns by the kernel's word only.
            if event
                .kernel
                .socket()
                .is_none_or(|k| u64::from(k.netns) != scope)
            {
                return;
            }
        }
        let may_change_a_listener = event.ret == Return::Value(0)
            && matches!(
                event.syscall(),
                Syscall::Listen | Syscall::Bind | Syscall::Close
            );
        if may_change_a_listener {
            self.changed.set();
        }
        batch.push(self.pipeline.record(event));
    }
}
