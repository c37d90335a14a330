//! The high-availability parts of the devnet (`rollup-devnet --ha`), on the real engines from
//! Debian's packages: a PostgreSQL primary with a hot standby under synchronous streaming
//! replication, and HAProxy in front of both the database (TCP, the standby as backup) and the
//! API replicas (HTTP, health-checked, retried on another replica).
//!
//! Failover of the database is promotion of the standby (`pg_ctl promote`): HAProxy already
//! sends new connections to it once the primary's check fails, the node's components retry what
//! the standby refused before its promotion (`rollup_storage::StorageError::retryable`), and
//! synchronous commit means every write a node saw committed is on the standby. The devnet
//! promotes when the primary's server is gone ([`PgPair::promote`]); production would leave that
//! decision to a failover manager (docs/OPERATIONS.md).

use anyhow::Context;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The newest PostgreSQL under Debian's `/usr/lib/postgresql/<version>/bin`.
pub fn pg_bin() -> anyhow::Result<PathBuf> {
    let base = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(base)
        .context("PostgreSQL is not installed (apt-get install postgresql; scripts/test.sh does)")?
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .context("no initdb under /usr/lib/postgresql")
}

/// Runs a PostgreSQL tool through `sh -c`, as the `postgres` user when we are root (the server
/// refuses to run as root); its output, or an error with it.
fn as_postgres(cmd: &str) -> anyhow::Result<String> {
    let root = Command::new("id").arg("-u").output()?.stdout == b"0\n";
    let out = if root {
        Command::new("su")
            .args(["postgres", "-s", "/bin/sh", "-c", cmd])
            .output()
    } else {
        Command::new("sh").args(["-c", cmd]).output()
    }
    .with_context(|| format!("running {cmd}"))?;
    anyhow::ensure!(
        out.status.success(),
        "{cmd}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The processes whose parent is `pid` (from `/proc`: no procps needed).
fn children(pid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let child: i32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).ok()?;
        // `pid (comm) state ppid …`: the command may hold spaces and parentheses.
        let ppid: i32 = stat
            .rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        (ppid == pid).then_some(child)
    })
    .collect()
}

/// Sends `sig` (`KILL`, `STOP`, `CONT`, `TERM`, …) to `pids` with the shell's own `kill`.
pub fn signal(pids: &[i32], sig: &str) -> anyhow::Result<()> {
    let list: Vec<String> = pids.iter().map(i32::to_string).collect();
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -{sig} {}", list.join(" ")))
        .status()?
        .success();
    anyhow::ensure!(ok, "kill -{sig} {}", list.join(" "));
    Ok(())
}

/// A free TCP port on loopback.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// One PostgreSQL server: its data directory and port.
#[derive(Debug)]
pub struct PgServer {
    /// Its data directory.
    pub data: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl PgServer {
    /// The postmaster's process id, while it runs.
    pub fn pid(&self) -> Option<i32> {
        let text = std::fs::read_to_string(self.data.join("postmaster.pid")).ok()?;
        let pid: i32 = text.lines().next()?.trim().parse().ok()?;
        // A pid file left by a killed server names a dead (or another) process.
        let alive = std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| c.contains("postgres"));
        alive.then_some(pid)
    }

    /// Runs one SQL statement with `psql`; its unaligned output.
    pub fn query(&self, bin: &Path, sql: &str) -> anyhow::Result<String> {
        as_postgres(&format!(
            "{}/psql -h 127.0.0.1 -p {} -U postgres -d postgres -Atc \"{sql}\"",
            bin.display(),
            self.port
        ))
    }
}

/// A primary and its synchronous hot standby, under one directory.
#[derive(Debug)]
pub struct PgPair {
    /// Where both live (deleted on drop).
    pub dir: PathBuf,
    /// PostgreSQL's binaries.
    pub bin: PathBuf,
    /// The server that took writes at the start.
    pub primary: PgServer,
    /// Its standby (the primary after [`PgPair::promote`]).
    pub standby: PgServer,
    /// Whether the standby was promoted.
    pub promoted: bool,
}

impl PgPair {
    /// Creates and starts both: `initdb` (trust authentication on loopback, as a devnet may),
    /// the primary requiring one synchronous standby for every commit, then the standby from
    /// `pg_basebackup` streaming from it.
    pub fn start(dir: &Path) -> anyhow::Result<PgPair> {
        let bin = pg_bin()?;
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir)?;
        // The postgres user must reach the directory (it is under the data dir, owned by us).
        Command::new("chmod").arg("777").arg(dir).status()?;
        let dir = std::fs::canonicalize(dir)?;
        let primary = PgServer {
            data: dir.join("primary"),
            port: free_port()?,
        };
        let standby = PgServer {
            data: dir.join("standby"),
            port: free_port()?,
        };
        let d = dir.display();
        as_postgres(&format!(
            "{}/initdb -D {} -U postgres --auth=trust -E UTF8 >{d}/initdb.log 2>&1",
            bin.display(),
            primary.data.display()
        ))?;
        // Synchronous replication only on the primary's command line, not in a file the base
        // backup copies: a promoted standby without a standby of its own must not wait for one.
        Self::pg_ctl_start(
            &bin,
            &primary,
            &dir,
            "-c synchronous_standby_names='*' -c synchronous_commit=on",
        )?;
        as_postgres(&format!(
            "{}/pg_basebackup -h 127.0.0.1 -p {} -U postgres -D {} -R -X stream -c fast >{d}/basebackup.log 2>&1",
            bin.display(),
            primary.port,
            standby.data.display()
        ))?;
        Self::pg_ctl_start(&bin, &standby, &dir, "-c hot_standby=on")?;
        let pair = PgPair {
            dir,
            bin,
            primary,
            standby,
            promoted: false,
        };
        // Until the standby streams, every commit on the primary waits: wait for it here.
        let deadline = Instant::now() + Duration::from_secs(30);
        while pair.replication()?.is_none() {
            anyhow::ensure!(
                Instant::now() < deadline,
                "the standby did not start streaming"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(pair)
    }

    fn pg_ctl_start(bin: &Path, s: &PgServer, dir: &Path, extra: &str) -> anyhow::Result<()> {
        let name = s.data.file_name().and_then(|n| n.to_str()).unwrap_or("pg");
        as_postgres(&format!(
            "{}/pg_ctl -D {} -l {}/{name}.log -w -o \"-p {} -k {} -c listen_addresses=127.0.0.1 {extra}\" start >/dev/null",
            bin.display(),
            s.data.display(),
            dir.display(),
            s.port,
            dir.display()
        ))?;
        Ok(())
    }

    /// The server that takes writes now.
    pub fn writer(&self) -> &PgServer {
        if self.promoted {
            &self.standby
        } else {
            &self.primary
        }
    }

    /// The standby's state as the primary reports it (`pg_stat_replication`): its sync state
    /// and replay lag in bytes; `None` while no standby streams (or the primary is down).
    pub fn replication(&self) -> anyhow::Result<Option<(String, u64)>> {
        if self.promoted || self.primary.pid().is_none() {
            return Ok(None);
        }
        let out = self.primary.query(
            &self.bin,
            "SELECT sync_state, COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint \
             FROM pg_stat_replication WHERE state = 'streaming'",
        )?;
        Ok(out.lines().next().and_then(|l| {
            let (state, lag) = l.split_once('|')?;
            Some((state.to_string(), lag.parse().ok()?))
        }))
    }

    /// Kills the primary's server and its backends with SIGKILL: no shutdown, no checkpoint.
    pub fn kill_primary(&self) -> anyhow::Result<()> {
        let pid = self.primary.pid().context("the primary is not running")?;
        // The postmaster first (so it starts no new backend), then the backends it had.
        let mut pids = vec![pid];
        pids.extend(children(pid));
        signal(&pids, "KILL")?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.primary.pid().is_some() {
            anyhow::ensure!(Instant::now() < deadline, "the primary did not die");
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Promotes the standby to primary (`pg_ctl promote`, waiting until it takes writes).
    pub fn promote(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(!self.promoted, "the standby was promoted already");
        as_postgres(&format!(
            "{}/pg_ctl -D {} -w promote >/dev/null",
            self.bin.display(),
            self.standby.data.display()
        ))?;
        self.promoted = true;
        Ok(())
    }
}

impl Drop for PgPair {
    fn drop(&mut self) {
        for s in [&self.primary, &self.standby] {
            let _ = as_postgres(&format!(
                "{}/pg_ctl -D {} -m immediate stop >/dev/null 2>&1 || true",
                self.bin.display(),
                s.data.display()
            ));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// HAProxy (Debian's package) with the devnet's two frontends: PostgreSQL (TCP; the standby is a
/// backup server, used once the primary's check fails) and the API (HTTP round robin over the
/// replicas, `GET /health` checks, a request that fails on a dead replica retried on another).
#[derive(Debug)]
pub struct Haproxy {
    /// Its configuration file.
    pub config: PathBuf,
    pid_file: PathBuf,
}

/// Where HAProxy listens and what it balances.
#[derive(Clone, Debug)]
pub struct Balance {
    /// The database frontend.
    pub pg: SocketAddr,
    /// The primary's and the standby's ports.
    pub pg_servers: (u16, u16),
    /// The API frontend.
    pub api: SocketAddr,
    /// The API replicas.
    pub apis: Vec<SocketAddr>,
    /// HAProxy's statistics page (`/stats`; `;csv` for machines).
    pub stats: SocketAddr,
}

impl Balance {
    /// The configuration text.
    pub fn config(&self) -> String {
        let mut apis = String::new();
        for (i, a) in self.apis.iter().enumerate() {
            apis.push_str(&format!("  server api{} {a} check\n", i + 1));
        }
        format!(
            "# Written by rollup-devnet --ha.
global
  maxconn 1024

defaults
  timeout connect 1s
  timeout client 1h
  timeout server 1h
  timeout tunnel 1h
  timeout check 1s
  retries 3
  default-server inter 500ms fall 2 rise 2

# PostgreSQL: the primary while its check passes, else the standby (promoted by the failover).
# Sessions to a server marked down are cut, so every client reconnects to the one that is up.
frontend pg
  mode tcp
  bind {pg}
  default_backend pg

backend pg
  mode tcp
  option pgsql-check user postgres
  server primary 127.0.0.1:{p1} check on-marked-down shutdown-sessions
  server standby 127.0.0.1:{p2} check backup on-marked-down shutdown-sessions

# The API replicas: a request that meets a dead replica (refused, reset, no answer) is sent to
# another (retry-on, redispatch), so a client sees no error while one is down.
frontend api
  mode http
  bind {api}
  option http-buffer-request
  default_backend api

backend api
  mode http
  balance roundrobin
  option httpchk GET /health
  http-check expect status 200
  retry-on conn-failure empty-response response-timeout
  option redispatch 1
{apis}
listen stats
  mode http
  bind {stats}
  stats enable
  stats uri /stats
",
            pg = self.pg,
            p1 = self.pg_servers.0,
            p2 = self.pg_servers.1,
            api = self.api,
            stats = self.stats,
        )
    }
}

impl Haproxy {
    /// The `haproxy` binary (Debian installs it under /usr/sbin).
    pub fn binary() -> anyhow::Result<PathBuf> {
        ["/usr/sbin/haproxy", "/usr/bin/haproxy"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .context("HAProxy is not installed (apt-get install haproxy; scripts/test.sh does)")
    }

    /// Checks and starts HAProxy on `balance` (daemonised, its pid in `dir`).
    pub fn start(dir: &Path, balance: &Balance) -> anyhow::Result<Haproxy> {
        let bin = Self::binary()?;
        let config = dir.join("haproxy.cfg");
        std::fs::write(&config, balance.config())?;
        let out = Command::new(&bin)
            .arg("-c")
            .arg("-f")
            .arg(&config)
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "haproxy -c: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let pid_file = dir.join("haproxy.pid");
        let out = Command::new(&bin)
            .arg("-f")
            .arg(&config)
            .arg("-D")
            .arg("-p")
            .arg(&pid_file)
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "haproxy: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(Haproxy { config, pid_file })
    }

    /// HAProxy's view of a backend's servers: (name, status) from its statistics, e.g.
    /// `("api1", "UP")`.
    pub async fn servers(
        stats: SocketAddr,
        backend: &str,
    ) -> anyhow::Result<Vec<(String, String)>> {
        let text = reqwest::get(format!("http://{stats}/stats;csv"))
            .await?
            .text()
            .await?;
        Ok(text
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f.len() > 17 && f[0] == backend && f[1] != "BACKEND" && f[1] != "FRONTEND")
                    .then(|| (f[1].to_string(), f[17].to_string()))
            })
            .collect())
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        if let Ok(text) = std::fs::read_to_string(&self.pid_file) {
            let pids: Vec<i32> = text
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect();
            let _ = signal(&pids, "TERM");
        }
    }
}
