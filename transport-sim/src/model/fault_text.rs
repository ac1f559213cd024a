//! The compact one-line text form of a [`FaultSchedule`] (see [`FaultSchedule::compact`]),
//! for replay lines and `DOCENT_SCHEDULE`, and its parser.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::exhibitor::ExhibitorAnswer;
use super::fault::{Direction, Fault, FaultSchedule, ScheduledFault};

/// A compact schedule that does not parse: which fault, which token, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseScheduleError {
    /// The fault's position in the text, from 0.
    pub index: usize,
    /// The offending token.
    pub token: String,
    /// What was expected there.
    pub expected: String,
}

impl fmt::Display for ParseScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bad fault schedule: fault {}: `{}`: expected {}",
            self.index, self.token, self.expected
        )
    }
}

impl std::error::Error for ParseScheduleError {}

impl FaultSchedule {
    /// The compact one-line form, for replay lines and `DOCENT_SCHEDULE`; [`FromStr`] reads it
    /// back exactly. Faults separated by `;`, each `<when>:<fault>`, e.g.
    ///
    /// ```text
    /// 3.1s:partition(c0,all,both,12s);20s:crash-server(s1,2.5s);41.007s:lose-reply(c2)
    /// ```
    ///
    /// Times and durations are seconds with up to nine decimals (`12s`, `0.25s`; `250ms` is read
    /// too), so every value prints and parses back exactly. Clients are `c<n>` and servers `s<n>`,
    /// numbered as in the schedule. The faults, one per variant of [`Fault`]:
    ///
    /// | fault | text |
    /// |---|---|
    /// | `Partition` | `partition(c0,all\|s1,both\|to-server\|to-client,12s)` |
    /// | `Delay` | `delay(c0,0.12s,5s)` (client, extra latency, duration) |
    /// | `CrashServer` | `crash-server(s1,3s)` |
    /// | `LeaderChange` | `leader-change` |
    /// | `QuorumLoss` | `quorum-loss(12s)` |
    /// | `FollowerLag` | `lag(s1,0.2s,10s)` (server, lag, duration) |
    /// | `LoseReply` | `lose-reply(c0)` |
    /// | `PauseClient` | `pause(c0,3s)` |
    /// | `CrashClient` | `crash-client(c0)` |
    /// | `ExpireSession` | `expire(c0)` |
    /// | `ClockDrift` | `drift(c0,-3250ms)` |
    /// | `AgeVersion` | `age-version(/a/b,2147483000)` (path bytes outside `[A-Za-z0-9/._-]` as `%XX`) |
    /// | `Reconfig` | `reconfig(+s3,-s0)` (joining `+`, leaving `-`, each in order) |
    /// | `Exhibitor` | `exhibitor(down\|count-zero\|garbage\|members\|stale:s1+s2,5s)` |
    ///
    /// No schedule is `none` (an empty string parses too). The text never holds a `'`, so it can
    /// be single-quoted in a shell line.
    pub fn compact(&self) -> String {
        if self.faults.is_empty() {
            return "none".into();
        }
        let faults: Vec<String> = self
            .faults
            .iter()
            .map(|s| format!("{}:{}", secs(s.at), compact_fault(&s.fault)))
            .collect();
        faults.join(";")
    }
}

impl FromStr for FaultSchedule {
    type Err = ParseScheduleError;

    /// Reads the compact form; faults are kept in time order (a stable sort, so equal times
    /// keep their order).
    fn from_str(text: &str) -> Result<FaultSchedule, ParseScheduleError> {
        let text = text.trim();
        let mut out = FaultSchedule::new();
        if text.is_empty() || text == "none" {
            return Ok(out);
        }
        for (index, item) in text.split(';').enumerate() {
            let item = item.trim();
            let err = |token: &str, expected: &str| ParseScheduleError {
                index,
                token: token.to_owned(),
                expected: expected.to_owned(),
            };
            let (at, fault) = item
                .split_once(':')
                .ok_or_else(|| err(item, "`<when>:<fault>`, e.g. `3.1s:leader-change`"))?;
            let at = duration(at.trim()).ok_or_else(|| err(at, DURATION))?;
            let fault =
                parse_fault(fault.trim()).map_err(|(token, expected)| err(&token, &expected))?;
            out.faults.push(ScheduledFault { at, fault });
        }
        out.faults.sort_by_key(|f| f.at);
        Ok(out)
    }
}

const DURATION: &str = "a duration like `12s`, `0.25s` or `250ms`";

fn compact_fault(fault: &Fault) -> String {
    let c = |client: &u32| format!("c{client}");
    match fault {
        Fault::Partition {
            client,
            server,
            direction,
            duration,
        } => {
            let server = server.map_or("all".into(), |s| format!("s{s}"));
            let direction = match direction {
                Direction::Both => "both",
                Direction::ToServer => "to-server",
                Direction::ToClient => "to-client",
            };
            format!(
                "partition({},{server},{direction},{})",
                c(client),
                secs(*duration)
            )
        }
        Fault::Delay {
            client,
            extra,
            duration,
        } => format!("delay({},{},{})", c(client), secs(*extra), secs(*duration)),
        Fault::CrashServer { server, downtime } => {
            format!("crash-server(s{server},{})", secs(*downtime))
        }
        Fault::LeaderChange => "leader-change".into(),
        Fault::QuorumLoss { duration } => format!("quorum-loss({})", secs(*duration)),
        Fault::FollowerLag {
            server,
            lag,
            duration,
        } => format!("lag(s{server},{},{})", secs(*lag), secs(*duration)),
        Fault::LoseReply { client } => format!("lose-reply({})", c(client)),
        Fault::PauseClient { client, duration } => {
            format!("pause({},{})", c(client), secs(*duration))
        }
        Fault::CrashClient { client } => format!("crash-client({})", c(client)),
        Fault::ExpireSession { client } => format!("expire({})", c(client)),
        Fault::ClockDrift { client, offset_ms } => format!("drift({},{offset_ms}ms)", c(client)),
        Fault::AgeVersion { path, version } => format!("age-version({},{version})", escape(path)),
        Fault::Reconfig { joining, leaving } => {
            let joins = joining.iter().map(|s| format!("+s{s}"));
            let leaves = leaving.iter().map(|s| format!("-s{s}"));
            format!(
                "reconfig({})",
                joins.chain(leaves).collect::<Vec<_>>().join(",")
            )
        }
        Fault::Exhibitor { answer, duration } => {
            let answer = match answer {
                ExhibitorAnswer::Members => "members".into(),
                ExhibitorAnswer::Down => "down".into(),
                ExhibitorAnswer::CountZero => "count-zero".into(),
                ExhibitorAnswer::Garbage => "garbage".into(),
                ExhibitorAnswer::Stale(servers) => {
                    let servers: Vec<String> = servers.iter().map(|s| format!("s{s}")).collect();
                    format!("stale:{}", servers.join("+"))
                }
            };
            format!("exhibitor({answer},{})", secs(*duration))
        }
    }
}

/// A bad token and what was expected in its place.
type Bad = (String, String);

fn bad(token: &str, expected: &str) -> Bad {
    (token.to_owned(), expected.to_owned())
}

fn parse_fault(text: &str) -> Result<Fault, Bad> {
    let (name, args) = match text.split_once('(') {
        Some((name, rest)) => {
            let args = rest
                .strip_suffix(')')
                .ok_or_else(|| bad(text, "a closing `)`"))?;
            let args: Vec<&str> = args.split(',').map(str::trim).collect();
            (name.trim(), if args == [""] { Vec::new() } else { args })
        }
        None => (text, Vec::new()),
    };
    let want = |n: usize, shape: &str| {
        if args.len() == n {
            Ok(())
        } else {
            Err(bad(text, &format!("`{shape}`")))
        }
    };
    let dur = |i: usize| duration(args[i]).ok_or_else(|| bad(args[i], DURATION));
    let client =
        |i: usize| numbered(args[i], 'c').ok_or_else(|| bad(args[i], "a client like `c0`"));
    let server =
        |i: usize| numbered(args[i], 's').ok_or_else(|| bad(args[i], "a server like `s1`"));
    let fault = match name {
        "partition" => {
            want(4, "partition(c0,all|s1,both|to-server|to-client,12s)")?;
            Fault::Partition {
                client: client(0)? as u32,
                server: if args[1] == "all" {
                    None
                } else {
                    Some(server(1)?)
                },
                direction: match args[2] {
                    "both" => Direction::Both,
                    "to-server" => Direction::ToServer,
                    "to-client" => Direction::ToClient,
                    other => return Err(bad(other, "`both`, `to-server` or `to-client`")),
                },
                duration: dur(3)?,
            }
        }
        "delay" => {
            want(3, "delay(c0,0.1s,5s)")?;
            Fault::Delay {
                client: client(0)? as u32,
                extra: dur(1)?,
                duration: dur(2)?,
            }
        }
        "crash-server" => {
            want(2, "crash-server(s1,3s)")?;
            Fault::CrashServer {
                server: server(0)?,
                downtime: dur(1)?,
            }
        }
        "leader-change" => {
            want(0, "leader-change")?;
            Fault::LeaderChange
        }
        "quorum-loss" => {
            want(1, "quorum-loss(12s)")?;
            Fault::QuorumLoss { duration: dur(0)? }
        }
        "lag" => {
            want(3, "lag(s1,0.2s,10s)")?;
            Fault::FollowerLag {
                server: server(0)?,
                lag: dur(1)?,
                duration: dur(2)?,
            }
        }
        "lose-reply" | "crash-client" | "expire" => {
            want(1, &format!("{name}(c0)"))?;
            let client = client(0)? as u32;
            match name {
                "lose-reply" => Fault::LoseReply { client },
                "crash-client" => Fault::CrashClient { client },
                _ => Fault::ExpireSession { client },
            }
        }
        "pause" => {
            want(2, "pause(c0,3s)")?;
            Fault::PauseClient {
                client: client(0)? as u32,
                duration: dur(1)?,
            }
        }
        "drift" => {
            want(2, "drift(c0,-3250ms)")?;
            let offset = args[1].strip_suffix("ms").and_then(|n| n.parse().ok());
            Fault::ClockDrift {
                client: client(0)? as u32,
                offset_ms: offset.ok_or_else(|| bad(args[1], "milliseconds like `-3250ms`"))?,
            }
        }
        "age-version" => {
            want(2, "age-version(/path,2147483000)")?;
            let path = unescape(args[0]).ok_or_else(|| bad(args[0], "a %-escaped path"))?;
            let version = args[1]
                .parse()
                .map_err(|_| bad(args[1], "an i32 version"))?;
            Fault::AgeVersion { path, version }
        }
        "reconfig" => {
            let (mut joining, mut leaving) = (Vec::new(), Vec::new());
            for arg in &args {
                let server = |s: &str| numbered(s, 's').ok_or_else(|| bad(arg, "`+s3` or `-s0`"));
                match (arg.strip_prefix('+'), arg.strip_prefix('-')) {
                    (Some(s), _) => joining.push(server(s)?),
                    (_, Some(s)) => leaving.push(server(s)?),
                    _ => return Err(bad(arg, "`+s3` (joins) or `-s0` (leaves)")),
                }
            }
            Fault::Reconfig { joining, leaving }
        }
        "exhibitor" => {
            want(
                2,
                "exhibitor(down|count-zero|garbage|members|stale:s1+s2,5s)",
            )?;
            let answer = match args[0] {
                "members" => ExhibitorAnswer::Members,
                "down" => ExhibitorAnswer::Down,
                "count-zero" => ExhibitorAnswer::CountZero,
                "garbage" => ExhibitorAnswer::Garbage,
                other => {
                    let list = other.strip_prefix("stale:").ok_or_else(|| {
                        bad(other, "an Exhibitor answer like `down` or `stale:s1`")
                    })?;
                    let servers: Option<Vec<usize>> = list
                        .split('+')
                        .filter(|s| !s.is_empty())
                        .map(|s| numbered(s, 's'))
                        .collect();
                    ExhibitorAnswer::Stale(servers.ok_or_else(|| bad(other, "`stale:s1+s2`"))?)
                }
            };
            Fault::Exhibitor {
                answer,
                duration: dur(1)?,
            }
        }
        _ => {
            return Err(bad(
                name,
                "a fault name like `partition` or `leader-change`",
            ))
        }
    };
    Ok(fault)
}

/// `c3` → 3 (for `prefix` `c`).
fn numbered(token: &str, prefix: char) -> Option<usize> {
    let digits = token.strip_prefix(prefix)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Seconds with the decimals needed to be exact: `12s`, `3.1s`, `0.000000001s`.
fn secs(d: Duration) -> String {
    let frac = format!("{:09}", d.subsec_nanos());
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{}s", d.as_secs())
    } else {
        format!("{}.{frac}s", d.as_secs())
    }
}

/// `12s`, `3.1s` (up to nine decimals) or `250ms`.
fn duration(token: &str) -> Option<Duration> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(ms) = token.strip_suffix("ms") {
        return digits(ms).then(|| ms.parse().ok().map(Duration::from_millis))?;
    }
    let s = token.strip_suffix('s')?;
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if !digits(whole) || (!frac.is_empty() && !digits(frac)) || frac.len() > 9 {
        return None;
    }
    if s.ends_with('.') {
        return None;
    }
    let nanos = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    Some(Duration::new(whole.parse().ok()?, nanos))
}

/// Path bytes outside `[A-Za-z0-9/._-]` as `%XX`.
fn escape(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/._-".contains(&b) {
            out.push(b as char);
        } else {
            out += &format!("%{b:02X}");
        }
    }
    out
}

fn unescape(text: &str) -> Option<String> {
    let mut bytes = Vec::new();
    let mut rest = text.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let hex = tail
                .get(..2)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))?;
            bytes.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
#[path = "fault_text_tests.rs"]
mod tests;
