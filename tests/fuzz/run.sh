#!/bin/sh
# The fuzz targets over the test corpus and deterministic mutations of it:
# a regression test that any build runs (tests/fuzz/README for real
# fuzzing with libFuzzer).
. "${top_srcdir:-.}/tests/lib.sh"
tmpdir_make
F=$top_builddir/tests/fuzz
D=$top_srcdir/tests/data/feedback
printf 'a@example.com,bounce\nB@example.com,COMPLAINT,1700000000\n"c@x.example",manual,2024-05-01T10:00:00Z\nbroken,,\n' > "$T/list.csv"
"$F/fuzz_notify" -m 400 "$D"/*.json >/dev/null
ok $? "the notification and SNS parsers and the DSN builder survive the corpus and its mutations"
"$F/fuzz_csv" -m 2000 "$T/list.csv" >/dev/null
ok $? "the CSV line parser survives its corpus and mutations"
tap_done
