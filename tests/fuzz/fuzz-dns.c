/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for src/gateway/dns.c: each input is one query as the
 * sandbox would send it. An accepted query is checked against its own
 * bytes (header, name walked here label by label, type, class), every
 * truncation of it must be refused, and the stub's replies to it are
 * built into buffers of exactly the capacity given, from nothing up to
 * DNS_RESPONSE_MAX_BYTES: an NXDOMAIN and an address answer, each checked
 * byte by byte and, once its QR bit is cleared, parsed back to the same
 * question. The error reply is built for every input, and a response to
 * a question named by the raw bytes must spell that name or be refused.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "gateway/dns.h"
#include "fuzz.h"

#define FLAG_QR 0x8000
#define FLAG_RD 0x0100
#define FLAG_RA 0x0080
#define OPCODE_MASK 0x7800
#define NAME_MAX_CHARS 253
/* name pointer, type, class, TTL, RDLENGTH */
#define ANSWER_FIXED_BYTES 12

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

static bool label_byte(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/*
 * Walks the wire name at msg[at] into dotted text; returns the offset
 * past its root label. The caller knows that the name is well formed.
 */
static size_t name_text(const uint8_t *msg, size_t at, char *out,
			size_t out_size)
{
	size_t o = 0;

	while (msg[at] != 0) {
		size_t n = msg[at++];

		CHECK(o + (o > 0) + n < out_size);
		if (o > 0)
			out[o++] = '.';
		for (size_t k = 0; k < n; k++)
			out[o++] = (char)lower(msg[at++]);
	}
	out[o] = '\0';
	return at + 1;
}

/* Parses from a copy of exactly len bytes, so that a read past is caught. */
static int parse(const uint8_t *msg, size_t len, struct dns_question *q)
{
	_cleanup_free_ uint8_t *copy = xmalloc(len ? len : 1);
	const char *why = NULL;
	int r;

	memcpy(copy, msg, len);
	r = dns_parse_query(copy, len, q, &why);
	CHECK(r == 0 || (r < 0 && why != NULL));
	return r;
}

static void check_name(const char *name)
{
	size_t n = strlen(name);

	CHECK(n <= NAME_MAX_CHARS);
	CHECK(n == 0 || (name[0] != '.' && name[n - 1] != '.'));
	CHECK(!strstr(name, ".."));
	for (size_t i = 0; i < n; i++)
		CHECK(name[i] == '.' || label_byte((uint8_t)name[i]));
}

static bool same_question(const struct dns_question *a,
			  const struct dns_question *b)
{
	return a->id == b->id && a->flags == b->flags &&
	       strcmp(a->name, b->name) == 0 && a->qtype == b->qtype &&
	       a->qclass == b->qclass && a->question_end == b->question_end;
}

/* An accepted query says what its bytes say, and only all of them. */
static void check_query(const uint8_t *msg, size_t len,
			const struct dns_question *q)
{
	char name[NAME_MAX_CHARS + 64];
	struct dns_question again;
	size_t end;

	CHECK(len >= DNS_HEADER_BYTES && q->question_end <= len);
	CHECK(q->id == get16(msg) && q->flags == get16(msg + 2));
	CHECK(!(q->flags & FLAG_QR) && !(q->flags & OPCODE_MASK));
	CHECK(get16(msg + 4) == 1 && get16(msg + 6) == 0 &&
	      get16(msg + 8) == 0);
	check_name(q->name);

	end = name_text(msg, DNS_HEADER_BYTES, name, sizeof(name));
	CHECK(strcmp(name, q->name) == 0);
	CHECK(end + 4 == q->question_end);
	CHECK(q->qtype == get16(msg + end));
	CHECK(q->qclass == get16(msg + end + 2));

	CHECK(parse(msg, q->question_end, &again) == 0);
	CHECK(same_question(&again, q));
	for (size_t k = 0; k < q->question_end; k++)
		CHECK(parse(msg, k, &again) < 0);
}

/* Builds into a buffer of exactly cap bytes; the result fits in it. */
static size_t build(uint8_t *out, size_t cap, const struct dns_question *q,
		    enum dns_rcode rcode, const uint8_t *addr, size_t addr_len,
		    uint32_t ttl)
{
	_cleanup_free_ uint8_t *exact = xmalloc(cap ? cap : 1);
	size_t n;

	n = dns_build_response(exact, cap, q, rcode, addr, addr_len, ttl);
	CHECK(n <= cap && n <= DNS_RESPONSE_MAX_BYTES);
	memcpy(out, exact, n);
	return n;
}

/*
 * The header and the echoed question of a response to the query msg:
 * the id, QR and RA set, RD copied, the opcode QUERY, the rcode, and the
 * question as sent but for the case of its name.
 */
static void check_response_head(const uint8_t *r, const uint8_t *msg,
				const struct dns_question *q,
				enum dns_rcode rcode, uint16_t answers)
{
	uint16_t flags = get16(r + 2);
	size_t name_end = q->question_end - 4;

	CHECK(get16(r) == q->id);
	CHECK((flags & FLAG_QR) && (flags & FLAG_RA));
	CHECK((flags & FLAG_RD) == (q->flags & FLAG_RD));
	CHECK(!(flags & OPCODE_MASK) && (flags & 0xf) == rcode);
	CHECK(get16(r + 4) == 1 && get16(r + 6) == answers);
	CHECK(get16(r + 8) == 0 && get16(r + 10) == 0);
	for (size_t i = DNS_HEADER_BYTES; i < name_end; i++)
		CHECK(r[i] == lower(msg[i]));
	CHECK(memcmp(r + name_end, msg + name_end, 4) == 0);
}

/* A response read as a query again (QR cleared) is the same question. */
static void check_parses_back(const uint8_t *r, size_t n,
			      const struct dns_question *q)
{
	_cleanup_free_ uint8_t *copy = xmalloc(n);
	struct dns_question back;

	memcpy(copy, r, n);
	copy[2] &= 0x7f;
	copy[6] = copy[7] = 0;
	CHECK(dns_parse_query(copy, n, &back, NULL) == 0);
	back.flags = q->flags;
	CHECK(same_question(&back, q));
}

/*
 * Every capacity that matters: none, less than a header, a header, one
 * short of the reply, the reply, more; a reply is whole or nothing.
 */
static void check_capacities(const struct dns_question *q,
			     enum dns_rcode rcode, const uint8_t *addr,
			     size_t addr_len, size_t want)
{
	const size_t caps[] = { 0, 1, DNS_HEADER_BYTES - 1, DNS_HEADER_BYTES,
				DNS_HEADER_BYTES + 1, want - 1, want,
				want + 1, DNS_RESPONSE_MAX_BYTES + 1 };
	uint8_t out[DNS_RESPONSE_MAX_BYTES + 1];

	for (size_t i = 0; i < ARRAY_SIZE(caps); i++) {
		size_t n = build(out, caps[i], q, rcode, addr, addr_len, 7);

		CHECK(n == (caps[i] >= want ? want : 0));
	}
}

static void fuzz_nxdomain(const uint8_t *msg, const struct dns_question *q)
{
	uint8_t out[DNS_RESPONSE_MAX_BYTES];
	size_t n;

	n = build(out, sizeof(out), q, DNS_RCODE_NXDOMAIN, NULL, 0, 0);
	CHECK(n == q->question_end);
	check_response_head(out, msg, q, DNS_RCODE_NXDOMAIN, 0);
	check_parses_back(out, n, q);
	check_capacities(q, DNS_RCODE_NXDOMAIN, NULL, 0, n);
}

/*
 * An answer of the question's type points at the question's name and
 * carries the TTL and address given; an address of the other size is
 * no answer at all.
 */
static void fuzz_answer(const uint8_t *msg, const struct dns_question *q,
			const uint8_t addr[16], uint32_t ttl)
{
	size_t addr_len = q->qtype == DNS_TYPE_AAAA ? 16 : 4;
	uint8_t out[DNS_RESPONSE_MAX_BYTES];
	const uint8_t *a;
	size_t n;

	n = build(out, sizeof(out), q, DNS_RCODE_NOERROR, addr, 20 - addr_len,
		  ttl);
	CHECK(n == 0);
	n = build(out, sizeof(out), q, DNS_RCODE_NOERROR, addr, addr_len, ttl);
	if (q->qtype != DNS_TYPE_A && q->qtype != DNS_TYPE_AAAA) {
		CHECK(n == 0);
		return;
	}
	CHECK(n == q->question_end + ANSWER_FIXED_BYTES + addr_len);
	check_response_head(out, msg, q, DNS_RCODE_NOERROR, 1);
	a = out + q->question_end;
	CHECK(get16(a) == 0xc00c && get16(a + 2) == q->qtype);
	CHECK(get16(a + 4) == q->qclass && get32(a + 6) == ttl);
	CHECK(get16(a + 10) == addr_len);
	CHECK(memcmp(a + 12, addr, addr_len) == 0);
	check_parses_back(out, n, q);
	check_capacities(q, DNS_RCODE_NOERROR, addr, addr_len, n);
}

/* The header-only reply to anything: the id, and opcode and RD echoed. */
static void fuzz_error(const uint8_t *msg, size_t len)
{
	_cleanup_free_ uint8_t *out = xmalloc(DNS_HEADER_BYTES);
	uint16_t flags, echo;
	size_t n;

	CHECK(dns_build_error(out, DNS_HEADER_BYTES - 1, msg, len,
			      DNS_RCODE_FORMERR) == 0);
	n = dns_build_error(out, DNS_HEADER_BYTES, msg, len,
			    DNS_RCODE_FORMERR);
	if (len < 2) {
		CHECK(n == 0);
		return;
	}
	CHECK(n == DNS_HEADER_BYTES && get16(out) == get16(msg));
	flags = get16(out + 2);
	echo = len >= 4 ? get16(msg + 2) & (OPCODE_MASK | FLAG_RD) : 0;
	CHECK(flags == (FLAG_QR | FLAG_RA | echo | DNS_RCODE_FORMERR));
	for (size_t i = 4; i < DNS_HEADER_BYTES; i++)
		CHECK(out[i] == 0);
}

/*
 * A question named by the raw bytes, which no parse has checked: the
 * response is refused, or its question spells the name label by label.
 */
static void fuzz_any_name(const uint8_t *data, size_t size)
{
	struct dns_question q = { .id = 1, .qtype = DNS_TYPE_A, .qclass = 1 };
	uint8_t out[DNS_RESPONSE_MAX_BYTES];
	char name[DNS_RESPONSE_MAX_BYTES];
	size_t n, len = strnlen((const char *)data, size);

	if (len >= sizeof(q.name))
		len = sizeof(q.name) - 1;
	memcpy(q.name, data, len);
	q.name[len] = '\0';
	n = build(out, sizeof(out), &q, DNS_RCODE_NXDOMAIN, NULL, 0, 0);
	if (n == 0)
		return;
	CHECK(len <= NAME_MAX_CHARS);
	CHECK(name_text(out, DNS_HEADER_BYTES, name, sizeof(name)) + 4 == n);
	for (size_t i = 0; i < len; i++)
		CHECK(name[i] == (char)lower((uint8_t)q.name[i]));
	CHECK(name[len] == '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_question q;
	uint8_t addr[16] = { 192, 0, 2, 1 };
	uint32_t ttl = 60;

	fuzz_error(data, size);
	fuzz_any_name(data, size);
	if (parse(data, size, &q) < 0)
		return 0;

	/* the bytes after the question, if any, make the answer */
	if (size >= q.question_end + 4)
		ttl = get32(data + q.question_end);
	memcpy(addr, data + q.question_end,
	       size - q.question_end < 16 ? size - q.question_end : 16);
	check_query(data, size, &q);
	fuzz_nxdomain(data, &q);
	fuzz_answer(data, &q, addr, ttl);
	return 0;
}
