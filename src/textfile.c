/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * textfile.c - reading line-oriented configuration files
 *
 * DIAGNOSTICS
 *   See ses_textfile.h.
 */
#include "config.h"

#include "ses_textfile.h"
#include "ses_filecheck.h"
#include "ses_util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The line errors of one file, "file:line: message" each on a line of
 * its own in err, as many as fit with room left for the count of the
 * others. */
typedef struct {
    const char *path;
    char *err;
    size_t errlen, off;
    int n, dropped;
} errs_t;

#define ERRS_TAIL 64 /* room kept for "\nFILE: N more errors" */

static void errs_add(errs_t *e, int lineno, const char *msg)
{
    char line[700];
    int n = snprintf(line, sizeof(line), "%s%s:%d: %s", e->n ? "\n" : "",
                     e->path, lineno, msg);

    if (e->n == 0 ||
        (n > 0 && e->off + (size_t)n + ERRS_TAIL + strlen(e->path) < e->errlen))
        e->off = str_appendf(e->err, e->errlen, e->off, "%s", line);
    else
        e->dropped++;
    e->n++;
}

conf_status_t textfile_each_line(const char *path, textfile_line_fn fn,
                                 void *ctx, struct stat *stp, char *err,
                                 size_t errlen)
{
    FILE *fp;
    char *line = NULL, msg[512], unsafe[700];
    size_t cap = 0;
    struct stat st;
    int lineno = 0;
    conf_status_t rc = CONF_INVALID;
    errs_t errs = {path, err, errlen, 0, 0, 0};

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
    /* every such file steers mail: nobody but root and us may change it
     * (a refusal is reported after the lines, every error in one pass) */
    switch (filecheck_writers(path, &st, geteuid(), unsafe, sizeof(unsafe))) {
    case FILECHECK_OK:
        unsafe[0] = '\0';
        break;
    case FILECHECK_UNSAFE:
        break;
    default:
        snprintf(err, errlen, "%s", unsafe);
        rc = CONF_NOFILE;
        goto out;
    }
    if (st.st_size > CONF_MAX_FILE) {
        snprintf(err, errlen, "%s: file is larger than %d bytes", path,
                 CONF_MAX_FILE);
        goto out;
    }
    if (errlen)
        err[0] = '\0';
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
            snprintf(msg, sizeof(msg), "line longer than %d bytes",
                     CONF_MAX_LINE);
            errs_add(&errs, lineno, msg);
            continue;
        }
        if (memchr(line, '\0', (size_t)n) != NULL) {
            errs_add(&errs, lineno, "NUL byte in line");
            continue;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        msg[0] = '\0';
        if (!fn(ctx, line, lineno, msg, sizeof(msg)))
            errs_add(&errs, lineno, msg);
    }
    if (errs.dropped)
        str_appendf(err, errlen, errs.off, "\n%s: %d more error%s", path,
                    errs.dropped, errs.dropped > 1 ? "s" : "");
    if (unsafe[0])
        str_appendf(err, errlen, errs.n ? strlen(err) : 0, "%s%s",
                    errs.n ? "\n" : "", unsafe);
    rc = errs.n || unsafe[0] ? CONF_INVALID : CONF_OK;
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
