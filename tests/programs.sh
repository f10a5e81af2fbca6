#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The five programs: -V, -h, usage errors, config checks, exit codes.
. "${top_srcdir:-.}/tests/lib.sh"
tmpdir_make
B=$top_builddir

for p in milter/ses-milter milter/ses-keygen relay/ses-relay \
         relay/ses-feedback relay/ses-suppress; do
    name=$(basename $p)
    out=$("$B/$p" -V 2>&1); rc=$?
    is "$rc" 0 "$name -V exits 0"
    like "$out" "^$name \\(ses-milter\\) [0-9]+\\.[0-9]+" "$name -V prints its version"
    out=$("$B/$p" -h 2>&1); rc=$?
    is "$rc" 0 "$name -h exits 0"
    like "$out" "usage: $name" "$name -h prints usage"
    like "$out" "-c FILE" "$name -h documents -c"
done

printf 'Region eu-west-1\nConfigurationSet tx\n' > "$T/good.conf"
printf 'Region eu-west-1\n\nBogusKey 1\n' > "$T/bad.conf"
printf 'Mode sometimes\nRegion eu-west-1\nBogusKey 1\n' > "$T/bad2.conf"
head -c 4096 /dev/urandom > "$T/binary.conf"
: > "$T/empty.conf"

"$B/milter/ses-milter" -n -c "$T/good.conf"; is $? 0 "ses-milter -n accepts a valid config"
"$B/milter/ses-milter" -n -c "$T/empty.conf"; is $? 0 "ses-milter -n accepts an empty config"
out=$("$B/milter/ses-milter" -n -c "$T/bad.conf" 2>&1); rc=$?
is "$rc" 78 "ses-milter -n exits 78 on an invalid config"
like "$out" "$T/bad.conf:3: unknown key \"BogusKey\"" "ses-milter -n names file:line"
out=$("$B/milter/ses-milter" -n -c "$T/bad2.conf" 2>&1)
like "$out" "$T/bad2.conf:1: Mode must be one of" \
    "ses-milter -n reports the first mistake of a file..."
like "$out" "$T/bad2.conf:3: unknown key \"BogusKey\"" \
    "... and every other one, each with its line"
out=$("$B/milter/ses-milter" -n -c "$T/binary.conf" 2>&1); rc=$?
is "$rc" 78 "ses-milter -n exits 78 on a binary file"
out=$("$B/milter/ses-milter" -n -c "$T/missing.conf" 2>&1); rc=$?
is "$rc" 78 "ses-milter -n exits 78 on a missing file"
out=$("$B/milter/ses-milter" -x 2>&1); rc=$?
is "$rc" 64 "ses-milter with a bad option exits 64 (EX_USAGE)"

# ses-relay must never bounce because of its own configuration.
out=$(echo "Subject: t" | "$B/relay/ses-relay" -c "$T/bad.conf" -f a@example.com -- b@example.com 2>&1); rc=$?
is "$rc" 75 "ses-relay with an invalid config exits 75 (EX_TEMPFAIL)"
like "$out" "^4\\.3\\.5 .*bad.conf:3: unknown key" "ses-relay invalid config diagnostic is 4.3.5 with file:line"
out=$(echo "Subject: t" | "$B/relay/ses-relay" -c "$T/missing.conf" -f a@example.com -- b@example.com 2>&1); rc=$?
is "$rc" 75 "ses-relay with an unreadable config exits 75"
like "$out" "^4\\.3\\.5 " "ses-relay unreadable config diagnostic is 4.3.5"
out=$(echo "Subject: t" | "$B/relay/ses-relay" -c "$T/good.conf" -Z 2>&1); rc=$?
is "$rc" 75 "ses-relay with a bad option defers (75), never bounces"
out=$(echo "Subject: t" | "$B/relay/ses-relay" -c "$T/good.conf" -f a@example.com 2>&1); rc=$?
is "$rc" 75 "ses-relay without recipients defers (75)"
like "$out" "^4\\.3\\.5 .*at least one recipient" "ses-relay explains the missing recipient"

# No credentials: defer with 4.3.5, never bounce.
printf 'Region eu-west-1\nEndpoint http://127.0.0.1:9\nRetryTime 0\nSyslog no\n' > "$T/nocreds.conf"
out=$(echo "Subject: t" | env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
      HOME="$T" AWS_SHARED_CREDENTIALS_FILE="$T/none" AWS_CONFIG_FILE="$T/none" \
      "$B/relay/ses-relay" -c "$T/nocreds.conf" -f a@example.com -- b@example.com 2>/dev/null); rc=$?
is "$rc" 75 "ses-relay without AWS credentials defers (75)"
like "$out" "^4\\.3\\.5 no AWS credentials" "missing credentials diagnostic is 4.3.5"

# SES unreachable: defer.
out=$(echo "Subject: t" | AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secretsecretsecret \
      "$B/relay/ses-relay" -c "$T/nocreds.conf" -f a@example.com -- b@example.com 2>/dev/null); rc=$?
is "$rc" 75 "ses-relay with SES unreachable defers (75)"
like "$out" "^4\\.4\\.1 " "unreachable SES diagnostic is 4.4.1"

tap_done
