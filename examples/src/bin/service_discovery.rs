//! Service discovery, the seeds' walk-through step by step, plus two subcommands for
//! scripting against a real ensemble.
//!
//! ```text
//! cargo run -p docent-examples --bin service_discovery [-- --zk HOST:PORT]
//! service_discovery register NAME --port P --payload S --base PATH [--id ID] [--for SECS] [--zk HOST:PORT]
//! service_discovery list NAME --base PATH [--zk HOST:PORT]
//! ```
//!
//! Without a subcommand: an instance of `some-service` (URI spec `{scheme}://{address}:{port}`,
//! port 1234, payload `testing 123`) is registered under `/foo`; the services and instances
//! are listed; a round-robin provider picks one and is told of an error; a service cache is
//! started and picks one; everything is closed. `register` stays registered until killed or
//! `--for` passes; `list` prints each instance as one line of Curator-format JSON.

use std::sync::Arc;
use std::time::Duration;

use docent_examples::discovery::{list, register, walkthrough, Registration};
use docent_examples::leader::Out;
use docent_examples::{default_address, run_for, usage_exit, Args, ArgsError, Backend};

const USAGE: &str = "service_discovery [--zk HOST:PORT]\n  \
    service_discovery register NAME --port P --payload S --base PATH [--id ID] [--for SECS] [--zk HOST:PORT]\n  \
    service_discovery list NAME --base PATH [--zk HOST:PORT]";

/// "Until killed": a year.
const FOREVER: Duration = Duration::from_secs(365 * 24 * 3600);

enum Command {
    Walkthrough,
    Register(Registration, Duration),
    List { name: String, base: String },
}

fn command(args: &Args) -> Result<Command, ArgsError> {
    let words: Vec<&str> = args.positional.iter().map(String::as_str).collect();
    let name = |i: usize| {
        words
            .get(i)
            .map(|s| s.to_string())
            .ok_or_else(|| ArgsError::Required("NAME".into()))
    };
    match words.first().copied() {
        None => {
            args.only(&["zk"])?;
            Ok(Command::Walkthrough)
        }
        Some("register") => {
            args.only(&["zk", "port", "payload", "base", "id", "for"])?;
            let registration = Registration {
                name: name(1)?,
                port: args
                    .parse("port")?
                    .ok_or_else(|| ArgsError::Required("port".into()))?,
                payload: args.required("payload")?.to_owned(),
                base: args.required("base")?.to_owned(),
                id: args.get("id").map(str::to_owned),
                address: default_address(),
            };
            Ok(Command::Register(registration, run_for(args, FOREVER)?))
        }
        Some("list") => {
            args.only(&["zk", "base"])?;
            Ok(Command::List {
                name: name(1)?,
                base: args.required("base")?.to_owned(),
            })
        }
        Some(other) => Err(ArgsError::Unknown(format!("command {other}"))),
    }
}

#[tokio::main]
async fn main() {
    let args = Args::from_env().unwrap_or_else(|e| usage_exit(e, USAGE));
    let command = command(&args).unwrap_or_else(|e| usage_exit(e, USAGE));
    let backend = Backend::from_args(&args);
    let out: Out = Arc::new(|line| println!("{line}"));
    let result = async {
        let client = backend.client().await?;
        match command {
            Command::Walkthrough => {
                println!("service discovery walk-through on {}", backend.describe());
                walkthrough(client, &default_address(), out).await
            }
            Command::Register(registration, hold) => {
                register(client, &registration, hold, out).await
            }
            Command::List { name, base } => {
                for line in list(&client, &name, &base).await? {
                    println!("{line}");
                }
                client.close().await
            }
        }
    };
    if let Err(e) = result.await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
