# Sourced by benches/smtp.sh and benches/instructions.sh: the newsletter
# config every benchmark run uses (no DKIM, an SMTP sink on 127.0.0.1 without
# TLS, no rate limit, no retries).
#
#   bench_config FILE SUBSCRIBERS PORT STATE    writes FILE
bench_config() {
    cat >"$1" <<EOF
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
port = $3
security = "none"
timeout_secs = 30
rate_per_second = 0
retries = 0

[paths]
subscribers = "$2"
state = "$4"
EOF
}
