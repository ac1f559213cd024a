//! Coverage over a sweep: the [`docent::coverage`] counters of every seed's run, summed, and
//! the suite's minimums checked against the sums.
//!
//! Each seed's run counts on its own thread (the harness turns counting on around the run and
//! takes the counts after it); [`Coverage`] adds them up, with how many seeds hit each point.
//! `DOCENT_COVERAGE=1` prints the table when the sweep ends:
//!
//! ```text
//! coverage of mutex_safety_and_liveness_under_swarm over 64 seeds:
//!   point                                total  seeds  required
//!   protected.found_by_lookup              112     41        50
//!   ...
//! ```
//!
//! # Requirements
//! [`Harness::require_coverage`](super::Harness::require_coverage) sets a minimum total for a
//! point. It is checked only when the sweep ran every seed of its range, and that range has at
//! least [`MIN_SEEDS`] seeds (the default range, `0..64`): a `DOCENT_SEED` replay, a short
//! `DOCENT_SEEDS` range while developing, or a sweep that stopped at a failing seed cannot be
//! expected to reach a total set for the whole range, and is not held to it. A minimum is a
//! total, not a rate: set it at about half of what the default range measures, so that it
//! catches a change that stops exercising the path rather than noise.

use std::collections::BTreeMap;
use std::fmt;

/// The fewest seeds a sweep must run for its coverage requirements to be checked.
pub const MIN_SEEDS: u64 = 64;

/// Coverage counters summed over the seeds of a sweep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Per point: (total count, seeds that hit it at least once).
    points: BTreeMap<&'static str, (u64, u64)>,
    seeds: u64,
}

impl Coverage {
    /// Nothing counted yet.
    pub fn new() -> Coverage {
        Coverage::default()
    }

    /// Adds one seed's counts.
    pub fn add_seed(&mut self, counts: &BTreeMap<&'static str, u64>) {
        self.seeds += 1;
        for (&point, &n) in counts {
            let (total, seeds) = self.points.entry(point).or_default();
            *total += n;
            *seeds += u64::from(n > 0);
        }
    }

    /// Seeds added.
    pub fn seeds(&self) -> u64 {
        self.seeds
    }

    /// The total count of `point` over the sweep.
    pub fn total(&self, point: &str) -> u64 {
        self.points.get(point).map_or(0, |p| p.0)
    }

    /// How many seeds hit `point` at least once.
    pub fn seeds_hitting(&self, point: &str) -> u64 {
        self.points.get(point).map_or(0, |p| p.1)
    }

    /// Checks every `(point, minimum)`: `Err` lists each point whose total fell short.
    pub fn check(&self, required: &[(&'static str, u64)]) -> Result<(), String> {
        let short: Vec<String> = required
            .iter()
            .filter(|(point, min)| self.total(point) < *min)
            .map(|(point, min)| {
                format!(
                    "{point}: {} over {} seeds, at least {min} required",
                    self.total(point),
                    self.seeds
                )
            })
            .collect();
        if short.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "coverage below the suite's minimum (a path is no longer exercised):\n  {}",
                short.join("\n  ")
            ))
        }
    }

    /// Ends the sweep of `test`: prints the table if `DOCENT_COVERAGE=1`; after a sweep that
    /// passed every seed of its range (`passed`), of at least [`MIN_SEEDS`] seeds and not a
    /// `DOCENT_SEED` replay, checks `required` and panics with the table when one falls short.
    pub(crate) fn end_sweep(&self, test: &str, required: &[(&'static str, u64)], passed: bool) {
        let table = self.table(required);
        if std::env::var("DOCENT_COVERAGE").is_ok_and(|v| v == "1") {
            eprint!("coverage of {test} over {} seeds:\n{table}", self.seeds);
        }
        let replay = std::env::var_os("DOCENT_SEED").is_some();
        if !passed || replay || self.seeds < MIN_SEEDS {
            return;
        }
        if let Err(short) = self.check(required) {
            panic!("harness {test}: {short}\n{table}");
        }
    }

    /// The table of every known point (and any unknown one counted), with the minimums.
    pub fn table(&self, required: &[(&'static str, u64)]) -> Table<'_> {
        Table {
            coverage: self,
            required: required.to_vec(),
        }
    }
}

/// [`Coverage::table`]: prints one line per point.
#[derive(Debug)]
pub struct Table<'a> {
    coverage: &'a Coverage,
    required: Vec<(&'static str, u64)>,
}

impl fmt::Display for Table<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known = docent::coverage::POINTS.iter().map(|(p, _)| *p);
        let extra = self.coverage.points.keys().copied();
        let extra = extra.filter(|p| !docent::coverage::is_point(p));
        writeln!(
            f,
            "  {:<30} {:>8} {:>6} {:>9}",
            "point", "total", "seeds", "required"
        )?;
        for point in known.chain(extra) {
            let required = self.required.iter().find(|(p, _)| *p == point);
            let required = required.map_or(String::new(), |(_, min)| min.to_string());
            let line = format!(
                "  {point:<30} {:>8} {:>6} {required:>9}",
                self.coverage.total(point),
                self.coverage.seeds_hitting(point),
            );
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn seed(counts: &[(&'static str, u64)]) -> BTreeMap<&'static str, u64> {
        counts.iter().copied().collect()
    }

    #[test]
    fn sums_totals_and_seeds_hitting() {
        let mut c = Coverage::new();
        c.add_seed(&seed(&[("fault.partition", 3), ("protected.recreated", 1)]));
        c.add_seed(&seed(&[]));
        c.add_seed(&seed(&[("fault.partition", 2)]));
        assert_eq!(c.seeds(), 3);
        assert_eq!(
            (
                c.total("fault.partition"),
                c.seeds_hitting("fault.partition")
            ),
            (5, 2)
        );
        assert_eq!(c.total("protected.recreated"), 1);
        assert_eq!(c.total("guaranteed.retried"), 0);
        let table = c.table(&[("fault.partition", 4)]).to_string();
        let line = table
            .lines()
            .find(|l| l.contains("fault.partition"))
            .unwrap();
        assert_eq!(
            line.split_whitespace().collect::<Vec<_>>(),
            ["fault.partition", "5", "2", "4"]
        );
        assert!(
            table.contains("guaranteed.retried"),
            "every known point is listed"
        );
    }

    /// Every seed: a's next write reply is lost at 1 s, then a creates `/x` at 2 s.
    fn lost_create_reply() -> crate::harness::Harness {
        use crate::model::{Fault, FaultSchedule};
        let lose = Fault::LoseReply { client: 0 };
        let schedule = FaultSchedule::new().at(Duration::from_secs(1), lose);
        crate::harness::Harness::new("t")
            .clients(["a"])
            .schedule(schedule)
            .seeds(0..MIN_SEEDS)
            .quiet()
    }

    async fn create_after_the_fault(sim: crate::harness::Sim) -> Result<(), String> {
        use docent::{Acl, Coordinator, CreateMode, Op};
        sim.sleep(Duration::from_secs(2)).await;
        let op = Op::Create {
            path: "/x".into(),
            data: Vec::new(),
            acl: Acl::open(),
            mode: CreateMode::Persistent,
        };
        let _ = sim.session("a").submit(op).await; // lost: an unknown outcome
        Ok(())
    }

    #[test]
    fn a_sweep_counts_what_each_seed_ran_into() {
        let h = lost_create_reply()
            .require_coverage("fault.lose_reply", MIN_SEEDS)
            .require_coverage("model.create_reply_lost", MIN_SEEDS);
        assert!(h.first_failure(create_after_the_fault).is_none());
    }

    #[test]
    #[should_panic(expected = "model.session_expired: 0 over 64 seeds, at least 1 required")]
    fn a_sweep_below_a_requirement_fails_loudly() {
        lost_create_reply()
            .require_coverage("model.create_reply_lost", 1)
            .require_coverage("model.session_expired", 1)
            .run(create_after_the_fault);
    }

    #[test]
    fn a_short_range_is_not_held_to_the_requirement() {
        let h = lost_create_reply()
            .seeds(0..2)
            .require_coverage("model.session_expired", 1);
        assert!(h.first_failure(create_after_the_fault).is_none());
    }

    #[test]
    #[should_panic(expected = "unknown coverage point")]
    fn a_requirement_names_a_known_point() {
        let _ = crate::harness::Harness::new("t").require_coverage("protected.typo", 1);
    }

    #[test]
    fn a_total_below_its_minimum_fails_with_the_point_named() {
        let mut c = Coverage::new();
        c.add_seed(&seed(&[("protected.found_by_lookup", 3)]));
        c.add_seed(&seed(&[("protected.found_by_lookup", 1)]));
        assert_eq!(c.check(&[("protected.found_by_lookup", 4)]), Ok(()));
        let err = c
            .check(&[("protected.found_by_lookup", 5), ("model.stale_read", 1)])
            .unwrap_err();
        assert!(err.contains("protected.found_by_lookup: 4 over 2 seeds, at least 5 required"));
        assert!(err.contains("model.stale_read: 0 over 2 seeds, at least 1 required"));
    }
}
