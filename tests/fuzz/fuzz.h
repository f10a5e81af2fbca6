/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz.h - what the fuzz targets share
 *
 * fuzz_file() puts the input into one private file (created on first use,
 * rewritten in place every run, removed at exit) and returns its path, for
 * the parsers that read configuration files by name: the input reaches
 * them through the same open/read/limit checks a real file does. The file
 * lives in /dev/shm when there is one, else in $TMPDIR or /tmp.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_path[64];

static void fuzz_file_remove(void)
{
    unlink(fuzz_path);
}

__attribute__((unused)) static const char *fuzz_file(const uint8_t *data,
                                                     size_t size)
{
    static int fd = -1;

    if (fd < 0) {
        /* tmpfs: on ext4 every close() of a file truncated and
         * rewritten waits for the disk (auto_da_alloc) */
        const char *dir =
            access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
        snprintf(fuzz_path, sizeof(fuzz_path), "%s/fuzz.XXXXXX",
                 dir && strlen(dir) < 40 ? dir : "/tmp");
        if ((fd = mkstemp(fuzz_path)) < 0) {
            perror("fuzz_file: mkstemp");
            abort();
        }
        atexit(fuzz_file_remove);
    }
    if (ftruncate(fd, 0) < 0 ||
        (size && pwrite(fd, data, size, 0) != (ssize_t)size)) {
        perror("fuzz_file: write");
        abort();
    }
    return fuzz_path;
}

#endif
