//! Failure reports: the seed, what failed, the fault schedule, the commit and a one-line replay
//! command; the seed range from the environment; the first divergence of two event logs.

use std::fmt;
use std::ops::Range;
use std::time::Duration;

use crate::model::FaultSchedule;

/// The commit this crate was built from (`git rev-parse --short HEAD` at build time).
pub(crate) const COMMIT: &str = match option_env!("DOCENT_SIM_COMMIT") {
    Some(commit) => commit,
    None => "unknown",
};

/// What one seed's run produced.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) result: Result<(), String>,
    pub(crate) simulated: Duration,
    pub(crate) hash: u64,
    pub(crate) log: Vec<String>,
}

/// A failed seed, with everything needed to replay it. `Display` prints the full report.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Failure {
    /// The failing seed.
    pub seed: u64,
    /// How many seeds ran, this one included (the planted-bug figure of merit).
    pub seeds_run: u64,
    /// What failed: the body's error, a panic, the time limit, or a divergence.
    pub message: String,
    /// The seed's fault schedule.
    pub schedule: FaultSchedule,
    /// The one-line replay command.
    pub replay: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "seed {} failed: {}", self.seed, self.message)?;
        write!(f, "faults:\n{}", self.schedule)?;
        writeln!(f, "commit: {COMMIT}")?;
        write!(f, "replay: {}", self.replay)
    }
}

/// Where a test lives, for the replay command.
#[derive(Debug, Clone)]
pub(crate) struct Location {
    pub(crate) test: String,
    package: Option<String>,
    target: Option<String>,
}

impl Location {
    pub(crate) fn new(test: &str) -> Location {
        Location {
            test: test.to_owned(),
            package: None,
            target: None,
        }
    }

    /// `module_path` starts with the crate's name: the test target's file name for an
    /// integration test, the package's own name (`-` as `_`) for its library.
    pub(crate) fn at(mut self, package: &str, module_path: &str) -> Location {
        let krate = module_path.split("::").next().unwrap_or_default();
        self.target = (krate != package.replace('-', "_")).then(|| krate.to_owned());
        self.package = Some(package.to_owned());
        self
    }

    pub(crate) fn replay(&self, seed: u64) -> String {
        let mut cmd = format!("DOCENT_SEED={seed} ");
        if cfg!(madsim) {
            cmd += "RUSTFLAGS=\"--cfg madsim\" cargo test --profile sim --target-dir target/sim";
        } else {
            cmd += "cargo test";
        }
        if let Some(package) = &self.package {
            cmd += &format!(" -p {package}");
            match &self.target {
                Some(target) => cmd += &format!(" --test {target}"),
                None => cmd += " --lib",
            }
        }
        cmd + &format!(" {} -- --exact --nocapture", self.test)
    }
}

/// `DOCENT_SEED` (one seed) wins, then `explicit`, then `DOCENT_SEEDS`, then `fallback`, then
/// `0..64`.
pub(crate) fn seeds_from_env(
    explicit: Option<Range<u64>>,
    fallback: Option<Range<u64>>,
) -> Range<u64> {
    let var = |name| std::env::var(name).ok();
    let (one, many) = (var("DOCENT_SEED"), var("DOCENT_SEEDS"));
    choose_seeds(one.as_deref(), explicit, many.as_deref(), fallback)
}

/// [`seeds_from_env`] given the variables' values.
pub(crate) fn choose_seeds(
    one: Option<&str>,
    explicit: Option<Range<u64>>,
    many: Option<&str>,
    fallback: Option<Range<u64>>,
) -> Range<u64> {
    one.and_then(parse_range)
        .or(explicit)
        .or_else(|| many.and_then(parse_range))
        .or(fallback)
        .unwrap_or(0..64)
}

/// `a..b`, `a..=b` or `n`.
pub(crate) fn parse_range(s: &str) -> Option<Range<u64>> {
    let s = s.trim();
    if let Some((a, b)) = s.split_once("..=") {
        return Some(a.trim().parse().ok()?..b.trim().parse::<u64>().ok()?.checked_add(1)?);
    }
    if let Some((a, b)) = s.split_once("..") {
        return Some(a.trim().parse().ok()?..b.trim().parse().ok()?);
    }
    let n: u64 = s.parse().ok()?;
    Some(n..n.checked_add(1)?)
}

/// The first difference between two runs of one seed, or `None` if they agree.
pub(crate) fn divergence(a: &Outcome, b: &Outcome) -> Option<String> {
    if a.result != b.result {
        return Some(format!(
            "nondeterminism: the first run ended {:?}, the second {:?}",
            a.result, b.result
        ));
    }
    if let Some(i) = (0..a.log.len().max(b.log.len())).find(|&i| a.log.get(i) != b.log.get(i)) {
        let line = |log: &[String]| log.get(i).cloned().unwrap_or_else(|| "(end)".into());
        let before = i.checked_sub(1).and_then(|j| a.log.get(j).cloned());
        return Some(format!(
            "nondeterminism: event logs diverge at event {i}\n  \
             before: {}\n  first:  {}\n  second: {}",
            before.unwrap_or_else(|| "(start)".into()),
            line(&a.log),
            line(&b.log)
        ));
    }
    if a.hash != b.hash {
        return Some(format!(
            "nondeterminism: event hashes differ ({:#x} vs {:#x})",
            a.hash, b.hash
        ));
    }
    None
}
