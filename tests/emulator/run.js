#!/usr/bin/env node
// SPDX-License-Identifier: BSD-2-Clause
// Starts the third-party SES emulator aws-ses-v2-local (npm) on 127.0.0.1.
//
//   node run.js [--port 8005] [--host 127.0.0.1]
//
// The emulator parses raw messages but keeps only subject, body and
// addresses. So that tests and the demo can see the headers ses-milter adds
// (X-SES-CONFIGURATION-SET, DKIM-Signature, ...), this wrapper records the
// header lines of each parsed raw message on the stored email
// ("headers": [{name, value}]), which GET /store returns and the web UI
// shows. Everything else is the emulator, unchanged.
'use strict';

const mailparser = require('mailparser');
const store = require('aws-ses-v2-local/dist/store');
const server = require('aws-ses-v2-local').default;

let lastHeaders = null;
const simpleParser = mailparser.simpleParser;
mailparser.simpleParser = async (...args) => {
  const parsed = await simpleParser(...args);
  lastHeaders = parsed.headerLines.map((h) => {
    const colon = h.line.indexOf(':');
    return {
      name: h.line.slice(0, colon),
      value: h.line.slice(colon + 1).replace(/\r?\n[ \t]/g, ' ').trim(),
    };
  });
  return parsed;
};
const saveEmail = store.saveEmail;
store.saveEmail = (email) => {
  if (!email.headers && lastHeaders) email.headers = lastHeaders;
  lastHeaders = null;
  return saveEmail(email);
};

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const port = parseInt(opt('--port', '8005'), 10);
const host = opt('--host', '127.0.0.1');

server({ port, host })
  .then(() => console.log(`aws-ses-v2-local: listening on http://${host}:${port}`))
  .catch((err) => {
    console.error('aws-ses-v2-local: failed to start:', err);
    process.exit(1);
  });
