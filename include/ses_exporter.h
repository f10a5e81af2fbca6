/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_exporter.h - a minimal HTTP/1.x endpoint that serves the metrics to
 * Prometheus on a loopback address
 *
 * exporter_listen() binds inet:PORT@ADDRESS (or inet6:) with listen_open()
 * and refuses any address that is not loopback: the endpoint has no
 * authentication.
 * exporter_serve() accepts one connection, reads one request (bounded in
 * size and time) and answers it with one write: 200 and the metrics for
 * GET /metrics (and GET /), 404 for other paths, 405 for other methods,
 * 400 for anything unparseable. Connections are closed after the answer.
 *
 * DIAGNOSTICS
 *   exporter_listen() returns the listener, or NULL with a message in
 *   err. exporter_serve() returns 0 when a request was answered (or the
 *   client went away), -1 when accept() itself failed (errno set; EAGAIN when
 *   the client had already gone).
 *   Nothing here logs or exits.
 */
#ifndef SES_EXPORTER_H
#define SES_EXPORTER_H

#include "ses_listen.h"
#include "ses_metrics.h"

#include <stddef.h>

#define EXPORTER_MAX_REQUEST 8192 /* bytes of request line and headers */
#define EXPORTER_TIMEOUT_MS  2000 /* to read one request */

listener_t *exporter_listen(const char *spec, char *err, size_t errlen);
int exporter_serve(listener_t *l, metrics_t *m);

#endif
