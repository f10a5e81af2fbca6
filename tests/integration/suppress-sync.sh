#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# ses-suppress sync against sesd's SESv2 suppression list (every request's
# SigV4 signature checked by botocore): pull, push, local removals deleted
# from SES, SES removals applied here, newest change wins, pagination, a
# dry run that changes nothing, a failed listing that changes nothing.
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/sesd/lib.sh"
sesd_need
tmpdir_make
B=$top_builddir
PY=/usr/bin/python3

sesd_start; ok $? "sesd starts"
sesd_relay_conf "$T/ses.conf" "DataDirectory $T/data"
S="$B/relay/ses-suppress -c $T/ses.conf"
NOW=$(date +%s)

seed() { printf "%s" "$1" | curl -sf -X POST --data-binary @- "$SESD_URL/_suppression" >/dev/null; }
remote() { curl -sf "$SESD_URL/_suppression" |
           $PY -c 'import json,sys; print(" ".join(e["EmailAddress"].lower() + ":" + e["Reason"] for e in json.load(sys.stdin)))'; }
here() { $S list | awk 'NR > 1 {print $1 ":" $2 ":" $3}' | tr '\n' ' ' | sed 's/ $//'; }  # below the header

seed "[{\"EmailAddress\": \"X@Remote.example\", \"Reason\": \"BOUNCE\", \"LastUpdateTime\": $((NOW - 100))},
       {\"EmailAddress\": \"both@example.com\", \"Reason\": \"COMPLAINT\", \"LastUpdateTime\": $((NOW - 100))},
       {\"EmailAddress\": \"gone@example.com\", \"Reason\": \"BOUNCE\", \"LastUpdateTime\": $((NOW - 1000))},
       {\"EmailAddress\": \"back@example.com\", \"Reason\": \"BOUNCE\", \"LastUpdateTime\": $((NOW + 3600))}]"
$S add both@example.com --reason complaint >/dev/null 2>&1
$S add local@example.com >/dev/null 2>&1
$S add gone@example.com --reason bounce >/dev/null 2>&1
$S remove gone@example.com >/dev/null 2>&1
$S add back@example.com >/dev/null 2>&1
$S remove back@example.com >/dev/null 2>&1
before_remote=$(remote); before_here=$(here)

out=$($S sync -n 2>&1); rc=$?
is "$rc" 0 "sync -n exits 0"
like "$out" "^pull +x@remote.example" "the dry run shows the pull"
like "$out" "push +local@example.com" "... the push"
like "$out" "delete-remote +gone@example.com" "... the deletion of a local removal"
like "$out" "restore +back@example.com" "... the restore of an address SES re-added later"
is "$(remote)" "$before_remote" "the dry run changes nothing in SES"
is "$(here)" "$before_here" "the dry run changes nothing here"

out=$($S sync 2>&1); rc=$?
is "$rc" 0 "sync exits 0"
like "$out" "4 in SES, 4 here; 1 pulled, 1 pushed, 1 deleted from SES, 0 removed here, 1 restored, 0 tombstones forgotten, 0 failed" \
    "sync reports what it did"
is "$(remote)" "back@example.com:BOUNCE both@example.com:COMPLAINT local@example.com:BOUNCE x@remote.example:BOUNCE" \
    "SES: local@example.com pushed (manual as BOUNCE), gone@example.com deleted"
is "$(here)" "back@example.com:bounce:ses both@example.com:complaint:manual local@example.com:manual:manual x@remote.example:bounce:ses" \
    "here: x@remote.example pulled (source ses), back@example.com restored"
$S check gone@example.com >/dev/null; is $? 1 "gone@example.com stays removed here"

out=$($S sync 2>&1)
like "$out" "0 pulled, 0 pushed, 0 deleted from SES, 0 removed here, 0 restored, 0 tombstones forgotten, 0 failed" \
    "a second sync changes nothing"

# SES removes an address both sides knew: it goes here too.
seed "[{\"EmailAddress\": \"both@example.com\", \"Reason\": \"COMPLAINT\", \"LastUpdateTime\": $((NOW - 100))},
       {\"EmailAddress\": \"local@example.com\", \"Reason\": \"BOUNCE\", \"LastUpdateTime\": $NOW},
       {\"EmailAddress\": \"back@example.com\", \"Reason\": \"BOUNCE\", \"LastUpdateTime\": $((NOW + 3600))}]"
out=$($S sync 2>&1)
like "$out" "1 removed here" "an address removed in SES is removed here"
$S check x@remote.example >/dev/null; is $? 1 "x@remote.example is no longer suppressed here"

# A new local bounce for an address SES dropped is new again: pushed.
$S add x@remote.example --reason bounce >/dev/null 2>&1
out=$($S sync 2>&1)
like "$out" "1 pushed" "a local entry newer than SES's removal is pushed again"

# Pagination: 2,500 entries come in three pages.
$PY -c "
import json, time
print(json.dumps([{'EmailAddress': 'p%04d@page.example' % i, 'Reason': 'BOUNCE',
                   'LastUpdateTime': time.time() - 50} for i in range(2500)]))" > "$T/many.json"
curl -sf -X POST --data-binary @"$T/many.json" "$SESD_URL/_suppression" >/dev/null
out=$($S sync 2>&1); rc=$?
is "$rc" 0 "sync over 2,500 remote entries exits 0"
like "$out" "2500 in SES" "all three pages were read"
is "$($S list | grep -c '@page.example')" 2500 "all 2,500 are suppressed here"
is "$(sesd_requests | $PY -c '
import json,sys
r=[x for x in json.load(sys.stdin) if x["route"]=="suppression-list"]
print(len([x for x in r if "NextToken" in x["query"]]) >= 2, all(x["akid"] and not x["error"] for x in r))')" "True True" \
    "ListSuppressedDestinations is paginated with NextToken, every call signed"
is "$(sesd_requests | $PY -c '
import json,sys
r=[x for x in json.load(sys.stdin) if x["route"] in ("suppression-put","suppression-delete")]
print(len(r) > 0 and all(x["akid"] and not x["error"] for x in r))')" True \
    "PutSuppressedDestination and DeleteSuppressedDestination were signed"

# A listing that fails: nothing is decided.
sesd_fault '{"route": "suppression-list", "count": -1, "status": 500, "error": "InternalFailure", "message": "down"}'
before_here=$(here)
out=$($S sync 2>&1); rc=$?
is "$rc" 75 "a failing listing makes sync exit 75"
is "$(here)" "$before_here" "... and changes nothing here"
tap_done
