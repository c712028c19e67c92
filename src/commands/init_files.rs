//! The files `newsletter init` writes, as text: a commented config that
//! passes `check` as it is, an example issue, the subscriber file's header,
//! and the environment files. Pure: names, dates and the key come in.

/// What the generated files depend on.
pub(super) struct Setup<'a> {
    /// The newsletter's name (from the folder name).
    pub name: &'a str,
    /// `[paths] issues`: `issues`, or the Hugo content folder.
    pub issues: &'a str,
    /// `send_after` when an existing site is adopted (RFC 3339).
    pub send_after: Option<&'a str>,
}

/// `newsletter.toml`.
pub(super) fn config(s: &Setup<'_>) -> String {
    let name = toml_string(s.name);
    let issues = toml_string(s.issues);
    let send_after = match s.send_after {
        Some(t) => format!(
            "# The issues that were there when `newsletter init --from-hugo` ran are\n\
             # never sent by `send --due` (they are also marked as sent in the journal).\n\
             send_after = {t}\n"
        ),
        None => "# send_after = 2026-11-01          # send --due never sends an issue dated before this\n".into(),
    };
    format!(
        r#"# newsletter configuration. Every key is explained in README.md
# ("Configuration"). Secrets never live in this file: the SMTP password and
# the unsubscribe key come from the environment (see .env.example).

[newsletter]
name = {name}
# The sender: use an address of a domain you control (SPF, DKIM).
from = "{plain} <newsletter@example.com>"
# reply_to = "editor@example.com"
list_id = "newsletter.example.com"         # List-Id: {plain} <newsletter.example.com>
subject = "{{title}}"                        # {{title}} {{id}} {{number}} {{series}} {{date}} {{description}}
# archive_url = "https://example.com/newsletter/{{id}}/"   # "view in browser"
# One-click unsubscribe (RFC 8058): where `newsletter serve` answers behind
# your web server. Its tokens are signed with NEWSLETTER_UNSUBSCRIBE_SECRET.
unsubscribe_url = "https://example.com/u?token={{token}}"
# unsubscribe_mailto = "unsubscribe@example.com"
# Many countries require a postal address in bulk mail (CAN-SPAM, …):
# postal_address = "1 Example Street, Example City"
# bounce_address = "bounces@example.com"   # envelope sender; default: from
# bounce_address = "bounces+{{token}}@example.com"  # VERP: one envelope sender per reader (README "Bounces")
max_age_days = 7                          # send --due never sends an older issue by surprise
{send_after}
[smtp]
# Your provider's submission server (587 with STARTTLS, or 465 with tls).
host = "smtp.example.com"
port = 587
security = "starttls"                     # "starttls" | "tls" | "none" (a relay on this machine)
username = "newsletter@example.com"
password_env = "NEWSLETTER_SMTP_PASSWORD" # or: password_command = ["pass", "show", "smtp"]
concurrency = 4                           # parallel connections
rate_per_second = 10                      # 0 = unlimited
retries = 3                               # for temporary failures (4xx, network)
# Provider limits, counted over every run and issue: a run that reaches one
# stops cleanly and `send --due` goes on in the next window.
# (Gmail: about 2000 a day; Amazon SES sandbox: 200 a day; many hosts: 100-300 an hour.)
# max_per_hour = 300
# max_per_day = 2000

# [dkim]                                  # sign with your domain's key (RSA, PEM)
# domain = "example.com"
# selector = "newsletter"
# key_file = "/etc/newsletter/dkim.pem"
# dns_record = "v=DKIM1; k=rsa; p=…"      # the TXT record you published; check compares them

# [bounces]                               # when bounces suppress a reader (defaults shown), and
# hard_threshold = 1                      # the IMAP mailbox `newsletter bounces fetch` reads
# complaint_threshold = 1
# soft_threshold = 3                      # soft bounces in 3 of the last 5 issues
# soft_window_issues = 5
# host = "imap.example.com"
# security = "tls"                        # "tls" (993) | "starttls" (143)
# username = "bounces@example.com"
# password_env = "NEWSLETTER_IMAP_PASSWORD"
# processed = "flag"                      # "flag" | "move" (with move_to) | "delete"

[paths]                                   # relative to this file
issues = {issues}
subscribers = "subscribers"
state = "state"                           # the delivery journal (SQLite)
outbox = "outbox"                         # dry-run output
"#,
        plain = s.name.replace(['"', '\\'], ""),
    )
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let escaped: String = s
        .chars()
        .map(|c| match c {
            '"' => "\\\"".to_string(),
            '\\' => "\\\\".to_string(),
            c if c.is_control() => String::new(),
            c => c.to_string(),
        })
        .collect();
    format!("\"{escaped}\"")
}

/// `issues/example.md`, dated `date` (YYYY-MM-DD), a draft so that
/// `send --due` never mails it.
pub(super) fn example_issue(name: &str, date: &str) -> String {
    let title = toml_string(&format!("{name}, Issue 1"));
    format!(
        r#"+++
title = {title}
date = {date}
# A draft: `send --due` skips it. Send it by name (`newsletter send example --dry-run`)
# to see what your readers would get; delete this file when your first real issue is ready.
draft = true
description = "What an issue looks like"
+++

## Period

`{date}` ~ `{date}`

## Overview

- A few words about this week, shown before the articles.

## The first article

- One `##` heading per article; its reference below gives the title its link.
- Bullets nest:
  - **bold**, _italic_, `code` and [links](https://example.com/a-link) work
  - bare URLs are linked too: https://example.com/bare

## The second article

1. Ordered lists keep their numbers
2. in the HTML and in the plain-text body

## References

- https://example.com/first-article
- https://example.com/second-article
"#
    )
}

/// `subscribers/subscribers.csv`: the header only.
pub(super) const SUBSCRIBERS: &str = "email,name,status\n";

/// `.env`: the generated unsubscribe key; the password left to fill in.
pub(super) fn env(secret: &str) -> String {
    format!(
        "# Secrets for newsletter; keep this file private (it is owner-only) and out of git.\n\
         # Load it with `set -a; . ./.env; set +a`, or as systemd's EnvironmentFile=.\n\
         # The unsubscribe key was generated by `newsletter init`: keep it, changing it\n\
         # breaks the unsubscribe links of every message already sent.\n\
         NEWSLETTER_UNSUBSCRIBE_SECRET={secret}\n\
         # NEWSLETTER_SMTP_PASSWORD=\n"
    )
}

/// `.env.example`: what `.env` holds, without values.
pub(super) const ENV_EXAMPLE: &str = "\
# The environment newsletter reads (copy to .env, fill in, chmod 600).
# The key that signs unsubscribe links: at least 16 bytes; generate one with
#   openssl rand -base64 32
NEWSLETTER_UNSUBSCRIBE_SECRET=
# The SMTP password ([smtp] password_env names this variable).
NEWSLETTER_SMTP_PASSWORD=
";

/// `.gitignore`: secrets, state and generated files stay out of git.
pub(super) const GITIGNORE: &str = "\
.env
state/
outbox/
preview/
# Subscriber addresses are personal data: remove this line only if the
# repository is private and you want the list in it.
subscribers/
";

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_config_parses_and_escapes_the_name() {
        for send_after in [None, Some("2026-11-25T10:00:00Z")] {
            let setup = Setup {
                name: "Field \"Notes\" Weekly",
                issues: "/srv/site/content/posts",
                send_after,
            };
            let text = config(&setup);
            let cfg = crate::config::parse(Path::new("/x/newsletter.toml"), &text)
                .unwrap_or_else(|e| panic!("{e:?}\n{text}"));
            assert_eq!(cfg.newsletter.name, "Field \"Notes\" Weekly");
            assert_eq!(cfg.paths.issues, Path::new("/srv/site/content/posts"));
            assert_eq!(cfg.newsletter.send_after.is_some(), send_after.is_some());
            assert_eq!(cfg.smtp.password_env.as_deref(), Some("NEWSLETTER_SMTP_PASSWORD"));
        }
    }

    #[test]
    fn the_example_issue_parses_without_a_warning_but_its_draft_flag() {
        let text = example_issue("Weekly", "2026-11-25");
        let parsed = crate::issue::parse(Path::new("issues/example.md"), &text).unwrap();
        assert!(parsed.issue.front.draft);
        let warnings: Vec<String> = parsed.warnings.iter().map(|w| w.message.clone()).collect();
        assert_eq!(warnings, ["draft: `send --due` skips this issue"]);
        assert_eq!(parsed.issue.id, "example");
    }
}
