/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * server.h - ses-relay's LMTP mode: the daemon around lmtp_serve()
 *
 * server_run() opens the listening socket (RelaySocket, SocketMode,
 * RelaySocketOwner), detaches unless foreground, writes PidFile, drops to
 * UserID, and serves Postfix's lmtp client with RelayWorkers threads. Each
 * worker accepts a connection, keeps it for as many transactions as the
 * client sends, and delivers with its own deliver_t (its own HTTPS
 * connection to SES).
 *
 * Signals: SIGTERM or SIGINT stop accepting (the unix socket disappears at
 * once, so Postfix defers instead of waiting), let every transaction in
 * progress finish, answer idle connections 421 and exit 0. SIGHUP reloads
 * the configuration file: new transactions use the new snapshot, those in
 * flight keep theirs; a file with errors is logged and the old
 * configuration stays. Socket, worker count, UserID and DataDirectory
 * changes need a restart.
 *
 * DIAGNOSTICS
 *   Returns a <sysexits.h> code: EX_OK after a clean stop, EX_CONFIG for a
 *   bad socket or user, EX_TEMPFAIL/EX_OSERR when the socket or threads
 *   cannot be set up; the reason is logged.
 */
#ifndef SES_RELAY_SERVER_H
#define SES_RELAY_SERVER_H

#include "ses_conf.h"

/* conf: taken over. spec: -l, or NULL for RelaySocket. */
int server_run(const char *conffile, conf_t *conf, const char *spec,
               int foreground);

#endif
