#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The fuzz targets over their seed corpus (tests/fuzz/corpus/NAME, and the
# feedback test data for fuzz_notify) and deterministic mutations of it: a
# regression test that any build runs (tests/fuzz/README for real fuzzing
# with libFuzzer, tests/fuzz/libfuzzer.sh for the bounded run in CI).
. "${top_srcdir:-.}/tests/lib.sh"
F=$top_builddir/tests/fuzz
C=$top_srcdir/tests/fuzz/corpus
D=$top_srcdir/tests/data/feedback

# target, mutations per input, what survives
while read -r t m what; do
    set --
    [ "$t" = notify ] && set -- "$D"/*.json
    for f in "$C/$t"/*; do [ -f "$f" ] && set -- "$@" "$f"; done
    "$F/fuzz_$t" -m "$m" "$@" >/dev/null
    ok $? "$what: no crash over the corpus and its mutations"
done <<'LIST'
notify 400 the notification and SNS parsers and the DSN builder
csv 2000 the CSV line parser
conf 400 the configuration file parser
rules 1000 the RulesFile parser and matcher
headers 1000 the message header parser and its readers
aws 1000 the AWS error, SES, SQS and suppression list answer readers
lmtp 100 the LMTP server session
LIST
tap_done
