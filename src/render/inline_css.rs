//! Moves the template's CSS into `style` attributes (mail clients drop or
//! ignore `<style>`), keeping only @media rules in the head.

use anyhow::{Context, Result};

/// Inlines the `<style>` rules of a full HTML document. Remote stylesheets are
/// never fetched; `@media` rules (narrow screens, dark mode) stay in a `<style>`.
pub fn inline_css(html: &str) -> Result<String> {
    let inliner = css_inline::CSSInliner::options()
        .load_remote_stylesheets(false)
        .keep_at_rules(true)
        .minify_css(true)
        .build();
    inliner.inline(html).context("inlining the email's CSS")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_move_inline_and_media_queries_stay() {
        let html = "<html><head><style>p { color: red } @media (max-width: 600px) { p { color: blue !important } }</style></head><body><p>x</p></body></html>";
        let out = inline_css(html).unwrap();
        assert!(out.contains("<p style=\"color:red\">x</p>"), "{out}");
        assert!(out.contains("@media (max-width: 600px)"), "{out}");
    }
}
