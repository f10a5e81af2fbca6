/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * creds-get - test helper: ask a credentials provider, print what came
 *
 *   creds-get [-c CONF] [-n CALLS] [-t THREADS] [-i]
 *
 * Each of THREADS threads (1) calls creds_get() CALLS times (1) on its own
 * http_t, like the LMTP relay's workers; -i calls creds_invalidate()
 * between calls. Prints one line per call:
 *   ok source=SOURCE akid=ACCESS-KEY-ID temporary=0|1
 * or
 *   fail REASON
 * The access key id is printed whole (it is no secret and the tests
 * compare it with what sesd issued); the secret and the token never.
 * Exit status 0 when every call succeeded.
 */
#include "config.h"

#include "ses_conf.h"
#include "ses_creds.h"
#include "ses_http.h"
#include "ses_log.h"

#include "helper.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static creds_provider_t *prov;
static int calls = 1, invalidate;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static int failures;

static void *worker(void *ud)
{
    http_t *http = http_new(2000, 10000);

    (void)ud;
    for (int i = 0; i < calls; i++) {
        aws_creds_t c;
        char err[512];
        status_t st = creds_get(prov, http, &c, err, sizeof(err));
        pthread_mutex_lock(&out_lock);
        if (st == ST_OK)
            printf("ok source=%s akid=%s temporary=%d\n", c.source,
                   c.access_key, c.expires_ms != 0);
        else {
            printf("fail %s\n", err);
            failures++;
        }
        fflush(stdout);
        pthread_mutex_unlock(&out_lock);
        creds_wipe(&c);
        if (invalidate)
            creds_invalidate(prov);
    }
    http_free(http);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *conffile = NULL;
    conf_t *conf = NULL;
    int ch, threads = 1;
    pthread_t tid[64];

    while ((ch = getopt(argc, argv, "c:n:t:i")) != -1) {
        switch (ch) {
        case 'c':
            conffile = optarg;
            break;
        case 'n':
            calls = atoi(optarg);
            break;
        case 't':
            threads = atoi(optarg);
            if (threads < 1 || threads > 64)
                threads = 1;
            break;
        case 'i':
            invalidate = 1;
            break;
        default:
            return 2;
        }
    }
    if ((conf = helper_start("creds-get", conffile)) == NULL)
        return 2;
    prov = creds_provider_new(conf);
    for (int i = 0; i < threads; i++)
        pthread_create(&tid[i], NULL, worker, NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    creds_provider_free(prov);
    conf_unref(conf);
    return failures ? 1 : 0;
}
