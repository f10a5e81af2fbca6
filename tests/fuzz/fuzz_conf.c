/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_conf.c - libFuzzer target: the configuration file
 *
 * The input is a whole ses-milter.conf, loaded with conf_load() as every
 * program loads it. A file that loads must answer every key through the
 * accessors; one that does not must say why in "file:line: ..." form.
 */
#include "config.h"

#include "fuzz.h"
#include "ses_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512] = "";
    conf_t *c = NULL;
    conf_status_t rc = conf_load(fuzz_file(data, size), &c, err, sizeof(err));

    if (rc != CONF_OK) {
        if (c != NULL || err[0] == '\0' || strlen(err) >= sizeof(err))
            abort();
        return 0;
    }
    for (int k = 0; k < CK__COUNT; k++) {
        const conf_keyinfo_t *ki = conf_keyinfo((conf_key_t)k);
        if (ki == NULL)
            abort();
        switch (ki->type) {
        case CT_LIST:
            for (const char *const *l = conf_list(c, (conf_key_t)k); l && *l;
                 l++)
                if (strlen(*l) > CONF_MAX_LINE)
                    abort();
            break;
        case CT_STRING:
        case CT_ENUM:
        case CT_PATH: {
            const char *v = conf_str(c, (conf_key_t)k);
            if (v && strlen(v) > CONF_MAX_LINE)
                abort();
            break;
        }
        case CT_BOOL:
            (void)conf_bool(c, (conf_key_t)k);
            break;
        default:
            (void)conf_int(c, (conf_key_t)k);
            break;
        }
    }
    conf_unref(c);
    return 0;
}
