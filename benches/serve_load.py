#!/usr/bin/env python3
"""Memory and latency of `newsletter serve` under load (a benchmark, not a test).

Starts the release binary on 127.0.0.1 with `[serve] max_connections = 2048`,
measures its resident memory idle (the baseline), then holds N idle
connections (half silent, half slowloris: a partial request head) while
client threads make M normal requests (the sign-up form, sign-up POSTs from
one client, so most meet the rate limit, /healthz, a 404). It samples VmRSS every
20 ms and reads VmHWM (peak RSS) from /proc at the end, and reports peak RSS
as a ratio of the idle baseline, plus request latency percentiles.

    python3 benches/serve_load.py [--idle 1000] [--requests 4000] [--threads 16]

Run after `cargo build --release`; NEWSLETTER_BIN overrides the binary.
Every socket is on loopback; the run is bounded in count and time.
"""
import argparse, os, resource, socket, subprocess, sys, tempfile, threading, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = os.environ.get("NEWSLETTER_BIN", str(ROOT / "target/release/newsletter"))
KEY = "bench-secret-key-0123456789"


def status_kb(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def request(port, raw):
    t = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(raw)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return time.perf_counter() - t, int(data.split(b" ", 2)[1]) if data else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--idle", type=int, default=1000)
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--threads", type=int, default=16)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * a.idle + 1024)), hard))

    d = Path(tempfile.mkdtemp(prefix="nl-serve-bench-"))
    (d / "subscribers").mkdir()
    (d / "subscribers/list.csv").write_text("email\nreader@example.org\n")
    (d / "newsletter.toml").write_text(
        '[newsletter]\nname = "Bench"\nfrom = "b@example.com"\nlist_id = "bench.example.com"\n'
        'unsubscribe_url = "https://example.com/u?token={token}"\n'
        '[smtp]\nhost = "127.0.0.1"\nport = 1\nsecurity = "none"\n'
        "[serve]\nmax_connections = 2048\n")
    version = subprocess.run([BIN, "--version"], capture_output=True, text=True).stdout.strip()
    env = dict(os.environ, NEWSLETTER_UNSUBSCRIBE_SECRET=KEY, NO_COLOR="1")
    port = socket.socket(); port.bind(("127.0.0.1", 0)); p = port.getsockname()[1]; port.close()
    srv = subprocess.Popen([BIN, "-q", "serve", "--listen", f"127.0.0.1:{p}"], cwd=d, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", p), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        warm = [request(p, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") for _ in range(20)]
        time.sleep(0.5)
        base_rss = status_kb(srv.pid, "VmRSS")

        peak_seen = [base_rss]
        stop = threading.Event()
        def sampler():
            while not stop.is_set():
                peak_seen[0] = max(peak_seen[0], status_kb(srv.pid, "VmRSS"))
                time.sleep(0.02)
        threading.Thread(target=sampler, daemon=True).start()

        t0 = time.perf_counter()
        idle = []
        for i in range(a.idle):
            s = socket.create_connection(("127.0.0.1", p), timeout=30)
            if i % 2:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 2000)
            idle.append(s)
        opened = time.perf_counter() - t0
        kinds = [
            b"GET /subscribe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            b"GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            b"POST /subscribe HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"X-Forwarded-For: 192.0.2.1\r\nConnection: close\r\nContent-Length: 21\r\n\r\nemail=x%40example.org",
        ]
        lat, codes, lock = [], {}, threading.Lock()
        def worker(k):
            for i in range(k, a.requests, a.threads):
                dt, code = request(p, kinds[i % len(kinds)])
                with lock:
                    lat.append(dt)
                    codes[code] = codes.get(code, 0) + 1
        t1 = time.perf_counter()
        ths = [threading.Thread(target=worker, args=(k,)) for k in range(a.threads)]
        [t.start() for t in ths]
        [t.join() for t in ths]
        busy = time.perf_counter() - t1
        time.sleep(0.2)
        stop.set()
        hwm = status_kb(srv.pid, "VmHWM")
        still_open = sum(1 for s in idle if s.fileno() >= 0)
        for s in idle:
            s.close()
        lat.sort()
        pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
        print(f"binary:            {version} ({BIN})")
        print(f"idle connections:  {a.idle} (half silent, half with a partial head), opened in {opened:.2f} s")
        print(f"normal requests:   {len(lat)} from {a.threads} threads in {busy:.2f} s ({len(lat) / busy:.0f}/s); status codes {dict(sorted(codes.items()))}")
        print(f"latency ms:        p50 {pct(0.5):.2f}, p99 {pct(0.99):.2f}, max {lat[-1] * 1000:.2f}")
        print(f"baseline RSS:      {base_rss / 1024:.1f} MiB (idle server, after 20 requests)")
        print(f"peak RSS (VmHWM):  {hwm / 1024:.1f} MiB = {hwm / base_rss:.2f} x baseline; sampled VmRSS peak {peak_seen[0] / 1024:.1f} MiB")
        if a.idle:
            print(f"per idle connection: ~{(hwm - base_rss) / a.idle:.1f} KiB above baseline (upper bound: includes the request load)")
    finally:
        srv.terminate()
        srv.wait(10)


if __name__ == "__main__":
    main()
