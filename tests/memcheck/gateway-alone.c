/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A run's own gateway, started without the sandbox, for tests/memcheck.sh.
 * valgrind 3.19 does not know openat2 or the new mount calls, so
 * `airlock run` cannot set a sandbox up under it, and the gateway that a
 * run forks (the one that reads credentials and terminates TLS; the
 * `airlock gateway` service does neither) would go unchecked. This
 * program stands in for the supervisor and the sandbox's init: it loads
 * the settings, forks the gateway with gateway_spawn as a run does, makes
 * the listeners on 127.0.0.1 (HTTP proxy, SOCKS5, DNS over UDP, one per
 * route) and hands them over. It prints one "KIND PORT" line per
 * listener and one "placeholder NAME VALUE" line per placeholder, then
 * waits for SIGTERM or SIGINT, ends the gateway and exits with its
 * status. A test tool: it trusts its arguments and runs nothing else.
 *
 * usage: gateway-alone SETTINGS AUDIT_FILE
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "gateway/gateway.h"
#include "gateway/handoff.h"
#include "policy/policy.h"
#include "tls/ca.h"

#define ACK_TIMEOUT_MS 30000
#define LISTEN_BACKLOG 64

/* A socket on 127.0.0.1, on a port the kernel picks; -errno on failure. */
static int loopback_socket(int type, uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, LISTEN_BACKLOG) < 0) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Adds one listener to the hand-over table, and says where it is. */
static int listener_add(struct handoff_entry *e, int *fds, size_t *n,
			uint16_t kind, uint32_t index, const char *label)
{
	int type = kind == HANDOFF_DNS_UDP ? SOCK_DGRAM : SOCK_STREAM;
	uint16_t port = 0;
	int fd = loopback_socket(type, &port);

	if (fd < 0) {
		log_error_errno(-fd, "cannot make the %s listener", label);
		return fd;
	}
	e[*n] = (struct handoff_entry){ .kind = kind, .port = port,
					.index = index };
	fds[(*n)++] = fd;
	printf("%s %u\n", label, port);
	return 0;
}

/* Prints the placeholders the gateway made, as the supervisor gets them. */
static int placeholders_print(const struct policy *p, int chan)
{
	char *msg = NULL;
	size_t len = 0, off = 0;
	int r = gateway_placeholders_wait(chan, &msg, &len);

	while (r == 0 && off + 8 <= len) {
		uint32_t hdr[2];

		memcpy(hdr, msg + off, sizeof(hdr));
		off += sizeof(hdr);
		if (hdr[0] >= p->n_credentials || hdr[1] > len - off) {
			r = -EBADMSG;
			break;
		}
		printf("placeholder %s %.*s\n", p->credentials[hdr[0]].name,
		       (int)hdr[1], msg + off);
		off += hdr[1];
	}
	free(msg);
	return r;
}

/* The listeners a sandbox's init would make, handed over on chan. */
static int listeners_hand_over(const struct policy *p, int chan)
{
	struct handoff_entry e[HANDOFF_FDS_MAX];
	int fds[HANDOFF_FDS_MAX];
	size_t n = 0;
	int r;

	r = listener_add(e, fds, &n, HANDOFF_HTTP, 0, "http");
	if (r == 0)
		r = listener_add(e, fds, &n, HANDOFF_SOCKS, 0, "socks5");
	if (r == 0)
		r = listener_add(e, fds, &n, HANDOFF_DNS_UDP, 0, "dns");
	for (size_t i = 0; r == 0 && i < p->n_routes && n < HANDOFF_FDS_MAX;
	     i++)
		r = listener_add(e, fds, &n, HANDOFF_ROUTE, (uint32_t)i,
				 "route");
	if (r == 0)
		r = handoff_send(chan, e, fds, n);
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
	if (r < 0) {
		log_error_errno(-r, "cannot hand the listeners over");
		return r;
	}
	r = handoff_ack_wait(chan, ACK_TIMEOUT_MS);
	if (r < 0)
		log_error_errno(-r, "the gateway did not take the listeners");
	return r;
}

/* Waits for SIGTERM or SIGINT, then ends the gateway; its exit status. */
static int gateway_wait(pid_t gw)
{
	sigset_t mask;
	int sig = 0, status = 0;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigwait(&mask, &sig);
	kill(gw, SIGTERM);
	while (waitpid(gw, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	log_error("the gateway died of signal %d", WTERMSIG(status));
	return 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
	const char *files[] = { argc > 1 ? argv[1] : NULL, NULL };
	struct policy_load_opts lo = { .files = files,
				       .no_user_settings = true };
	struct policy_errors errs = { 0 };
	struct policy p = { 0 };
	_cleanup_free_ char *cert = NULL, *key = NULL;
	struct gateway_run_opts o = { 0 };
	sigset_t mask;
	pid_t gw = 0;
	int chan = -1, peer = -1, r;

	if (argc != 3) {
		fprintf(stderr, "usage: gateway-alone SETTINGS AUDIT_FILE\n");
		return 2;
	}
	log_set_prefix("gateway-alone");
	/* blocked before the fork, so that no signal is lost in between */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if (policy_load(&p, &lo, &errs) < 0) {
		policy_errors_print(&errs, stderr);
		policy_errors_free(&errs);
		return 2;
	}
	if ((p.n_credentials || p.n_request_rules) &&
	    ca_user_ensure(p.home, &cert, &key) < 0) {
		policy_free(&p);
		return 1;
	}
	o = (struct gateway_run_opts){ .policy = &p, .audit_path = argv[2],
				       .run_id = "memcheck", .ca_cert = cert,
				       .ca_key = key };
	r = gateway_channel(&chan, &peer);
	if (r == 0)
		r = gateway_spawn(&o, peer, &gw);
	if (r == 0 && p.n_credentials)
		r = placeholders_print(&p, chan);
	if (r == 0)
		r = listeners_hand_over(&p, chan);
	if (chan >= 0)
		close(chan);
	if (r == 0) {
		printf("ready\n");
		fflush(stdout);
		r = gateway_wait(gw);
	} else if (gw > 0) {
		kill(gw, SIGTERM);
		waitpid(gw, NULL, 0);
		r = 1;
	}
	policy_free(&p);
	return r;
}
