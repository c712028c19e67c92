//! Status codes for failures whose message carries none.
//!
//! Many bounces (qmail, old Sendmail, Exim's text, web-mail providers) give
//! words and a reply code but no RFC 3463 enhanced status code. A reader of
//! `bounces parse` and the bounce records still wants one code per failure,
//! and the de-facto convention for it is the one sisimai established: the
//! class digit, subject `0` (RFC 3463 "other or undefined") and a detail
//! number from 900 up that names the reason, e.g. `5.0.911` for an unknown
//! user. `x.0.9NN` is outside every registered code, so it cannot be
//! mistaken for one a server sent. The entry says that it was inferred.

use super::model::{Class, Entry, Reason};

/// The detail number of a reason's code, in the convention's numbering.
/// Not-failures have none.
fn detail(reason: Reason) -> Option<u16> {
    use Reason::*;
    Some(match reason {
        Undefined => 900,
        OnHold => 901,
        SyntaxError => 902,
        NoRelaying => 909,
        Filtered => 910,
        UserUnknown => 911,
        HostUnknown => 912,
        HasMoved => 916,
        Rejected => 918,
        Suspend => 921,
        MailboxFull => 922,
        ExceedLimit => 923,
        AuthFailure => 926,
        SystemError => 930,
        SystemFull => 931,
        NotAccept => 932,
        MesgTooBig => 934,
        MailerError => 939,
        NetworkError => 944,
        TooManyConn => 945,
        Speeding => 946,
        Expired => 947,
        ContentError => 960,
        SecurityError => 970,
        Blocked => 971,
        PolicyViolation => 972,
        RequirePtr => 973,
        NotCompliantRfc => 974,
        BadReputation => 975,
        FailedStartTls => 976,
        SpamDetected => 980,
        VirusDetected => 981,
        Vacation | Feedback | Delivered | NotABounce => return None,
    })
}

/// The inferred code of a failure: `4.0.9NN` when the server's reply was
/// a transient one (4xx), else `5.0.9NN`, as the convention has it (a delay
/// warning without a reply code gets 5 too).
pub fn code(reason: Reason, temporary: bool) -> Option<String> {
    let class = if temporary { 4 } else { 5 };
    detail(reason).map(|d| format!("{class}.0.{d}"))
}

/// Gives a hard or soft entry without a status code from its message the
/// inferred one, and marks it inferred. Other entries stay as they are.
pub fn fill(e: &mut Entry) {
    if e.status.is_some() || !matches!(e.class, Class::Hard | Class::Soft) {
        return;
    }
    let temporary = e.class == Class::Soft && e.reply_code.is_some_and(|c| (400..500).contains(&c));
    if let Some(c) = code(e.reason, temporary) {
        e.status = Some(c);
        e.status_inferred = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(class: Class, reason: Reason, status: Option<&str>, reply: Option<u16>, action: &str) -> Entry {
        Entry {
            recipient: Some("r@example.org".into()),
            original_recipient: None,
            action: Some(action.into()),
            status: status.map(str::to_string),
            status_inferred: false,
            reply_code: reply,
            diagnostic: String::new(),
            class,
            reason,
            feedback_type: None,
        }
    }

    #[test]
    fn a_failure_without_a_code_gets_the_reasons_code() {
        let mut e = entry(Class::Hard, Reason::UserUnknown, None, Some(550), "failed");
        fill(&mut e);
        assert_eq!((e.status.as_deref(), e.status_inferred), (Some("5.0.911"), true));
        let mut e = entry(Class::Soft, Reason::Expired, None, None, "delayed");
        fill(&mut e);
        assert_eq!(e.status.as_deref(), Some("5.0.947"));
        let mut e = entry(Class::Soft, Reason::Blocked, None, Some(421), "failed");
        fill(&mut e);
        assert_eq!(e.status.as_deref(), Some("4.0.971"));
    }

    #[test]
    fn a_code_from_the_message_is_kept_and_not_failures_get_none() {
        let mut e = entry(Class::Hard, Reason::UserUnknown, Some("5.1.1"), Some(550), "failed");
        fill(&mut e);
        assert_eq!((e.status.as_deref(), e.status_inferred), (Some("5.1.1"), false));
        let mut e = entry(Class::Complaint, Reason::Feedback, None, None, "failed");
        fill(&mut e);
        assert_eq!((e.status, e.status_inferred), (None, false));
        let mut e = entry(Class::Ignore, Reason::Vacation, None, None, "failed");
        fill(&mut e);
        assert_eq!(e.status, None);
    }

    #[test]
    fn every_failure_reason_has_a_distinct_code() {
        use Reason::*;
        let all = [
            UserUnknown,
            HostUnknown,
            HasMoved,
            NotAccept,
            MailboxFull,
            ExceedLimit,
            MesgTooBig,
            Suspend,
            Filtered,
            Blocked,
            BadReputation,
            RequirePtr,
            AuthFailure,
            SpamDetected,
            VirusDetected,
            PolicyViolation,
            Rejected,
            NoRelaying,
            SecurityError,
            FailedStartTls,
            TooManyConn,
            Speeding,
            ContentError,
            NotCompliantRfc,
            SyntaxError,
            SystemError,
            SystemFull,
            NetworkError,
            MailerError,
            Expired,
            OnHold,
            Undefined,
        ];
        let mut codes: Vec<String> = all.iter().map(|r| code(*r, false).unwrap()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }
}
