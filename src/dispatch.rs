//! The dispatcher: workers, shared rate limit, retries, journal updates.
