#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The man pages cannot drift from the code: every key of
# include/ses_conf_keys.h is in ses-milter.conf(5) exactly as the table
# says, every option a program's -h shows is in its man page, every metric
# ses-metrics prints is in ses-metrics(8), every page renders with
# groff -man -ww without a warning, and the Postfix lines of the README,
# the man pages and contrib/ are one set.
. "${top_srcdir:-.}/tests/lib.sh"
tmpdir_make
S=$top_srcdir
B=$top_builddir
CONF5=$S/man/ses-milter.conf.5

# 1. Rendering.
for page in "$S"/man/*.[58]; do
    out=$(groff -man -ww -z "$page" 2>&1)
    is "$out" "" "$(basename "$page") renders with groff -man -ww without warnings"
done

# 2. Keys: each one has an entry, and the generated list is current.
"$B/tests/conf-keys" > "$T/keys.tsv"
"$B/tests/conf-keys" -m > "$T/keys.man"
missing=""
while IFS='	' read -r name type def cons doc; do
    grep -qx "\\.B $name" "$CONF5" || missing="$missing $name"
done < "$T/keys.tsv"
if [ -z "$missing" ]; then ok 0 "every key in include/ses_conf_keys.h has an entry in ses-milter.conf(5)"; else
    ok 1 "every key in include/ses_conf_keys.h has an entry in ses-milter.conf(5)"
    diag "not documented in man/ses-milter.conf.5:$missing" \
         "fix: run 'make update-man' (regenerates the KEYS list from the table) and commit man/ses-milter.conf.5"
fi
"$S/man/update-keys" "$T/keys.man" "$CONF5" > "$T/expected.5"
if cmp -s "$T/expected.5" "$CONF5"; then ok 0 "the KEYS list of ses-milter.conf(5) matches the table (types, defaults, docs)"; else
    ok 1 "the KEYS list of ses-milter.conf(5) matches the table (types, defaults, docs)"
    diag "man/ses-milter.conf.5 is out of date with include/ses_conf_keys.h:"
    diff -u "$CONF5" "$T/expected.5" | sed -n '3,40p' | sed 's/^/#   /'
    diag "fix: run 'make update-man' and commit man/ses-milter.conf.5"
fi
extra=""
for name in $(sed -n '/^\.\\" BEGIN KEYS/,/^\.\\" END KEYS/s/^\.B \([A-Za-z]*\)$/\1/p' "$CONF5"); do
    cut -f1 "$T/keys.tsv" | grep -qx "$name" || extra="$extra $name"
done
is "$extra" "" "ses-milter.conf(5) lists no key the table does not have"

# 3. Options: every option in -h output has an entry in the program's page.
#    An entry is a line starting .B/.BI/.BR that names the option
#    (".BR \-h \", \" \-\-help" documents both).
for p in milter/ses-milter milter/ses-keygen relay/ses-relay \
         relay/ses-feedback relay/ses-suppress relay/ses-metrics; do
    name=$(basename $p)
    page=$S/man/$name.8
    [ -f "$page" ]; ok $? "$name has a man page ($name.8)"
    opts=$("$B/$p" -h 2>&1 | grep -oE '(^|[][ |,])--?[A-Za-z0-9][A-Za-z0-9-]*' |
           sed 's/^[][ |,]*//' | sort -u)
    [ -n "$opts" ]; ok $? "$name -h lists options"
    undocumented=""
    for o in $opts; do
        esc=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
        grep -qE "^\\.(B|BI|BR) (.* )?$esc( |\$)" "$page" || undocumented="$undocumented $o"
    done
    if [ -z "$undocumented" ]; then ok 0 "every option $name -h shows is documented in $name.8"; else
        ok 1 "every option $name -h shows is documented in $name.8"
        for o in $undocumented; do
            e=$(printf '%s' "$o" | sed 's/-/\\-/g')
            diag "$name -h shows $o but man/$name.8 has no entry for it; add to OPTIONS:" \
                 "  .TP" "  .B $e        (or, with an argument: .BI $e \" argument\")" \
                 "  What it does."
        done
    fi
done

# 4. Metrics: every family ses-metrics prints is described in ses-metrics(8).
mkdir "$T/data"
printf 'DataDirectory %s/data\n' "$T" > "$T/m.conf"
fams=$("$B/relay/ses-metrics" -c "$T/m.conf" | sed -n 's/^# TYPE \([a-z_]*\) .*/\1/p')
[ -n "$fams" ]; ok $? "ses-metrics prints metric families"
undocumented=""
for f in $fams; do
    grep -qx "\\.B $f" "$S/man/ses-metrics.8" || undocumented="$undocumented $f"
done
is "$undocumented" "" "every metric ses-metrics prints is described in ses-metrics(8)"

# 5. Postfix snippets: one set. Every Postfix line README.md, the man
#    pages, contrib/postfix/MIGRATION.md, the systemd units and the example
#    configuration show is a line of contrib/postfix/main.cf, master.cf or
#    ses-milter_header_checks, and a code block that shows the milter, the
#    pipe or the LMTP transport shows all of its lines, in order
#    (tests/postfix_snippets.py; tests/integration/postfix-debian.sh runs
#    them as written on a chrooted Postfix).
for doc in "$S"/README.md "$S"/SECURITY.md "$S"/contrib/postfix/MIGRATION.md \
           "$S"/contrib/ses-milter.conf.example "$S"/man/*.[58] \
           "$S"/contrib/systemd/*.service.in; do
    [ -f "$doc" ] || continue
    rel=${doc#"$S"/}
    out=$(/usr/bin/python3 "$S/tests/postfix_snippets.py" "$S" "$rel")
    is "$out" "" "$rel shows the Postfix lines of contrib/postfix"
done
# ... and the check can fail: the lines these documents once showed
cat > "$T/old.md" <<'OLD'
```
smtpd_milters = unix:/run/ses-milter/ses-milter.sock
non_smtpd_milters = $smtpd_milters
milter_default_action = tempfail
```
`default_transport = lmtp:unix:/run/ses-relay/lmtp`
OLD
out=$(/usr/bin/python3 "$S/tests/postfix_snippets.py" "$S" "$T/old.md")
like "$out" "old.md:2: not in contrib/postfix: smtpd_milters = unix:/run/ses-milter/ses-milter.sock" \
    "a milter socket outside Postfix's queue directory is found"
like "$out" "old.md:3: a milter line without the lines before it" "a milter block without all its lines is found"
like "$out" "old.md:6: not in contrib/postfix: default_transport = lmtp:unix:/run/ses-relay/lmtp" \
    "the chrooted stock lmtp transport is found"

tap_done
