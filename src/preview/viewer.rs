//! The preview viewer page (templates/preview.html): the email at desktop
//! and phone widths side by side, the text body and the message headers.

use anyhow::Result;
use askama::Template;

pub struct ViewerInput<'a> {
    pub title: &'a str,
    pub eml: &'a [u8],
    pub text: &'a str,
    pub html_size: usize,
    /// Served by `--serve`: poll `/version` and reload on change.
    pub live: bool,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "preview.html")]
struct Viewer<'a> {
    title: &'a str,
    headers: Vec<(String, String)>,
    text: &'a str,
    html_kb: String,
    clipped: bool,
    live: bool,
    error: Option<&'a str>,
}

pub fn index_html(input: &ViewerInput) -> Result<String> {
    Ok(Viewer {
        title: input.title,
        headers: headers(input.eml),
        text: input.text,
        html_kb: format!("{:.1}", input.html_size as f64 / 1000.0),
        clipped: input.html_size > crate::render::GMAIL_CLIP_BYTES,
        live: input.live,
        error: input.error,
    }
    .render()?)
}

/// The message's top-level headers, unfolded, in order (MIME part headers excluded).
fn headers(eml: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(eml);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            out.push((name.to_string(), value.trim().to_string()));
        }
    }
    for (_, value) in &mut out {
        *value = decode_words(value);
    }
    out
}

/// The header value with RFC 2047 encoded-words decoded, for display.
fn decode_words(value: &str) -> String {
    if !value.contains("=?") {
        return value.to_string();
    }
    let line = format!("{value}\n");
    match mail_parser::parsers::MessageStream::new(line.as_bytes()).parse_unstructured() {
        mail_parser::HeaderValue::Text(t) => t.trim().to_string(),
        _ => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_unfolded_and_escaped_in_the_page() {
        let eml = b"From: A <a@example.com>\r\nSubject: =?utf-8?b?7ZWc?=\r\n =?utf-8?b?6rWt?=\r\nX-Evil: <script>x</script>\r\n\r\nbody";
        let h = headers(eml);
        assert_eq!(
            h[1],
            ("Subject".to_string(), "한국".to_string()),
            "encoded-words decoded"
        );
        let page = index_html(&ViewerInput {
            title: "t",
            eml,
            text: "<b>",
            html_size: 10,
            live: false,
            error: None,
        })
        .unwrap();
        assert!(!page.contains("<script>x"), "{page}");
        assert!(!page.contains("<b>"));
        assert!(!page.contains("/version"), "a static viewer does not poll");
    }
}
