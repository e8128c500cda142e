/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the settings that let the gateway put secrets into
 * requests and hold requests to rules: credentials (srt's files and
 * envVars, airlock's own secrets), network.requestRules, network.routes
 * and network.tlsTerminate; how they clash across sources, the
 * claude-code profile that uses them, and how they are printed.
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

#include "common/strv.h"
#include "common/util.h"
#include "policy/policy-internal.h"
#include "policy/policy.h"
#include "policy-helpers.h"

/* ---- srt's credentials ---- */

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

/* srt-settings.json's credentials section (test-policy.c checks the rest) */
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

/* ---- airlock's own: secrets, request rules, routes, TLS termination ---- */

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_srt_credentials),
		cmocka_unit_test(test_srt_credential_names),
		cmocka_unit_test(test_srt_structured_refused),
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
