#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The credential sources at their real, built-in addresses - no endpoint
# override: in a private network namespace, sesd plays the ECS agent on
# 169.254.170.2:80 (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) and the EC2
# instance metadata service on 169.254.169.254:80 (IMDSv2), while ses-relay
# sends to a loopback sesd. Needs root and unshare(1); skipped otherwise.
. "${top_srcdir:-.}/tests/lib.sh"
. "$top_srcdir/tests/sesd/lib.sh"
sesd_need

if [ -z "${SES_IN_NETNS:-}" ]; then
    command -v unshare >/dev/null && command -v ip >/dev/null ||
        tap_skip_all "unshare(1) or ip(8) missing"
    [ "$(id -u)" = 0 ] || tap_skip_all "needs root for a network namespace"
    unshare -n true 2>/dev/null || tap_skip_all "cannot create a network namespace"
    SES_IN_NETNS=1 exec unshare -n "$0" "$@"
fi

tmpdir_make
ip link set lo up && ip addr add 169.254.170.2/32 dev lo &&
    ip addr add 169.254.169.254/32 dev lo
ok $? "private namespace with the link-local metadata addresses on lo"

# One sesd on port 80 of every address of this private namespace plays the
# SES endpoint (127.0.0.1), the ECS agent (169.254.170.2) and IMDS
# (169.254.169.254); nothing outside the namespace can reach it.
sesd_start --host 0.0.0.0 --port 80; ok $? "sesd starts in the namespace"
SESD_URL=http://127.0.0.1:80
sesd_relay_conf --no-creds "$T/r.conf"
issued_by() { sesd_py "[i for i in issued if i['source'] == '$1'][-1]['akid']"; }
last_akid() { sesd_py '[r for r in req if r["route"].startswith("ses-send")][-1]["akid"]'; }
routes() { sesd_py '" ".join(r["method"] + ":" + r["route"] for r in req if not r["route"].startswith("ses-send"))'; }

test_message relative > "$T/msg"
AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/container/v2/credentials/task-1 \
    relay -f a@example.com -- b@example.net < "$T/msg"
is "$RC" 0 "container credentials from RELATIVE_URI: sent"
is "$(sesd_py '[(r["headers"]["host"], r["path"]) for r in req if r["route"] == "container-creds"]')" \
   "[('169.254.170.2', '/container/v2/credentials/task-1')]" \
   "RELATIVE_URI is fetched from http://169.254.170.2"
is "$(last_akid)" "$(issued_by container)" "the SES request is signed with the agent's key"
sesd_reset

unset AWS_EC2_METADATA_DISABLED
relay -f a@example.com -- b@example.net < "$T/msg"
is "$RC" 0 "instance metadata: sent"
is "$(routes)" "PUT:imds-token GET:imds-role GET:imds-creds" \
   "IMDSv2: token, role, credentials"
is "$(sesd_py 'sorted(set(r["headers"]["host"] for r in req if r["route"].startswith("imds")))')" \
   "['169.254.169.254']" "from 169.254.169.254 when nothing overrides it"
is "$(last_akid)" "$(issued_by imds)" "the SES request is signed with the instance role's key"
sesd_reset

AWS_EC2_METADATA_DISABLED=TRUE relay -f a@example.com -- b@example.net < "$T/msg"
is "$(routes)" "" "AWS_EC2_METADATA_DISABLED=TRUE: not a single metadata request"
like "$OUT" "^4\\.3\\.5 no AWS credentials found" "and the message is deferred"

tap_done
