/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the policy loader: profiles, the settings schema, error
 * positions and suggestions, merging, path resolution, limits and the
 * environment. Files live in $AIRLOCK_TEST_DATA; short cases are given
 * as text through policy_load_buffer.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strv.h"
#include "common/util.h"
#include "policy/policy-internal.h"
#include "policy/policy.h"

#define WS "/w/proj"
#define HOME "/home/u"
#define GIB (1024ULL * 1024 * 1024)

static const char *data_dir(void)
{
	const char *d = getenv("AIRLOCK_TEST_DATA");

	return d ? d : "tests/unit/data";
}

static char *data_path(const char *name)
{
	return xasprintf("%s/%s", data_dir(), name);
}

static size_t count_of(const char *const *list)
{
	size_t n = 0;

	while (list[n])
		n++;
	return n;
}

/* Loads the named data files (NULL-terminated) over the workspace profile. */
static int load_files(struct policy *p, struct policy_errors *errs,
		      const char *profile, const char *first, ...)
{
	const char *files[8] = { NULL };
	char *owned[8] = { NULL };
	struct policy_load_opts opts = {
		.profile = profile,
		.files = files,
		.workspace = WS,
		.home = HOME,
	};
	size_t n = 0;
	va_list ap;
	int r;

	va_start(ap, first);
	for (const char *f = first; f && n < 7; f = va_arg(ap, const char *)) {
		owned[n] = data_path(f);
		files[n] = owned[n];
		n++;
	}
	va_end(ap);
	r = policy_load(p, &opts, errs);
	for (size_t i = 0; i < n; i++)
		free(owned[i]);
	return r;
}

static int load_text(struct policy *p, struct policy_errors *errs,
		     const char *text)
{
	struct policy_load_opts opts = { .workspace = WS, .home = HOME };

	return policy_load_buffer(p, &opts, "test.json", text, strlen(text),
				  errs);
}

static const struct policy_error *error_for(const struct policy_errors *errs,
					    const char *key)
{
	for (size_t i = 0; i < errs->len; i++)
		if (errs->items[i].key && streq(errs->items[i].key, key))
			return &errs->items[i];
	return NULL;
}

static void assert_error(const struct policy_errors *errs, const char *key,
			 int line, int column, const char *text)
{
	const struct policy_error *e = error_for(errs, key);

	/* cmocka's failures are not marked noreturn: return explicitly */
	if (!e) {
		fail_msg("no error for key %s", key);
		return;
	}
	if (e->line != line || e->column != column)
		fail_msg("%s: at %d:%d, not %d:%d (%s)", key, e->line,
			 e->column, line, column, e->message);
	if (!strstr(e->message, text))
		fail_msg("%s: \"%s\" lacks \"%s\"", key, e->message, text);
}

static char *errors_text(const struct policy_errors *errs)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	policy_errors_print(errs, f);
	fclose(f);
	return buf;
}

static char *policy_text(const struct policy *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	policy_print(p, f);
	fclose(f);
	return buf;
}

static void assert_list(const struct strv *v, const char *const *want)
{
	size_t n = count_of(want);

	for (size_t i = 0; i < n && i < v->len; i++)
		assert_string_equal(v->items[i], want[i]);
	assert_int_equal(v->len, n);
}

/* ---- profiles and defaults ---- */

static void test_defaults_without_file(void **state)
{
	struct policy_load_opts opts = {
		.workspace = WS "/./sub/..//",
		.home = HOME "/",
		.no_user_settings = true,
	};
	struct policy_errors errs = { 0 };
	struct policy p;

	assert_int_equal(policy_load(&p, &opts, &errs), 0);
	assert_int_equal(errs.len, 0);
	assert_string_equal(p.profile, "workspace");
	assert_string_equal(p.workspace, WS);
	assert_string_equal(p.home, HOME);
	assert_int_equal(p.sources.len, 0);
	assert_list(&p.allow_write, (const char *[]){ WS, NULL });
	assert_true(p.read_system);
	assert_false(p.allow_git_config);
	assert_int_equal(p.allowed_domains.len, 0);
	assert_int_equal(p.mask.len, count_of(policy_default_masks));
	assert_true(strv_contains(&p.mask, HOME "/.ssh"));
	assert_true(strv_contains(&p.mask, "/etc/ssh/ssh_host_*_key"));
	assert_true(strv_contains(&p.mask, ".env"));
	assert_int_equal(p.protect.len, count_of(policy_default_protected));
	assert_true(strv_contains(&p.protect, ".git/hooks"));
	assert_int_equal(p.limits.processes, 4096);
	assert_int_equal(p.limits.memory_bytes, 8 * GIB);
	assert_int_equal(p.limits.cpu_seconds, 0);
	assert_int_equal(p.limits.open_files, 0);
	assert_int_equal(p.limits.file_size_bytes, 0);
	assert_int_equal(p.limits.timeout_seconds, 0);
	policy_free(&p);
}

static void test_profile_readonly(void **state)
{
	struct policy_load_opts opts = {
		.profile = "readonly",
		.workspace = WS,
		.home = HOME,
		.no_user_settings = true,
	};
	struct policy p;

	assert_int_equal(policy_load(&p, &opts, NULL), 0);
	assert_string_equal(p.profile, "readonly");
	assert_int_equal(p.allow_write.len, 0);
	assert_true(p.read_system);
	assert_int_equal(p.mask.len, count_of(policy_default_masks));
	assert_int_equal(p.limits.processes, 4096);
	policy_free(&p);
}

static void test_profile_names(void **state)
{
	const char *const *names = policy_profile_names();

	assert_int_equal(count_of(names), 3);
	assert_string_equal(names[0], "workspace");
	assert_string_equal(names[1], "readonly");
	assert_string_equal(names[2], "claude-code");
}

static void test_profile_unknown(void **state)
{
	struct policy_load_opts opts = {
		.profile = "readolny",
		.workspace = WS,
		.home = HOME,
		.no_user_settings = true,
	};
	struct policy_errors errs = { 0 };
	struct policy p;

	assert_int_equal(policy_load(&p, &opts, &errs), -EINVAL);
	assert_int_equal(errs.len, 1);
	assert_null(errs.items[0].file);
	assert_non_null(strstr(errs.items[0].message, "\"readolny\""));
	assert_non_null(strstr(errs.items[0].message, "did you mean "
						      "\"readonly\""));
	assert_non_null(strstr(errs.items[0].message,
			       "(profiles: workspace, readonly, claude-code)"));
	assert_null(p.profile);
	assert_null(p.workspace);
	policy_errors_free(&errs);
}

/* ---- sources ---- */

static void test_srt_file_accepted(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy p;
	int r = load_files(&p, &errs, NULL, "srt-settings.json", NULL);

	if (r != 0) {
		_cleanup_free_ char *t = errors_text(&errs);

		fail_msg("srt file refused:\n%s", t);
	}
	assert_int_equal(p.sources.len, 1);
	assert_true(p.sources.items[0][0] == '/');
	assert_null(strstr(p.sources.items[0], "/./"));
	assert_non_null(strstr(p.sources.items[0], "/srt-settings.json"));
	assert_list(&p.allowed_domains,
		    (const char *[]){ "pypi.org", "*.pythonhosted.org",
				      "registry.yarnpkg.com:443",
				      "[::1]:8080", "localhost", NULL });
	assert_list(&p.denied_domains,
		    (const char *[]){ "tracker.example.net", "*:25", NULL });
	assert_int_equal(p.n_denied_domain_reasons, 1);
	assert_string_equal(p.denied_domain_reasons[0].name, "*:25");
	assert_string_equal(p.denied_domain_reasons[0].value,
			    "no outgoing mail from the sandbox");
	assert_list(&p.allow_unix_sockets,
		    (const char *[]){ "/run/user/1000/bus", NULL });
	assert_false(p.allow_all_unix_sockets);
	assert_true(p.allow_local_binding);
	assert_true(p.allow_git_config);

	assert_list(&p.deny_read,
		    (const char *[]){ HOME "/.ssh", "/srv/private", NULL });
	assert_list(&p.allow_read,
		    (const char *[]){ "/srv/private/public", NULL });
	assert_list(&p.allow_write,
		    (const char *[]){ WS, WS "/build", "/tmp", NULL });
	assert_list(&p.deny_write,
		    (const char *[]){ WS "/.env.production",
				      WS "/deploy/keys", NULL });
	assert_int_equal(p.env_pass.len, 0);
	/* no CA named: airlock's own is used (the e2e tests run this file) */
	assert_null(p.tls_ca_cert);
	assert_null(p.tls_ca_key);
	assert_list(&p.tls_exclude,
		    (const char *[]){ "mtls.example.org", NULL });
	assert_list(&p.tls_extra_ca,
		    (const char *[]){ "/etc/ca/extra.pem", NULL });
	assert_int_equal(p.upstream_ca.len, 0);
	policy_free(&p);
}

static void assert_srt_credential(const struct policy_credential *c,
				  const char *name, const char *from,
				  const char *const *hosts)
{
	assert_string_equal(c->name, name);
	assert_string_equal(c->from, from);
	assert_true(c->optional);
	assert_int_equal(c->use, POLICY_CRED_PLACEHOLDER);
	assert_false(c->body);
	assert_null(c->header);
	assert_int_equal(c->command.len, 0);
	assert_list(&c->hosts, hosts);
}

/* srt's credentials section: the same file as above */
static void test_srt_credentials(void **state)
{
	static const char *const none[] = { NULL };
	static const char *const pypi[] = { "pypi.org", NULL };
	struct policy_errors errs = { 0 };
	const struct policy_credential *c;
	struct policy p;

	assert_int_equal(load_files(&p, &errs, NULL, "srt-settings.json",
				    NULL), 0);

	/* files: "deny" is a mask, "mask" a placeholder in the file */
	assert_true(strv_contains(&p.mask, HOME "/.config/tool/token"));
	assert_int_equal(p.n_credentials, 5);
	c = &p.credentials[0];
	assert_srt_credential(c, ".netrc", HOME "/.netrc", pypi);
	assert_int_equal(c->source, POLICY_CRED_FROM_FILE);
	assert_string_equal(c->file, HOME "/.netrc");
	assert_null(c->env);
	c = &p.credentials[1];
	assert_srt_credential(c, ".jwt", HOME "/.jwt", none);
	assert_string_equal(c->file, HOME "/.jwt");

	/* a file shown with a placeholder is masked as well, fail closed */
	assert_true(strv_contains(&p.mask, HOME "/.netrc"));
	assert_true(strv_contains(&p.mask, HOME "/.jwt"));

	/* envVars: "deny" never passes, "mask" is a placeholder variable */
	assert_list(&p.deny_env, (const char *[]){ "DEPLOY_CONN", NULL });
	c = &p.credentials[2];
	assert_srt_credential(c, "REGISTRY_PASSWORD", "REGISTRY_PASSWORD",
			      pypi);
	assert_int_equal(c->source, POLICY_CRED_FROM_ENV);
	assert_string_equal(c->env, "REGISTRY_PASSWORD");
	assert_null(c->file);
	assert_srt_credential(&p.credentials[3], "ID_AK", "ID_AK", none);
	assert_srt_credential(&p.credentials[4], "ID_SK", "ID_SK", none);
	assert_true(p.allow_plaintext_inject);
	policy_free(&p);
}

/* Two srt files of the same base name get distinct credential names. */
static void test_srt_credential_names(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy p;

	assert_int_equal(
		load_text(&p, &errs,
			  "{\"credentials\": {\"files\": ["
			  "{\"path\": \"a/token\", \"mode\": \"mask\"},"
			  "{\"path\": \"b/token\", \"mode\": \"mask\"},"
			  "{\"path\": \"/srv/my token\", \"mode\": \"mask\"}],"
			  "\"secrets\": [{\"name\": \"token-3\", \"from\": "
			  "{\"env\": \"T\"}, \"hosts\": [\"x.example\"]}]}}"),
		0);
	assert_int_equal(p.n_credentials, 4);
	assert_string_equal(p.credentials[0].name, "token");
	assert_string_equal(p.credentials[0].file, WS "/a/token");
	assert_string_equal(p.credentials[1].name, "token-2");
	assert_string_equal(p.credentials[1].file, WS "/b/token");
	assert_string_equal(p.credentials[2].name, "my_token");
	assert_string_equal(p.credentials[3].name, "token-3");
	policy_free(&p);

	/* an explicit name that an srt entry took first is an error */
	assert_int_equal(
		load_text(&p, &errs,
			  "{\"credentials\": {\"envVars\": ["
			  "{\"name\": \"GH_TOKEN\", \"mode\": \"mask\"}],\n"
			  "\"secrets\": [{\"name\": \"GH_TOKEN\", \"from\": "
			  "{\"command\": [\"gh\", \"auth\", \"token\"]}, "
			  "\"use\": \"inject\", \"hosts\": [\"api.github.com\"]}]}}"),
		-EINVAL);
	assert_error(&errs, "credentials.secrets[0].name", 2, 14,
		     "\"GH_TOKEN\" is taken already by credential "
		     "\"GH_TOKEN\", at test.json:1:30");
	assert_int_equal(errs.len, 1);
	policy_errors_free(&errs);
}

/* Keys of srt's structured masking are refused where they stand. */
static void test_srt_structured_refused(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy p;

	assert_int_equal(
		load_text(&p, &errs,
			  "{\"credentials\": {\"files\": [\n"
			  " {\"path\": \"~/.netrc\", \"mode\": \"mask\", "
			  "\"extract\": \"password (\\\\S+)\"},\n"
			  " {\"path\": \"~/.jwt\", \"mode\": \"mask\", "
			  "\"decode\": \"jwt\", \"maskClaims\": [\"sub\"]},\n"
			  " {\"path\": \"~/.x\", \"mode\": \"mask\", "
			  "\"maskDuplicates\": true, \"onExtractNoMatch\": "
			  "\"warn\"}],\n"
			  "\"envVars\": [{\"name\": \"DB\", \"mode\": \"mask\", "
			  "\"scanVerbatim\": true}],\n"
			  "\"awsPairs\": [],\n"
			  "\"sigv4\": {}}}"),
		-EINVAL);
	assert_error(&errs, "credentials.files[0].extract", 2, 39,
		     "\"extract\" is part of srt's structured masking, which "
		     "airlock does not support yet; mask the whole value or "
		     "file instead");
	assert_error(&errs, "credentials.files[1].decode", 3, 37,
		     "\"decode\" is part of srt's structured masking");
	assert_error(&errs, "credentials.files[1].maskClaims", 3, 54,
		     "\"maskClaims\" is part");
	assert_error(&errs, "credentials.files[2].maskDuplicates", 4, 35,
		     "\"maskDuplicates\" is part");
	assert_error(&errs, "credentials.files[2].onExtractNoMatch", 4, 59,
		     "\"onExtractNoMatch\" is part");
	assert_error(&errs, "credentials.envVars[0].scanVerbatim", 5, 44,
		     "\"scanVerbatim\" is part");
	assert_error(&errs, "credentials.awsPairs", 6, 1,
		     "\"awsPairs\" is part");
	assert_error(&errs, "credentials.sigv4", 7, 1, "\"sigv4\" is part");
	assert_int_equal(errs.len, 8);
	policy_errors_free(&errs);
}

static void test_explicit_file_missing(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy p;

	assert_int_equal(load_files(&p, &errs, NULL, "no-such.json", NULL),
			 -EINVAL);
	assert_int_equal(errs.len, 1);
	assert_non_null(strstr(errs.items[0].file, "no-such.json"));
	assert_int_equal(errs.items[0].line, 0);
	assert_non_null(strstr(errs.items[0].message,
			       "No such file or directory"));
	policy_errors_free(&errs);
}

static int load_with_home(struct policy *p, const char *home_dir,
			  const char *workspace, bool no_user)
{
	_cleanup_free_ char *home = data_path(home_dir);
	struct policy_load_opts opts = {
		.workspace = workspace ? workspace : WS,
		.home = home,
		.no_user_settings = no_user,
	};

	return policy_load(p, &opts, NULL);
}

static void test_user_file_order(void **state)
{
	struct policy p;

	/* both files there: airlock's own wins, the other is not read */
	assert_int_equal(load_with_home(&p, "home-airlock", NULL, false), 0);
	assert_int_equal(p.sources.len, 1);
	assert_non_null(strstr(p.sources.items[0],
			       "/.config/airlock/settings.json"));
	assert_int_equal(p.limits.processes, 11);
	policy_free(&p);

	assert_int_equal(load_with_home(&p, "home-srt", NULL, false), 0);
	assert_int_equal(p.sources.len, 1);
	assert_non_null(strstr(p.sources.items[0], "/.srt-settings.json"));
	assert_int_equal(p.limits.processes, 33);
	policy_free(&p);

	assert_int_equal(load_with_home(&p, "home-airlock", NULL, true), 0);
	assert_int_equal(p.sources.len, 0);
	assert_int_equal(p.limits.processes, 4096);
	policy_free(&p);
}

static void test_user_file_in_workspace_skipped(void **state)
{
	_cleanup_free_ char *home = data_path("home-srt");
	_cleanup_free_ char *cwd = getcwd(NULL, 0);
	_cleanup_free_ char *ws = NULL;
	struct policy p;

	ws = home[0] == '/' ? xstrdup(home) : xasprintf("%s/%s", cwd, home);
	assert_int_equal(load_with_home(&p, "home-srt", ws, false), 0);
	assert_int_equal(p.sources.len, 0);
	assert_int_equal(p.limits.processes, 4096);
	policy_free(&p);
}

static void test_merge_order(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy p;

	assert_int_equal(load_files(&p, &errs, NULL, "merge-a.json",
				    "merge-b.json", NULL), 0);
	assert_int_equal(p.sources.len, 2);
	assert_non_null(strstr(p.sources.items[0], "merge-a.json"));
	assert_non_null(strstr(p.sources.items[1], "merge-b.json"));

	/* lists add up, each entry once, after the profile's */
	assert_list(&p.allow_write,
		    (const char *[]){ WS, WS "/out", WS "/cache", NULL });
	assert_list(&p.allowed_domains,
		    (const char *[]){ "a.example", "b.example", NULL });
	assert_list(&p.denied_domains, (const char *[]){ "x.example", NULL });

	/* scalars and map entries: the later file wins */
	assert_false(p.allow_git_config);
	assert_int_equal(p.limits.memory_bytes, 2 * GIB);
	assert_int_equal(p.limits.timeout_seconds, 60);
	assert_int_equal(p.n_denied_domain_reasons, 1);
	assert_string_equal(p.denied_domain_reasons[0].value, "second reason");
	assert_int_equal(p.n_env_set, 2);
	assert_string_equal(p.env_set[0].name, "MODE");
	assert_string_equal(p.env_set[0].value, "b");
	assert_string_equal(p.env_set[1].name, "ONLY_A");

	/* b unmasks what a masked */
	assert_false(strv_contains(&p.mask, "local.secret"));
	assert_int_equal(p.mask.len, count_of(policy_default_masks));
	policy_free(&p);

	/* the other order: a adds the mask back after b has nothing to drop */
	assert_int_equal(load_files(&p, &errs, NULL, "merge-b.json",
				    "merge-a.json", NULL), -EINVAL);
	assert_error(&errs, "filesystem.unmask[0]", 2, 86,
		     "\"local.secret\" is not in the mask list");
	policy_errors_free(&errs);
}

/* ---- errors ---- */

static void test_errors_all_reported(void **state)
{
	struct policy_errors errs = { 0 };
	const struct policy_error *e;
	struct policy p;

	assert_int_equal(load_files(&p, &errs, NULL, "errors.json", NULL),
			 -EINVAL);
	assert_int_equal(errs.len, 13);
	assert_error(&errs, "network.allowedDomain", 3, 5,
		     "unknown key; did you mean \"allowedDomains\"?");
	assert_error(&errs, "network.allowedDomains", 4, 5,
		     "expected an array of strings");
	assert_error(&errs, "network.deniedDomains[1]", 5, 37,
		     "expected a string");
	assert_error(&errs, "network.allowLocalBinding", 6, 5,
		     "expected true or false");
	assert_error(&errs, "filesystem.denyRaed", 9, 5,
		     "did you mean \"denyRead\"?");
	assert_error(&errs, "filesystem.allowWrite[1]", 10, 25,
		     "expected a string");
	assert_error(&errs, "filesystem.readSystem", 11, 5,
		     "expected true or false");
	assert_error(&errs, "limits.memory", 13, 14, "expected a size");
	assert_error(&errs, "limits.processes", 13, 32,
		     "whole number from 0 up");
	assert_error(&errs, "env.pass", 14, 11,
		     "expected an array of strings");
	assert_error(&errs, "env.set.TOKEN", 14, 35, "expected a string");
	assert_error(&errs, "allowWrite", 15, 3,
		     "it belongs in \"filesystem\"");
	assert_error(&errs, "frobnicate", 16, 3, "unknown key");
	e = error_for(&errs, "frobnicate");
	assert_non_null(e);
	if (e)
		assert_string_equal(e->message, "unknown key");

	/* in the order of the file */
	for (size_t i = 1; i < errs.len; i++)
		assert_true(errs.items[i - 1].line <= errs.items[i].line);
	for (size_t i = 0; i < errs.len; i++)
		assert_non_null(strstr(errs.items[i].file, "errors.json"));
	assert_null(p.workspace);
	policy_errors_free(&errs);
}

static void test_errors_print_format(void **state)
{
	struct policy_errors errs = { 0 };
	_cleanup_free_ char *text = NULL;

	policy_error_add(&errs, "a.json", 3, 7, "network.x", "unknown key");
	policy_error_add(&errs, "b.json", 0, 0, NULL, "cannot read: %s",
			 "gone");
	policy_error_add(&errs, NULL, 0, 0, NULL, "unknown profile");
	policy_error_add(&errs, "c.json", 2, 0, "k\x1b[2J", "bad");
	text = errors_text(&errs);
	assert_string_equal(text, "a.json:3:7: network.x: unknown key\n"
				  "b.json: cannot read: gone\n"
				  "unknown profile\n"
				  "c.json:2: k\\x1b[2J: bad\n");
	policy_errors_free(&errs);
	assert_int_equal(errs.len, 0);
}

static void test_syntax_error_position(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy p;

	assert_int_equal(load_files(&p, &errs, NULL, "syntax.json", NULL),
			 -EINVAL);
	assert_int_equal(errs.len, 1);
	assert_int_equal(errs.items[0].line, 4);
	assert_int_equal(errs.items[0].column, 3);
	assert_null(errs.items[0].key);
	assert_non_null(strstr(errs.items[0].message, "invalid JSON"));
	policy_errors_free(&errs);
}

static void test_duplicate_key(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy p;

	assert_int_equal(load_text(&p, &errs, "{\"env\": {},\n \"env\": {}}"),
			 -EINVAL);
	assert_int_equal(errs.len, 1);
	assert_int_equal(errs.items[0].line, 2);
	assert_non_null(strstr(errs.items[0].message, "duplicate"));
	policy_errors_free(&errs);
}

static void test_not_an_object(void **state)
{
	static const char *const texts[] = { "[]", "", "  ", "{}{}", "null" };
	struct policy_errors errs = { 0 };
	struct policy p;

	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		assert_int_equal(load_text(&p, &errs, texts[i]), -EINVAL);
		assert_int_equal(errs.len, 1);
		policy_errors_free(&errs);
	}
}

static void test_nul_byte_refused(void **state)
{
	static const char text[] = "{\"env\": {}}\0{\"x\": 1}";
	struct policy_load_opts opts = { .workspace = WS, .home = HOME };
	struct policy_errors errs = { 0 };
	struct policy p;

	assert_int_equal(policy_load_buffer(&p, &opts, "nul.json", text,
					    sizeof(text) - 1, &errs),
			 -EINVAL);
	assert_int_equal(errs.len, 1);
	policy_errors_free(&errs);
}

static void test_suggest_key(void **state)
{
	static const char *const net[] = {
		"allowedDomains", "deniedDomains", "allowLocalBinding", NULL,
	};
	static const char *const fs[] = {
		"denyRead", "allowRead", "allowWrite", "denyWrite", NULL,
	};

	assert_string_equal(policy_suggest_key("allowedDomain", net),
			    "allowedDomains");
	assert_string_equal(policy_suggest_key("alowedDomainz", net),
			    "allowedDomains");
	assert_string_equal(policy_suggest_key("denyRaed", fs), "denyRead");
	assert_string_equal(policy_suggest_key("AllowWrite", fs),
			    "allowWrite");
	assert_string_equal(policy_suggest_key("denyRead", fs), "denyRead");
	assert_null(policy_suggest_key("frobnicate", fs));
	assert_null(policy_suggest_key("xyz", fs));
	assert_null(policy_suggest_key("", fs));
	assert_null(policy_suggest_key("denyRead", NULL));
}

static void test_unknown_key_suggestions_nested(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy p;

	assert_int_equal(
		load_text(&p, &errs,
			  "{\"credentials\": {\"files\": [{\"path\": \"a\", "
			  "\"mode\": \"deny\", \"modee\": 1}]},\n"
			  "\"network\": {\"mitmProxy\": {\"socketPth\": \"/s\","
			  " \"domains\": [\"a.example\"]}},\n"
			  "\"filesystem\": {\"allowedDomains\": []}}"),
		-EINVAL);
	assert_error(&errs, "credentials.files[0].modee", 1, 58,
		     "did you mean \"mode\"?");
	assert_error(&errs, "network.mitmProxy.socketPth", 2, 27,
		     "did you mean \"socketPath\"?");
	assert_error(&errs, "network.mitmProxy", 2, 13,
		     "missing required key \"socketPath\"");
	assert_error(&errs, "filesystem.allowedDomains", 3, 16,
		     "it belongs in \"network\"");
	assert_int_equal(errs.len, 4);
	policy_errors_free(&errs);
}

static void test_srt_types_checked(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy p;

	assert_int_equal(
		load_text(&p, &errs,
			  "{\"network\": {\"httpProxyPort\": 70000, "
			  "\"socksProxyPort\": 1.5, \"filterRequest\": \"x\"},"
			  "\"credentials\": {\"files\": [{\"path\": \"a\", "
			  "\"mode\": \"maybe\"}], \"envVars\": [{\"name\": "
			  "\"1X\", \"mode\": \"deny\"}]},"
			  "\"mandatoryDenySearchDepth\": 0,"
			  "\"ignoreViolations\": {\"*\": [\"/a\", 3]},"
			  "\"windows\": {\"proxyPortRange\": [1]},"
			  "\"allowPty\": null}"),
		-EINVAL);
	assert_error(&errs, "network.httpProxyPort", 1, 14,
		     "must be from 1 to 65535");
	assert_error(&errs, "network.socksProxyPort", 1, 38,
		     "expected a whole number");
	assert_error(&errs, "network.filterRequest", 1, 61,
		     "library API only");
	assert_error(&errs, "credentials.files[0].mode", 1, 123,
		     "expected \"deny\" or \"mask\"");
	assert_error(&errs, "credentials.envVars[0].name", 1, 155,
		     "not a valid environment variable name");
	assert_error(&errs, "mandatoryDenySearchDepth", 1, 187,
		     "must be from 1 to 10");
	assert_error(&errs, "ignoreViolations.*[1]", 1, 250,
		     "expected a string");
	assert_error(&errs, "windows.proxyPortRange", 1, 266,
		     "expected [low, high]");
	assert_error(&errs, "allowPty", 1, 289, "expected true or false");
	assert_int_equal(errs.len, 9);
	policy_errors_free(&errs);
}

static void test_too_many_errors(void **state)
{
	struct policy_errors errs = { 0 };
	_cleanup_free_ char *text = NULL;
	struct policy p;
	size_t n = 0;

	text = xmalloc(4096);
	n += (size_t)sprintf(text, "{\"filesystem\": {\"denyRead\": [1");
	for (int i = 0; i < 300; i++)
		n += (size_t)sprintf(text + n, ",1");
	strcpy(text + n, "]}}");
	assert_int_equal(load_text(&p, &errs, text), -EINVAL);
	assert_int_equal(errs.len, POLICY_ERRORS_MAX + 1);
	assert_string_equal(errs.items[POLICY_ERRORS_MAX].message,
			    "too many errors; the rest are not shown");
	assert_string_equal(errs.items[0].key, "filesystem.denyRead[0]");
	policy_errors_free(&errs);
}

static void test_array_too_long(void **state)
{
	struct policy_errors errs = { 0 };
	_cleanup_free_ char *text = NULL;
	struct policy p;
	size_t n = 0;

	text = xmalloc(64 * 1024);
	n += (size_t)sprintf(text, "{\"network\": {\"deniedDomains\": [\"a.b\"");
	for (int i = 0; i < 10000; i++)
		n += (size_t)sprintf(text + n, ",\"a.b\"");
	strcpy(text + n, "]}}");
	assert_int_equal(load_text(&p, &errs, text), -EINVAL);
	assert_int_equal(errs.len, 1);
	assert_error(&errs, "network.deniedDomains", 1, 14,
		     "more than 10000 entries");
	policy_errors_free(&errs);
}

/* ---- resolution ---- */

static void test_path_resolution(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy p;

	assert_int_equal(load_files(&p, &errs, NULL, "paths.json", NULL), 0);
	assert_list(&p.allow_write,
		    (const char *[]){ WS, HOME, HOME "/y", WS "/src/lib",
				      "/w/other", "/abs/p", WS "/build/*.o",
				      WS "/gen", "/", NULL });
	/* only the write rules drop a trailing slash-star-star */
	assert_list(&p.deny_read,
		    (const char *[]){ HOME "/.cache/[ab]?/*", WS "/logs/**",
				      NULL });
	assert_list(&p.deny_write, (const char *[]){ WS "/vendor", NULL });
	assert_true(strv_contains(&p.mask, HOME "/.secret"));
	assert_true(strv_contains(&p.mask, "token.txt"));
	assert_true(strv_contains(&p.mask, WS "/conf/db.yml"));
	assert_true(strv_contains(&p.mask, "/etc/app/key"));
	assert_int_equal(p.mask.len, count_of(policy_default_masks) + 4);
	assert_true(strv_contains(&p.protect, ".tool/hooks"));
	assert_true(strv_contains(&p.protect, "Makefile"));
	assert_true(strv_contains(&p.protect, HOME "/.tool-rc"));
	assert_true(strv_contains(&p.protect, WS "/ci/hooks"));
	assert_int_equal(p.protect.len, count_of(policy_default_protected) + 4);
	policy_free(&p);
}

static void test_relative_workspace(void **state)
{
	_cleanup_free_ char *cwd = getcwd(NULL, 0);
	_cleanup_free_ char *want = NULL;
	struct policy_load_opts opts = {
		.workspace = "proj/./a/..",
		.home = HOME,
		.no_user_settings = true,
	};
	struct policy p;

	assert_non_null(cwd);
	want = streq(cwd, "/") ? xstrdup("/proj") : xasprintf("%s/proj", cwd);
	assert_int_equal(policy_load(&p, &opts, NULL), 0);
	assert_string_equal(p.workspace, want);
	assert_string_equal(p.allow_write.items[0], want);
	policy_free(&p);
}

static void test_home_from_environment(void **state)
{
	struct policy_load_opts opts = {
		.workspace = WS,
		.no_user_settings = true,
	};
	_cleanup_free_ char *saved = NULL;
	struct policy p;

	saved = getenv("HOME") ? xstrdup(getenv("HOME")) : NULL;
	setenv("HOME", "/tmp/./fake-home/", 1);
	assert_int_equal(policy_load(&p, &opts, NULL), 0);
	assert_string_equal(p.home, "/tmp/fake-home");
	assert_true(strv_contains(&p.mask, "/tmp/fake-home/.ssh"));
	policy_free(&p);
	if (saved)
		setenv("HOME", saved, 1);
	else
		unsetenv("HOME");
}

static void test_bad_entries(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy p;

	assert_int_equal(
		load_text(&p, &errs,
			  "{\"filesystem\": {\"denyRead\": [\"\"],\n"
			  "\"protect\": [\"/etc/x\", \"~/.x\", \"a/../../b\", "
			  "\".\"],\n\"mask\": [\"..\"]}}"),
		-EINVAL);
	assert_error(&errs, "filesystem.denyRead[0]", 1, 30,
		     "must not be empty");
	assert_error(&errs, "filesystem.protect[2]", 2, 31, "\"..\"");
	assert_error(&errs, "filesystem.protect[3]", 2, 44, "names no file");
	assert_error(&errs, "filesystem.mask[0]", 3, 10, "\"..\"");
	assert_int_equal(errs.len, 4);
	policy_errors_free(&errs);
}

static void test_denied_resolved_addresses(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy p;

	assert_int_equal(load_text(&p, &errs,
				   "{\"network\": {\"deniedResolvedAddresses\": "
				   "[\"10.0.0.0/8\", \"fc00::/7\", \"192.0.2.1\"]}}"),
			 0);
	assert_int_equal(p.denied_resolved.len, 3);
	assert_string_equal(p.denied_resolved.items[1], "fc00::/7");
	policy_free(&p);

	assert_int_equal(load_text(&p, &errs,
				   "{\"network\": {\"deniedResolvedAddresses\":\n"
				   "  [\"10.0.0.0/8\", \"example.com\"]}}"),
			 -EINVAL);
	assert_error(&errs, "network.deniedResolvedAddresses[1]", 2, 18, "");
	assert_int_equal(errs.len, 1);
	policy_errors_free(&errs);
}

static void test_domain_patterns(void **state)
{
	static const char *const good[] = {
		"example.com", "*.example.com", "example.com:443",
		"[::1]", "[2001:db8::1]:443", "localhost", "10.0.0.1:8080",
	};
	static const char *const bad[] = {
		"*", "*.com", "https://example.com", "example.com/path",
		"ex ample.com", "::1", "example.com:0", "example.com:x",
		"a.*.example.com", "*example.com", "", "[::1", ":80",
	};
	struct policy_errors errs = { 0 };
	struct policy p;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		_cleanup_free_ char *t = xasprintf(
			"{\"network\": {\"allowedDomains\": [\"%s\"]}}",
			good[i]);

		if (load_text(&p, &errs, t) != 0)
			fail_msg("refused %s: %s", good[i],
				 errs.items[0].message);
		policy_free(&p);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *t = xasprintf(
			"{\"network\": {\"allowedDomains\": [\"%s\"]}}",
			bad[i]);

		if (load_text(&p, &errs, t) != -EINVAL)
			fail_msg("accepted %s", bad[i]);
		assert_int_equal(errs.len, 1);
		assert_string_equal(errs.items[0].key,
				    "network.allowedDomains[0]");
		policy_errors_free(&errs);
	}

	/* a bare "*" denies everything, so it is fine in deniedDomains */
	assert_int_equal(load_text(&p, &errs, "{\"network\": {\"deniedDomains\""
					      ": [\"*\", \"*:22\"]}}"),
			 0);
	policy_free(&p);
}

/* ---- masks ---- */

static void test_unmask_only_when_explicit(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy p;

	/* adding masks keeps every default */
	assert_int_equal(load_text(&p, &errs, "{\"filesystem\": {\"mask\": "
					      "[\"~/.ssh\", \"extra\"]}}"),
			 0);
	assert_int_equal(p.mask.len, count_of(policy_default_masks) + 1);
	assert_true(strv_contains(&p.mask, HOME "/.ssh"));
	policy_free(&p);

	/* unmask removes exactly the entries it names */
	assert_int_equal(load_text(&p, &errs, "{\"filesystem\": {\"unmask\": "
					      "[\"~/.ssh/\", \".env\"]}}"),
			 0);
	assert_int_equal(p.mask.len, count_of(policy_default_masks) - 2);
	assert_false(strv_contains(&p.mask, HOME "/.ssh"));
	assert_false(strv_contains(&p.mask, ".env"));
	assert_true(strv_contains(&p.mask, ".env.*"));
	assert_true(strv_contains(&p.mask, HOME "/.aws"));
	policy_free(&p);

	/* within a file, unmask applies after mask, whatever the order */
	assert_int_equal(load_text(&p, &errs, "{\"filesystem\": {\"unmask\": "
					      "[\"x.key\"], \"mask\": "
					      "[\"x.key\"]}}"),
			 0);
	assert_false(strv_contains(&p.mask, "x.key"));
	policy_free(&p);

	/* a near miss removes nothing: it is an error, with a suggestion */
	assert_int_equal(load_text(&p, &errs, "{\"filesystem\": {\"unmask\": "
					      "[\"~/.sh\"]}}"),
			 -EINVAL);
	assert_error(&errs, "filesystem.unmask[0]", 1, 28,
		     "did you mean \"" HOME "/.ssh\"?");
	policy_errors_free(&errs);

	/* the unmask check comes last, but its error keeps its place */
	assert_int_equal(load_text(&p, &errs, "{\"filesystem\": {\"unmask\": "
					      "[\"nope\"]},\n\"bogus\": 1}"),
			 -EINVAL);
	assert_int_equal(errs.len, 2);
	assert_string_equal(errs.items[0].key, "filesystem.unmask[0]");
	assert_string_equal(errs.items[1].key, "bogus");
	policy_errors_free(&errs);
}

/* ---- limits ---- */

struct size_case {
	const char *json;
	uint64_t bytes;
};

static void test_limits_sizes(void **state)
{
	static const struct size_case good[] = {
		{ "\"512M\"", 512ULL << 20 },	 { "\"2G\"", 2 * GIB },
		{ "\"1k\"", 1024 },		 { "\"512MiB\"", 512ULL << 20 },
		{ "\"3GB\"", 3 * GIB },		 { "\"4096\"", 4096 },
		{ "\"4096B\"", 4096 },		 { "1048576", 1048576 },
		{ "0", 0 },			 { "1e3", 1000 },
		{ "\"1T\"", 1024 * GIB },
	};
	static const char *const bad[] = {
		"\"12X\"", "\"\"", "\"-1\"", "\"1.5G\"", "-5", "1.5",
		"true", "\"M\"", "\"99999999999T\"", "\"5 M\"", "[]",
		"\"20000000000000000000\"", "null", "\"1iB\"",
	};
	struct policy_errors errs = { 0 };
	struct policy p;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		_cleanup_free_ char *t = xasprintf(
			"{\"limits\": {\"memory\": %s, \"fileSize\": %s}}",
			good[i].json, good[i].json);

		if (load_text(&p, &errs, t) != 0)
			fail_msg("refused %s: %s", good[i].json,
				 errs.items[0].message);
		assert_int_equal(p.limits.memory_bytes, good[i].bytes);
		assert_int_equal(p.limits.file_size_bytes, good[i].bytes);
		policy_free(&p);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *t = xasprintf(
			"{\"limits\": {\"memory\": %s}}", bad[i]);

		if (load_text(&p, &errs, t) != -EINVAL)
			fail_msg("accepted %s", bad[i]);
		assert_int_equal(errs.len, 1);
		assert_string_equal(errs.items[0].key, "limits.memory");
		policy_errors_free(&errs);
	}
}

static void test_limits_counts(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy p;

	assert_int_equal(load_text(&p, &errs,
				   "{\"limits\": {\"processes\": 64, \"cpu\": "
				   "30, \"openFiles\": 256, \"timeout\": 600}}"),
			 0);
	assert_int_equal(p.limits.processes, 64);
	assert_int_equal(p.limits.cpu_seconds, 30);
	assert_int_equal(p.limits.open_files, 256);
	assert_int_equal(p.limits.timeout_seconds, 600);
	assert_int_equal(p.limits.memory_bytes, 8 * GIB);
	policy_free(&p);

	assert_int_equal(load_text(&p, &errs,
				   "{\"limits\": {\"cpu\": \"30\", \"timeout\": "
				   "-1, \"openFiles\": 2.5, \"proceses\": 1}}"),
			 -EINVAL);
	assert_error(&errs, "limits.cpu", 1, 13, "expected a whole number");
	assert_error(&errs, "limits.timeout", 1, 26, "from 0 up");
	assert_error(&errs, "limits.openFiles", 1, 41,
		     "expected a whole number");
	assert_error(&errs, "limits.proceses", 1, 59,
		     "did you mean \"processes\"?");
	assert_int_equal(errs.len, 4);
	policy_errors_free(&errs);
}

/* ---- environment ---- */

static void test_env_set_secret_name(void **state)
{
	struct policy_errors errs = { 0 };
	_cleanup_free_ char *out = NULL;
	struct policy p;

	/* a value written in the settings file is the user's explicit choice */
	assert_int_equal(load_files(&p, &errs, NULL, "env.json", NULL), 0);
	assert_int_equal(p.n_env_set, 2);
	assert_string_equal(p.env_set[0].name, "GITHUB_TOKEN");
	assert_string_equal(p.env_set[0].value, "ghp_not_really_a_token");
	assert_string_equal(p.env_set[1].name, "EDITOR");
	assert_string_equal(p.env_set[1].value, "vi");
	assert_list(&p.env_pass,
		    (const char *[]){ "AWS_PROFILE", "SSH_AUTH_SOCK", NULL });

	/* but its value never shows in the printed policy */
	out = policy_text(&p);
	assert_null(strstr(out, "ghp_not_really_a_token"));
	assert_non_null(strstr(out, "\"GITHUB_TOKEN\": \"(hidden"));
	assert_non_null(strstr(out, "\"EDITOR\": \"vi\""));
	policy_free(&p);
}

static void test_env_errors_hide_values(void **state)
{
	struct policy_errors errs = { 0 };
	_cleanup_free_ char *out = NULL;
	struct policy p;

	assert_int_equal(
		load_text(&p, &errs,
			  "{\"env\": {\"set\": {\"API_KEY\": 8675309123, "
			  "\"BAD-NAME\": \"hunter2-secret\", "
			  "\"PW\": [\"nested-secret\"]},\n"
			  "\"pass\": [\"OK_NAME\", \"no good\"]}}"),
		-EINVAL);
	assert_error(&errs, "env.set.API_KEY", 1, 18, "expected a string");
	assert_error(&errs, "env.set.BAD-NAME", 1, 41,
		     "not a valid environment variable name");
	assert_error(&errs, "env.set.PW", 1, 71, "expected a string");
	assert_error(&errs, "env.pass[1]", 2, 21,
		     "not a valid environment variable name");
	assert_int_equal(errs.len, 4);
	out = errors_text(&errs);
	assert_null(strstr(out, "8675309123"));
	assert_null(strstr(out, "hunter2"));
	assert_null(strstr(out, "nested-secret"));
	policy_errors_free(&errs);
}

static void test_env_deny_beats_pass(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy p;

	assert_int_equal(
		load_text(&p, &errs,
			  "{\"env\": {\"pass\": [\"DB_URL\", \"KEEP\"]}, "
			  "\"credentials\": {\"envVars\": [{\"name\": "
			  "\"DB_URL\", \"mode\": \"mask\"}]}}"),
		0);
	assert_list(&p.env_pass, (const char *[]){ "KEEP", NULL });
	policy_free(&p);
}

/* ---- credentials, request rules, routes, TLS termination ---- */

static void test_secrets_accepted(void **state)
{
	struct policy_errors errs = { 0 };
	const struct policy_credential *c;
	struct policy p;

	assert_int_equal(load_files(&p, &errs, NULL, "secrets.json", NULL), 0);
	assert_int_equal(p.n_credentials, 5);

	c = &p.credentials[0];
	assert_string_equal(c->name, "github");
	assert_int_equal(c->source, POLICY_CRED_FROM_COMMAND);
	assert_null(c->from);
	assert_list(&c->command, (const char *[]){ "gh", "auth", "token",
						   NULL });
	assert_false(c->optional);
	assert_list(&c->hosts, (const char *[]){ "api.github.com",
						 "github.com/my-org/", NULL });
	assert_int_equal(c->use, POLICY_CRED_INJECT);
	assert_string_equal(c->header, "Authorization");
	assert_int_equal(c->scheme, POLICY_INJECT_BEARER);
	assert_null(c->env);
	assert_null(c->file);

	/* a placeholder from a variable goes into the same variable */
	c = &p.credentials[1];
	assert_string_equal(c->name, "anthropic");
	assert_int_equal(c->source, POLICY_CRED_FROM_ENV);
	assert_string_equal(c->from, "ANTHROPIC_API_KEY");
	assert_int_equal(c->use, POLICY_CRED_PLACEHOLDER);
	assert_string_equal(c->env, "ANTHROPIC_API_KEY");
	assert_null(c->file);
	assert_false(c->body);
	assert_null(c->header);

	c = &p.credentials[2];
	assert_string_equal(c->name, "tool.token_1");
	assert_int_equal(c->source, POLICY_CRED_FROM_FILE);
	assert_string_equal(c->from, HOME "/.config/tool/token");
	assert_true(c->optional);
	assert_list(&c->hosts,
		    (const char *[]){ "*.tool.example:8443/v2/upload",
				      "[2001:db8::1]:443", NULL });
	assert_string_equal(c->env, "TOOL_TOKEN");
	assert_string_equal(c->file, WS "/conf/token");
	assert_true(c->body);

	/* another header: the value goes in as it is */
	c = &p.credentials[3];
	assert_string_equal(c->header, "x-api-key");
	assert_int_equal(c->scheme, POLICY_INJECT_RAW);
	c = &p.credentials[4];
	assert_string_equal(c->header, "X-Registry-Auth");
	assert_int_equal(c->scheme, POLICY_INJECT_BASIC);
	assert_false(p.allow_plaintext_inject);

	/* the source files and the placeholder file are masked */
	assert_true(strv_contains(&p.mask, HOME "/.config/tool/token"));
	assert_true(strv_contains(&p.mask, WS "/conf/token"));
	assert_true(strv_contains(&p.mask, "/etc/tool/userpass"));
	assert_int_equal(p.mask.len, count_of(policy_default_masks) + 3);
	policy_free(&p);
}

static void test_secrets_errors(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy p;

	assert_int_equal(
		load_text(&p, &errs,
			  "{\"credentials\": {\"secrets\": [\n"
			  "{\"name\": \"a\", \"from\": {\"env\": \"A\", \"file\": "
			  "\"f\"}, \"hosts\": [\"a.example\"]},\n"
			  "{\"name\": \"b\", \"from\": {}, \"hosts\": [\"b.example\"]},\n"
			  "{\"name\": \"c\", \"from\": {\"command\": []}, "
			  "\"hosts\": [\"c.example\"]},\n"
			  "{\"name\": \"d\", \"from\": {\"env\": \"D\"}, \"hosts\": []},\n"
			  "{\"name\": \"e\", \"from\": {\"env\": \"E\"}, "
			  "\"hosts\": [\"e.example\"], \"use\": \"inject\", "
			  "\"env\": \"E\", \"body\": false},\n"
			  "{\"name\": \"f\", \"from\": {\"env\": \"F\"}, "
			  "\"hosts\": [\"f.example\"], \"scheme\": \"raw\"},\n"
			  "{\"name\": \"g\", \"from\": {\"command\": [\"x\"]}, "
			  "\"hosts\": [\"g.example\"]},\n"
			  "{\"name\": \"h i\", \"from\": {\"env\": \"1H\"}, "
			  "\"hosts\": [\"https://h.example\", \"*.com\", "
			  "\"h.example/a/../b\", \"h.example/a%2f\", "
			  "\"h.example/x?y\", \"h.example//x\", \"h.example/\\u00e9\"],"
			  " \"use\": \"both\"},\n"
			  "{\"name\": \"j\", \"from\": {\"env\": \"J\"}, "
			  "\"hosts\": [\"j.example\"], \"use\": \"inject\", "
			  "\"header\": \"Host\"},\n"
			  "{\"name\": \"k\", \"from\": {\"env\": \"K\"}, "
			  "\"hosts\": [\"k.example\"], \"use\": \"inject\", "
			  "\"header\": \"proxy-authorization\", \"scheme\": "
			  "\"digest\"},\n"
			  "{\"name\": \"l\", \"from\": {\"env\": \"L\"}, "
			  "\"hosts\": [\"l.example\"], \"use\": \"inject\", "
			  "\"header\": \"X Key\"},\n"
			  "{\"from\": {\"env\": \"M\"}, \"hosts\": [\"m.example\"], "
			  "\"optional\": \"yes\"},\n"
			  "{\"name\": \"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
			  "nnnnnnnnnnnnnn\", \"from\": {\"env\": \"N\"}, "
			  "\"hosts\": [\"n.example\"]},\n"
			  "{\"name\": \"a\", \"from\": {\"env\": \"A2\"}, "
			  "\"hosts\": [\"a.example\"], \"frm\": 1}]}}"),
		-EINVAL);
	assert_error(&errs, "credentials.secrets[0].from", 2, 15,
		     "expected exactly one of \"env\", \"file\" or "
		     "\"command\"");
	assert_error(&errs, "credentials.secrets[1].from", 3, 15,
		     "expected exactly one of");
	assert_error(&errs, "credentials.secrets[2].from.command", 4, 24,
		     "expected the program, then its arguments");
	assert_error(&errs, "credentials.secrets[3].hosts", 5, 37,
		     "name at least one host");
	assert_error(&errs, "credentials.secrets[4].env", 6, 78,
		     "goes only with \"use\": \"placeholder\"");
	assert_error(&errs, "credentials.secrets[4].body", 6, 90,
		     "goes only with \"use\": \"placeholder\"");
	assert_error(&errs, "credentials.secrets[5].scheme", 7, 61,
		     "goes only with \"use\": \"inject\"");
	assert_error(&errs, "credentials.secrets[6]", 8, 1,
		     "a placeholder needs \"env\" or \"file\"");
	assert_error(&errs, "credentials.secrets[7].name", 9, 2,
		     "only letters, digits");
	assert_error(&errs, "credentials.secrets[7].from.env", 9, 26,
		     "not a valid environment variable name");
	assert_error(&errs, "credentials.secrets[7].hosts[0]", 9, 50,
		     "takes no scheme");
	assert_error(&errs, "credentials.secrets[7].hosts[1]", 9, 71, "");
	assert_error(&errs, "credentials.secrets[7].hosts[2]", 9, 80,
		     "must not contain \"..\" or \"//\"");
	assert_error(&errs, "credentials.secrets[7].hosts[3]", 9, 100,
		     "must not contain '%', '?' or '#'");
	assert_error(&errs, "credentials.secrets[7].hosts[4]", 9, 118,
		     "must not contain '%', '?' or '#'");
	assert_error(&errs, "credentials.secrets[7].hosts[5]", 9, 135,
		     "must not contain \"..\" or \"//\"");
	assert_error(&errs, "credentials.secrets[7].hosts[6]", 9, 151,
		     "printable ASCII");
	assert_error(&errs, "credentials.secrets[7].use", 9, 172,
		     "expected \"placeholder\" or \"inject\"");
	assert_error(&errs, "credentials.secrets[8].header", 10, 78,
		     "the gateway writes this header itself");
	assert_error(&errs, "credentials.secrets[9].header", 11, 78,
		     "a Proxy- header never reaches the server");
	assert_error(&errs, "credentials.secrets[9].scheme", 11, 111,
		     "expected \"bearer\", \"basic\" or \"raw\"");
	assert_error(&errs, "credentials.secrets[10].header", 12, 78,
		     "not a valid header name");
	assert_error(&errs, "credentials.secrets[11]", 13, 1,
		     "missing required key \"name\"");
	assert_error(&errs, "credentials.secrets[11].optional", 13, 48,
		     "expected true or false");
	assert_error(&errs, "credentials.secrets[12].name", 14, 2,
		     "a name has 1 to 64 characters");
	assert_error(&errs, "credentials.secrets[13].frm", 15, 62,
		     "unknown key; did you mean \"from\"?");
	assert_int_equal(errs.len, 26);
	policy_errors_free(&errs);
}

/* A credential's name, variable and file each belong to one entry. */
static void test_secrets_taken(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy p;

	assert_int_equal(
		load_text(&p, &errs,
			  "{\"credentials\": {\"secrets\": [\n"
			  "{\"name\": \"a\", \"from\": {\"env\": \"A\"}, "
			  "\"hosts\": [\"a.example\"], \"file\": \"/run/a\"},\n"
			  "{\"name\": \"a\", \"from\": {\"env\": \"A2\"}, "
			  "\"hosts\": [\"a.example\"]},\n"
			  "{\"name\": \"b\", \"from\": {\"env\": \"B\"}, "
			  "\"hosts\": [\"a.example\"], \"env\": \"A\", "
			  "\"file\": \"/run/a\"}]},\n"
			  "\"network\": {\"routes\": [{\"name\": \"r\", "
			  "\"upstream\": \"https://a.example\", \"env\": \"A\"}]}}"),
		-EINVAL);
	assert_error(&errs, "credentials.secrets[1].name", 3, 2,
		     "\"a\" is taken already by credential \"a\", at "
		     "test.json:2:1");
	assert_error(&errs, "credentials.secrets[2].env", 4, 61,
		     "\"A\" is taken already by credential \"a\", at "
		     "test.json:2:1");
	assert_error(&errs, "credentials.secrets[2].file", 4, 73,
		     "\"/run/a\" is taken already by credential \"a\"");
	assert_error(&errs, "network.routes[0].env", 5, 71,
		     "\"A\" is taken already by credential \"a\", at "
		     "test.json:2:1");
	assert_int_equal(errs.len, 4);
	policy_errors_free(&errs);
}

static void test_request_rules(void **state)
{
	struct policy_errors errs = { 0 };
	const struct policy_request_rule *r;
	struct policy p;

	assert_int_equal(load_files(&p, &errs, NULL, "secrets.json", NULL), 0);
	assert_int_equal(p.n_request_rules, 3);
	r = &p.request_rules[0];
	assert_string_equal(r->host, "github.com");
	assert_list(&r->methods, (const char *[]){ "GET", "HEAD", NULL });
	assert_int_equal(r->paths.len, 0);
	assert_null(r->reason);
	r = &p.request_rules[1];
	assert_string_equal(r->host, "api.github.com");
	assert_list(&r->methods, (const char *[]){ "GET", NULL });
	assert_list(&r->paths,
		    (const char *[]){ "/repos/my-org/", "/user", NULL });
	assert_string_equal(r->reason, "read-only access to GitHub");
	r = &p.request_rules[2];
	assert_string_equal(r->host, "*.internal.example:8080");
	assert_int_equal(r->methods.len, 0);
	assert_list(&r->paths, (const char *[]){ "/health", NULL });
	policy_free(&p);

	assert_int_equal(
		load_text(&p, &errs,
			  "{\"network\": {\"requestRules\": [\n"
			  "{\"host\": \"a.example\", \"methods\": []},\n"
			  "{\"host\": \"b.example\", \"paths\": []},\n"
			  "{\"host\": \"c.example/x\", \"methods\": [\"GE T\"], "
			  "\"paths\": [\"v1\"], \"reason\": \"\"},\n"
			  "{\"methods\": [\"GET\"], \"path\": [\"/\"]}]}}"),
		-EINVAL);
	assert_error(&errs, "network.requestRules[0].methods", 2, 23,
		     "must not be empty; leave the key out instead");
	assert_error(&errs, "network.requestRules[1].paths", 3, 23,
		     "must not be empty");
	assert_error(&errs, "network.requestRules[2].host", 4, 2,
		     "a domain takes no path");
	assert_error(&errs, "network.requestRules[2].methods[0]", 4, 37,
		     "not an HTTP method name");
	assert_error(&errs, "network.requestRules[2].paths[0]", 4, 56,
		     "a path must start with '/'");
	assert_error(&errs, "network.requestRules[2].reason", 4, 63,
		     "must not be empty");
	assert_error(&errs, "network.requestRules[3]", 5, 1,
		     "missing required key \"host\"");
	assert_error(&errs, "network.requestRules[3].path", 5, 22,
		     "did you mean \"paths\"?");
	assert_int_equal(errs.len, 8);
	policy_errors_free(&errs);
}

static void test_routes(void **state)
{
	struct policy_errors errs = { 0 };
	const struct policy_route *rt;
	struct policy p;

	assert_int_equal(load_files(&p, &errs, NULL, "secrets.json", NULL), 0);
	assert_int_equal(p.n_routes, 3);
	rt = &p.routes[0];
	assert_string_equal(rt->name, "anthropic");
	assert_string_equal(rt->upstream, "https://api.anthropic.com");
	assert_string_equal(rt->env, "ANTHROPIC_BASE_URL");
	assert_int_equal(rt->port, 3300);
	rt = &p.routes[1];
	assert_string_equal(rt->upstream, "https://api.openai.com/v1");
	assert_int_equal(rt->port, 3301);
	rt = &p.routes[2];
	assert_string_equal(rt->upstream, "https://[::1]:9443/base");
	assert_null(rt->env);
	assert_int_equal(rt->port, 3302);
	policy_free(&p);

	/* a default port skips the ports written and those capture uses */
	assert_int_equal(
		load_text(&p, &errs,
			  "{\"network\": {\"allowedDomains\": [\"x.example:3301\"],"
			  "\"routes\": ["
			  "{\"name\": \"a\", \"upstream\": \"https://a.example\"},"
			  "{\"name\": \"b\", \"upstream\": \"https://b.example\"},"
			  "{\"name\": \"c\", \"upstream\": \"https://c.example\","
			  " \"port\": 3300}]}}"),
		0);
	assert_int_equal(p.routes[0].port, 3302);
	assert_int_equal(p.routes[1].port, 3303);
	assert_int_equal(p.routes[2].port, 3300);
	policy_free(&p);
}

static void test_routes_errors(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy p;

	assert_int_equal(
		load_text(&p, &errs,
			  "{\"network\": {\"allowedDomains\": [\"x.example:8080\"],"
			  "\n\"routes\": [\n"
			  "{\"name\": \"a\", \"upstream\": \"http://a.example\"},\n"
			  "{\"name\": \"b\", \"upstream\": \"https://*.b.example\"},\n"
			  "{\"name\": \"c\", \"upstream\": \"https://c.example/v1?x\"},\n"
			  "{\"name\": \"d\", \"upstream\": \"https://\"},\n"
			  "{\"name\": \"e\", \"upstream\": \"https://e.example\", "
			  "\"port\": 3128},\n"
			  "{\"name\": \"f\", \"upstream\": \"https://f.example\", "
			  "\"port\": 9000, \"env\": \"F_URL\"},\n"
			  "{\"name\": \"f\", \"upstream\": \"https://g.example\", "
			  "\"port\": 9000, \"env\": \"F_URL\"},\n"
			  "{\"name\": \"h\", \"upstream\": \"https://h.example\", "
			  "\"port\": 0, \"env\": \"1X\"},\n"
			  "{\"upstream\": \"https://i.example:99999\"}]}}"),
		-EINVAL);
	assert_error(&errs, "network.routes[0].upstream", 3, 15,
		     "expected \"https://HOST[:PORT][/PATH]\"");
	assert_error(&errs, "network.routes[1].upstream", 4, 15,
		     "one host, not a pattern");
	assert_error(&errs, "network.routes[2].upstream", 5, 15,
		     "must not contain '%', '?' or '#'");
	assert_error(&errs, "network.routes[3].upstream", 6, 15,
		     "expected \"https://HOST[:PORT][/PATH]\"");
	assert_error(&errs, "network.routes[4].port", 7, 48,
		     "port 3128 is one of the gateway's own");
	assert_error(&errs, "network.routes[6].name", 9, 2,
		     "\"f\" is taken already by route \"f\", at test.json:8:1");
	assert_error(&errs, "network.routes[6].port", 9, 48,
		     "\"9000\" is taken already by route \"f\"");
	assert_error(&errs, "network.routes[6].env", 9, 62,
		     "\"F_URL\" is taken already by route \"f\"");
	assert_error(&errs, "network.routes[7].port", 10, 48,
		     "must be from 1 to 65535");
	assert_error(&errs, "network.routes[7].env", 10, 59,
		     "not a valid environment variable name");
	assert_error(&errs, "network.routes[8]", 11, 1,
		     "missing required key \"name\"");
	assert_error(&errs, "network.routes[8].upstream", 11, 2, "");
	assert_int_equal(errs.len, 12);
	policy_errors_free(&errs);

	/* checked once every source is read: capture's ports, env.set */
	assert_int_equal(
		load_text(&p, &errs,
			  "{\"network\": {\"routes\": [{\"name\": \"a\", "
			  "\"upstream\": \"https://a.example\", \"port\": 8080, "
			  "\"env\": \"A_URL\"}],\n"
			  "\"allowedDomains\": [\"x.example:8080\"]},\n"
			  "\"env\": {\"set\": {\"A_URL\": \"http://elsewhere\"}}}"),
		-EINVAL);
	assert_int_equal(errs.len, 2);
	for (size_t i = 0; i < errs.len; i++) {
		assert_string_equal(errs.items[i].key, "network.routes[0]");
		assert_int_equal(errs.items[i].line, 1);
		assert_int_equal(errs.items[i].column, 25);
	}
	assert_string_equal(errs.items[0].message,
			    "env.set sets A_URL too, which holds this route's "
			    "address");
	assert_string_equal(errs.items[1].message,
			    "port 8080 is named in network.allowedDomains, "
			    "where the gateway listens already; choose "
			    "another");
	policy_errors_free(&errs);
}

static void test_tls_terminate(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy p;

	assert_int_equal(load_files(&p, &errs, NULL, "secrets.json", NULL), 0);
	assert_string_equal(p.tls_ca_cert, HOME "/ca/ca.pem");
	assert_string_equal(p.tls_ca_key, HOME "/ca/ca.key");
	assert_list(&p.tls_exclude, (const char *[]){ "pinned.example", NULL });
	assert_list(&p.tls_extra_ca,
		    (const char *[]){ WS "/certs/extra.pem", NULL });
	assert_list(&p.upstream_ca,
		    (const char *[]){ HOME "/test-ca.pem",
				      "/etc/ssl/private-ca.pem", NULL });
	policy_free(&p);

	assert_int_equal(
		load_text(&p, &errs,
			  "{\"network\": {\"tlsTerminate\": {\"caCertPath\": "
			  "\"/ca.pem\",\n\"excludeDomains\": [\"*\"], "
			  "\"upstreamCaCertPaths\": [\"\"], \"caKeyPth\": \"k\"}}}"),
		-EINVAL);
	assert_error(&errs, "network.tlsTerminate.excludeDomains[0]", 2, 20,
		     "");
	assert_error(&errs, "network.tlsTerminate.upstreamCaCertPaths[0]", 2,
		     50, "must not be empty");
	assert_error(&errs, "network.tlsTerminate.caKeyPth", 2, 55,
		     "did you mean \"caKeyPath\"?");
	assert_int_equal(errs.len, 3);
	policy_errors_free(&errs);

	assert_int_equal(
		load_text(&p, &errs,
			  "{\"network\": {\"tlsTerminate\": {\"caKeyPath\": "
			  "\"/ca.key\"}}}"),
		-EINVAL);
	assert_error(&errs, "network.tlsTerminate", 1, 14,
		     "caCertPath and caKeyPath go together");
	assert_int_equal(errs.len, 1);
	policy_errors_free(&errs);
}

/* Lists add up across files; a name may be defined once in all of them. */
static void test_credentials_merge(void **state)
{
	struct policy_errors errs = { 0 };
	const struct policy_error *e;
	struct policy p;

	assert_int_equal(load_files(&p, &errs, NULL, "creds-a.json",
				    "creds-b.json", NULL), 0);
	assert_int_equal(p.n_credentials, 2);
	assert_string_equal(p.credentials[0].name, "one");
	assert_string_equal(p.credentials[1].name, "two");
	assert_int_equal(p.n_request_rules, 2);
	assert_string_equal(p.request_rules[1].host, "b.example");
	assert_int_equal(p.n_routes, 2);
	assert_int_equal(p.routes[0].port, 3300);
	assert_int_equal(p.routes[1].port, 3301);
	assert_list(&p.deny_env, (const char *[]){ "A_DENIED", "B_DENIED",
						   NULL });
	assert_true(p.allow_plaintext_inject);
	assert_string_equal(p.tls_ca_cert, "/b/ca.pem");
	assert_list(&p.upstream_ca, (const char *[]){ "/a/up.pem", "/b/up.pem",
						      NULL });
	policy_free(&p);

	/* a in both places: the second is refused, naming the first */
	assert_int_equal(load_files(&p, &errs, NULL, "creds-a.json",
				    "creds-a.json", NULL), -EINVAL);
	e = error_for(&errs, "credentials.secrets[0].name");
	assert_non_null(e);
	if (!e)
		return;
	assert_int_equal(e->line, 3);
	assert_int_equal(e->column, 18);
	assert_non_null(strstr(e->message, "\"one\" is taken already by "
				      "credential \"one\", at "));
	assert_non_null(strstr(e->message, "creds-a.json:3:17"));
	e = error_for(&errs, "credentials.secrets[0].env");
	assert_non_null(e);
	if (e)
		assert_non_null(strstr(e->message, "\"ONE\" is taken already"));
	e = error_for(&errs, "network.routes[0].name");
	assert_non_null(e);
	if (e)
		assert_non_null(strstr(e->message, "by route \"ra\""));
	assert_int_equal(errs.len, 3);
	policy_errors_free(&errs);
}

/*
 * A variable a credential reads or shows, or a route sets, is never
 * passed from outside, and env.set cannot set it as well.
 */
static void test_credentials_environment(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy p;

	assert_int_equal(
		load_text(&p, &errs,
			  "{\"env\": {\"pass\": [\"SRC\", \"SHOWN\", \"URL\", "
			  "\"DENIED\", \"KEEP\"]},\n"
			  "\"credentials\": {\"envVars\": [{\"name\": \"DENIED\", "
			  "\"mode\": \"deny\"}],\n"
			  "\"secrets\": [{\"name\": \"s\", \"from\": {\"env\": "
			  "\"SRC\"}, \"env\": \"SHOWN\", \"hosts\": [\"s.example\"]"
			  "}]},\n"
			  "\"network\": {\"routes\": [{\"name\": \"r\", \"upstream\":"
			  " \"https://r.example\", \"env\": \"URL\"}]}}"),
		0);
	assert_list(&p.env_pass, (const char *[]){ "KEEP", NULL });
	assert_string_equal(p.credentials[0].env, "SHOWN");
	policy_free(&p);

	assert_int_equal(
		load_text(&p, &errs,
			  "{\"env\": {\"set\": {\"SHOWN\": \"x\"}},\n"
			  "\"credentials\": {\"secrets\": [{\"name\": \"s\", "
			  "\"from\": {\"env\": \"SRC\"}, \"env\": \"SHOWN\", "
			  "\"hosts\": [\"s.example\"]}]}}"),
		-EINVAL);
	assert_error(&errs, "credentials.secrets[0]", 2, 29,
		     "env.set sets SHOWN too, which holds this credential's "
		     "placeholder");
	assert_int_equal(errs.len, 1);
	policy_errors_free(&errs);
}

static void test_credentials_limits(void **state)
{
	struct policy_errors errs = { 0 };
	_cleanup_free_ char *text = xmalloc(64 * 1024);
	struct policy p;
	size_t n = 0;

	n += (size_t)sprintf(text, "{\"credentials\": {\"secrets\": [");
	for (int i = 0; i <= POLICY_CREDENTIALS_MAX; i++)
		n += (size_t)sprintf(text + n, "%s{\"name\": \"c%d\", \"from\": "
				     "{\"env\": \"V%d\"}, \"hosts\": "
				     "[\"x.example\"]}", i ? "," : "", i, i);
	n += (size_t)sprintf(text + n, "]},\n\"network\": {\"routes\": [");
	for (int i = 0; i <= POLICY_ROUTES_MAX; i++)
		n += (size_t)sprintf(text + n, "%s{\"name\": \"r%d\", "
				     "\"upstream\": \"https://x.example\"}",
				     i ? "," : "", i);
	strcpy(text + n, "]}}");
	assert_int_equal(load_text(&p, &errs, text), -EINVAL);
	assert_int_equal(errs.len, 2);
	assert_string_equal(errs.items[0].key, "credentials.secrets[64]");
	assert_string_equal(errs.items[0].message, "more than 64 credentials");
	assert_string_equal(errs.items[1].key, "network.routes[16]");
	assert_string_equal(errs.items[1].message, "more than 16 routes");
	policy_errors_free(&errs);
}

static void test_profile_claude_code(void **state)
{
	struct policy_load_opts opts = {
		.profile = "claude-code",
		.workspace = WS,
		.home = HOME,
		.no_user_settings = true,
	};
	static const char *const api[] = { "api.anthropic.com", NULL };
	static const char *const names[] = {
		"anthropic-api-key", "anthropic-auth-token",
		"claude-code-oauth-token",
	};
	static const char *const vars[] = {
		"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN",
		"CLAUDE_CODE_OAUTH_TOKEN",
	};
	struct policy_errors errs = { 0 };
	const struct policy_request_rule *r;
	struct policy p;

	if (policy_load(&p, &opts, &errs) != 0) {
		_cleanup_free_ char *t = errors_text(&errs);

		fail_msg("profile refused:\n%s", t);
		return;
	}
	assert_string_equal(p.profile, "claude-code");
	assert_int_equal(p.sources.len, 0);
	assert_list(&p.allow_write, (const char *[]){ WS, HOME "/.claude",
						      HOME "/.claude.json",
						      NULL });
	assert_true(strv_contains(&p.mask, HOME "/.claude/.credentials.json"));
	assert_int_equal(p.mask.len, count_of(policy_default_masks) + 1);
	assert_true(strv_contains(&p.protect, HOME "/.claude/settings.json"));
	assert_true(strv_contains(&p.protect, HOME "/.claude/commands"));
	assert_int_equal(p.protect.len, count_of(policy_default_protected) + 7);
	assert_list(&p.allowed_domains, api);
	assert_int_equal(p.denied_domains.len, 0);

	assert_int_equal(p.n_credentials, 3);
	for (size_t i = 0; i < 3; i++) {
		const struct policy_credential *c = &p.credentials[i];

		assert_string_equal(c->name, names[i]);
		assert_int_equal(c->source, POLICY_CRED_FROM_ENV);
		assert_string_equal(c->from, vars[i]);
		assert_true(c->optional);
		assert_list(&c->hosts, api);
		assert_int_equal(c->use, POLICY_CRED_PLACEHOLDER);
		assert_string_equal(c->env, vars[i]);
		assert_null(c->file);
		assert_false(c->body);
	}

	assert_int_equal(p.n_request_rules, 2);
	r = &p.request_rules[0];
	assert_string_equal(r->host, "api.anthropic.com");
	assert_list(&r->methods, (const char *[]){ "POST", NULL });
	assert_list(&r->paths, (const char *[]){ "/v1/messages", NULL });
	assert_string_equal(r->reason,
			    "only the Messages API is reachable from this "
			    "sandbox");
	r = &p.request_rules[1];
	assert_list(&r->methods, (const char *[]){ "GET", NULL });
	assert_list(&r->paths, (const char *[]){ "/v1/models", NULL });
	assert_int_equal(p.n_routes, 0);

	assert_int_equal(p.n_env_set, 3);
	assert_string_equal(p.env_set[0].name, "DISABLE_TELEMETRY");
	assert_string_equal(p.env_set[0].value, "1");
	assert_string_equal(p.env_set[1].name, "DISABLE_ERROR_REPORTING");
	assert_string_equal(p.env_set[2].name,
			    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC");
	assert_string_equal(p.env_set[2].value, "1");
	assert_int_equal(p.limits.processes, 4096);
	policy_free(&p);
}

/* Settings add to the profile, and cannot redefine its credentials. */
static void test_profile_claude_code_settings(void **state)
{
	struct policy_load_opts opts = {
		.profile = "claude-code",
		.workspace = WS,
		.home = HOME,
	};
	static const char allow[] =
		"{\"network\": {\"allowedDomains\": [\"statsig.anthropic.com\"]}}";
	static const char clash[] =
		"{\"credentials\": {\"secrets\": [{\"name\": "
		"\"anthropic-api-key\", \"from\": {\"env\": \"K\"}, "
		"\"hosts\": [\"x.example\"]}]}}";
	struct policy_errors errs = { 0 };
	const struct policy_error *e;
	struct policy p;

	assert_int_equal(policy_load_buffer(&p, &opts, "u.json", allow,
					    strlen(allow), &errs), 0);
	assert_list(&p.allowed_domains,
		    (const char *[]){ "api.anthropic.com",
				      "statsig.anthropic.com", NULL });
	assert_int_equal(p.n_credentials, 3);
	policy_free(&p);

	assert_int_equal(policy_load_buffer(&p, &opts, "u.json", clash,
					    strlen(clash), &errs), -EINVAL);
	assert_int_equal(errs.len, 1);
	e = error_for(&errs, "credentials.secrets[0].name");
	assert_non_null(e);
	if (e) {
		assert_string_equal(e->file, "u.json");
		assert_non_null(strstr(e->message,
				       "taken already by credential "
				       "\"anthropic-api-key\", at "
				       "profile claude-code:"));
	}
	policy_errors_free(&errs);
}

static void test_print_credentials(void **state)
{
	struct policy_errors errs = { 0 };
	_cleanup_free_ char *out = NULL;
	json_t *root, *creds, *c, *net, *rt;
	json_error_t jerr;
	struct policy p;

	assert_int_equal(load_files(&p, &errs, NULL, "secrets.json", NULL), 0);
	out = policy_text(&p);
	policy_free(&p);
	root = json_loads(out, 0, &jerr);
	assert_non_null(root);

	creds = json_object_get(root, "credentials");
	assert_int_equal(json_array_size(json_object_get(creds, "secrets")), 5);
	c = json_array_get(json_object_get(creds, "secrets"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "use")),
			    "inject");
	assert_string_equal(json_string_value(json_object_get(c, "scheme")),
			    "bearer");
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(json_object_get(c, "from"),
						    "command"), 2)),
			    "token");
	c = json_array_get(json_object_get(creds, "secrets"), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(c, "from"), "file")),
			    HOME "/.config/tool/token");
	assert_string_equal(json_string_value(json_object_get(c, "env")),
			    "TOOL_TOKEN");
	assert_true(json_is_true(json_object_get(c, "body")));
	assert_null(json_object_get(c, "header"));

	net = json_object_get(root, "network");
	assert_int_equal(json_array_size(json_object_get(net, "requestRules")),
			 3);
	rt = json_array_get(json_object_get(net, "routes"), 0);
	assert_int_equal(json_integer_value(json_object_get(rt, "port")), 3300);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(net, "tlsTerminate"),
				    "caKeyPath")),
			    HOME "/ca/ca.key");
	json_decref(root);
}

/* A shared gateway gets the rules and routes, and reads them back. */
static void test_network_settings_round_trip(void **state)
{
	struct policy_errors errs = { 0 };
	_cleanup_free_ char *text = NULL;
	struct policy p, q;

	assert_int_equal(load_files(&p, &errs, NULL, "secrets.json", NULL), 0);
	text = policy_network_settings(&p);
	assert_null(strstr(text, "tlsTerminate"));
	assert_null(strstr(text, "credentials"));
	if (policy_load_text(&q, "shared", text, strlen(text), &errs) != 0) {
		_cleanup_free_ char *t = errors_text(&errs);

		fail_msg("settings refused:\n%s", t);
		return;
	}
	assert_int_equal(q.n_request_rules, p.n_request_rules);
	assert_list(&q.request_rules[1].paths,
		    (const char *[]){ "/repos/my-org/", "/user", NULL });
	assert_string_equal(q.request_rules[1].reason,
			    p.request_rules[1].reason);
	assert_int_equal(q.n_routes, 3);
	for (size_t i = 0; i < q.n_routes; i++) {
		assert_string_equal(q.routes[i].upstream, p.routes[i].upstream);
		assert_int_equal(q.routes[i].port, p.routes[i].port);
	}
	assert_int_equal(q.n_credentials, 0);
	policy_free(&q);
	policy_free(&p);
}

/* ---- printing ---- */

static void test_print_json(void **state)
{
	struct policy_errors errs = { 0 };
	_cleanup_free_ char *out = NULL;
	json_error_t jerr;
	json_t *root, *env;
	struct policy p;

	assert_int_equal(load_files(&p, &errs, "readonly", "merge-a.json",
				    NULL), 0);
	out = policy_text(&p);
	policy_free(&p);

	root = json_loads(out, 0, &jerr);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root,
							       "profile")),
			    "readonly");
	assert_string_equal(json_string_value(json_object_get(root,
							       "workspace")),
			    WS);
	assert_int_equal(json_array_size(json_object_get(root, "sources")), 1);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(root, "limits"), "memory")),
			 GIB);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(root, "limits"), "timeout")),
			 60);
	assert_true(json_is_true(json_object_get(
		json_object_get(root, "filesystem"), "allowGitConfig")));
	assert_int_equal(json_array_size(json_object_get(
				 json_object_get(root, "filesystem"),
				 "allowWrite")),
			 1);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_object_get(root, "network"),
					"deniedDomainReasons"),
			"x.example")),
		"first reason");
	env = json_object_get(root, "env");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(env, "set"), "MODE")),
			    "a");
	json_decref(root);
}

/* ---- the position index ---- */

static void test_index_positions(void **state)
{
	static const char text[] =
		"{\n"
		"\t\"a\\u00e9\\n\": [1, {\"b\": \"\xc3\xa9t\xc3\xa9\", "
		"\"c\": [true]}],\n"
		"  \"\\ud83d\\ude00\": {\"x.y\": null}\n"
		"}";
	struct policy_index idx = { 0 };
	int line, column;

	policy_index_build(&idx, text, sizeof(text) - 1);
	assert_true(policy_index_find(&idx, "a\xc3\xa9\n", &line, &column));
	assert_int_equal(line, 2);
	assert_int_equal(column, 2);
	assert_true(policy_index_find(&idx, "a\xc3\xa9\n[1].c[0]", &line,
				      &column));
	assert_int_equal(line, 2);
	assert_int_equal(column, 38);
	assert_true(policy_index_find(&idx, "a\xc3\xa9\n[1].c", &line,
				      &column));
	assert_int_equal(column, 32);
	assert_true(policy_index_find(&idx, "\xf0\x9f\x98\x80.x.y", &line,
				      &column));
	assert_int_equal(line, 3);
	assert_int_equal(column, 20);

	/* an unknown path falls back to its nearest ancestor */
	assert_true(policy_index_find(&idx, "a\xc3\xa9\n[1].zz[4]", &line,
				      &column));
	assert_int_equal(line, 2);
	assert_int_equal(column, 19);
	assert_false(policy_index_find(&idx, "nothing", &line, &column));
	assert_int_equal(line, 0);
	policy_index_free(&idx);

	/* broken text: no crash, whatever came before is kept */
	policy_index_build(&idx, "{\"k\": [1, 2", 11);
	assert_true(policy_index_find(&idx, "k[1]", &line, &column));
	assert_int_equal(column, 11);
	policy_index_free(&idx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_without_file),
		cmocka_unit_test(test_profile_readonly),
		cmocka_unit_test(test_profile_names),
		cmocka_unit_test(test_profile_unknown),
		cmocka_unit_test(test_srt_file_accepted),
		cmocka_unit_test(test_srt_credentials),
		cmocka_unit_test(test_srt_credential_names),
		cmocka_unit_test(test_srt_structured_refused),
		cmocka_unit_test(test_explicit_file_missing),
		cmocka_unit_test(test_user_file_order),
		cmocka_unit_test(test_user_file_in_workspace_skipped),
		cmocka_unit_test(test_merge_order),
		cmocka_unit_test(test_errors_all_reported),
		cmocka_unit_test(test_errors_print_format),
		cmocka_unit_test(test_syntax_error_position),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_not_an_object),
		cmocka_unit_test(test_nul_byte_refused),
		cmocka_unit_test(test_suggest_key),
		cmocka_unit_test(test_unknown_key_suggestions_nested),
		cmocka_unit_test(test_srt_types_checked),
		cmocka_unit_test(test_too_many_errors),
		cmocka_unit_test(test_array_too_long),
		cmocka_unit_test(test_path_resolution),
		cmocka_unit_test(test_relative_workspace),
		cmocka_unit_test(test_home_from_environment),
		cmocka_unit_test(test_bad_entries),
		cmocka_unit_test(test_denied_resolved_addresses),
		cmocka_unit_test(test_domain_patterns),
		cmocka_unit_test(test_unmask_only_when_explicit),
		cmocka_unit_test(test_limits_sizes),
		cmocka_unit_test(test_limits_counts),
		cmocka_unit_test(test_env_set_secret_name),
		cmocka_unit_test(test_env_errors_hide_values),
		cmocka_unit_test(test_env_deny_beats_pass),
		cmocka_unit_test(test_secrets_accepted),
		cmocka_unit_test(test_secrets_errors),
		cmocka_unit_test(test_secrets_taken),
		cmocka_unit_test(test_request_rules),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_routes_errors),
		cmocka_unit_test(test_tls_terminate),
		cmocka_unit_test(test_credentials_merge),
		cmocka_unit_test(test_credentials_environment),
		cmocka_unit_test(test_credentials_limits),
		cmocka_unit_test(test_profile_claude_code),
		cmocka_unit_test(test_profile_claude_code_settings),
		cmocka_unit_test(test_print_credentials),
		cmocka_unit_test(test_network_settings_round_trip),
		cmocka_unit_test(test_print_json),
		cmocka_unit_test(test_index_positions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
