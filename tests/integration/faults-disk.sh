#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# A full or read-only DataDirectory: the relay keeps delivering (the
# messages.db failure is logged, the delivery is a success), the milter
# follows OnError and recovers by itself once there is room, ses-feedback
# deletes nothing from SQS until it could commit; metrics.mmap and
# hoststate left sparse by an older version never become SIGBUS. The file
# system full is a small tmpfs, the unwritable one a read-only bind mount
# (root only).
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/integration/postfix.sh"
. "$top_srcdir/tests/integration/harness.sh"
. "$top_srcdir/tests/integration/relay-lib.sh"
pf_need_root
sesd_need
tmpdir_make
command -v mount >/dev/null || tap_skip_all "no mount(8)"
mkdir -p "$T/full" "$T/ro-src" "$T/ro"
mount -t tmpfs -o size=4m,mode=0777 tmpfs "$T/full" ||
    tap_skip_all "cannot mount a tmpfs (no CAP_SYS_ADMIN here)"
add_cleanup "umount -l '$T/full' 2>/dev/null"
mount --bind "$T/ro-src" "$T/ro" && mount -o remount,bind,ro "$T/ro" ||
    tap_skip_all "cannot make a read-only bind mount"
add_cleanup "umount -l '$T/ro' 2>/dev/null"

relay_sesd_start; ok $? "sesd starts"
msg() { printf 'From: alice@sender.example\nSubject: %s\n\nbody\n' "$1"; }

# ---- pipe mode: the store cannot be opened at all ----
for kind in full ro; do
    ses_conf "$T/$kind.conf" "DataDirectory $T/$kind/data" "LogFile $T/$kind.log" \
        "Socket unix:$T/milter-$kind.sock" "RetryTime 2s"
    touch "$T/$kind.log"; chmod 666 "$T/$kind.log"
    out=$(msg "disk-$kind" | "$B/relay/ses-relay" -c "$T/$kind.conf" \
        -f alice@sender.example -q 4D5E6F7A8B -- bob@example.net); rc=$?
    is "$rc" 0 "pipe, DataDirectory $kind: the delivery succeeds (exit 0)"
    is "$(sent_summary "disk-$kind")" "calls=1 dests=1 unique=1 sizes=1" \
        "pipe, DataDirectory $kind: SES has the message once"
    like "$(grep 4D5E6F7A8B "$T/$kind.log")" "cannot open the message map" \
        "pipe, DataDirectory $kind: the message map failure is logged"
done
like "$(cat "$T/full.log")" "file system full" "... as 'file system full' on the tmpfs"
like "$(cat "$T/ro.log")" "Read-only file system" "... as 'Read-only file system' on the read-only mount"

# ---- the region files take their room when the store is created ----
# Berkeley DB grows its mapped region files as it runs; a page it cannot
# back would be SIGBUS, so the store reserves their full size up front.
umount "$T/full"
mount -t tmpfs -o size=64m,mode=0777 tmpfs "$T/full"
ses_conf "$T/reg.conf" "DataDirectory $T/full/data" "LogFile $T/reg.log"
out=$(printf 'a@example.org,manual\n' | "$B/relay/ses-suppress" -c "$T/reg.conf" import - 2>&1)
is "$?" 75 "a 64 MB file system: the store is not created (exit 75)"
like "$out" "file system full \\(this region file needs [0-9]+ MB\\)" "... saying how much it needs"
umount "$T/full"
mount -t tmpfs -o size=256m,mode=0777 tmpfs "$T/full"
printf 'a@example.org,manual\n' | "$B/relay/ses-suppress" -c "$T/reg.conf" import - >/dev/null
ok $? "a 256 MB file system: the store is created"
avail=$(df -k "$T/full" | awk 'NR==2 {print $4}')
dd if=/dev/zero of="$T/full/filler" bs=1k count=$((avail - 3072)) 2>/dev/null
$PY -c 'for i in range(200000): print("u%d@example.net,bounce" % i)' > "$T/200k.csv"
out=$("$B/relay/ses-suppress" -c "$T/reg.conf" import "$T/200k.csv" 2>&1)
is "$?" 75 "3 MB left, a 200,000 address import: exit 75, no SIGBUS as the cache grows"
like "$out" "No space left on device" "... saying the disk is full"
"$B/relay/ses-suppress" -c "$T/reg.conf" check a@example.org >/dev/null
ok $? "... and the store still answers"
# an environment an older version made has no reservation past the end of
# its region files: joining it on a full disk must still work
for f in "$T"/full/data/__db.0*; do
    fallocate --punch-hole --offset "$(stat -c %s "$f")" --length 1G "$f"
done
dd if=/dev/zero of="$T/full/filler2" bs=64k 2>/dev/null
out=$("$B/relay/ses-suppress" -c "$T/reg.conf" check a@example.org 2>&1)
is "$?" 0 "joining an unreserved environment on a full disk: the store answers"
like "$(cat "$T/reg.log")" "__db\.00[0-9]: file system full: the region file cannot reserve its [0-9]+ MB" \
    "... and logs a warning that it could not reserve the room"
umount "$T/full"
rm -f "$T/200k.csv"

# ---- LMTP relay and milter behind Postfix, the disk filling up ----
mount -t tmpfs -o size=256m,mode=0777 tmpfs "$T/full"
ses_conf "$T/ses.conf" "DataDirectory $T/full/data" "OnError tempfail" "RetryTime 2s"
printf 'keep@example.org,manual\n' | "$B/relay/ses-suppress" -c "$T/ses.conf" import - >/dev/null
ok $? "a store on a 256 MB tmpfs"
relay_lmtp_start "$T/ses.conf"; ok $? "ses-relay -l starts with a working store"
milter_start "$T/ses.conf"; ok $? "ses-milter starts with a working store"
pf_with_relay lmtp "$T/ses.conf"
pf_set "smtpd_milters = unix:$T/milter.sock" "milter_default_action = tempfail"
pf_start; ok $? "Postfix starts"
out=$(pf_send alice@sender.example keep@example.org --header "Subject: keep0" 2>&1)
like "$out" "550 5\\.1\\.1" "milter: a suppressed recipient is refused (its database is open)"
dd if=/dev/zero of="$T/full/filler" bs=64k 2>/dev/null
is "$(df -k "$T/full" | awk 'NR==2 {print $4}')" 0 "the file system is full"
i=1
while [ $i -le 5 ]; do
    pf_send alice@sender.example "d$i@example.net" --header "Subject: full-$i" >/dev/null
    i=$((i + 1))
done
pf_wait_empty 60; ok $? "lmtp, disk full: Postfix delivers all 5"
is "$(pf_log | grep 'to=<d[0-9]@example.net>' | grep -c 'status=sent (250')" 5 \
    "lmtp, disk full: each is sent with 250 (no deferral, no bounce)"
n=0; i=1
while [ $i -le 5 ]; do
    [ "$(sent_summary "full-$i")" = "calls=1 dests=1 unique=1 sizes=1" ] && n=$((n + 1))
    i=$((i + 1))
done
is "$n" 5 "lmtp, disk full: SES has each exactly once"
like "$(grep -E 'message map|messages\.db' "$T/ses.log" | tail -1)" \
    "(No space left on device|file system full)" \
    "lmtp, disk full: the message map write failure is logged"
kill -0 "$RELAY_PID"; ok $? "lmtp, disk full: ses-relay is still running"
out=$(pf_send alice@sender.example keep@example.org --header "Subject: keep" 2>&1)
like "$out" "550 5\\.1\\.1" "milter, disk full: the open store still answers lookups"
kill "$MILTER_PID"; wait "$MILTER_PID" 2>/dev/null
milter_start "$T/ses.conf"; ok $? "milter, disk full: a new ses-milter joins the environment"
out=$(pf_send alice@sender.example keep@example.org --header "Subject: keep1" 2>&1)
like "$out" "550 5\\.1\\.1" "milter, disk full: ... and its lookups work (reading needs no room)"

# a milter whose store cannot be created (a full 4 MB tmpfs, then a
# read-only file system): OnError decides, and once there is room the
# milter opens its store by itself
kill "$MILTER_PID"; wait "$MILTER_PID" 2>/dev/null
mkdir -p "$T/small"
mount -t tmpfs -o size=4m,mode=0777 tmpfs "$T/small"
add_cleanup "umount -l '$T/small' 2>/dev/null"
sed -i "s|^DataDirectory .*|DataDirectory $T/small/data|" "$T/ses.conf"
milter_start "$T/ses.conf"; ok $? "ses-milter starts although its store cannot be created"
like "$(grep 'suppression lookups follow OnError' "$T/ses.log")" "file system full" \
    "... and says why, loudly"
out=$(pf_send alice@sender.example e1@example.net --header "Subject: onerr-t" 2>&1)
like "$out" "<\\*\\* 4[0-9][0-9] 4\\.[0-9]\\.[0-9]" "OnError tempfail: the recipient gets 4xx"
kill "$MILTER_PID"; wait "$MILTER_PID" 2>/dev/null
sed -i -e 's/^OnError tempfail/OnError accept/' \
    -e "s|^DataDirectory .*|DataDirectory $T/ro/data|" "$T/ses.conf"
milter_start "$T/ses.conf"; ok $? "ses-milter (OnError accept) starts on a read-only DataDirectory"
pf_send alice@sender.example e2@example.net --header "Subject: onerr-a" >/dev/null
ok $? "OnError accept: the message is accepted"
pf_wait_empty 30
is "$(sent_summary onerr-a)" "calls=1 dests=1 unique=1 sizes=1" "... and reaches SES"
kill "$MILTER_PID"; wait "$MILTER_PID" 2>/dev/null
sed -i "s|^DataDirectory .*|DataDirectory $T/small/data|" "$T/ses.conf"
milter_start "$T/ses.conf"; ok $? "ses-milter (OnError accept) starts on the full tmpfs"
mount -o remount,size=256m "$T/small"
printf 'keep@example.org,manual\n' | "$B/relay/ses-suppress" -c "$T/ses.conf" import - >/dev/null
ok $? "the file system grows; the store is created"
sleep 6 # SNAPSHOT_STORE_RETRY
out=$(pf_send alice@sender.example keep@example.org --header "Subject: keep2" 2>&1)
like "$out" "550 5\\.1\\.1" "once there is room the milter opens its store by itself"

# ---- ses-feedback -Q: nothing deleted until committed ----
Q=/123456789012/ses-feedback
sesd_state '{"sqs_visibility": 1, "sqs_max_receive": 100, "sqs_max_wait": 1}'
cat > "$T/sendmail" <<EOS
#!/bin/sh
cat > /dev/null
EOS
chmod 755 "$T/sendmail"
mkdir -p "$T/fb"
mount -t tmpfs -o size=4m,mode=0777 tmpfs "$T/fb"
add_cleanup "umount -l '$T/fb' 2>/dev/null"
ses_conf "$T/fb.conf" "DataDirectory $T/fb/data" "LogFile $T/fb.log" \
    "FeedbackQueueUrl $SESD_URL$Q" "Sendmail $T/sendmail"
touch "$T/fb.log"
$PY "$top_srcdir/tests/integration/sns_sign.py" bounce \
    "$top_srcdir/tests/data/feedback/bounce-permanent.json" 0100-disk alice@sender.example \
    full@example.net fb-disk > "$T/bounce.json"
M=$(curl -sf -X POST --data-binary @"$T/bounce.json" "$SESD_URL/_sqs/send$Q" |
    $PY -c 'import json,sys; print(json.load(sys.stdin)["MessageId"])')
qlen() { curl -sf "$SESD_URL/_sqs/queue$Q" | $PY -c "import json,sys; print(len(json.load(sys.stdin)['$1']))"; }
"$B/relay/ses-feedback" -c "$T/fb.conf" -Q -f >> "$T/fb.out" 2>&1; rc=$?
is "$rc" 75 "feedback, store on a full disk: ses-feedback -Q exits 75 (try again later)"
like "$(cat "$T/fb.log")" "cannot open the store: .*file system full" "... saying why"
is "$(qlen deleted)" 0 "... having deleted nothing from SQS"
umount "$T/fb"
mount -t tmpfs -o size=256m,mode=0777 tmpfs "$T/fb"
printf 'keep@example.org,manual\n' | "$B/relay/ses-suppress" -c "$T/fb.conf" import - >/dev/null
sesd_state '{"sqs_delete_hang": true}'
"$B/relay/ses-feedback" -c "$T/fb.conf" -Q -f >> "$T/fb.out" 2>&1 &
FB=$!
add_cleanup "kill $FB 2>/dev/null"
# the store is open and warm: fill the disk under it
wait_for 30 sh -c "[ \"\$(curl -sf $SESD_URL/_sqs/queue$Q | $PY -c 'import json,sys; print(json.load(sys.stdin).get(\"delete_hung\", 0))')\" -ge 1 ]"
ok $? "feedback: the first notification was applied (its delete held back)"
kill -9 $FB; wait $FB 2>/dev/null
sesd_state '{"sqs_delete_hang": false}'
np=$(grep -c 'polling' "$T/fb.log")
"$B/relay/ses-feedback" -c "$T/fb.conf" -Q -f >> "$T/fb.out" 2>&1 &
FB=$!
add_cleanup "kill $FB 2>/dev/null"
# "polling" comes once the store is open: fill the disk after that
wait_for 30 sh -c "[ \$(grep -c 'polling' '$T/fb.log') -gt $np ]"
nfull=$(grep -Ec '(No space left on device|file system full)' "$T/fb.log")
dd if=/dev/zero of="$T/fb/filler" bs=64k 2>/dev/null
# 40 bounces: the first may still fit in the log's last page; the rest
# cannot be committed
i=1
while [ $i -le 40 ]; do
    $PY "$top_srcdir/tests/integration/sns_sign.py" bounce \
        "$top_srcdir/tests/data/feedback/bounce-permanent.json" "0100-full-$i" \
        alice@sender.example "full$i@example.net" "fb-full-$i" > "$T/bounce.json"
    curl -sf -X POST --data-binary @"$T/bounce.json" "$SESD_URL/_sqs/send$Q" |
        $PY -c 'import json,sys; print(json.load(sys.stdin)["MessageId"], '"$i"')'
    i=$((i + 1))
done > "$T/ids"
deleted_ids() { curl -sf "$SESD_URL/_sqs/queue$Q" | $PY -c '
import json, sys
d = set(json.load(sys.stdin)["deleted"])
for line in open(sys.argv[1]):
    mid, n = line.split()
    if mid in d: print(n)' "$T/ids"; }
failures() { grep -Ec '(No space left on device|file system full)' "$T/fb.log"; }
# until ses-feedback has met the full disk or committed all 40 (however
# long a busy machine takes)
end=$(( $(date +%s) + 60 ))
while [ "$(failures)" -le "$nfull" ] && [ "$(deleted_ids | wc -l)" -lt 40 ] &&
      [ "$(date +%s)" -lt "$end" ]; do
    sleep 0.2
done
kill -0 $FB; ok $? "feedback, disk filled while running: ses-feedback keeps running"
nd=$(deleted_ids | wc -l)
diag "feedback, disk full: $nd of 40 notifications committed and deleted (a commit that fits in the log's allocated pages succeeds)"
bad=0
for n in $(deleted_ids); do
    "$B/relay/ses-suppress" -c "$T/fb.conf" check "full$n@example.net" >/dev/null || bad=$((bad + 1))
done
is "$bad" 0 "feedback, disk full: every deleted notification was committed"
if [ "$nd" -lt 40 ]; then
    ok $([ "$(failures)" -gt "$nfull" ] && echo 0 || echo 1) \
        "feedback, disk full: the store failure is logged"
else
    skip "feedback, disk full: the store failure is logged" \
        "all 40 commits fitted in the log's allocated pages: nothing failed"
fi
rm -f "$T/fb/filler"
wait_for 60 sh -c "[ \$(curl -sf $SESD_URL/_sqs/queue$Q | $PY -c 'import json,sys; print(len(json.load(sys.stdin)[\"messages\"]))') -eq 0 ]"
ok $? "feedback: with room again every notification is applied and deleted"
bad=0; i=1
while [ $i -le 40 ]; do
    "$B/relay/ses-suppress" -c "$T/fb.conf" check "full$i@example.net" >/dev/null || bad=$((bad + 1))
    i=$((i + 1))
done
is "$bad" 0 "... and all 40 addresses are suppressed"
kill $FB

# ---- metrics.mmap and hoststate as an older version left them (sparse),
# on a full disk: a page written through their mapping would be SIGBUS,
# after SES accepted the message. They are allocated before use instead,
# or left alone: the delivery stands, the metrics and breakers step aside.
mkdir -p "$T/sp" "$T/roomy"
mount -t tmpfs -o size=8m,mode=0777 tmpfs "$T/sp"
add_cleanup "umount -l '$T/sp' 2>/dev/null"
ses_conf "$T/roomy.conf" "DataDirectory $T/roomy" "LogFile $T/roomy.log"
"$B/relay/ses-metrics" -c "$T/roomy.conf" > /dev/null 2>&1
mkdir -p "$T/sp/data" && chmod 2777 "$T/sp/data"
cp --sparse=always "$T/roomy/metrics.mmap" "$T/roomy/hoststate" "$T/sp/data/"
holes=0
for f in metrics.mmap hoststate; do
    [ $(( $(stat -c %b "$T/sp/data/$f") * 512 )) -lt "$(stat -c %s "$T/sp/data/$f")" ] && holes=$((holes + 1))
done
is "$holes" 2 "metrics.mmap and hoststate copied with holes, as an older version made them"
dd if=/dev/zero of="$T/sp/filler" bs=64k 2>/dev/null
is "$(df -k "$T/sp" | awk 'NR==2 {print $4}')" 0 "... on a full file system"
ses_conf "$T/sp.conf" "DataDirectory $T/sp/data" "LogFile $T/sp.log" "RetryTime 0"
sesd_reset
out=$(printf 'From: alice@sender.example\nSubject: sparse\n\nx\n' |
    "$B/relay/ses-relay" -c "$T/sp.conf" -f alice@sender.example -- sparse@example.net 2>&1)
is "$?" 0 "SES accepted: exit 0, no SIGBUS from metrics.mmap"
is "$(sent_summary sparse)" "calls=1 dests=1 unique=1 sizes=1" "... SES has it once"
like "$(cat "$T/sp.log")" "metrics.mmap: No space left on device" "... the metrics step aside, saying why"
sesd_fault '{"route": "ses-send-v2", "count": -1, "status": 400, "error": "MessageRejected", "message": "Sending paused for this account."}'
out=$(printf 'From: alice@sender.example\nSubject: sparse-paused\n\nx\n' |
    "$B/relay/ses-relay" -c "$T/sp.conf" -f alice@sender.example -- sparse@example.net 2>&1)
is "$?" 75 "a breaker trips on the full disk: deferred (75), no SIGBUS from hoststate"
like "$(cat "$T/sp.log")" "breakers are this process's own, not the host's: cannot allocate the blocks of .*hoststate: No space left on device" \
    "... the breakers step aside, saying why"
sesd_reset
tap_done
