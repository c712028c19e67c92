//! `bounces fetch`: reads new messages from an IMAP mailbox over TLS
//! (implicit, or STARTTLS), hands each to a [`Handler`], and marks the
//! ones it took as processed: `\Seen` plus the keyword
//! `$NewsletterProcessed`, or moved to a folder, or deleted when configured.
//! Other mail is left exactly as it was: bodies are read with `BODY.PEEK`,
//! so not even `\Seen` changes.
//!
//! Where a run stopped is kept as the mailbox's UIDVALIDITY and the highest
//! UID handled (by the handler, in the state database), so a message is
//! read once even when it is left alone.

use crate::config::bounces::{Imap, ImapSecurity, Processed};
use async_imap::{Client, Session};
use futures_util::TryStreamExt;
use rustls::pki_types::ServerName;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// The keyword of processed messages.
pub const KEYWORD: &str = "$NewsletterProcessed";

/// What to do with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A bounce or complaint of ours: mark it processed as configured.
    Processed,
    /// Not ours, not a bounce, or unreadable: leave it as it is.
    LeaveAlone,
}

/// The caller's side of a fetch.
pub trait Handler {
    /// Where the last run stopped: (UIDVALIDITY, last UID handled).
    fn mark(&mut self) -> anyhow::Result<Option<(u32, u32)>>;
    /// One message; `Err(words)` when it could not be fetched whole (too big).
    fn message(&mut self, uid: u32, raw: Result<&[u8], String>) -> anyhow::Result<Decision>;
    /// The message `uid` is done with (and marked as decided).
    fn done(&mut self, uidvalidity: u32, uid: u32) -> anyhow::Result<()>;
}

/// Why a fetch stopped.
#[derive(Debug)]
pub enum FetchError {
    /// No connection, TLS or the server misbehaved: try again later.
    Connection(String),
    /// The server refused the username and password.
    Login(String),
    /// The mailbox or the move folder cannot be used.
    Mailbox(String),
    /// The handler failed (the state database): stop, re-run later.
    Handler(anyhow::Error),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Connection(m) | FetchError::Login(m) | FetchError::Mailbox(m) => f.write_str(m),
            FetchError::Handler(e) => write!(f, "{e:#}"),
        }
    }
}

impl std::error::Error for FetchError {}

/// How one run went.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub new_messages: usize,
    pub processed: usize,
    pub left_alone: usize,
}

type Tls = TlsStream<TcpStream>;

/// Connection settings resolved at the edge: the password and extra roots.
pub struct Connect<'a> {
    pub imap: &'a Imap,
    pub password: String,
    pub extra_roots_pem: Vec<Vec<u8>>,
    /// The largest message fetched; bigger ones are reported and left alone.
    pub max_message: u32,
}

/// Runs one fetch: connect, log in, read the new messages, mark them.
pub async fn fetch(c: &Connect<'_>, handler: &mut dyn Handler) -> Result<Fetched, FetchError> {
    let imap = c.imap;
    let limit = Duration::from_secs(imap.timeout_secs);
    let mut session = timed(limit, login(c)).await??;
    // Each command has its own time limit: a big mailbox may take long in all.
    let result = run(c, &mut session, handler).await;
    // A polite goodbye; errors here change nothing.
    let _ = tokio::time::timeout(limit, session.logout()).await;
    result
}

async fn timed<F: std::future::Future>(limit: Duration, f: F) -> Result<F::Output, FetchError> {
    tokio::time::timeout(limit, f)
        .await
        .map_err(|_| FetchError::Connection(format!("the IMAP server did not answer within {limit:?}")))
}

fn conn_err(what: &str) -> impl Fn(async_imap::error::Error) -> FetchError + '_ {
    move |e| FetchError::Connection(format!("IMAP {what}: {e}"))
}

async fn login(c: &Connect<'_>) -> Result<Session<Tls>, FetchError> {
    let imap = c.imap;
    let addr = format!("{}:{}", imap.host, imap.port);
    let tcp = TcpStream::connect(&addr)
        .await
        .map_err(|e| FetchError::Connection(format!("cannot connect to {addr}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    let tcp = match imap.security {
        ImapSecurity::Tls => tcp,
        ImapSecurity::StartTls => {
            let mut client = Client::new(tcp);
            greeting(&mut client).await?;
            client
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|e| FetchError::Connection(format!("STARTTLS refused by {addr}: {e}")))?;
            client.into_inner()
        }
    };
    let tls = handshake(c, tcp).await?;
    let mut client = Client::new(tls);
    if imap.security == ImapSecurity::Tls {
        greeting(&mut client).await?;
    }
    client
        .login(&imap.username, &c.password)
        .await
        .map_err(|(e, _)| FetchError::Login(format!("IMAP login as {} refused: {e}", imap.username)))
}

async fn greeting<T>(client: &mut Client<T>) -> Result<(), FetchError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    match client.read_response().await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(FetchError::Connection("the IMAP server closed the connection".into())),
        Err(e) => Err(FetchError::Connection(format!("IMAP greeting: {e}"))),
    }
}

async fn handshake(c: &Connect<'_>, tcp: TcpStream) -> Result<Tls, FetchError> {
    let tls_err = |m: String| FetchError::Connection(format!("TLS with {}: {m}", c.imap.host));
    let config = crate::transport::smtp::tls::client_config(&c.extra_roots_pem).map_err(tls_err)?;
    let name = ServerName::try_from(c.imap.host.clone()).map_err(|e| tls_err(e.to_string()))?;
    tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| tls_err(e.to_string()))
}

async fn run(c: &Connect<'_>, s: &mut Session<Tls>, handler: &mut dyn Handler) -> Result<Fetched, FetchError> {
    let imap = c.imap;
    let limit = Duration::from_secs(imap.timeout_secs);
    if let Processed::Move(folder) = &imap.processed {
        // Already there is fine; a folder that cannot be used shows at MOVE.
        let _ = timed(limit, s.create(folder)).await?;
    }
    let mailbox = timed(limit, s.select(&imap.mailbox))
        .await?
        .map_err(|e| FetchError::Mailbox(format!("cannot open the mailbox \"{}\": {e}", imap.mailbox)))?;
    let validity = mailbox.uid_validity.unwrap_or(0);
    let after = match handler.mark().map_err(FetchError::Handler)? {
        Some((v, last)) if v == validity => last,
        _ => 0,
    };
    let caps = timed(limit, s.capabilities()).await?.map_err(conn_err("CAPABILITY"))?;
    let (can_move, uidplus) = (caps.has_str("MOVE"), caps.has_str("UIDPLUS"));
    let query = format!("UID {}:* NOT KEYWORD {KEYWORD} NOT DELETED", after.saturating_add(1));
    let mut uids: Vec<u32> = timed(limit, s.uid_search(&query))
        .await?
        .map_err(conn_err("SEARCH"))?
        .into_iter()
        .filter(|u| *u > after)
        .collect();
    uids.sort_unstable();
    let mut out = Fetched {
        new_messages: uids.len(),
        ..Fetched::default()
    };
    for uid in uids {
        let raw = timed(limit, fetch_one(s, uid, c.max_message)).await??;
        let decision = handler
            .message(uid, raw.as_deref().map_err(Clone::clone))
            .map_err(FetchError::Handler)?;
        match decision {
            Decision::Processed => {
                timed(limit, mark_processed(s, uid, &imap.processed, can_move, uidplus)).await??;
                out.processed += 1;
            }
            Decision::LeaveAlone => out.left_alone += 1,
        }
        handler.done(validity, uid).map_err(FetchError::Handler)?;
    }
    Ok(out)
}

/// The whole message, or why not (too large: only its size is fetched).
async fn fetch_one(s: &mut Session<Tls>, uid: u32, max: u32) -> Result<Result<Vec<u8>, String>, FetchError> {
    let sizes: Vec<_> = s
        .uid_fetch(uid.to_string(), "(UID RFC822.SIZE)")
        .await
        .map_err(conn_err("FETCH"))?
        .try_collect()
        .await
        .map_err(conn_err("FETCH"))?;
    let size = sizes.iter().find(|f| f.uid == Some(uid)).and_then(|f| f.size);
    if size.is_some_and(|n| n > max) {
        return Ok(Err(format!(
            "message larger than {} MiB ({} bytes); left in the mailbox",
            max >> 20,
            size.unwrap_or(0)
        )));
    }
    let bodies: Vec<_> = s
        .uid_fetch(uid.to_string(), "(UID BODY.PEEK[])")
        .await
        .map_err(conn_err("FETCH"))?
        .try_collect()
        .await
        .map_err(conn_err("FETCH"))?;
    let body = bodies.iter().find(|f| f.uid == Some(uid)).and_then(|f| f.body());
    Ok(body
        .map(<[u8]>::to_vec)
        .ok_or_else(|| "the server sent no body for this message".to_string()))
}

async fn mark_processed(
    s: &mut Session<Tls>,
    uid: u32,
    how: &Processed,
    can_move: bool,
    uidplus: bool,
) -> Result<(), FetchError> {
    let set = uid.to_string();
    let flag = format!("+FLAGS.SILENT (\\Seen {KEYWORD})");
    match how {
        Processed::Flag => store(s, &set, &flag).await,
        Processed::Move(folder) if can_move => s
            .uid_mv(&set, folder)
            .await
            .map_err(|e| FetchError::Mailbox(format!("cannot move a message to \"{folder}\": {e}"))),
        Processed::Move(folder) => {
            s.uid_copy(&set, folder)
                .await
                .map_err(|e| FetchError::Mailbox(format!("cannot copy a message to \"{folder}\": {e}")))?;
            // Without MOVE the original stays, marked, unless it can be
            // expunged alone (UIDPLUS): never EXPUNGE someone else's deletions.
            store(s, &set, &flag).await?;
            if uidplus {
                store(s, &set, "+FLAGS.SILENT (\\Deleted)").await?;
                expunge(s, &set).await?;
            }
            Ok(())
        }
        Processed::Delete => {
            store(s, &set, &flag).await?;
            store(s, &set, "+FLAGS.SILENT (\\Deleted)").await?;
            if uidplus {
                expunge(s, &set).await?;
            }
            Ok(())
        }
    }
}

async fn store(s: &mut Session<Tls>, set: &str, what: &str) -> Result<(), FetchError> {
    let _: Vec<_> = s
        .uid_store(set, what)
        .await
        .map_err(conn_err("STORE"))?
        .try_collect()
        .await
        .map_err(conn_err("STORE"))?;
    Ok(())
}

async fn expunge(s: &mut Session<Tls>, set: &str) -> Result<(), FetchError> {
    let _: Vec<_> = s
        .uid_expunge(set)
        .await
        .map_err(conn_err("EXPUNGE"))?
        .try_collect()
        .await
        .map_err(conn_err("EXPUNGE"))?;
    Ok(())
}
