/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Transparent capture, for clients that ignore proxy variables. Inside
 * the sandbox every address is local, so a connection to any address on
 * an allowed port lands on one of the gateway's capture listeners; the
 * address it was sent to (the socket's local address) names the target:
 * an address the DNS stub handed out maps back to its name, any other is
 * taken as the IP literal the client dialled. The first bytes are then
 * inspected like a CONNECT tunnel's (the TLS server name, or every HTTP
 * request's Host, must agree with that target).
 */
#include "config.h"

#include "gateway/gw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "common/log.h"
#include "common/util.h"

/* Enough of a refused connection's first bytes to tell an HTTP method. */
#define CAPTURE_PEEK_BYTES 16

static bool host_from_addr(const struct sockaddr_storage *ss, struct host *h)
{
	char ip[INET6_ADDRSTRLEN];
	const char *why;
	const void *a = ss->ss_family == AF_INET ?
		(const void *)&((const struct sockaddr_in *)ss)->sin_addr :
		(const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;

	if (!inet_ntop(ss->ss_family, a, ip, sizeof(ip)))
		return false;
	return host_canon(ip, strlen(ip), h, &why) == 0;
}

bool gw_capture_target(struct gw_conn *c)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	const struct host *mapped = NULL;

	if (getsockname(c->client.w.fd, (struct sockaddr *)&local, &len) < 0 ||
	    !host_from_addr(&local, &c->host)) {
		gw_conn_close(c);
		return false;
	}
	c->port = ntohs(local.ss_family == AF_INET ?
			((struct sockaddr_in *)&local)->sin_port :
			((struct sockaddr_in6 *)&local)->sin6_port);
	if (c->host.kind == HOST_IPV4)
		mapped = gw_dns_lookup(c->run, &c->host.v4);
	if (mapped)
		c->host = *mapped;
	return true;
}

void gw_capture_connected(struct gw_conn *c)
{
	gw_tunnel_start(c, true);
}

void gw_capture_refuse(struct gw_conn *c, enum gw_refusal why,
		       const char *reason)
{
	c->deferred_why = why;
	snprintf(c->deferred_reason, sizeof(c->deferred_reason), "%s", reason);
	c->state = GW_ST_CAPTURE_DENIED;
	loop_watch_set(&c->gw->loop, &c->client.w, EPOLLIN);
	gw_conn_arm(c, &c->gw->t_head);
}

void gw_capture_on_denied(struct gw_conn *c, uint32_t events)
{
	char first[CAPTURE_PEEK_BYTES];
	ssize_t n;
	bool more;

	if (events & EPOLLERR) {
		gw_conn_close(c);
		return;
	}
	n = recv(c->client.w.fd, first, sizeof(first), MSG_PEEK);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n > 0 && !gw_tunnel_looks_like_http(first, (size_t)n, &more) &&
	    more && n < (ssize_t)sizeof(first))
		return; /* a method's first letters: wait for the rest */
	if (n > 0 && gw_tunnel_looks_like_http(first, (size_t)n, &more)) {
		c->http.fixed_target = true;
		gw_http_refuse(c, c->deferred_why, c->deferred_reason);
		return;
	}
	gw_conn_close(c);
}
