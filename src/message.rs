//! One MIME message per recipient: headers, Message-ID, List-Unsubscribe, DKIM.
