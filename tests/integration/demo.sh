#!/bin/sh
# The README's demo command works as written (in batch mode).
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/integration/postfix.sh"
. "$top_srcdir/tests/integration/harness.sh"
pf_need_root
emu_need
out=$(DEMO_PORT=$(free_port) timeout 120 "$top_srcdir/contrib/demo/run" --batch 2>&1); rc=$?
is "$rc" 0 "contrib/demo/run --batch exits 0"
like "$out" "Hello from ses-milter +to bob@example.net" "the demo's first message reaches the SES emulator"
like "$out" "to carol@example.org, dave@example.org" "the demo's two-recipient message reaches the emulator"
is "$(printf '%s\n' "$out" | grep -c 'X-SES-CONFIGURATION-SET: demo-transactional')" 3 "every demo message carries the configuration set"
is "$(printf '%s\n' "$out" | grep -c 'postfix-test/pipe.*relay=ses.*status=sent')" 4 "Postfix logs four sent deliveries"
like "$out" "demo done" "the demo finishes"
[ -n "$(printf '%s\n' "$out" | grep -o '/tmp/ses-test\.[A-Za-z0-9]*' | head -1)" ] &&
    [ ! -d "$(printf '%s\n' "$out" | grep -o '/tmp/ses-test\.[A-Za-z0-9]*' | head -1)" ]
ok $? "the demo removes its temporary directory"
tap_done
