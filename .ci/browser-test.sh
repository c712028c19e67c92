#!/usr/bin/env bash
# Browser test of `newsletter preview --serve`: loads the viewer in headless
# Debian chromium at 1280 px and the email at 375 and 1280 px in light and
# dark mode, checks that the email never overflows horizontally, that dark
# mode reaches the column and the footer border, that the pages log no
# errors and that a change to the issue reloads the page; screenshots of each.
# Needs: chromium, node, npm (for playwright-core; no browser download), a
# built binary.
#
#   .ci/browser-test.sh [ISSUE]   (default: issues/2026-w47.md, run from the repo root)
#   env: NEWSLETTER_BIN (default target/debug/newsletter), SCREENSHOT_DIR
#        (default: a temp dir), PLAYWRIGHT_DIR (a folder with playwright-core installed)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
issue="${1:-issues/2026-w47.md}"
bin="${NEWSLETTER_BIN:-$root/target/debug/newsletter}"
work="$(mktemp -d)"
shots="${SCREENSHOT_DIR:-$work/shots}"
mkdir -p "$shots"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work/profile" "$work/preview"
}
trap cleanup EXIT

pw="${PLAYWRIGHT_DIR:-$work/pw}"
if [ ! -d "$pw/node_modules/playwright-core" ]; then
    mkdir -p "$pw"
    (cd "$pw" && npm init -y >/dev/null && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --silent playwright-core >/dev/null)
fi

export NEWSLETTER_UNSUBSCRIBE_SECRET="${NEWSLETTER_UNSUBSCRIBE_SECRET:-browser-test-secret-0123456789}"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# A copy of the issue, so the reload check can touch it without changing the repo.
cp "$root/$issue" "$work/issue.md"
(cd "$root" && exec "$bin" preview "$work/issue.md" --serve --port "$port" --out "$work/preview") >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/version" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/server.log"; echo "preview server exited" >&2; exit 1; fi
    sleep 0.1
done

mkdir -p "$work/profile"
NODE_PATH="$pw/node_modules" URL="http://127.0.0.1:$port/" SHOTS="$shots" PROFILE="$work/profile" \
    SHOT_PREFIX="$(basename "$issue" .md)" \
    ISSUE_COPY="$work/issue.md" node "$root/.ci/browser-test.mjs"
echo "screenshots in $shots"
