//! [`TestingCluster`]: a ZooKeeper ensemble on loopback ports.

use std::net::SocketAddr;
use std::time::Duration;

use super::install::{free_port, Installation, TempDir};
use super::process::ServerProcess;
use super::server::ServerOptions;
use super::TestingError;

/// An ensemble of `n` servers on loopback (quorum and election ports included), every member
/// killed by pid when dropped.
///
/// ```no_run
/// # async fn run() -> Result<(), docent_zk::testing::TestingError> {
/// let mut cluster = docent_zk::testing::TestingCluster::start(3).await?;
/// let all = cluster.connect_string(); // "127.0.0.1:a,127.0.0.1:b,127.0.0.1:c"
/// cluster.kill(0);                    // the other two keep the quorum
/// cluster.restart(0).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TestingCluster {
    members: Vec<ServerProcess>,
    /// Each member's `server.N=` line (its id is its index + 1).
    lines: Vec<String>,
    /// Members on `127.0.0.<i+1>` with one client port ([`TestingCluster::start_on_hosts`]).
    on_hosts: bool,
    install: Installation,
    options: ServerOptions,
    dir: TempDir,
    /// Every port handed to a member so far (client, quorum, election), dead members' too.
    ports: Vec<u16>,
}

impl TestingCluster {
    /// Starts `n` servers with [`ServerOptions::default`] and waits until each serves.
    pub async fn start(n: usize) -> Result<TestingCluster, TestingError> {
        TestingCluster::start_with(n, ServerOptions::default()).await
    }

    /// Starts `n` servers with `options` and waits until each serves (it has joined a quorum).
    /// Every member listens on 127.0.0.1, on ports of its own.
    pub async fn start_with(
        n: usize,
        options: ServerOptions,
    ) -> Result<TestingCluster, TestingError> {
        TestingCluster::launch(n, options, false).await
    }

    /// Starts `n` servers (at most 254) on hosts of their own with ONE client port, as an
    /// Exhibitor lists them: member `i` listens on `127.0.0.<i+1>` (every 127/8 address is
    /// loopback on Linux).
    pub async fn start_on_hosts(
        n: usize,
        options: ServerOptions,
    ) -> Result<TestingCluster, TestingError> {
        TestingCluster::launch(n, options, true).await
    }

    async fn launch(
        n: usize,
        options: ServerOptions,
        on_hosts: bool,
    ) -> Result<TestingCluster, TestingError> {
        if n == 0 || n > 254 {
            return Err(TestingError::InvalidArgument(format!(
                "a cluster of {n} servers (1 to 254)"
            )));
        }
        let mut cluster = TestingCluster {
            members: Vec::with_capacity(n),
            lines: Vec::with_capacity(n),
            on_hosts,
            install: Installation::find()?,
            options,
            dir: TempDir::new("cluster")?,
            ports: Vec::new(),
        };
        for _ in 0..n {
            cluster.plan_member()?;
        }
        for i in 0..n {
            cluster.write_config(i)?;
            cluster.members[i].launch()?;
        }
        let limit = cluster.options.start_timeout;
        for member in &mut cluster.members {
            member.wait_ready(limit).await?;
        }
        Ok(cluster)
    }

    /// Picks the next member's addresses and its `server.N=` line.
    fn plan_member(&mut self) -> Result<(), TestingError> {
        let i = self.members.len();
        let first = self.members.first().map(|m| m.port());
        let client = match (self.on_hosts, first) {
            (true, Some(port)) => SocketAddr::from(([127, 0, 0, i as u8 + 1], port)),
            (true, None) => SocketAddr::from(([127, 0, 0, 1], self.fresh_port()?)),
            (false, _) => SocketAddr::from(([127, 0, 0, 1], self.fresh_port()?)),
        };
        let (quorum, election) = (self.fresh_port()?, self.fresh_port()?);
        let host = client.ip();
        let mut line = format!("server.{}={host}:{quorum}:{election}", i + 1);
        if self.options.reconfig {
            line.push_str(&format!(":participant;{client}"));
        }
        let home = self.dir.path().join(format!("server{}", i + 1));
        self.members.push(ServerProcess::new(
            self.install.clone(),
            home.join("zoo.cfg"),
            home.join("server.log"),
            client,
            self.options.all_jvm_args(),
        ));
        self.lines.push(line);
        Ok(())
    }

    /// A free port no member was given before: the OS may hand a just-released port out again,
    /// and a member that reuses another's (a dead one's included) fails to start.
    fn fresh_port(&mut self) -> Result<u16, TestingError> {
        for _ in 0..100 {
            let port = free_port()?;
            if !self.ports.contains(&port) {
                self.ports.push(port);
                return Ok(port);
            }
        }
        Err(TestingError::InvalidArgument(
            "no fresh port in 100 tries".into(),
        ))
    }

    /// Writes member `i`'s data dir and `zoo.cfg`: the servers planned so far (itself included).
    fn write_config(&self, i: usize) -> Result<(), TestingError> {
        let home = self.dir.path().join(format!("server{}", i + 1));
        let data = home.join("data");
        std::fs::create_dir_all(&data).map_err(TestingError::io("creating a data dir"))?;
        std::fs::write(data.join("myid"), format!("{}\n", i + 1))
            .map_err(TestingError::io("writing myid"))?;
        let reconfig = if self.options.reconfig {
            "reconfigEnabled=true\nstandaloneEnabled=false\n"
        } else {
            "reconfigEnabled=false\n"
        };
        let text = format!(
            "{}quorumListenOnAllIPs=false\n{reconfig}{}\n",
            self.options.base_config(&data, self.members[i].addr()),
            self.lines.join("\n")
        );
        std::fs::write(home.join("zoo.cfg"), text).map_err(TestingError::io("writing zoo.cfg"))
    }

    /// Starts one more server that knows the ensemble and itself and waits until it serves; it
    /// votes only once a [`reconfigure`](Self::reconfigure) adds it. Needs
    /// [`ServerOptions::reconfig`]. Returns its index.
    pub async fn add_member(&mut self) -> Result<usize, TestingError> {
        if !self.options.reconfig {
            return Err(TestingError::InvalidArgument(
                "adding members needs ServerOptions::reconfig".into(),
            ));
        }
        self.plan_member()?;
        let i = self.members.len() - 1;
        self.write_config(i)?;
        let limit = self.options.start_timeout;
        let member = self.member_mut(i)?;
        member.launch()?;
        member.wait_ready(limit).await?;
        Ok(i)
    }

    /// ZooKeeper's incremental `reconfig`, sent to a live member: members `add` join the
    /// ensemble and members `remove` leave it. Needs [`ServerOptions::reconfig`].
    pub async fn reconfigure(&self, add: &[usize], remove: &[usize]) -> Result<(), TestingError> {
        let joining: Vec<&str> = add
            .iter()
            .map(|&i| self.lines.get(i).map(|l| l.as_str()))
            .collect::<Option<_>>()
            .ok_or_else(|| TestingError::InvalidArgument(format!("no member in {add:?}")))?;
        let ids: Vec<String> = remove.iter().map(|i| (i + 1).to_string()).collect();
        let leaving: Vec<&str> = ids.iter().map(String::as_str).collect();
        let live = (0..self.members.len())
            .filter(|i| !remove.contains(i) && self.members[*i].pid().is_some())
            .map(|i| self.members[i].addr().to_string())
            .collect::<Vec<_>>()
            .join(",");
        let fail = |e: zookeeper_client::Error| TestingError::Reconfig(e.to_string());
        let client = zookeeper_client::Client::connect(&live)
            .await
            .map_err(fail)?;
        let update = zookeeper_client::EnsembleUpdate::Incremental {
            joinings: joining.iter().copied(),
            leavings: leaving.iter().copied(),
        };
        client.update_ensemble(update, None).await.map_err(fail)?;
        Ok(())
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Always false: a cluster has at least one member.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Every member: `127.0.0.1:p1,127.0.0.1:p2,…` (`127.0.0.1:p,127.0.0.2:p,…` when started
    /// [on hosts](TestingCluster::start_on_hosts)).
    pub fn connect_string(&self) -> String {
        self.members
            .iter()
            .map(|m| m.addr().to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Member `i`'s client address, `host:port`.
    pub fn member_connect_string(&self, i: usize) -> Result<String, TestingError> {
        Ok(self.member(i)?.addr().to_string())
    }

    /// Member `i`'s client address.
    pub fn member_addr(&self, i: usize) -> Result<SocketAddr, TestingError> {
        Ok(self.member(i)?.addr())
    }

    /// Member `i`'s JVM pid while it runs.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.members.get(i).and_then(ServerProcess::pid)
    }

    /// The index of the member whose `srvr` says `Mode: leader`, if any answers so.
    pub async fn leader(&self) -> Option<usize> {
        for i in 0..self.members.len() {
            if self.mode(i).await.as_deref() == Some("leader") {
                return Some(i);
            }
        }
        None
    }

    /// Member `i`'s mode as its `srvr` reports it (`leader`, `follower`, `read-only`, …);
    /// `None` when it does not answer (dead, or not serving: e.g. looking for a quorum).
    pub async fn mode(&self, i: usize) -> Option<String> {
        let reply = super::install::four_letter_word(self.member(i).ok()?.addr(), "srvr")
            .await
            .ok()?;
        reply
            .lines()
            .find_map(|line| line.strip_prefix("Mode: "))
            .map(|mode| mode.trim().to_owned())
    }

    /// The index of the member that holds a connection of session `session_id` (by `cons`),
    /// if any: Curator's `findConnectionInstance`.
    pub async fn member_serving(&self, session_id: i64) -> Option<usize> {
        let needle = format!("sid={session_id:#x}");
        for (i, member) in self.members.iter().enumerate() {
            if let Ok(reply) = super::install::four_letter_word(member.addr(), "cons").await {
                if reply.contains(&needle) {
                    return Some(i);
                }
            }
        }
        None
    }

    /// Kills member `i` with SIGKILL (no-op when out of range or already dead).
    pub fn kill(&mut self, i: usize) {
        if let Some(member) = self.members.get_mut(i) {
            member.kill();
        }
    }

    /// Stops member `i` with SIGTERM (SIGKILL after 5 s).
    pub async fn stop(&mut self, i: usize) {
        if let Some(member) = self.members.get_mut(i) {
            member.stop(Duration::from_secs(5)).await;
        }
    }

    /// Starts member `i` again (killing it first if it runs) and waits until it serves.
    pub async fn restart(&mut self, i: usize) -> Result<(), TestingError> {
        let limit = self.options.start_timeout;
        let member = self.member_mut(i)?;
        member.kill();
        member.launch()?;
        member.wait_ready(limit).await
    }

    fn member(&self, i: usize) -> Result<&ServerProcess, TestingError> {
        let n = self.members.len();
        self.members
            .get(i)
            .ok_or_else(|| TestingError::InvalidArgument(format!("no member {i} of {n}")))
    }

    fn member_mut(&mut self, i: usize) -> Result<&mut ServerProcess, TestingError> {
        let n = self.members.len();
        self.members
            .get_mut(i)
            .ok_or_else(|| TestingError::InvalidArgument(format!("no member {i} of {n}")))
    }
}
