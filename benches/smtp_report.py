#!/usr/bin/env python3
"""Helpers of benches/smtp.sh (standard library only).

  subscribers N FILE           write N subscribers (CSV: email,name,status)
  mailmerge EML DIR ROWS PORT  mailmerge inputs from one of our .eml files: the
                               same text and HTML bodies as a multipart/alternative
                               template with {{name}}/{{email}} fields, a ROWS-row
                               database and a server config for 127.0.0.1:PORT
  report CSV ENV OUT.md OUT.svg [--smoke]
                               one table (median/min/max messages/s, peak RSS,
                               ratios) printed; with OUT.md, BENCHMARKS.md and
                               the SVG plot written too
"""
import csv
import email
import email.policy
import statistics
import sys
from pathlib import Path

RECIPIENT_NAME = "Reader Number One"
RECIPIENT_EMAIL = "reader0000000@example.com"


def subscribers(n, path):
    with open(path, "w", newline="") as f:
        f.write("email,name,status\n")
        for i in range(int(n)):
            f.write(f"reader{i:07d}@example.com,Reader {i},subscribed\n")


def mailmerge_inputs(eml, outdir, rows, port):
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    msg = email.message_from_bytes(Path(eml).read_bytes(), policy=email.policy.default)
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()

    def fields(s):
        # The recipient's values become merge fields, as in our own template.
        return s.replace(RECIPIENT_EMAIL, "{{email}}").replace(RECIPIENT_NAME, "{{name}}")

    boundary = "=_mailmerge_bench_7f3a"
    template = (
        "TO: {{name}} <{{email}}>\n"
        f"FROM: {msg['From']}\n"
        f"SUBJECT: {msg['Subject']}\n"
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/alternative; boundary="{boundary}"\n\n'
        f"--{boundary}\nContent-Type: text/plain; charset=utf-8\n\n{fields(text)}\n"
        f"--{boundary}\nContent-Type: text/html; charset=utf-8\n\n{fields(html)}\n"
        f"--{boundary}--\n"
    )
    (out / "mailmerge_template.txt").write_text(template)
    with open(out / "mailmerge_database.csv", "w", newline="") as f:
        f.write("email,name\n")
        for i in range(int(rows)):
            f.write(f"reader{i:07d}@example.com,Reader {i}\n")
    (out / "mailmerge_server.conf").write_text(
        f"[smtp_server]\nhost = 127.0.0.1\nport = {port}\nratelimit = 0\n"
    )


def load(path):
    rows = []
    with open(path) as f:
        for r in csv.DictReader(f):
            rows.append(r)
    return rows


def fmt(x, digits=0):
    return f"{x:,.{digits}f}"


def summarise(rows):
    """(kind, conc, n) -> dict(median, min, max, rss_mb, runs, failed)"""
    groups = {}
    for r in rows:
        key = (r["kind"], int(r["conc"]), int(r["n"]))
        g = groups.setdefault(key, {"rates": [], "rss": [], "failed": 0, "bytes": int(r["bytes"])})
        if r["rc"] != "0":
            g["failed"] += 1
            continue
        g["rates"].append(float(r["rate"]))
        g["rss"].append(int(r["rss_kb"]))
    out = {}
    for key, g in groups.items():
        rates = g["rates"] or [float("nan")]
        out[key] = {
            "median": statistics.median(rates),
            "min": min(rates),
            "max": max(rates),
            "rss_mb": max(g["rss"]) / 1024 if g["rss"] else float("nan"),
            "runs": len(g["rates"]),
            "failed": g["failed"],
            "bytes": g["bytes"],
        }
    return out


LABELS = {
    "limit": "smtp-source → smtp-sink (-d), the limit",
    "us": "newsletter send --yes (journal on)",
    "mailmerge": "mailmerge --no-dry-run --no-limit",
    "dry-disk": "newsletter send --dry-run, outbox on ext4 disk",
    "dry-shm": "newsletter send --dry-run, outbox on /dev/shm (tmpfs)",
}
ORDER = ["limit", "us", "mailmerge", "dry-disk", "dry-shm"]


def table(s):
    mm = [v["median"] for (k, _, _), v in s.items() if k == "mailmerge"]
    mm = mm[0] if mm else None
    lines = [
        "| what | conc. | recipients | msg bytes | runs | messages/s median | min | max | peak RSS MB | us / limit | us / mailmerge |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind in ORDER:
        for (k, c, n), v in sorted(s.items()):
            if k != kind:
                continue
            ratio_limit = ratio_mm = ""
            if k in ("us",):
                lim = s.get(("limit", c, n))
                if lim:
                    ratio_limit = f"{v['median'] / lim['median']:.0%}"
            if k in ("us", "dry-disk", "dry-shm") and mm:
                ratio_mm = f"{v['median'] / mm:.0f}×"
            runs = str(v["runs"]) + (f" ({v['failed']} failed)" if v["failed"] else "")
            lines.append(
                f"| {LABELS[k]} | {c} | {fmt(n)} | {fmt(v['bytes'])} | {runs} | **{fmt(v['median'])}** | "
                f"{fmt(v['min'])} | {fmt(v['max'])} | {v['rss_mb']:.1f} | {ratio_limit} | {ratio_mm} |"
            )
    return "\n".join(lines)


def svg_plot(s, path):
    """Messages/s against concurrency: us and the limit, one line per recipient count."""
    series = {}
    for (k, c, n), v in s.items():
        if k in ("limit", "us") and v["runs"]:
            series.setdefault((k, n), []).append((c, v["median"], v["min"], v["max"]))
    if not series:
        return
    concs = sorted({c for pts in series.values() for c, *_ in pts})
    ymax = max(mx for pts in series.values() for *_, mx in pts) * 1.1
    W, H, L, R, T, B = 640, 400, 70, 230, 30, 50
    pw, ph = W - L - R, H - T - B

    def x(c):
        i = concs.index(c)
        return L + (pw * i / (len(concs) - 1) if len(concs) > 1 else pw / 2)

    def y(v):
        return T + ph - ph * v / ymax

    colors = {"limit": "#555555", "us": "#1a73e8"}
    dashes = [None, "6,4", "2,3"]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
        f'<text x="{L}" y="18" font-size="14">messages/s against concurrency (median, bars: min-max)</text>',
        f'<line x1="{L}" y1="{T + ph}" x2="{L + pw}" y2="{T + ph}" stroke="black"/>',
        f'<line x1="{L}" y1="{T}" x2="{L}" y2="{T + ph}" stroke="black"/>',
    ]
    step = 10 ** (len(str(int(ymax))) - 1)
    if ymax / step < 4:
        step //= 2 or 1
    v = 0
    while v <= ymax:
        out.append(f'<line x1="{L - 4}" y1="{y(v):.1f}" x2="{L + pw}" y2="{y(v):.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{L - 8}" y="{y(v) + 4:.1f}" text-anchor="end">{v:,}</text>')
        v += step
    for c in concs:
        out.append(f'<text x="{x(c):.1f}" y="{T + ph + 18}" text-anchor="middle">{c}</text>')
    out.append(f'<text x="{L + pw / 2}" y="{H - 10}" text-anchor="middle">connections (SMTP sessions)</text>')
    counts = sorted({n for _, n in series})
    ly = T + 10
    for (k, n), pts in sorted(series.items()):
        pts.sort()
        dash = dashes[counts.index(n) % len(dashes)]
        d = f' stroke-dasharray="{dash}"' if dash else ""
        col = colors[k]
        path_d = " ".join(f"{'M' if i == 0 else 'L'}{x(c):.1f},{y(m):.1f}" for i, (c, m, _, _) in enumerate(pts))
        out.append(f'<path d="{path_d}" fill="none" stroke="{col}" stroke-width="2"{d}/>')
        for c, m, lo, hi in pts:
            out.append(f'<line x1="{x(c):.1f}" y1="{y(lo):.1f}" x2="{x(c):.1f}" y2="{y(hi):.1f}" stroke="{col}"/>')
            out.append(f'<circle cx="{x(c):.1f}" cy="{y(m):.1f}" r="3" fill="{col}"/>')
        name = "smtp-source (limit)" if k == "limit" else "newsletter (us)"
        out.append(f'<line x1="{W - R + 15}" y1="{ly}" x2="{W - R + 45}" y2="{ly}" stroke="{col}" stroke-width="2"{d}/>')
        out.append(f'<text x="{W - R + 50}" y="{ly + 4}">{name}, {n:,}</text>')
        ly += 18
    out.append("</svg>")
    Path(path).write_text("\n".join(out) + "\n")


def report(csv_path, env_path, md_path, svg_path, notes_path=None):
    s = summarise(load(csv_path))
    t = table(s)
    print(t)
    if md_path is None:
        return
    env = Path(env_path).read_text().strip()
    notes = Path(notes_path).read_text().strip() if notes_path and Path(notes_path).exists() else ""
    svg_plot(s, svg_path)
    md = [
        "# Benchmarks",
        "",
        "Whole-process throughput of `newsletter send` over SMTP on loopback, against",
        "the limit of this machine (Postfix's `smtp-source` → `smtp-sink`) and a peer",
        "tool (`mailmerge`). Produced by `benches/smtp.sh`; per-message costs inside",
        "the process: `cargo bench --bench pipeline`.",
        "",
        "## Machine and tools",
        "",
        "```",
        env,
        "```",
        "",
        "## Results",
        "",
        t,
        "",
        f"![messages/s against concurrency]({Path(svg_path).name})",
        "",
    ]
    if notes:
        md += [notes, ""]
    Path(md_path).write_text("\n".join(md))


def main(argv):
    if not argv:
        sys.exit(__doc__)
    cmd, args = argv[0], argv[1:]
    if cmd == "subscribers":
        subscribers(*args)
    elif cmd == "mailmerge":
        mailmerge_inputs(*args)
    elif cmd == "report":
        smoke = "--smoke" in args
        args = [a for a in args if a != "--smoke"]
        if smoke:
            report(args[0], None, None, None)
        else:
            report(*args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
