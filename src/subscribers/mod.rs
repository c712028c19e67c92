//! The subscriber list: loading `subscribers/*.csv|toml`, validation, import.
