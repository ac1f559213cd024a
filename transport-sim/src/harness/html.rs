//! A run's [`Timeline`] as one self-contained HTML page around the inline SVG of
//! [`svg`](super::svg): a heading with the violation, a legend, and the last events as text. No
//! scripts, fonts or anything else fetched: the file opens offline.
//!
//! `DOCENT_TIMELINE=DIR` writes `DIR/<test>-seed<N>.html` for a failing seed,
//! `DOCENT_TIMELINE_ALL=1` for every seed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::svg::svg;
use super::timeline::Timeline;

/// Writes the page for `seed` if `DOCENT_TIMELINE` names a directory and the seed failed (or
/// `DOCENT_TIMELINE_ALL=1`); returns its path. A file that cannot be written is reported on
/// stderr, never a failure of the run.
pub(crate) fn write_if_asked(
    test: &str,
    seed: u64,
    timeline: &Timeline,
    failed: bool,
) -> Option<PathBuf> {
    let dir = std::env::var_os("DOCENT_TIMELINE")?;
    let all = std::env::var("DOCENT_TIMELINE_ALL").is_ok_and(|v| v == "1");
    if !failed && !all {
        return None;
    }
    match write(Path::new(&dir), test, seed, timeline) {
        Ok(path) => Some(path),
        Err(e) => {
            eprintln!("timeline of seed {seed} not written to {dir:?}: {e}");
            None
        }
    }
}

/// Writes the page to `dir/<test>-seed<seed>.html` and returns its absolute path.
pub(crate) fn write(
    dir: &Path,
    test: &str,
    seed: u64,
    timeline: &Timeline,
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let name: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(format!("{name}-seed{seed}.html"));
    std::fs::write(&path, page(&format!("{test}, seed {seed}"), timeline))?;
    // Absolute: `cargo test` runs each test in its package's directory, not where it was typed.
    Ok(std::fs::canonicalize(&path).unwrap_or(path))
}

/// The whole page (well-formed XML too, so that tests can parse it).
pub(crate) fn page(title: &str, t: &Timeline) -> String {
    let mut out = String::new();
    let title = esc(title);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    );
    if let Some((at, what)) = t.violation_mark() {
        let _ = writeln!(out, "<p class=\"msg\">{} — {}</p>", secs(at), esc(what));
    }
    out += LEGEND;
    out += "<div class=\"scroll\">\n";
    out += &svg(t);
    out += match t.violation_mark() {
        Some(_) => "</div>\n<h2>Last events before the violation</h2>\n<pre>",
        None => "</div>\n<h2>Last events</h2>\n<pre>",
    };
    out += &esc(&t.tail(super::timeline::TAIL).join("\n"));
    out += "</pre>\n<details><summary>Every event</summary><pre>";
    out += &esc(&t.tail(usize::MAX).join("\n"));
    out += "</pre></details>\n</body>\n</html>\n";
    out
}

pub(crate) fn secs(at: Duration) -> String {
    format!("{:.3}s", at.as_secs_f64())
}

/// Escapes text for XML content and attributes.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "body{font:13px sans-serif;margin:12px;color:#222}\
h1{font-size:16px;margin:0 0 6px}h2{font-size:14px}\
.msg{color:#b71c1c;font-weight:bold;white-space:pre-wrap}\
.scroll{overflow-x:auto;border:1px solid #ccc}\
pre{font:12px monospace;background:#f6f6f6;padding:6px}\
.legend span{display:inline-block;margin-right:12px}\
.legend i{display:inline-block;width:14px;height:10px;margin-right:4px;vertical-align:middle}\
svg text{font:11px sans-serif;fill:#222}\
.lane-bg{fill:#fafafa;stroke:#e0e0e0}.label{font-weight:bold}\
.axis line{stroke:#e8e8e8}.axis text{fill:#777}\
.connected{fill:#a5d6a7}.disconnected{fill:#ffcc80}.expired{fill:#e57373}.closed{fill:#bdbdbd}\
.follows{fill:#c5cae9}.leads{fill:#3f51b5}.down{fill:#9e9e9e;fill-opacity:.5}.lag{fill:#f9a825}\
text.in-bar{fill:#fff;font-weight:bold}\
.hold text.token{fill:#fff;font:10px monospace}\
.note path{fill:#000}.fault-label{font-size:9px}\
.violation line{stroke:#d50000;stroke-width:2}.violation text{fill:#d50000;font-weight:bold}";

const LEGEND: &str = "<p class=\"legend\">\
<span><i style=\"background:#a5d6a7\"></i>connected</span>\
<span><i style=\"background:#ffcc80\"></i>disconnected</span>\
<span><i style=\"background:#e57373\"></i>expired</span>\
<span><i style=\"background:#bdbdbd\"></i>closed</span>\
<span><i style=\"background:#1e88e5\"></i>hold (token)</span>\
<span><i style=\"background:#3f51b5\"></i>server leads</span>\
<span><i style=\"background:#c5cae9\"></i>follows</span>\
<span><i style=\"background:#9e9e9e\"></i>down</span>\
<span><i style=\"background:#f9a825\"></i>applies late</span>\
<span><i style=\"background:#e5393540;border:1px solid #e53935\"></i>fault</span>\
<span><i style=\"background:#d50000\"></i>violation</span>\
<span>hover any mark for details</span></p>\n";
