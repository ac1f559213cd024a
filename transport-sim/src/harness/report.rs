//! Failure reports: the seed, what failed, the fault schedule, the commit and a one-line replay
//! command; the seed range from the environment; the first divergence of two event logs.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::shrink::ShrinkStats;
use super::timeline::{Timeline, TAIL};
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
    /// The run's [`docent::coverage`] counts.
    pub(crate) coverage: BTreeMap<&'static str, u64>,
    pub(crate) timeline: Timeline,
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
    /// The fault schedule that fails: the seed's, shrunk when shrinking is on.
    pub schedule: FaultSchedule,
    /// The seed's whole schedule, before shrinking.
    pub original: FaultSchedule,
    /// What shrinking cost (`None`: it did not run).
    pub shrink: Option<ShrinkStats>,
    /// The one-line replay command (with `DOCENT_SCHEDULE` when the schedule is not the
    /// plan's).
    pub replay: String,
    /// What the run went through, up to its end; the report shows its last events.
    pub timeline: Timeline,
    /// The HTML timeline written for this failure (`DOCENT_TIMELINE=DIR`).
    pub timeline_file: Option<PathBuf>,
}

impl Failure {
    /// Takes the failing run's timeline (`first`, unless shrinking replaced the schedule and
    /// with it the run), marks the violation and writes its page when asked.
    pub(crate) fn with_timeline(mut self, first: Timeline, test: &str) -> Failure {
        if self.schedule == self.original {
            self.timeline = first;
        }
        self.timeline.violation(self.timeline.end(), &self.message);
        self.timeline_file = super::html::write_if_asked(test, self.seed, &self.timeline, true);
        self
    }

    /// One line for figures: `faults 23 → 2, shrinking: 41 runs in 3.20 s`, or `faults 23,
    /// not shrunk`.
    pub fn shrink_summary(&self) -> String {
        let before = self.original.faults.len();
        match &self.shrink {
            Some(s) => format!(
                "faults {before} → {}, shrinking: {} runs in {:.2} s{}",
                self.schedule.faults.len(),
                s.runs,
                s.wall.as_secs_f64(),
                if s.bounded {
                    " (stopped by a bound)"
                } else {
                    ""
                }
            ),
            None => format!("faults {before}, not shrunk"),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "seed {} failed: {}", self.seed, self.message)?;
        if self.schedule == self.original {
            write!(f, "faults:\n{}", self.schedule)?;
        } else {
            let (n, m) = (self.original.faults.len(), self.schedule.faults.len());
            write!(f, "faults (shrunk from {n} to {m}):\n{}", self.schedule)?;
        }
        if let Some(s) = &self.shrink {
            let bounded = if s.bounded {
                ", stopped by a bound"
            } else {
                ""
            };
            let wall = s.wall.as_secs_f64();
            writeln!(f, "shrinking: {} runs, {wall:.2} s wall{bounded}", s.runs)?;
        }
        writeln!(f, "commit: {COMMIT}")?;
        write!(f, "replay: {}", self.replay)?;
        write_timeline(f, &self.timeline, self.timeline_file.as_deref())
    }
}

/// The last events before the violation, and where the HTML timeline is.
fn write_timeline(f: &mut fmt::Formatter<'_>, t: &Timeline, file: Option<&Path>) -> fmt::Result {
    write!(f, "\nlast events before the violation:")?;
    for line in t.tail(TAIL) {
        write!(f, "\n{line}")?;
    }
    match file {
        Some(path) => write!(f, "\ntimeline: {}", path.display()),
        None => Ok(()),
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

    /// The replay command of `seed`, replaying `schedule` verbatim if given, with the cargo
    /// flags of the build that is running.
    pub(crate) fn replay(&self, seed: u64, schedule: Option<&FaultSchedule>) -> String {
        let mut cmd = format!("DOCENT_SEED={seed} ");
        if let Some(schedule) = schedule {
            cmd += &format!("DOCENT_SCHEDULE='{}' ", schedule.compact());
        }
        if cfg!(madsim) {
            cmd += "RUSTFLAGS=\"--cfg madsim\" ";
        }
        cmd += "cargo test";
        if let (Ok(exe), Ok(cwd)) = (std::env::current_exe(), std::env::current_dir()) {
            cmd += &build_flags(&exe, &cwd, |dir| dir.join("CACHEDIR.TAG").exists());
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

/// The cargo flags that rebuild the test binary `exe`
/// (`<target-dir>/[<triple>/]<profile-dir>/deps/<binary>`), run from `cwd`: ` --release`,
/// ` --profile NAME`, ` --target T`, ` --target-dir DIR` as needed (relative to `cwd` when
/// under it), or nothing for a default debug build. `is_target_dir` tells a target
/// directory (cargo leaves a `CACHEDIR.TAG` in it) from a target triple's.
pub(crate) fn build_flags(exe: &Path, cwd: &Path, is_target_dir: impl Fn(&Path) -> bool) -> String {
    let name = |p: &Path| p.file_name().and_then(|n| n.to_str()).map(str::to_owned);
    let Some(deps) = exe.parent().filter(|d| name(d).as_deref() == Some("deps")) else {
        return String::new();
    };
    let (Some(profile_dir), Some(mut target_dir)) =
        (deps.parent(), deps.parent().and_then(Path::parent))
    else {
        return String::new();
    };
    let mut flags = match name(profile_dir).as_deref() {
        Some("debug") | None => String::new(),
        Some("release") => " --release".into(),
        Some(other) => format!(" --profile {other}"),
    };
    if !is_target_dir(target_dir) {
        if let (Some(triple), Some(parent)) = (name(target_dir), target_dir.parent()) {
            if is_target_dir(parent) {
                flags += &format!(" --target {triple}");
                target_dir = parent;
            }
        }
    }
    let default = name(target_dir).as_deref() == Some("target")
        && target_dir
            .parent()
            .is_some_and(|root| cwd.starts_with(root));
    if !default {
        let shown: PathBuf = match target_dir.strip_prefix(cwd) {
            Ok(relative) => relative.into(),
            Err(_) => target_dir.into(),
        };
        flags += &format!(" --target-dir {}", shown.display());
    }
    flags
}

/// `DOCENT_SCHEDULE`, parsed.
///
/// # Panics
/// If it does not parse.
pub(crate) fn env_schedule() -> Option<FaultSchedule> {
    parse_env_schedule(std::env::var("DOCENT_SCHEDULE").ok())
}

pub(crate) fn parse_env_schedule(text: Option<String>) -> Option<FaultSchedule> {
    let parsed = text?.parse();
    Some(parsed.unwrap_or_else(|e| panic!("DOCENT_SCHEDULE: {e}")))
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
