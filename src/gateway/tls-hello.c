/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ClientHello of a TLS connection from the sandbox (RFC 8446 section
 * 4.1.2, and RFC 5246 for the older versions that share its layout), read
 * for its server_name (RFC 6066) and ALPN (RFC 7301) extensions before
 * any byte is forwarded. The bytes are the sandbox's: every length is
 * checked against its container, and the message is walked in place when
 * one record holds it, or gathered into a bounded local buffer when the
 * client split it over several records.
 */
#include "config.h"

#include "gateway/tls-hello.h"

#include <string.h>

#define TLS_CONTENT_HANDSHAKE 22
#define TLS_HANDSHAKE_CLIENT_HELLO 1
#define TLS_RECORD_HEADER_BYTES 5
#define TLS_HANDSHAKE_HEADER_BYTES 4
/* The largest plaintext fragment (RFC 8446 section 5.1). */
#define TLS_RECORD_MAX_BYTES 16384
#define TLS_VERSION_MIN 0x0301 /* TLS 1.0 */
#define TLS_VERSION_MAX 0x0303 /* TLS 1.2, also the record version of 1.3 */
#define TLS_RANDOM_BYTES 32
#define TLS_SESSION_ID_MAX_BYTES 32

#define TLS_EXT_SERVER_NAME 0
#define TLS_EXT_ALPN 16
#define TLS_SNI_HOST_NAME 0
#define TLS_SNI_MAX_BYTES 255

/* A bounded reader over bytes whose every length must fit its container. */
struct reader {
	const uint8_t *p;
	size_t len;
};

static int hello_fail(const char **why, int err, const char *text)
{
	if (why)
		*why = text;
	return err;
}

static size_t get16(const uint8_t *p)
{
	return (size_t)p[0] << 8 | p[1];
}

static size_t get24(const uint8_t *p)
{
	return (size_t)p[0] << 16 | (size_t)p[1] << 8 | p[2];
}

static bool read_bytes(struct reader *r, size_t n, struct reader *out)
{
	if (r->len < n)
		return false;
	*out = (struct reader){ r->p, n };
	r->p += n;
	r->len -= n;
	return true;
}

/* A vector with a 1- or 2-byte length prefix, of min_len bytes or more. */
static bool read_vector(struct reader *r, size_t prefix_bytes, size_t min_len,
			struct reader *out)
{
	struct reader prefix;
	size_t n;

	if (!read_bytes(r, prefix_bytes, &prefix))
		return false;
	n = prefix_bytes == 1 ? prefix.p[0] : get16(prefix.p);
	return n >= min_len && read_bytes(r, n, out);
}

static bool all_visible(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return false;
	return true;
}

/*
 * server_name_list with exactly one host_name entry. A space counts as
 * not printable here too: no host name holds one.
 */
static int hello_sni(struct reader ext, struct tls_hello *h, const char **why)
{
	struct reader list, type, name;

	if (h->has_sni)
		return hello_fail(why, TLS_HELLO_ERR_MALFORMED,
				  "two server_name extensions");
	if (!read_vector(&ext, 2, 1, &list) || ext.len != 0)
		return hello_fail(why, TLS_HELLO_ERR_MALFORMED,
				  "server_name list overruns its extension");
	if (!read_bytes(&list, 1, &type) || type.p[0] != TLS_SNI_HOST_NAME)
		return hello_fail(why, TLS_HELLO_ERR_MALFORMED,
				  "server_name entry is not a host_name");
	if (!read_vector(&list, 2, 0, &name))
		return hello_fail(why, TLS_HELLO_ERR_MALFORMED,
				  "host_name overruns its list");
	if (list.len != 0)
		return hello_fail(why, TLS_HELLO_ERR_MALFORMED,
				  "more than one server_name entry");
	if (name.len == 0 || name.len > TLS_SNI_MAX_BYTES)
		return hello_fail(why, TLS_HELLO_ERR_MALFORMED,
				  "host_name is empty or over 255 bytes");
	if (!all_visible(name.p, name.len))
		return hello_fail(why, TLS_HELLO_ERR_MALFORMED,
				  "host_name is not printable ASCII");

	memcpy(h->sni, name.p, name.len);
	h->sni[name.len] = '\0';
	h->has_sni = true;
	return 0;
}

/*
 * Names that do not fit, or are not printable (GREASE values, RFC 8701),
 * are passed over and noted in alpn_truncated: they are legal, and a
 * client may send them.
 */
static void hello_alpn_keep(struct reader name, struct tls_hello *h)
{
	if (h->n_alpn == TLS_HELLO_ALPN_MAX || name.len >= sizeof(h->alpn[0]) ||
	    !all_visible(name.p, name.len)) {
		h->alpn_truncated = true;
		return;
	}
	memcpy(h->alpn[h->n_alpn], name.p, name.len);
	h->alpn[h->n_alpn][name.len] = '\0';
	h->n_alpn++;
}

static int hello_alpn(struct reader ext, struct tls_hello *h, const char **why)
{
	struct reader list, name;

	if (!read_vector(&ext, 2, 2, &list) || ext.len != 0)
		return hello_fail(why, TLS_HELLO_ERR_MALFORMED,
				  "ALPN list overruns its extension");
	while (list.len > 0) {
		if (!read_vector(&list, 1, 1, &name))
			return hello_fail(why, TLS_HELLO_ERR_MALFORMED,
					  "ALPN name is empty or overruns its "
					  "list");
		hello_alpn_keep(name, h);
	}
	return 0;
}

/* Each type at most once (RFC 8446 section 4.2), checked in one pass. */
static int hello_extensions(struct reader exts, struct tls_hello *h,
			    const char **why)
{
	uint64_t seen[65536 / 64] = { 0 };

	while (exts.len > 0) {
		struct reader head, body;
		size_t type;
		int r = 0;

		if (!read_bytes(&exts, 2, &head) ||
		    !read_vector(&exts, 2, 0, &body))
			return hello_fail(why, TLS_HELLO_ERR_MALFORMED,
					  "extension overruns the list");
		type = get16(head.p);
		if (seen[type / 64] & (uint64_t)1 << (type % 64))
			return hello_fail(why, TLS_HELLO_ERR_MALFORMED,
					  "extension sent twice");
		seen[type / 64] |= (uint64_t)1 << (type % 64);
		if (type == TLS_EXT_SERVER_NAME)
			r = hello_sni(body, h, why);
		else if (type == TLS_EXT_ALPN)
			r = hello_alpn(body, h, why);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The body of a ClientHello, after its handshake header. */
static int hello_body(struct reader m, struct tls_hello *h, const char **why)
{
	struct reader version, skip, exts;

	if (!read_bytes(&m, 2, &version))
		return hello_fail(why, TLS_HELLO_ERR_MALFORMED,
				  "ClientHello too short");
	h->legacy_version = (uint16_t)get16(version.p);
	if (h->legacy_version < TLS_VERSION_MIN)
		return hello_fail(why, TLS_HELLO_ERR_MALFORMED,
				  "ClientHello older than TLS 1.0");
	if (!read_bytes(&m, TLS_RANDOM_BYTES, &skip) ||
	    !read_vector(&m, 1, 0, &skip) ||
	    skip.len > TLS_SESSION_ID_MAX_BYTES)
		return hello_fail(why, TLS_HELLO_ERR_MALFORMED,
				  "bad random or session id");
	if (!read_vector(&m, 2, 2, &skip) || skip.len % 2 != 0)
		return hello_fail(why, TLS_HELLO_ERR_MALFORMED,
				  "cipher suites empty, odd or overrunning");
	if (!read_vector(&m, 1, 1, &skip))
		return hello_fail(why, TLS_HELLO_ERR_MALFORMED,
				  "compression methods empty or overrunning");
	if (m.len == 0)
		return 0;
	if (!read_vector(&m, 2, 0, &exts) || m.len != 0)
		return hello_fail(why, TLS_HELLO_ERR_MALFORMED,
				  "extensions do not fill the ClientHello");
	return hello_extensions(exts, h, why);
}

/*
 * The handshake message as its records deliver it: the 4-byte header is
 * kept apart, and the body is read in place when one record holds all of
 * it, or copied into scratch when the client split it over records.
 */
struct gather {
	uint8_t header[TLS_HANDSHAKE_HEADER_BYTES];
	size_t header_have;
	size_t body_len;        /* once the header is in */
	size_t body_have;       /* bytes arrived */
	const uint8_t *body;    /* in place, or scratch */
	uint8_t *scratch;       /* TLS_HELLO_MAX_BYTES */
	size_t declared;        /* message bytes the records read announce */
	const char **why;
};

static int record_header(const uint8_t *r, size_t avail, bool first,
			 size_t *frag_len, const char **why)
{
	int not_tls = first ? TLS_HELLO_ERR_NOT_TLS : TLS_HELLO_ERR_MALFORMED;
	size_t version;

	if (avail >= 1 && r[0] != TLS_CONTENT_HANDSHAKE)
		return hello_fail(why, not_tls, "not a handshake record");
	if (avail >= 2 && r[1] != 3)
		return hello_fail(why, not_tls, "not a TLS record");
	if (avail < TLS_RECORD_HEADER_BYTES)
		return TLS_HELLO_INCOMPLETE;
	version = get16(r + 1);
	if (version < TLS_VERSION_MIN || version > TLS_VERSION_MAX)
		return hello_fail(why, TLS_HELLO_ERR_MALFORMED,
				  "record version is not TLS 1.0 to 1.2");
	*frag_len = get16(r + 3);
	if (*frag_len == 0 || *frag_len > TLS_RECORD_MAX_BYTES)
		return hello_fail(why, TLS_HELLO_ERR_MALFORMED,
				  "record length is 0 or over 2^14");
	return 0;
}

/* Takes header bytes from frag; returns how many. */
static int gather_header(struct gather *g, const uint8_t *frag, size_t avail,
			 size_t *used)
{
	*used = 0;
	while (g->header_have < TLS_HANDSHAKE_HEADER_BYTES && *used < avail)
		g->header[g->header_have++] = frag[(*used)++];
	if (g->header_have >= 1 &&
	    g->header[0] != TLS_HANDSHAKE_CLIENT_HELLO)
		return hello_fail(g->why, TLS_HELLO_ERR_MALFORMED,
				  "handshake message is not a ClientHello");
	if (g->header_have < TLS_HANDSHAKE_HEADER_BYTES)
		return 0;
	g->body_len = get24(g->header + 1);
	if (g->body_len > TLS_HELLO_MAX_BYTES)
		return hello_fail(g->why, TLS_HELLO_ERR_MALFORMED,
				  "ClientHello over TLS_HELLO_MAX_BYTES");
	return 0;
}

/*
 * Takes the avail bytes that have arrived of a fragment of frag_len. A
 * record must not carry bytes past the end of the ClientHello: a server
 * would read them as a second handshake message.
 */
static int gather_fragment(struct gather *g, const uint8_t *frag,
			   size_t frag_len, size_t avail)
{
	size_t used;
	bool first = g->declared == 0;

	g->declared += frag_len;
	if (gather_header(g, frag, avail, &used) < 0)
		return TLS_HELLO_ERR_MALFORMED;
	if (g->header_have < TLS_HANDSHAKE_HEADER_BYTES)
		return 0;
	if (g->declared > TLS_HANDSHAKE_HEADER_BYTES + g->body_len)
		return hello_fail(g->why, TLS_HELLO_ERR_MALFORMED,
				  "data after the ClientHello");

	if (first && frag_len == TLS_HANDSHAKE_HEADER_BYTES + g->body_len) {
		g->body = frag + used;
		g->body_have = avail - used;
		return 0;
	}
	memcpy(g->scratch + g->body_have, frag + used, avail - used);
	g->body_have += avail - used;
	g->body = g->scratch;
	return 0;
}

static bool gather_complete(const struct gather *g)
{
	return g->header_have == TLS_HANDSHAKE_HEADER_BYTES &&
	       g->body_have == g->body_len;
}

/*
 * The least total count that can hold the message, from what the records
 * up to record_end announce: when they fall short, one more record header
 * and the bytes still missing.
 */
static size_t gather_need(const struct gather *g, size_t record_end)
{
	size_t total = TLS_HANDSHAKE_HEADER_BYTES;

	if (g->header_have == TLS_HANDSHAKE_HEADER_BYTES)
		total += g->body_len;
	if (g->declared >= total)
		return record_end;
	return record_end + TLS_RECORD_HEADER_BYTES + total - g->declared;
}

/*
 * Walks the records from the start of buf. Every record but the last
 * has arrived whole; the gathered body is complete or the result is
 * TLS_HELLO_INCOMPLETE with *need set.
 */
static int gather_records(struct gather *g, const uint8_t *buf, size_t len,
			  size_t *need)
{
	size_t pos = 0;

	while (!gather_complete(g)) {
		size_t frag_len, avail;
		int r;

		r = record_header(buf + pos, len - pos, pos == 0, &frag_len,
				  g->why);
		if (r == TLS_HELLO_INCOMPLETE)
			*need = gather_need(g, pos);
		if (r != 0)
			return r;

		avail = len - pos - TLS_RECORD_HEADER_BYTES;
		if (avail > frag_len)
			avail = frag_len;
		r = gather_fragment(g, buf + pos + TLS_RECORD_HEADER_BYTES,
				    frag_len, avail);
		if (r < 0)
			return r;
		pos += TLS_RECORD_HEADER_BYTES + frag_len;
		if (avail < frag_len && !gather_complete(g)) {
			*need = gather_need(g, pos);
			return TLS_HELLO_INCOMPLETE;
		}
	}
	return 0;
}

int tls_hello_parse(const uint8_t *buf, size_t len, struct tls_hello *h,
		    size_t *need, const char **why)
{
	uint8_t scratch[TLS_HELLO_MAX_BYTES];
	struct gather g = { .scratch = scratch, .why = why };
	size_t need_bytes = 0;
	int r;

	memset(h, 0, sizeof(*h));
	r = gather_records(&g, buf, len, &need_bytes);
	if (r == TLS_HELLO_INCOMPLETE && need)
		*need = need_bytes;
	if (r != 0)
		return r;
	return hello_body((struct reader){ g.body, g.body_len }, h, why);
}
