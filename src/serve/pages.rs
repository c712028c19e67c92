//! The endpoint's HTML pages (templates/serve.html): askama escapes every
//! value, so names, addresses and tokens from requests cannot inject markup.

use super::texts::{fill, Texts};
use askama::Template;

pub struct SubscribeForm<'a> {
    pub email_label: &'a str,
    pub name_label: &'a str,
    pub optional: &'a str,
    pub honeypot_label: &'a str,
    pub button: &'a str,
    pub privacy: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub error: Option<&'a str>,
}

pub struct Button<'a> {
    pub label: &'a str,
    pub hidden: Option<(&'a str, &'a str)>,
}

pub enum Form<'a> {
    Subscribe(SubscribeForm<'a>),
    Button(Button<'a>),
    None,
}

#[derive(Template)]
#[template(path = "serve.html")]
struct Page<'a> {
    lang: &'a str,
    title: &'a str,
    paragraphs: Vec<String>,
    form: Form<'a>,
}

/// What the pages need besides the words: the newsletter's name.
pub struct Pages {
    pub t: &'static Texts,
    pub list_name: String,
}

impl Pages {
    fn render(&self, title: &str, paragraphs: Vec<String>, form: Form<'_>) -> String {
        let page = Page {
            lang: self.t.lang,
            title: &fill(title, &self.list_name, "", ""),
            paragraphs,
            form,
        };
        page.render()
            .unwrap_or_else(|e| format!("<!DOCTYPE html><title>error</title><p>{e}</p>"))
    }

    fn text(&self, template: &str, email: &str) -> String {
        fill(template, &self.list_name, email, "")
    }

    /// A page with a title and one paragraph.
    pub fn message(&self, title: &str, body: &str) -> String {
        self.render(title, vec![self.text(body, "")], Form::None)
    }

    pub fn subscribe(&self, email: &str, name: &str, error: Option<&str>) -> String {
        let t = self.t;
        let form = Form::Subscribe(SubscribeForm {
            email_label: t.email_label,
            name_label: t.name_label,
            optional: t.optional,
            honeypot_label: t.honeypot_label,
            button: t.subscribe_button,
            privacy: t.privacy,
            email,
            name,
            error,
        });
        self.render(t.subscribe_title, vec![self.text(t.subscribe_intro, "")], form)
    }

    pub fn confirm(&self) -> String {
        let button = Button {
            label: self.t.confirm_button,
            hidden: None,
        };
        let body = vec![self.text(self.t.confirm_question, "")];
        self.render(self.t.confirm_title, body, Form::Button(button))
    }

    /// The page behind an unsubscribe link: a button that makes the RFC 8058 POST.
    pub fn unsubscribe(&self, masked_email: &str) -> String {
        let button = Button {
            label: self.t.unsubscribe_button,
            hidden: Some(("List-Unsubscribe", "One-Click")),
        };
        let body = vec![self.text(self.t.unsubscribe_question, masked_email)];
        self.render(self.t.unsubscribe_title, body, Form::Button(button))
    }

    pub fn unsubscribed(&self, masked_email: &str) -> String {
        let body = vec![self.text(self.t.unsubscribed, masked_email)];
        self.render(self.t.unsubscribed_title, body, Form::None)
    }
}

/// `ann@example.com` → `a••@example.com`: enough for the reader to recognise
/// the address, not enough to learn it from a forwarded link.
pub fn mask(email: &str) -> String {
    let (local, domain) = email.rsplit_once('@').unwrap_or((email, ""));
    let first: String = local.chars().take(1).collect();
    format!("{first}••@{domain}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Language;

    fn pages(lang: Language) -> Pages {
        Pages {
            t: super::super::texts::for_language(lang),
            list_name: "<script>alert(1)</script> & Co".into(),
        }
    }

    #[test]
    fn everything_from_outside_is_escaped() {
        let p = pages(Language::En);
        let html = p.subscribe("\"><img src=x onerror=alert(1)>", "<b>Ann</b>", Some("bad"));
        assert!(
            !html.contains("<script>") && !html.contains("<img") && !html.contains("<b>"),
            "{html}"
        );
        assert!(
            html.contains("&#60;script&#62;alert(1)&#60;/script&#62; &#38; Co"),
            "{html}"
        );
        assert!(html.contains("aria-invalid=\"true\""), "{html}");
        assert!(html.contains("<html lang=\"en\">"));
        assert!(
            html.contains("name=\"website\" tabindex=\"-1\""),
            "the honeypot: {html}"
        );
    }

    #[test]
    fn korean_pages_and_the_one_click_button() {
        let p = pages(Language::Ko);
        let html = p.unsubscribe(&mask("ann@example.com"));
        assert!(html.contains("<html lang=\"ko\">"), "{html}");
        assert!(html.contains("구독 해지"), "{html}");
        assert!(html.contains("a••@example.com"), "{html}");
        assert!(!html.contains("ann@"), "{html}");
        assert!(
            html.contains(
                "<form method=\"post\">\n<input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
            ),
            "{html}"
        );
        assert_eq!(mask("x"), "x••@");
    }
}
