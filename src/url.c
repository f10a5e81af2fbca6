/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * url.c - URLs read the way libcurl reads them
 *
 * DIAGNOSTICS
 *   See ses_url.h.
 */
#include "config.h"

#include "ses_url.h"
#include "ses_util.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* h has that part (a user name, a password, ...). */
static bool present(CURLU *h, CURLUPart what)
{
    char *v = NULL;
    bool has = curl_url_get(h, what, &v, 0) == CURLUE_OK;

    curl_free(v);
    return has;
}

/* One part of h, copied to out; false when absent or too long. */
static bool part(CURLU *h, CURLUPart what, char *out, size_t outlen)
{
    char *v = NULL;
    bool ok = curl_url_get(h, what, &v, 0) == CURLUE_OK && v &&
              str_copy(out, v, outlen) < outlen;

    curl_free(v);
    return ok;
}

int url_parse(const char *url, url_t *out, char *err, size_t errlen)
{
    CURLU *h = curl_url();
    char scheme[16], port[8];
    CURLUcode rc;
    int ret = -1;

    memset(out, 0, sizeof(*out));
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if ((rc = curl_url_set(h, CURLUPART_URL, url, 0)) != CURLUE_OK) {
        snprintf(err, errlen, "not a URL libcurl accepts (%s)",
                 curl_url_strerror(rc));
        goto out;
    }
    if (!part(h, CURLUPART_SCHEME, scheme, sizeof(scheme)) ||
        (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)) {
        snprintf(err, errlen, "not an http:// or https:// URL");
        goto out;
    }
    out->https = strcasecmp(scheme, "https") == 0;
    if (!part(h, CURLUPART_HOST, out->host, sizeof(out->host)) ||
        out->host[0] == '\0') {
        snprintf(err, errlen, "the URL has no valid host");
        goto out;
    }
    str_lower(out->host);
    out->port = out->https ? 443 : 80;
    if (part(h, CURLUPART_PORT, port, sizeof(port)))
        out->port = (unsigned)strtoul(port, NULL, 10);
    /* a user name, or a password without one ("http://:pw@host") */
    out->userinfo = present(h, CURLUPART_USER) ||
                    present(h, CURLUPART_PASSWORD) ||
                    present(h, CURLUPART_OPTIONS);
    ret = 0;
out:
    curl_url_cleanup(h);
    return ret;
}

bool url_is_loopback(const url_t *u)
{
    return host_is_loopback(u->host);
}
