//! An ISSUE argument is a path or an issue id, in every command. An id is
//! looked up in the issues folder (front matter `slug`, else the file
//! stem); on a miss the error lists the known ids closest to what was typed.

use crate::config::Config;
use crate::exit::{Exit, Failure};
use std::path::{Path, PathBuf};

/// The issue file `arg` names: the file itself, or the issue with that id.
pub(crate) fn resolve(cfg: &Config, arg: &str) -> anyhow::Result<PathBuf> {
    let p = Path::new(arg);
    // Anything but a folder is taken as the path: a FIFO or a device is then
    // refused by the reader with what it is, not looked up as an id.
    if std::fs::metadata(p).is_ok_and(|m| !m.is_dir()) {
        return Ok(p.to_path_buf());
    }
    let index = index(&cfg.paths.issues);
    if let Some((_, path)) = index.iter().find(|(id, _)| id == arg) {
        return Ok(path.clone());
    }
    let ids: Vec<&str> = index.iter().map(|(id, _)| id.as_str()).collect();
    Err(Failure::new(Exit::Invalid, miss(arg, &cfg.paths.issues, &ids)))
}

/// (id, file) of every issue in the folder. A file that does not parse
/// keeps its stem as id, so that it can still be named (and then report
/// its own errors).
pub(crate) fn index(dir: &Path) -> Vec<(String, PathBuf)> {
    let files = super::issue_files(dir).unwrap_or_default();
    files
        .into_iter()
        .map(|path| {
            let id = match crate::issue::from_file(&path) {
                Ok(parsed) => parsed.issue.id,
                Err(_) => stem(&path),
            };
            (id, path)
        })
        .collect()
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The message for an ISSUE that names nothing.
pub(crate) fn miss(arg: &str, dir: &Path, ids: &[&str]) -> String {
    let what = if arg.ends_with(".md") || arg.contains('/') {
        format!(
            "{arg}: no such file, and no issue in {} has the id `{arg}`",
            dir.display()
        )
    } else {
        format!("no issue with the id `{arg}` in {}", dir.display())
    };
    let near = closest(arg, ids);
    if near.is_empty() {
        if ids.is_empty() {
            format!("{what} (the folder has no issues)")
        } else {
            format!("{what} (newsletter check lists them all)")
        }
    } else {
        format!("{what}; closest: {}", near.join(", "))
    }
}

/// Up to three known ids closest to `arg`: ones containing what was typed
/// (`48` → `issue-048`) first, then by edit distance, within reason.
pub(crate) fn closest<'a>(arg: &str, ids: &[&'a str]) -> Vec<&'a str> {
    let typed = Path::new(arg)
        .file_stem()
        .map_or(arg.to_string(), |s| s.to_string_lossy().to_lowercase());
    let mut scored: Vec<(bool, usize, &str)> = ids
        .iter()
        .map(|id| {
            let lower = id.to_lowercase();
            (
                !lower.contains(&typed),
                strsim::damerau_levenshtein(&typed, &lower),
                *id,
            )
        })
        .filter(|(far, d, id)| !*far || *d <= (id.len().max(typed.len()) / 2).max(2))
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, _, id)| id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_ids_first_by_containment_then_distance() {
        let ids = ["issue-047", "issue-048", "issue-049", "issue-148", "2026-w47"];
        assert_eq!(closest("issue-48", &ids), ["issue-048", "issue-148", "issue-047"]);
        assert_eq!(closest("48", &ids), ["issue-048", "issue-148"]);
        assert_eq!(closest("issues/2026-w74.md", &ids), ["2026-w47"]);
        assert!(closest("zzzzzzzz", &ids).is_empty());
    }

    #[test]
    fn a_miss_names_the_folder_and_the_closest_ids() {
        let dir = Path::new("issues");
        assert_eq!(
            miss("issue-48", dir, &["issue-047", "issue-048"]),
            "no issue with the id `issue-48` in issues; closest: issue-048, issue-047"
        );
        assert_eq!(
            miss("issues/x.md", dir, &[]),
            "issues/x.md: no such file, and no issue in issues has the id `issues/x.md` (the folder has no issues)"
        );
    }
}
