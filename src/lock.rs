//! The run lock: one `send` per state database at a time.
//!
//! An OS file lock (`File::try_lock`) on `state/send.lock`: the kernel drops
//! it when the process dies, so a killed run never blocks the next one. The
//! file's text names the holder for the message the loser prints.

use crate::exit::{Exit, Failure};
use anyhow::Context;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Held for the life of a send; dropping it releases the lock.
pub struct RunLock {
    _file: File,
}

pub fn acquire(state_dir: &Path) -> anyhow::Result<RunLock> {
    crate::files::create_private_dir(state_dir).with_context(|| format!("creating {}", state_dir.display()))?;
    let path = state_dir.join("send.lock");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = holder(&mut file);
            return Err(Failure::new(
                Exit::Locked,
                format!(
                    "another send holds {} ({holder}); wait for it to finish",
                    path.display()
                ),
            ));
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking {}", path.display()));
        }
    }
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    write!(
        file,
        "pid {} started {}",
        std::process::id(),
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
    )?;
    file.flush()?;
    Ok(RunLock { _file: file })
}

/// The holder's `pid N started T` line. A holder that has just taken the
/// lock may not have written it yet (the file is empty, or still names the
/// previous holder, who is gone): look again for a moment.
fn holder(file: &mut File) -> String {
    for _ in 0..25 {
        let mut text = String::new();
        let _ = file.seek(SeekFrom::Start(0));
        let _ = file.read_to_string(&mut text);
        let pid = text.strip_prefix("pid ").and_then(|r| r.split_whitespace().next());
        if pid.is_some_and(|p| Path::new("/proc").join(p).exists()) {
            return text.trim().to_string();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    "another process".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_with_holder_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path()).unwrap();
        let err = acquire(dir.path()).err().expect("second lock must fail");
        assert_eq!(crate::exit::exit_for(&err), Exit::Locked);
        let msg = err.to_string();
        assert!(msg.contains(&format!("pid {}", std::process::id())), "{msg}");
        drop(first);
        acquire(dir.path()).expect("lock is free again");
    }
}
