/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The first flight of a TLS client, read before any byte reaches a
 * server: the ClientHello's server name (SNI) and ALPN protocols, so that
 * a connection can be routed and checked without terminating TLS. Bytes
 * come from the sandbox; the parser reads only within the lengths that
 * the records and the handshake message declare, each checked against
 * what has arrived.
 */
#ifndef AIRLOCK_GATEWAY_TLS_HELLO_H
#define AIRLOCK_GATEWAY_TLS_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A ClientHello larger than this (handshake body) is refused. */
#define TLS_HELLO_MAX_BYTES 16384
#define TLS_HELLO_ALPN_MAX 8

struct tls_hello {
	bool has_sni;
	char sni[256];          /* host_name as sent, printable ASCII only */
	size_t n_alpn;
	char alpn[TLS_HELLO_ALPN_MAX][64]; /* printable ASCII protocol names */
	bool alpn_truncated;    /* more, longer or unprintable names than kept */
	uint16_t legacy_version;
};

/* Return values besides 0 (a whole ClientHello was parsed). */
#define TLS_HELLO_INCOMPLETE 1
#define TLS_HELLO_ERR_NOT_TLS (-1)   /* not a TLS handshake record */
#define TLS_HELLO_ERR_MALFORMED (-2) /* TLS, but not a valid ClientHello */

/*
 * Parses the ClientHello at the start of buf: one or more handshake
 * records (content type 22) whose fragments together hold the message.
 * Returns 0 when the whole message was read, TLS_HELLO_INCOMPLETE while
 * more bytes are needed (*need, when not NULL, is then the least total
 * count that can hold the message, from what the records read so far
 * announce; always more than len), or a negative error with *why
 * (static text). Refused: a handshake type other than ClientHello, a
 * message over TLS_HELLO_MAX_BYTES, lengths that overrun their container,
 * more than one server_name or host_name entry, an SNI that is empty,
 * over 255 bytes, or has bytes outside printable ASCII, an empty ALPN
 * protocol name.
 */
int tls_hello_parse(const uint8_t *buf, size_t len, struct tls_hello *h,
		    size_t *need, const char **why);

#endif
