//! [`NatsServer`]: a real `nats-server` with JetStream on a free loopback port, for tests,
//! examples and benchmarks.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How a missing `nats-server` is installed: the text of the error [`NatsServer::start`] returns.
pub const INSTALL_HINT: &str = "`nats-server` was not found in PATH (or in $NATS_SERVER): \
     install it with `apt-get install -y nats-server` (Debian/Ubuntu; any version with \
     JetStream, 2.9 or newer) or from https://github.com/nats-io/nats-server/releases, \
     or set NATS_SERVER to its path";

/// How long a starting server may take to accept clients with JetStream enabled.
const READY_LIMIT: Duration = Duration::from_secs(15);

/// A `nats-server -js` child process bound to 127.0.0.1 on a free port, with its JetStream
/// store in a fresh temporary directory. Dropping it kills the server and removes the directory.
///
/// The binary is `$NATS_SERVER` if set, else `nats-server` from `PATH`; a missing binary is an
/// error whose message says how to install it ([`INSTALL_HINT`]), never a silent skip.
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = gocsp_nats::server::NatsServer::start()?;
/// let client = async_nats::connect(server.url()).await?;
/// client.publish("greeting", "hello".into()).await?;
/// # Ok(()) }
/// ```
///
/// # Go equivalent
///
/// `natsserver.RunServer(&opts)` from `github.com/nats-io/nats-server/v2/test`, with
/// `JetStream: true` and `StoreDir: t.TempDir()`.
#[derive(Debug)]
pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl NatsServer {
    /// Starts a server and waits until it accepts clients and reports JetStream enabled.
    ///
    /// # Errors
    ///
    /// The binary is missing ([`INSTALL_HINT`] in the message), or the server did not become
    /// ready (its log is quoted in the message).
    ///
    /// ```no_run
    /// let server = gocsp_nats::server::NatsServer::start().expect("a nats-server");
    /// assert!(server.url().starts_with("nats://127.0.0.1:"));
    /// ```
    pub fn start() -> io::Result<NatsServer> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "gocsp-nats-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        let mut server = NatsServer {
            child: None,
            port: 0,
            dir,
        };
        // A free port is found by binding port 0 and releasing it; another process may take it
        // before the server binds, so a failed start tries a new port.
        let mut last = None;
        for _ in 0..5 {
            server.port = free_port()?;
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("nats-server did not start")))
    }

    /// The client URL: `nats://127.0.0.1:<port>`.
    ///
    /// ```no_run
    /// let server = gocsp_nats::server::NatsServer::start().unwrap();
    /// assert_eq!(server.url(), format!("nats://127.0.0.1:{}", server.port()));
    /// ```
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The client port on 127.0.0.1.
    ///
    /// ```no_run
    /// let server = gocsp_nats::server::NatsServer::start().unwrap();
    /// assert_ne!(server.port(), 0);
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The JetStream store directory (`-sd`), kept across [`restart`](Self::restart).
    ///
    /// ```no_run
    /// let server = gocsp_nats::server::NatsServer::start().unwrap();
    /// assert!(server.store_dir().exists());
    /// ```
    pub fn store_dir(&self) -> &Path {
        &self.dir
    }

    /// Stops the server as an operator would (`SIGTERM`: it closes its clients and flushes its
    /// store), waits for it to exit and starts it again on the same port with the same store,
    /// so streams, consumers and their acknowledgements survive. Clients reconnect by
    /// themselves.
    ///
    /// # Errors
    ///
    /// The new process did not become ready.
    ///
    /// ```no_run
    /// let mut server = gocsp_nats::server::NatsServer::start().unwrap();
    /// server.restart().unwrap();
    /// ```
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        // The old listener may linger for a moment; the port is ours, so retry it.
        let started = Instant::now();
        loop {
            match self.spawn() {
                Ok(()) => return Ok(()),
                Err(e) if started.elapsed() > READY_LIMIT => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Stops the server with `SIGTERM` and waits for it to exit. [`restart`](Self::restart)
    /// starts it again.
    ///
    /// ```no_run
    /// let mut server = gocsp_nats::server::NatsServer::start().unwrap();
    /// server.stop();
    /// ```
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let term = Command::new(binary())
                .arg(format!("--signal=term={}", child.id()))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            if term.is_ok_and(|s| s.success()) {
                let deadline = Instant::now() + Duration::from_secs(10);
                while Instant::now() < deadline {
                    if let Ok(Some(_)) = child.try_wait() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn spawn(&mut self) -> io::Result<()> {
        let log = self.dir.join("server.log");
        let mut child = Command::new(binary())
            .args(["-js", "-a", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .arg("-sd")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log)?)
            .spawn()
            .map_err(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    io::Error::new(io::ErrorKind::NotFound, INSTALL_HINT)
                } else {
                    e
                }
            })?;
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait()? {
                return Err(io::Error::other(format!(
                    "nats-server exited with {status} before it was ready; its log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )));
            }
            if jetstream_ready(self.port) {
                self.child = Some(child);
                return Ok(());
            }
            if started.elapsed() > READY_LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::other(format!(
                    "nats-server was not ready after {READY_LIMIT:?}; its log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn binary() -> PathBuf {
    std::env::var_os("NATS_SERVER").map_or_else(|| PathBuf::from("nats-server"), PathBuf::from)
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// Whether a server on `port` greets clients with an `INFO` that says JetStream is on.
fn jetstream_ready(port: u16) -> bool {
    let Ok(stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).is_ok()
        && line.starts_with("INFO ")
        && line.contains("\"jetstream\":true")
}
