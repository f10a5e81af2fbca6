/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * aws-call - test helper: one aws_call() from the command line
 *
 *   aws-call [-c CONF] -e ENDPOINT [-s SIGNING-NAME] [-r REGION]
 *            [-m METHOD] [-p PATH] [-q QUERY] [-T CONTENT-TYPE]
 *            [-t X-AMZ-TARGET] [-H "Name: value"] [-d BODY] [-R RETRY-MS]
 *            [-S] [-n COUNT]
 *
 * Credentials come from the chain (creds.c) configured by CONF and the
 * environment; -S sends the request unsigned. -n repeats the call COUNT
 * times on one http_t (keep-alive). Prints, per call,
 *   status=NAME http=CODE attempts=N error=CODE
 * and then the answer body on its own line. Exit status 0 when the last
 * call was ST_OK, 1 otherwise. Never prints a secret.
 */
#include "config.h"

#include "ses_aws.h"
#include "ses_conf.h"
#include "ses_creds.h"
#include "ses_http.h"
#include "ses_log.h"

#include "helper.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *conffile = NULL, *body = NULL;
    aws_service_config_t cfg = {"TEST", "ses", NULL, NULL, NULL, 0, NULL, NULL};
    aws_request_t rq;
    conf_t *conf = NULL;
    creds_provider_t *creds = NULL;
    aws_service_t *svc = NULL;
    http_t *http = NULL;
    char err[512], region[64];
    int ch, count = 1, unsigned_req = 0, nh = 0;
    status_t st = ST_TEMP_UNKNOWN;

    memset(&rq, 0, sizeof(rq));
    rq.method = "POST";
    rq.path = "/";
    while ((ch = getopt(argc, argv, "c:e:s:r:m:p:q:T:t:H:d:R:Sn:")) != -1) {
        switch (ch) {
        case 'c':
            conffile = optarg;
            break;
        case 'e':
            cfg.endpoint = optarg;
            break;
        case 's':
            cfg.signing_name = optarg;
            break;
        case 'r':
            cfg.region = optarg;
            break;
        case 'm':
            rq.method = optarg;
            break;
        case 'p':
            rq.path = optarg;
            break;
        case 'q':
            rq.query = optarg;
            break;
        case 'T':
            rq.content_type = optarg;
            break;
        case 't':
            rq.target = optarg;
            break;
        case 'H':
            if (nh < AWS_MAX_EXTRA_HEADERS)
                rq.headers[nh++] = optarg;
            break;
        case 'd':
            body = optarg;
            break;
        case 'R':
            cfg.retry_time_ms = atoll(optarg);
            break;
        case 'S':
            unsigned_req = 1;
            break;
        case 'n':
            count = atoi(optarg);
            break;
        default:
            fprintf(stderr, "aws-call: bad option\n");
            return 2;
        }
    }
    if ((conf = helper_start("aws-call", conffile)) == NULL)
        return 2;
    aws_region(conf, region, sizeof(region));
    if (cfg.region == NULL)
        cfg.region = region;
    if (!unsigned_req && (creds = creds_provider_new(conf)) == NULL)
        return 2;
    cfg.creds = creds;
    if ((svc = aws_service_new(&cfg, err, sizeof(err))) == NULL) {
        fprintf(stderr, "aws-call: %s\n", err);
        return 2;
    }
    http = http_new(2000, 20000);
    if (body) {
        rq.body = body;
        rq.body_len = strlen(body);
    }
    for (int i = 0; i < count; i++) {
        aws_response_t resp;
        aws_response_init(&resp);
        st = aws_call(svc, http, &rq, &resp);
        printf("status=%s http=%ld attempts=%d error=%s\n",
               status_info(st)->name, resp.http_code, resp.attempts,
               resp.error_code[0] ? resp.error_code : "-");
        printf("%s\n", resp.body.data ? resp.body.data : "");
        if (st != ST_OK)
            fprintf(stderr, "aws-call: %s\n", resp.detail);
        aws_response_free(&resp);
    }
    http_free(http);
    aws_service_free(svc);
    creds_provider_free(creds);
    conf_unref(conf);
    return st == ST_OK ? 0 : 1;
}
