/* SPDX-License-Identifier: Apache-2.0 */
/*
 * airlock's certificate authority: the user's own CA, kept in a private
 * folder under airlock's state folder and made on first use; the leaf
 * certificates that the gateway shows the sandbox when it terminates TLS;
 * and the trust bundle through which the sandbox accepts them.
 *
 * Trust position: runs with the caller's own rights, outside any sandbox.
 * The CA's key must never reach the sandbox or anyone else, so its files
 * are opened relative to the folder, never through a symlink, and a key
 * that others could read is refused rather than used. ca_leaf takes host
 * names that the sandbox chose; they arrive canonical from the gateway and
 * are checked again here before they are written into a certificate.
 */
#include "config.h"

#include "tls/ca.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/path.h"
#include "common/state-dir.h"
#include "common/util.h"
#include "gateway/host.h"

/* Both kinds of certificate start an hour back, for clocks that lag. */
#define CA_BACKDATE_S 3600
#define CA_LIFETIME_YEARS 10
#define CA_LEAF_LIFETIME_S (30 * 86400L)
/* A cached leaf this close to its end is made anew. */
#define CA_LEAF_RENEW_S 86400L
/* Leaves cached per CA; a power of two, as it is the hash table's size. */
#define CA_LEAF_CACHE_MAX 4096
#define CA_SERIAL_BITS 128
/* The upper bound X.520 sets for a common name. */
#define CA_CN_MAX_CHARS 64
/* Room to build the CA's common name before it is cut to that bound. */
#define CA_CN_BUF_BYTES 160
/* The system bundle is about 200 KiB; a CA's file is a few KiB. */
#define CA_BUNDLE_MAX_BYTES (16 << 20)
#define CA_FILE_MAX_BYTES (1 << 20)
/* What a file is called while it is written, before it is renamed. */
#define CA_TEMP_SUFFIX ".new"
#define CA_DIR_MODE 0700
#define CA_KEY_MODE 0600
#define CA_CERT_MODE 0644

/* One cached leaf. Indexes are stored plus one, so that 0 means none. */
struct ca_leaf_slot {
	char *host; /* NULL: the slot is free */
	X509 *cert;
	time_t renew_at;
	uint32_t hash;
	uint32_t next; /* the next slot in the same bucket */
};

struct ca {
	X509 *cert;
	EVP_PKEY *key;
	EVP_PKEY *leaf_key;  /* a reference to the process's leaf key */
	X509 *leaf_template; /* the extensions that every leaf carries */
	struct ca_leaf_slot *slots; /* CA_LEAF_CACHE_MAX, with the 1st leaf */
	uint32_t buckets[CA_LEAF_CACHE_MAX];
	uint32_t seed;
	size_t oldest; /* the slot that the next new host takes */
};

/*
 * The key of every leaf this process makes, whichever CA signs it: one
 * key generation per process rather than one per host. Never freed.
 */
static EVP_PKEY *process_leaf_key;
/*
 * Its public half, which goes into each leaf (see leaf_public_make), or
 * the key itself when that copy could not be made.
 */
static EVP_PKEY *process_leaf_pub;

/* The system bundles, by distribution, most common first. */
static const char *const system_bundles[] = {
	"/etc/ssl/certs/ca-certificates.crt", /* Debian, Ubuntu, Arch, Alpine */
	"/etc/pki/tls/certs/ca-bundle.crt",   /* Fedora, RHEL, CentOS */
	"/etc/ssl/ca-bundle.pem",             /* openSUSE, SLES */
	"/etc/pki/tls/cacert.pem",            /* OpenELEC */
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* RHEL 7+ */
	"/etc/ssl/cert.pem",                  /* Alpine, Void */
};

static void evp_pkey_freep(EVP_PKEY **p)
{
	EVP_PKEY_free(*p);
}

static void bio_freep(BIO **p)
{
	BIO_free(*p);
}

/* ---- OpenSSL helpers ---- */

/*
 * Logs what failed with OpenSSL's first queued error, empties the queue
 * and returns -EIO.
 */
int tls_fail(const char *fmt, ...)
{
	unsigned long e = ERR_peek_error();
	char what[512], text[256] = "unknown error";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (e)
		ERR_error_string_n(e, text, sizeof(text));
	ERR_clear_error();
	log_error("%s: %s", what, text);
	return -EIO;
}

/* True when the queue's last error only says that no PEM block is left. */
static bool pem_at_end(void)
{
	unsigned long e = ERR_peek_last_error();

	return ERR_GET_LIB(e) == ERR_LIB_PEM &&
	       ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

/* Refuses to prompt on the terminal for the pass phrase of a key. */
static int pem_no_password(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* Ed25519 and Ed448 sign the message itself; the others a SHA-256. */
static const EVP_MD *sign_digest(EVP_PKEY *key)
{
	if (EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448"))
		return NULL;
	return EVP_sha256();
}

/*
 * Reads what is left of fd (at most CA_FILE_MAX_BYTES) into a new memory
 * BIO at *out; when secret, into secure memory, which OpenSSL wipes when
 * it is freed, and the buffer on the way is wiped too. 0 or -errno.
 */
static int fd_read_bio(int fd, bool secret, BIO **out)
{
	_cleanup_(bio_freep) BIO *b = BIO_new(secret ? BIO_s_secmem() :
					      BIO_s_mem());
	char chunk[4096];
	size_t total = 0;
	ssize_t n;
	int r = b ? 0 : -ENOMEM;

	while (r == 0 && (n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0)
			r = errno == EINTR ? 0 : -errno;
		else if ((total += (size_t)n) > CA_FILE_MAX_BYTES)
			r = -EFBIG;
		else if (BIO_write(b, chunk, (int)n) != (int)n)
			r = -ENOMEM;
	}
	OPENSSL_cleanse(chunk, sizeof(chunk));
	if (r == 0)
		*out = steal_ptr(&b);
	return r;
}

/* fd_read_bio for a PEM file of the CA's; NULL after logging. */
static BIO *pem_source(int fd, const char *path, bool secret)
{
	BIO *b = NULL;
	int r = fd_read_bio(fd, secret, &b);

	if (r < 0)
		log_error_errno(-r, "cannot read %s", path);
	return b;
}

/* Reads the first certificate from fd. NULL after logging. */
static X509 *cert_read_fd(int fd, const char *path)
{
	_cleanup_(bio_freep) BIO *b = pem_source(fd, path, false);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, pem_no_password, NULL) : NULL;

	if (b && !x)
		tls_fail("cannot read a certificate from %s", path);
	return x;
}

/* Reads an unencrypted private key from fd. NULL after logging. */
static EVP_PKEY *key_read_fd(int fd, const char *path)
{
	_cleanup_(bio_freep) BIO *b = pem_source(fd, path, true);
	EVP_PKEY *k = NULL;

	if (b)
		k = PEM_read_bio_PrivateKey(b, NULL, pem_no_password, NULL);
	if (b && !k)
		tls_fail("cannot read a private key (PEM, unencrypted) from %s",
			 path);
	return k;
}

static int file_open_read(const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		log_error_errno(errno, "cannot open %s", path);
	return fd < 0 ? -errno : fd;
}

/* 0 when key is the private half of cert and cert is a CA's; -EINVAL. */
static int pair_check(X509 *cert, EVP_PKEY *key, const char *cert_path,
		      const char *key_path)
{
	if (X509_check_private_key(cert, key) != 1) {
		ERR_clear_error();
		log_error("%s is not the key of the certificate %s", key_path,
			  cert_path);
		return -EINVAL;
	}
	if (X509_check_ca(cert) == 0) {
		log_error("%s is not a CA's certificate (it needs "
			  "basicConstraints CA:TRUE and, with a keyUsage, "
			  "keyCertSign)", cert_path);
		return -EINVAL;
	}
	return 0;
}

/* ---- making certificates ---- */

/* A random serial number of CA_SERIAL_BITS, positive and never zero. */
static bool cert_set_serial(X509 *x)
{
	BIGNUM *bn = BN_new();
	bool ok;

	ok = bn && BN_rand(bn, CA_SERIAL_BITS, BN_RAND_TOP_ONE,
			   BN_RAND_BOTTOM_ANY) == 1 &&
	     BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok;
}

static bool cert_set_validity(X509 *x, time_t from, time_t to)
{
	return ASN1_TIME_set(X509_getm_notBefore(x), from) != NULL &&
	       ASN1_TIME_set(X509_getm_notAfter(x), to) != NULL;
}

/* Adds the extension nid of value, in openssl.cnf's syntax, to x. */
static bool cert_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	bool ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	ok = ext && X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok;
}

/* Keeps letters, digits and ".-_@" of user@host; '?' for the others. */
static void name_printable(char *s)
{
	for (; *s; s++)
		if (!strchr(".-_@", *s) && !(*s >= 'a' && *s <= 'z') &&
		    !(*s >= 'A' && *s <= 'Z') && !(*s >= '0' && *s <= '9'))
			*s = '?';
}

/*
 * Writes "airlock CA (user@host)" to out, cut to the 64 characters of a
 * common name. The buffers are sized for the longest user (32) and host
 * (HOST_NAME_MAX) names, so that nothing is cut by accident.
 */
static void ca_common_name(char out[CA_CN_BUF_BYTES])
{
	static const char frame[] = "airlock CA ()";
	size_t room = CA_CN_MAX_CHARS - (sizeof(frame) - 1);
	struct passwd *pw = getpwuid(geteuid());
	char host[HOST_NAME_MAX + 1] = "";
	char who[CA_CN_BUF_BYTES - sizeof(frame)];

	if (gethostname(host, sizeof(host)) < 0 || !host[0])
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if (pw)
		snprintf(who, sizeof(who), "%.32s@%s", pw->pw_name, host);
	else
		snprintf(who, sizeof(who), "%u@%s", (unsigned)geteuid(), host);
	if (strlen(who) > room)
		who[room] = '\0';
	name_printable(who);
	snprintf(out, CA_CN_BUF_BYTES, "airlock CA (%s)", who);
}

/* The time ten years after now, on the same day of the year. */
static time_t ca_not_after(time_t now)
{
	struct tm tm;

	gmtime_r(&now, &tm);
	tm.tm_year += CA_LIFETIME_YEARS;
	return timegm(&tm);
}

/* A new self-signed CA certificate for key. NULL after logging. */
static X509 *ca_cert_make(EVP_PKEY *key)
{
	_cleanup_(x509_freep) X509 *x = X509_new();
	char cn[CA_CN_BUF_BYTES];
	time_t now = time(NULL);
	X509_NAME *name;
	bool ok;

	if (!x) {
		tls_fail("cannot make the CA's certificate");
		return NULL;
	}
	ca_common_name(cn);
	name = X509_get_subject_name(x);
	ok = X509_set_version(x, X509_VERSION_3) == 1 && cert_set_serial(x) &&
	     cert_set_validity(x, now - CA_BACKDATE_S, ca_not_after(now)) &&
	     X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
					(const unsigned char *)"airlock", -1,
					-1, 0) == 1 &&
	     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)cn, -1, -1,
					0) == 1 &&
	     X509_set_issuer_name(x, name) == 1 &&
	     X509_set_pubkey(x, key) == 1 &&
	     cert_add_ext(x, x, NID_basic_constraints,
			  "critical,CA:TRUE,pathlen:0") &&
	     cert_add_ext(x, x, NID_key_usage,
			  "critical,keyCertSign,cRLSign") &&
	     cert_add_ext(x, x, NID_subject_key_identifier, "hash") &&
	     X509_sign(x, key, EVP_sha256()) > 0;
	if (!ok) {
		tls_fail("cannot make the CA's certificate");
		return NULL;
	}
	return steal_ptr(&x);
}

/*
 * The authorityKeyIdentifier of the leaves of ca_cert: its own subject
 * key identifier, or for a CA without one (a CA the user brought) the
 * SHA-1 of its public key, as RFC 5280 suggests.
 */
static X509_EXTENSION *leaf_aki_make(X509 *ca_cert)
{
	const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(ca_cert);
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	X509_EXTENSION *ext = NULL;

	if (!akid)
		return NULL;
	if (skid) {
		akid->keyid = ASN1_OCTET_STRING_dup(skid);
	} else if (X509_pubkey_digest(ca_cert, EVP_sha1(), md, &len) == 1) {
		akid->keyid = ASN1_OCTET_STRING_new();
		if (akid->keyid &&
		    ASN1_OCTET_STRING_set(akid->keyid, md, (int)len) != 1) {
			ASN1_OCTET_STRING_free(akid->keyid);
			akid->keyid = NULL;
		}
	}
	if (akid->keyid)
		ext = X509V3_EXT_i2d(NID_authority_key_identifier, 0, akid);
	AUTHORITY_KEYID_free(akid);
	return ext;
}

/*
 * A certificate that holds what every leaf of ca shares: the leaf key and
 * the constant extensions, which leaf_make copies. NULL on failure.
 */
static X509 *leaf_template_make(struct ca *ca)
{
	_cleanup_(x509_freep) X509 *t = X509_new();
	X509_EXTENSION *aki;
	bool ok;

	ok = t && X509_set_pubkey(t, process_leaf_pub) == 1 &&
	     cert_add_ext(t, ca->cert, NID_basic_constraints,
			  "critical,CA:FALSE") &&
	     cert_add_ext(t, ca->cert, NID_key_usage,
			  "critical,digitalSignature") &&
	     cert_add_ext(t, ca->cert, NID_ext_key_usage, "serverAuth") &&
	     cert_add_ext(t, ca->cert, NID_subject_key_identifier, "hash");
	if (!ok)
		return NULL;
	aki = leaf_aki_make(ca->cert);
	ok = aki && X509_add_ext(t, aki, -1) == 1;
	X509_EXTENSION_free(aki);
	return ok ? steal_ptr(&t) : NULL;
}

/* The subjectAltName that names h: DNS for a name, else IP. */
static bool leaf_add_san(X509 *x, const struct host *h, bool critical)
{
	GENERAL_NAMES *names = GENERAL_NAMES_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	const void *addr = h->kind == HOST_IPV4 ? (const void *)&h->v4 :
						  (const void *)&h->v6;
	int addr_len = h->kind == HOST_IPV4 ? 4 : 16;
	ASN1_STRING *s = NULL;
	bool ok = false;

	if (!names || !gn)
		goto out;
	if (h->kind == HOST_NAME) {
		s = ASN1_IA5STRING_new();
		ok = s && ASN1_STRING_set(s, h->text, -1) == 1;
	} else {
		s = ASN1_OCTET_STRING_new();
		ok = s && ASN1_OCTET_STRING_set(s, addr, addr_len) == 1;
	}
	if (!ok) {
		ASN1_STRING_free(s);
		goto out;
	}
	GENERAL_NAME_set0_value(gn, h->kind == HOST_NAME ? GEN_DNS : GEN_IPADD,
				s);
	ok = sk_GENERAL_NAME_push(names, gn) > 0;
	if (ok)
		gn = NULL;
	ok = ok && X509_add1_ext_i2d(x, NID_subject_alt_name, names, critical,
				 X509V3_ADD_DEFAULT) == 1;
out:
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(names);
	return ok;
}

static bool leaf_copy_exts(X509 *x, const X509 *template)
{
	for (int i = 0; i < X509_get_ext_count(template); i++)
		if (X509_add_ext(x, X509_get_ext(template, i), -1) != 1)
			return false;
	return true;
}

/*
 * A new leaf for h, valid from an hour ago for CA_LEAF_LIFETIME_S. The
 * common name repeats the host when it fits in 64 characters; otherwise
 * the subject is empty and the subjectAltName, which alone names the
 * host, is marked critical (RFC 5280, 4.2.1.6). NULL after logging.
 */
static X509 *leaf_make(struct ca *ca, const struct host *h, time_t now)
{
	_cleanup_(x509_freep) X509 *x = X509_new();
	bool long_name = strlen(h->text) > CA_CN_MAX_CHARS;
	bool ok;

	ok = x && X509_set_version(x, X509_VERSION_3) == 1 &&
	     cert_set_serial(x) &&
	     cert_set_validity(x, now - CA_BACKDATE_S,
			       now + CA_LEAF_LIFETIME_S) &&
	     X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) == 1 &&
	     X509_set_pubkey(x, process_leaf_pub) == 1 &&
	     (long_name ||
	      X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
					 MBSTRING_ASC,
					 (const unsigned char *)h->text, -1,
					 -1, 0) == 1) &&
	     leaf_add_san(x, h, long_name) &&
	     leaf_copy_exts(x, ca->leaf_template) &&
	     X509_sign(x, ca->key, sign_digest(ca->key)) > 0;
	if (!ok) {
		tls_fail("cannot make a certificate for %s", h->text);
		return NULL;
	}
	return steal_ptr(&x);
}

/* ---- the cache of leaves ---- */

/* FNV-1a, seeded per CA so that no one can choose colliding names. */
static uint32_t leaf_hash(const struct ca *ca, const char *host)
{
	uint32_t h = 2166136261u ^ ca->seed;

	for (; *host; host++)
		h = (h ^ (uint8_t)*host) * 16777619u;
	return h;
}

static struct ca_leaf_slot *cache_find(struct ca *ca, const char *host,
				       uint32_t hash)
{
	uint32_t i = ca->buckets[hash & (CA_LEAF_CACHE_MAX - 1)];

	for (; i; i = ca->slots[i - 1].next) {
		struct ca_leaf_slot *s = &ca->slots[i - 1];

		if (s->hash == hash && streq(s->host, host))
			return s;
	}
	return NULL;
}

/* Takes slot i out of its bucket's chain and empties it. */
static void cache_drop(struct ca *ca, size_t i)
{
	struct ca_leaf_slot *s = &ca->slots[i];
	uint32_t *link = &ca->buckets[s->hash & (CA_LEAF_CACHE_MAX - 1)];

	while (*link && *link != i + 1)
		link = &ca->slots[*link - 1].next;
	if (*link)
		*link = s->next;
	free(s->host);
	X509_free(s->cert);
	*s = (struct ca_leaf_slot){ 0 };
}

/* A slot for a new host: a free one, else the oldest host's. */
static struct ca_leaf_slot *cache_take(struct ca *ca, const char *host,
				       uint32_t hash)
{
	size_t i = ca->oldest;
	uint32_t *bucket = &ca->buckets[hash & (CA_LEAF_CACHE_MAX - 1)];
	struct ca_leaf_slot *s = &ca->slots[i];

	ca->oldest = (i + 1) % CA_LEAF_CACHE_MAX;
	if (s->host)
		cache_drop(ca, i);
	s->host = xstrdup(host);
	s->hash = hash;
	s->next = *bucket;
	*bucket = (uint32_t)i + 1;
	return s;
}

/*
 * A copy of key's public half in OpenSSL's older (legacy) EC form. Why:
 * OpenSSL 3.0 writes a provider key into a certificate by encoding it and
 * decoding the result, about 0.2 ms each time, most of the cost of a new
 * leaf; a legacy key takes a direct path of a few microseconds. Made with
 * calls that are not deprecated; NULL (the caller then uses key itself)
 * when an OpenSSL without legacy keys refuses.
 */
static EVP_PKEY *leaf_public_make(EVP_PKEY *key)
{
	_cleanup_(evp_pkey_freep) EVP_PKEY *pub = EVP_PKEY_new();
	unsigned char *point = NULL;
	size_t len = EVP_PKEY_get1_encoded_public_key(key, &point);
	bool ok;

	ok = pub && len > 0 && EVP_PKEY_set_type(pub, EVP_PKEY_EC) == 1 &&
	     EVP_PKEY_copy_parameters(pub, key) == 1 &&
	     EVP_PKEY_set1_encoded_public_key(pub, point, len) == 1 &&
	     EVP_PKEY_eq(pub, key) == 1;
	OPENSSL_free(point);
	ERR_clear_error();
	return ok ? steal_ptr(&pub) : NULL;
}

/* What the first leaf of ca needs: the leaf key, the template, the cache. */
static int leaf_setup(struct ca *ca)
{
	if (!process_leaf_key) {
		process_leaf_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		if (process_leaf_key)
			process_leaf_pub = leaf_public_make(process_leaf_key);
		if (!process_leaf_pub)
			process_leaf_pub = process_leaf_key;
	}
	if (!process_leaf_key || EVP_PKEY_up_ref(process_leaf_key) != 1)
		return tls_fail("cannot make the key of the leaf certificates");
	ca->leaf_key = process_leaf_key;
	ca->leaf_template = leaf_template_make(ca);
	if (!ca->leaf_template)
		return tls_fail("cannot prepare the leaf certificates");
	ca->slots = xcalloc(CA_LEAF_CACHE_MAX, sizeof(*ca->slots));
	return 0;
}

/* ---- the user's CA on disk ---- */

/*
 * Opens the CA's folder (made if missing, mode 0700) and locks it, so
 * that processes starting at the same moment agree on one CA. The lock
 * goes with the fd. Returns the fd with *dir_path set (caller frees), or
 * -errno after logging.
 */
static int ca_dir_lock(const char *home, char **dir_path)
{
	_cleanup_free_ char *path = ca_user_dir(home);
	_cleanup_free_ char *parent = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (!path) {
		log_error("no state folder for airlock's CA: set "
			  "XDG_STATE_HOME or HOME to an absolute path");
		return -ENOENT;
	}
	parent = path_dirname(path);
	fd = state_dir_open(parent, CA_STATE_NAME);
	if (fd < 0) {
		log_error_errno(-fd, "cannot use %s for airlock's CA%s", path,
				fd == -EPERM ? ": it is not a folder of yours "
				"that only you can write" : "");
		return fd;
	}
	if (fstat(fd, &st) < 0 || ((st.st_mode & 07777) != CA_DIR_MODE &&
				   fchmod(fd, CA_DIR_MODE) < 0)) {
		log_error_errno(errno, "cannot make %s private (mode 0700)",
				path);
		return -errno;
	}
	if (flock(fd, LOCK_EX) < 0) {
		log_error_errno(errno, "cannot lock %s", path);
		return -errno;
	}
	*dir_path = steal_ptr(&path);
	return steal_fd(&fd);
}

/*
 * Opens name in the CA's folder for reading, never through a symlink. It
 * must be a regular file of the caller's and, when secret, one that no
 * one else may read or write. Returns the fd, -ENOENT (silently) when it
 * does not exist, -EPERM or another -errno after logging.
 */
static int ca_file_open(int dfd, const char *dir, const char *name,
			bool secret)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
		    O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return -ENOENT;
	if (fd < 0 && errno == ELOOP) {
		log_error("%s/%s is a symlink; refusing it: the CA's files "
			  "must be airlock's own, never links", dir, name);
		return -EPERM;
	}
	if (fd < 0 || fstat(fd, &st) < 0) {
		log_error_errno(errno, "cannot open %s/%s", dir, name);
		return -errno;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		log_error("%s/%s is not a regular file of yours; refusing it",
			  dir, name);
		return -EPERM;
	}
	if (secret && (st.st_mode & (S_IRWXG | S_IRWXO))) {
		log_error("%s/%s may be read or written by others (mode "
			  "%04o); refusing it: make it 0600, or replace the "
			  "CA with 'airlock ca rotate'", dir, name,
			  (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return steal_fd(&fd);
}

/*
 * Checks the CA in the locked folder: 0 when both files are there, safe
 * and a pair; -ENOENT when there is none to keep (none at all, or half
 * of one that an interrupted first start left); -EPERM or -EINVAL after
 * logging.
 */
static int ca_dir_check(int dfd, const char *dir)
{
	_cleanup_close_ int key_fd = ca_file_open(dfd, dir, CA_KEY_FILE, true);
	_cleanup_close_ int cert_fd = -1;
	_cleanup_(evp_pkey_freep) EVP_PKEY *key = NULL;
	_cleanup_(x509_freep) X509 *cert = NULL;
	_cleanup_free_ char *key_path = NULL, *cert_path = NULL;

	if (key_fd < 0 && key_fd != -ENOENT)
		return key_fd;
	cert_fd = ca_file_open(dfd, dir, CA_CERT_FILE, false);
	if (cert_fd < 0 && cert_fd != -ENOENT)
		return cert_fd;
	if (key_fd == -ENOENT && cert_fd == -ENOENT)
		return -ENOENT;
	if (key_fd == -ENOENT || cert_fd == -ENOENT) {
		log_warn("%s/%s is missing (an interrupted first start?); "
			 "making a new CA", dir,
			 key_fd == -ENOENT ? CA_KEY_FILE : CA_CERT_FILE);
		return -ENOENT;
	}

	key_path = path_join(dir, CA_KEY_FILE);
	cert_path = path_join(dir, CA_CERT_FILE);
	key = key_read_fd(key_fd, key_path);
	cert = key ? cert_read_fd(cert_fd, cert_path) : NULL;
	if (!cert || pair_check(cert, key, cert_path, key_path) < 0) {
		log_error("airlock's CA in %s cannot be used; 'airlock ca "
			  "rotate' replaces it", dir);
		return -EINVAL;
	}
	return 0;
}

/*
 * Creates name in dfd (mode, never through a symlink, never over an
 * existing file) holding the text of the memory BIO b, flushed to disk
 * when sync. On failure the file is removed. Returns 0 or -errno; logs
 * nothing.
 */
static int bio_write_new(int dfd, const char *name, mode_t mode, BIO *b,
			 bool sync)
{
	_cleanup_close_ int fd = -1;
	char *text = NULL;
	long len = BIO_get_mem_data(b, &text);
	int r;

	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	r = fchmod(fd, mode) < 0 ? -errno : 0;
	if (r == 0 && len > 0)
		r = write_all(fd, text, (size_t)len);
	if (r == 0 && sync && fsync(fd) < 0)
		r = -errno;
	if (r < 0)
		unlinkat(dfd, name, 0);
	return r;
}

/*
 * Writes the PEM text in b to name.new in the folder (mode), flushed to
 * disk, ready to be renamed; a stale one is removed first. Returns 0 or
 * -errno after logging.
 */
static int temp_write(int dfd, const char *dir, const char *name,
		      mode_t mode, BIO *b)
{
	_cleanup_free_ char *temp = xasprintf("%s%s", name, CA_TEMP_SUFFIX);
	int r = 0;

	if (unlinkat(dfd, temp, 0) < 0 && errno != ENOENT)
		r = -errno;
	if (r == 0)
		r = bio_write_new(dfd, temp, mode, b, true);
	if (r < 0)
		log_error_errno(-r, "cannot write %s/%s", dir, temp);
	return r;
}

static int temp_rename(int dfd, const char *dir, const char *name)
{
	_cleanup_free_ char *temp = xasprintf("%s%s", name, CA_TEMP_SUFFIX);

	if (renameat(dfd, temp, dfd, name) < 0) {
		log_error_errno(errno, "cannot rename %s/%s to %s", dir, temp,
				name);
		unlinkat(dfd, temp, 0);
		return -errno;
	}
	return 0;
}

/*
 * Makes a new CA in the locked folder. Both files are written in full
 * under temporary names, then renamed over the old ones, the key first:
 * a crash in between leaves a pair that ca_dir_check reports rather than
 * half a file. Returns 0 or -errno after logging.
 */
static int ca_dir_make(int dfd, const char *dir)
{
	_cleanup_(evp_pkey_freep) EVP_PKEY *key = NULL;
	_cleanup_(x509_freep) X509 *cert = NULL;
	/* secure memory: OpenSSL wipes the key's text when it is freed */
	_cleanup_(bio_freep) BIO *key_pem = BIO_new(BIO_s_secmem());
	_cleanup_(bio_freep) BIO *cert_pem = BIO_new(BIO_s_mem());
	int r;

	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!key)
		return tls_fail("cannot make a key for airlock's CA");
	cert = ca_cert_make(key);
	if (!cert)
		return -EIO;
	if (!key_pem || !cert_pem ||
	    PEM_write_bio_PrivateKey(key_pem, key, NULL, NULL, 0, NULL,
				     NULL) != 1 ||
	    PEM_write_bio_X509(cert_pem, cert) != 1)
		return tls_fail("cannot encode airlock's CA");

	r = temp_write(dfd, dir, CA_KEY_FILE, CA_KEY_MODE, key_pem);
	if (r == 0)
		r = temp_write(dfd, dir, CA_CERT_FILE, CA_CERT_MODE, cert_pem);
	if (r == 0)
		r = temp_rename(dfd, dir, CA_KEY_FILE);
	if (r == 0)
		r = temp_rename(dfd, dir, CA_CERT_FILE);
	if (r < 0)
		return r;
	if (fsync(dfd) < 0)
		log_warn_errno(errno, "cannot flush %s to disk", dir);
	log_info("made a new CA in %s", dir);
	return 0;
}

/*
 * Under the folder's lock, keeps the user's CA when it is sound (unless
 * fresh) and makes a new one otherwise. Returns 0 with *cert_path and,
 * when asked, *key_path set (caller frees), or -errno after logging.
 */
static int ca_user_get(const char *home, bool fresh, char **cert_path,
		       char **key_path)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int dfd = ca_dir_lock(home, &dir);
	int r;

	if (dfd < 0)
		return dfd;
	r = fresh ? -ENOENT : ca_dir_check(dfd, dir);
	if (r == -ENOENT)
		r = ca_dir_make(dfd, dir);
	if (r < 0)
		return r;
	*cert_path = path_join(dir, CA_CERT_FILE);
	if (key_path)
		*key_path = path_join(dir, CA_KEY_FILE);
	return 0;
}

/* ---- the trust bundle ---- */

/*
 * Appends the certificates of path to out, in PEM, and nothing else of
 * the file. Returns how many, or -errno (not logged) when path cannot be
 * opened or read. A block that does not parse ends the reading.
 */
static int bundle_add_certs(BIO *out, const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY |
				      O_CLOEXEC);
	_cleanup_(bio_freep) BIO *in = NULL;
	struct stat st;
	X509 *x;
	int n = 0, r;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	r = fd_read_bio(fd, false, &in);
	if (r < 0)
		return r;
	while ((x = PEM_read_bio_X509(in, NULL, pem_no_password, NULL))) {
		bool ok = PEM_write_bio_X509(out, x) == 1;

		X509_free(x);
		if (!ok)
			return -ENOMEM;
		n++;
	}
	if (!pem_at_end())
		log_debug("%s: a block after certificate %d does not parse; "
			  "the rest is left out", path, n);
	ERR_clear_error();
	return n;
}

/* Appends the system bundle as it is. A failure is only a warning. */
static void bundle_add_system(BIO *out, const char *path)
{
	_cleanup_free_ char *text = NULL;
	int r;

	if (!path)
		return;
	r = read_file(path, CA_BUNDLE_MAX_BYTES, &text);
	if (r < 0) {
		log_warn_errno(-r, "cannot read the system's CA bundle %s; the "
			       "sandbox trusts airlock's CA without it", path);
		return;
	}
	BIO_puts(out, text);
	if (text[0] && text[strlen(text) - 1] != '\n')
		BIO_puts(out, "\n");
}

/* ---- exported ---- */

int ca_user_ensure(const char *home, char **cert_path, char **key_path)
{
	return ca_user_get(home, false, cert_path, key_path);
}

char *ca_user_dir(const char *home)
{
	return path_state_file(getenv("XDG_STATE_HOME"), home, CA_STATE_NAME);
}

int ca_user_rotate(const char *home, char **cert_path)
{
	return ca_user_get(home, true, cert_path, NULL);
}

X509 *ca_cert_read(const char *path)
{
	_cleanup_close_ int fd = file_open_read(path);

	return fd < 0 ? NULL : cert_read_fd(fd, path);
}

struct ca *ca_load(const char *cert_path, const char *key_path)
{
	_cleanup_(x509_freep) X509 *cert = ca_cert_read(cert_path);
	_cleanup_(evp_pkey_freep) EVP_PKEY *key = NULL;
	_cleanup_close_ int key_fd = -1;
	struct ca *ca;

	if (!cert)
		return NULL;
	key_fd = file_open_read(key_path);
	if (key_fd < 0)
		return NULL;
	key = key_read_fd(key_fd, key_path);
	if (!key || pair_check(cert, key, cert_path, key_path) < 0)
		return NULL;

	ca = xcalloc(1, sizeof(*ca));
	ca->cert = steal_ptr(&cert);
	ca->key = steal_ptr(&key);
	if (RAND_bytes((unsigned char *)&ca->seed, sizeof(ca->seed)) != 1)
		ERR_clear_error(); /* the seed only spreads names; 0 works */
	return ca;
}

void ca_free(struct ca *ca)
{
	if (!ca)
		return;
	for (size_t i = 0; ca->slots && i < CA_LEAF_CACHE_MAX; i++) {
		free(ca->slots[i].host);
		X509_free(ca->slots[i].cert);
	}
	free(ca->slots);
	X509_free(ca->leaf_template);
	EVP_PKEY_free(ca->leaf_key);
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	free(ca);
}

int ca_leaf(struct ca *ca, const char *host, X509 **cert, EVP_PKEY **key)
{
	time_t now = time(NULL);
	struct ca_leaf_slot *s;
	const char *why;
	struct host h;
	uint32_t hash;
	X509 *x;
	int r;

	if (host_canon(host, strlen(host), &h, &why) < 0 ||
	    !streq(h.text, host)) {
		log_debug("no certificate for a host that is not canonical");
		return -EINVAL;
	}
	if (!ca->slots) {
		r = leaf_setup(ca);
		if (r < 0)
			return r;
	}

	hash = leaf_hash(ca, host);
	s = cache_find(ca, host, hash);
	if (!s || now >= s->renew_at) {
		x = leaf_make(ca, &h, now);
		if (!x)
			return -EIO;
		if (!s)
			s = cache_take(ca, host, hash);
		X509_free(s->cert);
		s->cert = x;
		s->renew_at = now + CA_LEAF_LIFETIME_S - CA_LEAF_RENEW_S;
	}
	*cert = s->cert;
	*key = ca->leaf_key;
	return 0;
}

char *ca_bundle_text(const char *ca_cert_path, const char *const *extra,
		     size_t n_extra)
{
	_cleanup_(bio_freep) BIO *out = BIO_new(BIO_s_mem());
	char *p, *text;
	long len;
	int r;

	if (!out) {
		tls_fail("cannot build the CA bundle");
		return NULL;
	}
	bundle_add_system(out, ca_system_bundle());
	r = bundle_add_certs(out, ca_cert_path);
	if (r <= 0) {
		log_error_errno(r < 0 ? -r : EINVAL, "no certificate in the "
				"CA file %s", ca_cert_path);
		return NULL;
	}
	for (size_t i = 0; i < n_extra; i++) {
		r = bundle_add_certs(out, extra[i]);
		if (r < 0)
			log_debug("extra CA file %s cannot be read (%s); "
				  "skipped", extra[i], strerror(-r));
	}
	len = BIO_get_mem_data(out, &p);
	text = xmalloc((size_t)len + 1);
	memcpy(text, p, (size_t)len);
	text[len] = '\0';
	return text;
}

const char *ca_system_bundle(void)
{
	struct stat st;

	for (size_t i = 0; i < ARRAY_SIZE(system_bundles); i++)
		if (stat(system_bundles[i], &st) == 0 && S_ISREG(st.st_mode))
			return system_bundles[i];
	return NULL;
}

int ca_fingerprint(const X509 *cert, char out[CA_FINGERPRINT_MAX_BYTES])
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (X509_digest(cert, EVP_sha256(), md, &len) != 1 || len != 32) {
		ERR_clear_error();
		return -EIO;
	}
	for (unsigned int i = 0; i < len; i++) {
		out[3 * i] = hex[md[i] >> 4];
		out[3 * i + 1] = hex[md[i] & 0xf];
		out[3 * i + 2] = i + 1 < len ? ':' : '\0';
	}
	return 0;
}
