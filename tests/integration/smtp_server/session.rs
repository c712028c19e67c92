//! One connection of the test SMTP server: socket I/O around mailin's
//! session, STARTTLS upgrade, and the recording/fault-injecting handler.

use super::{Auth, Received, Rule, ServerTls, Shared};
use mailin::{Action, AuthMechanism, Handler, Response, SessionBuilder};
use std::cell::{Cell, RefCell};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::rc::Rc;
use std::sync::Arc;

/// Plain or TLS socket.
enum Conn {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Conn {
    fn tls(config: &Arc<rustls::ServerConfig>, tcp: TcpStream) -> std::io::Result<Conn> {
        let session = rustls::ServerConnection::new(Arc::clone(config)).map_err(std::io::Error::other)?;
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

pub(super) fn serve(tcp: TcpStream, shared: &Arc<Shared>) -> std::io::Result<()> {
    tcp.set_nodelay(true)?;
    let peer = tcp.peer_addr()?.ip();
    let conn = match &shared.tls {
        ServerTls::Implicit(config) => Conn::tls(config, tcp)?,
        _ => Conn::Plain(tcp),
    };
    let hang_up = Rc::new(Cell::new(Hangup::No));
    let refusal = Rc::new(RefCell::new(None));
    let recorder = Recorder::new(shared, &hang_up, &refusal);
    let mut session = session_builder(shared).build(peer, recorder);
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
        if line.len() >= 10 && line[..10].eq_ignore_ascii_case(b"MAIL FROM:") {
            // A pipelining client wrote RCPT and DATA with MAIL: they are
            // already here (unless a read happened to end inside the group).
            let rest = reader.buffer();
            let grouped = rest.windows(6).any(|w| w.eq_ignore_ascii_case(b"DATA\r\n"));
            let mut state = shared.lock();
            state.mails += 1;
            state.grouped_mails += usize::from(grouped);
        }
        let res = session.process(&line);
        if hang_up.get() == Hangup::BeforeReply {
            let _ = reader.get_ref().tcp().shutdown(Shutdown::Both);
            return Ok(());
        }
        let at = out.len();
        match refusal.borrow_mut().take() {
            Some(reply) => out.extend_from_slice(&reply),
            None => res.write_to(&mut out)?,
        }
        if shared.pipelining && res.code == 250 && line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"EHLO") {
            announce_pipelining(&mut out, at);
        }
        let upgrade = res.action == Action::UpgradeTls;
        // One write per batch of input: a write per reply would wait on
        // the client's delayed ACK.
        let last =
            hang_up.get() == Hangup::AfterReply || upgrade || res.action == Action::Close || reader.buffer().is_empty();
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

/// mailin does not announce PIPELINING, though its line-by-line loop here
/// answers pipelined commands in order: add the keyword to the EHLO reply
/// (written at `out[at..]`) after its first line.
fn announce_pipelining(out: &mut Vec<u8>, at: usize) {
    let Some(end) = out[at..].windows(2).position(|w| w == b"\r\n") else {
        return;
    };
    let first = at + end + 2;
    if out[at..first].get(3) == Some(&b' ') {
        // A one-line reply: make it the first of several.
        out[at + 3] = b'-';
        out.extend_from_slice(b"250 PIPELINING\r\n");
    } else {
        out.splice(first..first, b"250-PIPELINING\r\n".iter().copied());
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
    /// A refusal of the content to send instead of mailin's reply: mailin
    /// stays in its DATA state after refusing at the final dot (and would
    /// read the next commands as message text), so it is told "250".
    refusal: Rc<RefCell<Option<Vec<u8>>>>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
    accepted: usize,
}

impl Recorder {
    fn new(shared: &Arc<Shared>, hang_up: &Rc<Cell<Hangup>>, refusal: &Rc<RefCell<Option<Vec<u8>>>>) -> Self {
        Recorder {
            shared: Arc::clone(shared),
            hang_up: Rc::clone(hang_up),
            refusal: Rc::clone(refusal),
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
            accepted: 0,
        }
    }

    fn check_auth(&self, user: &str, password: &str) -> Response {
        match &self.shared.auth {
            Auth::Require { user: u, password: p } if u == user && p == password => {
                Response::custom(235, "2.7.0 Authentication succeeded".into())
            }
            _ => Response::custom(535, "5.7.8 Authentication credentials invalid".into()),
        }
    }
}

impl Handler for Recorder {
    fn mail(&mut self, _ip: std::net::IpAddr, _domain: &str, _from: &str) -> Response {
        let mut state = self.shared.lock();
        state.mail_commands += 1;
        match &state.mail_reply {
            Some((code, text)) => Response::custom(*code, text.clone()),
            None => mailin::response::OK,
        }
    }

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
                let mut text = Vec::new();
                reply.write_to(&mut text).expect("write to a Vec");
                *self.refusal.borrow_mut() = Some(text);
                return mailin::response::OK;
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
