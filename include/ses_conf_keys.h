/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses_conf_keys.h - the one table of configuration keys
 *
 * Every key of ses-milter.conf is declared here once:
 *   CONF_KEY(ID, "Name", type, "default", "constraint", validator, "doc")
 * type is one of CT_STRING, CT_PATH, CT_INT, CT_BOOL, CT_ENUM, CT_SIZE,
 * CT_DURATION, CT_LIST. constraint is "a|b|c" for CT_ENUM and "min..max" for
 * the numeric types (sizes in bytes, durations in milliseconds), else NULL.
 * validator is a function in conf.c (or NULL) for checks beyond the type.
 * A default of NULL means "unset". The man page ses-milter.conf(5) documents
 * every key listed here; tests/check-docs.sh keeps the two in step.
 *
 * This file is included twice (enum in ses_conf.h, table in conf.c): no
 * include guard on purpose.
 */
/* SES API */
CONF_KEY(REGION, "Region", CT_STRING, NULL, NULL, conf_v_region,
         "AWS region of the SES endpoint; AWS_REGION, AWS_DEFAULT_REGION, then "
         "us-east-1, when unset")
CONF_KEY(ENDPOINT, "Endpoint", CT_STRING, NULL, NULL, conf_v_endpoint,
         "URL overriding https://email.REGION.amazonaws.com (http:// only to "
         "loopback)")
CONF_KEY(ENDPOINT_ID, "EndpointId", CT_STRING, NULL, NULL, conf_v_endpoint_id,
         "SESv2 multi-region (global) endpoint id: send to "
         "https://ID.endpoints.email.amazonaws.com, signed with SigV4a for "
         "every region; ApiVersion v2 only; Endpoint still overrides the URL")
CONF_KEY(FAILOVER_REGION, "FailoverRegion", CT_LIST, NULL, NULL, conf_v_regions,
         "regions ses-relay sends to, in order, while the primary (Region or "
         "EndpointId) fails with connection errors, timeouts or HTTP 5xx; "
         "never on throttling or refusals")
CONF_KEY(REGION_ENDPOINT, "RegionEndpoint", CT_MAP, NULL, NULL,
         conf_v_region_url,
         "REGION URL: the URL of one region's SES endpoint (a VPC endpoint, "
         "or a test server); one line per region")
CONF_KEY(FAILOVER_PROBE_INTERVAL, "FailoverProbeInterval", CT_DURATION, "60s",
         "500..3600000", NULL,
         "how long a failing region is skipped by every ses-relay of the host "
         "before one message probes it again (traffic returns to the primary "
         "within this interval after it recovers)")
CONF_KEY(API_VERSION, "ApiVersion", CT_ENUM, "v2", "v2|v1", NULL,
         "SES API: v2 SendEmail Raw (40 MB) or v1 SendRawEmail (10 MB), "
         "limits after base64")
CONF_KEY(PROFILE, "Profile", CT_STRING, NULL, NULL, NULL,
         "profile in the shared AWS credentials/config files (else "
         "AWS_PROFILE, default)")
CONF_KEY(CREDENTIALS_FILE, "CredentialsFile", CT_PATH, NULL, NULL, NULL,
         "shared credentials file (else AWS_SHARED_CREDENTIALS_FILE, "
         "~/.aws/credentials)")
CONF_KEY(CONNECT_TIMEOUT, "ConnectTimeout", CT_DURATION, "10s", "100..300000",
         NULL, "time allowed to connect to SES")
CONF_KEY(TIMEOUT, "Timeout", CT_DURATION, "60s", "1000..3600000", NULL,
         "time allowed for one SES request, connection included")
CONF_KEY(
    RETRY_TIME, "RetryTime", CT_DURATION, "30s", "0..3600000", NULL,
    "time spent retrying transient SES errors before the message is deferred")
CONF_KEY(MAX_SEND_RATE, "MaxSendRate", CT_INT, "0", "0..100000", NULL,
         "the SES account's maximum send rate, in recipients per second as "
         "SES counts it: all ses-relay processes of the host send within it "
         "together (DataDirectory/sendrate), calls waiting their turn; "
         "several hosts on one account set the same figure and each paces "
         "at its share as SES's throttling answers adapt it "
         "(DataDirectory/hoststate) (0: unlimited)")
CONF_KEY(API_ADDRESS_LIMIT, "RecipientsPerCall", CT_INT, "50", "1..50", NULL,
         "envelope recipients per SES call; more are split into several calls")
CONF_KEY(BREAKER_INTERVAL, "BreakerInterval", CT_DURATION, "30s", "0..3600000",
         NULL,
         "how long every ses-relay of the host stops calling SES for an "
         "account, configuration set or identity SES said cannot send "
         "(paused, suspended, keys refused, clock off, not verified); the "
         "interval doubles while the problem lasts and a probe delivery "
         "ends it (0: no breaker)")
CONF_KEY(BREAKER_MAX_INTERVAL, "BreakerMaxInterval", CT_DURATION, "15m",
         "1000..86400000", NULL,
         "longest breaker interval between two probe deliveries")
CONF_KEY(DELIVERY_TIME_LIMIT, "DeliveryTimeLimit", CT_DURATION, "540s",
         "1000..3600000", NULL,
         "time one delivery (a pipe(8) run or an LMTP transaction, all its "
         "SES calls, rate-limit waits and retries) may take; no SES request "
         "starts unless its Timeout fits. Keep it under Postfix's "
         "lmtp_data_done_timeout (600 s)")
/* message content */
CONF_KEY(CONFIGURATION_SET, "ConfigurationSet", CT_STRING, NULL, NULL,
         conf_v_ses_name, "default SES configuration set")
CONF_KEY(MESSAGE_TAGS, "MessageTags", CT_STRING, NULL, NULL, conf_v_tags,
         "default message tags, name:value,name2:value2")
CONF_KEY(FROM_ARN, "FromArn", CT_LIST, NULL, NULL, conf_v_arns,
         "identity ARN for the From address (v1 FromArn, v2 "
         "FromEmailAddressIdentityArn); one per region sent to, region * for "
         "the global endpoint")
CONF_KEY(SOURCE_ARN, "SourceArn", CT_LIST, NULL, NULL, conf_v_arns,
         "identity ARN for the envelope sender (v1 SourceArn); one per "
         "region, as FromArn")
CONF_KEY(RETURN_PATH_ARN, "ReturnPathArn", CT_LIST, NULL, NULL, conf_v_arns,
         "identity ARN for the Return-Path (v1 ReturnPathArn); one per "
         "region, as FromArn")
CONF_KEY(TENANT_NAME, "TenantName", CT_STRING, NULL, NULL, conf_v_ses_name,
         "default SES tenant (SESv2 TenantName) of the messages sent; the "
         "rules action tenant= and the X-SES-TENANT header override it; "
         "ApiVersion v2 only")
CONF_KEY(FEEDBACK_FORWARDING, "FeedbackForwardingEmailAddress", CT_STRING, NULL,
         NULL, conf_v_address,
         "address that receives bounces and complaints (v2)")
CONF_KEY(MAX_MESSAGE_SIZE, "MaxMessageSize", CT_SIZE, "40M", "1024..41943040",
         NULL, "largest message accepted for relay")
/* daemons */
CONF_KEY(DATA_DIRECTORY, "DataDirectory", CT_PATH, "/var/lib/ses-milter", NULL,
         NULL,
         "Berkeley DB environment shared by all programs; its file system "
         "needs about 93 MB free when the environment is created (the region "
         "files are reserved then)")
CONF_KEY(SOCKET, "Socket", CT_STRING, "local:/run/ses-milter/ses-milter.sock",
         NULL, conf_v_socket,
         "milter socket: local:PATH, unix:PATH or inet:PORT@ADDR; for a "
         "Postfix that runs smtpd chrooted, as Debian's does: "
         "local:/var/spool/postfix/ses-milter/ses-milter.sock, which main.cf "
         "names unix:ses-milter/ses-milter.sock")
CONF_KEY(RELAY_SOCKET, "RelaySocket", CT_STRING, NULL, NULL,
         conf_v_local_socket,
         "LMTP socket of ses-relay when -l is not given: unix:PATH or "
         "inet:PORT@ADDR on a loopback address (anyone who can connect "
         "sends mail through SES as anyone)")
CONF_KEY(SOCKET_MODE, "SocketMode", CT_STRING, "0660", NULL, conf_v_mode,
         "permissions of unix sockets created by ses-milter and ses-relay")
/* ses-relay LMTP mode (RelaySocket and SocketMode above also apply) */
CONF_KEY(RELAY_SOCKET_OWNER, "RelaySocketOwner", CT_STRING, NULL, NULL, NULL,
         "user[:group] given ses-relay's unix socket, so with SocketMode 0660 "
         "Postfix's lmtp client (e.g. group postfix) can connect; ses-relay "
         "must start as root to give it away")
CONF_KEY(RELAY_WORKERS, "RelayWorkers", CT_INT, "32", "1..1024", NULL,
         "LMTP connections served at once, one thread each with its own "
         "HTTPS connection to SES; keep it above Postfix's lmtp concurrency "
         "for the transport (default 20) plus a few cached connections")
CONF_KEY(RELAY_MAX_RECIPIENTS, "RelayMaxRecipients", CT_INT, "1000", "1..1000",
         NULL,
         "recipients per LMTP transaction; more are answered 452 4.5.3 and "
         "Postfix sends them in another transaction")
CONF_KEY(RELAY_TIMEOUT, "RelayTimeout", CT_DURATION, "300s", "1000..3600000",
         NULL,
         "time an LMTP client has to send the next command or the next part "
         "of DATA, and to read a reply")
CONF_KEY(USER_ID, "UserID", CT_STRING, NULL, NULL, NULL,
         "user[:group] to run as after opening sockets")
CONF_KEY(ENABLE_COREDUMPS, "EnableCoredumps", CT_BOOL, "no", NULL, NULL,
         "let a crashing program leave a core file, which may hold AWS "
         "secret keys and DKIM private keys (applied at start)")
CONF_KEY(PID_FILE, "PidFile", CT_PATH, NULL, NULL, NULL,
         "file that receives the daemon's process id")
CONF_KEY(SYSLOG, "Syslog", CT_BOOL, "yes", NULL, NULL,
         "log to syslog (facility mail) when not in the foreground")
CONF_KEY(LOG_FILE, "LogFile", CT_PATH, NULL, NULL, NULL,
         "append log lines to this file instead of syslog (like Postfix's "
         "maillog_file)")
CONF_KEY(LOG_LEVEL, "LogLevel", CT_ENUM, "info",
         "error|warning|notice|info|debug", NULL,
         "least important messages logged")
CONF_KEY(MODE, "Mode", CT_ENUM, "enforce", "enforce|observe", NULL,
         "observe: log every milter decision and change nothing")
CONF_KEY(ON_ERROR, "OnError", CT_ENUM, "tempfail", "tempfail|accept", NULL,
         "what the milter answers when it fails internally")
/* milter */
CONF_KEY(RULES_FILE, "RulesFile", CT_PATH, NULL, NULL, NULL,
         "routing and tagging rules (sender|recipient|header NAME:GLOB, then "
         "set= tags= route=ses|ses:N%|local), first match wins")
CONF_KEY(TRUSTED_HOSTS, "TrustedHosts", CT_LIST, "127.0.0.1,::1", NULL, NULL,
         "clients whose mail is the site's own (addresses or CIDR networks, "
         "like opendkim's InternalHosts): only trusted mail is DKIM-signed, "
         "routed to SES by rules, checked by RequireVerifiedSender and "
         "Sandbox, and keeps its X-SES-* headers; others' are removed")
CONF_KEY(TRUST_AUTHENTICATED, "TrustAuthenticated", CT_BOOL, "yes", NULL, NULL,
         "trust SMTP-authenticated clients (the MTA's {auth_authen} macro)")
CONF_KEY(TRUST_LOCAL_SUBMISSION, "TrustLocalSubmission", CT_BOOL, "yes", NULL,
         NULL,
         "trust mail submitted on this host: Postfix's non_smtpd_milters "
         "(sendmail(1), pickup: client 127.0.0.1 port 0) and a connection "
         "without a client address (Sendmail's local submission)")
CONF_KEY(TRUSTED_DAEMON_NAMES, "TrustedDaemonNames", CT_LIST, NULL, NULL, NULL,
         "trust mail received by these MTA services, matched against the "
         "{daemon_name} macro (Postfix: master.cf -o "
         "milter_macro_daemon_name=NAME; Sendmail: DaemonPortOptions "
         "Name=NAME), like opendkim's MTA")
CONF_KEY(SUPPRESSION_ACTION, "SuppressionAction", CT_ENUM, "reject",
         "reject|discard|observe", NULL,
         "what the milter does with a suppressed recipient")
CONF_KEY(VERIFIED_IDENTITIES, "VerifiedIdentities", CT_LIST, NULL, NULL, NULL,
         "SES-verified addresses and domains")
CONF_KEY(REQUIRE_VERIFIED_SENDER, "RequireVerifiedSender", CT_BOOL, "no", NULL,
         NULL,
         "refuse envelope senders outside VerifiedIdentities at MAIL FROM")
CONF_KEY(SANDBOX, "Sandbox", CT_BOOL, "no", NULL, NULL,
         "SES sandbox: recipients must be verified identities too")
/* DKIM */
CONF_KEY(KEY_TABLE, "KeyTable", CT_STRING, NULL, NULL, NULL,
         "opendkim KeyTable file:PATH, lines NAME DOMAIN:SELECTOR:KEYFILE "
         "(DOMAIN % = the From domain); keys are loaded once per (re)load")
CONF_KEY(SIGNING_TABLE, "SigningTable", CT_STRING, NULL, NULL, NULL,
         "opendkim SigningTable file:PATH or refile:PATH, lines PATTERN "
         "KEYNAME [SIGNER], looked up with the From address")
CONF_KEY(DOMAIN, "Domain", CT_STRING, NULL, NULL, NULL,
         "signing domain when no KeyTable is used: mail whose From address "
         "is at this domain is signed")
CONF_KEY(SELECTOR, "Selector", CT_STRING, NULL, NULL, NULL,
         "DKIM selector when no KeyTable is used")
CONF_KEY(KEY_FILE, "KeyFile", CT_PATH, NULL, NULL, NULL,
         "private key file (PEM) when no KeyTable is used")
CONF_KEY(SIGNATURE_ALGORITHM, "SignatureAlgorithm", CT_ENUM, "rsa-sha256",
         "rsa-sha256|ed25519-sha256", NULL,
         "DKIM algorithm; each key's type decides, and when this is set a key "
         "of the other type is a configuration error")
CONF_KEY(CANONICALIZATION, "Canonicalization", CT_ENUM, "relaxed/relaxed",
         "relaxed/relaxed|relaxed/simple|simple/relaxed|simple/"
         "simple|relaxed|simple",
         NULL, "DKIM header/body canonicalization")
CONF_KEY(OVERSIGN_HEADERS, "OversignHeaders", CT_LIST, "From", NULL, NULL,
         "headers signed once more than they occur, so none can be added "
         "(never Date, Message-ID or X-SES-*: SES rewrites them; nor "
         "DKIM-Signature or Delivered-To: ses-relay renames their repeats)")
CONF_KEY(REQUIRE_SAFE_KEYS, "RequireSafeKeys", CT_BOOL, "yes", NULL, NULL,
         "refuse key files anyone but root and the UserID user could read "
         "or change - another owner, every user, a group with another "
         "member, a directory above others can write - as opendkim does; "
         "with no, such a key is used and a warning says why")
/* feedback */
CONF_KEY(FEEDBACK_QUEUE_URL, "FeedbackQueueUrl", CT_STRING, NULL, NULL,
         conf_v_url, "SQS queue URL that ses-feedback -Q polls")
CONF_KEY(
    SNS_TOPIC_ARN, "SnsTopicArn", CT_LIST, NULL, NULL, conf_v_sns_topics,
    "SNS topics whose notifications and subscriptions ses-feedback accepts, "
    "the topic of every region mail goes to; each message's signing "
    "certificate must come from sns.REGION.amazonaws.com of its topic's region")
CONF_KEY(SENDMAIL, "Sendmail", CT_PATH, "/usr/sbin/sendmail", NULL, NULL,
         "sendmail(1) program that injects DSNs into the local MTA")
CONF_KEY(BOUNCE_DSN, "BounceDSN", CT_BOOL, "yes", NULL, NULL,
         "send an RFC 3464 DSN to the original sender for SES bounces")
CONF_KEY(TRANSIENT_BOUNCE_DSN, "TransientBounceDSN", CT_BOOL, "yes", NULL, NULL,
         "also send a DSN for Transient and Undetermined bounces, which SES "
         "reports once it gave up on the message (the address is not "
         "suppressed)")
CONF_KEY(REPORTING_MTA, "ReportingMTA", CT_STRING, NULL, NULL, NULL,
         "host name in DSNs (Reporting-MTA, MAILER-DAEMON@); default: the "
         "system's host name")
CONF_KEY(BOUNCE_DSN_HOST, "BounceDSNHost", CT_STRING, NULL, NULL, NULL,
         "several hosts on one SES account: the host (its name, as in "
         "ses-relay's mta-host tag) that writes the DSN for a bounce whose "
         "notification carries no mta-host tag; unset: this host writes "
         "them (one host)")
CONF_KEY(DSN_TIMEOUT, "DSNTimeout", CT_DURATION, "60s", "1000..3600000", NULL,
         "time allowed for Sendmail to take one DSN before it is retried "
         "from the outbox")
CONF_KEY(MESSAGE_RETENTION, "MessageRetention", CT_DURATION, "7d",
         "0..31536000000", NULL,
         "how long messages.db keeps a sent message's queue id and sender "
         "for DSNs (0: forever)")
CONF_KEY(SEEN_RETENTION, "SeenRetention", CT_DURATION, "14d", "0..31536000000",
         NULL,
         "how long applied notifications are remembered to ignore "
         "duplicates (SQS keeps messages up to 14 days; 0: forever); "
         "ses-feedback -H refuses an SNS message whose Timestamp is older "
         "than this minus 5 minutes, so none is replayed after it is "
         "forgotten")
CONF_KEY(SNS_CERT_CACHE, "SnsCertCache", CT_PATH, NULL, NULL, NULL,
         "directory of SNS signing certificates, fetched once over HTTPS "
         "(default: DataDirectory/sns-certs)")
CONF_KEY(FEEDBACK_MAX_CONNECTIONS, "FeedbackMaxConnections", CT_INT, "32",
         "1..1024", NULL,
         "SNS requests ses-feedback -H handles at once (threads), more get "
         "503; connections still sending their request wait without a "
         "thread (up to 1024, the longest-waiting dropped first), so idle "
         "clients cannot lock SNS out")
/* metrics (ses-metrics) */
CONF_KEY(METRICS, "Metrics", CT_BOOL, "yes", NULL, NULL,
         "count deliveries in DataDirectory/metrics.mmap for ses-metrics")
CONF_KEY(METRICS_LISTEN, "MetricsListen", CT_STRING, NULL, NULL,
         conf_v_local_socket,
         "where ses-metrics -d serves Prometheus scrapes: inet:PORT@ADDRESS, "
         "loopback addresses only")
CONF_KEY(METRICS_TEXTFILE, "MetricsTextfile", CT_PATH, NULL, NULL, NULL,
         "node_exporter textfile (name ending in .prom) that ses-metrics -d "
         "rewrites every MetricsInterval")
CONF_KEY(METRICS_INTERVAL, "MetricsInterval", CT_DURATION, "15s",
         "1000..3600000", NULL,
         "how often ses-metrics -d rewrites "
         "MetricsTextfile")
