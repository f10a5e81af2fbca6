/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * helper.h - start-up shared by the test helper programs (aws-call,
 * creds-get): load the configuration (or the defaults), log to its LogFile
 * or stderr at debug level, initialise libcurl.
 */
#ifndef SES_TEST_HELPER_H
#define SES_TEST_HELPER_H

#include "ses_conf.h"
#include "ses_http.h"
#include "ses_log.h"

#include <stdio.h>

/* NULL (after a message on stderr) when the configuration does not load. */
static inline conf_t *helper_start(const char *prog, const char *conffile)
{
    conf_t *conf = NULL;
    char err[512];

    if (conffile) {
        if (conf_load(conffile, &conf, err, sizeof(err)) != CONF_OK) {
            fprintf(stderr, "%s: %s\n", prog, err);
            return NULL;
        }
    } else
        conf = conf_defaults();
    log_init(prog, 1);
    if (conf_str(conf, CK_LOG_FILE))
        log_init_file(prog, conf_str(conf, CK_LOG_FILE));
    log_set_level(LOG_DEBUG);
    http_global_init();
    return conf;
}

#endif
