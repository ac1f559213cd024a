//! A run's [`Timeline`] as an SVG: a lane per client process and per server, session states
//! as a strip, holds as bars labelled with their tokens (where the label fits the bar; hover it
//! otherwise), faults as translucent bands, the violation as a red line, and a `<title>`
//! (hover text) on every mark.

use std::fmt::Write as _;
use std::time::Duration;

use docent::SessionState;

use super::html::{esc, secs};
use super::timeline::{Event, FaultSpan, Lane, ServerState, Timeline, What};

const LABEL_W: f64 = 70.0;
const TOP: f64 = 34.0;
const STRIP_H: f64 = 8.0;
const ROW_H: f64 = 18.0;
const SERVER_H: f64 = 26.0;
const GAP: f64 = 6.0;
/// The width of one character of a token label (10 px monospace).
const CHAR_W: f64 = 6.1;
/// The row at the bottom of each lane where fault names go.
const FAULT_ROW: f64 = 11.0;
const LEASE_COLOURS: [&str; 6] = [
    "#1e88e5", "#43a047", "#8e24aa", "#00897b", "#f4511e", "#6d4c41",
];

/// Maps times to x and lanes to y.
struct Layout {
    lanes: Vec<(Lane, f64, f64, Vec<String>)>,
    scale: f64,
    end: Duration,
    width: f64,
    height: f64,
}

impl Layout {
    fn new(t: &Timeline) -> Layout {
        let end = t.end().max(Duration::from_millis(1));
        let scale = (1200.0 / end.as_secs_f64())
            .max(12.0)
            .min(24_000.0 / end.as_secs_f64());
        let mut y = TOP;
        let mut lanes = Vec::new();
        for lane in t.lanes() {
            let leases = leases(t, &lane);
            let h = FAULT_ROW
                + match lane {
                    Lane::Server(_) => SERVER_H,
                    Lane::Process(_) => STRIP_H + 4.0 + ROW_H * leases.len().max(1) as f64,
                };
            lanes.push((lane, y, h, leases));
            y += h + GAP;
        }
        let width = LABEL_W + end.as_secs_f64() * scale + 90.0;
        Layout {
            lanes,
            scale,
            end,
            width,
            height: y + 24.0,
        }
    }

    fn x(&self, at: Duration) -> f64 {
        LABEL_W + at.min(self.end).as_secs_f64() * self.scale
    }

    fn lane(&self, lane: &Lane) -> Option<&(Lane, f64, f64, Vec<String>)> {
        self.lanes.iter().find(|l| &l.0 == lane)
    }
}

/// The leases `lane` held, in the order it first held them (one row each).
fn leases(t: &Timeline, lane: &Lane) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in t.events().iter().filter(|e| &e.lane == lane) {
        if let What::Hold { lease, .. } = &e.what {
            if !out.contains(lease) {
                out.push(lease.clone());
            }
        }
    }
    out
}

/// The SVG element, for inlining in a page.
pub(crate) fn svg(t: &Timeline) -> String {
    let l = Layout::new(t);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg width=\"{:.0}\" height=\"{:.0}\" viewBox=\"0 0 {:.0} {:.0}\" role=\"img\">",
        l.width, l.height, l.width, l.height
    );
    axis(&mut s, &l);
    for (lane, y, h, _) in &l.lanes {
        let _ = writeln!(
            s,
            "<g class=\"lane\" data-lane=\"{n}\"><rect class=\"lane-bg\" x=\"0\" y=\"{y:.1}\" \
             width=\"{:.0}\" height=\"{h:.1}\"/><text class=\"label\" x=\"6\" y=\"{:.1}\">{n}\
             </text></g>",
            l.width,
            y + 14.0,
            n = esc(&lane.to_string())
        );
    }
    for (lane, ..) in &l.lanes {
        let events: Vec<&Event> = t.events().iter().filter(|e| &e.lane == lane).collect();
        match lane {
            Lane::Server(_) => server(&mut s, &l, lane, &events),
            Lane::Process(_) => process(&mut s, &l, lane, &events),
        }
    }
    // On top, translucent: what a fault covers stays readable.
    let mut labelled = Vec::new();
    for f in t.faults().iter().filter(|f| f.at <= l.end) {
        fault(&mut s, &l, f, &mut labelled);
    }
    if let Some((at, what)) = t.violation_mark() {
        let x = l.x(at);
        let _ = writeln!(
            s,
            "<g class=\"violation\"><title>{} violation: {}</title><line x1=\"{x:.1}\" \
             y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"/><text x=\"{:.1}\" y=\"12\">✗ {}</text></g>",
            secs(at),
            esc(what),
            TOP - 16.0,
            l.height - 20.0,
            (x - 4.0).max(2.0),
            secs(at),
        );
    }
    s += "</svg>\n";
    s
}

fn axis(s: &mut String, l: &Layout) {
    let step = [1u64, 2, 5, 10, 20, 30, 60, 120, 300, 600]
        .into_iter()
        .find(|&n| n as f64 * l.scale >= 60.0)
        .unwrap_or(1200);
    s.push_str("<g class=\"axis\">");
    let mut at = 0;
    while Duration::from_secs(at) <= l.end {
        let x = l.x(Duration::from_secs(at));
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\">{at}s</text>",
            TOP - 4.0,
            l.height - 20.0,
            l.height - 6.0,
        );
        at += step;
    }
    s.push_str("</g>\n");
}

/// One fault's bands; its name goes in each lane's fault row unless it would overwrite the
/// name before it (`labelled`: where each lane's last name ends).
fn fault(s: &mut String, l: &Layout, f: &FaultSpan, labelled: &mut Vec<(Lane, f64)>) {
    let kind = f.kind();
    let (x0, until) = (l.x(f.at), f.until.map(|u| l.x(u)));
    let heals = match f.until {
        None => String::new(),
        Some(Duration::MAX) => ", never heals".to_owned(),
        Some(u) => format!(", heals at {}", secs(u)),
    };
    let _ = write!(
        s,
        "<g class=\"fault\" data-kind=\"{kind}\"><title>{} {}{heals}</title>",
        secs(f.at),
        esc(&format!("{:?}", f.fault))
    );
    for lane in &f.lanes {
        let Some((_, y, h, _)) = l.lane(lane) else {
            continue;
        };
        let colour = fault_colour(&kind);
        match until {
            Some(x1) => {
                let _ = write!(
                    s,
                    "<rect x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" \
                     fill=\"{colour}\" fill-opacity=\"0.16\" stroke=\"{colour}\" \
                     stroke-opacity=\"0.5\"/>",
                    (x1 - x0).max(1.0)
                );
            }
            None => {
                let _ = write!(
                    s,
                    "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"3\" height=\"{h:.1}\" \
                     fill=\"{colour}\" fill-opacity=\"0.7\"/>",
                    x0 - 1.5
                );
            }
        }
        let free = labelled
            .iter()
            .all(|(other, end)| other != lane || *end < x0);
        if free {
            labelled.retain(|(other, _)| other != lane);
            labelled.push((lane.clone(), x0 + 2.0 + kind.len() as f64 * 5.2));
            let _ = write!(
                s,
                "<text class=\"fault-label\" x=\"{:.1}\" y=\"{:.1}\" fill=\"{colour}\">{kind}</text>",
                x0 + 2.0,
                y + h - 2.0
            );
        }
    }
    s.push_str("</g>\n");
}

fn fault_colour(kind: &str) -> &'static str {
    match kind {
        "Partition" => "#e53935",
        "Delay" => "#fb8c00",
        "CrashServer" | "QuorumLoss" => "#5d4037",
        "LeaderChange" => "#8e24aa",
        "FollowerLag" => "#f9a825",
        "LoseReply" => "#d81b60",
        "PauseClient" => "#3949ab",
        "CrashClient" => "#212121",
        "ExpireSession" => "#b71c1c",
        "ClockDrift" => "#00897b",
        _ => "#757575",
    }
}

/// A segment from `from` to `to` with a hover text.
fn seg(s: &mut String, l: &Layout, class: &str, span: (Duration, Duration), y: f64, h: f64) {
    let (x0, x1) = (l.x(span.0), l.x(span.1));
    let _ = write!(
        s,
        "<rect class=\"{class}\" x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\">",
        (x1 - x0).max(1.0)
    );
}

fn server(s: &mut String, l: &Layout, lane: &Lane, events: &[&Event]) {
    let Some(&(_, y, _, _)) = l.lane(lane) else {
        return;
    };
    let h = SERVER_H;
    let states: Vec<(Duration, ServerState)> = events
        .iter()
        .filter_map(|e| match e.what {
            What::Server(state) => Some((e.at, state)),
            _ => None,
        })
        .collect();
    for (i, (from, state)) in states.iter().enumerate() {
        let to = states.get(i + 1).map_or(l.end, |n| n.0);
        let class = match (state.up, state.leading) {
            (false, _) => "down",
            (true, true) => "leads",
            (true, false) => "follows",
        };
        let (sy, sh) = if state.leading {
            (y + 3.0, h - 6.0)
        } else {
            (y + 9.0, h - 18.0)
        };
        seg(s, l, class, (*from, to), sy, sh.max(4.0));
        let _ = write!(
            s,
            "<title>{}–{} {lane} {state}</title></rect>",
            secs(*from),
            secs(to)
        );
        if state.up && !state.lag.is_zero() {
            seg(s, l, "lag", (*from, to), y + h - 6.0, 5.0);
            let _ = write!(s, "<title>{} {lane} {state}</title></rect>", secs(*from));
        }
        if state.leading && l.x(to) - l.x(*from) > 40.0 {
            let _ = write!(
                s,
                "<text class=\"in-bar\" x=\"{:.1}\" y=\"{:.1}\">leader</text>",
                l.x(*from) + 3.0,
                y + h / 2.0 + 4.0
            );
        }
    }
    s.push('\n');
}

fn process(s: &mut String, l: &Layout, lane: &Lane, events: &[&Event]) {
    let Some((_, y, _, leases)) = l.lane(lane) else {
        return;
    };
    // The session strip.
    let sessions: Vec<(Duration, SessionState)> = events
        .iter()
        .filter_map(|e| match e.what {
            What::Session(state) => Some((e.at, state)),
            _ => None,
        })
        .collect();
    for (i, (from, state)) in sessions.iter().enumerate() {
        let to = sessions.get(i + 1).map_or(l.end, |n| n.0);
        let class = match state {
            SessionState::Connected { .. } => "connected",
            SessionState::Disconnected => "disconnected",
            SessionState::Expired | SessionState::AuthFailed => "expired",
            _ => "closed",
        };
        seg(s, l, class, (*from, to), *y + 2.0, STRIP_H);
        let what = What::Session(*state);
        let _ = write!(
            s,
            "<title>{}–{} {lane} {what}</title></rect>",
            secs(*from),
            secs(to)
        );
    }
    // Holds: one row per lease; a bar from each hold to its release (or the end).
    for (i, e) in events.iter().enumerate() {
        let What::Hold { lease, token } = &e.what else {
            continue;
        };
        let row = leases.iter().position(|l| l == lease).unwrap_or(0);
        let to = events[i + 1..]
            .iter()
            .find(|n| matches!(&n.what, What::Release { lease: l, .. } if l == lease))
            .map_or(l.end, |n| n.at);
        let by = y + STRIP_H + 4.0 + row as f64 * ROW_H;
        let colour = LEASE_COLOURS[row % LEASE_COLOURS.len()];
        let _ = write!(
            s,
            "<g class=\"hold\" data-lease=\"{}\" data-token=\"{token}\"><title>{}–{} {lane} held \
             {} token={token}</title>",
            esc(lease),
            secs(e.at),
            secs(to),
            esc(lease),
        );
        let (x0, x1) = (l.x(e.at), l.x(to));
        let _ = write!(
            s,
            "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\" \
             rx=\"2\"/>",
            by + 1.0,
            (x1 - x0).max(2.0),
            ROW_H - 3.0,
        );
        // The label that fits in the bar: lease and token, the token, or none (hover it).
        let full = format!("{lease} {token}");
        let fits = |text: &str| text.chars().count() as f64 * CHAR_W + 6.0 <= x1 - x0;
        let label = [full, token.to_string()].into_iter().find(|t| fits(t));
        if let Some(label) = label {
            let _ = write!(
                s,
                "<text class=\"token\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                x0 + 3.0,
                by + ROW_H - 5.0,
                esc(&label)
            );
        }
        s.push_str("</g>");
    }
    // Notes: a tick on the strip.
    for e in events {
        if let What::Note(text) = &e.what {
            let x = l.x(e.at);
            let _ = write!(
                s,
                "<g class=\"note\"><title>{} {lane} {}</title><path d=\"M{x:.1} {:.1} l4 -6 \
                 h-8 z\"/></g>",
                secs(e.at),
                esc(text),
                y + 1.0 + STRIP_H
            );
        }
    }
    s.push('\n');
}
