//! The RFC 8058 one-click unsubscribe HTTP endpoint.
