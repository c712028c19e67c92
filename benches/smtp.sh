#!/usr/bin/env bash
# Whole-process benchmark of `newsletter send`, in one run, every figure
# against a baseline measured in the same run:
#   1. loopback: Postfix's smtp-source -> smtp-sink (the limit: C, reused
#      connections, payload = our message size) and `newsletter send --yes`
#      (journal on, fresh state folder) to the same kind of sink, at 1/4/8
#      connections, interleaved run by run; us without the journal too
#      (NEWSLETTER_BENCH_WITHOUT_JOURNAL), to show what durability costs;
#   2. latency: both again through benches/delay_proxy.py (10 ms each way,
#      a 20 ms round trip) at 1 and 4 connections;
#   3. scale: live sends of 100,000 and 1,000,000 recipients: peak RSS,
#      journal bytes per recipient, bytes written to disk per message,
#      messages per journal commit;
#   4. the dry run (.eml files) on /dev/shm (tmpfs) with 4 threads, against
#      benches/write_files.py writing as many files of the same size;
#   5. the peer: mailmerge, the same bodies, 2,000 recipients;
#   6. the disk: fsync latency of the state folder's file system.
# Prints the tables and rewrites BENCHMARKS.md (with the conditions) and
# benches/smtp-throughput.svg; keeps benches/smtp-runs.csv and smtp-env.txt.
#
# Needs (Debian + PyPI): postfix (smtp-sink, smtp-source), time (/usr/bin/time),
# iproute2 (ss), python3, mailmerge (pip install mailmerge==2.3.0), cargo.
#
#   benches/smtp.sh            full run (~15 min on 2 cores)
#   benches/smtp.sh --smoke    tiny counts, 1 run each, no file rewritten;
#                              exits non-zero when any step fails (for CI)
#
# Settings (environment): ISSUE (corpus issue; default article-weekly/issue-025),
# RUNS [3], N [10000] (loopback recipients), CONCS ["1 4 8"], LAT_N [400],
# LAT_CONCS ["1 4"], LAT_RUNS [2], DELAY_MS [10], BIG ["100000 1000000"],
# BIG_CONC [4], DRY_N [100000], DRY_THREADS [4], MM_ROWS [2000], DROP_CACHES [0]
# (1, as root: empty the page cache before the dry runs),
# STATE_FS_DIR [target/bench-disk] (where state folders go: a disk, like
# production), SHM_DIR [/dev/shm], NEWSLETTER_BIN (skip the build).
# Every server is started on a free port of 127.0.0.1 and stopped by its PID.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD

SMOKE=0
[ "${1:-}" = --smoke ] && SMOKE=1

SMTP_SINK=${SMTP_SINK:-$(command -v smtp-sink 2>/dev/null || echo /usr/sbin/smtp-sink)}
SMTP_SOURCE=${SMTP_SOURCE:-$(command -v smtp-source 2>/dev/null || echo /usr/sbin/smtp-source)}
TIME_BIN=${TIME_BIN:-/usr/bin/time}
HOST=127.0.0.1
ISSUE=${ISSUE:-$ROOT/../shared/corpus/article-weekly/issue-025.md}
if [ "$SMOKE" = 1 ]; then
    RUNS=1 N=${N:-300} CONCS=${CONCS:-"1 4"} LAT_N=${LAT_N:-20} LAT_CONCS=${LAT_CONCS:-"1 4"} LAT_RUNS=1
    BIG=${BIG:-2000} DRY_N=${DRY_N:-500} MM_ROWS=${MM_ROWS:-20}
else
    RUNS=${RUNS:-3} N=${N:-10000} CONCS=${CONCS:-"1 4 8"} LAT_N=${LAT_N:-400} LAT_CONCS=${LAT_CONCS:-"1 4"}
    LAT_RUNS=${LAT_RUNS:-2} BIG=${BIG:-"100000 1000000"} DRY_N=${DRY_N:-100000} MM_ROWS=${MM_ROWS:-2000}
fi
DELAY_MS=${DELAY_MS:-10}
BIG_CONC=${BIG_CONC:-4}
DRY_THREADS=${DRY_THREADS:-4}
STATE_FS_DIR=${STATE_FS_DIR:-$ROOT/target/bench-disk}
SHM_DIR=${SHM_DIR:-/dev/shm}
export NEWSLETTER_UNSUBSCRIBE_SECRET=bench-only-secret-0123456789abcdef

die() { echo "smtp.sh: error: $*" >&2; exit 1; }
# shellcheck source=benches/bench_config.sh
. benches/bench_config.sh
for t in "$SMTP_SINK" "$SMTP_SOURCE" "$TIME_BIN"; do [ -x "$t" ] || die "$t not found (apt-get install postfix time)"; done
command -v ss >/dev/null || die "ss not found (apt-get install iproute2)"
command -v mailmerge >/dev/null || die "mailmerge not found (pip install mailmerge==2.3.0)"
[ -r "$ISSUE" ] || die "issue $ISSUE not readable (set ISSUE=path/to/issue.md)"

if [ -z "${NEWSLETTER_BIN:-}" ]; then
    cargo build --release --quiet || die "cargo build --release failed"
    NEWSLETTER_BIN=$ROOT/target/release/newsletter
fi

mkdir -p "$STATE_FS_DIR"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/newsletter-bench.XXXXXX")
STATES=$(mktemp -d "$STATE_FS_DIR/states.XXXXXX")
SERVER_PID=
PROXY_PID=
FAILED=0
CSV=$WORK/runs.csv
echo "kind,conc,n,rep,bytes,wall_s,rate,rss_kb,rc,out_blocks,cpu_s,db_bytes,commits" >"$CSV"

is_listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

free_port() {  # a port nothing listens on (the OS picks it)
    local p
    while :; do
        p=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        is_listening "$p" || { echo "$p"; return; }
    done
}

wait_listening() {  # PORT WHAT
    local i
    for i in $(seq 1 200); do is_listening "$1" && return 0; sleep 0.05; done
    die "$2 did not listen on $1"
}

stop_pid() {
    local pid=$1 i
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

cleanup() {
    stop_pid "$SERVER_PID"
    stop_pid "$PROXY_PID"
    rm -rf "$WORK" "$STATES" "$SHM_DIR/newsletter-bench-outbox.$$"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_sink() {  # sets PORT and SERVER_PID
    local user=()
    [ "$(id -u)" -eq 0 ] && user=(-u nobody)
    PORT=$(free_port)
    "$SMTP_SINK" "${user[@]}" "$HOST:$PORT" 1024 >/dev/null 2>&1 &
    SERVER_PID=$!
    wait_listening "$PORT" smtp-sink
}

stop_sink() { stop_pid "$SERVER_PID"; SERVER_PID=; }

start_proxy() {  # after start_sink: sets PROXY_PORT and PROXY_PID
    PROXY_PORT=$(free_port)
    python3 benches/delay_proxy.py "$PROXY_PORT" "$PORT" --delay-ms "$DELAY_MS" &
    PROXY_PID=$!
    wait_listening "$PROXY_PORT" delay_proxy.py
}

stop_proxy() { stop_pid "$PROXY_PID"; PROXY_PID=; }

# timed KIND CONC N REP CMD... : runs CMD under GNU time, appends a CSV row.
# DB (a state folder) and LOG_COMMITS (parse "journal: E events in C commits") add columns.
timed() {
    local kind=$1 conc=$2 n=$3 rep=$4; shift 4
    local tfile=$WORK/time.txt log=$WORK/log-$kind-$conc-$n-$rep.txt t0 t1 rc wall rate rss out cpu db=0 commits=0
    t0=$(date +%s%N)
    "$TIME_BIN" -f '%M %O %U %S' -o "$tfile" "$@" >"$log" 2>&1
    rc=$?
    t1=$(date +%s%N)
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    rate=$(awk -v n="$n" -v w="$wall" 'BEGIN { printf "%.1f", n / w }')
    read -r rss out cpu < <(tail -n 1 "$tfile" | awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }')
    if [ -n "${DB:-}" ] && [ -f "$DB/newsletter.db" ]; then
        db=$(stat -c %s "$DB/newsletter.db")
    fi
    commits=$(sed -n 's/.*journal: [0-9]* events in \([0-9]*\) commits.*/\1/p' "$log" | tail -n 1)
    if [ "$rc" -ne 0 ]; then
        FAILED=1
        echo "FAILED ($rc): $kind conc=$conc n=$n: $(tail -n 3 "$log" | tr '\n' ' ')" >&2
    fi
    echo "$kind,$conc,$n,$rep,$MSG_BYTES,$wall,$rate,$rss,$rc,$out,$cpu,$db,${commits:-0}" >>"$CSV"
    printf '%-12s conc=%-2s n=%-7s run %s: %8s msg/s  %6s KB peak RSS  rc=%s\n' "$kind" "$conc" "$n" "$rep" "$rate" "$rss" "$rc" >&2
}

# A newsletter folder per recipient count: config, issue, subscribers.
mkdir -p "$WORK/issues"
cp "$ISSUE" "$WORK/issues/bench-issue.md"
write_config() {  # write_config N PORT STATE -> path of the config
    local cfg=$WORK/newsletter-$1.toml
    bench_config "$cfg" "subs-$1" "$2" "$3"
    echo "$cfg"
}
ALL_N=$(printf '%s\n' "$N" "$LAT_N" $BIG "$MM_ROWS" "$DRY_N" 1 | sort -un)
for n in $ALL_N; do
    mkdir -p "$WORK/subs-$n"
    python3 benches/smtp_report.py subscribers "$n" "$WORK/subs-$n/list.csv"
done
# One subscriber with a known name and address: the message whose size we use.
printf 'email,name,status\nreader0000000@example.com,Reader Number One,subscribed\n' >"$WORK/subs-1/list.csv"
cfg=$(write_config 1 25 "$STATES/sample")
"$NEWSLETTER_BIN" -q --config "$cfg" send "$WORK/issues/bench-issue.md" --dry-run --outbox "$WORK/sample" >/dev/null \
    || die "dry run of the sample message failed"
SAMPLE=$(ls "$WORK"/sample/*/*.eml)
MSG_BYTES=$(stat -c %s "$SAMPLE")
echo "our message for $(basename "$ISSUE"): $MSG_BYTES bytes" >&2
python3 benches/smtp_report.py mailmerge "$SAMPLE" "$WORK/mm" "$MM_ROWS" 25
MM_BYTES=$( (cd "$WORK/mm" && mailmerge --dry-run --limit 1 --output-format raw --template mailmerge_template.txt \
    --database mailmerge_database.csv --config mailmerge_server.conf) | sed -n '/^>>> message 1$/,/^>>> message 1 sent/p' \
    | sed '1d;$d' | awk '{ n += length($0) + 2 } END { print n }')
echo "mailmerge's merged message: ~$MM_BYTES bytes" >&2

run_limit() {  # run_limit KIND SESSIONS N REP [via proxy: 1]
    start_sink
    local port=$PORT
    [ "${5:-0}" = 1 ] && { start_proxy; port=$PROXY_PORT; }
    timed "$1" "$2" "$3" "$4" "$SMTP_SOURCE" -s "$2" -m "$3" -l "$MSG_BYTES" -d \
        -f sender@example.com -t rcpt@example.com -M bench.example.com "$HOST:$port"
    stop_proxy
    stop_sink
}

run_us() {  # run_us KIND CONC N REP [via proxy: 1] [env...]
    local kind=$1 conc=$2 n=$3 rep=$4 via=${5:-0}
    shift 5 2>/dev/null || shift $#
    start_sink
    local port=$PORT state=$STATES/state-$kind-$conc-$n-$rep cfg
    [ "$via" = 1 ] && { start_proxy; port=$PROXY_PORT; }
    cfg=$(write_config "$n" "$port" "$state")
    DB=$state timed "$kind" "$conc" "$n" "$rep" env "$@" "$NEWSLETTER_BIN" -v --config "$cfg" \
        send "$WORK/issues/bench-issue.md" --yes --concurrency "$conc"
    stop_proxy
    stop_sink
    rm -rf "$state"
}

run_mailmerge() {  # run_mailmerge REP
    start_sink
    sed -i "s/^port = .*/port = $PORT/" "$WORK/mm/mailmerge_server.conf"
    local saved=$MSG_BYTES
    MSG_BYTES=$MM_BYTES
    (cd "$WORK/mm" && timed mailmerge 1 "$MM_ROWS" "$1" mailmerge --no-dry-run --no-limit --output-format text \
        --template mailmerge_template.txt --database mailmerge_database.csv --config mailmerge_server.conf)
    MSG_BYTES=$saved
    stop_sink
}

run_dry() {  # run_dry REP
    local cfg out=$SHM_DIR/newsletter-bench-outbox.$$
    cfg=$(write_config "$DRY_N" 25 "$STATES/dry")
    rm -rf "$out"
    mkdir -p "$out"
    timed dry-shm "$DRY_THREADS" "$DRY_N" "$1" "$NEWSLETTER_BIN" -q --config "$cfg" send "$WORK/issues/bench-issue.md" \
        --dry-run --outbox "$out" --concurrency "$DRY_THREADS"
    local files
    files=$(find "$out" -name '*.eml' | wc -l)
    [ "$files" -eq "$DRY_N" ] || { FAILED=1; echo "FAILED: dry run wrote $files of $DRY_N files" >&2; }
    rm -rf "$out"
}

run_fs_limit() {  # run_fs_limit REP: the same number of files of our size, written by Python
    local out=$SHM_DIR/newsletter-bench-fs.$$
    rm -rf "$out"
    timed fs-limit "$DRY_THREADS" "$DRY_N" "$1" python3 benches/write_files.py "$out/bench-issue" "$DRY_N" "$MSG_BYTES" "$DRY_THREADS"
    rm -rf "$out"
}

run_fsync() {  # the state file system: median write + fdatasync of 4 KB, in ms
    python3 - "$STATES" "$CSV" "$MSG_BYTES" <<'PY'
import os, statistics, sys, time
d, csv, size = sys.argv[1], sys.argv[2], sys.argv[3]
path = os.path.join(d, "fsync-probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, b"\0" * (1 << 20)); os.fsync(fd)
ts = []
for i in range(200):
    os.pwrite(fd, b"x" * 4120, (i % 200) * 4120)
    t = time.perf_counter(); os.fdatasync(fd); ts.append(time.perf_counter() - t)
os.close(fd); os.unlink(path)
ms = statistics.median(ts) * 1000
with open(csv, "a") as f:
    f.write(f"fsync,1,200,1,{size},{ms / 1000:.6f},{1000 / ms:.1f},0,0,0,0,0,0\n")
print(f"fsync         median {ms:.2f} ms (p90 {sorted(ts)[179] * 1000:.2f} ms)", file=sys.stderr)
PY
}

run_fsync
for rep in $(seq 1 "$RUNS"); do
    for c in $CONCS; do
        run_limit limit "$c" "$N" "$rep"
        run_us us "$c" "$N" "$rep" 0
        run_us us-nojournal "$c" "$N" "$rep" 0 NEWSLETTER_BENCH_WITHOUT_JOURNAL=1
    done
done
for rep in $(seq 1 "$LAT_RUNS"); do
    for c in $LAT_CONCS; do
        run_limit limit-rtt "$c" "$LAT_N" "$rep" 1
        run_us us-rtt "$c" "$LAT_N" "$rep" 1
    done
done
for n in $BIG; do
    run_us us-big "$BIG_CONC" "$n" 1 0
done
run_mailmerge 1
# The dry runs last, back to back with the file system's own time for the
# same files: on this VM, a dry run writing 5.7 GB into tmpfs right after
# the live sends had filled the page cache ran at about a third of its speed
# with the cache empty (same binary, 15k against 43-59k msg/s), all of it in
# the kernel. DROP_CACHES=1 (root) empties the cache first.
if [ "${DROP_CACHES:-0}" = 1 ]; then
    sync && echo 3 2>/dev/null >/proc/sys/vm/drop_caches && DRY_CACHE="page cache dropped before the dry runs" \
        || DRY_CACHE="page cache not dropped (DROP_CACHES=1 needs root)"
fi
run_dry 0 >/dev/null 2>&1  # warm-up, not counted
sed -i '/^dry-shm,[^,]*,[^,]*,0,/d' "$CSV"
for rep in $(seq 1 "$RUNS"); do
    run_fs_limit "$rep"
    run_dry "$rep"
done
run_fsync
awk -F, 'NR > 1 && $9 != 0 { f = 1 } END { exit !f }' "$CSV" && FAILED=1

env_info() {
    echo "date:      $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "machine:   $(nproc) x $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/^MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
    echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min, at the end; other work shares the machine)"
    echo "kernel:    $(uname -sr) ($(. /etc/os-release && echo "$PRETTY_NAME"))"
    echo "disk:      state folders on $(df -T "$STATE_FS_DIR" | awk 'NR == 2 { print $2 }'); dry-run outbox on $(df -T "$SHM_DIR" | awk 'NR == 2 { print $2 }') ($SHM_DIR)"
    echo "newsletter: $("$NEWSLETTER_BIN" --version 2>/dev/null) (release build, commit $(git rev-parse --short HEAD 2>/dev/null))"
    echo "rustc:     $(rustc --version)"
    echo "postfix:   $(dpkg-query -W -f='${Version}' postfix 2>/dev/null) (smtp-sink, smtp-source)"
    echo "mailmerge: $(python3 -m pip show mailmerge 2>/dev/null | awk '/^Version/ { print $2 }') ($(python3 --version))"
    echo "message:   $(basename "$ISSUE") -> $MSG_BYTES bytes (ours, base64 text + HTML); mailmerge's: ~$MM_BYTES bytes"
    echo "runs:      loopback $RUNS x $N recipients at $CONCS connections (interleaved: smtp-source, us, us without journal);"
    echo "           latency $LAT_RUNS x $LAT_N recipients at $LAT_CONCS connections through delay_proxy.py, $DELAY_MS ms each way;"
    echo "           scale: $BIG recipients at $BIG_CONC connections, 1 run each; dry run $RUNS x $DRY_N on tmpfs, $DRY_THREADS threads,"
    echo "           after a warm-up run, each after benches/write_files.py wrote the same files; ${DRY_CACHE:-page cache not dropped}"
}
env_info >"$WORK/env.txt"
echo >&2
if [ "$SMOKE" = 1 ]; then
    python3 benches/smtp_report.py report "$CSV" --smoke
else
    # Raw runs and machine facts are kept: `benches/smtp_report.py report benches/smtp-runs.csv
    # benches/smtp-env.txt BENCHMARKS.md benches/smtp-throughput.svg benches/smtp-notes.md
    # benches/serve-notes.md` redoes the report (the serve section is written by hand).
    cp "$CSV" benches/smtp-runs.csv
    cp "$WORK/env.txt" benches/smtp-env.txt
    python3 benches/smtp_report.py report benches/smtp-runs.csv benches/smtp-env.txt BENCHMARKS.md \
        benches/smtp-throughput.svg benches/smtp-notes.md benches/serve-notes.md
    echo "wrote BENCHMARKS.md, benches/smtp-throughput.svg, benches/smtp-runs.csv and benches/smtp-env.txt" >&2
fi
[ "$FAILED" = 0 ] || { echo "smtp.sh: some runs failed" >&2; exit 1; }
