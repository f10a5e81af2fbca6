/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_csv.c - libFuzzer target: suppression list CSV lines
 *
 * Every line of the input goes through suppress_csv_parse() as
 * `ses-suppress import` would feed it; an accepted address must be one the
 * store takes (bounded, with '@', no blanks).
 */
#include "config.h"

#include "ses_suppress_csv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char line[CSV_MAX_LINE + 1], addr[STORE_MAX_ADDR + 2], err[256];
    size_t start = 0;

    while (start < size) {
        const uint8_t *nl = memchr(data + start, '\n', size - start);
        size_t len = nl ? (size_t)(nl - data) - start : size - start;
        supp_reason_t reason;
        int64_t when;
        if (len <= CSV_MAX_LINE) {
            memcpy(line, data + start, len);
            line[len] = '\0';
            if (suppress_csv_parse(line, addr, sizeof(addr), &reason, &when,
                                   1700000000, err, sizeof(err)) == 0 &&
                (strlen(addr) > STORE_MAX_ADDR || !strchr(addr, '@') ||
                 strpbrk(addr, " \t\r\n") || reason < SUPP_BOUNCE ||
                 reason > SUPP_MANUAL))
                abort();
        }
        start += len + 1;
    }
    return 0;
}
