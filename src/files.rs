//! The user's files, read and written safely: one place for the rules.
//!
//! Reading: a path the user gives (issue, config, subscriber list, DKIM key)
//! must be a regular file and no larger than a cap. It is opened without
//! blocking, so a named pipe does not hang the run, and checked on the open
//! descriptor, so a symlink to `/dev/zero` is refused instead of read for
//! gigabytes. Reads stop at the cap even if the file grows meanwhile.
//!
//! Writing: what we create that holds addresses or per-reader tokens (the
//! state database, outbox and preview files, imported lists) is owner-only:
//! folders 0700, files 0600, whatever the umask.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Caps on what is read, by kind of file.
pub const MAX_ISSUE_BYTES: u64 = 8 << 20;
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;
pub const MAX_KEY_BYTES: u64 = 64 << 10;
/// Certificate bundles (a CA file for IMAP).
pub const MAX_CERT_BYTES: u64 = 4 << 20;
/// TOML subscriber files are read whole.
pub const MAX_TOML_LIST_BYTES: u64 = 64 << 20;
/// CSV lists are streamed; the cap only stops an endless input.
pub const MAX_CSV_LIST_BYTES: u64 = 4 << 30;

/// What a path is when it is not a regular file ("a named pipe (FIFO)").
pub fn irregular_kind(file_type: std::fs::FileType) -> Option<&'static str> {
    Some(if file_type.is_file() {
        return None;
    } else if file_type.is_dir() {
        "a folder"
    } else if file_type.is_fifo() {
        "a named pipe (FIFO)"
    } else if file_type.is_char_device() || file_type.is_block_device() {
        "a device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    })
}

/// What the entry at `path` is when it is not a regular file (links are
/// followed): for listing a folder without opening what is in it.
pub fn irregular_kind_at(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(meta) => irregular_kind(meta.file_type()).map(str::to_string),
        Err(e) => Some(format!("unreadable ({e})")),
    }
}

/// Opens a user's file for reading: a regular file of at most `cap` bytes.
/// The error says what is wrong in words fit for `error: PATH: …`.
pub fn open(path: &Path, cap: u64) -> Result<std::io::Take<File>, String> {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if let Some(kind) = irregular_kind(meta.file_type()) {
        return Err(format!("{kind}, not a regular file; refusing to read it"));
    }
    if meta.len() > cap {
        return Err(format!(
            "{} bytes, more than the {} this kind of file may have",
            meta.len(),
            human(cap)
        ));
    }
    // One byte over the cap shows a file that grew while it was read.
    Ok(file.take(cap + 1))
}

/// Reads a user's file whole (see [`open`]).
pub fn read(path: &Path, cap: u64) -> Result<Vec<u8>, String> {
    let mut reader = open(path, cap)?;
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > cap {
        return Err(format!("grew past {} while being read", human(cap)));
    }
    Ok(bytes)
}

/// Reads a user's text file whole; the error names invalid UTF-8.
pub fn read_text(path: &Path, cap: u64) -> Result<String, String> {
    String::from_utf8(read(path, cap)?).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        format!("not UTF-8 text (invalid byte at offset {at})")
    })
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{} GiB", b >> 30),
        b if b >= 1 << 20 => format!("{} MiB", b >> 20),
        b => format!("{} KiB", b >> 10),
    }
}

/// Creates `dir` and any missing parents as owner-only (0700) folders.
/// Folders that exist keep their permissions.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Creates or truncates `path` as an owner-only (0600) file, also when it
/// existed with wider permissions.
pub fn create_private(path: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    restrict(&file)?;
    Ok(file)
}

/// Writes `bytes` to an owner-only file (see [`create_private`]).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    create_private(path)?.write_all(bytes)
}

/// Narrows an open file to 0600 unless it already is (the umask may have
/// narrowed it further, which is fine).
fn restrict(file: &File) -> std::io::Result<()> {
    let mode = file.metadata()?.permissions().mode();
    if mode & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(mode & 0o700))?;
    }
    Ok(())
}

/// A path from a config file: absolute as written, else relative to the
/// config's folder `base`.
pub fn resolve(base: &Path, p: &str) -> PathBuf {
    let p = PathBuf::from(p);
    if p.is_absolute() {
        p
    } else {
        base.join(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_fifos_devices_folders_and_big_files() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("issue.md");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert_eq!(
            read(&fifo, 100).unwrap_err(),
            "a named pipe (FIFO), not a regular file; refusing to read it"
        );
        let zero = dir.path().join("zero.md");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        assert_eq!(
            read(&zero, 100).unwrap_err(),
            "a device, not a regular file; refusing to read it"
        );
        assert_eq!(
            read(dir.path(), 100).unwrap_err(),
            "a folder, not a regular file; refusing to read it"
        );
        let big = dir.path().join("big.md");
        std::fs::write(&big, vec![b'a'; 2048]).unwrap();
        assert_eq!(
            read(&big, 1024).unwrap_err(),
            "2048 bytes, more than the 1 KiB this kind of file may have"
        );
        assert_eq!(read(&big, 4096).unwrap().len(), 2048);
        std::fs::write(&big, b"\xffabc").unwrap();
        assert_eq!(
            read_text(&big, 4096).unwrap_err(),
            "not UTF-8 text (invalid byte at offset 0)"
        );
    }

    #[test]
    fn private_files_and_folders_ignore_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let old = unsafe { libc::umask(0) };
        let sub = dir.path().join("a/b");
        let made = create_private_dir(&sub);
        let file = sub.join("x.eml");
        let written = made.and_then(|()| write_private(&file, b"hi"));
        unsafe { libc::umask(old) };
        written.unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            (mode(&dir.path().join("a")), mode(&sub), mode(&file)),
            (0o700, 0o700, 0o600)
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&file, b"again").unwrap();
        assert_eq!(mode(&file), 0o600, "an existing file is narrowed");
    }
}
