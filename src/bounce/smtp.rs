//! SMTP facts inside free text: RFC 3463 enhanced status codes (`5.1.1`),
//! RFC 5321 reply codes (`550`) and the command a server was answering.

/// The SMTP stage a rejection answered. Only stages that change the
/// reading are told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Connection, greeting, HELO/EHLO, STARTTLS, AUTH: before any address.
    Session,
    /// MAIL FROM: about the sender.
    Mail,
    /// RCPT TO: about this recipient.
    Rcpt,
    /// DATA or the end of data: about the message.
    Data,
}

/// Is `s` an enhanced status code (`class.subject.detail`, class 2, 4 or 5)?
pub fn is_status(s: &str) -> bool {
    let mut it = s.split('.');
    let (Some(c), Some(sub), Some(det), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return false;
    };
    let digits = |p: &str, max: usize| !p.is_empty() && p.len() <= max && p.bytes().all(|b| b.is_ascii_digit());
    matches!(c, "2" | "4" | "5") && digits(sub, 3) && digits(det, 3)
}

/// Every enhanced status code in `text`, in order. A code must stand alone:
/// not inside a version number (`v4.6.1`), an IP address or a longer
/// dotted number, and its subject is one digit 0–7 as in the registry.
pub fn find_statuses(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 5 <= b.len() {
        match status_at(b, i) {
            Some(end) => {
                out.push(text[i..end].to_string());
                i = end;
            }
            None => i += 1,
        }
    }
    out
}

/// The end of a status code starting at byte `i`, if one does.
fn status_at(b: &[u8], i: usize) -> Option<usize> {
    let ok_before = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.');
    let head = ok_before
        && matches!(b[i], b'2' | b'4' | b'5')
        && b.get(i + 1) == Some(&b'.')
        && b.get(i + 2).is_some_and(|c| (b'0'..=b'7').contains(c))
        && b.get(i + 3) == Some(&b'.');
    if !head {
        return None;
    }
    let mut j = i + 4;
    while j < b.len() && j < i + 7 && b[j].is_ascii_digit() {
        j += 1;
    }
    let after_ok = j == b.len()
        || !(b[j].is_ascii_alphanumeric() || (b[j] == b'.' && b.get(j + 1).is_some_and(|c| c.is_ascii_digit())));
    (j > i + 4 && after_ok).then_some(j)
}

/// Is the code only a class (`5.0.0`, `4.0.0`): no information beyond it?
pub fn is_generic(status: &str) -> bool {
    status.ends_with(".0.0")
}

/// Does the code say what went wrong? Not a bare class or subject
/// (`5.0.0`, `5.1.0`), and not `x.4.7` ("delivery time expired"), which
/// relays put around the last real error when they give up.
fn is_informative(status: &str) -> bool {
    !status.ends_with(".0") && !status.ends_with(".4.7")
}

/// Failure codes first: a transcript quotes the `2.x.x` replies that went
/// well before the one that did not.
fn failures_first(codes: Vec<String>) -> Vec<String> {
    let (fail, ok): (Vec<String>, Vec<String>) = codes.into_iter().partition(|c| !c.starts_with('2'));
    if fail.is_empty() {
        ok
    } else {
        fail
    }
}

/// Picks the enhanced status for a recipient from the DSN `Status:` field
/// (if any) and the codes quoted in the diagnostic (the remote server's own
/// words). An informative quoted code of the same class wins over the field:
/// relays summarise (`5.1.1` for anything at RCPT, `4.4.7` on giving up),
/// the remote server says what it meant (`550 5.7.1 … blacklisted`).
pub fn pick_status(field: Option<&str>, diagnostic: &str, reply: Option<u16>) -> Option<String> {
    let field = field.map(str::trim).filter(|s| is_status(s));
    let quoted = failures_first(find_statuses(diagnostic));
    let class = field
        .map(|f| f.as_bytes()[0])
        .or_else(|| reply.map(|r| b'0' + (r / 100) as u8));
    let same_class = |s: &&String| class.is_none_or(|c| s.as_bytes()[0] == c);
    let informative = quoted.iter().filter(same_class).find(|s| is_informative(s)).cloned();
    let specific = quoted.iter().filter(same_class).find(|s| !is_generic(s)).cloned();
    match field {
        Some(f) if is_generic(f) => Some(informative.or(specific).unwrap_or_else(|| f.to_string())),
        Some(f) => Some(informative.unwrap_or_else(|| f.to_string())),
        None => informative.or(specific).or_else(|| quoted.into_iter().next()),
    }
}

/// The reply code written just before `status` in `text` (`550 5.1.1`,
/// `550-5.7.1`, `#550 5.1.1`), when there is one.
pub fn reply_before(text: &str, status: &str) -> Option<u16> {
    text.match_indices(status).find_map(|(at, _)| {
        let before = text[..at].strip_suffix([' ', '-'])?;
        let start = before.len().checked_sub(3)?;
        let code = before.get(start..)?;
        let lead = before[..start].chars().next_back();
        let stands_alone = !lead.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.');
        let digits = code.bytes().all(|b| b.is_ascii_digit()) && matches!(code.as_bytes()[0], b'2' | b'4' | b'5');
        if stands_alone && digits {
            code.parse().ok()
        } else {
            None
        }
    })
}

/// The SMTP reply code in `text`: a three-digit number 2xx/4xx/5xx that
/// stands alone. One followed by an enhanced status code (`550 5.1.1`,
/// `550-5.7.1`) or opening a line is preferred over one in running text.
pub fn find_reply_code(text: &str) -> Option<u16> {
    let b = text.as_bytes();
    let mut best: Option<(u8, u16)> = None;
    for i in 0..b.len().saturating_sub(2) {
        let digits = b[i..i + 3].iter().all(u8::is_ascii_digit);
        if !digits || !matches!(b[i], b'2' | b'4' | b'5') || b[i + 1] > b'5' {
            continue;
        }
        let before = if i == 0 { b' ' } else { b[i - 1] };
        let after = b.get(i + 3).copied().unwrap_or(b' ');
        if !matches!(
            before,
            b' ' | b'\t' | b'\n' | b'#' | b'(' | b'<' | b'"' | b'\'' | b':' | b';' | b'['
        ) || !matches!(
            after,
            b' ' | b'\t' | b'\r' | b'\n' | b'-' | b':' | b',' | b')' | b'\'' | b'"'
        ) {
            continue;
        }
        let code: u16 = text[i..i + 3].parse().ok()?;
        // `after` is ASCII, so i + 4 is a character boundary.
        let rest = text.get(i + 4..).unwrap_or("");
        let score = if after != b':' && starts_with_status(rest) {
            3
        } else if i == 0 || matches!(before, b'\n' | b':' | b'#' | b'(' | b'\'' | b'"' | b';') {
            2
        } else {
            1
        };
        // A 2xx is only a reply that went well, quoted in a transcript.
        let score = if code < 400 { 0 } else { score };
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, code));
        }
    }
    best.map(|(_, c)| c)
}

fn starts_with_status(s: &str) -> bool {
    let end = s.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
    is_status(s[..end].trim_end_matches('.'))
}

/// The SMTP stage named in `text`, e.g. "after RCPT TO", "(in reply to
/// end of DATA command)", ">>> MAIL From:", "SMTP:RCPT host". The last one
/// named wins: transcripts list the commands in order.
pub fn find_command(text: &str) -> Option<Command> {
    const PHRASES: &[(&str, Command)] = &[
        ("rcpt to", Command::Rcpt),
        ("rcpt_to", Command::Rcpt),
        ("rcpt command", Command::Rcpt),
        ("does not like recipient", Command::Rcpt),
        ("did not like our rcpt", Command::Rcpt),
        ("mail from", Command::Mail),
        ("mail_from", Command::Mail),
        ("sender was rejected", Command::Mail),
        ("end of data", Command::Data),
        ("after data", Command::Data),
        (">>> data", Command::Data),
        ("final data", Command::Data),
        ("data command", Command::Data),
        ("failed after i sent the message", Command::Data),
        ("for text command", Command::Data),
        ("initial connection", Command::Session),
        ("greeting", Command::Session),
        ("starttls command", Command::Session),
    ];
    // ASCII lower-casing keeps byte offsets, so positions compare.
    let lower = text.to_ascii_lowercase();
    let by_phrase = PHRASES.iter().filter_map(|(p, c)| lower.rfind(p).map(|at| (at, *c)));
    by_phrase
        .chain(command_words(text))
        .max_by_key(|(at, _)| *at)
        .map(|(_, c)| c)
}

/// Commands written as upper-case words (`RCPT`, `DATA`, `MAIL FROM`,
/// `HELO`, `EHLO`, `STARTTLS`), with their byte offsets.
fn command_words(text: &str) -> Vec<(usize, Command)> {
    let mut words: Vec<(usize, &str)> = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        match (c.is_ascii_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                words.push((s, &text[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (n, &(at, w)) in words.iter().enumerate() {
        let next_is_from = words.get(n + 1).is_some_and(|(_, w)| w.eq_ignore_ascii_case("from"));
        let cmd = match w {
            "RCPT" => Command::Rcpt,
            "DATA" => Command::Data,
            "MAIL" if next_is_from => Command::Mail,
            "HELO" | "EHLO" | "STARTTLS" => Command::Session,
            _ => continue,
        };
        out.push((at, cmd));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_stand_alone() {
        assert_eq!(find_statuses("550 5.1.1 <a@b.c>... User Unknown"), ["5.1.1"]);
        assert_eq!(find_statuses("550-5.7.1 x (#5.7.1)."), ["5.7.1", "5.7.1"]);
        assert_eq!(find_statuses("5.7.509 Access denied"), ["5.7.509"]);
        assert!(find_statuses("Lotus SMTP MTA v4.6.1 at 192.0.2.4.5.6").is_empty());
        assert!(find_statuses("volume - 4.16.55.1; see").is_empty());
        assert!(find_statuses("Version 4.0.994.63").is_empty());
        assert!(find_statuses("10.5.2.1 and 5.9.1").is_empty());
    }

    #[test]
    fn status_choice() {
        assert_eq!(
            pick_status(Some("5.1.1"), "550 5.7.1 blacklisted", Some(550)).as_deref(),
            Some("5.7.1")
        );
        assert_eq!(
            pick_status(Some("5.1.1"), "550 5.1.0 x", Some(550)).as_deref(),
            Some("5.1.1")
        );
        assert_eq!(
            pick_status(Some("4.4.7"), "expired <421 4.4.2 timed out>", None).as_deref(),
            Some("4.4.2")
        );
        assert_eq!(
            pick_status(None, "250 2.1.5 Ok 451 4.3.0 Error", None).as_deref(),
            Some("4.3.0")
        );
        assert_eq!(
            pick_status(Some("5.0.0"), "550 5.7.1 blocked", Some(550)).as_deref(),
            Some("5.7.1")
        );
        assert_eq!(
            pick_status(Some("5.0.0"), "no code here", None).as_deref(),
            Some("5.0.0")
        );
        assert_eq!(
            pick_status(None, "550 4.2.2 odd 5.2.2 ok", Some(550)).as_deref(),
            Some("5.2.2")
        );
        assert_eq!(pick_status(None, "nothing", Some(550)), None);
        assert_eq!(
            pick_status(Some("garbage"), "x 4.4.7 y", None).as_deref(),
            Some("4.4.7")
        );
    }

    #[test]
    fn reply_next_to_a_status() {
        assert_eq!(
            reply_before("554 4.4.7 expired <421 4.4.2 timed out>", "4.4.2"),
            Some(421)
        );
        assert_eq!(reply_before("x 550-5.7.1 y", "5.7.1"), Some(550));
        assert_eq!(reply_before("id 1550 5.7.1", "5.7.1"), None);
        assert_eq!(reply_before("5.7.1", "5.7.1"), None);
    }

    #[test]
    fn reply_codes() {
        assert_eq!(find_reply_code("Out: 250 2.0.0 Ok\n Out: 451 4.3.0 Error"), Some(451));
        assert_eq!(find_reply_code("host mx [192.0.2.1]: 550 5.1.1 <a@b>"), Some(550));
        assert_eq!(find_reply_code("said: 450\n    4.1.1 <a@b>"), Some(450));
        assert_eq!(find_reply_code("SIZE=1024: 554 5.7.1 Reverse DNS failed."), Some(554));
        assert_eq!(find_reply_code("retries for 2014 days at 08:30:40"), None);
        assert_eq!(find_reply_code("550-192.0.2.222 blocked\n550 Error"), Some(550));
        assert_eq!(find_reply_code("Mail rejete. ofr_506 [506]"), None);
    }

    #[test]
    fn commands() {
        assert_eq!(
            find_command("smtp error from remote mail server after rcpt to:<a@b>:"),
            Some(Command::Rcpt)
        );
        assert_eq!(find_command("(in reply to end of data command)"), Some(Command::Data));
        assert_eq!(find_command(">>> MAIL From:<a@b>\n<<< 550 no"), Some(Command::Mail));
        assert_eq!(find_command("SMTP:RCPT host 192.0.2.1: 553"), Some(Command::Rcpt));
        assert_eq!(find_command("RCPT ok then >>> DATA"), Some(Command::Data));
        assert_eq!(find_command("metadata is not DATABASE"), None);
        assert_eq!(find_command("user unknown"), None);
    }
}
