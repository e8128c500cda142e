/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TLS termination, only for the connections that need it: a credential
 * bound to the host, or a request rule for it. The gateway then speaks TLS
 * twice: as the server the sandbox asked for, with a leaf certificate
 * that the run's CA issues for that name, and as a client of the real
 * server, whose certificate is always verified (the system's store and
 * the CA files the policy names) and whose name must match. In between,
 * the HTTP engine sees plain requests and can check and rewrite them.
 *
 * OpenSSL works on the connection's own non-blocking sockets through a
 * small BIO that first hands out the bytes read while the ClientHello was
 * inspected, so the engine and the tunnel code see one kind of side with
 * or without TLS (gw_side_read and gw_side_send). Only HTTP/1.1 is
 * offered on either side.
 */
#include "config.h"

#include "gateway/gw.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "common/util.h"
#include "policy/policy.h"
#include "tls/ca.h"

struct gw_tls {
	SSL_CTX *server;
	SSL_CTX *client;
	struct ca *ca;
};

static const unsigned char alpn_http11[] = "\x08http/1.1";

/* ---- a BIO over a side's socket, after its prefix ---- */

static BIO_METHOD *side_bio_method;

static int side_bio_write(BIO *b, const char *p, size_t n, size_t *done)
{
	struct gw_side *s = BIO_get_data(b);
	ssize_t r = send(s->w.fd, p, n, MSG_NOSIGNAL);

	BIO_clear_retry_flags(b);
	if (r < 0) {
		if (errno == EAGAIN)
			BIO_set_retry_write(b);
		return 0;
	}
	*done = (size_t)r;
	return 1;
}

static int side_bio_read(BIO *b, char *p, size_t n, size_t *done)
{
	struct gw_side *s = BIO_get_data(b);
	ssize_t r;

	BIO_clear_retry_flags(b);
	if (s->prefix && buf_len(s->prefix)) {
		size_t take = buf_len(s->prefix) < n ? buf_len(s->prefix) : n;

		memcpy(p, buf_head(s->prefix), take);
		buf_consume(s->prefix, take);
		*done = take;
		return 1;
	}
	r = recv(s->w.fd, p, n, 0);
	if (r < 0) {
		if (errno == EAGAIN)
			BIO_set_retry_read(b);
		return 0;
	}
	*done = (size_t)r;
	return r > 0;
}

static long side_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int side_bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO *side_bio(struct gw_side *s)
{
	BIO *b;

	if (!side_bio_method) {
		side_bio_method = BIO_meth_new(BIO_get_new_index() |
					       BIO_TYPE_SOURCE_SINK,
					       "airlock-side");
		if (!side_bio_method ||
		    !BIO_meth_set_write_ex(side_bio_method, side_bio_write) ||
		    !BIO_meth_set_read_ex(side_bio_method, side_bio_read) ||
		    !BIO_meth_set_ctrl(side_bio_method, side_bio_ctrl) ||
		    !BIO_meth_set_create(side_bio_method, side_bio_create))
			return NULL;
	}
	b = BIO_new(side_bio_method);
	if (b)
		BIO_set_data(b, s);
	return b;
}

/* ---- contexts ---- */

static int select_alpn(SSL *ssl, const unsigned char **out,
		       unsigned char *outlen, const unsigned char *in,
		       unsigned int inlen, void *arg)
{
	unsigned char *sel;

	if (SSL_select_next_proto(&sel, outlen, alpn_http11,
				  sizeof(alpn_http11) - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK; /* HTTP/1.1 without ALPN */
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *ctx_new(const SSL_METHOD *m)
{
	SSL_CTX *ctx = SSL_CTX_new(m);

	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF |
				 SSL_OP_NO_RENEGOTIATION |
				 SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_read_ahead(ctx, 1);
	return ctx;
}

static SSL_CTX *client_ctx(const struct policy *p)
{
	SSL_CTX *ctx = ctx_new(TLS_client_method());

	if (!ctx)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_set_default_verify_paths(ctx) != 1 ||
	    SSL_CTX_set_alpn_protos(ctx, alpn_http11,
				    sizeof(alpn_http11) - 1) != 0)
		goto fail;
	for (size_t i = 0; i < p->upstream_ca.len; i++) {
		if (SSL_CTX_load_verify_locations(ctx, p->upstream_ca.items[i],
						  NULL) != 1) {
			tls_fail("gateway: %s", p->upstream_ca.items[i]);
			goto fail;
		}
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

struct gw_tls *gw_tls_new(const struct policy *p, const char *ca_cert,
			  const char *ca_key)
{
	struct gw_tls *t = xcalloc(1, sizeof(*t));

	t->server = ctx_new(TLS_server_method());
	if (t->server)
		SSL_CTX_set_alpn_select_cb(t->server, select_alpn, NULL);
	t->client = client_ctx(p);
	if (!t->server || !t->client) {
		tls_fail("gateway: cannot set up TLS");
		gw_tls_free(t);
		return NULL;
	}
	if (ca_cert && ca_key) {
		t->ca = ca_load(ca_cert, ca_key);
		if (!t->ca) {
			gw_tls_free(t);
			return NULL;
		}
	}
	return t;
}

void gw_tls_free(struct gw_tls *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->server);
	SSL_CTX_free(t->client);
	if (t->ca)
		ca_free(t->ca);
	free(t);
}

/* ---- sides ---- */

static SSL *side_ssl(struct gw_side *s, SSL_CTX *ctx)
{
	SSL *ssl = SSL_new(ctx);
	BIO *b;

	if (!ssl)
		return NULL;
	b = side_bio(s);
	if (!b) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_bio(ssl, b, b);
	s->ssl = ssl;
	s->tls_up = false;
	s->want = 0;
	return ssl;
}

/*
 * Maps the outcome of an SSL call: the events it waits for (into
 * s->want), -EAGAIN for those, 0 for a clean end, -EPROTO otherwise.
 */
static int side_result(struct gw_side *s, int ret)
{
	switch (SSL_get_error(s->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		s->want = EPOLLIN;
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		s->want = EPOLLOUT;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		return errno ? -errno : 0;
	default:
		return -EPROTO;
	}
}

ssize_t gw_side_read(struct gw_side *s, struct buf *b, size_t max)
{
	size_t room, got = 0;
	char *p;
	int r;

	if (!s->ssl)
		return buf_read_fd(b, s->w.fd, max);
	p = buf_space(b, 16384, max, &room);
	if (!p)
		return -ENOBUFS;
	s->want = 0;
	r = SSL_read_ex(s->ssl, p, room, &got);
	if (r == 1) {
		buf_commit(b, got);
		return (ssize_t)got;
	}
	r = side_result(s, r);
	ERR_clear_error();
	return r;
}

ssize_t gw_side_send(struct gw_side *s, const void *p, size_t n)
{
	size_t done = 0;
	ssize_t r;
	int ret;

	if (!s->ssl) {
		r = send(s->w.fd, p, n, MSG_NOSIGNAL);
		return r < 0 ? -errno : r;
	}
	if (n == 0)
		return 0;
	s->want = 0;
	ret = SSL_write_ex(s->ssl, p, n, &done);
	if (ret == 1)
		return (ssize_t)done;
	r = side_result(s, ret);
	ERR_clear_error();
	return r == 0 ? -EPIPE : r;
}

bool gw_side_pending(const struct gw_side *s)
{
	return s->ssl && SSL_has_pending(s->ssl);
}

void gw_side_tls_end(struct gw_side *s, bool notify)
{
	if (!s->ssl)
		return;
	if (notify && s->tls_up && s->w.fd >= 0)
		SSL_shutdown(s->ssl);
	SSL_free(s->ssl);
	ERR_clear_error();
	s->ssl = NULL;
	s->prefix = NULL;
	s->tls_up = false;
	s->want = 0;
}

/* ---- handshakes ---- */

/* The name the upstream certificate must carry: c->host. */
static bool upstream_setup(struct gw_conn *c)
{
	struct gw_tls *t = c->run->tls;
	SSL *ssl = side_ssl(&c->up, t->client);
	X509_VERIFY_PARAM *vp;

	if (!ssl)
		return false;
	SSL_set_connect_state(ssl);
	vp = SSL_get0_param(ssl);
	if (c->host.kind == HOST_NAME) {
		if (SSL_set_tlsext_host_name(ssl, c->host.text) != 1 ||
		    X509_VERIFY_PARAM_set1_host(vp, c->host.text, 0) != 1)
			return false;
	} else if (X509_VERIFY_PARAM_set1_ip_asc(vp, c->host.text) != 1) {
		return false;
	}
	return true;
}

static bool client_setup(struct gw_conn *c)
{
	struct gw_tls *t = c->run->tls;
	X509 *cert;
	EVP_PKEY *key;
	SSL *ssl;

	if (!t->ca || ca_leaf(t->ca, c->host.text, &cert, &key) < 0)
		return false;
	ssl = side_ssl(&c->client, t->server);
	if (!ssl)
		return false;
	SSL_set_accept_state(ssl);
	c->client.prefix = &c->in;
	return SSL_use_certificate(ssl, cert) == 1 &&
	       SSL_use_PrivateKey(ssl, key) == 1;
}

static void tls_interest(struct gw_conn *c)
{
	if (c->client.ssl && !c->client.tls_up)
		loop_watch_set(&c->gw->loop, &c->client.w, c->client.want);
	else
		loop_watch_set(&c->gw->loop, &c->client.w, 0);
	if (c->up.ssl && !c->up.tls_up)
		loop_watch_set(&c->gw->loop, &c->up.w, c->up.want);
	else
		loop_watch_set(&c->gw->loop, &c->up.w, 0);
}

/* Advances one side's handshake: 1 done, 0 waiting, -1 failed. */
static int handshake(struct gw_side *s)
{
	int r;

	if (!s->ssl || s->tls_up)
		return 1;
	s->want = 0;
	r = SSL_do_handshake(s->ssl);
	if (r == 1) {
		s->tls_up = true;
		return 1;
	}
	r = side_result(s, r);
	return r == -EAGAIN ? 0 : -1;
}

/* Why the upstream handshake failed, for the refusal and the audit. */
static void upstream_why(struct gw_conn *c)
{
	long v = SSL_get_verify_result(c->up.ssl);
	unsigned long e = ERR_peek_error();
	char text[128];

	if (v != X509_V_OK) {
		snprintf(c->tls_error, sizeof(c->tls_error),
			 "the server's certificate is not trusted: %s",
			 X509_verify_cert_error_string(v));
	} else {
		ERR_error_string_n(e, text, sizeof(text));
		snprintf(c->tls_error, sizeof(c->tls_error),
			 "TLS with the server failed%s%s", e ? ": " : "",
			 e ? text : "");
	}
	ERR_clear_error();
}

static void tls_step(struct gw_conn *c)
{
	int cs = handshake(&c->client), us;

	if (cs < 0) {
		log_debug("gateway: %s: TLS with the client failed",
			  c->host.text);
		ERR_clear_error();
		gw_conn_log_close(c, "TLS handshake with the client failed");
		c->logged_open = false;
		gw_conn_close(c);
		return;
	}
	us = c->tls_error[0] ? -1 : handshake(&c->up);
	if (us < 0 && !c->tls_error[0])
		upstream_why(c);
	if (us < 0 && cs == 1) {
		gw_conn_log_deny(c, "upstream-tls", c->tls_error);
		gw_side_tls_end(&c->up, false);
		gw_conn_refuse(c, GW_REFUSE_UNREACHABLE, c->tls_error);
		return;
	}
	if (cs == 1 && us == 1) {
		c->client.prefix = NULL;
		gw_http_begin_fixed(c);
		return;
	}
	tls_interest(c);
}

void gw_tls_on_event(struct gw_conn *c, bool client_side, uint32_t events)
{
	gw_conn_touch(c);
	if ((events & EPOLLERR) && (client_side || !c->tls_error[0])) {
		if (client_side) {
			gw_conn_close(c);
			return;
		}
		snprintf(c->tls_error, sizeof(c->tls_error),
			 "the server reset the connection");
	}
	tls_step(c);
}

void gw_tls_start(struct gw_conn *c)
{
	static const char *const fail = "cannot set up TLS termination";

	/* a CONNECT's 200 goes out in the clear before any TLS byte */
	while (buf_len(&c->up_in)) {
		if (buf_write_fd(&c->up_in, c->client.w.fd) < 0) {
			gw_conn_close(c);
			return;
		}
	}
	gw_tunnel_release(c);
	c->state = GW_ST_TLS;
	if (!client_setup(c) || !upstream_setup(c)) {
		tls_fail("gateway: %s", fail);
		gw_conn_log_deny(c, "tls", fail);
		gw_conn_close(c);
		return;
	}
	tls_step(c);
}

void gw_tls_start_upstream(struct gw_conn *c)
{
	static const char *const fail = "cannot set up TLS to the server";

	c->state = GW_ST_TLS;
	if (!upstream_setup(c)) {
		tls_fail("gateway: %s", fail);
		gw_conn_refuse(c, GW_REFUSE_UNREACHABLE, fail);
		return;
	}
	tls_step(c);
}
