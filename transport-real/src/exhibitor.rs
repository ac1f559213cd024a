//! [`ExhibitorEnsembleProvider`]: Curator 4.x's Exhibitor ensemble provider over real HTTP.
//!
//! The polling rule (which Exhibitor to ask, retries, backup fallback, what a body means) is the
//! engine's [`ExhibitorPoller`]; this module does the I/O: an HTTP GET with `ureq` on a
//! blocking thread, the sleeps, and a background task that polls at a fixed delay.
//!
//! ```no_run
//! # async fn run() -> Result<(), docent::Error> {
//! use docent::ensemble::exhibitor::Exhibitors;
//! use docent_zk::{ExhibitorEnsembleProvider, ExhibitorOptions, ZkOptions};
//!
//! let exhibitors = Exhibitors::new(["exhibitor-1", "exhibitor-2"], 8080, "localhost:2181")?;
//! let exhibitor = ExhibitorEnsembleProvider::new(exhibitors, ExhibitorOptions::default());
//! exhibitor.poll_for_initial_ensemble().await;
//! exhibitor.start();
//! let client = docent_zk::connect_with(
//!     ZkOptions::new("").with_ensemble_provider(exhibitor.provider()),
//!     docent::ClientOptions::default(),
//! )
//! .await?;
//! # Ok(()) }
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use docent::ensemble::exhibitor::{Ask, ExhibitorPoller, Exhibitors, Polled};
use docent::ensemble::EnsembleProvider;
use docent::framework::RetryPolicy;
use docent::rng::Rng;
use tokio::task::JoinHandle;

/// How an [`ExhibitorEnsembleProvider`] polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExhibitorOptions {
    /// The delay between polls (Curator's `pollingMs`).
    pub poll_interval: Duration,
    /// The REST path (Curator's `restUriPath`).
    pub rest_path: String,
    /// Retries of one poll's failed requests.
    pub retry: RetryPolicy,
    /// The time limit of one HTTP request.
    pub request_timeout: Duration,
    /// The seed choosing which Exhibitor to ask; `None` draws one from the clock.
    pub seed: Option<u64>,
}

impl Default for ExhibitorOptions {
    /// Every 10 s, Curator's REST path, up to 3 retries 1 s apart, 5 s per request.
    fn default() -> Self {
        ExhibitorOptions {
            poll_interval: docent::ensemble::exhibitor::DEFAULT_POLL_INTERVAL,
            rest_path: docent::ensemble::exhibitor::DEFAULT_REST_PATH.into(),
            retry: RetryPolicy::n_times(3, Duration::from_secs(1)),
            request_timeout: Duration::from_secs(5),
            seed: None,
        }
    }
}

impl ExhibitorOptions {
    /// Sets the delay between polls.
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Sets the retry policy of one poll.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Fixes the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
}

/// The servers an Exhibitor ensemble lists, polled in the background; hand
/// [`provider`](ExhibitorEnsembleProvider::provider) to
/// [`ZkOptions::with_ensemble_provider`](crate::ZkOptions::with_ensemble_provider). Starts with
/// the backup connection string's servers. Dropping it stops the polling.
#[derive(Debug)]
pub struct ExhibitorEnsembleProvider {
    provider: EnsembleProvider,
    poll: Arc<tokio::sync::Mutex<Poll>>,
    interval: Duration,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// One poller and its randomness, used by one poll at a time.
#[derive(Debug)]
struct Poll {
    poller: ExhibitorPoller,
    rng: Rng,
    request_timeout: Duration,
}

impl ExhibitorEnsembleProvider {
    /// A provider over `exhibitors`; nothing is asked until
    /// [`poll_for_initial_ensemble`](Self::poll_for_initial_ensemble) or
    /// [`start`](Self::start).
    pub fn new(exhibitors: Exhibitors, options: ExhibitorOptions) -> ExhibitorEnsembleProvider {
        let provider = EnsembleProvider::polled(exhibitors.backup());
        let seed = options.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        });
        let poller = ExhibitorPoller::new(exhibitors, options.retry).rest_path(options.rest_path);
        ExhibitorEnsembleProvider {
            provider,
            poll: Arc::new(tokio::sync::Mutex::new(Poll {
                poller,
                rng: Rng::new(seed, 0),
                request_timeout: options.request_timeout,
            })),
            interval: options.poll_interval,
            task: Mutex::new(None),
        }
    }

    /// The provider the client follows.
    pub fn provider(&self) -> EnsembleProvider {
        self.provider.clone()
    }

    /// Polls once now (Curator's `pollForInitialEnsemble`) and returns what the poll concluded;
    /// the provider holds the result.
    pub async fn poll_for_initial_ensemble(&self) -> Polled {
        poll_once(&self.poll, &self.provider).await
    }

    /// Starts polling every poll interval in the background (a second call does nothing).
    /// Needs a tokio runtime.
    pub fn start(&self) {
        let mut task = self.task.lock().unwrap_or_else(|p| p.into_inner());
        if task.is_some() {
            return;
        }
        let (poll, provider, interval) = (self.poll.clone(), self.provider.clone(), self.interval);
        *task = Some(tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                poll_once(&poll, &provider).await;
            }
        }));
    }

    /// Stops polling; the provider keeps its last servers.
    pub fn close(&self) {
        if let Some(task) = self.task.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
    }
}

impl Drop for ExhibitorEnsembleProvider {
    fn drop(&mut self) {
        self.close();
    }
}

/// One poll: ask until an answer or the retry policy gives up, then update the provider.
async fn poll_once(poll: &tokio::sync::Mutex<Poll>, provider: &EnsembleProvider) -> Polled {
    let mut poll = poll.lock().await;
    let started = tokio::time::Instant::now();
    let polled = loop {
        let Poll {
            poller,
            rng,
            request_timeout,
        } = &mut *poll;
        let Some(ask) = poller.ask(rng) else {
            break poller.gave_up();
        };
        match get(&ask, *request_timeout).await {
            Ok(body) => break poller.answered(&ask, &body),
            Err(err) => {
                tracing::warn!(url = ask.url(), %err, "cannot get the servers from Exhibitor");
                match poller.retry_delay(started.elapsed(), rng) {
                    Some(delay) => tokio::time::sleep(delay).await,
                    None => break poller.gave_up(),
                }
            }
        }
    };
    if let Polled::Servers(servers) | Polled::Backup(servers) = &polled {
        if let Err(err) = provider.set(servers.clone()) {
            tracing::error!(%err, "Exhibitor's servers are not usable; keeping the last ones");
        }
    }
    polled
}

/// `GET` with Curator's `Accept` header, on a blocking thread; a status other than 200 is an
/// error.
async fn get(ask: &Ask, timeout: Duration) -> Result<Vec<u8>, String> {
    let url = ask.url();
    let fetch = move || -> Result<Vec<u8>, String> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(true)
            .build()
            .into();
        let mut response = agent
            .get(&url)
            .header("Accept", docent::ensemble::exhibitor::MIME_TYPE)
            .call()
            .map_err(|e| e.to_string())?;
        response.body_mut().read_to_vec().map_err(|e| e.to_string())
    };
    tokio::task::spawn_blocking(fetch)
        .await
        .map_err(|e| e.to_string())?
}
