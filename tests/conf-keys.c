/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conf-keys - print the configuration key table (include/ses_conf_keys.h)
 *
 * conf-keys        one key a line: name, type, default, constraint, doc
 *                  (tab-separated; "-" for none)
 * conf-keys -m     the KEYS section of ses-milter.conf(5) in man(7) markup,
 *                  keys in alphabetical order (make update-man pastes it in)
 *
 * tests/check-docs.sh compares the man page with this output, so the
 * documentation cannot drift from the table.
 */
#include "config.h"

#include "ses_conf.h"
#include "ses_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Text for roff: backslash and hyphen escaped, no control line start. */
static void roff(const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", stdout);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", stdout);
        else if (*s == '-')
            fputs("\\-", stdout);
        else
            putchar(*s);
    }
}

/* 300000 (ms) -> "5m"; 41943040 (bytes) -> "40M". */
static void human(conf_type_t t, const char *num, char *out, size_t outlen)
{
    static const struct {
        long long div;
        const char *unit;
    } ms[] = {{86400000, "d"},
              {3600000, "h"},
              {60000, "m"},
              {1000, "s"},
              {1, "ms"}},
      bytes[] = {{1 << 30, "G"}, {1 << 20, "M"}, {1 << 10, "K"}, {1, ""}};
    long long v = atoll(num);

    if (t == CT_DURATION || t == CT_SIZE) {
        const size_t n = t == CT_DURATION ? ARRAY_SIZE(ms) : ARRAY_SIZE(bytes);
        for (size_t i = 0; i < n; i++) {
            long long d = t == CT_DURATION ? ms[i].div : bytes[i].div;
            if (v == 0 || v % d == 0) {
                snprintf(out, outlen, "%lld%s", v / d,
                         t == CT_DURATION ? ms[i].unit : bytes[i].unit);
                return;
            }
        }
    }
    str_copy(out, num, outlen);
}

static void constraint_text(const conf_keyinfo_t *ki, char *out, size_t len)
{
    char lo[64], hi[64], a[32], b[32];
    const char *dots;

    if (ki->constraint == NULL) {
        *out = '\0';
        return;
    }
    if (ki->type == CT_ENUM) {
        size_t o = 0;
        for (const char *p = ki->constraint; *p && o + 4 < len; p++) {
            if (*p == '|') {
                o += (size_t)snprintf(out + o, len - o, " | ");
            } else
                out[o++] = *p;
        }
        out[o] = '\0';
        return;
    }
    if ((dots = strstr(ki->constraint, "..")) == NULL) {
        str_copy(out, ki->constraint, len);
        return;
    }
    snprintf(lo, sizeof(lo), "%.*s", (int)(dots - ki->constraint),
             ki->constraint);
    str_copy(hi, dots + 2, sizeof(hi));
    human(ki->type, lo, a, sizeof(a));
    human(ki->type, hi, b, sizeof(b));
    snprintf(out, len, "%s to %s", a, b);
}

static void print_man(void)
{
    int order[CK__COUNT];

    for (int i = 0; i < CK__COUNT; i++)
        order[i] = i;
    for (int i = 1; i < CK__COUNT; i++) /* insertion sort by name */
        for (int j = i; j > 0 && strcasecmp(conf_keyinfo(order[j - 1])->name,
                                            conf_keyinfo(order[j])->name) > 0;
             j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (int i = 0; i < CK__COUNT; i++) {
        const conf_keyinfo_t *ki = conf_keyinfo((conf_key_t)order[i]);
        char cons[512];

        constraint_text(ki, cons, sizeof(cons));
        printf(".TP\n.B %s\n(%s", ki->name, conf_type_name(ki->type));
        if (*cons) {
            fputs(": ", stdout);
            roff(cons);
        }
        fputs("; default ", stdout);
        if (ki->def) {
            fputs("\\fB", stdout);
            roff(ki->def);
            fputs("\\fR)\n", stdout);
        } else
            fputs("unset)\n", stdout);
        if (ki->doc[0] >= 'a' && ki->doc[0] <= 'z') /* a sentence */
            putchar(ki->doc[0] - 'a' + 'A');
        roff(ki->doc[0] >= 'a' && ki->doc[0] <= 'z' ? ki->doc + 1 : ki->doc);
        fputs(".\n", stdout);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "-m") == 0) {
        print_man();
        return 0;
    }
    for (int i = 0; i < CK__COUNT; i++) {
        const conf_keyinfo_t *ki = conf_keyinfo((conf_key_t)i);
        printf("%s\t%s\t%s\t%s\t%s\n", ki->name, conf_type_name(ki->type),
               ki->def ? ki->def : "-", ki->constraint ? ki->constraint : "-",
               ki->doc);
    }
    return 0;
}
