/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading the gateway's audit log, whose writer is src/gateway/audit.c:
 * one JSON object per line, checked field by field against a table, then
 * either turned into one readable line or added to a table of counts per
 * host and port. No I/O here; `airlock audit` reads and prints.
 */
#ifndef AIRLOCK_AUDIT_LOG_H
#define AIRLOCK_AUDIT_LOG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The log's name inside airlock's state folder (see path_state_file). */
#define AUDIT_LOG_DEFAULT_NAME "audit.jsonl"

/*
 * One record. The strings point into the JSON object the record was read
 * from and are NULL when the key is absent; the numbers are -1 then.
 * Nothing here has been made safe for a terminal yet.
 */
struct audit_record {
	const char *time;
	const char *run;
	const char *event;    /* "allow", "deny", "request", "close", "dns" */
	const char *proto;
	const char *client;
	const char *who;
	const char *host;
	const char *sni;
	const char *method;
	const char *path;
	const char *decision; /* "allow" or "deny" */
	const char *rule;
	const char *reason;
	const char *addr;
	const char *credential;
	const char *error;
	int64_t port;
	int64_t status;
	int64_t bytes_up;
	int64_t bytes_down;
	int64_t duration_ms;
};

/* The counts of one row of the summary, in the order they are printed. */
enum audit_tally_column {
	AUDIT_TALLY_CONNECTIONS, /* tunnels allowed */
	AUDIT_TALLY_REQUESTS,    /* HTTP requests finished */
	AUDIT_TALLY_DENIED,      /* connections, requests, names refused */
	AUDIT_TALLY_BYTES_UP,
	AUDIT_TALLY_BYTES_DOWN,
	AUDIT_TALLY_COLUMNS,
};

struct audit_tally_row {
	char *host;   /* "" for records without a host */
	int64_t port; /* -1 for records without a port */
	uint64_t count[AUDIT_TALLY_COLUMNS];
};

/* Rows sorted by host, then port; total sums every row. */
struct audit_tally {
	struct audit_tally_row *rows;
	size_t len;
	size_t cap;
	uint64_t total[AUDIT_TALLY_COLUMNS];
};

/*
 * Fills *r from one parsed line. A record must be an object with "time"
 * and "event"; every known key must have its type (numbers whole and in
 * range); unknown keys are ignored, so that a newer writer's log stays
 * readable. Returns 0, or -EINVAL with a message in why (always
 * NUL-terminated; it may quote a key, never a value). *r borrows from obj.
 */
int audit_log_parse_record(const json_t *obj, struct audit_record *r,
			   char *why, size_t why_size);

/*
 * Writes "host:port" (the host in brackets when it holds a ':', "-" when
 * there is none, no port when port < 0) into buf, escaped for a terminal.
 * buf is always NUL-terminated; a long name is cut.
 */
void audit_log_format_target(const char *host, int64_t port, char *buf,
			     size_t size);

/*
 * Writes the readable line of r, without a newline, into buf: time (UTC,
 * as recorded), event, protocol and target in aligned columns, then the
 * fields that are present. Every string is escaped for a terminal. buf is
 * always NUL-terminated; a long line is cut.
 */
void audit_log_format_record(const struct audit_record *r, char *buf,
			     size_t size);

/*
 * Adds r to the row of its host and port, creating the row when r counts
 * for something: allow, request and deny events, refused DNS names, and
 * the bytes of every record that carries them. Records that count for
 * nothing (an answered DNS name) add no row.
 */
void audit_log_tally_record(struct audit_tally *t,
			    const struct audit_record *r);

/* Releases the rows and leaves *t empty and reusable. */
void audit_log_free_tally(struct audit_tally *t);

#endif
