/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sigv4-sign - test helper: signs requests described as JSON, one per line
 * on stdin, and prints one Authorization value per line. Used by
 * tests/sigv4-botocore.sh to compare with botocore on the same requests.
 *
 * {"method":..,"host":..,"path":..,"query":..,"headers":[[n,v],..],
 *  "body":..,"access":..,"secret":..,"token":..,"region":..,
 *  "service":..,"time":EPOCH}
 */
#include "config.h"

#include "ses_sigv4.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char *s(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

int main(void)
{
    char line[65536];

    while (fgets(line, sizeof(line), stdin)) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je), *hs;
        sigv4_header_t h[SIGV4_MAX_HEADERS];
        size_t nh = 0;
        sigv4_result_t out;
        char hash[65];
        const char *body;

        if (o == NULL) {
            printf("ERROR bad json: %s\n", je.text);
            continue;
        }
        hs = json_object_get(o, "headers");
        for (size_t i = 0; i < json_array_size(hs) && nh < SIGV4_MAX_HEADERS;
             i++) {
            json_t *p = json_array_get(hs, i);
            h[nh].name = json_string_value(json_array_get(p, 0));
            h[nh].value = json_string_value(json_array_get(p, 1));
            nh++;
        }
        body = s(o, "body");
        sigv4_sha256_hex(body, strlen(body), hash);
        {
            sigv4_request_t rq = {s(o, "method"),
                                  s(o, "host"),
                                  s(o, "path"),
                                  s(o, "query"),
                                  h,
                                  nh,
                                  hash,
                                  false};
            sigv4_creds_t cr = {s(o, "access"), s(o, "secret"),
                                *s(o, "token") ? s(o, "token") : NULL};
            if (sigv4_sign(
                    &rq, &cr, s(o, "region"), s(o, "service"),
                    (time_t)json_integer_value(json_object_get(o, "time")),
                    &out) < 0)
                printf("ERROR sign failed\n");
            else
                printf("%s\n", out.authorization);
        }
        json_decref(o);
        fflush(stdout);
    }
    return 0;
}
