/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DNS messages for the sandbox's stub resolver: queries as the sandbox
 * sends them (over UDP, or over TCP without the two-byte length, which the
 * caller strips), and the responses the stub builds. Only what a stub
 * needs is understood: one question, no compression in it, an optional
 * EDNS OPT record that is ignored.
 */
#ifndef AIRLOCK_GATEWAY_DNS_H
#define AIRLOCK_GATEWAY_DNS_H

#include <stddef.h>
#include <stdint.h>

#define DNS_HEADER_BYTES 12
/* A response built here never exceeds this, so it fits any UDP reply. */
#define DNS_RESPONSE_MAX_BYTES 512

enum dns_type {
	DNS_TYPE_A = 1,
	DNS_TYPE_CNAME = 5,
	DNS_TYPE_PTR = 12,
	DNS_TYPE_MX = 15,
	DNS_TYPE_TXT = 16,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_SRV = 33,
	DNS_TYPE_HTTPS = 65,
	DNS_TYPE_ANY = 255,
};

#define DNS_CLASS_IN 1

enum dns_rcode {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
};

struct dns_question {
	uint16_t id;
	uint16_t flags;     /* the query's flags word, as sent */
	char name[254];     /* dotted text, no trailing dot; "" for the root */
	uint16_t qtype;
	uint16_t qclass;
	size_t question_end; /* offset just past the question in the query */
};

/*
 * Parses a query of len bytes. Refused (-EINVAL, *why static text):
 * shorter than a header; QR set; an opcode other than QUERY; QDCOUNT other
 * than 1; ANCOUNT or NSCOUNT non-zero; a compression pointer or a label
 * type other than plain in the question; a label byte outside
 * [A-Za-z0-9_-] (so a name with dots, NULs or escapes inside a label is
 * refused); a name over 253 characters; truncated data. The name is
 * folded to lowercase. Returns 0 on success.
 */
int dns_parse_query(const uint8_t *msg, size_t len, struct dns_question *q,
		    const char **why);

/*
 * Builds the response to q in out (cap bytes): the query's id, QR and RA
 * set, RD copied, rcode, the question echoed; when addr is given
 * (addr_len 4 for A, 16 for AAAA), one answer of q->qtype pointing at the
 * question's name, with ttl. Returns the length, or 0 when cap is too
 * small.
 */
size_t dns_build_response(uint8_t *out, size_t cap,
			  const struct dns_question *q, enum dns_rcode rcode,
			  const void *addr, size_t addr_len, uint32_t ttl);

/*
 * Builds a header-only reply (no question) with rcode to a message that
 * could not be parsed: the first two bytes of msg are taken as its id.
 * Returns DNS_HEADER_BYTES, or 0 when len < 2 or cap is too small.
 */
size_t dns_build_error(uint8_t *out, size_t cap, const uint8_t *msg,
		       size_t len, enum dns_rcode rcode);

#endif
