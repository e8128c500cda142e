/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `airlock ca`: shows the user's CA (making it on first use), prints its
 * certificate's path, exports the certificate so that it can be trusted
 * elsewhere, and replaces the CA with a new one. The work is in
 * src/tls/ca.c; this file parses the command line and prints.
 *
 * Trust position: runs with the caller's own rights, outside any sandbox.
 * It never prints or copies the CA's key; the certificate's subject is
 * escaped before it reaches the terminal.
 */
#include "config.h"

#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"
#include "policy/policy.h"
#include "tls/ca.h"

/* Exit status when the CA cannot be made, read or written. */
#define CA_EXIT_FAILED 1

/* "2026-12-04 07:01:02 UTC" and a NUL. */
#define CA_TIME_TEXT_MAX_BYTES 32

enum ca_action {
	CA_SHOW,
	CA_PATH,
	CA_EXPORT,
	CA_ROTATE,
};

/* The actions, with how many arguments each takes at most. */
static const struct {
	const char *name;
	enum ca_action action;
	int max_args;
} ca_actions[] = {
	{ "show", CA_SHOW, 0 },
	{ "path", CA_PATH, 0 },
	{ "export", CA_EXPORT, 1 },
	{ "rotate", CA_ROTATE, 0 },
};

enum ca_opt {
	OPT_HELP = 256,
};

static const struct option ca_options[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

struct ca_request {
	enum ca_action action;
	const char *file; /* export: NULL or "-" for standard output */
};

/* ---- options ---- */

static int ca_parse(struct ca_request *rq, int argc, char **argv)
{
	const char *name;
	size_t i;
	int c;

	opterr = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", ca_options, NULL)) != -1) {
		if (c != 'h' && c != OPT_HELP)
			return AIRLOCK_EXIT_USAGE; /* getopt said what */
		cli_print_usage(stdout);
		exit(0);
	}
	name = optind < argc ? argv[optind++] : "show";
	for (i = 0; i < ARRAY_SIZE(ca_actions); i++)
		if (streq(ca_actions[i].name, name))
			break;
	if (i == ARRAY_SIZE(ca_actions)) {
		char safe[256];

		log_sanitize(safe, sizeof(safe), name);
		return cli_usage_error("'%s' is not an action of ca (show, "
				       "path, export, rotate)", safe);
	}
	rq->action = ca_actions[i].action;
	if (argc - optind > ca_actions[i].max_args)
		return cli_usage_error("ca %s: extra argument '%s'", name,
				       argv[optind + ca_actions[i].max_args]);
	if (optind < argc)
		rq->file = argv[optind];
	return 0;
}

/* ---- the CA ---- */

/*
 * The home folder as `airlock run` finds it, or NULL (then only
 * $XDG_STATE_HOME can name the state folder). Caller frees.
 */
static char *ca_home(void)
{
	struct policy_load_opts opts = { .no_user_settings = true };
	struct policy_errors errs = { 0 };
	struct policy p = { 0 };
	char *home;

	if (policy_load(&p, &opts, &errs) < 0) {
		policy_errors_free(&errs);
		return NULL;
	}
	home = steal_ptr(&p.home);
	policy_free(&p);
	return home;
}

/* The CA's certificate path, the CA made first if missing. */
static int ca_find(char **cert_path)
{
	_cleanup_free_ char *home = ca_home();
	_cleanup_free_ char *key_path = NULL;

	if (ca_user_ensure(home, cert_path, &key_path) < 0)
		return CA_EXIT_FAILED;
	return 0;
}

static void time_text(const ASN1_TIME *t, char out[CA_TIME_TEXT_MAX_BYTES])
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(out, CA_TIME_TEXT_MAX_BYTES, "%Y-%m-%d %H:%M:%S UTC",
		     &tm) == 0)
		snprintf(out, CA_TIME_TEXT_MAX_BYTES, "(unreadable)");
}

/* Prints the certificate's path, subject, fingerprint and validity. */
static int ca_print(const char *cert_path, const X509 *cert)
{
	char fp[CA_FINGERPRINT_MAX_BYTES];
	char from[CA_TIME_TEXT_MAX_BYTES], to[CA_TIME_TEXT_MAX_BYTES];

	if (ca_fingerprint(cert, fp) < 0) {
		log_error("cannot compute the fingerprint of %s", cert_path);
		return CA_EXIT_FAILED;
	}
	time_text(X509_get0_notBefore(cert), from);
	time_text(X509_get0_notAfter(cert), to);

	printf("certificate: %s\n", cert_path);
	fputs("subject:     ", stdout);
	/* XN_FLAG_ONELINE escapes control and non-ASCII bytes */
	X509_NAME_print_ex_fp(stdout, X509_get_subject_name(cert), 0,
			      XN_FLAG_ONELINE);
	printf("\nsha256:      %s\n", fp);
	printf("not before:  %s\n", from);
	printf("not after:   %s\n", to);
	return 0;
}

/* Writes cert in PEM to file, or to standard output for NULL or "-". */
static int ca_export(const X509 *cert, const char *file)
{
	bool to_stdout = !file || streq(file, "-");
	FILE *f = to_stdout ? stdout : fopen(file, "we");
	int ok;

	if (!f) {
		log_error_errno(errno, "cannot create %s", file);
		return CA_EXIT_FAILED;
	}
	ok = PEM_write_X509(f, cert) == 1;
	if (!to_stdout)
		ok = fclose(f) == 0 && ok;
	if (!ok) {
		log_error_errno(errno, "cannot write %s",
				to_stdout ? "the certificate" : file);
		return CA_EXIT_FAILED;
	}
	return 0;
}

static int ca_rotate(void)
{
	_cleanup_free_ char *home = ca_home();
	_cleanup_free_ char *cert_path = NULL;
	_cleanup_(x509_freep) X509 *cert = NULL;
	char fp[CA_FINGERPRINT_MAX_BYTES];

	if (ca_user_rotate(home, &cert_path) < 0)
		return CA_EXIT_FAILED;
	cert = ca_cert_read(cert_path);
	if (!cert || ca_fingerprint(cert, fp) < 0)
		return CA_EXIT_FAILED;
	printf("new CA: %s\n", cert_path);
	printf("sha256: %s\n", fp);
	printf("Sandboxes started before now keep the old CA until they end; "
	       "new ones trust this one.\nWhere you trusted the old one "
	       "elsewhere, export this one: airlock ca export FILE\n");
	return 0;
}

/* ---- exported ---- */

int cli_ca(int argc, char **argv)
{
	struct ca_request rq = { .action = CA_SHOW };
	_cleanup_free_ char *cert_path = NULL;
	_cleanup_(x509_freep) X509 *cert = NULL;
	int r;

	r = ca_parse(&rq, argc, argv);
	if (r != 0)
		return r;
	if (rq.action == CA_ROTATE)
		return ca_rotate();

	r = ca_find(&cert_path);
	if (r != 0)
		return r;
	if (rq.action == CA_PATH) {
		printf("%s\n", cert_path);
		return 0;
	}
	cert = ca_cert_read(cert_path);
	if (!cert)
		return CA_EXIT_FAILED;
	if (rq.action == CA_EXPORT)
		r = ca_export(cert, rq.file);
	else
		r = ca_print(cert_path, cert);
	if (r == 0 && fflush(stdout) != 0) {
		log_error_errno(errno, "cannot write the output");
		r = CA_EXIT_FAILED;
	}
	return r;
}
