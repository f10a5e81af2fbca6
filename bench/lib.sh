# SPDX-License-Identifier: BSD-2-Clause
# bench/lib.sh - shared set-up for the benchmarks (sourced)
#
# Reuses the test harness (tests/lib.sh, tests/integration/postfix.sh,
# harness.sh) so a benchmark runs the same real components as the tests.
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/integration/postfix.sh"
. "$top_srcdir/tests/integration/harness.sh"

# Prints "name value" result lines to stdout and appends them to RESULTS.
result() {
    printf '%-40s %s\n' "$1" "$2"
    [ -n "${RESULTS:-}" ] && printf '%s %s\n' "$1" "$2" >> "$RESULTS"
}

# cpu_ticks PID: utime+stime of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# A 4 KB text message, the corpus of the milter and relay benchmarks.
make_corpus() {
    /usr/bin/python3 - "$1" "${2:-4096}" <<'PY'
import random, sys
path, size = sys.argv[1], int(sys.argv[2])
random.seed(1)
hdr = ("From: Sender <sender@bench.example>\nTo: Rcpt <rcpt@example.net>\n"
       "Subject: benchmark message\nDate: Wed, 25 Nov 2026 10:00:00 +0000\n"
       "Message-ID: <x@bench.example>\nMIME-Version: 1.0\n"
       "Content-Type: text/plain; charset=us-ascii\n\n")
words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do".split()
body = []
n = len(hdr)
while n < size:
    line = " ".join(random.choice(words) for _ in range(11)) + "\n"
    body.append(line)
    n += len(line)
text = (hdr + "".join(body))[:size]
text = text[:text.rfind("\n") + 1]
open(path, "w").write(text)
PY
}

# ratio A B: A/B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "inf"; else printf "%.2f", a / b }'; }

# nginx_start: a canned-success SES endpoint on NGINX_PORT.
nginx_start() {
    NGINX_PORT=$(free_port)
    mkdir -p "$T/nginx"
    sed -e "s|@DIR@|$T/nginx|g" -e "s|@PORT@|$NGINX_PORT|g" \
        "$top_srcdir/bench/nginx-ses.conf.in" > "$T/nginx/nginx.conf"
    nginx -c "$T/nginx/nginx.conf" -e "$T/nginx/error.log" &
    NGINX_PID=$!
    add_cleanup "kill $NGINX_PID 2>/dev/null"
    wait_for 10 curl -sf -o /dev/null -X POST "http://127.0.0.1:$NGINX_PORT/v2/email/outbound-emails"
}
