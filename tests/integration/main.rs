//! The one integration test crate: runs the `newsletter` binary against temp
//! folders, real SMTP servers on loopback and the shared corpus.

mod harness;
mod subscribers;
mod unsubscribe;
