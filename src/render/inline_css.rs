//! Moves the template's CSS into `style` attributes (mail clients drop or
//! ignore `<style>`), then adds the rules that cannot be inlined (phones,
//! dark mode, Outlook.com's `[data-ogsc]` dark mode) in one `<style>` at the
//! end of `<head>`, after `<meta charset>`.

use anyhow::{Context, Result};
use askama::Template;

/// The non-inlinable rules (templates/email-head.css).
#[derive(Template)]
#[template(path = "email-head.css", escape = "none")]
pub struct HeadCss<'a> {
    /// Links in dark mode (`[theme] dark_link_color`).
    pub dark_link: &'a str,
}

/// Inlines the `<style>` rules of a full HTML document (remote stylesheets
/// are never fetched) and appends `head_css` in a `<style>` before `</head>`.
pub fn inline_css(html: &str, head_css: &str) -> Result<String> {
    let inliner = css_inline::CSSInliner::options()
        .load_remote_stylesheets(false)
        .keep_at_rules(true)
        .minify_css(true)
        .build();
    let inlined = inliner.inline(html).context("inlining the email's CSS")?;
    let style = format!("<style>\n{}</style>\n</head>", head_css.trim_start());
    Ok(inlined.replacen("</head>", &style, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_move_inline_and_the_head_style_follows_the_charset() {
        let html =
            "<html><head><meta charset=\"utf-8\"><style>p { color: red }</style></head><body><p>x</p></body></html>";
        let out = inline_css(
            html,
            "@media (max-width: 600px) { p { color: blue !important } }\n[data-ogsc] p{color:#fff!important}\n",
        )
        .unwrap();
        assert!(out.contains("<p style=\"color:red\">x</p>"), "{out}");
        let charset = out.find("<meta charset").unwrap();
        let media = out.find("@media (max-width: 600px)").unwrap();
        assert!(charset < media, "{out}");
        assert!(out.contains("[data-ogsc] p{color:#fff!important}"), "{out}");
    }
}
