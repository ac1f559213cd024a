//! What every example binary shares on its command line (clap's derive API), and its logging.

use std::io::IsTerminal;
use std::time::Duration;

use tracing_subscriber::EnvFilter;

/// `--zk HOST:PORT`: a real ensemble instead of the embedded one.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ZkArg {
    /// Connect to a real ZooKeeper ensemble (`host:port[,host:port...][/chroot]`) instead of
    /// starting an embedded simulated one.
    #[arg(long, global = true, value_name = "HOST:PORT")]
    pub zk: Option<String>,
}

/// Parses a number of seconds (fractions allowed, not negative) for clap.
pub fn secs(value: &str) -> Result<Duration, String> {
    let secs: f64 = value
        .parse()
        .map_err(|_| format!("{value:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs).map_err(|_| format!("{value:?} is not a duration"))
}

/// Installs a `tracing` subscriber on stderr filtered by `RUST_LOG` (warnings and errors
/// when it is not set): `RUST_LOG=docent=debug` tells what every recipe did.
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_parse_with_fractions() {
        assert_eq!(secs("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(secs("0"), Ok(Duration::ZERO));
        assert!(secs("-1").is_err());
        assert!(secs("soon").is_err());
    }
}
