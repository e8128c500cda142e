/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tunnels: bytes moved both ways between the sandbox's client and the
 * upstream server without being read, by splice(2) through a pipe. The
 * pipes come from a pool and are held only while bytes sit in them, so
 * an idle tunnel costs two sockets and nothing else, and ten thousand
 * tunnels need not hold forty thousand pipe descriptors.
 *
 * The first bytes from the client are the one exception: before they go
 * upstream they are read and inspected, so that a TLS ClientHello whose
 * server name disagrees with the target is refused, and plain HTTP goes
 * to the HTTP engine, where every request's Host is checked.
 *
 * Backpressure: a direction reads from its source only when its pipe (and
 * any queued prefix) is empty, and asks for POLLOUT on its destination
 * only while bytes wait; nothing is buffered beyond one pipe.
 */
#include "config.h"

#include "gateway/gw.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "gateway/tls-hello.h"

/* Bytes moved per splice call, and calls per event (fairness). */
#define TUNNEL_SPLICE_BYTES 65536
#define TUNNEL_ROUNDS_PER_EVENT 16
/* Free pipes kept for reuse. */
#define PIPE_POOL_KEEP 64
/* The first flight is inspected within this many bytes. */
#define INSPECT_MAX_BYTES (TLS_HELLO_MAX_BYTES + 5 * 4)
/* Longest method token that still looks like HTTP. */
#define INSPECT_METHOD_MAX 16

struct gw_pipe_pool {
	int (*free)[2];
	size_t n;
};

struct gw_pipe_pool *gw_pipes_new(void)
{
	struct gw_pipe_pool *pool = xcalloc(1, sizeof(*pool));

	pool->free = xcalloc(PIPE_POOL_KEEP, sizeof(*pool->free));
	return pool;
}

void gw_pipes_free(struct gw_pipe_pool *pool)
{
	if (!pool)
		return;
	for (size_t i = 0; i < pool->n; i++) {
		close(pool->free[i][0]);
		close(pool->free[i][1]);
	}
	free(pool->free);
	free(pool);
}

static int pipe_take(struct gw_pipe_pool *pool, int p[2])
{
	if (pool->n) {
		pool->n--;
		p[0] = pool->free[pool->n][0];
		p[1] = pool->free[pool->n][1];
		return 0;
	}
	return pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0 ? -errno : 0;
}

/* Returns an empty pipe to the pool, or closes it. */
static void pipe_give(struct gw_pipe_pool *pool, int p[2])
{
	if (p[0] < 0)
		return;
	if (pool->n < PIPE_POOL_KEEP) {
		pool->free[pool->n][0] = p[0];
		pool->free[pool->n][1] = p[1];
		pool->n++;
	} else {
		close(p[0]);
		close(p[1]);
	}
	p[0] = p[1] = -1;
}

void gw_tunnel_release(struct gw_conn *c)
{
	/* a pipe that still holds bytes cannot be reused */
	struct gw_tunnel_dir *dirs[] = { &c->c2u, &c->u2c };

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		if (dirs[i]->pipe[0] < 0)
			continue;
		if (dirs[i]->in_pipe) {
			close(dirs[i]->pipe[0]);
			close(dirs[i]->pipe[1]);
			dirs[i]->pipe[0] = dirs[i]->pipe[1] = -1;
		} else {
			pipe_give(c->gw->pipes, dirs[i]->pipe);
		}
	}
}

enum pump_result {
	PUMP_OK,
	PUMP_ERROR, /* the connection must close */
};

/* Sends what is queued in prefix before any spliced byte. */
static enum pump_result pump_prefix(struct gw_tunnel_dir *d, struct buf *prefix,
				    int dst, uint64_t *bytes)
{
	while (buf_len(prefix)) {
		ssize_t n = buf_write_fd(prefix, dst);

		if (n == -EAGAIN) {
			d->blocked = true;
			return PUMP_OK;
		}
		if (n < 0)
			return PUMP_ERROR;
		*bytes += (uint64_t)n;
	}
	return PUMP_OK;
}

/* The source ended and all it sent went on: pass the end along. */
static void dir_finish(struct gw_tunnel_dir *d, struct gw_side *dst)
{
	if (!d->done && shutdown(dst->w.fd, SHUT_WR) == 0)
		dst->shut = true;
	d->done = true;
}

static enum pump_result pump(struct gw_conn *c, struct gw_tunnel_dir *d,
			     struct gw_side *src, struct gw_side *dst,
			     struct buf *prefix, uint64_t *bytes)
{
	d->blocked = false;
	if (pump_prefix(d, prefix, dst->w.fd, bytes) != PUMP_OK)
		return PUMP_ERROR;
	if (d->blocked)
		return PUMP_OK;

	for (int round = 0; round < TUNNEL_ROUNDS_PER_EVENT; round++) {
		ssize_t n;

		if (d->in_pipe) {
			n = splice(d->pipe[0], NULL, dst->w.fd, NULL, d->in_pipe,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n < 0 && errno == EAGAIN) {
				d->blocked = true;
				return PUMP_OK;
			}
			if (n <= 0) {
				if (n < 0)
					gw_conn_side_failed(c, dst, errno);
				return PUMP_ERROR;
			}
			d->in_pipe -= (size_t)n;
			*bytes += (uint64_t)n;
			if (!d->in_pipe)
				pipe_give(c->gw->pipes, d->pipe);
			continue;
		}
		if (src->eof)
			break;
		if (d->pipe[0] < 0 && pipe_take(c->gw->pipes, d->pipe) < 0) {
			log_warn_errno(errno, "gateway: no pipe for a tunnel");
			c->error = "no pipe for the tunnel";
			return PUMP_ERROR;
		}
		n = splice(src->w.fd, NULL, d->pipe[1], NULL, TUNNEL_SPLICE_BYTES,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0 && errno == EAGAIN) {
			pipe_give(c->gw->pipes, d->pipe);
			return PUMP_OK;
		}
		if (n < 0) {
			gw_conn_side_failed(c, src, errno);
			return PUMP_ERROR;
		}
		if (n == 0) {
			/* an empty pipe goes back at once: a tunnel that
			 * ended one way must not hold one */
			src->eof = true;
			pipe_give(c->gw->pipes, d->pipe);
			break;
		}
		d->in_pipe += (size_t)n;
	}
	/* checked after the rounds too: an end read in the last round
	 * would otherwise wait, watched by nothing, for the idle timeout */
	if (src->eof && !d->in_pipe)
		dir_finish(d, dst);
	return PUMP_OK;
}

/* Interest of both sides from the two directions' needs. */
static void tunnel_interest(struct gw_conn *c)
{
	uint32_t ce = 0, ue = 0;

	if (!c->client.eof && !c->c2u.in_pipe && !buf_len(&c->in) &&
	    !c->c2u.done)
		ce |= EPOLLIN;
	if (c->inspecting && !c->client.eof &&
	    buf_len(&c->in) < INSPECT_MAX_BYTES)
		ce |= EPOLLIN;
	if (!c->up.eof && !c->u2c.in_pipe && !buf_len(&c->up_in) &&
	    !c->u2c.done)
		ue |= EPOLLIN;
	if (!c->inspecting && (c->c2u.in_pipe || buf_len(&c->in)))
		ue |= EPOLLOUT;
	if (c->u2c.in_pipe || buf_len(&c->up_in))
		ce |= EPOLLOUT;
	loop_watch_set(&c->gw->loop, &c->client.w, ce);
	loop_watch_set(&c->gw->loop, &c->up.w, ue);
}

bool gw_tunnel_looks_like_http(const char *p, size_t len, bool *more)
{
	size_t i = 0;

	*more = false;
	while (i < len && i < INSPECT_METHOD_MAX && p[i] >= 'A' && p[i] <= 'Z')
		i++;
	if (i == len && i < INSPECT_METHOD_MAX) {
		*more = true;
		return false;
	}
	return i >= 3 && i < len && p[i] == ' ';
}

enum inspect_result {
	INSPECT_MORE,
	INSPECT_PASS,  /* opaque or a matching ClientHello: tunnel it */
	INSPECT_HTTP,  /* plain HTTP: the HTTP engine takes over */
	INSPECT_TLS,   /* a ClientHello to a host whose requests are checked */
	INSPECT_DENY,
};

static enum inspect_result inspect_tls(struct gw_conn *c, const char **why)
{
	struct tls_hello hello;
	struct host sni;
	int r = tls_hello_parse((const uint8_t *)buf_head(&c->in),
				buf_len(&c->in), &hello, NULL, why);

	if (r == TLS_HELLO_INCOMPLETE)
		return buf_len(&c->in) >= INSPECT_MAX_BYTES ? INSPECT_DENY :
							      INSPECT_MORE;
	if (r < 0)
		return INSPECT_DENY;
	if (hello.has_sni) {
		snprintf(c->sni, sizeof(c->sni), "%s", hello.sni);
		if (host_canon(hello.sni, strlen(hello.sni), &sni, why) < 0)
			return INSPECT_DENY;
		if (!streq(sni.text, c->host.text)) {
			*why = "the TLS server name does not match the target";
			return INSPECT_DENY;
		}
	}
	return gw_creds_need_tls(c->run, &c->host, c->port) ? INSPECT_TLS :
							      INSPECT_PASS;
}

static enum inspect_result inspect(struct gw_conn *c, const char **why)
{
	const char *p = buf_head(&c->in);
	size_t len = buf_len(&c->in);
	bool more;

	*why = NULL;
	if (len == 0)
		return INSPECT_MORE;
	if ((unsigned char)p[0] == 0x16)
		return inspect_tls(c, why);
	if (gw_tunnel_looks_like_http(p, len, &more))
		return INSPECT_HTTP;
	if (!more && gw_creds_need_tls(c->run, &c->host, c->port)) {
		*why = "requests to this host are checked: only HTTP or TLS";
		return INSPECT_DENY;
	}
	return more ? INSPECT_MORE : INSPECT_PASS;
}

/*
 * Acts on a verdict that ends the inspection; false when the tunnel is
 * no longer this code's (handed over, or closed).
 */
static bool inspect_done(struct gw_conn *c, enum inspect_result r,
			 const char *why)
{
	c->inspecting = false;
	switch (r) {
	case INSPECT_MORE:
	case INSPECT_PASS:
		return true;
	case INSPECT_HTTP:
		gw_http_begin_fixed(c);
		return false;
	case INSPECT_TLS:
		gw_tls_start(c);
		return false;
	case INSPECT_DENY:
		break;
	}
	gw_conn_log_deny(c, "sni-mismatch", why ? why : "malformed first bytes");
	gw_conn_close(c);
	return false;
}

/* Reads client bytes for inspection; false when the connection ended. */
static bool inspect_step(struct gw_conn *c)
{
	enum inspect_result r;
	const char *why;
	ssize_t n = buf_read_fd(&c->in, c->client.w.fd, INSPECT_MAX_BYTES);

	if (n == -EAGAIN)
		return true;
	if (n < 0 && n != -ENOBUFS) {
		gw_conn_close(c);
		return false;
	}
	if (n == 0)
		c->client.eof = true;
	r = inspect(c, &why);
	if (r == INSPECT_MORE) {
		if (c->client.eof) /* closed before saying anything useful */
			c->inspecting = false;
		return true;
	}
	return inspect_done(c, r, why);
}

/*
 * A tunnel moves its bytes through pipes; the queues it used on the way
 * (the request head, the 200, the first flight) are given back once
 * empty, so that an open tunnel costs little more than its struct.
 */
static void tunnel_trim(struct gw_conn *c)
{
	struct buf *queues[] = { &c->in, &c->out, &c->up_in, &c->up_out };

	for (size_t i = 0; i < ARRAY_SIZE(queues); i++)
		if (queues[i]->data && !buf_len(queues[i]))
			buf_free(queues[i], false);
}

/* Activity seen: a tunnel closed one way has the shorter limit. */
static void tunnel_touch(struct gw_conn *c)
{
	if (c->c2u.done || c->u2c.done)
		gw_conn_touch_half_closed(c);
	else
		gw_conn_touch(c);
}

static void tunnel_step(struct gw_conn *c)
{
	if (pump(c, &c->u2c, &c->up, &c->client, &c->up_in, &c->bytes_down) !=
	    PUMP_OK) {
		gw_conn_close(c);
		return;
	}
	if (!c->inspecting &&
	    pump(c, &c->c2u, &c->client, &c->up, &c->in, &c->bytes_up) != PUMP_OK) {
		gw_conn_close(c);
		return;
	}
	if (c->c2u.done && c->u2c.done) {
		gw_conn_close(c);
		return;
	}
	tunnel_touch(c); /* a direction may have ended just now */
	tunnel_trim(c);
	tunnel_interest(c);
}

void gw_tunnel_on_event(struct gw_conn *c, bool client_side, uint32_t ev)
{
	tunnel_touch(c);
	if (ev & EPOLLERR) {
		struct gw_side *s = client_side ? &c->client : &c->up;
		int err = gw_sock_error(s->w.fd);

		gw_conn_side_failed(c, s, err ? err : EIO);
		gw_conn_close(c);
		return;
	}
	if (client_side && c->inspecting && (ev & (EPOLLIN | EPOLLHUP)) &&
	    !inspect_step(c))
		return;
	tunnel_step(c);
}

void gw_tunnel_start(struct gw_conn *c, bool inspect_first)
{
	c->state = GW_ST_TUNNEL;
	c->inspecting = inspect_first;
	c->c2u = c->u2c = (struct gw_tunnel_dir){ .pipe = { -1, -1 } };
	gw_conn_touch(c);
	/* bytes that arrived with the request are inspected at once */
	if (c->inspecting && buf_len(&c->in)) {
		const char *why;
		enum inspect_result r = inspect(c, &why);

		if (r != INSPECT_MORE && !inspect_done(c, r, why))
			return;
	}
	tunnel_step(c);
}
