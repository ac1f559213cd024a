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

use clap::{Parser, Subcommand};
use docent_examples::discovery::{list, register, walkthrough, Registration};
use docent_examples::leader::Out;
use docent_examples::{default_address, init_logging, secs, Backend, ZkArg};

/// Service discovery: without a subcommand, the seeds' walk-through step by step.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    zk: ZkArg,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Register an instance of NAME and keep it registered until killed or --for passes
    Register {
        /// The service's name
        name: String,
        /// The instance's port
        #[arg(long, value_name = "P")]
        port: u16,
        /// The instance's payload (a string)
        #[arg(long, value_name = "S")]
        payload: String,
        /// The discovery base path
        #[arg(long, value_name = "PATH")]
        base: String,
        /// The instance's id [default: a random UUID]
        #[arg(long, value_name = "ID")]
        id: Option<String>,
        /// Unregister after SECS [default: until killed]
        #[arg(long = "for", value_name = "SECS", value_parser = secs)]
        run_for: Option<Duration>,
    },
    /// Print each instance of NAME as one line of Curator-format JSON
    List {
        /// The service's name
        name: String,
        /// The discovery base path
        #[arg(long, value_name = "PATH")]
        base: String,
    },
}

/// "Until killed": a year.
const FOREVER: Duration = Duration::from_secs(365 * 24 * 3600);

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    init_logging();
    let backend = Backend::new(&cli.zk);
    let out: Out = Arc::new(|line| println!("{line}"));
    let result = async {
        let client = backend.client().await?;
        match cli.command {
            None => {
                println!("service discovery walk-through on {}", backend.describe());
                walkthrough(client, &default_address(), out).await
            }
            Some(Command::Register {
                name,
                port,
                payload,
                base,
                id,
                run_for,
            }) => {
                let registration = Registration {
                    name,
                    port,
                    payload,
                    base,
                    id,
                    address: default_address(),
                };
                register(client, &registration, run_for.unwrap_or(FOREVER), out).await
            }
            Some(Command::List { name, base }) => {
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
