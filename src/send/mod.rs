//! The send core, free of terminal and process concerns: the plan a `send`
//! command line becomes, which recipients and which issues a run takes, and
//! the dispatcher that delivers through a sink and records in a journal.

mod bounced;
mod breaker;
pub mod caps;
pub mod dispatch;
pub mod due;
pub mod plan;
mod ratelimit;
pub mod recipients;
pub mod source;
