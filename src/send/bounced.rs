//! A refusal met while sending (a 5xx reply to RCPT TO or to the message),
//! read with the same rules as a bounce that comes back by mail: `550 5.1.1
//! user unknown` is a hard bounce, `550 5.7.1 blocked by policy` a soft one
//! that never suppresses on its own. The journal records it against the
//! issue; the `[bounces]` thresholds decide after the run.

use crate::bounce::{self, Command};
use crate::state::bounces::Class;
use crate::state::writer::Event;
use crate::transport::smtp::{Cause, SmtpError, Stage};

/// The journal event of a permanent refusal, or None for any other failure
/// (transient replies that outlasted the retries, refusals of the sender).
pub fn event(e: &SmtpError, email_key: String) -> Option<Event> {
    let Cause::Reply { code, text, .. } = &e.cause else {
        return None;
    };
    if !(500..600).contains(code) {
        return None;
    }
    let command = match e.stage {
        Stage::Rcpt => Command::Rcpt,
        Stage::Data | Stage::Message => Command::Data,
        _ => return None,
    };
    let verdict = bounce::classify_reply(*code, e.enhanced_status(), text, Some(command));
    let class = Class::of(verdict.class)?;
    let status = e
        .enhanced_status()
        .map(str::to_string)
        .or_else(|| bounce::pseudo::code(verdict.reason, false));
    Some(Event::Bounced {
        email: email_key,
        class,
        reason: verdict.reason.as_str().to_string(),
        status,
        diagnostic: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(stage: Stage, code: u16, text: &str) -> SmtpError {
        let enhanced = text
            .split_whitespace()
            .next()
            .filter(|t| t.contains('.'))
            .map(str::to_string);
        SmtpError::new(
            stage,
            Cause::Reply {
                code,
                enhanced,
                text: text.into(),
            },
        )
    }

    fn class_of(stage: Stage, code: u16, text: &str) -> Option<Class> {
        match event(&refusal(stage, code, text), "a@b.example".into())? {
            Event::Bounced { class, .. } => Some(class),
            _ => None,
        }
    }

    #[test]
    fn refusals_read_like_bounces() {
        assert_eq!(class_of(Stage::Rcpt, 550, "5.1.1 no such user"), Some(Class::Hard));
        assert_eq!(class_of(Stage::Rcpt, 550, "5.7.1 blocked by policy"), Some(Class::Soft));
        assert_eq!(
            class_of(
                Stage::Rcpt,
                550,
                "5.7.1 Requested action not taken: mailbox unavailable"
            ),
            Some(Class::Soft)
        );
        assert_eq!(
            class_of(Stage::Message, 554, "5.7.1 message rejected as spam"),
            Some(Class::Soft)
        );
        assert_eq!(
            class_of(Stage::Rcpt, 553, "5.1.3 bad address syntax"),
            Some(Class::Hard)
        );
    }

    #[test]
    fn other_failures_are_no_bounce() {
        assert_eq!(class_of(Stage::Rcpt, 450, "4.2.0 try later"), None);
        assert_eq!(class_of(Stage::Mail, 550, "5.1.8 sender domain unknown"), None);
        let lost = SmtpError::new(Stage::Message, Cause::Disconnected("reset".into()));
        assert!(event(&lost, "a@b.example".into()).is_none());
        let Some(Event::Bounced { status, reason, .. }) =
            event(&refusal(Stage::Rcpt, 550, "User unknown"), "a@b.example".into())
        else {
            panic!("a bounce")
        };
        assert_eq!((status.as_deref(), reason.as_str()), (Some("5.0.911"), "userunknown"));
    }
}
