/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * textfile.c - reading line-oriented configuration files
 *
 * DIAGNOSTICS
 *   See ses_textfile.h.
 */
#include "config.h"

#include "ses_textfile.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

conf_status_t textfile_each_line(const char *path, textfile_line_fn fn,
                                 void *ctx, struct stat *stp, char *err,
                                 size_t errlen)
{
    FILE *fp;
    char *line = NULL, msg[512];
    size_t cap = 0;
    struct stat st;
    int lineno = 0;
    conf_status_t rc = CONF_INVALID;

    if ((fp = fopen(path, "r")) == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return CONF_NOFILE;
    }
    if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        rc = CONF_NOFILE;
        goto out;
    }
    if (stp)
        *stp = st;
    if (st.st_size > CONF_MAX_FILE) {
        snprintf(err, errlen, "%s: file is larger than %d bytes", path,
                 CONF_MAX_FILE);
        goto out;
    }
    for (;;) {
        ssize_t n = getline(&line, &cap, fp);

        if (n < 0) {
            if (ferror(fp)) {
                snprintf(err, errlen, "%s: read error: %s", path,
                         strerror(errno));
                goto out;
            }
            break;
        }
        lineno++;
        if (n > CONF_MAX_LINE) {
            snprintf(err, errlen, "%s:%d: line longer than %d bytes", path,
                     lineno, CONF_MAX_LINE);
            goto out;
        }
        if (memchr(line, '\0', (size_t)n) != NULL) {
            snprintf(err, errlen, "%s:%d: NUL byte in line", path, lineno);
            goto out;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        msg[0] = '\0';
        if (!fn(ctx, line, lineno, msg, sizeof(msg))) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
            goto out;
        }
    }
    rc = CONF_OK;
out:
    free(line);
    fclose(fp);
    return rc;
}

char *textfile_word(char **p)
{
    char *s = *p, *w;

    while (isspace((unsigned char)*s))
        s++;
    if (*s == '\0' || *s == '#') {
        *p = s;
        return NULL;
    }
    w = s;
    while (*s && !isspace((unsigned char)*s))
        s++;
    if (*s)
        *s++ = '\0';
    *p = s;
    return w;
}
