/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * testutil.h - helpers shared by the cmocka unit tests
 */
#ifndef SES_TESTUTIL_H
#define SES_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ses_conf.h"

/* Writes len bytes to a new temporary file; returns its malloc'd path. */
static inline char *tu_write_file(const void *data, size_t len)
{
    char tmpl[] = "/tmp/ses-unit.XXXXXX";
    int fd = mkstemp(tmpl);
    FILE *fp;

    if (fd < 0)
        return NULL;
    fp = fdopen(fd, "w");
    if (len)
        fwrite(data, 1, len, fp);
    fclose(fp);
    return strdup(tmpl);
}

static inline char *tu_write_str(const char *s)
{
    return tu_write_file(s, strlen(s));
}

/* A configuration loaded from text; fails the test when it does not load. */
static inline conf_t *tu_conf(const char *text)
{
    char *path = tu_write_str(text), err[512];
    conf_t *c = NULL;

    if (conf_load(path, &c, err, sizeof(err)) != CONF_OK)
        fail_msg("config: %s", err);
    unlink(path);
    free(path);
    return c;
}

#endif
