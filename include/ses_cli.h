/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_cli.h - what the five programs share at start-up
 *
 * cli_load_conf() loads the configuration named by -c (or the default
 * SYSCONFDIR/ses-milter.conf); cli_start() applies Syslog/LogFile/LogLevel
 * to the log module and EnableCoredumps to the process (before any secret
 * is loaded); cli_version() gives what -V prints after the program's name;
 * cli_getopt() is getopt(3) that also takes --help for -h and --version for
 * -V, so every program answers them alike. Nothing here prints.
 *
 * DIAGNOSTICS
 *   cli_load_conf() passes conf_load()'s status and message through.
 */
#ifndef SES_CLI_H
#define SES_CLI_H

#include "ses_conf.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define CLI_DEFAULT_CONF SYSCONFDIR "/ses-milter.conf"

conf_status_t cli_load_conf(const char *path, conf_t **out, char *err,
                            size_t errlen);
/* foreground: log to stderr unless LogFile is set. */
void cli_start(const char *ident, const conf_t *c, int foreground);
/* "(ses-milter) VERSION" */
const char *cli_version(void);
/* getopt(3) plus the long options --help (returned as 'h') and --version
 * ('V'); an unknown long option is '?' with optopt 0. */
int cli_getopt(int argc, char *const argv[], const char *optstring);

#endif
