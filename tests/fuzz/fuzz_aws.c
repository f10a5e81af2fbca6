/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_aws.c - libFuzzer target: what AWS answers
 *
 * The first byte picks the reader, the rest is the answer body:
 *
 *   0  an error answer (JSON or query XML, with an x-amzn-ErrorType header
 *      cut from the body's first line) through aws_parse_error() and
 *      answer_classify() at several HTTP codes
 *   1  an SES SendEmail (v2, JSON) answer: ses_answer_message_id()
 *   2  an SES SendRawEmail (v1, XML) answer: the same, and aws_xml_text()
 *      for the tags the query protocol answers carry
 *   3  an SQS ReceiveMessage answer: sqs_receive_parse()
 *   4  a SESv2 ListSuppressedDestinations page: suppress_sync_parse_page()
 *
 * Every answer gets a status and every string fits its buffer.
 */
#include "config.h"

#include "fuzz.h"
#include "ses_aws.h"
#include "ses_ses.h"
#include "ses_sqs.h"
#include "ses_status.h"
#include "ses_suppress_sync.h"

static void fits(const char *s, size_t size)
{
    if (strnlen(s, size) >= size)
        abort();
}

static void error_answer(const char *body, size_t len)
{
    static const long codes[] = {400, 403, 404, 429, 500, 503, 0};
    char header[64] = "", code[128], msg[512];
    const char *nl = memchr(body, '\n', len);

    if (nl && (size_t)(nl - body) < sizeof(header)) {
        memcpy(header, body, (size_t)(nl - body));
        header[nl - body] = '\0';
    }
    aws_parse_error(header[0] ? header : NULL, body, len, code, sizeof(code),
                    msg, sizeof(msg));
    fits(code, sizeof(code));
    fits(msg, sizeof(msg));
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        answer_t a;
        answer_classify(codes[i], code, msg, &a);
        if (a.status <= ST_OK || a.status >= ST__COUNT ||
            memchr(a.identity, '\0', sizeof(a.identity)) == NULL)
            abort();
    }
}

static void sqs_answer(const char *body, size_t len)
{
    sqs_message_t m[SQS_MAX_MESSAGES];
    char err[256];
    size_t n = 0;
    status_t st = sqs_receive_parse(body, len, m, &n, err, sizeof(err));

    if (n > SQS_MAX_MESSAGES ||
        (st != ST_OK && st != ST_TEMP_PROTOCOL && st != ST_TEMP_RESOURCE))
        abort();
    for (size_t i = 0; i < n; i++) {
        if (!m[i].message_id || !m[i].receipt_handle || !m[i].body ||
            strlen(m[i].body) > m[i].body_len)
            abort();
        sqs_message_clear(&m[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const tags[] = {"MessageId", "Code", "Message",
                                       "RequestId", "Type"};
    const char *body;
    char out[256], err[256], *next = NULL;
    size_t len, count;
    char *copy;

    if (size == 0)
        return 0;
    /* a private copy, no terminator: the readers must honour len */
    len = size - 1;
    copy = malloc(len ? len : 1);
    memcpy(copy, data + 1, len);
    body = copy;
    switch (data[0] % 5) {
    case 0:
        error_answer(body, len);
        break;
    case 1:
        if (ses_answer_message_id(false, body, len, out, sizeof(out)) == 0 &&
            (out[0] == '\0' || strlen(out) >= sizeof(out)))
            abort();
        break;
    case 2:
        if (ses_answer_message_id(true, body, len, out, sizeof(out)) == 0 &&
            (out[0] == '\0' || strlen(out) >= sizeof(out)))
            abort();
        for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
            if (aws_xml_text(body, len, tags[i], out, sizeof(out)))
                fits(out, sizeof(out));
        break;
    case 3:
        sqs_answer(body, len);
        break;
    default:
        if (suppress_sync_parse_page(body, len, &count, &next, err,
                                     sizeof(err)) == 0)
            free(next);
        else if (next != NULL)
            abort();
        break;
    }
    free(copy);
    return 0;
}
