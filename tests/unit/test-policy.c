/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the policy loader: profiles, the settings schema, error
 * positions and suggestions, merging, path resolution, limits and the
 * environment. Files live in $AIRLOCK_TEST_DATA; short cases are given
 * as text through policy_load_buffer. Credentials, request rules, routes
 * and TLS termination have their own file, test-policy-credentials.c.
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
#include "policy-helpers.h"

#define GIB (1024ULL * 1024 * 1024)

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
		cmocka_unit_test(test_print_json),
		cmocka_unit_test(test_index_positions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
