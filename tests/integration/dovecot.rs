//! A private Dovecot IMAP server for tests: Debian's `dovecot-imapd` run in
//! the foreground from a temp folder (`dovecot -F -c DIR/dovecot.conf`) on
//! loopback ports, with a throw-away passwd-file user and a certificate
//! made for the run; stopped by its PID when dropped. Tests put messages in
//! with IMAP APPEND and read flags and folders back over IMAP.
//!
//! Without dovecot (or without root, which it needs to switch users) the
//! tests print a note and skip, unless `NEWSLETTER_REQUIRE_DOVECOT` or
//! `NEWSLETTER_REQUIRE_CORPUS` is set (CI): then that is a failure.

use async_imap::Session;
use futures_util::TryStreamExt;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

pub const USER: &str = "bounces";
pub const PASSWORD: &str = "throw-away-imap-secret";

pub struct Dovecot {
    dir: tempfile::TempDir,
    child: Child,
    /// Plain IMAP (for STARTTLS).
    pub imap_port: u16,
    /// Implicit TLS.
    pub imaps_port: u16,
    cert_pem: String,
}

/// One message as the server has it.
#[derive(Debug, Clone)]
pub struct Stored {
    pub uid: u32,
    pub flags: Vec<String>,
    pub body: Vec<u8>,
}

fn binary() -> Option<PathBuf> {
    let candidates = ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"];
    candidates.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// Two free loopback ports (both held until both are known, so they differ).
fn free_ports() -> (u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let b = TcpListener::bind("127.0.0.1:0").unwrap();
    (a.local_addr().unwrap().port(), b.local_addr().unwrap().port())
}

fn required() -> bool {
    ["NEWSLETTER_REQUIRE_DOVECOT", "NEWSLETTER_REQUIRE_CORPUS"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
}

impl Dovecot {
    /// Starts a server, or None (with a note) when dovecot cannot run here.
    pub fn start() -> Option<Dovecot> {
        let skip = |why: &str| {
            if required() {
                panic!("{why} (NEWSLETTER_REQUIRE_DOVECOT/NEWSLETTER_REQUIRE_CORPUS is set; .ci/setup.sh installs it)");
            }
            eprintln!("note: {why}; skipping the IMAP test");
            None
        };
        let Some(bin) = binary() else {
            return skip("dovecot is not installed (apt-get install dovecot-imapd)");
        };
        // Dovecot switches to its own users, which needs root.
        if !is_root() {
            return skip("dovecot needs root to switch users");
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        set_mode(d, 0o755);
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
        let cert_pem = ck.cert.pem();
        std::fs::write(d.join("cert.pem"), &cert_pem).unwrap();
        std::fs::write(d.join("key.pem"), ck.signing_key.serialize_pem()).unwrap();
        for sub in ["run", "state", "mail/bounces"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        std::os::unix::fs::chown(d.join("mail"), Some(65534), Some(65534)).unwrap();
        std::os::unix::fs::chown(d.join("mail/bounces"), Some(65534), Some(65534)).unwrap();
        let (imap_port, imaps_port) = free_ports();
        std::fs::write(
            d.join("passwd"),
            format!("{USER}:{{PLAIN}}{PASSWORD}:65534:65534::{}/mail/bounces\n", d.display()),
        )
        .unwrap();
        std::fs::write(d.join("dovecot.conf"), config(d, imap_port, imaps_port)).unwrap();
        let child = Command::new(bin)
            .args(["-F", "-c"])
            .arg(d.join("dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dovecot");
        let server = Dovecot {
            dir,
            child,
            imap_port,
            imaps_port,
            cert_pem,
        };
        server.wait_ready();
        Some(server)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let up = [self.imap_port, self.imaps_port]
                .iter()
                .all(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok());
            if up {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default();
        panic!("dovecot did not start listening within 20 s; its log:\n{log}");
    }

    /// The certificate clients must trust.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    fn block_on<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    async fn session(&self) -> Session<TlsStream<TcpStream>> {
        let mut roots = rustls::RootCertStore::empty();
        let der = rustls::pki_types::pem::PemObject::from_pem_slice(self.cert_pem.as_bytes()).unwrap();
        roots.add(der).unwrap();
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let tcp = TcpStream::connect(("127.0.0.1", self.imaps_port)).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .unwrap();
        let mut client = async_imap::Client::new(tls);
        client.read_response().await.unwrap().unwrap();
        client.login(USER, PASSWORD).await.map_err(|(e, _)| e).unwrap()
    }

    /// Puts a message into `folder` (created if needed) with `flags` (e.g. `(\Flagged)`).
    pub fn append(&self, folder: &str, raw: &[u8], flags: Option<&str>) {
        self.block_on(async {
            let mut s = self.session().await;
            let _ = s.create(folder).await;
            s.append(folder, flags, None, raw).await.unwrap();
            let _ = s.logout().await;
        });
    }

    /// Every message in `folder`, by UID, with its flags; empty when the folder does not exist.
    pub fn messages(&self, folder: &str) -> Vec<Stored> {
        self.block_on(async {
            let mut s = self.session().await;
            if s.examine(folder).await.is_err() {
                return Vec::new();
            }
            let fetched: Vec<_> = s
                .fetch("1:*", "(UID FLAGS BODY.PEEK[])")
                .await
                .unwrap()
                .try_collect()
                .await
                .unwrap_or_default();
            let mut out: Vec<Stored> = fetched
                .iter()
                .map(|f| Stored {
                    uid: f.uid.unwrap_or(0),
                    // \Recent only says which session saw the message first.
                    flags: f
                        .flags()
                        .map(|fl| format!("{fl:?}"))
                        .filter(|fl| fl != "Recent")
                        .collect(),
                    body: f.body().unwrap_or_default().to_vec(),
                })
                .collect();
            out.sort_by_key(|m| m.uid);
            let _ = s.logout().await;
            out
        })
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn config(d: &Path, imap: u16, imaps: u16) -> String {
    let d = d.display();
    format!(
        "base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
listen = 127.0.0.1
protocols = imap
default_login_user = dovenull
default_internal_user = dovecot
ssl = required
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
auth_mechanisms = plain
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = {d}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = {imaps}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"
    )
}
