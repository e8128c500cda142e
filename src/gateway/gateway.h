/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gateway: the sandbox's only way out, outside the boundary. For
 * `airlock run` it is a child process of the supervisor, not dumpable,
 * in its own session, that dies with the supervisor; `airlock gateway`
 * runs the same engine as a long-lived service that many sandboxes
 * attach to, and that can also serve as an ordinary proxy on TCP.
 */
#ifndef AIRLOCK_GATEWAY_GATEWAY_H
#define AIRLOCK_GATEWAY_GATEWAY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct policy;

struct gateway_run_opts {
	const struct policy *policy;
	const char *audit_path; /* NULL: no audit log */
	const char *run_id;
	const char *ca_cert;    /* the CA that signs leaves; NULL: none */
	const char *ca_key;
};

/*
 * Makes the channel of one run's gateway: *channel is the end on which the
 * sandbox's init hands its listeners over, *peer the gateway's, for
 * gateway_spawn (both SOCK_SEQPACKET, close-on-exec). Returns 0, or
 * -errno after logging.
 */
int gateway_channel(int *channel, int *peer);

/*
 * Forks the gateway of one run on peer, which is closed here whatever
 * happens. On success returns 0 with *pid the gateway's pid; the
 * supervisor ends it with SIGTERM and reaps it. Returns -errno after
 * logging. Not for use after fork.
 */
int gateway_spawn(const struct gateway_run_opts *o, int peer, pid_t *pid);

/*
 * After gateway_spawn, for a policy with credentials: waits on the
 * channel for the
 * gateway to have read them, and returns the placeholders it made (see
 * gw_creds_placeholders) in *msg (caller wipes and frees) and *len.
 * Returns 0, or -errno after logging (the gateway could not read a
 * credential, and said why on stderr).
 */
int gateway_placeholders_wait(int channel, char **msg, size_t *len);

/*
 * Attaches a run to a shared gateway (`airlock gateway --socket PATH`):
 * connects, sends the run's network policy and waits for the service to
 * accept it. Returns 0 with *channel ready for the handover (the caller
 * keeps one copy open for the whole run: its closing ends the run in the
 * service), or -errno after logging what the service said.
 */
int gateway_attach(const char *socket_path, const struct gateway_run_opts *o,
		   int *channel);

struct gateway_serve_opts {
	const struct policy *policy; /* the ceiling for every run */
	const char *socket_path;     /* runs attach here; NULL: none */
	const char *listen;          /* "HOST:PORT" TCP proxy; NULL: none */
	const char *tokens_path;     /* "NAME TOKEN" lines for --listen */
	const char *audit_path;
};

/* `airlock gateway`: serves until SIGINT or SIGTERM. Returns an exit status. */
int gateway_serve(const struct gateway_serve_opts *o);

/*
 * The ports of the policy's allow list that transparent capture listens
 * on (80 and 443 for entries without a port, and each port named),
 * without duplicates and without ports the proxies use. Returns the count.
 */
size_t gateway_capture_ports(const struct policy *p, uint16_t *ports,
			     size_t max, const uint16_t *skip, size_t n_skip);

/*
 * The NO_PROXY list for the sandbox: loopback names, minus each one the
 * allow list names (those must go through the proxy). Caller frees.
 */
char *gateway_no_proxy(const struct policy *p);

#endif
