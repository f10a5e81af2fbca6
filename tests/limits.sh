#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Bounds on input from outside, seen through the programs (the unit tests
# check each bound in its module: test_conf, test_rules, test_spool,
# test_lmtp, test_suppress_csv, test_jsonlimit).
. "${top_srcdir:-.}/tests/lib.sh"
tmpdir_make
B=$top_builddir

# ses-relay pipe mode: at most SES_MAX_RECIPIENTS (1000) per delivery.
printf 'Region eu-west-1\nEndpoint http://127.0.0.1:9/\nRetryTime 1s\nDataDirectory %s/data\n' \
    "$T" > "$T/relay.conf"
rcpts() { i=0; while [ $i -lt "$1" ]; do echo "r$i@example.net"; i=$((i + 1)); done; }
out=$(echo "Subject: t" | "$B/relay/ses-relay" -c "$T/relay.conf" -f a@example.com -- $(rcpts 1001) 2>/dev/null); rc=$?
is "$rc" 75 "ses-relay with 1001 recipients exits 75: the mail stays queued"
like "$out" "^4\\.3\\.5 .*1001 recipients in one delivery, more than 1000" \
    "ses-relay says why and what to lower"
out=$(echo "Subject: t" | "$B/relay/ses-relay" -c "$T/relay.conf" -f a@example.com -- $(rcpts 1000) 2>/dev/null)
ok $(printf '%s' "$out" | grep -q 'recipients in one delivery' && echo 1 || echo 0) \
    "1000 recipients are within the bound"

# ses-suppress import: an over-long CSV line is reported, the rest imported.
{ echo "a@example.com,bounce"; head -c 5000 /dev/zero | tr '\0' x; echo; echo "b@example.com,complaint"; } > "$T/list.csv"
printf 'DataDirectory %s/data\n' "$T" > "$T/supp.conf"
out=$("$B/relay/ses-suppress" -c "$T/supp.conf" import "$T/list.csv" 2>&1); rc=$?
like "$out" "2: line longer than 4096 bytes" "ses-suppress import names the over-long line"
out=$("$B/relay/ses-suppress" -c "$T/supp.conf" list 2>&1)
like "$out" "b@example.com" "the lines after it are imported"

# ses-milter -n: a configuration line over 4096 bytes, a file over 1 MB.
{ printf 'ConfigurationSet '; head -c 5000 /dev/zero | tr '\0' a; echo; } > "$T/long.conf"
out=$("$B/milter/ses-milter" -n -c "$T/long.conf" 2>&1); rc=$?
is "$rc" 78 "a configuration line over 4096 bytes is a config error (78)"
like "$out" "long.conf:1: line longer than 4096 bytes" "it names file:line and the bound"
{ i=0; while [ $i -lt 1100 ]; do head -c 1000 /dev/zero | tr '\0' '#'; echo; i=$((i + 1)); done; } > "$T/big.conf"
out=$("$B/milter/ses-milter" -n -c "$T/big.conf" 2>&1); rc=$?
is "$rc" 78 "a configuration file over 1 MB is a config error (78)"
like "$out" "big.conf: file is larger than 1048576 bytes" "it says so"
tap_done
