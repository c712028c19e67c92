//! Which files in the issues folder are issues. The folder may be a plain
//! list of posts, Jekyll's `_posts`, or a Hugo/Zola `content/` section:
//! - `*.md` and `*.markdown` files are issues;
//! - a folder holding `index.md` is a page bundle: that file is one issue
//!   (named after the folder) and the folder's other files are its resources;
//! - `_index.md` (Hugo and Zola list pages) and hidden files are skipped;
//! - other folders are sections, read recursively (to a sane depth).

use crate::diag::Diagnostic;
use std::path::{Path, PathBuf};

/// Sections nested deeper than this are not read (and a link cycle ends).
const MAX_DEPTH: usize = 8;

/// Every issue file under `dir`, sorted by path.
pub fn issue_files(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    issue_files_checked(dir).map(|(files, _)| files)
}

/// [`issue_files`], and a warning for each markdown entry that is not a
/// regular file (a FIFO, a link to a device): it is skipped, not read.
pub fn issue_files_checked(dir: &Path) -> Result<(Vec<PathBuf>, Vec<Diagnostic>), Diagnostic> {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    walk(dir, 0, &mut files, &mut skipped)
        .map_err(|e| Diagnostic::error(dir, 0, 0, format!("cannot read the issues folder: {e}")))?;
    files.sort();
    Ok((files, skipped))
}

fn is_markdown(path: &Path) -> bool {
    path.extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("md") || x.eq_ignore_ascii_case("markdown"))
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>, skipped: &mut Vec<Diagnostic>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            let bundle = ["index.md", "index.markdown"]
                .iter()
                .map(|i| path.join(i))
                .find(|p| p.is_file());
            match bundle {
                Some(index) => out.push(index),
                None if depth < MAX_DEPTH => {
                    // An unreadable section is skipped, not fatal: the rest still checks.
                    let _ = walk(&path, depth + 1, out, skipped);
                }
                None => {}
            }
        } else if is_markdown(&path) && !name.starts_with('_') && !(depth == 0 && is_index(&name)) {
            match crate::files::irregular_kind_at(&path) {
                None => out.push(path),
                Some(kind) => {
                    let msg = format!("{kind}, not a regular file: skipped");
                    skipped.push(Diagnostic::warning(&path, 0, 0, msg));
                }
            }
        }
    }
    Ok(())
}

/// `index.md` at the top of the issues folder is the site's home page, not an issue.
fn is_index(name: &str) -> bool {
    name == "index.md" || name == "index.markdown"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posts_bundles_and_sections() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let touch = |rel: &str| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        };
        for f in [
            "_index.md",
            "2013-06-07-a.markdown",
            "b.md",
            "notes.txt",
            ".hidden.md",
            "issue-52/index.md",
            "issue-52/extra.md",
            "issue-52/pic.png",
            "weekly/_index.md",
            "weekly/c.md",
            "weekly/issue-7/index.md",
        ] {
            touch(f);
        }
        let got: Vec<String> = issue_files(root)
            .unwrap()
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().display().to_string())
            .collect();
        assert_eq!(
            got,
            [
                "2013-06-07-a.markdown",
                "b.md",
                "issue-52/index.md",
                "weekly/c.md",
                "weekly/issue-7/index.md"
            ]
        );
    }
}
