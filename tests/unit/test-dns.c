/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the DNS stub's wire format in src/gateway/dns.c: the
 * query parser's acceptances and refusals, and responses checked three
 * ways: exact bytes, a walk by hand, and glibc's libresolv parser.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/nameser.h>
#include <errno.h>
#include <resolv.h>
#include <string.h>

#include "common/util.h"
#include "gateway/dns.h"

struct msg {
	uint8_t p[600];
	size_t n;
};

static void put(struct msg *m, const void *s, size_t n)
{
	memcpy(m->p + m->n, s, n);
	m->n += n;
}

static void put16(struct msg *m, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(m, b, 2);
}

static void header(struct msg *m, uint16_t flags, uint16_t qd, uint16_t an,
		   uint16_t ns, uint16_t ar)
{
	m->n = 0;
	put16(m, 0xbeef);
	put16(m, flags);
	put16(m, qd);
	put16(m, an);
	put16(m, ns);
	put16(m, ar);
}

/* Labels from dotted text, no check: tests build bad names on purpose. */
static void name(struct msg *m, const char *dotted)
{
	while (*dotted) {
		const char *dot = strchr(dotted, '.');
		size_t l = dot ? (size_t)(dot - dotted) : strlen(dotted);
		uint8_t len = (uint8_t)l;

		put(m, &len, 1);
		put(m, dotted, l);
		dotted += l + (dot != NULL);
	}
	put(m, "", 1);
}

static void query(struct msg *m, const char *dotted, uint16_t qtype)
{
	header(m, 0x0100, 1, 0, 0, 0);
	name(m, dotted);
	put16(m, qtype);
	put16(m, DNS_CLASS_IN);
}

static int parse(const struct msg *m, struct dns_question *q)
{
	const char *why = NULL;
	int r = dns_parse_query(m->p, m->n, q, &why);

	if (r < 0 && !why)
		fail_msg("refused without a reason");
	return r;
}

static void test_query(void **state)
{
	static const uint8_t opt[] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0 };
	struct dns_question q;
	struct msg m;

	query(&m, "WWW.Example-1.COM", DNS_TYPE_AAAA);
	assert_int_equal(parse(&m, &q), 0);
	assert_int_equal(q.id, 0xbeef);
	assert_int_equal(q.flags, 0x0100);
	assert_string_equal(q.name, "www.example-1.com");
	assert_int_equal(q.qtype, DNS_TYPE_AAAA);
	assert_int_equal(q.qclass, DNS_CLASS_IN);
	assert_int_equal(q.question_end, m.n);

	/* an EDNS OPT record in the additional section is passed over */
	m.p[11] = 1;
	put(&m, opt, sizeof(opt));
	assert_int_equal(parse(&m, &q), 0);
	assert_int_equal(q.question_end, m.n - sizeof(opt));

	query(&m, "", 2);
	assert_int_equal(parse(&m, &q), 0);
	assert_string_equal(q.name, "");
	assert_int_equal(q.qtype, 2);
	assert_int_equal(q.question_end, DNS_HEADER_BYTES + 5);

	query(&m, "_sip._tcp.a", DNS_TYPE_SRV);
	assert_int_equal(parse(&m, &q), 0);
	assert_string_equal(q.name, "_sip._tcp.a");
}

/* Names of exactly 253 characters are taken, 254 refused. */
static void test_query_name_limits(void **state)
{
	char text[300], label63[64];
	struct dns_question q;
	struct msg m;

	memset(label63, 'x', 63);
	label63[63] = '\0';
	snprintf(text, sizeof(text), "%s.%s.%s.%.61s", label63, label63,
		 label63, label63);
	assert_int_equal(strlen(text), 253);
	query(&m, text, DNS_TYPE_A);
	assert_int_equal(parse(&m, &q), 0);
	assert_string_equal(q.name, text);

	snprintf(text, sizeof(text), "%s.%s.%s.%.62s", label63, label63,
		 label63, label63);
	query(&m, text, DNS_TYPE_A);
	assert_int_equal(parse(&m, &q), -EINVAL);

	/* 64 bytes in a label is a length byte of type 01: refused */
	snprintf(text, sizeof(text), "%sx", label63);
	query(&m, text, DNS_TYPE_A);
	assert_int_equal(parse(&m, &q), -EINVAL);
}

static void test_query_refused(void **state)
{
	static const uint16_t bad_flags[] = { 0x8000, 0x0800, 0x1000, 0x2800 };
	static const uint16_t bad_counts[][3] = {
		{ 0, 0, 0 }, { 2, 0, 0 }, { 1, 1, 0 }, { 1, 0, 1 },
	};
	static const char *const bad_names[] = {
		"a b", "a\x01", "caf\xc3\xa9", "*.a", "a/b", "a\\.b", "a@b",
	};
	struct dns_question q;
	struct msg m;

	query(&m, "a.com", DNS_TYPE_A);
	for (size_t k = 0; k < m.n; k++)
		if (dns_parse_query(m.p, k, &q, NULL) != -EINVAL)
			fail_msg("truncated to %zu: accepted", k);

	for (size_t i = 0; i < ARRAY_SIZE(bad_flags); i++) {
		query(&m, "a.com", DNS_TYPE_A);
		m.p[2] = (uint8_t)(bad_flags[i] >> 8);
		assert_int_equal(parse(&m, &q), -EINVAL);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_counts); i++) {
		query(&m, "a.com", DNS_TYPE_A);
		m.p[5] = (uint8_t)bad_counts[i][0];
		m.p[7] = (uint8_t)bad_counts[i][1];
		m.p[9] = (uint8_t)bad_counts[i][2];
		assert_int_equal(parse(&m, &q), -EINVAL);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_names); i++) {
		query(&m, bad_names[i], DNS_TYPE_A);
		if (parse(&m, &q) != -EINVAL)
			fail_msg("name %s accepted", bad_names[i]);
	}

	/* a dot inside a label, a NUL, a pointer, the 01 and 10 types */
	query(&m, "ab.c", DNS_TYPE_A);
	m.p[14] = '.';
	assert_int_equal(parse(&m, &q), -EINVAL);
	m.p[14] = '\0';
	assert_int_equal(parse(&m, &q), -EINVAL);
	for (uint8_t t = 0x40; t != 0; t = (uint8_t)(t + 0x40)) {
		header(&m, 0, 1, 0, 0, 0);
		put(&m, &t, 1);
		put(&m, "\x0c\0\x01\0\x01", 5);
		assert_int_equal(parse(&m, &q), -EINVAL);
	}
}

/* The response for example.com A 93.184.215.14, byte for byte. */
static const uint8_t example_a[] = {
	0xbe, 0xef, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
	7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
	0, 1, 0, 1,
	0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x01, 0x2c, 0, 4, 93, 184, 215, 14,
};

static void build_example(struct dns_question *q, uint8_t *out, size_t cap,
			  size_t *len)
{
	static const uint8_t addr[4] = { 93, 184, 215, 14 };
	struct msg m;

	query(&m, "Example.com", DNS_TYPE_A);
	assert_int_equal(parse(&m, q), 0);
	*len = dns_build_response(out, cap, q, DNS_RCODE_NOERROR, addr, 4,
				  300);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void test_response_bytes(void **state)
{
	uint8_t out[DNS_RESPONSE_MAX_BYTES];
	struct dns_question q;
	const uint8_t *p;
	size_t len;

	build_example(&q, out, sizeof(out), &len);
	assert_int_equal(len, sizeof(example_a));
	assert_memory_equal(out, example_a, len);

	/* by hand: header, the echoed question, one answer via a pointer */
	assert_int_equal(get16(out), 0xbeef);
	assert_true(out[2] & 0x80);
	assert_int_equal(get16(out + 4), 1);
	assert_int_equal(get16(out + 6), 1);
	p = out + DNS_HEADER_BYTES;
	while (*p)
		p += *p + 1;
	p++;
	assert_int_equal(get16(p), DNS_TYPE_A);
	p += 4;
	assert_int_equal(get16(p) & 0x3fff, DNS_HEADER_BYTES);
	assert_int_equal(get16(p + 10), 4);
	assert_int_equal(p + 12 + 4, out + len);

	/* every capacity short of the length builds nothing */
	for (size_t cap = 0; cap < sizeof(example_a); cap++) {
		size_t n;

		build_example(&q, out, cap, &n);
		if (n != 0)
			fail_msg("cap %zu: %zu bytes", cap, n);
	}
}

/* glibc's own parser reads what we build. */
static void test_response_libresolv(void **state)
{
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	uint8_t out[DNS_RESPONSE_MAX_BYTES];
	char text[NS_MAXDNAME];
	struct dns_question q;
	struct msg m;
	ns_msg handle;
	ns_rr rr;
	size_t len;

	build_example(&q, out, sizeof(out), &len);
	assert_int_equal(ns_initparse(out, (int)len, &handle), 0);
	assert_int_equal(ns_msg_id(handle), 0xbeef);
	assert_int_equal(ns_msg_getflag(handle, ns_f_qr), 1);
	assert_int_equal(ns_msg_getflag(handle, ns_f_rd), 1);
	assert_int_equal(ns_msg_getflag(handle, ns_f_ra), 1);
	assert_int_equal(ns_msg_getflag(handle, ns_f_rcode), ns_r_noerror);
	assert_int_equal(ns_msg_count(handle, ns_s_an), 1);
	assert_int_equal(ns_parserr(&handle, ns_s_an, 0, &rr), 0);
	assert_string_equal(ns_rr_name(rr), "example.com");
	assert_int_equal(ns_rr_type(rr), ns_t_a);
	assert_int_equal(ns_rr_class(rr), ns_c_in);
	assert_int_equal(ns_rr_ttl(rr), 300);
	assert_int_equal(ns_rr_rdlen(rr), 4);
	assert_memory_equal(ns_rr_rdata(rr), example_a + 41, 4);

	query(&m, "v6.test", DNS_TYPE_AAAA);
	m.p[2] = 0;
	assert_int_equal(parse(&m, &q), 0);
	len = dns_build_response(out, sizeof(out), &q, DNS_RCODE_NOERROR, v6,
				 16, 60);
	assert_int_equal(len, DNS_HEADER_BYTES + 9 + 4 + 12 + 16);
	assert_int_equal(ns_initparse(out, (int)len, &handle), 0);
	assert_int_equal(ns_msg_getflag(handle, ns_f_rd), 0);
	assert_int_equal(ns_parserr(&handle, ns_s_an, 0, &rr), 0);
	assert_int_equal(ns_rr_type(rr), ns_t_aaaa);
	assert_int_equal(ns_rr_rdlen(rr), 16);
	assert_memory_equal(ns_rr_rdata(rr), v6, 16);

	len = dns_build_response(out, sizeof(out), &q, DNS_RCODE_NXDOMAIN,
				 NULL, 0, 0);
	assert_int_equal(len, DNS_HEADER_BYTES + 9 + 4);
	assert_int_equal(ns_initparse(out, (int)len, &handle), 0);
	assert_int_equal(ns_msg_getflag(handle, ns_f_rcode), ns_r_nxdomain);
	assert_int_equal(ns_msg_count(handle, ns_s_qd), 1);
	assert_int_equal(ns_msg_count(handle, ns_s_an), 0);
	assert_int_equal(ns_parserr(&handle, ns_s_qd, 0, &rr), 0);
	assert_string_equal(ns_rr_name(rr), "v6.test");
	assert_int_equal(ns_name_uncompress(ns_msg_base(handle),
					    ns_msg_end(handle),
					    out + DNS_HEADER_BYTES, text,
					    sizeof(text)),
			 9);
}

static void test_response_refused(void **state)
{
	static const uint8_t addr[16] = { 1, 2, 3, 4 };
	uint8_t out[DNS_RESPONSE_MAX_BYTES];
	static const char *const bad[] = { "a..b", ".a", "a.", "." };
	struct dns_question q = {
		.id = 1, .qtype = DNS_TYPE_A, .qclass = DNS_CLASS_IN,
	};

	strcpy(q.name, "a.b");
	assert_int_not_equal(dns_build_response(out, sizeof(out), &q, 0,
						addr, 4, 1),
			     0);
	assert_int_equal(dns_build_response(out, sizeof(out), &q, 0, addr, 16,
					    1),
			 0);
	assert_int_equal(dns_build_response(out, sizeof(out), &q, 0, addr, 3,
					    1),
			 0);
	q.qtype = DNS_TYPE_AAAA;
	assert_int_equal(dns_build_response(out, sizeof(out), &q, 0, addr, 4,
					    1),
			 0);
	q.qtype = DNS_TYPE_TXT;
	assert_int_equal(dns_build_response(out, sizeof(out), &q, 0, addr, 4,
					    1),
			 0);
	assert_int_not_equal(dns_build_response(out, sizeof(out), &q, 0, NULL,
						0, 1),
			     0);

	/* a name that no query parsed could hold builds nothing */
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		strcpy(q.name, bad[i]);
		assert_int_equal(dns_build_response(out, sizeof(out), &q, 0,
						    NULL, 0, 1),
				 0);
	}
	memset(q.name, 'x', 64);
	q.name[64] = '\0';
	assert_int_equal(dns_build_response(out, sizeof(out), &q, 0, NULL, 0,
					    1),
			 0);
}

static void test_error(void **state)
{
	static const uint8_t msg[] = { 0xab, 0xcd, 0x11, 0x00, 0xff };
	static const uint8_t want[DNS_HEADER_BYTES] = {
		0xab, 0xcd, 0x91, 0x84, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	static const uint8_t want_short[DNS_HEADER_BYTES] = {
		0xab, 0xcd, 0x80, 0x81,
	};
	uint8_t out[DNS_HEADER_BYTES + 1];

	assert_int_equal(dns_build_error(out, sizeof(out), msg, sizeof(msg),
					 DNS_RCODE_NOTIMP),
			 DNS_HEADER_BYTES);
	assert_memory_equal(out, want, DNS_HEADER_BYTES);
	assert_int_equal(dns_build_error(out, sizeof(out), msg, 2,
					 DNS_RCODE_FORMERR),
			 DNS_HEADER_BYTES);
	assert_memory_equal(out, want_short, DNS_HEADER_BYTES);
	assert_int_equal(dns_build_error(out, sizeof(out), msg, 1,
					 DNS_RCODE_FORMERR),
			 0);
	assert_int_equal(dns_build_error(out, DNS_HEADER_BYTES - 1, msg, 5,
					 DNS_RCODE_FORMERR),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_query_name_limits),
		cmocka_unit_test(test_query_refused),
		cmocka_unit_test(test_response_bytes),
		cmocka_unit_test(test_response_libresolv),
		cmocka_unit_test(test_response_refused),
		cmocka_unit_test(test_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
