/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/tls/ca.c: the user's CA is made once with private
 * modes and refused when its key is exposed or a symlink; the leaves it
 * signs verify with OpenSSL's strict checks for names and addresses and
 * are cached; rotate replaces the CA; the bundle holds the system's
 * certificates, the CA's and the extra files' certificates only. Each
 * test has its own state folder under /tmp, removed afterwards.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <ftw.h>
#include <limits.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "tls/ca.h"

#define TREE_FDS_MAX 16
/* Processes that make the CA at the same moment. */
#define RACERS 6
/* One more host than the cache keeps. */
#define CACHE_OVERFLOW 4097

struct fixture {
	char state[PATH_MAX];  /* $XDG_STATE_HOME */
	char *ca_dir;          /* state/airlock/ca */
	char *cert_path;
	char *key_path;
};

static int remove_entry(const char *path, const struct stat *st, int type,
			struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	snprintf(f->state, sizeof(f->state), "/tmp/airlock-ca-XXXXXX");
	if (!mkdtemp(f->state))
		return -1;
	f->ca_dir = xasprintf("%s/airlock/ca", f->state);
	setenv("XDG_STATE_HOME", f->state, 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->state, remove_entry, TREE_FDS_MAX, FTW_DEPTH | FTW_PHYS);
	unsetenv("XDG_STATE_HOME");
	free(f->ca_dir);
	free(f->cert_path);
	free(f->key_path);
	free(f);
	return 0;
}

/* Runs ca_user_ensure, which must succeed, into f's paths. */
static void ensure(struct fixture *f)
{
	free(f->cert_path);
	free(f->key_path);
	f->cert_path = f->key_path = NULL;
	assert_int_equal(ca_user_ensure(NULL, &f->cert_path, &f->key_path), 0);
}

static void fingerprint_of(const char *cert_path,
			   char out[CA_FINGERPRINT_MAX_BYTES])
{
	_cleanup_(x509_freep) X509 *x = ca_cert_read(cert_path);

	assert_non_null(x);
	assert_int_equal(ca_fingerprint(x, out), 0);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

/* Out of line: inlined, it trips a false -Wdangling-pointer in gcc. */
__attribute__((noinline)) static char *text_of(const char *path)
{
	char *text = NULL;

	assert_int_equal(read_file(path, 1 << 24, &text), 0);
	return text;
}

/* Replaces the contents of path (made 0600 if missing). */
static void write_text(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC |
				      O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, text, strlen(text)), 0);
}

/* ---- the user's CA ---- */

static void test_ensure_makes_private_files(void **state)
{
	struct fixture *f = *state;
	_cleanup_(x509_freep) X509 *x = NULL;
	_cleanup_free_ char *want_cert = NULL, *want_key = NULL;

	ensure(f);
	want_cert = xasprintf("%s/ca.pem", f->ca_dir);
	want_key = xasprintf("%s/ca.key", f->ca_dir);
	assert_string_equal(f->cert_path, want_cert);
	assert_string_equal(f->key_path, want_key);
	assert_int_equal(mode_of(f->ca_dir), 0700);
	assert_int_equal(mode_of(f->key_path), 0600);
	assert_int_equal(mode_of(f->cert_path), 0644);

	x = ca_cert_read(f->cert_path);
	assert_non_null(x);
	assert_int_equal(X509_check_ca(x), 1);
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	assert_true(X509_get_key_usage(x) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN));
	assert_non_null(X509_get0_subject_key_id(x));
	assert_int_equal(X509_get_pathlen(x), 0);
}

static void test_ensure_keeps_the_ca(void **state)
{
	struct fixture *f = *state;
	char a[CA_FINGERPRINT_MAX_BYTES], b[CA_FINGERPRINT_MAX_BYTES];

	ensure(f);
	fingerprint_of(f->cert_path, a);
	ensure(f);
	fingerprint_of(f->cert_path, b);
	assert_string_equal(a, b);
}

static void test_ensure_refuses_a_readable_key(void **state)
{
	struct fixture *f = *state;
	char *cert = NULL, *key = NULL;

	ensure(f);
	assert_int_equal(chmod(f->key_path, 0644), 0);
	assert_int_equal(ca_user_ensure(NULL, &cert, &key), -EPERM);
	assert_null(cert);
	/* refused, not replaced */
	assert_int_equal(mode_of(f->key_path), 0644);
}

static void test_ensure_refuses_a_symlinked_key(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *elsewhere = NULL;
	char *cert = NULL, *key = NULL;

	ensure(f);
	elsewhere = xasprintf("%s/elsewhere.key", f->state);
	assert_int_equal(rename(f->key_path, elsewhere), 0);
	assert_int_equal(symlink(elsewhere, f->key_path), 0);
	assert_int_equal(ca_user_ensure(NULL, &cert, &key), -EPERM);

	/* the same for the certificate */
	assert_int_equal(unlink(f->key_path), 0);
	assert_int_equal(rename(elsewhere, f->key_path), 0);
	assert_int_equal(rename(f->cert_path, elsewhere), 0);
	assert_int_equal(symlink(elsewhere, f->cert_path), 0);
	assert_int_equal(ca_user_ensure(NULL, &cert, &key), -EPERM);
}

static void test_ensure_refuses_a_mismatched_pair(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *old_cert = NULL;
	char *cert = NULL, *key = NULL;

	ensure(f);
	old_cert = text_of(f->cert_path);
	assert_int_equal(ca_user_rotate(NULL, &cert), 0);
	free(cert);
	cert = NULL;
	/* the new key with the old certificate: a pair no longer */
	write_text(f->cert_path, old_cert);
	assert_int_equal(ca_user_ensure(NULL, &cert, &key), -EINVAL);
	assert_null(ca_load(f->cert_path, f->key_path));
}

static void test_ensure_races_into_one_ca(void **state)
{
	struct fixture *f = *state;
	char fps[RACERS][CA_FINGERPRINT_MAX_BYTES];
	_cleanup_free_ char *temp = NULL;
	int pipes[RACERS][2];
	pid_t pids[RACERS];

	for (int i = 0; i < RACERS; i++) {
		assert_int_equal(pipe(pipes[i]), 0);
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			char *cert = NULL, *key = NULL;
			char fp[CA_FINGERPRINT_MAX_BYTES] = "";
			X509 *x;

			if (ca_user_ensure(NULL, &cert, &key) == 0 &&
			    (x = ca_cert_read(cert)) != NULL)
				ca_fingerprint(x, fp);
			_exit(write(pipes[i][1], fp, sizeof(fp)) ==
			      sizeof(fp) ? 0 : 1);
		}
		close(pipes[i][1]);
	}
	for (int i = 0; i < RACERS; i++) {
		int status;

		assert_int_equal(read_full(pipes[i][0], fps[i], sizeof(fps[i])),
				 sizeof(fps[i]));
		close(pipes[i][0]);
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_int_equal(status, 0);
		assert_int_not_equal(fps[i][0], '\0');
		assert_string_equal(fps[i], fps[0]);
	}
	/* and no temporary file was left behind */
	temp = xasprintf("%s/ca.key.new", f->ca_dir);
	assert_int_equal(access(temp, F_OK), -1);
}

static void test_rotate_replaces_the_ca(void **state)
{
	struct fixture *f = *state;
	char a[CA_FINGERPRINT_MAX_BYTES], b[CA_FINGERPRINT_MAX_BYTES];
	_cleanup_free_ char *cert = NULL;
	struct ca *ca;

	ensure(f);
	fingerprint_of(f->cert_path, a);
	assert_int_equal(ca_user_rotate(NULL, &cert), 0);
	assert_string_equal(cert, f->cert_path);
	fingerprint_of(cert, b);
	assert_string_not_equal(a, b);
	assert_int_equal(mode_of(f->key_path), 0600);
	assert_int_equal(mode_of(f->cert_path), 0644);

	/* the new pair is one, and ensure keeps it */
	ca = ca_load(f->cert_path, f->key_path);
	assert_non_null(ca);
	ca_free(ca);
	ensure(f);
	fingerprint_of(f->cert_path, a);
	assert_string_equal(a, b);
}

/* ---- leaves ---- */

/*
 * Verifies leaf against the CA in cert_path as a TLS server's certificate
 * for host (a name, or an address when ip), with OpenSSL's strict checks.
 * Returns X509_V_OK or the verification error.
 */
static int verify_leaf(const char *cert_path, X509 *leaf, const char *host,
		       bool ip)
{
	_cleanup_(x509_freep) X509 *ca = ca_cert_read(cert_path);
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *vp;
	int r;

	assert_non_null(ca);
	assert_non_null(store);
	assert_non_null(ctx);
	assert_int_equal(X509_STORE_add_cert(store, ca), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
	vp = X509_STORE_CTX_get0_param(ctx);
	r = X509_VERIFY_PARAM_set_purpose(vp, X509_PURPOSE_SSL_SERVER);
	assert_int_equal(r, 1);
	X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_X509_STRICT);
	if (ip)
		assert_int_equal(X509_VERIFY_PARAM_set1_ip_asc(vp, host), 1);
	else
		assert_int_equal(X509_VERIFY_PARAM_set1_host(vp, host, 0), 1);
	r = X509_verify_cert(ctx) == 1 ? X509_V_OK :
					 X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return r;
}

/*
 * The leaf's one subjectAltName entry, as "DNS:name" or "IP:address";
 * *critical says whether the extension is marked critical.
 */
static void san_text(X509 *leaf, char *out, size_t size, bool *critical)
{
	int crit = -1, type = -1;
	GENERAL_NAMES *names = X509_get_ext_d2i(leaf, NID_subject_alt_name,
						&crit, NULL);
	const ASN1_STRING *s;
	char ip[INET6_ADDRSTRLEN];

	assert_non_null(names);
	assert_int_equal(sk_GENERAL_NAME_num(names), 1);
	s = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(names, 0), &type);
	if (type == GEN_DNS) {
		snprintf(out, size, "DNS:%.*s", ASN1_STRING_length(s),
			 (const char *)ASN1_STRING_get0_data(s));
	} else {
		int len = ASN1_STRING_length(s);

		assert_int_equal(type, GEN_IPADD);
		assert_true(len == 4 || len == 16);
		assert_non_null(inet_ntop(len == 4 ? AF_INET : AF_INET6,
					  ASN1_STRING_get0_data(s), ip,
					  sizeof(ip)));
		snprintf(out, size, "IP:%s", ip);
	}
	*critical = crit == 1;
	GENERAL_NAMES_free(names);
}

/* The leaf's common name, or "" when its subject has none. */
static void cn_text(X509 *leaf, char *out, size_t size)
{
	out[0] = '\0';
	X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName,
				  out, (int)size);
}

static struct ca *ca_of(struct fixture *f)
{
	struct ca *ca;

	ensure(f);
	ca = ca_load(f->cert_path, f->key_path);
	assert_non_null(ca);
	return ca;
}

static void test_leaf_verifies(void **state)
{
	static const struct {
		const char *host;
		bool ip;
		const char *san;
		const char *other; /* a host it must not be valid for */
	} cases[] = {
		{ "example.test", false, "DNS:example.test", "other.test" },
		{ "127.0.0.1", true, "IP:127.0.0.1", "127.0.0.2" },
		{ "::1", true, "IP:::1", "::2" },
	};
	struct fixture *f = *state;
	struct ca *ca = ca_of(f);

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char san[128], cn[128];
		bool critical;
		EVP_PKEY *key;
		X509 *leaf;

		assert_int_equal(ca_leaf(ca, cases[i].host, &leaf, &key), 0);
		assert_int_equal(verify_leaf(f->cert_path, leaf, cases[i].host,
					     cases[i].ip), X509_V_OK);
		assert_int_not_equal(verify_leaf(f->cert_path, leaf,
						 cases[i].other, cases[i].ip),
				     X509_V_OK);
		assert_int_equal(X509_check_private_key(leaf, key), 1);
		san_text(leaf, san, sizeof(san), &critical);
		assert_string_equal(san, cases[i].san);
		assert_false(critical);
		cn_text(leaf, cn, sizeof(cn));
		assert_string_equal(cn, cases[i].host);
		assert_int_equal(X509_check_ca(leaf), 0);
		assert_true(X509_get_extended_key_usage(leaf) ==
			    XKU_SSL_SERVER);
		assert_true(X509_get_key_usage(leaf) == KU_DIGITAL_SIGNATURE);
		assert_non_null(X509_get0_authority_key_id(leaf));
	}
	ca_free(ca);
}

static void test_leaf_long_name(void **state)
{
	static const char host[] = "a-label-of-forty-characters-or-so-000001."
				   "another-label-of-thirty-chars.example.test";
	struct fixture *f = *state;
	struct ca *ca = ca_of(f);
	char san[256], cn[128];
	bool critical;
	EVP_PKEY *key;
	X509 *leaf;

	assert_true(strlen(host) > 64);
	assert_int_equal(ca_leaf(ca, host, &leaf, &key), 0);
	assert_int_equal(verify_leaf(f->cert_path, leaf, host, false),
			 X509_V_OK);
	san_text(leaf, san, sizeof(san), &critical);
	assert_true(strncmp(san, "DNS:", 4) == 0 && streq(san + 4, host));
	/* no common name: the subject is empty and the SAN critical */
	assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(leaf)), 0);
	assert_true(critical);
	cn_text(leaf, cn, sizeof(cn));
	assert_string_equal(cn, "");
	ca_free(ca);
}

static void test_leaf_refuses_odd_hosts(void **state)
{
	static const char *const hosts[] = {
		"", "Example.test", "example.test.", "a b", "a,DNS:evil.test",
		"[::1]", "127.1", "*.example.test",
	};
	struct fixture *f = *state;
	struct ca *ca = ca_of(f);
	EVP_PKEY *key;
	X509 *leaf;

	for (size_t i = 0; i < ARRAY_SIZE(hosts); i++)
		assert_int_equal(ca_leaf(ca, hosts[i], &leaf, &key), -EINVAL);
	ca_free(ca);
}

static void test_leaf_is_cached(void **state)
{
	struct fixture *f = *state;
	struct ca *ca = ca_of(f);
	ASN1_INTEGER *first_serial;
	X509 *a, *b, *c;
	EVP_PKEY *ka, *kb, *kc;
	char host[64];

	assert_int_equal(ca_leaf(ca, "one.test", &a, &ka), 0);
	assert_int_equal(ca_leaf(ca, "two.test", &b, &kb), 0);
	assert_ptr_not_equal(a, b);
	assert_ptr_equal(ka, kb); /* one key for every leaf */
	assert_int_equal(ca_leaf(ca, "one.test", &c, &kc), 0);
	assert_ptr_equal(a, c);
	first_serial = ASN1_INTEGER_dup(X509_get0_serialNumber(a));
	assert_non_null(first_serial);

	/* a full cache lets the oldest host go, then makes its leaf anew */
	for (int i = 0; i < CACHE_OVERFLOW; i++) {
		snprintf(host, sizeof(host), "h%d.test", i);
		assert_int_equal(ca_leaf(ca, host, &c, &kc), 0);
	}
	assert_int_equal(ca_leaf(ca, "h4096.test", &b, &kb), 0);
	assert_ptr_equal(b, c);
	assert_int_equal(ca_leaf(ca, "one.test", &a, &ka), 0);
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(a),
					      first_serial), 0);
	assert_int_equal(verify_leaf(f->cert_path, a, "one.test", false),
			 X509_V_OK);
	assert_int_equal(ca_leaf(ca, "h5.test", &c, &kc), 0);
	assert_int_equal(verify_leaf(f->cert_path, c, "h5.test", false),
			 X509_V_OK);
	ASN1_INTEGER_free(first_serial);
	ca_free(ca);
}

/* ---- the bundle ---- */

/* The first certificate block of the file path. Caller frees. */
static char *first_block(const char *path)
{
	_cleanup_free_ char *text = text_of(path);
	char *begin = strstr(text, "-----BEGIN CERTIFICATE-----");
	char *end = begin ? strstr(begin, "-----END CERTIFICATE-----") : NULL;

	if (!end)
		fail_msg("no certificate in %s", path);
	return xstrndup(begin, (size_t)(end - begin));
}

static void test_bundle_text(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *extra = NULL, *missing = NULL;
	_cleanup_free_ char *ca_text = NULL, *out = NULL, *sys_first = NULL;
	_cleanup_free_ char *other_text = NULL, *other_key = NULL;
	_cleanup_free_ char *other = NULL, *nothing = NULL;
	const char *extras[2];
	char *cert = NULL;

	ensure(f);
	ca_text = text_of(f->cert_path);
	/* an extra file: another CA's certificate beside its key */
	assert_int_equal(ca_user_rotate(NULL, &cert), 0);
	free(cert);
	other_text = text_of(f->cert_path);
	other_key = text_of(f->key_path);
	other = xasprintf("%s%s", other_key, other_text);
	write_text(f->cert_path, ca_text); /* the first CA's file again */
	extra = xasprintf("%s/extra.pem", f->state);
	write_text(extra, other);
	missing = xasprintf("%s/missing.pem", f->state);
	extras[0] = missing;
	extras[1] = extra;

	out = ca_bundle_text(f->cert_path, extras, 2);
	assert_non_null(out);
	assert_non_null(strstr(out, ca_text));
	assert_non_null(strstr(out, other_text));
	assert_null(strstr(out, "PRIVATE KEY"));
	if (ca_system_bundle()) {
		sys_first = first_block(ca_system_bundle());
		assert_non_null(strstr(out, sys_first));
		/* the system's first, then airlock's */
		assert_true(strstr(out, sys_first) < strstr(out, ca_text));
	}
	/* a CA file without a certificate is an error, not an empty trust */
	write_text(extra, other_key);
	nothing = ca_bundle_text(extra, NULL, 0);
	assert_null(nothing);
}

#define TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_ensure_makes_private_files),
		TEST(test_ensure_keeps_the_ca),
		TEST(test_ensure_refuses_a_readable_key),
		TEST(test_ensure_refuses_a_symlinked_key),
		TEST(test_ensure_refuses_a_mismatched_pair),
		TEST(test_ensure_races_into_one_ca),
		TEST(test_rotate_replaces_the_ca),
		TEST(test_leaf_verifies),
		TEST(test_leaf_long_name),
		TEST(test_leaf_refuses_odd_hosts),
		TEST(test_leaf_is_cached),
		TEST(test_bundle_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
