#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The six programs: -V/--version, -h/--help, usage errors, config checks,
# exit codes.
. "${top_srcdir:-.}/tests/lib.sh"
tmpdir_make
B=$top_builddir

for p in milter/ses-milter milter/ses-keygen relay/ses-relay \
         relay/ses-feedback relay/ses-suppress relay/ses-metrics; do
    name=$(basename $p)
    out=$("$B/$p" -V 2>&1); rc=$?
    is "$rc" 0 "$name -V exits 0"
    like "$out" "^$name \\(ses-milter\\) [0-9]+\\.[0-9]+" "$name -V prints its version"
    out=$("$B/$p" -h 2>&1); rc=$?
    is "$rc" 0 "$name -h exits 0"
    like "$out" "usage: $name" "$name -h prints usage"
    like "$out" "-c FILE" "$name -h documents -c"
    # --help and --version: the same answers, on standard output
    help=$("$B/$p" --help 2>/dev/null); rc=$?
    is "$rc" 0 "$name --help exits 0"
    is "$help" "$("$B/$p" -h 2>/dev/null)" "$name --help prints on stdout what -h prints"
    like "$help" "-h, --help" "$name --help documents itself"
    out=$("$B/$p" --version 2>/dev/null); rc=$?
    is "$rc:$out" "0:$("$B/$p" -V 2>/dev/null)" "$name --version is -V"
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

# ses-milter -n: a CredentialsFile that is not there is skipped by the
# credential chain, so it is a warning (with file:line), not an error; a
# KeyFile that is not there is an error at its line.
printf 'Region eu-west-1\n# AWS keys\nCredentialsFile %s/no-such-creds\n' "$T" > "$T/nocredsfile.conf"
out=$("$B/milter/ses-milter" -n -c "$T/nocredsfile.conf" 2>&1); rc=$?
is "$rc" 0 "ses-milter -n accepts a CredentialsFile that does not exist ..."
like "$out" "^ses-milter: $T/nocredsfile.conf:3: warning: CredentialsFile $T/no-such-creds does not exist" \
    "... and warns about it with file:line"
: > "$T/empty-creds"
printf 'CredentialsFile %s/empty-creds\n' "$T" > "$T/credsfile.conf"
out=$("$B/milter/ses-milter" -n -c "$T/credsfile.conf" 2>&1); rc=$?
is "$rc:$out" "0:" "ses-milter -n is silent about a CredentialsFile that exists"
printf 'Domain example.com\nSelector s1\n\nKeyFile %s/no-such.private\n' "$T" > "$T/nokey.conf"
out=$("$B/milter/ses-milter" -n -c "$T/nokey.conf" 2>&1); rc=$?
is "$rc" 78 "ses-milter -n refuses a KeyFile that does not exist (78)"
like "$out" "$T/nokey.conf:4: key file $T/no-such.private: No such file or directory" \
    "... naming file:line of KeyFile"

# ses-relay must never bounce because of its own configuration.
out=$(echo "Subject: t" | "$B/relay/ses-relay" -c "$T/bad.conf" -f a@example.com -- b@example.com 2>&1); rc=$?
is "$rc" 75 "ses-relay with an invalid config exits 75 (EX_TEMPFAIL)"
like "$out" "^4\\.3\\.5 .*bad.conf:3: unknown key" "ses-relay invalid config diagnostic is 4.3.5 with file:line"
out=$(echo "Subject: t" | "$B/relay/ses-relay" -c "$T/missing.conf" -f a@example.com -- b@example.com 2>&1); rc=$?
is "$rc" 75 "ses-relay with an unreadable config exits 75"
like "$out" "^4\\.3\\.5 " "ses-relay unreadable config diagnostic is 4.3.5"
out=$(echo "Subject: t" | "$B/relay/ses-relay" -c "$T/good.conf" -Z 2>&1); rc=$?
is "$rc" 75 "ses-relay with a bad option defers (75), never bounces"
out=$(echo "Subject: t" | "$B/relay/ses-relay" -c "$T/good.conf" --bogus -f a@example.com -- b@example.com 2>&1); rc=$?
is "$rc" 75 "ses-relay with an unknown long option defers (75): pipe(8) would bounce EX_USAGE"
like "$out" "^4\\.3\\.5 ses-relay: bad option --bogus" "... naming the option"
out=$("$B/milter/ses-milter" --bogus 2>&1); rc=$?
is "$rc" 64 "ses-milter with an unknown long option exits 64 (EX_USAGE)"
out=$(echo "Subject: t" | "$B/relay/ses-relay" -c "$T/good.conf" -f a@example.com 2>&1); rc=$?
is "$rc" 75 "ses-relay without recipients defers (75)"
like "$out" "^4\\.3\\.5 .*at least one recipient" "ses-relay explains the missing recipient"

# ses-suppress: the read-only commands on a DataDirectory that holds no
# store answer "nothing there" and create nothing (a store is some 93 MB of
# region files); list labels its columns, export stays bare CSV.
printf 'DataDirectory %s/nodata\nSyslog no\n' "$T" > "$T/supp.conf"
S="$B/relay/ses-suppress -c $T/supp.conf"
out=$($S list 2>&1); rc=$?
is "$rc:$out" "0:$(printf '%-40s %-9s %-8s %-20s %-20s %s' ADDRESS REASON SOURCE FIRST LAST COUNT)" \
    "ses-suppress list on a missing DataDirectory: only the header, exit 0"
out=$($S check a@example.com 2>&1); rc=$?
is "$rc:$out" "1:a@example.com: not suppressed" "ses-suppress check on a missing DataDirectory: not suppressed (1)"
is "$($S export 2>&1; echo rc=$?)" "rc=0" "ses-suppress export on a missing DataDirectory: nothing, exit 0"
$S report >/dev/null 2>&1; is "$?" 0 "ses-suppress report on a missing DataDirectory: exit 0"
[ ! -e "$T/nodata" ]; ok $? "... and none of them created the DataDirectory"
mkdir "$T/nodata"
$S list >/dev/null 2>&1 && $S check a@example.com >/dev/null 2>&1
is "$(ls -A "$T/nodata")" "" "... nor a store in an empty one"
$S add b@example.com --reason bounce >/dev/null 2>&1; ok $? "ses-suppress add creates the store"
out=$($S list 2>&1)
like "$(printf '%s\n' "$out" | head -1)" "^ADDRESS +REASON +SOURCE +FIRST +LAST +COUNT$" "ses-suppress list: a header line names the columns"
like "$(printf '%s\n' "$out" | sed -n 2p)" "^b@example.com +bounce +manual +[0-9T:-]+Z +[0-9T:-]+Z +1$" "... above one line per entry"
is "$(printf '%s\n' "$out" | wc -l)" 2 "... and nothing else"
like "$($S export)" "^b@example.com,bounce,[0-9T:-]+Z$" "ses-suppress export: CSV, no header"

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
