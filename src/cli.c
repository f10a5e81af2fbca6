/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli.c - what the five programs share at start-up
 *
 * DIAGNOSTICS
 *   None beyond conf_load()'s.
 */
#include "config.h"

#include "ses_cli.h"
#include "ses_daemon.h"
#include "ses_log.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

conf_status_t cli_load_conf(const char *path, conf_t **out, char *err,
                            size_t errlen)
{
    return conf_load(path ? path : CLI_DEFAULT_CONF, out, err, errlen);
}

void cli_start(const char *ident, const conf_t *c, int foreground)
{
    const char *file = c ? conf_str(c, CK_LOG_FILE) : NULL;
    int level = c ? log_level_from_name(conf_str(c, CK_LOG_LEVEL)) : LOG_INFO;

    int bad_file = 0;

    if (file)
        bad_file = log_init_file(ident, file) < 0 ? errno : 0;
    else
        log_init(ident, foreground || (c && !conf_bool(c, CK_SYSLOG)));
    log_set_level(level < 0 ? LOG_INFO : level);
    if (bad_file)
        log_warning(NULL, "LogFile %s: %s; logging to standard error", file,
                    bad_file == ELOOP    ? "a symbolic link: refused"
                    : bad_file == EINVAL ? "not a regular file: refused"
                    : bad_file == EMLINK
                        ? "the file has another name (a hard link): refused"
                        : strerror(bad_file));
    daemon_core_dumps(c && conf_bool(c, CK_ENABLE_COREDUMPS));
}

const char *cli_version(void)
{
    return "(" PACKAGE_NAME ") " PACKAGE_VERSION;
}

int cli_getopt(int argc, char *const argv[], const char *optstring)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };

    return getopt_long(argc, argv, optstring, longopts, NULL);
}
