/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * driver.c - runs a libFuzzer target without libFuzzer
 *
 *   fuzz_X FILE...        each file as one input
 *   fuzz_X -m N FILE...   each file, and N deterministic mutations of it
 *                         (truncations, byte flips, insertions of JSON and
 *                         CSV punctuation), as the corpus regression that
 *                         `make check` runs
 *
 * Exit 0 when every input was handled; a crash is the failure.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned rnd(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void mutate(const uint8_t *in, size_t len, unsigned n)
{
    static const char punct[] = "{}[]\":,\\\n\r\0\x80\xff 0@.-";
    uint8_t *buf = malloc(len + 64);
    unsigned seed = (unsigned)len * 2654435761u;

    for (unsigned k = 0; k < n; k++) {
        size_t m = len, pos;
        memcpy(buf, in, len);
        switch (k % 4) {
        case 0: /* truncate */
            m = len ? rnd(&seed) % len : 0;
            break;
        case 1: /* flip bytes */
            for (int j = 0; j < 4 && len; j++)
                buf[rnd(&seed) % len] ^= (uint8_t)(1u << (rnd(&seed) % 8));
            break;
        case 2: /* punctuation */
            for (int j = 0; j < 3 && len; j++)
                buf[rnd(&seed) % len] =
                    (uint8_t)punct[rnd(&seed) % (sizeof(punct) - 1)];
            break;
        default: /* insert */
            pos = len ? rnd(&seed) % len : 0;
            memmove(buf + pos + 8, buf + pos, len - pos);
            memcpy(buf + pos, "\"x\":[{}],", 8);
            m = len + 8;
            break;
        }
        LLVMFuzzerTestOneInput(buf, m);
    }
    free(buf);
}

int main(int argc, char **argv)
{
    unsigned mutations = 0;
    int i = 1, files = 0;

    if (argc > 2 && strcmp(argv[1], "-m") == 0) {
        mutations = (unsigned)strtoul(argv[2], NULL, 10);
        i = 3;
    }
    for (; i < argc; i++) {
        FILE *fp = fopen(argv[i], "rb");
        uint8_t *data;
        long len;
        if (fp == NULL) {
            perror(argv[i]);
            return 2;
        }
        fseek(fp, 0, SEEK_END);
        len = ftell(fp);
        rewind(fp);
        data = malloc((size_t)len + 1);
        if (fread(data, 1, (size_t)len, fp) != (size_t)len) {
            perror(argv[i]);
            return 2;
        }
        fclose(fp);
        LLVMFuzzerTestOneInput(data, (size_t)len);
        mutate(data, (size_t)len, mutations);
        free(data);
        files++;
    }
    printf("%d inputs, %u mutations each: no crash\n", files, mutations);
    return 0;
}
