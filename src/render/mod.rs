//! HTML and plain-text email bodies rendered from an `Issue` with askama.
