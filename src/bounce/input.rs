//! Reading messages at the edge: one `.eml` file, a folder of them, a
//! Maildir (`cur/` and `new/`), an mbox file (`From ` lines, `>From `
//! unescaped) or stdin (`-`: one message, or an mbox). Each message is
//! handed over with where it came from; a message that cannot be read is
//! handed over as an error, and the rest are still read.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// The largest message read, in bytes. Our own messages are tens of
/// kilobytes; a bounce returns at most one of them. Anything bigger is not
/// a bounce of ours, and reading it whole would only cost memory.
pub const MAX_MESSAGE_BYTES: usize = 25 * 1024 * 1024;

/// Where a message came from: a path and, inside an mbox, the line of its
/// `From ` separator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub path: PathBuf,
    pub line: Option<usize>,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(n) => write!(f, "{}:{n}", self.path.display()),
            None => write!(f, "{}", self.path.display()),
        }
    }
}

/// Why a path or a message could not be read.
#[derive(Debug)]
pub enum InputError {
    Io(io::Error),
    /// A device, a FIFO, a socket…
    NotRegular,
    TooLarge,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Io(e) => write!(f, "cannot read: {e}"),
            InputError::NotRegular => f.write_str("not a regular file, a folder or a Maildir"),
            InputError::TooLarge => write!(f, "message larger than {} MiB; skipped", MAX_MESSAGE_BYTES >> 20),
        }
    }
}

impl std::error::Error for InputError {}

/// Calls `each` once per message found at `path` (`-` is stdin).
pub fn read(path: &Path, each: &mut dyn FnMut(Source, Result<Vec<u8>, InputError>)) {
    if path.as_os_str() == "-" {
        let stdin = io::stdin();
        return read_stream(stdin.lock(), path, each);
    }
    let source = Source {
        path: path.to_path_buf(),
        line: None,
    };
    match std::fs::metadata(path) {
        Err(e) => each(source, Err(InputError::Io(e))),
        Ok(m) if m.is_dir() => read_dir(path, each),
        Ok(m) if m.is_file() => read_file(path, m.len(), each),
        Ok(_) => each(source, Err(InputError::NotRegular)),
    }
}

fn read_file(path: &Path, len: u64, each: &mut dyn FnMut(Source, Result<Vec<u8>, InputError>)) {
    let source = Source {
        path: path.to_path_buf(),
        line: None,
    };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => return each(source, Err(InputError::Io(e))),
    };
    let mut reader = BufReader::new(file);
    match reader.fill_buf() {
        Err(e) => each(source, Err(InputError::Io(e))),
        Ok(head) if head.starts_with(b"From ") => split_mbox(reader, path, each),
        Ok(_) if len > MAX_MESSAGE_BYTES as u64 => each(source, Err(InputError::TooLarge)),
        Ok(_) => each(source, read_capped(reader)),
    }
}

/// Stdin: an mbox when it starts with a `From ` line (Postfix's `pipe` adds
/// one with the `F` flag), else one message.
fn read_stream(reader: impl Read, path: &Path, each: &mut dyn FnMut(Source, Result<Vec<u8>, InputError>)) {
    let mut reader = BufReader::new(reader);
    let source = Source {
        path: path.to_path_buf(),
        line: None,
    };
    match reader.fill_buf() {
        Err(e) => each(source, Err(InputError::Io(e))),
        Ok(head) if head.starts_with(b"From ") => split_mbox(reader, path, each),
        Ok(_) => each(source, read_capped(reader)),
    }
}

/// Reads a whole message, refusing (without holding it) one over the limit.
fn read_capped(reader: impl Read) -> Result<Vec<u8>, InputError> {
    let mut buf = Vec::new();
    let n = reader
        .take(MAX_MESSAGE_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(InputError::Io)?;
    if n > MAX_MESSAGE_BYTES {
        return Err(InputError::TooLarge);
    }
    Ok(buf)
}

/// A Maildir (messages in `cur/` and `new/`; `tmp/` holds deliveries in
/// progress) or a folder of `.eml` files. Sorted by name, not recursive.
fn read_dir(dir: &Path, each: &mut dyn FnMut(Source, Result<Vec<u8>, InputError>)) {
    let maildir = dir.join("cur").is_dir() || dir.join("new").is_dir();
    let folders: Vec<PathBuf> = if maildir {
        vec![dir.join("cur"), dir.join("new")]
    } else {
        vec![dir.to_path_buf()]
    };
    for folder in folders.iter().filter(|f| f.is_dir()) {
        let entries = match std::fs::read_dir(folder) {
            Ok(e) => e,
            Err(e) => {
                each(
                    Source {
                        path: folder.clone(),
                        line: None,
                    },
                    Err(InputError::Io(e)),
                );
                continue;
            }
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && (maildir || is_eml(p)))
            .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
            .collect();
        files.sort();
        for f in files {
            read(&f, each);
        }
    }
}

fn is_eml(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("eml"))
}

/// Splits an mbox: a line starting `From ` at the start or after an empty
/// line begins a message; `>From ` (and `>>From `…) lose one `>` (mboxrd).
/// Memory stays bounded by [`MAX_MESSAGE_BYTES`] whatever the file holds.
pub fn split_mbox(mut reader: impl BufRead, path: &Path, each: &mut dyn FnMut(Source, Result<Vec<u8>, InputError>)) {
    let mut current: Option<(usize, Vec<u8>, bool)> = None; // (line, bytes, too large)
    let mut line = Vec::new();
    let mut number = 0usize;
    let mut previous_blank = true;
    let emit = |each: &mut dyn FnMut(Source, Result<Vec<u8>, InputError>), msg: Option<(usize, Vec<u8>, bool)>| {
        if let Some((at, mut bytes, too_large)) = msg {
            let source = Source {
                path: path.to_path_buf(),
                line: Some(at),
            };
            // The blank line before the next `From ` belongs to the mbox.
            if bytes.ends_with(b"\r\n\r\n") {
                bytes.truncate(bytes.len() - 2);
            } else if bytes.ends_with(b"\n\n") {
                bytes.pop();
            }
            each(
                source,
                if too_large {
                    Err(InputError::TooLarge)
                } else {
                    Ok(bytes)
                },
            );
        }
    };
    loop {
        line.clear();
        let (n, whole) = match read_line_capped(&mut reader, &mut line, MAX_MESSAGE_BYTES + 1) {
            Ok(r) => r,
            Err(e) => {
                emit(each, current.take());
                let source = Source {
                    path: path.to_path_buf(),
                    line: Some(number + 1),
                };
                return each(source, Err(InputError::Io(e)));
            }
        };
        if n == 0 {
            break;
        }
        number += 1;
        if previous_blank && line.starts_with(b"From ") {
            emit(each, current.take());
            current = Some((number, Vec::new(), false));
            previous_blank = false;
            continue;
        }
        previous_blank = line == b"\n" || line == b"\r\n";
        let Some((_, bytes, too_large)) = current.as_mut() else {
            continue;
        };
        let unescaped = if line.starts_with(b">") && line.iter().skip_while(|&&b| b == b'>').take(5).eq(b"From ".iter())
        {
            &line[1..]
        } else {
            &line[..]
        };
        if *too_large || !whole || bytes.len() + unescaped.len() > MAX_MESSAGE_BYTES {
            *too_large = true;
            bytes.clear();
            bytes.shrink_to_fit();
        } else {
            bytes.extend_from_slice(unescaped);
        }
    }
    emit(each, current.take());
}

/// Reads one line into `buf`, keeping at most `max` bytes of it (the rest
/// is consumed and dropped). Returns (bytes consumed, whether all were kept).
fn read_line_capped(reader: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> io::Result<(usize, bool)> {
    let mut consumed = 0;
    let mut whole = true;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok((consumed, whole));
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = max.saturating_sub(buf.len());
        whole &= take <= room;
        buf.extend_from_slice(&chunk[..take.min(room)]);
        reader.consume(take);
        consumed += take;
        if done {
            return Ok((consumed, whole));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Split = Vec<(Option<usize>, Result<Vec<u8>, String>)>;

    fn split(text: &[u8]) -> Split {
        let mut out = Vec::new();
        split_mbox(text, Path::new("box"), &mut |s, r| {
            out.push((s.line, r.map_err(|e| e.to_string())))
        });
        out
    }

    #[test]
    fn mbox_messages_and_from_unescaping() {
        let mbox = b"From a@b Mon Jan  1 00:00:00 2024\nSubject: one\n\n>From here\n>>From there\n\nFrom x@y Tue Jan  2 00:00:00 2024\r\nSubject: two\r\n\r\nbody\r\n";
        let got = split(mbox);
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0],
            (Some(1), Ok(b"Subject: one\n\nFrom here\n>From there\n".to_vec()))
        );
        assert_eq!(got[1], (Some(7), Ok(b"Subject: two\r\n\r\nbody\r\n".to_vec())));
    }

    #[test]
    fn from_inside_a_paragraph_does_not_split() {
        let got = split(b"From a@b x\nSubject: s\n\nline\nFrom me, with love\n");
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn long_lines_are_consumed_without_being_kept() {
        let mut r: &[u8] = b"abcdefgh\nnext\n";
        let mut buf = Vec::new();
        assert_eq!(read_line_capped(&mut r, &mut buf, 4).unwrap(), (9, false));
        assert_eq!(buf, b"abcd");
        buf.clear();
        assert_eq!(read_line_capped(&mut r, &mut buf, 4).unwrap(), (5, false));
    }

    #[test]
    fn sources_print_path_and_line() {
        let s = Source {
            path: "box.mbox".into(),
            line: Some(12),
        };
        assert_eq!(s.to_string(), "box.mbox:12");
    }
}
