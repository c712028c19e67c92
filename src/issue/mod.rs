//! Issue files: front matter, markdown body, and the checks `newsletter check` runs.

mod model;

pub use model::*;
