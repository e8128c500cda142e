/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A connection's life in the gateway: accepted on a listener that the
 * sandbox handed over, its target decided against the run's policy,
 * resolved off the loop, every address vetted, dialled without blocking,
 * then passed to its protocol (HTTP, SOCKS5, capture) and finally closed
 * and released at the end of the loop round.
 *
 * Every byte read here comes from the sandbox or from a server; each
 * queue is capped and each state has a time limit, so a client that
 * sends nothing, or sends forever, holds one slot and nothing more.
 */
#include "config.h"

#include "gateway/gw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "gateway/handoff.h"

/* Connections accepted per listener event, so that one busy listener
 * cannot starve the others. */
#define ACCEPT_BATCH 64
/* A gateway out of descriptors says so at most this often. */
#define ACCEPT_WARN_MS 10000

#define conn_of(ptr, member) container_of(ptr, struct gw_conn, member)

/* Stops or resumes watching every listener; false if nothing changed. */
static bool listeners_pause(struct gw *gw, bool pause)
{
	if (gw->paused == pause)
		return false;
	gw->paused = pause;
	for (struct gw_run *run = gw->runs; run; run = run->next)
		for (struct gw_listener *l = run->listeners; l; l = l->next)
			loop_watch_set(&gw->loop, &l->w, pause ? 0 : EPOLLIN);
	if (!pause)
		loop_timer_cancel(&gw->accept_retry);
	return true;
}

static void on_accept_retry(struct loop_timer *t)
{
	listeners_pause(container_of(t, struct gw, accept_retry), false);
}

static void conn_release(struct loop_deferred *d)
{
	struct gw_conn *c = container_of(d, struct gw_conn, dead);

	/* the queues may have held credentials: wipe them all */
	buf_free(&c->in, true);
	buf_free(&c->out, false);
	buf_free(&c->up_in, c->creds_used != 0);
	buf_free(&c->up_out, true);
	free(c->http.path);
	gw_run_unref(c->run);
	free(c);
}

void gw_conn_record(const struct gw_conn *c, struct gw_record *r,
		    const char *event)
{
	*r = (struct gw_record){
		.run = c->run->id,
		.event = event,
		.proto = c->proto,
		.client = c->client_text,
		.who = c->who,
		.host = c->host.text,
		.port = c->port,
		.sni = c->sni,
		.addr = c->addr_text,
		.duration_ms = -1,
	};
}

void gw_conn_log_deny(struct gw_conn *c, const char *rule, const char *reason)
{
	struct gw_record r;

	gw_conn_record(c, &r, "deny");
	r.decision = "deny";
	r.rule = rule;
	r.reason = reason;
	r.method = c->http.method;
	r.path = c->http.path;
	gw_audit_write(c->run->audit, &r);
	/* this record stands for the request: it is not left under way */
	c->http.resp = GW_HTTP_IDLE;
}

void gw_conn_log_close(struct gw_conn *c, const char *error)
{
	struct gw_record r;

	gw_conn_record(c, &r, "close");
	r.error = error;
	r.status = c->status;
	r.bytes_up = c->bytes_up;
	r.bytes_down = c->bytes_down;
	r.duration_ms = loop_now_ms() - c->start_ms;
	gw_audit_write(c->run->audit, &r);
}

static void log_allow(struct gw_conn *c)
{
	struct gw_record r;

	gw_conn_record(c, &r, "allow");
	r.decision = "allow";
	r.rule = c->verdict.rule;
	gw_audit_write(c->run->audit, &r);
	c->logged_open = true;
}

static void side_close(struct gw *gw, struct gw_side *s)
{
	gw_side_tls_end(s, true);
	if (s->w.fd < 0)
		return;
	loop_watch_del(&gw->loop, &s->w);
	close(s->w.fd);
	s->w.fd = -1;
}

void gw_conn_close(struct gw_conn *c)
{
	struct gw *gw = c->gw;

	if (c->state == GW_ST_DEAD)
		return;
	/* a request cut short has a record too, saying why */
	if (gw_http_under_way(&c->http))
		gw_http_log_cut(c);
	if (c->logged_open)
		gw_conn_log_close(c, c->error);
	gw_tunnel_release(c);
	side_close(gw, &c->client);
	side_close(gw, &c->up);
	loop_timer_cancel(&c->timer);
	c->state = GW_ST_DEAD;
	if (c->prev)
		c->prev->next = c->next;
	else
		gw->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	gw->n_conns--;
	if (gw->paused && gw->n_conns < GW_CONNS_MAX)
		listeners_pause(gw, false);
	if (c->resolving)
		c->zombie = true;
	else
		loop_defer(&gw->loop, &c->dead, conn_release);
}

/* ---- timers ---- */

static void on_timeout(struct loop_timer *t)
{
	struct gw_conn *c = conn_of(t, timer);

	switch (c->state) {
	case GW_ST_HTTP_HEAD:
	case GW_ST_SOCKS_HELLO:
	case GW_ST_SOCKS_AUTH:
	case GW_ST_SOCKS_REQUEST:
	case GW_ST_DNS:
	case GW_ST_SNIFF:
	case GW_ST_CAPTURE_DENIED:
		log_debug("gateway: %s: no complete request in time",
			  c->client_text);
		gw_conn_close(c);
		return;
	case GW_ST_CONNECTING:
	case GW_ST_PARENT:
	case GW_ST_RESOLVING:
		gw_conn_refuse(c, GW_REFUSE_TIMEOUT, "connect timed out");
		return;
	default:
		gw_conn_close(c);
		return;
	}
}

static void timer_set(struct gw_conn *c, struct loop_timer_list *list)
{
	loop_timer_arm(list, &c->timer, on_timeout);
}

void gw_conn_arm(struct gw_conn *c, struct loop_timer_list *list)
{
	timer_set(c, list);
}

void gw_conn_linger(struct gw_conn *c)
{
	c->state = GW_ST_LINGER;
	timer_set(c, &c->gw->t_linger);
	loop_watch_set(&c->gw->loop, &c->client.w, EPOLLOUT);
}

/* LINGER: flush the refusal, shut the write side, drain, then close. */
static void linger_step(struct gw_conn *c, uint32_t events)
{
	char sink[4096];
	ssize_t n;

	if (events & EPOLLERR) {
		gw_conn_close(c);
		return;
	}
	while (buf_len(&c->out)) {
		n = gw_side_send(&c->client, buf_head(&c->out), buf_len(&c->out));
		if (n == -EAGAIN) {
			loop_watch_set(&c->gw->loop, &c->client.w,
				       c->client.want ? c->client.want :
							EPOLLOUT);
			return;
		}
		if (n <= 0) {
			gw_conn_close(c);
			return;
		}
		buf_consume(&c->out, (size_t)n);
	}
	if (!c->client.shut) {
		gw_side_tls_end(&c->client, true);
		shutdown(c->client.w.fd, SHUT_WR);
		c->client.shut = true;
		loop_watch_set(&c->gw->loop, &c->client.w, EPOLLIN);
	}
	do
		n = recv(c->client.w.fd, sink, sizeof(sink), 0);
	while (n > 0);
	if (n == 0 || (n < 0 && errno != EAGAIN))
		gw_conn_close(c);
}

/* Restarts c's timer on list, whose limit is limit_ms, when it moved. */
static void touch_on(struct gw_conn *c, struct loop_timer_list *list,
		     int64_t limit_ms)
{
	/* re-arming costs; a second's slack saves it on busy connections */
	if (c->timer.list != list ||
	    c->timer.deadline_ms < loop_now_ms() + limit_ms - 1000)
		timer_set(c, list);
}

void gw_conn_touch(struct gw_conn *c)
{
	touch_on(c, &c->gw->t_idle, GW_IDLE_TIMEOUT_MS);
}

void gw_conn_side_failed(struct gw_conn *c, const struct gw_side *s, int err)
{
	snprintf(c->error_text, sizeof(c->error_text), "%s: %s",
		 s == &c->up ? "server" : "client", strerror(err));
	c->error = c->error_text;
}

void gw_conn_set_error(struct gw_conn *c, const char *text)
{
	snprintf(c->error_text, sizeof(c->error_text), "%s", text);
	c->error = c->error_text;
}

void gw_conn_touch_half_closed(struct gw_conn *c)
{
	touch_on(c, &c->gw->t_half, GW_HALF_CLOSED_TIMEOUT_MS);
}

/* ---- events ---- */

/* --listen serves both protocols on one port: SOCKS5 starts with 5. */
static void sniff(struct gw_conn *c, uint32_t events)
{
	unsigned char first;
	ssize_t n = recv(c->client.w.fd, &first, 1, MSG_PEEK);

	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		gw_conn_close(c);
		return;
	}
	if (first == 5) {
		c->kind = GW_CONN_SOCKS;
		c->state = GW_ST_SOCKS_HELLO;
		c->proto = "socks5";
		gw_socks_on_client(c, events);
	} else {
		c->kind = GW_CONN_HTTP;
		c->state = GW_ST_HTTP_HEAD;
		c->proto = "http";
		gw_http_on_client(c, events);
	}
}

static void on_client(struct loop_watch *w, uint32_t events)
{
	struct gw_conn *c = conn_of(w, client.w);

	switch (c->state) {
	case GW_ST_HTTP_HEAD:
	case GW_ST_HTTP_REQ_BODY:
	case GW_ST_HTTP_RESP:
	case GW_ST_HTTP_RESP_BODY:
		gw_http_on_client(c, events);
		return;
	case GW_ST_SOCKS_HELLO:
	case GW_ST_SOCKS_AUTH:
	case GW_ST_SOCKS_REQUEST:
		gw_socks_on_client(c, events);
		return;
	case GW_ST_TUNNEL:
		gw_tunnel_on_event(c, true, events);
		return;
	case GW_ST_DNS:
		gw_dns_tcp_on_client(c, events);
		return;
	case GW_ST_LINGER:
		linger_step(c, events);
		return;
	case GW_ST_SNIFF:
		sniff(c, events);
		return;
	case GW_ST_CAPTURE_DENIED:
		gw_capture_on_denied(c, events);
		return;
	case GW_ST_TLS:
		gw_tls_on_event(c, true, events);
		return;
	case GW_ST_RESOLVING:
	case GW_ST_CONNECTING:
	case GW_ST_PARENT:
	case GW_ST_DEAD:
		return;
	}
}

static void dial_next(struct gw_conn *c);

static void on_connected(struct gw_conn *c)
{
	int one = 1;

	setsockopt(c->up.w.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	gw_sockaddr_text(&c->addrs[c->addr_next - 1], c->addr_text,
			 sizeof(c->addr_text));
	snprintf(c->up_key, sizeof(c->up_key), "%s:%u", c->host.text, c->port);
	if (!c->http.per_request)
		log_allow(c);
	gw_conn_touch(c);
	switch (c->kind) {
	case GW_CONN_HTTP:
		gw_http_connected(c);
		return;
	case GW_CONN_SOCKS:
		gw_socks_connected(c);
		return;
	case GW_CONN_CAPTURE:
		gw_capture_connected(c);
		return;
	case GW_CONN_ROUTE:
		gw_tls_start_upstream(c);
		return;
	case GW_CONN_DNS_TCP:
		gw_conn_close(c);
		return;
	}
}

static const struct gw_policy *parent_of(const struct gw_conn *c)
{
	const struct gw_run *run = c->run;

	if (run->ceiling && run->ceiling->has_parent)
		return run->ceiling;
	return run->pol.has_parent ? &run->pol : NULL;
}

/*
 * Asks the parent proxy for a tunnel to the target, by name: a parent
 * filters by name, and the name is what the TLS server name and the Host
 * header will say. The name's addresses were vetted here all the same, so
 * a name that resolves to a private address is refused before any parent
 * sees it. The request is sent on its own, at once (a freshly connected
 * socket takes a few hundred bytes), and nothing queued for upstream
 * follows it until the parent has said yes: a parent must never take the
 * client's request for one addressed to itself.
 */
static void parent_request(struct gw_conn *c)
{
	char req[2 * HOST_TEXT_MAX + 64];
	bool v6 = c->host.kind == HOST_IPV6;
	int n;

	n = snprintf(req, sizeof(req),
		     "CONNECT %s%s%s:%u HTTP/1.1\r\nHost: %s%s%s:%u\r\n\r\n",
		     v6 ? "[" : "", c->host.text, v6 ? "]" : "", c->port,
		     v6 ? "[" : "", c->host.text, v6 ? "]" : "", c->port);
	if (send(c->up.w.fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		gw_conn_refuse(c, GW_REFUSE_UNREACHABLE, "parent proxy failed");
		return;
	}
	c->state = GW_ST_PARENT;
	loop_watch_set(&c->gw->loop, &c->up.w, EPOLLIN);
}

/* The parent proxy's answer: 2xx and the tunnel is ours. */
static void parent_step(struct gw_conn *c, uint32_t events)
{
	struct http_head h;
	const char *why;
	ssize_t n;
	int r;

	if (!(events & (EPOLLIN | EPOLLHUP)))
		return;
	n = buf_read_fd(&c->up_in, c->up.w.fd, GW_XFER_MAX_BYTES);
	if (n == -EAGAIN)
		return;
	r = http_parse_response(buf_head(&c->up_in), buf_len(&c->up_in),
				(struct http_slice){ "CONNECT", 7 }, &h, &why);
	if (r == HTTP_INCOMPLETE && n > 0)
		return;
	if (r <= 0 || h.status / 100 != 2) {
		char reason[96];

		snprintf(reason, sizeof(reason), "the parent proxy answered %d",
			 r > 0 ? h.status : 0);
		gw_conn_refuse(c, GW_REFUSE_UNREACHABLE, reason);
		return;
	}
	buf_consume(&c->up_in, h.head_len);
	on_connected(c);
}

int gw_sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}

static void on_up(struct loop_watch *w, uint32_t events)
{
	struct gw_conn *c = conn_of(w, up.w);
	int err;

	switch (c->state) {
	case GW_ST_PARENT:
		parent_step(c, events);
		return;
	case GW_ST_CONNECTING:
		err = gw_sock_error(w->fd);
		if (err) {
			log_debug_errno(err, "gateway: connect to %s failed",
					c->host.text);
			side_close(c->gw, &c->up);
			c->status = err;
			dial_next(c);
			return;
		}
		if (parent_of(c)) {
			parent_request(c);
			return;
		}
		on_connected(c);
		return;
	case GW_ST_TUNNEL:
		gw_tunnel_on_event(c, false, events);
		return;
	case GW_ST_TLS:
		gw_tls_on_event(c, false, events);
		return;
	case GW_ST_HTTP_HEAD:
	case GW_ST_HTTP_REQ_BODY:
	case GW_ST_HTTP_RESP:
	case GW_ST_HTTP_RESP_BODY:
		gw_http_on_up(c, events);
		return;
	default:
		return;
	}
}

/* ---- dialling ---- */

static void dial_next(struct gw_conn *c)
{
	const struct gw_policy *gp = parent_of(c);
	int last_err = c->status ? c->status : ECONNREFUSED;

	while (c->addr_next < c->n_addrs) {
		struct sockaddr_storage *ss = &c->addrs[c->addr_next++];
		const struct sockaddr_storage *dst = gp ? &gp->parent : ss;
		socklen_t len = dst->ss_family == AF_INET ?
			sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		int fd;

		gw_sockaddr_set_port(ss, c->port);
		fd = socket(dst->ss_family, SOCK_STREAM | SOCK_NONBLOCK |
			    SOCK_CLOEXEC, 0);
		if (fd < 0) {
			last_err = errno;
			continue;
		}
		if (connect(fd, (const struct sockaddr *)dst, len) < 0 &&
		    errno != EINPROGRESS) {
			last_err = errno;
			close(fd);
			continue;
		}
		c->state = GW_ST_CONNECTING;
		if (loop_watch_add(&c->gw->loop, &c->up.w, fd, EPOLLOUT,
				   on_up) < 0) {
			close(fd);
			gw_conn_close(c);
			return;
		}
		timer_set(c, &c->gw->t_connect);
		return;
	}
	gw_sockaddr_text(&c->addrs[c->n_addrs ? c->n_addrs - 1 : 0],
			 c->addr_text, sizeof(c->addr_text));
	gw_conn_refuse(c, last_err == ECONNREFUSED ? GW_REFUSE_REFUSED :
			  GW_REFUSE_UNREACHABLE, strerror(last_err));
}

static void vet_and_dial(struct gw_conn *c)
{
	const char *why;

	c->n_addrs = gw_run_vet(c->run, &c->verdict, c->addrs,
				   c->n_addrs, &why);
	if (!c->n_addrs) {
		char reason[128];

		snprintf(reason, sizeof(reason), "resolves to %s addresses only",
			 why ? why : "no");
		gw_conn_log_deny(c, "address-check", reason);
		gw_conn_refuse(c, GW_REFUSE_POLICY, reason);
		return;
	}
	c->addr_next = 0;
	c->status = 0;
	dial_next(c);
}

void gw_conn_resolved(struct gw_conn *c, struct gw_resolve_job *job);

void gw_conn_resolved(struct gw_conn *c, struct gw_resolve_job *job)
{
	c->resolving = false;
	if (c->zombie) {
		loop_defer(&c->gw->loop, &c->dead, conn_release);
		return;
	}
	if (job->err || !job->n) {
		gw_conn_refuse(c, GW_REFUSE_UNREACHABLE, "the name does not "
			       "resolve");
		return;
	}
	memcpy(c->addrs, job->addrs, job->n * sizeof(job->addrs[0]));
	c->n_addrs = job->n;
	vet_and_dial(c);
}

static void addr_from_host(const struct host *h, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (h->kind == HOST_IPV4) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_addr = h->v4;
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_addr = h->v6;
	}
}

void gw_conn_route(struct gw_conn *c)
{
	const struct gw_pin *pin;

	gw_run_decide(c->run, &c->host, c->port, &c->verdict);
	if (!c->verdict.allow) {
		gw_conn_log_deny(c, c->verdict.rule, c->verdict.reason);
		gw_conn_refuse(c, GW_REFUSE_POLICY, c->verdict.reason);
		return;
	}
	loop_watch_set(&c->gw->loop, &c->client.w, 0);
	c->state = GW_ST_RESOLVING;
	if (c->host.kind != HOST_NAME) {
		addr_from_host(&c->host, &c->addrs[0]);
		c->n_addrs = 1;
		vet_and_dial(c);
		return;
	}
	pin = gw_run_pin(c->run, &c->host);
	if (pin) {
		memcpy(c->addrs, pin->addrs, pin->n * sizeof(pin->addrs[0]));
		c->n_addrs = pin->n;
		vet_and_dial(c);
		return;
	}
	timer_set(c, &c->gw->t_connect);
	gw_resolver_submit(c->gw, c);
}

void gw_conn_refuse(struct gw_conn *c, enum gw_refusal why,
		    const char *reason)
{
	if (c->state == GW_ST_DEAD)
		return;
	if (c->client.ssl && c->client.tls_up) {
		/* terminated: the client speaks HTTP inside TLS now */
		gw_http_refuse(c, why, reason);
		return;
	}
	switch (c->kind) {
	case GW_CONN_HTTP:
	case GW_CONN_ROUTE:
		gw_http_refuse(c, why, reason);
		return;
	case GW_CONN_SOCKS:
		gw_socks_refuse(c, why);
		return;
	case GW_CONN_CAPTURE:
		if (c->http.fixed_target) {
			gw_http_refuse(c, why, reason);
			return;
		}
		if (c->state != GW_ST_TUNNEL && !buf_len(&c->in)) {
			side_close(c->gw, &c->up);
			gw_capture_refuse(c, why, reason);
			return;
		}
		break;
	case GW_CONN_DNS_TCP:
		break;
	}
	if (why >= GW_REFUSE_UNREACHABLE)
		c->status = 502;
	gw_conn_close(c);
}

/* ---- accepting ---- */

static const char *proto_of(uint16_t kind)
{
	switch (kind) {
	case HANDOFF_HTTP:
		return "http";
	case HANDOFF_SOCKS:
		return "socks5";
	case HANDOFF_CAPTURE:
		return "capture";
	case HANDOFF_DNS_TCP:
		return "dns";
	default:
		return "route";
	}
}

static struct gw_conn *conn_new(struct gw_listener *l, int fd,
				const struct sockaddr_storage *peer)
{
	struct gw *gw = l->run->gw;
	struct gw_conn *c = xcalloc(1, sizeof(*c));
	int one = 1;

	c->gw = gw;
	c->run = l->run;
	l->run->refs++;
	c->client.w.fd = fd;
	c->up.w.fd = -1;
	c->c2u.pipe[0] = c->c2u.pipe[1] = -1;
	c->u2c.pipe[0] = c->u2c.pipe[1] = -1;
	c->start_ms = loop_now_ms();
	c->proto = proto_of(l->kind);
	gw_sockaddr_text(peer, c->client_text, sizeof(c->client_text));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->next = gw->conns;
	if (gw->conns)
		gw->conns->prev = c;
	gw->conns = c;
	gw->n_conns++;
	return c;
}

static void conn_start(struct gw_conn *c, struct gw_listener *l)
{
	uint32_t ev = EPOLLIN;

	switch (l->kind) {
	case HANDOFF_HTTP:
		c->kind = GW_CONN_HTTP;
		c->state = GW_ST_HTTP_HEAD;
		break;
	case HANDOFF_SOCKS:
		c->kind = GW_CONN_SOCKS;
		c->state = GW_ST_SOCKS_HELLO;
		break;
	case HANDOFF_DNS_TCP:
		c->kind = GW_CONN_DNS_TCP;
		c->state = GW_ST_DNS;
		break;
	case GW_LISTEN_TCP:
		c->kind = GW_CONN_HTTP;
		c->state = GW_ST_SNIFF;
		c->need_auth = c->gw->n_tokens > 0;
		break;
	case HANDOFF_ROUTE:
		/* the upstream is dialled at once; the request waits */
		c->kind = GW_CONN_ROUTE;
		c->state = GW_ST_RESOLVING;
		c->route = gw_creds_route(l->run, l->index);
		ev = 0;
		break;
	default:
		c->kind = GW_CONN_CAPTURE;
		c->state = GW_ST_RESOLVING;
		ev = 0;
		break;
	}
	if (loop_watch_add(&c->gw->loop, &c->client.w, c->client.w.fd, ev,
			   on_client) < 0) {
		gw_conn_close(c);
		return;
	}
	timer_set(c, &c->gw->t_head);
	if (c->kind == GW_CONN_CAPTURE && gw_capture_target(c))
		gw_conn_route(c);
	if (c->kind == GW_CONN_ROUTE) {
		if (!c->route) {
			gw_conn_close(c);
			return;
		}
		c->host = c->route->host;
		c->port = c->route->port;
		c->http.per_request = true;
		gw_conn_route(c);
	}
}

void gw_conn_accept(struct gw_listener *l)
{
	struct gw *gw = l->run->gw;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int fd;

		if (gw->n_conns >= GW_CONNS_MAX) {
			if (listeners_pause(gw, true))
				log_warn("gateway: %d connections open; not "
					 "accepting more until some close",
					 GW_CONNS_MAX);
			return;
		}
		fd = accept4(l->w.fd, (struct sockaddr *)&peer, &len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE ||
			       errno == ENOBUFS || errno == ENOMEM)) {
			/* the listener stays readable: watching it now would
			 * spin; wait for a close or a little time */
			int err = errno;

			if (listeners_pause(gw, true)) {
				/* said at most every ACCEPT_WARN_MS */
				int64_t now = loop_now_ms();

				if (!gw->accept_warned_ms ||
				    now - gw->accept_warned_ms >= ACCEPT_WARN_MS) {
					log_warn_errno(err, "gateway: cannot "
						       "accept; pausing");
					gw->accept_warned_ms = now;
				}
				loop_timer_arm(&gw->t_accept, &gw->accept_retry,
					       on_accept_retry);
			}
			return;
		}
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn_errno(errno, "gateway: accept failed");
			return;
		}
		conn_start(conn_new(l, fd, &peer), l);
	}
}
