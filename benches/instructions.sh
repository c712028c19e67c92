#!/usr/bin/env bash
# Instructions per message, counted by valgrind's callgrind: repeatable on a
# noisy shared machine, where wall-clock rates move by 2x between runs.
#
# Runs `newsletter send` twice per path, with N1 and N2 recipients, one
# worker, and prints (instructions(N2) - instructions(N1)) / (N2 - N1): the
# cost of one more message, start-up and per-issue work cancelled out.
# User space only (what the kernel does for write(2) is not counted);
# memcpy with `rep movsb` counts about one instruction per byte, and SHA-256
# runs its portable code under valgrind (no SHA extensions), so both weigh
# more here than on the CPU.
#
#   benches/instructions.sh            dry run (.eml files on /dev/shm) and a live
#                                      send to smtp-sink without the journal
#   NEWSLETTER_BIN=path/to/newsletter benches/instructions.sh    another build
#
# Settings (environment): ISSUE (default ../shared/corpus/article-weekly/issue-025.md),
# N1 [1000], N2 [5000], PATHS ["dry live"], SHM_DIR [/dev/shm].
# Needs valgrind (apt-get install valgrind) and, for "live", postfix's smtp-sink.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
ISSUE=${ISSUE:-$ROOT/../shared/corpus/article-weekly/issue-025.md}
N1=${N1:-1000} N2=${N2:-5000} PATHS=${PATHS:-"dry live"} SHM_DIR=${SHM_DIR:-/dev/shm}
SMTP_SINK=${SMTP_SINK:-$(command -v smtp-sink 2>/dev/null || echo /usr/sbin/smtp-sink)}
export NEWSLETTER_UNSUBSCRIBE_SECRET=bench-only-secret-0123456789abcdef

die() { echo "instructions.sh: error: $*" >&2; exit 1; }
# shellcheck source=benches/bench_config.sh
. benches/bench_config.sh
command -v valgrind >/dev/null || die "valgrind not found (apt-get install valgrind)"
[ -r "$ISSUE" ] || die "issue $ISSUE not readable (set ISSUE=path/to/issue.md)"
if [ -z "${NEWSLETTER_BIN:-}" ]; then
    cargo build --release --quiet || die "cargo build --release failed"
    NEWSLETTER_BIN=$ROOT/target/release/newsletter
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/newsletter-instr.XXXXXX")
OUT=$(mktemp -d "$SHM_DIR/newsletter-instr.XXXXXX")
SINK_PID=
cleanup() {
    [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null
    rm -rf "$WORK" "$OUT"
}
trap cleanup EXIT
cp "$ISSUE" "$WORK/issue.md"

config() {  # config N PORT -> path
    local cfg=$WORK/newsletter-$1.toml
    mkdir -p "$WORK/subs-$1" && python3 benches/smtp_report.py subscribers "$1" "$WORK/subs-$1/list.csv"
    bench_config "$cfg" "subs-$1" "$2" "$WORK/state-$1"
    echo "$cfg"
}

count() {  # count PATH N PORT -> instructions
    local cfg args
    cfg=$(config "$2" "$3")
    rm -rf "$WORK/state-$2" "${OUT:?}"/*
    if [ "$1" = dry ]; then
        args=(--dry-run --outbox "$OUT")
    else
        args=(--yes)
    fi
    NEWSLETTER_BENCH_WITHOUT_JOURNAL=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        "$NEWSLETTER_BIN" -q --config "$cfg" send "$WORK/issue.md" --concurrency 1 "${args[@]}" 2>&1 \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

PORT=25
for path in $PATHS; do
    if [ "$path" = live ]; then
        [ -x "$SMTP_SINK" ] || die "$SMTP_SINK not found (apt-get install postfix)"
        PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        user=()
        [ "$(id -u)" -eq 0 ] && user=(-u nobody)
        "$SMTP_SINK" "${user[@]}" "127.0.0.1:$PORT" 1024 >/dev/null 2>&1 &
        SINK_PID=$!
        sleep 0.5
    fi
    a=$(count "$path" "$N1" "$PORT")
    b=$(count "$path" "$N2" "$PORT")
    [ -n "$a" ] && [ -n "$b" ] || die "$path: no instruction count (did the send fail?)"
    awk -v p="$path" -v a="$a" -v b="$b" -v n1="$N1" -v n2="$N2" \
        'BEGIN { printf "%-5s %9.0f instructions per message (%d and %d recipients)\n", p, (b - a) / (n2 - n1), n1, n2 }'
done
