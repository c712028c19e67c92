//! Image sizes read from the files next to the issue (a Hugo or Zola page
//! bundle keeps `windbg.png` beside `index.md`), so the HTML body can give
//! `<img>` its width and height and the layout does not jump while it loads.
//! The only I/O of the parser besides reading the issue: `from_file` calls it.

use super::model::{Block, Inline, Issue};
use std::path::Path;

/// Fills in width and height of relative images whose file is found under `dir`.
pub fn fill_sizes(issue: &mut Issue, dir: &Path) {
    let mut fill = |inline: &mut Inline| {
        if let Inline::Image {
            url,
            width: w @ None,
            height: h @ None,
            ..
        } = inline
        {
            if let Some((width, height)) = local_size(dir, url) {
                *w = Some(width);
                *h = Some(height);
            }
        }
    };
    for blocks in issue_blocks(issue) {
        walk_blocks(blocks, &mut fill);
    }
}

fn issue_blocks(issue: &mut Issue) -> Vec<&mut Vec<Block>> {
    let mut out: Vec<&mut Vec<Block>> = vec![&mut issue.lead];
    if let Some(intro) = &mut issue.intro {
        out.push(&mut intro.blocks);
    }
    out.extend(issue.articles.iter_mut().map(|a| &mut a.blocks));
    out.extend(issue.footnotes.iter_mut().map(|f| &mut f.blocks));
    out
}

/// Calls `f` on every inline of `blocks`, depth first.
pub fn walk_blocks(blocks: &mut [Block], f: &mut impl FnMut(&mut Inline)) {
    for b in blocks {
        match b {
            Block::Paragraph(i) | Block::Heading { content: i, .. } => walk_inlines(i, f),
            Block::List(l) => l.items.iter_mut().for_each(|item| walk_blocks(item, f)),
            Block::BlockQuote(inner) => walk_blocks(inner, f),
            Block::Table(t) => t
                .head
                .iter_mut()
                .chain(t.rows.iter_mut().flatten())
                .for_each(|c| walk_inlines(c, f)),
            Block::CodeBlock { .. } | Block::Rule | Block::Html(_) => {}
        }
    }
}

fn walk_inlines(inlines: &mut [Inline], f: &mut impl FnMut(&mut Inline)) {
    for i in inlines {
        f(i);
        if let Inline::Emphasis(c) | Inline::Strong(c) | Inline::Strikethrough(c) | Inline::Link { content: c, .. } = i
        {
            walk_inlines(c, f);
        }
    }
}

/// A relative path without `..` that names an image file under `dir`.
fn local_size(dir: &Path, url: &str) -> Option<(u32, u32)> {
    let path = url.split(['?', '#']).next()?;
    let relative = !path.is_empty() && !path.starts_with('/') && !path.contains(':') && !path.contains("..");
    if !relative {
        return None;
    }
    // Through the safe opener: a FIFO or a device named like an image must
    // not hang or flood the parse (only the header is read).
    let file = crate::files::open(&dir.join(path), u64::MAX - 1).ok()?.into_inner();
    let size = imagesize::reader_size(std::io::BufReader::new(file)).ok()?;
    Some((u32::try_from(size.width).ok()?, u32::try_from(size.height).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_come_from_files_beside_the_issue() {
        let dir = tempfile::tempdir().unwrap();
        // A 3x2 GIF header is enough for imagesize.
        let gif = b"GIF89a\x03\x00\x02\x00\x00\x00\x00;";
        std::fs::write(dir.path().join("pic.gif"), gif).unwrap();
        assert_eq!(local_size(dir.path(), "pic.gif"), Some((3, 2)));
        assert_eq!(local_size(dir.path(), "pic.gif?v=2"), Some((3, 2)));
        assert_eq!(local_size(dir.path(), "../pic.gif"), None);
        assert_eq!(local_size(dir.path(), "https://example.com/pic.gif"), None);
        assert_eq!(local_size(dir.path(), "missing.png"), None);
    }
}
