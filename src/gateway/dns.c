/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The DNS stub's wire format (RFC 1035): the query the sandbox sends,
 * reduced to its one question, and the two kinds of reply the stub sends
 * back. Queries are untrusted bytes from the sandbox; the parser reads
 * the header and the question only, each byte checked against the length
 * received, and anything a stub has no use for is refused rather than
 * guessed at.
 */
#include "config.h"

#include "gateway/dns.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* RFC 1035 section 2.3.4 */
#define DNS_LABEL_MAX_BYTES 63
#define DNS_NAME_MAX_CHARS 253

#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_RD 0x0100
#define DNS_FLAG_RA 0x0080
#define DNS_OPCODE_MASK 0x7800
#define DNS_RCODE_MASK 0x000f
/* The two top bits of a length byte: 00 plain label, 11 pointer. */
#define DNS_LABEL_TYPE_MASK 0xc0
/* A compression pointer to the question name, just after the header. */
#define DNS_POINTER_TO_QUESTION 0xc00c
/* TYPE, CLASS, TTL and RDLENGTH of an answer after its name */
#define DNS_RR_FIXED_BYTES 10

static int dns_fail(const char **why, const char *text)
{
	if (why)
		*why = text;
	return -EINVAL;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p = put16(p, (uint16_t)(v >> 16));
	return put16(p, (uint16_t)v);
}

static bool label_byte_ok(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static int header_check(const uint8_t *msg, size_t len, const char **why)
{
	uint16_t flags;

	if (len < DNS_HEADER_BYTES)
		return dns_fail(why, "shorter than a DNS header");
	flags = get16(msg + 2);
	if (flags & DNS_FLAG_QR)
		return dns_fail(why, "a response, not a query");
	if (flags & DNS_OPCODE_MASK)
		return dns_fail(why, "opcode is not QUERY");
	if (get16(msg + 4) != 1)
		return dns_fail(why, "not exactly one question");
	if (get16(msg + 6) != 0 || get16(msg + 8) != 0)
		return dns_fail(why, "query with answer or authority records");
	return 0;
}

/*
 * Reads the question name at *pos into out as dotted lowercase text;
 * *pos ends past the root label.
 */
static int name_read(const uint8_t *msg, size_t len, size_t *pos,
		     char out[DNS_NAME_MAX_CHARS + 1], const char **why)
{
	size_t o = 0, i = *pos;

	for (;;) {
		size_t n;

		if (i >= len)
			return dns_fail(why, "truncated question");
		n = msg[i++];
		if (n == 0)
			break;
		if (n & DNS_LABEL_TYPE_MASK)
			return dns_fail(why, "compressed or extended label");
		if (i + n > len)
			return dns_fail(why, "truncated question");
		if (o + (o > 0) + n > DNS_NAME_MAX_CHARS)
			return dns_fail(why, "name longer than 253 characters");
		if (o > 0)
			out[o++] = '.';
		for (size_t k = 0; k < n; k++, i++) {
			uint8_t c = msg[i];

			if (!label_byte_ok(c))
				return dns_fail(why, "label byte outside "
						     "[A-Za-z0-9_-]");
			out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
	}
	out[o] = '\0';
	*pos = i;
	return 0;
}

/*
 * The additional section (an EDNS OPT record at most, in practice) is not
 * read: nothing in it changes the answer of a stub that never sends more
 * than DNS_RESPONSE_MAX_BYTES.
 */
int dns_parse_query(const uint8_t *msg, size_t len, struct dns_question *q,
		    const char **why)
{
	size_t pos = DNS_HEADER_BYTES;
	int r;

	r = header_check(msg, len, why);
	if (r < 0)
		return r;
	r = name_read(msg, len, &pos, q->name, why);
	if (r < 0)
		return r;
	if (len - pos < 4)
		return dns_fail(why, "truncated question");

	q->id = get16(msg);
	q->flags = get16(msg + 2);
	q->qtype = get16(msg + pos);
	q->qclass = get16(msg + pos + 2);
	q->question_end = pos + 4;
	return 0;
}

/* Dotted text to wire labels; 0 when it does not fit or is no name. */
static size_t name_write(uint8_t *out, size_t cap, const char *name)
{
	size_t o = 0, n = strlen(name);
	const char *p = name, *end = name + n;

	if (n > DNS_NAME_MAX_CHARS || cap < n + 2)
		return 0;
	while (p < end) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t l = dot ? (size_t)(dot - p) : (size_t)(end - p);

		if (l == 0 || l > DNS_LABEL_MAX_BYTES || (dot && dot + 1 == end))
			return 0;
		out[o++] = (uint8_t)l;
		memcpy(out + o, p, l);
		o += l;
		p += l + (dot != NULL);
	}
	out[o++] = 0;
	return o;
}

static uint8_t *header_write(uint8_t *out, uint16_t id, uint16_t flags,
			     uint16_t qdcount, uint16_t ancount)
{
	out = put16(out, id);
	out = put16(out, flags);
	out = put16(out, qdcount);
	out = put16(out, ancount);
	out = put16(out, 0);
	return put16(out, 0);
}

static bool answer_fits_type(const struct dns_question *q, size_t addr_len)
{
	return (addr_len == 4 && q->qtype == DNS_TYPE_A) ||
	       (addr_len == 16 && q->qtype == DNS_TYPE_AAAA);
}

/*
 * An address whose size does not match the question's type builds
 * nothing (0): an A answer of 16 bytes is no answer a resolver takes.
 */
size_t dns_build_response(uint8_t *out, size_t cap,
			  const struct dns_question *q, enum dns_rcode rcode,
			  const void *addr, size_t addr_len, uint32_t ttl)
{
	uint16_t flags = DNS_FLAG_QR | DNS_FLAG_RA |
			 (q->flags & DNS_FLAG_RD) | (rcode & DNS_RCODE_MASK);
	size_t answer = addr ? 2 + DNS_RR_FIXED_BYTES + addr_len : 0;
	size_t name_len, total;
	uint8_t *p;

	if (addr && !answer_fits_type(q, addr_len))
		return 0;
	if (cap > DNS_RESPONSE_MAX_BYTES)
		cap = DNS_RESPONSE_MAX_BYTES;
	if (cap < DNS_HEADER_BYTES)
		return 0;
	name_len = name_write(out + DNS_HEADER_BYTES, cap - DNS_HEADER_BYTES,
			      q->name);
	total = DNS_HEADER_BYTES + name_len + 4 + answer;
	if (name_len == 0 || total > cap)
		return 0;

	header_write(out, q->id, flags, 1, addr ? 1 : 0);
	p = out + DNS_HEADER_BYTES + name_len;
	p = put16(p, q->qtype);
	p = put16(p, q->qclass);
	if (addr) {
		p = put16(p, DNS_POINTER_TO_QUESTION);
		p = put16(p, q->qtype);
		p = put16(p, q->qclass);
		p = put32(p, ttl);
		p = put16(p, (uint16_t)addr_len);
		memcpy(p, addr, addr_len);
	}
	return total;
}

/*
 * The opcode and RD are echoed when the message is long enough to hold
 * them, as RFC 1035 asks of every response.
 */
size_t dns_build_error(uint8_t *out, size_t cap, const uint8_t *msg,
		       size_t len, enum dns_rcode rcode)
{
	uint16_t flags = DNS_FLAG_QR | DNS_FLAG_RA | (rcode & DNS_RCODE_MASK);

	if (len < 2 || cap < DNS_HEADER_BYTES)
		return 0;
	if (len >= 4)
		flags |= get16(msg + 2) & (DNS_OPCODE_MASK | DNS_FLAG_RD);
	header_write(out, get16(msg), flags, 0, 0);
	return DNS_HEADER_BYTES;
}
