//! Who a run mails: a pure function of the list, the suppression list, the
//! shard, what the journal already has and the limit, returning the
//! recipients and what was skipped, counted by why.

use super::plan::Shard;
use crate::message::Recipient;
use crate::state::journal::DeliveryState;
use crate::subscribers::Subscriber;
use std::collections::{HashMap, HashSet};

/// Entries of the list a run leaves out, by reason.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Skipped {
    /// Not active in the list (unsubscribed, bounced, pending…) or on the suppression list.
    pub inactive_or_suppressed: usize,
    /// In another shard.
    pub other_shard: usize,
    /// The journal says they have this issue.
    pub already_sent: usize,
    /// Left for a later run by `--limit`.
    pub over_limit: usize,
    /// Left pending for the next window by `max_per_hour` / `max_per_day`.
    pub over_cap: usize,
    /// A `send --due` retry of a finished issue takes only the recipients
    /// whose transient failure is ready for another try.
    pub not_retried: usize,
}

impl Skipped {
    /// Everyone left out for a reason other than the limit or a cap.
    pub fn total(&self) -> usize {
        self.inactive_or_suppressed + self.other_shard + self.already_sent + self.not_retried
    }
}

/// A run's recipients, in list order, and what was left out.
#[derive(Debug)]
pub struct Planned<'a> {
    pub recipients: Vec<Recipient<'a>>,
    pub skipped: Skipped,
}

/// Picks the recipients. `suppressed` holds address keys; `journal` maps
/// address keys to their state for this issue (empty for dry runs).
pub fn plan<'a>(
    list: &'a [Subscriber],
    suppressed: &HashSet<String>,
    shard: Option<Shard>,
    journal: &HashMap<String, DeliveryState>,
    limit: Option<usize>,
) -> Planned<'a> {
    let mut skipped = Skipped::default();
    let mut recipients = Vec::new();
    for s in list {
        if !s.is_recipient(suppressed) {
            skipped.inactive_or_suppressed += 1;
        } else if shard.is_some_and(|sh| !sh.contains(&s.email)) {
            skipped.other_shard += 1;
        } else if journal.get(&s.key()) == Some(&DeliveryState::Sent) {
            skipped.already_sent += 1;
        } else if limit.is_some_and(|l| recipients.len() >= l) {
            skipped.over_limit += 1;
        } else {
            recipients.push(Recipient::from(s));
        }
    }
    Planned { recipients, skipped }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscribers::Status;
    use std::path::Path;
    use std::sync::Arc;

    fn sub(email: &str, status: Status) -> Subscriber {
        Subscriber {
            email: email.into(),
            name: None,
            status,
            attributes: Vec::new(),
            file: Arc::from(Path::new("s.csv")),
            line: 1,
        }
    }

    #[test]
    fn every_entry_is_either_a_recipient_or_counted_once() {
        let list: Vec<Subscriber> = (0..40)
            .map(|i| {
                let status = if i % 10 == 0 {
                    Status::Unsubscribed
                } else {
                    Status::Active
                };
                sub(&format!("R{i}@example.org"), status)
            })
            .collect();
        let suppressed = HashSet::from(["r1@example.org".to_string()]);
        let journal = HashMap::from([
            ("r2@example.org".to_string(), DeliveryState::Sent),
            ("r3@example.org".to_string(), DeliveryState::Failed),
            ("r4@example.org".to_string(), DeliveryState::Sending),
        ]);
        let shard = Shard { k: 1, n: 2 };
        let p = plan(&list, &suppressed, Some(shard), &journal, Some(5));
        let s = p.skipped;
        assert_eq!(s.inactive_or_suppressed, 5, "4 unsubscribed + 1 suppressed");
        assert_eq!(p.recipients.len(), 5);
        assert_eq!(p.recipients.len() + s.total() + s.over_limit, 40);
        let in_shard = list[5..].iter().filter(|x| shard.contains(&x.email)).count();
        assert_eq!(s.other_shard, 35 - in_shard);
        assert!(p.recipients.iter().all(|r| shard.contains(r.email)));
        assert!(p.recipients.iter().all(|r| r.email != "R2@example.org"));
    }

    #[test]
    fn sent_recipients_are_skipped_and_failed_or_claimed_ones_retried() {
        let list = vec![
            sub("a@x.org", Status::Active),
            sub("B@x.org", Status::Active),
            sub("c@x.org", Status::Active),
        ];
        let journal = HashMap::from([
            ("b@x.org".to_string(), DeliveryState::Sent),
            ("c@x.org".to_string(), DeliveryState::Sending),
        ]);
        let p = plan(&list, &HashSet::new(), None, &journal, None);
        let got: Vec<&str> = p.recipients.iter().map(|r| r.email).collect();
        assert_eq!(got, ["a@x.org", "c@x.org"]);
        assert_eq!(
            p.skipped,
            Skipped {
                already_sent: 1,
                ..Skipped::default()
            }
        );
    }
}
