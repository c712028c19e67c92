//! Bounce messages written for these tests (not taken from any corpus), in
//! the shapes real MTAs send: a Postfix-style DSN, an Exim-style text
//! bounce, a qmail-style one, an ARF complaint, an RFC 6533 global DSN, an
//! auto-reply and an ordinary message. Raw strings keep the indentation
//! that the MTAs' formats have.

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
        r#"Return-Path: <>
Received: by mx.example.net (Postfix) id 4F1A2B3C4D; Tue,  3 Mar 2026 10:00:01 +0000 (UTC)
Date: Tue,  3 Mar 2026 10:00:01 +0000 (UTC)
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: weekly@news.example.com
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="4F1A2B3C4D.1772531201/mx.example.net"
Message-Id: <20260303100001.4F1A2B3C4D@mx.example.net>

This is a MIME-encapsulated message.

--4F1A2B3C4D.1772531201/mx.example.net
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<{rcpt}>: host mail.example.org[192.0.2.25] said: {diagnostic} (in reply to
    RCPT TO command)

--4F1A2B3C4D.1772531201/mx.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
X-Postfix-Queue-ID: 4F1A2B3C4D
Arrival-Date: Tue,  3 Mar 2026 09:59:58 +0000 (UTC)

Final-Recipient: rfc822; {rcpt}
Original-Recipient: rfc822;{rcpt}
Action: failed
Status: {status}
Remote-MTA: dns; mail.example.org
Diagnostic-Code: smtp; {diagnostic}

--4F1A2B3C4D.1772531201/mx.example.net
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: Field Notes <weekly@news.example.com>
To: {rcpt}
Subject: Field Notes #47
Message-ID: {message_id}
Date: Tue,  3 Mar 2026 09:59:57 +0000

--4F1A2B3C4D.1772531201/mx.example.net--
"#
    )
}

/// An Exim-style text bounce (no DSN part), with the copy of the message.
pub fn exim_text(rcpt: &str, error: &str) -> String {
    format!(
        r#"Return-path: <>
From: Mail Delivery System <Mailer-Daemon@relay.example.net>
To: weekly@news.example.com
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: {rcpt}
Auto-Submitted: auto-replied
Date: Wed, 04 Mar 2026 08:00:00 +0000

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {rcpt}
    host mx.example.org [192.0.2.30]
    SMTP error from remote mail server after RCPT TO:<{rcpt}>:
    {error}

------ This is a copy of the message, including all the headers. ------

Return-path: <weekly@news.example.com>
From: Field Notes <weekly@news.example.com>
To: {rcpt}
Subject: Field Notes #48
Message-ID: <a1b2c3@news.example.com>

Hello.
"#
    )
}

/// A qmail-style text bounce for two recipients.
pub fn qmail_two(first: &str, second: &str) -> String {
    format!(
        r#"From: MAILER-DAEMON@mail.example.net
To: weekly@news.example.com
Subject: failure notice

Hi. This is the qmail-send program at mail.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<{first}>:
192.0.2.40 does not like recipient.
Remote host said: 550 5.1.1 <{first}>: No such user here
Giving up on 192.0.2.40.

<{second}>:
192.0.2.40 does not like recipient.
Remote host said: 552 5.2.2 <{second}>: Mailbox full
Giving up on 192.0.2.40.

--- Below this line is a copy of the message.

Return-Path: <weekly@news.example.com>
From: weekly@news.example.com
Subject: Field Notes #49

Hello.
"#
    )
}

/// An RFC 5965 complaint about `message_id`, sent to `rcpt`.
pub fn arf(rcpt: &str, message_id: &str) -> String {
    format!(
        r#"From: Feedback Loop <fbl@isp.example>
To: abuse@news.example.com
Subject: Complaint about your message
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="fbl-part"

--fbl-part
Content-Type: text/plain

This is an email abuse report for a message received from 198.51.100.7.

--fbl-part
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ExampleFBL/2.0
Version: 1
Original-Mail-From: <weekly@news.example.com>
Original-Rcpt-To: <{rcpt}>
Source-IP: 198.51.100.7

--fbl-part
Content-Type: message/rfc822

From: Field Notes <weekly@news.example.com>
To: {rcpt}
Subject: Field Notes #47
Message-ID: {message_id}

Hello.
--fbl-part--
"#
    )
}

/// An RFC 6533 DSN for a UTF-8 address.
pub const GLOBAL_DSN: &str = r#"From: Mail Delivery System <mailer-daemon@mx.example.net>
To: weekly@news.example.com
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=global-delivery-status; boundary="g"

--g
Content-Type: text/plain; charset=utf-8

Your message could not be delivered.

--g
Content-Type: message/global-delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: utf-8; \x{8AAD}\x{8005}@example.org
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 mailbox does not exist

--g--
"#;

/// An out-of-office reply.
pub const VACATION: &str = r#"From: Reader <reader@example.org>
To: weekly@news.example.com
Subject: Automatic reply: Field Notes #47
Auto-Submitted: auto-replied

I am away until Monday.
"#;

/// An ordinary message that happens to be in the bounce mailbox.
pub const PLAIN: &str = r#"From: Someone <someone@example.org>
To: weekly@news.example.com
Subject: Loved this week's issue

Thanks for the links.
"#;

/// LF → CRLF.
pub fn crlf(s: &str) -> String {
    s.replace('\n', "\r\n")
}
