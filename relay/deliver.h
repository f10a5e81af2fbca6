/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * deliver.h - one message from Postfix to SES: what pipe and LMTP mode share
 *
 * relay_t is the process: the current configuration snapshot with its
 * credentials provider (swapped by relay_reload() on SIGHUP; work in
 * flight keeps the snapshot it started with) and the message-map store,
 * opened on first use. deliver_t belongs to one thread and owns that
 * thread's SES client, so its HTTPS connection is reused from one message
 * to the next; it follows the current snapshot between messages.
 *
 * deliver_message() gives every recipient exactly one outcome:
 *   - addresses SES cannot take are refused before anything is sent: a
 *     non-ASCII local part (sender or recipient) 5.6.7, malformed UTF-8
 *     5.1.3; a domain that alone is non-ASCII goes out as its A-label;
 *   - the rest go out in batches of RecipientsPerCall (50), each batch one
 *     SES call with its own MessageId or error (ses_send() resends the
 *     recipients of a call refused for one bad address one by one, so a
 *     batch can end with several MessageIds);
 *   - with stop_on_defer (pipe mode), batches after one that was deferred
 *     are not sent at all: Postfix will retry every recipient anyway, and
 *     each batch sent now would only be sent twice;
 *   - each accepted batch is recorded in messages.db (SES MessageId ->
 *     queue id, sender, recipients, configuration set, time): in LMTP
 *     mode by a writer thread, the records of up to 20 ms in one
 *     transaction (relay_start_writer()); a crash loses at most those
 *     records, never mail. A store failure is logged loudly and does not
 *     change the outcome: SES has the message, and a retry would send it
 *     twice.
 *   - one log line per delivery: queue id, sender, recipients, count,
 *     size, duration, and the SES MessageIds or the error.
 *
 * deliver_verdict() folds the outcomes into the one status pipe(8) can
 * carry, never claiming success for a recipient SES did not accept:
 *   all accepted -> ST_OK;
 *   any deferred -> that temporary status: Postfix retries all of them,
 *     and recipients of batches SES already accepted get the message
 *     twice (the diagnostic and a warning say how many);
 *   otherwise (some refused for good) -> that permanent status: Postfix
 *     bounces all of them, and the diagnostic names how many SES accepted
 *     after all, so the DSN tells the truth.
 * With ses_destination_recipient_limit = 50 (as recommended) one pipe
 * delivery is one SES call, and the mixed cases cannot arise from
 * batching; only per-address refusals (5.6.7) can still mix outcomes.
 *
 * DIAGNOSTICS
 *   relay_new()/relay_reload() return NULL/-1 with a message in err.
 *   deliver_message() reports everything through the per-recipient
 *   results and the log; it never fails as a whole.
 */
#ifndef SES_RELAY_DELIVER_H
#define SES_RELAY_DELIVER_H

#include "ses_conf.h"
#include "ses_plan.h"
#include "ses_ses.h"
#include "ses_spool.h"
#include "ses_status.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct relay relay_t;
typedef struct deliver deliver_t;

/* Take over the caller's reference to conf. */
relay_t *relay_new(conf_t *conf, char *err, size_t errlen);
int relay_reload(relay_t *r, conf_t *conf, char *err, size_t errlen);
conf_t *relay_conf(relay_t *r); /* a new reference to the current config */
/* LMTP mode: a thread writes the message map, the records of up to
 * WRITE_LINGER_MS (20 ms) in one transaction, instead of one transaction
 * per delivery in the delivering thread; relay_free() writes what is
 * left. 0, or -1 with a reason (records are then written as they come). */
int relay_start_writer(relay_t *r, char *err, size_t errlen);
void relay_free(relay_t *r); /* NULL is fine; after every deliver_free() */

deliver_t *deliver_new(relay_t *r);
void deliver_free(deliver_t *d); /* NULL is fine */

typedef struct {
    const char *sender; /* "" for the null sender */
    const char *const *rcpts;
    size_t nrcpts;
    const char *queue_id; /* NULL when unknown */
    spool_t *spool;
    bool stop_on_defer; /* pipe mode, see above */
} deliver_msg_t;

/* results[i] answers m->rcpts[i]; on ST_OK, message_id is SES's. */
void deliver_message(deliver_t *d, const deliver_msg_t *m,
                     ses_result_t *results);

/* Pipe mode: the one status, and its diagnostic text (without the
 * enhanced status code) in diag. */
status_t deliver_verdict(const deliver_msg_t *m, const ses_result_t *results,
                         char *diag, size_t diaglen);

#endif
