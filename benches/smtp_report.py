#!/usr/bin/env python3
"""Helpers of benches/smtp.sh (standard library only).

  subscribers N FILE           write N subscribers (CSV: email,name,status)
  mailmerge EML DIR ROWS PORT  mailmerge inputs from one of our .eml files: the
                               same text and HTML bodies as a multipart/alternative
                               template with {{name}}/{{email}} fields, a ROWS-row
                               database and a server config for 127.0.0.1:PORT
  report CSV ENV OUT.md OUT.svg NOTES.md... | report CSV --smoke
                               the tables (targets, loopback, latency, scale,
                               dry run; ratios against smtp-source per run)
                               printed; BENCHMARKS.md and the SVG plot written
                               unless --smoke
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
    with open(path) as f:
        return list(csv.DictReader(f))


def fmt(x, digits=0):
    return f"{x:,.{digits}f}"


def ok(rows, kind, conc=None, n=None):
    return [
        r
        for r in rows
        if r["kind"] == kind and r["rc"] == "0" and (conc is None or int(r["conc"]) == conc) and (n is None or int(r["n"]) == n)
    ]


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def rates(rows):
    return [float(r["rate"]) for r in rows]


def ratios(rows, kind, base, conc, n):
    """us/base per run (the same rep: measured back to back)."""
    by_rep = {r["rep"]: float(r["rate"]) for r in ok(rows, base, conc, n)}
    return [float(r["rate"]) / by_rep[r["rep"]] for r in ok(rows, kind, conc, n) if r["rep"] in by_rep]


def spread(xs, f=lambda v: f"{v:.0%}"):
    if not xs:
        return "n/a"
    if len(xs) == 1:
        return f(xs[0])
    return f"**{f(med(xs))}** ({f(min(xs))}–{f(max(xs))})"


def concs_of(rows, kind):
    return sorted({int(r["conc"]) for r in rows if r["kind"] == kind})


def ns_of(rows, kind):
    return sorted({int(r["n"]) for r in rows if r["kind"] == kind})


def loopback_table(rows):
    lines = [
        "| connections | recipients | smtp-source msg/s | us msg/s (journal on) | us / smtp-source | us without journal msg/s | without journal / smtp-source | journal commits per message | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for n in ns_of(rows, "us"):
        for c in concs_of(rows, "us"):
            us = ok(rows, "us", c, n)
            commits = [int(r["commits"]) / int(r["n"]) for r in us if int(r["commits"])]
            rss = max((int(r["rss_kb"]) for r in us), default=0) / 1024
            lines.append(
                f"| {c} | {fmt(n)} | {fmt(med(rates(ok(rows, 'limit', c, n))))} | {fmt(med(rates(us)))} | "
                f"{spread(ratios(rows, 'us', 'limit', c, n))} | {fmt(med(rates(ok(rows, 'us-nojournal', c, n))))} | "
                f"{spread(ratios(rows, 'us-nojournal', 'limit', c, n))} | {med(commits):.2f} | {rss:.1f} |"
            )
    return "\n".join(lines)


def latency_table(rows):
    lines = [
        "| connections | recipients | smtp-source msg/s | us msg/s (journal on) | us / smtp-source |",
        "|---|---|---|---|---|",
    ]
    for n in ns_of(rows, "us-rtt"):
        for c in concs_of(rows, "us-rtt"):
            lines.append(
                f"| {c} | {fmt(n)} | {fmt(med(rates(ok(rows, 'limit-rtt', c, n))), 1)} | "
                f"{fmt(med(rates(ok(rows, 'us-rtt', c, n))), 1)} | "
                f"{spread(ratios(rows, 'us-rtt', 'limit-rtt', c, n), lambda v: f'{v:.1f}×')} |"
            )
    return "\n".join(lines)


def scale_rows(rows):
    out = []
    for r in ok(rows, "us-big"):
        n = int(r["n"])
        commits = int(r["commits"])
        out.append(
            {
                "n": n,
                "conc": int(r["conc"]),
                "rate": float(r["rate"]),
                "rss_mb": int(r["rss_kb"]) / 1024,
                "db_per_rcpt": int(r["db_bytes"]) / n,
                "written_per_msg": int(r["out_blocks"]) * 512 / n,
                "msgs_per_commit": n / commits if commits else float("nan"),
                "cpu_ms": float(r["cpu_s"]) * 1000 / n,
            }
        )
    return sorted(out, key=lambda x: x["n"])


def scale_table(rows):
    lines = [
        "| recipients | connections | msg/s | peak RSS MB | journal bytes per recipient | bytes written to disk per message | messages per journal commit | CPU ms per message |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for x in scale_rows(rows):
        lines.append(
            f"| {fmt(x['n'])} | {x['conc']} | {fmt(x['rate'])} | **{x['rss_mb']:.1f}** | **{x['db_per_rcpt']:.1f}** | "
            f"**{fmt(x['written_per_msg'])}** | {x['msgs_per_commit']:.2f} | {x['cpu_ms']:.2f} |"
        )
    return "\n".join(lines)


def dry_table(rows):
    lines = [
        "| threads | messages | runs | msg/s median | min | max | bare writer msg/s (write_files.py: the same files, no message built) | us / bare writer | CPU s (user + sys) | msg/s if the 2 cores were ours | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n in ns_of(rows, "dry-shm"):
        for c in concs_of(rows, "dry-shm"):
            d = ok(rows, "dry-shm", c, n)
            if not d:
                continue
            cpu = med([float(r["cpu_s"]) for r in d])
            fs = {r["rep"]: float(r["rate"]) for r in ok(rows, "fs-limit", c, n)}
            ratios = [float(r["rate"]) / fs[r["rep"]] for r in d if fs.get(r["rep"])]
            ratio = f"**{med(ratios):.2f}×** ({min(ratios):.2f}×–{max(ratios):.2f}×)" if ratios else "n/a"
            lines.append(
                f"| {c} | {fmt(n)} | {len(d)} | **{fmt(med(rates(d)))}** | {fmt(min(rates(d)))} | {fmt(max(rates(d)))} | "
                f"{fmt(med(list(fs.values()))) if fs else 'n/a'} | {ratio} | "
                f"{cpu:.2f} | {fmt(n / (cpu / 2)) if cpu else 'n/a'} | {max(int(r['rss_kb']) for r in d) / 1024:.1f} |"
            )
    return "\n".join(lines)


def fsync_ms(rows):
    return [float(r["wall_s"]) * 1000 for r in rows if r["kind"] == "fsync"]


def peer_line(rows):
    mm = med(rates(ok(rows, "mailmerge")))
    c1 = concs_of(rows, "us")[:1]
    us1 = med(rates(ok(rows, "us", c1[0]))) if c1 else float("nan")
    n = ns_of(rows, "mailmerge")
    return (
        f"mailmerge 2.3.0 (`--no-dry-run --no-limit`, the same bodies, {fmt(n[0]) if n else '?'} recipients, one "
        f"connection per message): **{fmt(mm, 1)} msg/s**; us with one connection and the journal on: "
        f"{fmt(us1)} msg/s, **{us1 / mm:.0f}×**."
    )


def targets(rows):
    out = ["| target | measured (this run) | |", "|---|---|---|"]

    def line(what, value, good):
        out.append(f"| {what} | {value} | {'met' if good else '**missed**'} |")

    n = (ns_of(rows, "us") or [0])[-1]
    for c in concs_of(rows, "us"):
        r = ratios(rows, "us", "limit", c, n)
        line(f"loopback, {c} connection(s): us ≥ 95% of smtp-source", spread(r), bool(r) and med(r) >= 0.95)
    for c in concs_of(rows, "us-rtt"):
        ln = ns_of(rows, "us-rtt")[-1]
        r = ratios(rows, "us-rtt", "limit-rtt", c, ln)
        line(
            f"20 ms round trip, {c} connection(s): us ≥ 2× smtp-source",
            spread(r, lambda v: f"{v:.1f}×"),
            bool(r) and med(r) >= 2,
        )
    big = scale_rows(rows)
    if big:
        top = big[-1]
        line(f"peak RSS < 64 MB at {fmt(top['n'])} recipients", f"{top['rss_mb']:.1f} MB", top["rss_mb"] < 64)
        line(
            f"journal ≤ 48 bytes per (issue, recipient) after the issue ({fmt(top['n'])})",
            f"{top['db_per_rcpt']:.1f} bytes",
            top["db_per_rcpt"] <= 48,
        )
        line(
            f"≤ 1 KB written to disk per delivered message ({fmt(top['n'])}, {top['conc']} connections)",
            f"{fmt(top['written_per_msg'])} bytes",
            top["written_per_msg"] <= 1024,
        )
    d = rates(ok(rows, "dry-shm"))
    line("dry run on tmpfs ≥ 30,000 msg/s", f"{fmt(med(d))} msg/s (median of {len(d)})", bool(d) and med(d) >= 30000)
    return "\n".join(out)


def svg_plot(rows, path):
    """Messages/s against concurrency on loopback: the limit, us, us without the journal."""
    series = {}
    for kind in ("limit", "us", "us-nojournal"):
        for n in ns_of(rows, kind):
            for c in concs_of(rows, kind):
                rs = rates(ok(rows, kind, c, n))
                if rs:
                    series.setdefault((kind, n), []).append((c, med(rs), min(rs), max(rs)))
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

    colors = {"limit": "#555555", "us": "#1a73e8", "us-nojournal": "#e8710a"}
    names = {"limit": "smtp-source (limit)", "us": "newsletter", "us-nojournal": "newsletter, no journal"}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
        f'<text x="{L}" y="18" font-size="14">loopback messages/s against connections (median, bars: min-max)</text>',
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
    ly = T + 10
    for (k, n), pts in sorted(series.items()):
        pts.sort()
        col = colors[k]
        path_d = " ".join(f"{'M' if i == 0 else 'L'}{x(c):.1f},{y(m):.1f}" for i, (c, m, _, _) in enumerate(pts))
        out.append(f'<path d="{path_d}" fill="none" stroke="{col}" stroke-width="2"/>')
        for c, m, lo, hi in pts:
            out.append(f'<line x1="{x(c):.1f}" y1="{y(lo):.1f}" x2="{x(c):.1f}" y2="{y(hi):.1f}" stroke="{col}"/>')
            out.append(f'<circle cx="{x(c):.1f}" cy="{y(m):.1f}" r="3" fill="{col}"/>')
        out.append(f'<line x1="{W - R + 15}" y1="{ly}" x2="{W - R + 45}" y2="{ly}" stroke="{col}" stroke-width="2"/>')
        out.append(f'<text x="{W - R + 50}" y="{ly + 4}">{names[k]}, {n:,}</text>')
        ly += 18
    out.append("</svg>")
    Path(path).write_text("\n".join(out) + "\n")


def report(csv_path, env_path, md_path, svg_path, *notes_paths):
    rows = load(csv_path)
    fs = fsync_ms(rows)
    sections = [
        ("Targets", targets(rows)),
        ("Loopback: against smtp-source, same run", loopback_table(rows)),
        (f"Latency: through benches/delay_proxy.py, a 20 ms round trip", latency_table(rows)),
        ("Scale: live sends to smtp-sink", scale_table(rows)),
        ("Dry run: .eml files on tmpfs", dry_table(rows)),
    ]
    for title, t in sections:
        print(f"\n## {title}\n\n{t}")
    fs_line = (
        f"fsync of the state folder's disk (write + fdatasync of 4 KB, median of 200, at the start and the end "
        f"of the run): {' / '.join(f'{m:.2f} ms' for m in fs)}, so one connection can record at most "
        f"~{fmt(1000 / med(fs))} messages/s durably."
        if fs
        else ""
    )
    print("\n" + fs_line + "\n\n" + peer_line(rows))
    if md_path is None:
        return
    env = Path(env_path).read_text().strip()
    notes = "\n\n".join(Path(p).read_text().strip() for p in notes_paths if Path(p).exists())
    svg_plot(rows, svg_path)
    md = [
        "# Benchmarks",
        "",
        "Whole-process figures of `newsletter send`, every one against a baseline measured",
        "in the same run of `benches/smtp.sh` (Postfix's `smtp-source` → `smtp-sink`, the",
        "machine's limit; `mailmerge`, a peer tool). Per-message costs inside the process:",
        "`cargo bench --bench pipeline`.",
        "",
        "## Machine and conditions",
        "",
        "```",
        env,
        "```",
        "",
        fs_line,
        "",
    ]
    for title, t in sections:
        md += [f"## {title}", "", t, ""]
        if title.startswith("Loopback"):
            md += [f"![messages/s against connections]({Path(svg_path).name})", ""]
    md += ["## Peer tool", "", peer_line(rows), ""]
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
