#!/usr/bin/env python3
"""Interop tests of `newsletter send` and `newsletter serve` against third-party SMTP servers.

- aiosmtpd (PyPI) captures a real send; every message is parsed back with
  Python's `email` package and its DKIM signature verified with dkimpy.
  Per-recipient faults (550 5.1.1 for some, one 451 for others) are injected
  by the handler.
- `newsletter serve` end to end with aiosmtpd: sign up over HTTP, the
  confirmation message arrives (parsed by Python's `email`, DKIM verified),
  GET of the confirm link changes nothing, POST confirms, `subscribers count`
  and `send --dry-run` include the reader, one-click unsubscribe removes them.
- Postfix's smtp-sink injects faults on whole commands, with PIPELINING on:
  soft rejects (-r), disconnects without a reply (-q) and 421-and-disconnect
  (-Q) that clear up (everyone ends delivered after retries), hard rejects
  (-f: recipients fail, exit 1), in the pipelined group (RCPT, DATA) and at
  the content; a server that dies mid-run (exit 3, then a re-run completes);
  no server at all (exit 3); and a server without PIPELINING (-p). smtp-sink
  stops announcing PIPELINING when it injects -r or -f faults (they imply
  -p), so those run through benches/delay_proxy.py --announce-pipelining,
  which adds the keyword to its EHLO reply (smtp-sink answers pipelined
  commands in order either way). Whether a connection pipelined is read
  from the `-v` log.

Every server listens on 127.0.0.1 and is stopped by its PID. Run by .ci/run
after `cargo build`; NEWSLETTER_BIN overrides the binary.
"""
import asyncio, base64, csv, email, email.policy, json, os, re, shutil, signal, socket
import subprocess, sys, tempfile, threading, time, urllib.error, urllib.parse, urllib.request
from pathlib import Path

import dkim
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
BIN = os.environ.get("NEWSLETTER_BIN", str(ROOT / "target/debug/newsletter"))
ISSUE = "issues/2026-w47.md"
SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, up=True, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            if up:
                return
        except OSError:
            if not up:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} did not come {'up' if up else 'down'}")


class Folder:
    """A newsletter folder: config, the example issue, N subscribers."""

    def __init__(self, port, emails, dkim_key=None, retries=4):
        self.dir = Path(tempfile.mkdtemp(prefix="nl-interop-"))
        (self.dir / "issues").mkdir()
        # A Korean subject with runs of spaces: Python's email package must decode it back exactly.
        text = re.sub(r'^title\s*=\s*".*"$', f'title = "{TITLE}"', (ROOT / ISSUE).read_text(), count=1, flags=re.M)
        (self.dir / ISSUE).write_text(text)
        (self.dir / "subscribers").mkdir()
        with open(self.dir / "subscribers/list.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["email", "name", "status"])
            for i, e in enumerate(emails):
                w.writerow([e, f"구독자 {i}" if i % 2 else f"Reader {i}", "subscribed"])
        cfg = f"""[newsletter]
name = "Field Notes Weekly"
from = "Field Notes <weekly@example.com>"
reply_to = "editor@example.com"
list_id = "weekly.example.com"
unsubscribe_url = "https://example.com/u?token={{token}}"
unsubscribe_mailto = "unsubscribe@example.com"
postal_address = "1 Example Street, Seoul"
bounce_address = "bounces@example.com"
max_age_days = 36500

[smtp]
host = "127.0.0.1"
port = {port}
security = "none"
timeout_secs = 10
concurrency = 4
retries = {retries}
"""
        if dkim_key:
            cfg += f'\n[dkim]\ndomain = "example.com"\nselector = "weekly"\nkey_file = "{dkim_key}"\n'
        (self.dir / "newsletter.toml").write_text(cfg)

    def run(self, *args, background=False):
        env = dict(os.environ, NO_COLOR="1", NEWSLETTER_UNSUBSCRIBE_SECRET="interop-secret-0123456789",
                   NEWSLETTER_RETRY_BASE_MS="300")
        cmd = [BIN, *args]
        if background:
            return subprocess.Popen(cmd, cwd=self.dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return subprocess.run(cmd, cwd=self.dir, env=env, capture_output=True, text=True, timeout=300)

    def status(self):
        r = self.run("status", "--json")
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)["issues"][0]


TITLE = "필드 노트  주간, 제 47 호:   데이터베이스와  운영"


class Capture:
    """aiosmtpd handler: records messages; per-recipient faults by local part."""

    def __init__(self):
        self.messages, self.seen = [], set()
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        if local.startswith("gone"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if local.startswith("flaky"):
            with self.lock:
                first = address not in self.seen
                self.seen.add(address)
            if first:
                return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted"


def dkim_key(traditional=True):
    """A fresh RSA key for [dkim] (PKCS#1, or openssl's default PKCS#8) and
    its public key as the DNS record's p= value."""
    tmp = Path(tempfile.mkdtemp())
    form = ["-traditional"] if traditional else []
    subprocess.run(["openssl", "genrsa", *form, "-out", tmp / "dkim.pem", "2048"], check=True, capture_output=True)
    pub = subprocess.run(["openssl", "rsa", "-in", tmp / "dkim.pem", "-pubout", "-outform", "DER"], check=True, capture_output=True).stdout
    return tmp, base64.b64encode(pub).decode()


def aiosmtpd_scenario():
    print("== aiosmtpd: capture, parse back, DKIM, per-recipient faults")
    tmp, pub_b64 = dkim_key()

    handler = Capture()
    port = free_port()
    ctl = Controller(handler, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        good = [f"reader{i}@example.org" for i in range(40)]
        gone = ["gone1@example.org", "gone2@example.org"]
        flaky = ["flaky1@example.org", "flaky2@example.org"]
        folder = Folder(port, good + gone + flaky, dkim_key=tmp / "dkim.pem")
        r = folder.run("send", ISSUE, "--yes")
        check(r.returncode == 1, f"send exits 1 when some recipients fail permanently (got {r.returncode}: {r.stderr[-400:]})")
        st = folder.status()
        failed = sorted(f["email"] for f in st["failures"])
        check(failed == gone, f"status names exactly the permanent failures: {failed}")
        check(st["sent"] == len(good) + len(flaky), f"status: sent {st['sent']} == {len(good) + len(flaky)}")

        by_rcpt = {}
        for mail_from, rcpts, raw in handler.messages:
            check(mail_from == "bounces@example.com", f"envelope sender is bounce_address ({mail_from})") if len(by_rcpt) == 0 else None
            for rc in rcpts:
                by_rcpt.setdefault(rc, []).append(raw)
        check(sorted(by_rcpt) == sorted(good + flaky), "exactly the good and flaky recipients received the issue")
        check(all(len(v) == 1 for v in by_rcpt.values()), "each of them exactly once")

        title = TITLE
        ids = set()
        dkim_ok = 0
        for rc, (raw,) in sorted(by_rcpt.items()):
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            ok = True
            ok &= msg["To"].addresses[0].addr_spec == rc
            ok &= str(msg["Subject"]) == title
            ok &= msg.get_content_type() == "multipart/alternative"
            parts = list(msg.iter_parts())
            ok &= [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
            ok &= all(p.get_content_charset() == "utf-8" for p in parts)
            text, html = parts[0].get_content(), parts[1].get_content()
            ok &= "1 Example Street, Seoul" in text and "1 Example Street, Seoul" in html
            lu = str(msg["List-Unsubscribe"])
            m = re.search(r"<(https://example\.com/u\?token=[^>]+)>", lu)
            ok &= bool(m) and "mailto:unsubscribe@example.com" in lu
            ok &= str(msg["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
            ok &= "weekly.example.com" in str(msg["List-Id"])
            mid = str(msg["Message-ID"])
            ok &= bool(re.fullmatch(r"<[A-Za-z0-9._-]+\.[0-9a-f]{16}@example\.com>", mid))
            ids.add(mid)
            if dkim.verify(raw, dnsfunc=lambda name, timeout=5: ("v=DKIM1; k=rsa; p=" + pub_b64).encode()):
                dkim_ok += 1
            if not ok:
                check(False, f"message to {rc} is well-formed (To, decoded Subject, parts, List-* headers, Message-ID)")
                print(raw[:3000].decode("utf-8", "replace"))
                break
        else:
            check(True, f"all {len(by_rcpt)} messages well-formed: To, decoded Korean-safe Subject == {title!r}, text then html, UTF-8, List-Unsubscribe(+Post), List-Id, Message-ID")
        check(len(ids) == len(by_rcpt), "Message-IDs are unique")
        check(dkim_ok == len(by_rcpt), f"DKIM signatures verify with dkimpy: {dkim_ok}/{len(by_rcpt)}")
        sig = email.message_from_bytes(handler.messages[0][2])["DKIM-Signature"]
        signed = re.search(r"h=([^;]+)", sig.replace("\r\n", "").replace(" ", "")).group(1).lower().split(":")
        need = ["from", "to", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post"]
        check(all(h in signed for h in need), f"DKIM covers {need} (h={signed})")

        lst = folder.run("subscribers", "list")
        check(all(g not in lst.stdout for g in gone) and "reader0@example.org" in lst.stdout,
              "550 5.1.1 recipients were suppressed as bounced")
        again = folder.run("send", ISSUE, "--yes")
        check(again.returncode == 0 and len(handler.messages) == len(good) + len(flaky),
              f"a second run sends nothing more (exit {again.returncode})")
    finally:
        ctl.stop()


def http(method, url, data=None, headers=None):
    """(status, body) of one request; errors are answers too."""
    body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def serve_scenario():
    print("== newsletter serve: sign-up, confirmation through aiosmtpd (DKIM, a PKCS#8 key), confirm, send, one-click")
    tmp, pub_b64 = dkim_key(traditional=False)
    handler = Capture()
    port = free_port()
    ctl = Controller(handler, hostname="127.0.0.1", port=port)
    ctl.start()
    proc = None
    try:
        folder = Folder(port, ["reader0@example.org"], dkim_key=tmp / "dkim.pem")
        count = lambda: folder.run("subscribers", "count").stdout.strip()
        web = free_port()
        proc = folder.run("serve", "--listen", f"127.0.0.1:{web}", background=True)
        wait_port(web)
        base = f"http://127.0.0.1:{web}"
        status, page = http("GET", base + "/subscribe")
        check(status == 200 and 'name="email"' in page, "GET /subscribe shows the form")
        status, page = http("POST", base + "/subscribe", {"email": "new.reader@example.net", "name": "새 독자"})
        check(status == 200, f"POST /subscribe answers 200 (got {status})")
        end = time.time() + 20
        while not handler.messages and time.time() < end:
            time.sleep(0.05)
        check(len(handler.messages) == 1, "aiosmtpd received one confirmation message")
        mail_from, rcpts, raw = handler.messages[0]
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        check(rcpts == ["new.reader@example.net"] and mail_from == "bounces@example.com", f"envelope {mail_from} -> {rcpts}")
        check(str(msg["Subject"]) == "Confirm your subscription to Field Notes Weekly", f"subject {msg['Subject']!r}")
        check(msg["To"].addresses[0].display_name == "새 독자", f"To carries the name: {msg['To']}")
        check(dkim.verify(raw, dnsfunc=lambda name, timeout=5: ("v=DKIM1; k=rsa; p=" + pub_b64).encode()),
              "the confirmation's DKIM signature verifies with dkimpy")
        text = msg.get_body(("plain",)).get_content()
        link = re.search(r"https://example\.com(/confirm\?token=[A-Za-z0-9_-]+)", text)
        check(bool(link), "the text part carries the confirm link")
        path = link.group(1)
        status, page = http("GET", base + path)
        check(status == 200 and "<button" in page and count() == "1", f"GET /confirm shows a button and changes nothing (count {count()})")
        status, page = http("POST", base + path, b"")
        check(status == 200 and count() == "2", f"POST /confirm confirms: count {count()}")
        r = folder.run("send", ISSUE, "--dry-run")
        eml = folder.dir / "outbox" / "2026-w47" / "new.reader@example.net.eml"
        check(r.returncode == 0 and eml.exists(), "send --dry-run includes the new reader")
        sent = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        token = re.search(r"token=([A-Za-z0-9_-]+)>", str(sent["List-Unsubscribe"])).group(1)
        status, page = http("POST", f"{base}/u?token={token}", b"List-Unsubscribe=One-Click",
                            {"Content-Type": "application/x-www-form-urlencoded"})
        check(status == 200 and count() == "1", f"one-click unsubscribe removes them: count {count()}")
    finally:
        if proc is not None:
            terminate(proc)
        ctl.stop()


def start_sink(port, *opts):
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    p = subprocess.Popen([SMTP_SINK, *user, *opts, f"127.0.0.1:{port}", "256"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return p


def terminate(p):
    """Stops a child by its PID: SIGTERM, then SIGKILL after 5 s."""
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def stop(p, port):
    terminate(p)
    wait_port(port, up=False)


PROXY = ROOT / "benches/delay_proxy.py"


def start_proxy(port, target):
    p = subprocess.Popen([sys.executable, str(PROXY), str(port), str(target), "--delay-ms", "0", "--announce-pipelining"])
    wait_port(port)
    return p



def pipelined(err):
    """The -v log says whether the connections pipelined."""
    lines = [l for l in err.splitlines() if "smtp: connected to" in l]
    return bool(lines) and all("pipelining" in l for l in lines)


def transient_then_healthy(emails, what, fault, proxy=False):
    print(f"== smtp-sink: {what} for a while, then healthy (pipelining on)")
    sink_port = free_port()
    port = free_port() if proxy else sink_port
    px = start_proxy(port, sink_port) if proxy else None
    folder = Folder(port, emails, retries=5)
    sink = start_sink(sink_port, *fault)
    proc = folder.run("-v", "send", ISSUE, "--yes", background=True)
    time.sleep(0.5)
    stop(sink, sink_port)
    sink = start_sink(sink_port)
    out, err = proc.communicate(timeout=120)
    stop(sink, sink_port)
    if px:
        terminate(px)
    st = folder.status()
    check(proc.returncode == 0, f"transient fault ({what}) ends with exit 0 (got {proc.returncode}: {err[-300:]})")
    check(st["sent"] == len(emails) and st["failed"] == 0, f"everyone delivered after retries: sent {st['sent']}/{len(emails)}")
    check(pipelined(err), "every connection pipelined")
    faults = err.count("transient failure") + err.count("may have arrived")
    check(faults > 0, f"the fault was met ({faults} retries)")
    return err


def permanent(emails, what, fault):
    print(f"== smtp-sink: {what} (pipelining on)")
    sink_port, port = free_port(), free_port()
    px = start_proxy(port, sink_port)
    folder = Folder(port, emails)
    sink = start_sink(sink_port, *fault)
    r = folder.run("-v", "send", ISSUE, "--yes")
    stop(sink, sink_port)
    terminate(px)
    st = folder.status()
    n = len(emails)
    check(r.returncode == 1, f"permanent faults: exit 1 (got {r.returncode}: {r.stderr[-300:]})")
    check(st["failed"] == n and len(st["failures"]) == n and st["sent"] == 0, f"status names the {n} failed recipients")
    check(pipelined(r.stderr), "every connection pipelined")


def sink_scenarios():
    emails = [f"user{i}@example.net" for i in range(60)]

    transient_then_healthy(emails, "4xx to every RCPT in the group (-r rcpt)", ["-r", "rcpt"], proxy=True)
    transient_then_healthy(emails, "4xx to every content (-r .)", ["-r", "."], proxy=True)
    transient_then_healthy(emails, "disconnect after DATA, no reply (-q data)", ["-q", "data"])
    transient_then_healthy(emails, "421 and disconnect at RCPT (-Q rcpt)", ["-Q", "rcpt"])
    err = transient_then_healthy(emails, "disconnect after the content, no reply (-q .)", ["-q", "."])
    check("may have arrived twice" in err, "messages whose reply was lost are reported as maybe delivered")
    permanent(emails[:5], "5xx to every RCPT in the group (-f rcpt)", ["-f", "rcpt"])
    permanent(emails[:5], "5xx to every content, the next group in the same write (-f .)", ["-f", "."])

    print("== smtp-sink without PIPELINING (-p): one command at a time")
    port = free_port()
    folder = Folder(port, emails[:20])
    sink = start_sink(port, "-p")
    r = folder.run("-v", "send", ISSUE, "--yes")
    stop(sink, port)
    st = folder.status()
    check(r.returncode == 0 and st["sent"] == 20, f"sent {st['sent']}/20 (exit {r.returncode}: {r.stderr[-300:]})")
    lines = [l for l in r.stderr.splitlines() if "smtp: connected to" in l]
    check(bool(lines) and not any("pipelining" in l for l in lines), "no connection pipelined")

    print("== smtp-sink: dies after 20 messages, then a re-run completes")
    port = free_port()
    folder = Folder(port, emails)
    sink = start_sink(port, "-M", "20")
    r = folder.run("send", ISSUE, "--yes")
    sink.wait(10)
    st = folder.status()
    check(r.returncode == 3, f"server died mid-run: exit 3 (got {r.returncode}: {r.stderr[-300:]})")
    check(st["sent"] <= 20 and st["finished_at"] is None, f"journal shows {st['sent']} sent (<= 20), unfinished")
    sink = start_sink(port)
    r2 = folder.run("send", ISSUE, "--yes")
    stop(sink, port)
    st = folder.status()
    check(r2.returncode == 0 and st["sent"] == len(emails) and st["finished_at"], f"re-run completes: sent {st['sent']}/{len(emails)}")

    print("== no server at all")
    port = free_port()
    folder = Folder(port, emails[:3])
    r = folder.run("send", ISSUE, "--yes")
    check(r.returncode == 3 and "error:" in r.stderr, f"unreachable server: exit 3 with a message (got {r.returncode}: {r.stderr.strip()[-200:]})")


if __name__ == "__main__":
    aiosmtpd_scenario()
    serve_scenario()
    sink_scenarios()
    print(f"interop: {len(FAILURES)} failed")
    sys.exit(1 if FAILURES else 0)
