#!/usr/bin/env bash
# Whole-process benchmark of `newsletter send` on 127.0.0.1, in one run:
#   1. the limit: Postfix's smtp-source -> smtp-sink, reused connections (-d),
#      1/4/8 sessions, payload = the size of our real message;
#   2. us: `newsletter send --yes` (journal on, fresh state folder per run) to
#      the same smtp-sink at concurrency 1/4/8, for 10,000 and 100,000 recipients;
#   3. the peer: `mailmerge --no-dry-run --no-limit`, the same text + HTML
#      bodies, 2,000 recipients, through the same sink;
#   4. us in --dry-run for 100,000 recipients, outbox on disk and on /dev/shm.
# Prints one table (median/min/max messages/s, peak RSS, ratios) and writes
# BENCHMARKS.md + benches/smtp-throughput.svg next to it.
#
# Needs (Debian + PyPI): postfix (smtp-sink, smtp-source), time (/usr/bin/time),
# iproute2 (ss), python3, mailmerge (pip install mailmerge==2.3.0), cargo.
#
#   benches/smtp.sh            full run (~15 min on 2 cores)
#   benches/smtp.sh --smoke    tiny counts, 1 run each, no BENCHMARKS.md rewrite;
#                              exits non-zero when any step fails (for CI)
#
# Settings (environment): ISSUE (corpus issue; default article-weekly/issue-025),
# RUNS [3], RUNS_BIG [1] (runs at the largest recipient count), COUNTS
# ["10000 100000"], CONCS ["1 4 8"], MM_ROWS [2000], DRY_N [100000],
# DISK_DIR [target/bench-disk], SHM_DIR [/dev/shm], NEWSLETTER_BIN (skip the build).
# Every server is started on a free port and stopped by its PID.
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
    RUNS=1 RUNS_BIG=1 COUNTS=${COUNTS:-"200 1000"} CONCS=${CONCS:-"1 4"} MM_ROWS=${MM_ROWS:-20} DRY_N=${DRY_N:-500}
else
    RUNS=${RUNS:-3} RUNS_BIG=${RUNS_BIG:-1} COUNTS=${COUNTS:-"10000 100000"} CONCS=${CONCS:-"1 4 8"}
    MM_ROWS=${MM_ROWS:-2000} DRY_N=${DRY_N:-100000}
fi
DISK_DIR=${DISK_DIR:-$ROOT/target/bench-disk}
SHM_DIR=${SHM_DIR:-/dev/shm}
export NEWSLETTER_UNSUBSCRIBE_SECRET=bench-only-secret-0123456789abcdef

die() { echo "smtp.sh: error: $*" >&2; exit 1; }
for t in "$SMTP_SINK" "$SMTP_SOURCE" "$TIME_BIN"; do [ -x "$t" ] || die "$t not found (apt-get install postfix time)"; done
command -v ss >/dev/null || die "ss not found (apt-get install iproute2)"
command -v mailmerge >/dev/null || die "mailmerge not found (pip install mailmerge==2.3.0)"
[ -r "$ISSUE" ] || die "issue $ISSUE not readable (set ISSUE=path/to/issue.md)"

if [ -z "${NEWSLETTER_BIN:-}" ]; then
    cargo build --release --quiet || die "cargo build --release failed"
    NEWSLETTER_BIN=$ROOT/target/release/newsletter
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/newsletter-bench.XXXXXX")
SERVER_PID=
FAILED=0
CSV=$WORK/runs.csv
echo "kind,conc,n,rep,bytes,wall_s,rate,rss_kb,rc" >"$CSV"

is_listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

free_port() {  # a port nothing listens on (the OS picks it)
    local p
    while :; do
        p=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        is_listening "$p" || { echo "$p"; return; }
    done
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
    rm -rf "$WORK" "$DISK_DIR/newsletter-bench-outbox" "$SHM_DIR/newsletter-bench-outbox.$$"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_sink() {  # sets PORT and SERVER_PID
    local user=() i
    [ "$(id -u)" -eq 0 ] && user=(-u nobody)
    PORT=$(free_port)
    "$SMTP_SINK" "${user[@]}" "$HOST:$PORT" 1024 >/dev/null 2>&1 &
    SERVER_PID=$!
    for i in $(seq 1 200); do is_listening "$PORT" && return 0; sleep 0.05; done
    die "smtp-sink did not listen on $PORT"
}

stop_sink() { stop_pid "$SERVER_PID"; SERVER_PID=; }

# timed KIND CONC N REP CMD... : runs CMD under GNU time, appends a CSV row.
timed() {
    local kind=$1 conc=$2 n=$3 rep=$4; shift 4
    local tfile=$WORK/time.txt log=$WORK/log-$kind-$conc-$n-$rep.txt t0 t1 rc wall rate rss
    t0=$(date +%s%N)
    "$TIME_BIN" -f %M -o "$tfile" "$@" >"$log" 2>&1
    rc=$?
    t1=$(date +%s%N)
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    rate=$(awk -v n="$n" -v w="$wall" 'BEGIN { printf "%.1f", n / w }')
    rss=$(tail -n 1 "$tfile")
    if [ "$rc" -ne 0 ]; then
        FAILED=1
        echo "FAILED ($rc): $kind conc=$conc n=$n: $(tail -n 3 "$log" | tr '\n' ' ')" >&2
    fi
    echo "$kind,$conc,$n,$rep,$MSG_BYTES,$wall,$rate,$rss,$rc" >>"$CSV"
    printf '%-9s conc=%-2s n=%-7s run %s: %8s msg/s  %6s KB peak RSS  rc=%s\n' "$kind" "$conc" "$n" "$rep" "$rate" "$rss" "$rc" >&2
}

# A newsletter folder per recipient count: config, issue, subscribers.
mkdir -p "$WORK/issues"
cp "$ISSUE" "$WORK/issues/bench-issue.md"
write_config() {  # write_config N PORT -> path of the config
    local n=$1 port=$2 cfg=$WORK/newsletter-$1.toml
    cat >"$cfg" <<EOF
[newsletter]
name = "Field Notes Weekly"
from = "Field Notes <weekly@example.com>"
reply_to = "editor@example.com"
list_id = "weekly.example.com"
subject = "{title}"
archive_url = "https://example.com/weekly/{id}/"
unsubscribe_url = "https://example.com/u?token={token}"
unsubscribe_mailto = "unsubscribe@example.com"
postal_address = "1 Example Street, Seoul"
bounce_address = "bounces@example.com"

[smtp]
host = "127.0.0.1"
port = $port
security = "none"
timeout_secs = 30
rate_per_second = 0
retries = 0

[paths]
subscribers = "subs-$n"
state = "state-$n"
EOF
    echo "$cfg"
}
ALL_N=$(printf '%s\n' $COUNTS "$MM_ROWS" "$DRY_N" 1 | sort -un)
for n in $ALL_N; do
    mkdir -p "$WORK/subs-$n"
    python3 benches/smtp_report.py subscribers "$n" "$WORK/subs-$n/list.csv"
done
# One subscriber with a known name and address: the message whose size we use.
printf 'email,name,status\nreader0000000@example.com,Reader Number One,subscribed\n' >"$WORK/subs-1/list.csv"
cfg=$(write_config 1 25)
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

run_limit() {  # run_limit SESSIONS N REP
    start_sink
    timed limit "$1" "$2" "$3" "$SMTP_SOURCE" -s "$1" -m "$2" -l "$MSG_BYTES" -d \
        -f sender@example.com -t rcpt@example.com -M bench.example.com "$HOST:$PORT"
    stop_sink
}

run_us() {  # run_us CONC N REP
    start_sink
    local cfg
    cfg=$(write_config "$2" "$PORT")
    rm -rf "$WORK/state-$2"
    timed us "$1" "$2" "$3" "$NEWSLETTER_BIN" -q --config "$cfg" send "$WORK/issues/bench-issue.md" --yes --concurrency "$1"
    stop_sink
    rm -rf "$WORK/state-$2"
}

run_mailmerge() {  # run_mailmerge REP
    start_sink
    sed -i "s/^port = .*/port = $PORT/" "$WORK/mm/mailmerge_server.conf"
    local saved=$MSG_BYTES
    MSG_BYTES=$MM_BYTES
    (cd "$WORK/mm" && timed mailmerge 1 "$MM_ROWS" "$1" mailmerge --no-dry-run --no-limit --output-format text \
        --template mailmerge_template.txt --database mailmerge_database.csv --config mailmerge_server.conf)
    # timed ran in a subshell: copy its FAILED verdict through the CSV row.
    MSG_BYTES=$saved
    stop_sink
}

run_dry() {  # run_dry KIND DIR CONC REP
    local cfg out=$2
    cfg=$(write_config "$DRY_N" 25)
    rm -rf "$out"
    mkdir -p "$out"
    timed "$1" "$3" "$DRY_N" "$4" "$NEWSLETTER_BIN" -q --config "$cfg" send "$WORK/issues/bench-issue.md" \
        --dry-run --outbox "$out" --concurrency "$3"
    local files
    files=$(find "$out" -name '*.eml' | wc -l)
    [ "$files" -eq "$DRY_N" ] || { FAILED=1; echo "FAILED: dry run wrote $files of $DRY_N files" >&2; }
    rm -rf "$out"
}

BIG=$(printf '%s\n' $COUNTS | sort -n | tail -n 1)
for rep in $(seq 1 "$RUNS"); do
    for n in $COUNTS; do
        [ "$n" = "$BIG" ] && [ "$rep" -gt "$RUNS_BIG" ] && continue
        for c in $CONCS; do
            run_limit "$c" "$n" "$rep"
            run_us "$c" "$n" "$rep"
        done
    done
    run_mailmerge "$rep"
    run_dry dry-shm "$SHM_DIR/newsletter-bench-outbox.$$" 2 "$rep"
    [ "$rep" -le "$RUNS_BIG" ] && run_dry dry-disk "$DISK_DIR/newsletter-bench-outbox" 2 "$rep"
done
grep -q ',[1-9][0-9]*$' "$CSV" && FAILED=1

env_info() {
    echo "date:      $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "machine:   $(nproc) x $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/^MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
    echo "kernel:    $(uname -sr) ($(. /etc/os-release && echo "$PRETTY_NAME"))"
    echo "disk:      $(df -T "$DISK_DIR" | awk 'NR == 2 { print $2 }') (outbox on disk), $(df -T "$SHM_DIR" | awk 'NR == 2 { print $2 }') ($SHM_DIR)"
    echo "newsletter: $("$NEWSLETTER_BIN" --version 2>/dev/null) (release build, commit $(git rev-parse --short HEAD 2>/dev/null))"
    echo "rustc:     $(rustc --version)"
    echo "postfix:   $(dpkg-query -W -f='${Version}' postfix 2>/dev/null) (smtp-sink, smtp-source)"
    echo "mailmerge: $(python3 -m pip show mailmerge 2>/dev/null | awk '/^Version/ { print $2 }') ($(python3 --version))"
    echo "message:   $(basename "$ISSUE") -> $MSG_BYTES bytes (ours, base64 text + HTML); mailmerge's: ~$MM_BYTES bytes"
    echo "runs:      $RUNS per configuration at $(printf '%s ' $COUNTS | sed "s/$BIG //") recipients, $RUNS_BIG at $BIG; dry run: $RUNS on tmpfs, $RUNS_BIG on disk"
}
env_info >"$WORK/env.txt"
echo >&2
if [ "$SMOKE" = 1 ]; then
    python3 benches/smtp_report.py report "$CSV" --smoke
else
    # Raw runs and machine facts are kept: `benches/smtp_report.py report benches/smtp-runs.csv
    # benches/smtp-env.txt BENCHMARKS.md benches/smtp-throughput.svg benches/smtp-notes.md` redoes the report.
    cp "$CSV" benches/smtp-runs.csv
    cp "$WORK/env.txt" benches/smtp-env.txt
    python3 benches/smtp_report.py report benches/smtp-runs.csv benches/smtp-env.txt BENCHMARKS.md \
        benches/smtp-throughput.svg benches/smtp-notes.md
    echo "wrote BENCHMARKS.md, benches/smtp-throughput.svg, benches/smtp-runs.csv and benches/smtp-env.txt" >&2
fi
[ "$FAILED" = 0 ] || { echo "smtp.sh: some runs failed" >&2; exit 1; }
