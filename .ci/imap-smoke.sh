#!/usr/bin/env bash
# CI: `newsletter bounces fetch` against Debian's Dovecot, started here as a
# private instance (foreground, loopback port, throw-away passwd-file user,
# a certificate made for this run) and stopped by its PID. A bounce of the
# example issue goes in with IMAP APPEND (Python's imaplib); fetch must
# suppress its address and flag the message.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/target/debug/newsletter"
d=$(mktemp -d)
chmod 755 "$d"
pid=""
cleanup() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; rm -rf "$d"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
openssl req -x509 -nodes -newkey rsa:2048 -days 1 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -addext "basicConstraints=critical,CA:FALSE" -keyout "$d/key.pem" -out "$d/cert.pem" 2>/dev/null
mkdir -p "$d/run" "$d/state" "$d/mail/bounces"
chown -R 65534:65534 "$d/mail"
echo "bounces:{PLAIN}ci-imap-secret:65534:65534::$d/mail/bounces" >"$d/passwd"
cat >"$d/dovecot.conf" <<CONF
base_dir = $d/run
state_dir = $d/state
log_path = $d/dovecot.log
listen = 127.0.0.1
protocols = imap
default_login_user = dovenull
default_internal_user = dovecot
ssl = required
ssl_cert = <$d/cert.pem
ssl_key = <$d/key.pem
auth_mechanisms = plain
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN $d/passwd
}
userdb {
  driver = passwd-file
  args = $d/passwd
}
service imap-login {
  chroot =
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = $port
    ssl = yes
  }
}
service anvil {
  chroot =
}
CONF
dovecot -F -c "$d/dovecot.conf" &
pid=$!
for _ in $(seq 100); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null; then break; fi
    sleep 0.1
done

work="$d/news"
mkdir -p "$work"
cp -r "$root/newsletter.toml" "$root/issues" "$root/subscribers" "$work/"
cat >>"$work/newsletter.toml" <<CONF

[bounces]
host = "localhost"
port = $port
security = "tls"
username = "bounces"
password_env = "CI_IMAP_PASSWORD"
ca_file = "$d/cert.pem"
CONF
reader=minji.kim@example.com
hash=$(printf '2026-w47\0%s' "$reader" | sha256sum | cut -c1-16)
D="$d" PORT="$port" READER="$reader" MID="<2026-w47.$hash@example.com>" python3 - <<'PY'
import imaplib, os, ssl
ctx = ssl.create_default_context(cafile=os.environ["D"] + "/cert.pem")
m = imaplib.IMAP4_SSL("localhost", int(os.environ["PORT"]), ssl_context=ctx)
m.login("bounces", "ci-imap-secret")
dsn = f"""From: MAILER-DAEMON@mx.example.net
To: bounces@example.com
Subject: Undelivered Mail Returned to Sender
Message-Id: <ci-smoke-1@mx.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: text/plain

Your message could not be delivered.

--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; {os.environ["READER"]}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--b
Content-Type: text/rfc822-headers

From: Field Notes <weekly@example.com>
To: {os.environ["READER"]}
Message-ID: {os.environ["MID"]}

--b--
""".replace("\n", "\r\n")
m.append("INBOX", None, None, dsn.encode())
m.append("INBOX", None, None, b"From: a@example.org\r\nSubject: hello\r\n\r\nnot a bounce\r\n")
m.logout()
PY
out=$(cd "$work" && CI_IMAP_PASSWORD=ci-imap-secret NEWSLETTER_UNSUBSCRIBE_SECRET=ci-example-secret-0123456789 "$bin" bounces fetch)
echo "$out"
test "$out" = "suppressed $reader as bounced (1 hard bounce(s), last: userunknown 5.1.1, issue 2026-w47)"
D="$d" PORT="$port" python3 - <<'PY'
import imaplib, os, ssl
ctx = ssl.create_default_context(cafile=os.environ["D"] + "/cert.pem")
m = imaplib.IMAP4_SSL("localhost", int(os.environ["PORT"]), ssl_context=ctx)
m.login("bounces", "ci-imap-secret")
m.select("INBOX", readonly=True)
_, data = m.fetch("1:2", "(FLAGS)")
flags = [d.decode() for d in data]
print(flags)
assert "$NewsletterProcessed" in flags[0] and "\\Seen" in flags[0], flags
assert "$NewsletterProcessed" not in flags[1] and "\\Seen" not in flags[1], flags
m.logout()
PY
echo "imap smoke: ok"
