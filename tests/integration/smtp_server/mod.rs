//! An in-process SMTP server for tests: mailin's state machine behind real
//! TCP sockets on 127.0.0.1, one thread per connection, with fault injection
//! (per-recipient replies, DATA failures, dropped connections, AUTH, a
//! refused sender, kill). It announces PIPELINING (RFC 2920) unless told
//! not to, and notes whether each MAIL came with its RCPT and DATA, so
//! tests can see groups.

#![allow(dead_code)]

mod session;

use mailin::Response;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// `times` for a rule that never runs out.
pub const ALWAYS: usize = usize::MAX;

/// One accepted message. `data` is the message exactly as the client meant
/// it: dot-unstuffed, without the CRLF that belongs to the final `.` line.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

struct Rule {
    addr: String,
    code: u16,
    text: String,
    remaining: usize,
}

impl Rule {
    /// Uses the rule up once if it matches `addr` (`*` matches every address).
    fn fire(rules: &mut [Rule], addr: &str) -> Option<Response> {
        let r = rules
            .iter_mut()
            .find(|r| r.remaining > 0 && (r.addr == "*" || r.addr.eq_ignore_ascii_case(addr)))?;
        if r.remaining != ALWAYS {
            r.remaining -= 1;
        }
        Some(Response::custom(r.code, r.text.clone()))
    }
}

#[derive(Default)]
struct State {
    messages: Vec<Received>,
    connections: usize,
    rcpt_rules: Vec<Rule>,
    data_rules: Vec<Rule>,
    /// Recipients whose message is stored but never acknowledged.
    vanish_rules: Vec<Rule>,
    /// MAIL commands received, and those whose DATA had arrived with them.
    mails: usize,
    grouped_mails: usize,
    /// The answer to every MAIL FROM, when the sender is refused.
    mail_reply: Option<(u16, String)>,
    /// MAIL FROM commands seen.
    mail_commands: usize,
}

#[derive(Clone)]
enum Auth {
    Off,
    Require { user: String, password: String },
    RefuseAll,
}

#[derive(Clone)]
enum ServerTls {
    Off,
    StartTls(Arc<rustls::ServerConfig>),
    Implicit(Arc<rustls::ServerConfig>),
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    stopping: AtomicBool,
    sockets: Mutex<Vec<TcpStream>>,
    auth: Auth,
    tls: ServerTls,
    drop_after: Option<usize>,
    /// Announce PIPELINING in the EHLO reply.
    pipelining: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Configures faults before [`start`](Self::start).
pub struct SmtpServerBuilder {
    state: State,
    auth: Auth,
    tls: ServerTls,
    drop_after: Option<usize>,
    pipelining: bool,
}

fn parse_reply(reply: &str) -> (u16, String) {
    let (code, text) = reply.split_once(' ').unwrap_or((reply, ""));
    (
        code.parse().expect("reply starts with a 3-digit code"),
        text.to_string(),
    )
}

impl SmtpServerBuilder {
    /// Answer RCPT TO:<addr> with `reply` (e.g. `"450 4.2.0 try later"`) the next `times` times.
    pub fn fail_rcpt(mut self, addr: &str, reply: &str, times: usize) -> Self {
        let (code, text) = parse_reply(reply);
        let addr = addr.to_string();
        self.state.rcpt_rules.push(Rule {
            addr,
            code,
            text,
            remaining: times,
        });
        self
    }

    /// Answer the end of DATA with `reply` when `addr` is among the recipients.
    pub fn fail_data(mut self, addr: &str, reply: &str, times: usize) -> Self {
        let (code, text) = parse_reply(reply);
        let addr = addr.to_string();
        self.state.data_rules.push(Rule {
            addr,
            code,
            text,
            remaining: times,
        });
        self
    }

    /// Store the message for `addr`, then close the connection instead of
    /// replying to the final dot: the client cannot know it arrived.
    pub fn drop_before_data_reply(mut self, addr: &str, times: usize) -> Self {
        let addr = addr.to_string();
        let text = String::new();
        self.state.vanish_rules.push(Rule {
            addr,
            code: 250,
            text,
            remaining: times,
        });
        self
    }

    /// Close each connection right after it accepted `n` messages.
    pub fn drop_after(mut self, n: usize) -> Self {
        self.drop_after = Some(n);
        self
    }

    /// Do not announce PIPELINING (it is announced by default): clients
    /// send one command at a time.
    pub fn no_pipelining(mut self) -> Self {
        self.pipelining = false;
        self
    }

    /// Answer every MAIL FROM with `reply` (e.g. `"530 5.7.0 Authentication required"`).
    pub fn refuse_mail_from(mut self, reply: &str) -> Self {
        self.state.mail_reply = Some(parse_reply(reply));
        self
    }

    /// Advertise AUTH PLAIN LOGIN and require these credentials.
    pub fn auth(mut self, user: &str, password: &str) -> Self {
        self.auth = Auth::Require {
            user: user.into(),
            password: password.into(),
        };
        self
    }

    /// Advertise AUTH PLAIN LOGIN and refuse every attempt with 535 5.7.8.
    pub fn refuse_auth(mut self) -> Self {
        self.auth = Auth::RefuseAll;
        self
    }

    /// Offer STARTTLS with this certificate chain and key (PEM).
    pub fn starttls(mut self, cert_pem: &str, key_pem: &str) -> Self {
        self.tls = ServerTls::StartTls(server_config(cert_pem, key_pem));
        self
    }

    /// Speak TLS from the first byte (port-465 style).
    pub fn implicit_tls(mut self, cert_pem: &str, key_pem: &str) -> Self {
        self.tls = ServerTls::Implicit(server_config(cert_pem, key_pem));
        self
    }

    pub fn start(self) -> SmtpServer {
        let shared = Arc::new(Shared {
            state: Mutex::new(self.state),
            changed: Condvar::new(),
            stopping: AtomicBool::new(false),
            sockets: Mutex::new(Vec::new()),
            auth: self.auth,
            tls: self.tls,
            drop_after: self.drop_after,
            pipelining: self.pipelining,
        });
        let mut server = SmtpServer {
            shared,
            port: 0,
            acceptor: None,
        };
        server.listen(0);
        server
    }
}

fn server_config(cert_pem: &str, key_pem: &str) -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("certificate PEM");
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("key PEM");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server certificate");
    Arc::new(config)
}

/// A running server; stops (closing every socket) when dropped.
pub struct SmtpServer {
    shared: Arc<Shared>,
    port: u16,
    acceptor: Option<JoinHandle<()>>,
}

impl SmtpServer {
    /// A server that accepts everything.
    pub fn start() -> SmtpServer {
        Self::builder().start()
    }

    pub fn builder() -> SmtpServerBuilder {
        SmtpServerBuilder {
            state: State::default(),
            auth: Auth::Off,
            tls: ServerTls::Off,
            drop_after: None,
            pipelining: true,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn messages(&self) -> Vec<Received> {
        self.shared.lock().messages.clone()
    }

    pub fn message_count(&self) -> usize {
        self.shared.lock().messages.len()
    }

    /// (MAIL commands whose RCPT and DATA arrived with them, all MAIL commands).
    pub fn grouped_mails(&self) -> (usize, usize) {
        let state = self.shared.lock();
        (state.grouped_mails, state.mails)
    }

    /// MAIL FROM commands received so far.
    pub fn mail_commands(&self) -> usize {
        self.shared.lock().mail_commands
    }

    /// Connections accepted so far (across restarts).
    pub fn connections(&self) -> usize {
        self.shared.lock().connections
    }

    /// Waits until at least `n` messages arrived; false on timeout.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        while state.messages.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// Stops accepting and closes every open connection, like a crashed server.
    pub fn stop(&mut self) {
        let Some(acceptor) = self.acceptor.take() else {
            return;
        };
        self.shared.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wakes accept()
        let _ = acceptor.join();
        for s in self.shared.sockets.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Starts again on the same port after [`stop`](Self::stop); recorded messages are kept.
    pub fn restart(&mut self) {
        self.stop();
        self.shared.stopping.store(false, Ordering::SeqCst);
        self.listen(self.port);
    }

    fn listen(&mut self, port: u16) {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind 127.0.0.1");
        self.port = listener.local_addr().expect("local addr").port();
        let shared = Arc::clone(&self.shared);
        self.acceptor = Some(std::thread::spawn(move || {
            for stream in listener.incoming() {
                if shared.stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                if let Ok(clone) = stream.try_clone() {
                    shared.sockets.lock().unwrap_or_else(|e| e.into_inner()).push(clone);
                }
                shared.lock().connections += 1;
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let _ = session::serve(stream, &shared);
                });
            }
        }));
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}
