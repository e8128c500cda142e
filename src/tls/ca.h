/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The certificate authority behind TLS termination: the user's own CA,
 * made on first use and kept private under airlock's state folder; the
 * leaf certificates the gateway shows the sandbox, one per host; and the
 * trust bundle through which the sandbox accepts them.
 */
#ifndef AIRLOCK_TLS_CA_H
#define AIRLOCK_TLS_CA_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>

/* The CA's folder and its files, under airlock's state folder. */
#define CA_STATE_NAME "ca"
#define CA_CERT_FILE "ca.pem"
#define CA_KEY_FILE "ca.key"

/* "AB:CD:...": 32 bytes of SHA-256 as hex pairs, colons, a NUL. */
#define CA_FINGERPRINT_MAX_BYTES (32 * 3)

struct ca;

/*
 * Logs "what: the first OpenSSL error" (fmt makes what), clears OpenSSL's
 * error queue, and returns -EIO.
 */
int tls_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* For _cleanup_ (common/util.h). */
static inline void x509_freep(X509 **x)
{
	X509_free(*x);
}

/*
 * The user's own CA in $XDG_STATE_HOME/airlock/ca, else
 * home/.local/state/airlock/ca, made on first use: ca.pem (the
 * certificate, mode 0644) and ca.key (the private key, 0600) in a folder
 * of mode 0700. Callers that start at once share one CA: the folder is
 * locked while it is read or made, and files are written under temporary
 * names and renamed into place, so no one sees half a file. A key that
 * others may read, a file that is not the caller's or not a regular file
 * (a symlink included) is refused with -EPERM; a pair that does not
 * match or does not parse with -EINVAL (`airlock ca rotate` replaces it).
 * Logs the reason of every failure. On success returns 0 and sets
 * *cert_path and *key_path to new strings the caller frees. Not for use
 * after fork.
 */
int ca_user_ensure(const char *home, char **cert_path, char **key_path);

/*
 * The path of the user's CA folder (whether it exists or not), for the
 * sandbox to hide, or NULL when neither $XDG_STATE_HOME nor home is an
 * absolute path. Caller frees. Logs nothing.
 */
char *ca_user_dir(const char *home);

/*
 * Makes a new key and certificate in place of the user's CA (or a first
 * one), under the same lock and renames as ca_user_ensure. Processes that
 * loaded the old CA keep it. Returns 0 with *cert_path set (caller
 * frees), or -errno after logging.
 */
int ca_user_rotate(const char *home, char **cert_path);

/*
 * Loads a CA's certificate and private key (PEM, the key unencrypted)
 * and checks that they belong together and that the certificate is a
 * CA's. Returns a new ca to release with ca_free, or NULL after
 * log_error. For the gateway; not thread-safe (one thread uses a ca).
 */
struct ca *ca_load(const char *cert_path, const char *key_path);

/* Releases ca, its cached leaves and its key (which OpenSSL wipes). */
void ca_free(struct ca *ca);

/*
 * The leaf certificate for host, signed by ca, and its key. host is a
 * canonical DNS name (src/gateway/host.h), or an IPv4 or IPv6 address in
 * text form, which the certificate then names as an IP address. Every
 * leaf of the process has the same key, made on the first call. Leaves
 * are cached per host (the oldest of 4096 makes way for a new one) and
 * made anew when within a day of expiry; each lives 30 days.
 *
 * Returns 0 with *cert and *key set, -EINVAL for a host that is neither
 * name nor address, or -ENOMEM / -EIO when OpenSSL fails (logged). Both
 * pointers stay owned by ca and are valid until ca_free or the next
 * ca_leaf call on ca, whichever comes first (that call may evict or
 * renew the entry); to keep them longer, take a reference
 * (SSL_use_certificate does).
 */
int ca_leaf(struct ca *ca, const char *host, X509 **cert, EVP_PKEY **key);

/*
 * The trust bundle the sandbox sees, as text (caller frees): the system
 * bundle (ca_system_bundle) as it is, then the certificate of
 * ca_cert_path, then the CERTIFICATE blocks of each extra file; other
 * blocks (keys) are left out, and an extra file that is missing or
 * unreadable is skipped with a debug note. NULL after logging when the
 * CA's file holds no certificate.
 */
char *ca_bundle_text(const char *ca_cert_path, const char *const *extra,
		     size_t n_extra);

/*
 * The system's CA bundle: the first regular file of the known places
 * (Debian, Fedora, openSUSE, Alpine, ...), or NULL when there is none.
 * The sandbox's copy is bound over this path. Static storage.
 */
const char *ca_system_bundle(void);

/* The first certificate of a PEM file, or NULL after log_error. */
X509 *ca_cert_read(const char *path);

/* Writes cert's SHA-256 fingerprint as "AB:CD:...". 0 or -EIO. */
int ca_fingerprint(const X509 *cert, char out[CA_FINGERPRINT_MAX_BYTES]);

#endif
