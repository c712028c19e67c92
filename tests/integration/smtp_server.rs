//! An in-process SMTP server for tests: mailin's state machine behind real
//! TCP sockets on 127.0.0.1, one thread per connection, with fault injection
//! (per-recipient replies, DATA failures, dropped connections, AUTH, kill).

#![allow(dead_code)]

use mailin::{Action, AuthMechanism, Handler, Response, SessionBuilder};
use std::cell::Cell;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::rc::Rc;
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
    /// Uses the rule up once if it matches `addr`.
    fn fire(rules: &mut [Rule], addr: &str) -> Option<Response> {
        let r = rules
            .iter_mut()
            .find(|r| r.remaining > 0 && r.addr.eq_ignore_ascii_case(addr))?;
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
        for s in self
            .shared
            .sockets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
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
                    shared
                        .sockets
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(clone);
                }
                shared.lock().connections += 1;
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let _ = serve(stream, &shared);
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

/// Plain or TLS socket.
enum Conn {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Conn {
    fn tls(config: &Arc<rustls::ServerConfig>, tcp: TcpStream) -> std::io::Result<Conn> {
        let session =
            rustls::ServerConnection::new(Arc::clone(config)).map_err(std::io::Error::other)?;
        Ok(Conn::Tls(Box::new(rustls::StreamOwned::new(session, tcp))))
    }
}

impl Conn {
    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => s.get_ref(),
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

fn serve(tcp: TcpStream, shared: &Arc<Shared>) -> std::io::Result<()> {
    tcp.set_nodelay(true)?;
    let peer = tcp.peer_addr()?.ip();
    let conn = match &shared.tls {
        ServerTls::Implicit(config) => Conn::tls(config, tcp)?,
        _ => Conn::Plain(tcp),
    };
    let hang_up = Rc::new(Cell::new(Hangup::No));
    let mut session = session_builder(shared).build(peer, Recorder::new(shared, &hang_up));
    let mut reader = BufReader::new(conn);
    let mut out = Vec::new();
    session.greeting().write_to(&mut out)?;
    reader.get_mut().write_all(&out)?;
    out.clear();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let res = session.process(&line);
        if hang_up.get() == Hangup::BeforeReply {
            let _ = reader.get_ref().tcp().shutdown(Shutdown::Both);
            return Ok(());
        }
        res.write_to(&mut out)?;
        let upgrade = res.action == Action::UpgradeTls;
        // One write per batch of input: a write per reply would wait on
        // the client's delayed ACK.
        let last = hang_up.get() == Hangup::AfterReply
            || upgrade
            || res.action == Action::Close
            || reader.buffer().is_empty();
        if last && !out.is_empty() {
            reader.get_mut().write_all(&out)?;
            reader.get_mut().flush()?;
            out.clear();
        }
        if hang_up.get() == Hangup::AfterReply || res.action == Action::Close {
            let _ = reader.get_ref().tcp().shutdown(Shutdown::Both);
            return Ok(());
        }
        if upgrade {
            let ServerTls::StartTls(config) = &shared.tls else {
                return Ok(());
            };
            let Conn::Plain(tcp) = reader.into_inner() else {
                return Ok(());
            };
            reader = BufReader::new(Conn::tls(config, tcp)?);
            session.tls_active();
        }
    }
}

fn session_builder(shared: &Shared) -> SessionBuilder {
    let mut b = SessionBuilder::new("smtp-test.localhost");
    if let ServerTls::StartTls(_) = shared.tls {
        b.enable_start_tls();
    }
    if !matches!(shared.auth, Auth::Off) {
        // Loopback only, so AUTH over plain TCP is acceptable here.
        b.enable_auth(AuthMechanism::Plain)
            .enable_auth(AuthMechanism::Login)
            .insecure_enable_plaintext_auth();
    }
    b
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Hangup {
    No,
    AfterReply,
    BeforeReply,
}

/// mailin's callbacks for one connection.
struct Recorder {
    shared: Arc<Shared>,
    hang_up: Rc<Cell<Hangup>>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
    accepted: usize,
}

impl Recorder {
    fn new(shared: &Arc<Shared>, hang_up: &Rc<Cell<Hangup>>) -> Self {
        Recorder {
            shared: Arc::clone(shared),
            hang_up: Rc::clone(hang_up),
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
            accepted: 0,
        }
    }

    fn check_auth(&self, user: &str, password: &str) -> Response {
        match &self.shared.auth {
            Auth::Require {
                user: u,
                password: p,
            } if u == user && p == password => {
                Response::custom(235, "2.7.0 Authentication succeeded".into())
            }
            _ => Response::custom(535, "5.7.8 Authentication credentials invalid".into()),
        }
    }
}

impl Handler for Recorder {
    fn rcpt(&mut self, to: &str) -> Response {
        let mut state = self.shared.lock();
        Rule::fire(&mut state.rcpt_rules, to).unwrap_or(mailin::response::OK)
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.from = from.to_string();
        self.to = to.to_vec();
        self.data.clear();
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mut data = std::mem::take(&mut self.data);
        if data.ends_with(b"\r\n") {
            data.truncate(data.len() - 2);
        }
        let mut state = self.shared.lock();
        let to = std::mem::take(&mut self.to);
        for addr in &to {
            if let Some(reply) = Rule::fire(&mut state.data_rules, addr) {
                return reply;
            }
        }
        let vanish = to
            .iter()
            .any(|addr| Rule::fire(&mut state.vanish_rules, addr).is_some());
        let from = std::mem::take(&mut self.from);
        state.messages.push(Received { from, to, data });
        drop(state);
        self.shared.changed.notify_all();
        self.accepted += 1;
        if vanish {
            self.hang_up.set(Hangup::BeforeReply);
        } else if self.shared.drop_after == Some(self.accepted) {
            self.hang_up.set(Hangup::AfterReply);
        }
        Response::custom(250, "2.0.0 queued".into())
    }

    fn auth_plain(&mut self, _authz: &str, user: &str, password: &str) -> Response {
        self.check_auth(user, password)
    }

    fn auth_login(&mut self, user: &str, password: &str) -> Response {
        self.check_auth(user, password)
    }
}
