/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SOCKS5 listener on 127.0.0.1:1080 inside the sandbox: greeting,
 * optional username/password (used only by `airlock gateway --listen`,
 * where the password is the client's token), then CONNECT. Bytes come
 * from the sandbox and are parsed by socks5.c; refusals get the reply
 * codes of RFC 1928, "connection not allowed by ruleset" for the policy.
 */
#include "config.h"

#include "gateway/gw.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "gateway/socks5.h"

/* The handshake never needs more than this queued. */
#define SOCKS_QUEUE_MAX_BYTES 1024

static const uint8_t refusal_reply[] = {
	[GW_REFUSE_POLICY] = SOCKS5_REP_NOT_ALLOWED,
	[GW_REFUSE_MISMATCH] = SOCKS5_REP_NOT_ALLOWED,
	[GW_REFUSE_BAD_REQUEST] = SOCKS5_REP_GENERAL_FAILURE,
	[GW_REFUSE_TOO_LARGE] = SOCKS5_REP_GENERAL_FAILURE,
	[GW_REFUSE_VERSION] = SOCKS5_REP_GENERAL_FAILURE,
	[GW_REFUSE_UNREACHABLE] = SOCKS5_REP_HOST_UNREACHABLE,
	[GW_REFUSE_REFUSED] = SOCKS5_REP_CONN_REFUSED,
	[GW_REFUSE_TIMEOUT] = SOCKS5_REP_TTL_EXPIRED,
	[GW_REFUSE_UNSUPPORTED] = SOCKS5_REP_CMD_UNSUPPORTED,
	[GW_REFUSE_AUTH] = SOCKS5_REP_NOT_ALLOWED,
};

static void reply(struct gw_conn *c, uint8_t rep)
{
	uint8_t out[SOCKS5_REPLY_BYTES];

	socks5_reply(out, (enum socks5_reply)rep);
	buf_append(&c->out, out, sizeof(out), SOCKS_QUEUE_MAX_BYTES);
}

static void refuse_with(struct gw_conn *c, uint8_t rep)
{
	c->status = rep;
	reply(c, rep);
	gw_conn_linger(c);
}

void gw_socks_refuse(struct gw_conn *c, enum gw_refusal why)
{
	if (c->state == GW_ST_SOCKS_HELLO || c->state == GW_ST_SOCKS_AUTH) {
		gw_conn_close(c);
		return;
	}
	refuse_with(c, refusal_reply[why]);
}

static int hello(struct gw_conn *c)
{
	struct socks5_greeting g;
	const char *why;
	uint8_t answer[2] = { SOCKS5_VERSION, SOCKS5_METHOD_NONE };
	int n = socks5_parse_greeting((const uint8_t *)buf_head(&c->in),
				      buf_len(&c->in), &g, &why);

	if (n <= 0)
		return n;
	buf_consume(&c->in, (size_t)n);
	if (c->need_auth && g.offers_userpass) {
		answer[1] = SOCKS5_METHOD_USERPASS;
		buf_append(&c->out, answer, sizeof(answer), SOCKS_QUEUE_MAX_BYTES);
		c->state = GW_ST_SOCKS_AUTH;
		return n;
	}
	if (c->need_auth || !g.offers_none) {
		answer[1] = SOCKS5_METHOD_REFUSED;
		buf_append(&c->out, answer, sizeof(answer), SOCKS_QUEUE_MAX_BYTES);
		gw_conn_log_deny(c, "socks5-auth", "no acceptable method");
		gw_conn_linger(c);
		return 0;
	}
	buf_append(&c->out, answer, sizeof(answer), SOCKS_QUEUE_MAX_BYTES);
	c->state = GW_ST_SOCKS_REQUEST;
	return n;
}

/* RFC 1929: the password is the client's token. */
static int auth(struct gw_conn *c)
{
	struct socks5_userpass u;
	const char *why, *name;
	uint8_t answer[2] = { 1, 0 };
	int n = socks5_parse_userpass((const uint8_t *)buf_head(&c->in),
				      buf_len(&c->in), &u, &why);

	if (n <= 0)
		return n;
	buf_consume(&c->in, (size_t)n);
	name = gw_token_check(c->gw, u.user, u.pass);
	explicit_bzero(u.pass, sizeof(u.pass));
	if (!name) {
		answer[1] = 1;
		buf_append(&c->out, answer, sizeof(answer), SOCKS_QUEUE_MAX_BYTES);
		gw_conn_log_deny(c, "client-auth", "unknown client token");
		gw_conn_linger(c);
		return 0;
	}
	snprintf(c->who, sizeof(c->who), "%s", name);
	c->need_auth = false;
	buf_append(&c->out, answer, sizeof(answer), SOCKS_QUEUE_MAX_BYTES);
	c->state = GW_ST_SOCKS_REQUEST;
	return n;
}

static int request(struct gw_conn *c)
{
	struct socks5_request rq;
	const char *why = NULL;
	uint8_t rep = SOCKS5_REP_GENERAL_FAILURE;
	int n = socks5_parse_request((const uint8_t *)buf_head(&c->in),
				     buf_len(&c->in), &rq, &rep, &why);

	if (n == SOCKS5_INCOMPLETE)
		return 0;
	if (n < 0) {
		gw_conn_log_deny(c, "malformed", why);
		refuse_with(c, rep);
		return -1;
	}
	buf_consume(&c->in, (size_t)n);
	if (rq.cmd != SOCKS5_CMD_CONNECT) {
		gw_conn_log_deny(c, "socks5-command", "only CONNECT is served");
		refuse_with(c, SOCKS5_REP_CMD_UNSUPPORTED);
		return -1;
	}
	if (host_canon(rq.host, strlen(rq.host), &c->host, &why) < 0) {
		snprintf(c->host.text, sizeof(c->host.text), "%s", "?");
		gw_conn_log_deny(c, "malformed", why);
		refuse_with(c, SOCKS5_REP_NOT_ALLOWED);
		return -1;
	}
	c->port = rq.port;
	gw_conn_route(c);
	return -1;
}

void gw_socks_on_client(struct gw_conn *c, uint32_t events)
{
	ssize_t r;

	if (events & EPOLLERR) {
		gw_conn_close(c);
		return;
	}
	r = buf_read_fd(&c->in, c->client.w.fd, SOCKS_QUEUE_MAX_BYTES);
	if (r == 0 || (r < 0 && r != -EAGAIN)) {
		gw_conn_close(c);
		return;
	}
	for (;;) {
		int n = c->state == GW_ST_SOCKS_HELLO ? hello(c) :
			c->state == GW_ST_SOCKS_AUTH ? auth(c) : request(c);

		if (c->state == GW_ST_DEAD || c->state == GW_ST_LINGER ||
		    c->state == GW_ST_RESOLVING || c->state == GW_ST_CONNECTING)
			return;
		if (n < 0) {
			gw_conn_log_deny(c, "malformed", "malformed greeting");
			gw_conn_close(c);
			return;
		}
		if (n == 0)
			break;
	}
	if (buf_len(&c->out) && buf_write_fd(&c->out, c->client.w.fd) < 0 &&
	    buf_len(&c->out)) {
		loop_watch_set(&c->gw->loop, &c->client.w, EPOLLIN | EPOLLOUT);
		return;
	}
	loop_watch_set(&c->gw->loop, &c->client.w, EPOLLIN);
}

void gw_socks_connected(struct gw_conn *c)
{
	uint8_t out[SOCKS5_REPLY_BYTES];

	socks5_reply(out, SOCKS5_REP_SUCCEEDED);
	/*
	 * What is still queued for the client (the method choice, when the
	 * request came in the same packet as the greeting), then the reply,
	 * go to the client ahead of any upstream byte.
	 */
	buf_prepend(&c->up_in, out, sizeof(out), GW_XFER_MAX_BYTES);
	buf_prepend(&c->up_in, buf_head(&c->out), buf_len(&c->out),
		    GW_XFER_MAX_BYTES);
	buf_free(&c->out, false);
	gw_tunnel_start(c, true);
}
