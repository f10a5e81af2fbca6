/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sign - what one request signature costs: SigV4 (HMAC chain) and SigV4a
 * (ECDSA P-256; the derived key is kept between requests, so "SigV4a,
 * rotating keys" shows the cost of deriving it each time).
 *
 *   make bench/sign && bench/sign [N]
 */
#include "config.h"

#include "ses_sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_us(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    sigv4_creds_t a = {"AKIDEXAMPLE",
                       "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};
    sigv4_creds_t b = {"AKIDEXAMPLE", "anotherSecretKeyAfterRotation0123456",
                       NULL};
    sigv4_request_t rq = {.method = "POST",
                          .host = "abc123.endpoints.email.amazonaws.com",
                          .path = "/v2/email/outbound-emails",
                          .payload_sha256 = "e3b0c44298fc1c149afbf4c8996fb924"
                                            "27ae41e4649b934ca495991b7852b855"};
    sigv4_result_t out;
    double t;

    if (n < 1)
        n = 1;
    t = now_us();
    for (int i = 0; i < n; i++)
        if (sigv4_sign(&rq, &a, "us-east-1", "ses", 1440938160, &out) < 0)
            return 1;
    printf("SigV4:                %8.1f us per signature\n",
           (now_us() - t) / n);
    t = now_us();
    for (int i = 0; i < n; i++)
        if (sigv4a_sign(&rq, &a, "*", "ses", 1440938160, &out) < 0)
            return 1;
    printf("SigV4a:               %8.1f us per signature\n",
           (now_us() - t) / n);
    t = now_us();
    for (int i = 0; i < n; i++)
        if (sigv4a_sign(&rq, i % 2 ? &a : &b, "*", "ses", 1440938160, &out) < 0)
            return 1;
    printf("SigV4a, rotating keys: %7.1f us per signature\n",
           (now_us() - t) / n);
    return 0;
}
