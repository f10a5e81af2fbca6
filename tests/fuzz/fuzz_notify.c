/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_notify.c - libFuzzer target: what ses-feedback parses from outside
 *
 * One input is one message as a source delivers it: the SNS envelope
 * parser and its string to sign and URL check, the SES notification
 * parser and its event key, and the DSN built from a parsed bounce (the
 * place where outside text becomes an e-mail). Nothing may crash, leak or
 * produce a DSN line that is not printable ASCII.
 *
 * Build with --enable-fuzzing (see tests/fuzz/README), or as a plain
 * program with driver.c for the corpus regression in `make check`.
 */
#include "config.h"

#include "ses_dsn.h"
#include "ses_note.h"
#include "ses_sns.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_dsn(const note_t *n)
{
    dsn_rcpt_t rcpts[8];
    dsn_header_t hdrs[16];
    char err[256];
    dsn_t d;
    buf_t out;
    size_t i;

    memset(&d, 0, sizeof(d));
    for (i = 0; i < n->nrcpts && i < 8; i++) {
        rcpts[i].address = n->rcpts[i].address;
        rcpts[i].status = n->rcpts[i].status;
        rcpts[i].diagnostic = n->rcpts[i].diagnostic;
        rcpts[i].remote_mta = n->remote_mta_ip;
        rcpts[i].last_attempt = time_parse_iso8601(n->event_time);
    }
    d.nrcpts = i;
    for (i = 0; i < n->nheaders && i < 16; i++) {
        hdrs[i].name = n->headers[i].name;
        hdrs[i].value = n->headers[i].value;
    }
    d.nheaders = i;
    d.rcpts = rcpts;
    d.headers = hdrs;
    d.reporting_mta = "mta.fuzz.example";
    d.sender = n->source ? n->source : "a@b.example";
    d.message_id = n->message_id;
    d.subject = n->subject;
    d.now = 1700000000;
    buf_init(&out, 0);
    if (dsn_build(&d, &out, err, sizeof(err)) == 0)
        for (i = 0; i < out.len; i++)
            if ((out.data[i] < 0x20 && out.data[i] != '\n' &&
                 out.data[i] != '\t') ||
                (unsigned char)out.data[i] > 0x7e)
                abort(); /* outside bytes reached the DSN */
    buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512], key[600];
    note_t *n = NULL;
    sns_msg_t *m = NULL;

    if (sns_parse((const char *)data, size, &m, err, sizeof(err)) == 0) {
        buf_t sts;
        buf_init(&sts, 0);
        (void)sns_string_to_sign(m, &sts, err, sizeof(err));
        (void)sns_url_ok(m->signing_cert_url, m->topic_arn, 1, err,
                         sizeof(err));
        if (note_parse(m->message, m->message_len, &n, err, sizeof(err)) == 0)
            note_free(n);
        buf_free(&sts);
        sns_msg_free(m);
    }
    if (note_parse((const char *)data, size, &n, err, sizeof(err)) == 0) {
        note_event_key(n, key, sizeof(key));
        if (n->type == NOTE_BOUNCE)
            check_dsn(n);
        note_free(n);
    }
    return 0;
}
