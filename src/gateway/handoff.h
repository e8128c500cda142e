/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hand-over of listening sockets from the sandbox to the gateway. The
 * sandbox's init creates them inside the sandbox's network namespace and
 * sends them, in one message over a SOCK_SEQPACKET Unix socket, with a
 * table saying what each one is for. The gateway then accepts on them
 * from outside: no relay runs inside and no byte takes an extra hop.
 */
#ifndef AIRLOCK_GATEWAY_HANDOFF_H
#define AIRLOCK_GATEWAY_HANDOFF_H

#include <stddef.h>
#include <stdint.h>

/* Listeners per sandbox; far above what a policy produces. */
#define HANDOFF_FDS_MAX 96

enum handoff_kind {
	HANDOFF_HTTP = 1, /* explicit HTTP proxy (absolute-URI and CONNECT) */
	HANDOFF_SOCKS,    /* SOCKS5 */
	HANDOFF_DNS_UDP,  /* the DNS stub */
	HANDOFF_DNS_TCP,
	HANDOFF_CAPTURE,  /* transparent capture of one port */
	HANDOFF_ROUTE,    /* a base-URL route (plain HTTP to an HTTPS host) */
};

struct handoff_entry {
	uint16_t kind;  /* enum handoff_kind */
	uint16_t port;  /* the port it listens on inside */
	uint32_t index; /* HANDOFF_ROUTE: which route of the policy */
};

/*
 * Sends n entries and their fds (fds[i] belongs to e[i]) as one message.
 * Returns 0 or -errno.
 */
int handoff_send(int sock, const struct handoff_entry *e, const int *fds,
		 size_t n);

/*
 * The gateway's answer to a hand-over: it holds the listeners and its
 * policy is in force. Without it the sandbox's init does not start CMD,
 * so a gateway that failed (a policy it cannot apply, say) never leaves a
 * command running with no way out and no word why.
 */
int handoff_ack_send(int sock);
/*
 * Waits up to timeout_ms for the answer. Returns 0, -EPIPE when the
 * gateway closed the channel (it failed, and said why on stderr),
 * -ETIMEDOUT, or -errno.
 */
int handoff_ack_wait(int sock, int timeout_ms);

/*
 * Receives one message: up to max entries with their fds (close-on-exec).
 * *n is the count. Returns 0, -EPIPE when the peer closed without
 * sending, -EBADMSG for a malformed message (its fds are closed), or
 * -errno.
 */
int handoff_recv(int sock, struct handoff_entry *e, int *fds, size_t max,
		 size_t *n);

/* Lowercase name of a kind, for logs ("http", "socks5", ...). */
const char *handoff_kind_name(uint16_t kind);

#endif
