//! The logic of the `leader_latch` and `leader_selector` examples: participants in one
//! election, each on its own session, printing one line per change.

use std::sync::Arc;
use std::time::Duration;

use docent::recipes::latch::{LatchEvent, LatchOptions, LeaderLatch};
use docent::recipes::participants;
use docent::recipes::selector::{LeaderSelector, LOCK_NAME};
use docent::{Client, Error, Instant};
use futures::future::{self, Either};
use futures::StreamExt;

use crate::{secs, sleep, Backend, ZkArg};

/// Where the examples' lines go (stdout in the binaries, a list in tests).
pub type Out = Arc<dyn Fn(String) + Send + Sync>;

/// How an election example runs.
#[derive(Debug, Clone)]
pub struct ElectionConfig {
    /// The election's path.
    pub path: String,
    /// One id per in-process participant.
    pub ids: Vec<String>,
    /// How long a leader leads before giving leadership up (`None`: until the end).
    pub hold: Option<Duration>,
    /// How long the example runs.
    pub run_for: Duration,
}

/// The command line both election examples take.
#[derive(Debug, Clone, clap::Args)]
pub struct ElectionArgs {
    /// `--zk`.
    #[command(flatten)]
    pub zk: ZkArg,
    /// The election's path [default: /examples/latch or /examples/selector]
    #[arg(long, value_name = "P")]
    pub path: Option<String>,
    /// The participant's id; several in-process participants are ID-1 … ID-N [default: node,
    /// or node-PID with --zk]
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// How many participants run in this process [default: 3 on the embedded ensemble, 1
    /// with --zk]
    #[arg(long, value_name = "N")]
    pub participants: Option<usize>,
    /// Seconds a leader leads before it leaves and joins again [default: 2 with several
    /// participants, else until the end]
    #[arg(long, value_name = "SECS", value_parser = secs)]
    pub hold: Option<Duration>,
    /// Seconds the example runs
    #[arg(long = "for", value_name = "SECS", value_parser = secs, default_value = "10")]
    pub run_for: Duration,
}

impl ElectionConfig {
    /// The configuration from the command line: `--participants` (3 in-process on the
    /// embedded ensemble, else 1), `--hold` (2 s with several participants), `--id`, `--path`
    /// (default `default_path`), `--for` (10 s).
    pub fn from_args(args: &ElectionArgs, embedded: bool, default_path: &str) -> Self {
        let count = args.participants.unwrap_or(if embedded { 3 } else { 1 });
        let default_hold = (count > 1).then_some(Duration::from_secs(2));
        let id = args.id.clone().unwrap_or_else(|| match embedded {
            true => "node".to_owned(),
            false => format!("node-{}", std::process::id()),
        });
        ElectionConfig {
            path: args.path.as_deref().unwrap_or(default_path).to_owned(),
            ids: ElectionConfig::ids(&id, count),
            hold: args.hold.or(default_hold),
            run_for: args.run_for,
        }
    }

    /// `count` participants `id-1 … id-count` (just `id` for one).
    pub fn ids(id: &str, count: usize) -> Vec<String> {
        match count {
            1 => vec![id.to_owned()],
            n => (1..=n).map(|i| format!("{id}-{i}")).collect(),
        }
    }
}

/// The latch example: each participant joins, prints `leader ID token=T` / `not-leader ID`,
/// and (with `hold`) leaves after leading that long and joins again, so leadership moves on.
pub async fn run_latch(backend: &Backend, config: &ElectionConfig, out: Out) -> Result<(), Error> {
    let mut runs = Vec::new();
    for id in &config.ids {
        let client = backend.client().await?;
        runs.push(latch_participant(client, config, id.clone(), out.clone()));
    }
    future::try_join_all(runs).await?;
    Ok(())
}

async fn latch_participant(
    client: Client,
    config: &ElectionConfig,
    id: String,
    out: Out,
) -> Result<(), Error> {
    let deadline = client.now() + config.run_for;
    while client.now() < deadline {
        let options = LatchOptions::default().id(&id);
        let latch = LeaderLatch::start(&client, &config.path, options).await?;
        let mut events = latch.events();
        let mut leading = None;
        loop {
            let Some(event) = until(&client, deadline, events.next()).await.flatten() else {
                break;
            };
            match event {
                LatchEvent::IsLeader { token } if leading != Some(token) => {
                    leading = Some(token);
                    out(format!("leader {id} token={token}"));
                    if let Some(hold) = config.hold {
                        until(&client, deadline, sleep(&client, hold)).await;
                        break;
                    }
                }
                LatchEvent::NotLeader => {
                    leading = None;
                    out(format!("not-leader {id}"));
                }
                LatchEvent::Error(e) => out(format!("error {id}: {e}")),
                _ => {}
            }
        }
        if leading.is_some() {
            out(format!("not-leader {id}"));
        }
        latch.close().await?;
    }
    client.close().await
}

/// The selector example, the seed's walk-through step by step: every participant's
/// leadership function prints `leader ID token=T` and holds leadership for `hold`, the
/// losing callback prints the state that ended it, participants are printed after each
/// election; halfway through the leader's leadership is interrupted; at the end one selector
/// is closed and the participants printed again, then the rest are closed.
pub async fn run_selector(
    backend: &Backend,
    config: &ElectionConfig,
    out: Out,
) -> Result<(), Error> {
    let hold = config.hold.unwrap_or(config.run_for);
    let mut selectors = Vec::new();
    for id in &config.ids {
        let client = backend.client().await?;
        selectors.push((
            client.clone(),
            start_selector(&client, config, id, hold, &out).await?,
        ));
    }
    let Some((first_client, _)) = selectors.first() else {
        return Ok(());
    };
    let clock = first_client.clone();
    // Let them lead, one after another (auto-requeue), for half the time.
    sleep(&clock, config.run_for / 2).await;
    if let Some((client, leader)) = selectors.iter().find(|(_, s)| s.has_leadership()) {
        out(format!("interrupt {}", leader.id()));
        leader.interrupt_leadership()?;
        sleep(&clock, Duration::from_millis(200)).await;
        print_participants(client, &config.path, &out).await;
    }
    sleep(&clock, config.run_for / 2).await;
    let mut selectors = selectors.into_iter();
    if let Some((client, selector)) = selectors.next() {
        out(format!("close {}", selector.id()));
        selector.close().await?;
        print_participants(&client, &config.path, &out).await;
        client.close().await?;
    }
    for (client, selector) in selectors {
        out(format!("close {}", selector.id()));
        selector.close().await?;
        client.close().await?;
    }
    Ok(())
}

async fn start_selector(
    client: &Client,
    config: &ElectionConfig,
    id: &str,
    hold: Duration,
    out: &Out,
) -> Result<LeaderSelector, Error> {
    let (lead_out, lead_client, path, lead_id) = (
        out.clone(),
        client.clone(),
        config.path.clone(),
        id.to_owned(),
    );
    // The seed's `became-leader`: runs while we lead; returning gives leadership up.
    let became_leader = move |leadership: docent::recipes::selector::Leadership| {
        let (out, client, path, id) = (
            lead_out.clone(),
            lead_client.clone(),
            path.clone(),
            lead_id.clone(),
        );
        async move {
            out(format!("leader {id} token={}", leadership.token()));
            print_participants(&client, &path, &out).await;
            sleep(&client, hold).await;
            out(format!("not-leader {id}"));
        }
    };
    // The seed's `losing-leadership`: told why leadership was taken away.
    let (losing_out, losing_id) = (out.clone(), id.to_owned());
    let losing = move |reason| {
        losing_out(format!("losing {losing_id} reason={reason:?}"));
        losing_out(format!("not-leader {losing_id}"));
    };
    LeaderSelector::builder(client, &config.path, became_leader)
        .id(id)
        .auto_requeue(true)
        .on_losing(losing)
        .start()
        .await
}

/// Prints `participants A,B,…` (the leader first).
async fn print_participants(client: &Client, path: &str, out: &Out) {
    match participants::read(client, path, LOCK_NAME).await {
        Ok(list) => {
            let ids: Vec<String> = list.into_iter().map(|p| p.id).collect();
            out(format!("participants {}", ids.join(",")));
        }
        Err(e) => out(format!("participants unavailable: {e}")),
    }
}

/// `work`, unless `deadline` (on the client's clock) comes first.
async fn until<F: std::future::Future>(
    client: &Client,
    deadline: Instant,
    work: F,
) -> Option<F::Output> {
    let timer = client.coordinator().sleep_until(deadline);
    match future::select(std::pin::pin!(work), timer).await {
        Either::Left((done, _)) => Some(done),
        Either::Right(_) => None,
    }
}
