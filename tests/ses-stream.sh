#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Large messages stream: ses-relay pipe mode sends 10, 20 and 30 MiB
# messages to sesd with peak memory that does not grow with the size, under
# 32 MB for 30 MiB (measured with /usr/bin/time -v), and sesd decodes
# exactly the bytes sent. 30 MiB is the largest message SES v2 takes: 40
# MiB after base64, its limit (ses-relay refuses a larger one itself).
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/sesd/lib.sh"
sesd_need
[ -x /usr/bin/time ] || tap_skip_all "/usr/bin/time (Debian package time) is missing"
tmpdir_make
sesd_start; ok $? "sesd starts"
sesd_relay_conf "$T/r.conf" "LogLevel info" "Timeout 120s"
# The first delivery SES accepts creates the store (DataDirectory) for the
# message map, which maps and initialises its region files: a one-time
# cost in RSS (some 4 MB) that is not the message's. A small message pays
# it, so every measured run below only joins the store.
test_message | "$top_builddir/relay/ses-relay" -c "$T/r.conf" -f sender@example.com \
    -q SMALL -- rcpt@example.net > "$T/out-small" 2>&1
is "$?" 0 "a small message creates the store"

for mb in 10 20 30; do
    $SESD_PY - "$T/m$mb.eml" "$mb" <<'EOF'
import base64, os, sys
size = int(sys.argv[2]) * 1024 * 1024
out = bytearray(b"From: sender@example.com\r\nTo: rcpt@example.net\r\n"
                b"Subject: large\r\nContent-Transfer-Encoding: base64\r\n\r\n")
chunk = b"".join(base64.b64encode(os.urandom(57)) + b"\r\n" for _ in range(4096))
while len(out) < size:
    out += chunk
del out[size - 2:]
out += b"\r\n"
open(sys.argv[1], "wb").write(out)
EOF
    /usr/bin/time -v "$top_builddir/relay/ses-relay" -c "$T/r.conf" \
        -f sender@example.com -q BIG$mb -- rcpt@example.net \
        < "$T/m$mb.eml" > "$T/out$mb" 2> "$T/time$mb"
    rc=$?
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): \([0-9]*\)$/\1/p' "$T/time$mb" | tail -1)
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$T/time$mb")
    is "$rc" 0 "$mb MiB message: sent"
    diag "$mb MiB: peak RSS $rss kB, $wall wall clock"
    echo "${rss:-999999}" > "$T/rss$mb" # none measured: fail below
    is "$(sesd_py 'sent[-1]["sha256"]')" "$(sha256sum < "$T/m$mb.eml" | cut -d' ' -f1)" \
       "$mb MiB message: the bytes arrive intact"
    rm -f "$T/m$mb.eml"
done
# ASan's shadow memory and quarantine count in RSS: the absolute bound means
# nothing in a --enable-sanitizers build (the growth check below still holds).
if grep -aq __asan_init "$top_builddir/relay/ses-relay"; then
    skip "30 MiB message relays with peak RSS under 32 MB" \
         "ASan build, RSS counts shadow memory ($(cat "$T/rss30") kB)"
else
    ok $([ "$(cat "$T/rss30")" -lt 32768 ] && echo 0 || echo 1) \
       "30 MiB message relays with peak RSS under 32 MB ($(cat "$T/rss30") kB)"
fi
growth=$(( $(cat "$T/rss30") - $(cat "$T/rss10") ))
ok $([ "$growth" -lt 4096 ] && echo 0 || echo 1) \
   "peak RSS does not grow with the message size (30 MiB vs 10 MiB: ${growth} kB)"

tap_done
