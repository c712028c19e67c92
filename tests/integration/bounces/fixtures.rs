//! Bounce messages written for these tests (not taken from any corpus), in
//! the shapes real MTAs send: a Postfix-style DSN, an Exim-style text
//! bounce, a qmail-style one, an ARF complaint, an RFC 6533 global DSN, an
//! auto-reply and an ordinary message.

/// Our Message-ID for `issue` and `email` (the shape `send` gives it).
pub fn our_message_id(issue: &str, email: &str) -> String {
    format!(
        "<{issue}.{}@news.example.com>",
        newsletter::message::recipient_hash(issue, email)
    )
}

/// A Postfix-style DSN for one recipient; `message_id` is the returned
/// message's.
pub fn postfix_dsn(rcpt: &str, status: &str, diagnostic: &str, message_id: &str) -> String {
    format!(
        "Return-Path: <>\n\
Received: by mx.example.net (Postfix) id 4F1A2B3C4D; Tue,  3 Mar 2026 10:00:01 +0000 (UTC)\n\
Date: Tue,  3 Mar 2026 10:00:01 +0000 (UTC)\n\
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n\
Subject: Undelivered Mail Returned to Sender\n\
To: weekly@news.example.com\n\
Auto-Submitted: auto-replied\n\
MIME-Version: 1.0\n\
Content-Type: multipart/report; report-type=delivery-status;\n\
\tboundary=\"4F1A2B3C4D.1772531201/mx.example.net\"\n\
Message-Id: <20260303100001.4F1A2B3C4D@mx.example.net>\n\
\n\
This is a MIME-encapsulated message.\n\
\n\
--4F1A2B3C4D.1772531201/mx.example.net\n\
Content-Description: Notification\n\
Content-Type: text/plain; charset=us-ascii\n\
\n\
This is the mail system at host mx.example.net.\n\
\n\
I'm sorry to have to inform you that your message could not\n\
be delivered to one or more recipients. It's attached below.\n\
\n\
                   The mail system\n\
\n\
<{rcpt}>: host mail.example.org[192.0.2.25] said: {diagnostic} (in reply to\n\
    RCPT TO command)\n\
\n\
--4F1A2B3C4D.1772531201/mx.example.net\n\
Content-Description: Delivery report\n\
Content-Type: message/delivery-status\n\
\n\
Reporting-MTA: dns; mx.example.net\n\
X-Postfix-Queue-ID: 4F1A2B3C4D\n\
Arrival-Date: Tue,  3 Mar 2026 09:59:58 +0000 (UTC)\n\
\n\
Final-Recipient: rfc822; {rcpt}\n\
Original-Recipient: rfc822;{rcpt}\n\
Action: failed\n\
Status: {status}\n\
Remote-MTA: dns; mail.example.org\n\
Diagnostic-Code: smtp; {diagnostic}\n\
\n\
--4F1A2B3C4D.1772531201/mx.example.net\n\
Content-Description: Undelivered Message Headers\n\
Content-Type: text/rfc822-headers\n\
\n\
From: Field Notes <weekly@news.example.com>\n\
To: {rcpt}\n\
Subject: Field Notes #47\n\
Message-ID: {message_id}\n\
Date: Tue,  3 Mar 2026 09:59:57 +0000\n\
\n\
--4F1A2B3C4D.1772531201/mx.example.net--\n"
    )
}

/// An Exim-style text bounce (no DSN part), with the copy of the message.
pub fn exim_text(rcpt: &str, error: &str) -> String {
    format!(
        "Return-path: <>\n\
From: Mail Delivery System <Mailer-Daemon@relay.example.net>\n\
To: weekly@news.example.com\n\
Subject: Mail delivery failed: returning message to sender\n\
X-Failed-Recipients: {rcpt}\n\
Auto-Submitted: auto-replied\n\
Date: Wed, 04 Mar 2026 08:00:00 +0000\n\
\n\
This message was created automatically by mail delivery software.\n\
\n\
A message that you sent could not be delivered to one or more of its\n\
recipients. This is a permanent error. The following address(es) failed:\n\
\n\
  {rcpt}\n\
    host mx.example.org [192.0.2.30]\n\
    SMTP error from remote mail server after RCPT TO:<{rcpt}>:\n\
    {error}\n\
\n\
------ This is a copy of the message, including all the headers. ------\n\
\n\
Return-path: <weekly@news.example.com>\n\
From: Field Notes <weekly@news.example.com>\n\
To: {rcpt}\n\
Subject: Field Notes #48\n\
Message-ID: <a1b2c3@news.example.com>\n\
\n\
Hello.\n"
    )
}

/// A qmail-style text bounce for two recipients.
pub fn qmail_two(first: &str, second: &str) -> String {
    format!(
        "From: MAILER-DAEMON@mail.example.net\n\
To: weekly@news.example.com\n\
Subject: failure notice\n\
\n\
Hi. This is the qmail-send program at mail.example.net.\n\
I'm afraid I wasn't able to deliver your message to the following addresses.\n\
This is a permanent error; I've given up. Sorry it didn't work out.\n\
\n\
<{first}>:\n\
192.0.2.40 does not like recipient.\n\
Remote host said: 550 5.1.1 <{first}>: No such user here\n\
Giving up on 192.0.2.40.\n\
\n\
<{second}>:\n\
192.0.2.40 does not like recipient.\n\
Remote host said: 552 5.2.2 <{second}>: Mailbox full\n\
Giving up on 192.0.2.40.\n\
\n\
--- Below this line is a copy of the message.\n\
\n\
Return-Path: <weekly@news.example.com>\n\
From: weekly@news.example.com\n\
Subject: Field Notes #49\n\
\n\
Hello.\n"
    )
}

/// An RFC 5965 complaint about `message_id`, sent to `rcpt`.
pub fn arf(rcpt: &str, message_id: &str) -> String {
    format!(
        "From: Feedback Loop <fbl@isp.example>\n\
To: abuse@news.example.com\n\
Subject: Complaint about your message\n\
MIME-Version: 1.0\n\
Content-Type: multipart/report; report-type=feedback-report; boundary=\"fbl-part\"\n\
\n\
--fbl-part\n\
Content-Type: text/plain\n\
\n\
This is an email abuse report for a message received from 198.51.100.7.\n\
\n\
--fbl-part\n\
Content-Type: message/feedback-report\n\
\n\
Feedback-Type: abuse\n\
User-Agent: ExampleFBL/2.0\n\
Version: 1\n\
Original-Mail-From: <weekly@news.example.com>\n\
Original-Rcpt-To: <{rcpt}>\n\
Source-IP: 198.51.100.7\n\
\n\
--fbl-part\n\
Content-Type: message/rfc822\n\
\n\
From: Field Notes <weekly@news.example.com>\n\
To: {rcpt}\n\
Subject: Field Notes #47\n\
Message-ID: {message_id}\n\
\n\
Hello.\n\
--fbl-part--\n"
    )
}

/// An RFC 6533 DSN for a UTF-8 address.
pub const GLOBAL_DSN: &str = "From: Mail Delivery System <mailer-daemon@mx.example.net>\n\
To: weekly@news.example.com\n\
Subject: Undelivered Mail Returned to Sender\n\
MIME-Version: 1.0\n\
Content-Type: multipart/report; report-type=global-delivery-status; boundary=\"g\"\n\
\n\
--g\n\
Content-Type: text/plain; charset=utf-8\n\
\n\
Your message could not be delivered.\n\
\n\
--g\n\
Content-Type: message/global-delivery-status\n\
\n\
Reporting-MTA: dns; mx.example.net\n\
\n\
Final-Recipient: utf-8; \\x{8AAD}\\x{8005}@example.org\n\
Action: failed\n\
Status: 5.1.1\n\
Diagnostic-Code: smtp; 550 5.1.1 mailbox does not exist\n\
\n\
--g--\n";

/// An out-of-office reply.
pub const VACATION: &str = "From: Reader <reader@example.org>\n\
To: weekly@news.example.com\n\
Subject: Automatic reply: Field Notes #47\n\
Auto-Submitted: auto-replied\n\
\n\
I am away until Monday.\n";

/// An ordinary message that happens to be in the bounce mailbox.
pub const PLAIN: &str = "From: Someone <someone@example.org>\n\
To: weekly@news.example.com\n\
Subject: Loved this week's issue\n\
\n\
Thanks for the links.\n";

/// LF → CRLF.
pub fn crlf(s: &str) -> String {
    s.replace('\n', "\r\n")
}
