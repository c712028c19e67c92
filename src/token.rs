//! Unsubscribe tokens: HMAC-SHA256 over the list id and address, URL-safe base64.
