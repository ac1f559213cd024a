//! The printed table: docent beside Curator, every figure also as a ratio to the floor RTT.

use std::collections::BTreeMap;

#[derive(Default)]
pub struct Table {
    pub floor: f64,
    rows: Vec<Row>,
    /// Curator's figures measured once, by key.
    pub curator: BTreeMap<String, f64>,
}

struct Row {
    name: String,
    /// The key of Curator's figure in [`Table::curator`], or "".
    key: &'static str,
    kind: Kind,
    ours: f64,
    /// Curator's median and docent's wins over rounds, for figures measured in rounds.
    rounds: Option<(f64, usize, usize)>,
}

#[derive(Clone, Copy)]
enum Kind {
    /// Per second; its floor ratio is the time per operation in floor RTTs.
    Rate,
    /// Microseconds.
    Latency,
    /// Bytes (no floor ratio).
    Size,
}

impl Table {
    pub fn rate(&mut self, name: &str, key: &'static str, v: f64) {
        self.push(name, key, Kind::Rate, v, None);
    }

    pub fn latency(&mut self, name: &str, key: &'static str, v: f64) {
        self.push(name, key, Kind::Latency, v, None);
    }

    pub fn size(&mut self, name: &str, v: f64) {
        self.push(name, "", Kind::Size, v, None);
    }

    /// A figure measured by both sides in rounds (round i of `ours` beside round i of
    /// `theirs`): shown as each side's median, with the number of rounds docent won.
    pub fn rounds(&mut self, name: &str, rate: bool, ours: &[f64], theirs: &[f64]) {
        let kind = if rate { Kind::Rate } else { Kind::Latency };
        let won = ours
            .iter()
            .zip(theirs)
            .filter(|(o, t)| if rate { o > t } else { o < t })
            .count();
        let versus = (!theirs.is_empty()).then(|| (median(theirs), won, theirs.len()));
        self.push(name, "", kind, median(ours), versus);
    }

    fn push(
        &mut self,
        name: &str,
        key: &'static str,
        kind: Kind,
        ours: f64,
        rounds: Option<(f64, usize, usize)>,
    ) {
        self.rows.push(Row {
            name: name.into(),
            key,
            kind,
            ours,
            rounds,
        });
    }

    fn cell(&self, kind: Kind, v: f64) -> String {
        match kind {
            Kind::Rate => format!("{v:>10.0}/s {:>7.2}", 1e6 / v / self.floor),
            Kind::Latency if v >= 10_000.0 => {
                format!("{:>9.1} ms {:>7.2}", v / 1000.0, v / self.floor)
            }
            Kind::Latency => format!("{v:>9.0} µs {:>7.2}", v / self.floor),
            Kind::Size => format!("{v:>10.0} B {:>7}", ""),
        }
    }

    pub fn print(&self) {
        println!();
        println!(
            "floor: sequential exists RTT median {:.1} µs (×floor columns: time per op / floor)",
            self.floor
        );
        println!(
            "{:<38} {:>20} {:>20} {:>10} {:>6}",
            "figure", "docent      ×floor", "Curator 5.4  ×floor", "docent is", "won"
        );
        for row in &self.rows {
            let (theirs, won) = match row.rounds {
                Some((median, won, of)) => (Some(median), format!("{won}/{of}")),
                None => (self.curator.get(row.key).copied(), String::new()),
            };
            let (cell, versus) = match theirs {
                Some(c) => {
                    let speedup = match row.kind {
                        Kind::Rate => row.ours / c,
                        Kind::Latency | Kind::Size => c / row.ours,
                    };
                    (self.cell(row.kind, c), format!("{speedup:.2}×"))
                }
                None => (String::from("-"), String::new()),
            };
            println!(
                "{:<38} {:>20} {cell:>20} {versus:>10} {won:>6}",
                row.name,
                self.cell(row.kind, row.ours)
            );
        }
        println!(
            "(\"docent is\" > 1: docent faster; rates compare cycles/s, latencies compare times;"
        );
        println!(
            " figures with \"won k/n\" are medians over n alternating rounds, docent ahead in k)"
        );
    }
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}
