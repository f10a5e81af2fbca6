#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Benchmark 3: peak memory of ses-relay sending large messages.
#
# ses-relay in pipe mode sends 10, 20 and 30 MB messages (decimal) to a
# local endpoint answering like SES (nginx), API v2; peak RSS from
# /usr/bin/time -v. Every size is spooled and streamed to the endpoint
# (base64 encoded on the fly: the 30 MB message is a 40 MB request). SES
# takes 40 MiB *after base64* (its quotas page), about 30 MiB of message;
# ses-relay refuses a larger one itself, before any call (5.3.4). A first small message
# creates the Berkeley DB environment, whose 16 MB cache the creating
# process touches once (about 28 MB peak for that process alone).
# Target: under 32 MB at every size, flat as the size grows.
. "$(dirname "$0")/lib.sh"
tmpdir_make
nginx_start
SES_PORT=$NGINX_PORT
ses_conf "$T/ses.conf" "RetryTime 0" "LogLevel warning"
printf 'Subject: warm-up\n\nx\n' | "$top_builddir/relay/ses-relay" -c "$T/ses.conf" \
    -f big@bench.example -q WARMUP -- rcpt@example.net
for mb in 10 20 30; do
    /usr/bin/python3 - "$T/m$mb.eml" "$mb" <<'PY'
import base64, os, sys
path, mb = sys.argv[1], int(sys.argv[2])
target = mb * 1000 * 1000
with open(path, "w") as f:
    f.write("From: big@bench.example\nTo: rcpt@example.net\nSubject: %d MB\n"
            "MIME-Version: 1.0\nContent-Type: application/octet-stream\n"
            "Content-Transfer-Encoding: base64\n\n" % mb)
    n = 0
    chunk = base64.encodebytes(os.urandom(57 * 1000)).decode()
    while n < target - 200:
        f.write(chunk)
        n += len(chunk)
PY
    size=$(stat -c %s "$T/m$mb.eml")
    /usr/bin/time -v "$top_builddir/relay/ses-relay" -c "$T/ses.conf" \
        -f big@bench.example -q BIG$mb -- rcpt@example.net \
        < "$T/m$mb.eml" > "$T/out$mb" 2> "$T/time$mb"
    rc=$?
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$T/time$mb")
    result "bigmsg.${mb}mb.bytes" "$size"
    result "bigmsg.${mb}mb.exit" "$rc"
    result "bigmsg.${mb}mb.peak_rss_kb" "$rss (target < 32768)"
done
