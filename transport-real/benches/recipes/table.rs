//! The printed table: docent beside Curator, every figure also as a ratio to the floor RTT.

use std::collections::BTreeMap;

#[derive(Default)]
pub struct Table {
    pub floor: f64,
    rows: Vec<(String, &'static str, Kind, f64)>,
    pub curator: BTreeMap<String, f64>,
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
        self.rows.push((name.into(), key, Kind::Rate, v));
    }

    pub fn latency(&mut self, name: &str, key: &'static str, v: f64) {
        self.rows.push((name.into(), key, Kind::Latency, v));
    }

    pub fn size(&mut self, name: &str, v: f64) {
        self.rows.push((name.into(), "", Kind::Size, v));
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
            "{:<38} {:>20} {:>20} {:>10}",
            "figure", "docent      ×floor", "Curator 5.4  ×floor", "docent is"
        );
        for (name, key, kind, v) in &self.rows {
            let theirs = self.curator.get(*key).copied();
            let (cell, versus) = match theirs {
                Some(c) => {
                    let speedup = match kind {
                        Kind::Rate => v / c,
                        Kind::Latency | Kind::Size => c / v,
                    };
                    (self.cell(*kind, c), format!("{speedup:.2}×"))
                }
                None => (String::from("-"), String::new()),
            };
            println!(
                "{name:<38} {:>20} {cell:>20} {versus:>10}",
                self.cell(*kind, *v)
            );
        }
        println!(
            "(\"docent is\" > 1: docent faster; rates compare cycles/s, latencies compare times)"
        );
    }
}
