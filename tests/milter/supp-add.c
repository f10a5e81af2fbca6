/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * supp-add - put addresses on the suppression list for the milter tests
 *
 * supp-add DATADIR REASON ADDRESS...   (REASON: bounce, complaint, manual)
 *
 * Writes through the store API (the same code ses-feedback and
 * ses-suppress use), so the milter reads what a real installation holds.
 */
#include "config.h"

#include "ses_store.h"

#include <stdio.h>
#include <time.h>

int main(int argc, char **argv)
{
    store_t *st = NULL;
    char err[256];
    suppression_t s = {.source = SUPP_SRC_MANUAL, .count = 1};

    if (argc < 4 || (s.reason = store_reason_parse(argv[2])) == 0) {
        fprintf(stderr, "usage: supp-add DATADIR bounce|complaint|manual "
                        "ADDRESS...\n");
        return 64;
    }
    s.first = s.last = (int64_t)time(NULL);
    if (store_open(argv[1], STORE_READWRITE, &st, err, sizeof(err)) !=
        STORE_OK) {
        fprintf(stderr, "supp-add: %s\n", err);
        return 1;
    }
    for (int i = 3; i < argc; i++)
        if (store_suppression_put(st, NULL, argv[i], &s) != STORE_OK) {
            fprintf(stderr, "supp-add: %s: %s\n", argv[i],
                    store_strerror(st));
            store_close(st);
            return 1;
        }
    store_close(st);
    return 0;
}
