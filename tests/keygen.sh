#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# ses-keygen: key files, refusal to overwrite, the printed DNS records, and
# a signature made with the key that verifies against the printed record.
. "${top_srcdir:-.}/tests/lib.sh"
tmpdir_make
K=$top_builddir/milter/ses-keygen
PY=/usr/bin/python3
printf 'Region eu-west-2\n' > "$T/ses.conf"
mkdir "$T/keys"

# p= of the printed DKIM record, strings joined
printed_p() {
    sed -n 's/.*_domainkey\..* IN TXT ( \(.*\) )$/\1/p' "$1" |
        sed 's/" "//g; s/"//g; s/.*p=//'
}

for alg in rsa-2048 rsa-3072 ed25519; do
    sel=s-$alg
    "$K" -c "$T/ses.conf" -a $alg -d example.com -s $sel -D "$T/keys" > "$T/$alg.out" 2>"$T/$alg.err"
    is "$?" 0 "$alg: ses-keygen exits 0"
    key=$T/keys/$sel.private
    is "$(stat -c %a "$key" 2>/dev/null)" 600 "$alg: private key written with mode 0600"
    like "$(head -1 "$key")" "^-----BEGIN PRIVATE KEY-----$" "$alg: private key is PEM (PKCS#8)"
    case $alg in
    ed25519) want=$(openssl pkey -in "$key" -pubout -outform DER | tail -c 32 | base64 -w0); k=ed25519 ;;
    *)       want=$(openssl pkey -in "$key" -pubout -outform DER | base64 -w0); k=rsa ;;
    esac
    is "$(printed_p "$T/$alg.out")" "$want" "$alg: printed DKIM public key matches the private key (openssl)"
    like "$(cat "$T/$alg.out")" "^$sel\\._domainkey\\.example\\.com\\. IN TXT \\( \"v=DKIM1; k=$k; p=" \
        "$alg: DKIM record names the selector and k=$k"
    out=$($PY "$top_srcdir/tests/keygen_check.py" "$T/$alg.out" "$key" $alg 2>&1)
    ok $? "$alg: a message signed with the key verifies against the printed TXT record (dkimpy)"
    [ -n "$out" ] && diag "$out"
done
# libopendkim (the milter's signer) takes the key as written, and its
# signature verifies against the printed record too.
if command -v opendkim >/dev/null 2>&1; then
    for alg in rsa-2048 ed25519; do
        case $alg in ed25519) sa=ed25519-sha256 ;; *) sa=rsa-sha256 ;; esac
        printf 'Domain example.com\nSelector s-%s\nKeyFile %s\nSignatureAlgorithm %s\nMode s\nSyslog no\nRequireSafeKeys false\n' \
            $alg "$T/keys/s-$alg.private" $sa > "$T/od-$alg.conf"
        printf 'From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: opendkim\r\n\r\nHello.\r\n' > "$T/msg-$alg.eml"
        opendkim -x "$T/od-$alg.conf" -t "$T/msg-$alg.eml" 2>&1 | sed '1d' > "$T/sig-$alg"
        cat "$T/sig-$alg" "$T/msg-$alg.eml" > "$T/signed-$alg.eml"
        grep -q "^DKIM-Signature: v=1; a=$sa" "$T/sig-$alg" &&
            $PY "$top_srcdir/tests/keygen_check.py" "$T/$alg.out" "$T/keys/s-$alg.private" $alg "$T/signed-$alg.eml" >/dev/null 2>&1
        ok $? "$alg: libopendkim signs with the key and dkimpy verifies it against the printed record"
    done
else
    skip "rsa-2048: libopendkim signs with the key" "no opendkim"
    skip "ed25519: libopendkim signs with the key" "no opendkim"
fi

bits=$(openssl pkey -in "$T/keys/s-rsa-3072.private" -text -noout | sed -n 's/.*(\([0-9]*\) bit.*/\1/p')
is "$bits" 3072 "rsa-3072 makes a 3072-bit key"
n=$(sed -n 's/.*_domainkey.* IN TXT ( \(.*\) )$/\1/p' "$T/rsa-3072.out" | grep -o '"[^"]*"' | wc -l)
is "$n" 3 "a 3072-bit key's record is split into three strings"
longest=$(sed -n 's/.*_domainkey.* IN TXT ( \(.*\) )$/\1/p' "$T/rsa-3072.out" | grep -o '"[^"]*"' |
          awk '{ if (length($0) - 2 > m) m = length($0) - 2 } END { print m }')
is "$longest" 255 "the strings are at most 255 bytes, the first one full"

out=$(cat "$T/rsa-2048.out")
is "$(printf '%s\n' "$out" | grep -c '^example\.com\. IN TXT')" 0 \
    "no SPF record for the domain itself: SES sends from the MAIL FROM domain"
like "$out" "^;    itself: example\\.com's own SPF record needs no include:amazonses\\.com\\.\$" "... and it says so"
like "$out" '^_dmarc\.example\.com\. IN TXT "v=DMARC1; p=none; ' "prints the DMARC record"
like "$out" '^bounce\.example\.com\. IN MX 10 feedback-smtp\.eu-west-2\.amazonses\.com\.$' \
    "prints the MAIL FROM MX for the configured Region"
like "$out" '^bounce\.example\.com\. IN TXT "v=spf1 include:amazonses\.com ~all"$' "prints the MAIL FROM SPF"
like "$out" "^;   s-rsa-2048\\._domainkey\\.example\\.com example\\.com:s-rsa-2048:$T/keys/s-rsa-2048\\.private\$" \
    "prints the KeyTable line with the absolute key path"
like "$out" '^;   \*@example\.com s-rsa-2048\._domainkey\.example\.com$' "prints the SigningTable line"
like "$(cat "$T/ed25519.out")" '^;   SignatureAlgorithm  ed25519-sha256$' "ed25519 key comes with SignatureAlgorithm ed25519-sha256"

# -r and -m override; AWS_REGION when no Region
: > "$T/empty.conf"
out=$(AWS_REGION=ap-south-1 "$K" -c "$T/empty.conf" -d example.org -s a -D "$T/keys" -m mail)
like "$out" '^mail\.example\.org\. IN MX 10 feedback-smtp\.ap-south-1\.amazonses\.com\.$' "AWS_REGION and -m SUBDOMAIN are used"
out=$("$K" -c "$T/ses.conf" -d example.org -s b -D "$T/keys" -r us-west-2)
like "$out" 'feedback-smtp\.us-west-2\.amazonses\.com' "-r overrides Region"
out=$("$K" -c "$T/empty.conf" -d example.net -D "$T/keys")
like "$out" "^ses$(date -u +%Y%m)\\._domainkey\\.example\\.net\\. IN TXT" "the default selector is sesYYYYMM"

# Never overwrite a key.
sum=$(md5sum < "$T/keys/s-rsa-2048.private")
out=$("$K" -c "$T/ses.conf" -d example.com -s s-rsa-2048 -D "$T/keys" 2>&1); rc=$?
is "$rc" 73 "an existing key file is refused with 73 (EX_CANTCREAT)"
like "$out" "never replaced" "the refusal says the key is kept"
is "$(md5sum < "$T/keys/s-rsa-2048.private")" "$sum" "the existing key is unchanged"
ln -s "$T/elsewhere" "$T/keys/link.private"
"$K" -c "$T/ses.conf" -d example.com -s link -D "$T/keys" >/dev/null 2>&1; rc=$?
is "$rc" 73 "a symlink in the key's place is refused"
[ ! -e "$T/elsewhere" ]; ok $? "nothing is written through the symlink"

# Usage errors.
"$K" -c "$T/ses.conf" -s x -D "$T/keys" >/dev/null 2>&1; is $? 64 "missing -d exits 64"
"$K" -c "$T/ses.conf" -a dsa -d example.com -D "$T/keys" >/dev/null 2>&1; is $? 64 "unknown algorithm exits 64"
"$K" -c "$T/ses.conf" -d 'exa mple.com' -D "$T/keys" >/dev/null 2>&1; is $? 64 "a domain that is not a DNS name exits 64"
"$K" -c "$T/ses.conf" -d example.com -s 'a;b' -D "$T/keys" >/dev/null 2>&1; is $? 64 "a selector that is not a DNS name exits 64"
"$K" -c "$T/ses.conf" -d example.com -s nodir -D "$T/nope" >/dev/null 2>&1; is $? 73 "a missing directory exits 73"
"$K" -c "$T/missing.conf" -d example.com -D "$T/keys" >/dev/null 2>&1; is $? 78 "a missing -c file exits 78"

# Ownership when run as root.
if [ "$(id -u)" -eq 0 ]; then
    "$K" -c "$T/ses.conf" -d example.com -s owned -D "$T/keys" -u nobody >/dev/null; rc=$?
    is "$rc" 0 "-u USER as root exits 0"
    is "$(stat -c %U "$T/keys/owned.private")" nobody "-u USER owns the key file"
    printf 'UserID nobody:nogroup\n' > "$T/uid.conf"
    "$K" -c "$T/uid.conf" -d example.com -s owned2 -D "$T/keys" >/dev/null
    is "$(stat -c %U:%G "$T/keys/owned2.private")" nobody:nogroup "UserID user:group owns the key file by default"
    "$K" -c "$T/ses.conf" -d example.com -s owned3 -D "$T/keys" -u no-such-user-x >/dev/null 2>&1; rc=$?
    is "$rc" 67 "an unknown -u user exits 67 (EX_NOUSER)"
    [ ! -e "$T/keys/owned3.private" ]; ok $? "and leaves no key behind"
else
    for i in 1 2 3 4 5; do skip "ownership test $i" "not root"; done
fi

tap_done
