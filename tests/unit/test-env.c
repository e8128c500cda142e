/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of CMD's environment (src/sandbox/env.c) and of the check
 * that tells a secret-looking variable name (src/policy/policy-defaults.c).
 * The policy is built by hand with only the fields env_build reads; no
 * file system is touched and the debug log is caught in a memfd.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strv.h"
#include "common/util.h"
#include "policy/policy.h"
#include "sandbox/sandbox.h"

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#define LOG_CAPTURE_MAX_BYTES 8192

/* Returns the value of name in env (NAME=VALUE entries), or NULL. */
static const char *env_value(const struct strv *env, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < env->len; i++)
		if (strncmp(env->items[i], name, len) == 0 &&
		    env->items[i][len] == '=')
			return env->items[i] + len + 1;
	return NULL;
}

static size_t env_count(const struct strv *env, const char *name)
{
	size_t len = strlen(name), n = 0;

	for (size_t i = 0; i < env->len; i++)
		if (strncmp(env->items[i], name, len) == 0 &&
		    env->items[i][len] == '=')
			n++;
	return n;
}

static void assert_env(const struct strv *env, const char *name,
		       const char *want)
{
	const char *got = env_value(env, name);

	if (!got)
		fail_msg("%s missing from the environment", name);
	if (!streq(got, want))
		fail_msg("%s=%s, want %s", name, got, want);
	assert_int_equal(env_count(env, name), 1);
}

static void assert_no_env(const struct strv *env, const char *name)
{
	const char *got = env_value(env, name);

	if (got)
		fail_msg("%s passed (value %s), want it dropped", name, got);
}

/* env_build takes the shape of environ; the tables here are constant. */
static void build(struct strv *env, const char *const *envp,
		  const struct policy *p)
{
	env_build(env, (char *const *)envp, p);
}

static void policy_add_set(struct policy *p, const char *name,
			   const char *value)
{
	struct policy_env_var *v;

	p->env_set = xreallocarray(p->env_set, p->n_env_set + 1,
				   sizeof(*p->env_set));
	v = &p->env_set[p->n_env_set++];
	v->name = xstrdup(name);
	v->value = xstrdup(value);
}

/* Releases what the tests put in a hand-made policy. */
static void policy_release(struct policy *p)
{
	for (size_t i = 0; i < p->n_env_set; i++) {
		free(p->env_set[i].name);
		free(p->env_set[i].value);
	}
	free(p->env_set);
	strv_clear(&p->env_pass);
	*p = (struct policy){ 0 };
}

static void test_keep_list(void **state)
{
	static const char *const envp[] = {
		"PATH=/opt/tools/bin:/usr/bin", "HOME=/home/u", "TERM=xterm-256color",
		"LANG=en_GB.UTF-8", "USER=u", "SHELL=/bin/bash", "LC_ALL=C.UTF-8",
		"TZ=Europe/Paris", "EDITOR=vi", NULL,
	};
	struct policy p = { 0 };
	struct strv env;

	build(&env, envp, &p);
	assert_env(&env, "PATH", "/opt/tools/bin:/usr/bin");
	assert_env(&env, "HOME", "/home/u");
	assert_env(&env, "TERM", "xterm-256color");
	assert_env(&env, "LANG", "en_GB.UTF-8");
	assert_env(&env, "USER", "u");
	assert_env(&env, "SHELL", "/bin/bash");
	assert_env(&env, "LC_ALL", "C.UTF-8");
	assert_env(&env, "TZ", "Europe/Paris");
	assert_env(&env, "EDITOR", "vi");
	/* the nine kept, TMPDIR and GIT_TEMPLATE_DIR, nothing else */
	assert_int_equal(env.len, 11);
	strv_clear(&env);
}

/* Every name of the built-in keep list survives with its value. */
static void test_keep_list_whole(void **state)
{
	struct strv in = { 0 }, env;
	struct policy p = { 0 };

	for (size_t i = 0; policy_env_keep[i]; i++)
		strv_push_owned(&in, xasprintf("%s=value-of-%s",
					       policy_env_keep[i],
					       policy_env_keep[i]));
	build(&env, (const char *const *)in.items, &p);
	for (size_t i = 0; policy_env_keep[i]; i++) {
		_cleanup_free_ char *want = xasprintf("value-of-%s",
						      policy_env_keep[i]);

		assert_env(&env, policy_env_keep[i], want);
	}
	assert_int_equal(env.len, in.len + 2);
	strv_clear(&in);
	strv_clear(&env);
}

static void test_secrets_and_unknown_dropped(void **state)
{
	static const char *const envp[] = {
		"FOO_API_KEY=k-123", "GITHUB_TOKEN=ghp_x", "HOME=/home/u",
		"AWS_SECRET_ACCESS_KEY=aws-x", "MY_PASSWORD=hunter2",
		"ANTHROPIC_API_KEY=sk-ant-x", "RANDOM_VAR=1", "LD_PRELOAD=/x.so",
		"SSH_AUTH_SOCK=/run/agent", NULL,
	};
	static const char *const dropped[] = {
		"FOO_API_KEY", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY",
		"MY_PASSWORD", "ANTHROPIC_API_KEY", "RANDOM_VAR", "LD_PRELOAD",
		"SSH_AUTH_SOCK",
	};
	struct policy p = { 0 };
	struct strv env;

	build(&env, envp, &p);
	for (size_t i = 0; i < ARRAY_SIZE(dropped); i++)
		assert_no_env(&env, dropped[i]);
	assert_env(&env, "HOME", "/home/u");
	assert_int_equal(env.len, 4); /* HOME, TMPDIR, GIT_TEMPLATE_DIR, PATH */
	strv_clear(&env);
}

/* Names that only start or end like a kept one are not kept. */
static void test_keep_list_whole_names(void **state)
{
	static const char *const envp[] = {
		"PATHX=1", "PAT=2", "XPATH=3", "HOME_DIR=4", "path=5",
		"NOEQUALSIGN", "=orphan", "TERM=dumb", NULL,
	};
	struct policy p = { 0 };
	struct strv env;

	build(&env, envp, &p);
	assert_no_env(&env, "PATHX");
	assert_no_env(&env, "PAT");
	assert_no_env(&env, "XPATH");
	assert_no_env(&env, "HOME_DIR");
	assert_no_env(&env, "path");
	assert_no_env(&env, "");
	for (size_t i = 0; i < env.len; i++)
		if (!strchr(env.items[i], '=') || env.items[i][0] == '=')
			fail_msg("malformed entry %s passed", env.items[i]);
	assert_env(&env, "TERM", "dumb");
	assert_env(&env, "PATH", DEFAULT_PATH);
	assert_int_equal(env.len, 4);
	strv_clear(&env);
}

static void test_pass_list(void **state)
{
	static const char *const envp[] = {
		"GITHUB_TOKEN=ghp_x", "GITHUB_TOKEN_OLD=ghp_y", "GITHUB=z",
		"FOO_API_KEY=k", "CI=true", NULL,
	};
	struct policy p = { 0 };
	struct strv env;

	strv_push(&p.env_pass, "GITHUB_TOKEN");
	strv_push(&p.env_pass, "CI");
	strv_push(&p.env_pass, "NOT_IN_CALLER");
	build(&env, envp, &p);
	assert_env(&env, "GITHUB_TOKEN", "ghp_x");
	assert_env(&env, "CI", "true");
	/* a passed name covers itself only, never a longer or shorter one */
	assert_no_env(&env, "GITHUB_TOKEN_OLD");
	assert_no_env(&env, "GITHUB");
	assert_no_env(&env, "FOO_API_KEY");
	/* passing a name the caller lacks invents nothing */
	assert_no_env(&env, "NOT_IN_CALLER");
	strv_clear(&env);
	policy_release(&p);
}

static void test_set_values(void **state)
{
	static const char *const envp[] = {
		"EDITOR=nano", "PATH=/usr/bin", "TMPDIR=/home/u/tmp",
		"GIT_TEMPLATE_DIR=/home/u/hooks", NULL,
	};
	struct policy p = { 0 };
	struct strv env;

	policy_add_set(&p, "EDITOR", "vim");
	policy_add_set(&p, "MODE", "ci");
	policy_add_set(&p, "PATH", "/opt/bin");
	policy_add_set(&p, "TMPDIR", "/var/scratch");
	policy_add_set(&p, "API_TOKEN", "set-by-policy");
	build(&env, envp, &p);
	assert_env(&env, "EDITOR", "vim");
	assert_env(&env, "MODE", "ci");
	assert_env(&env, "PATH", "/opt/bin");
	/* a value the policy sets is the policy's, whatever its name */
	assert_env(&env, "API_TOKEN", "set-by-policy");
	/* these two are airlock's own, neither caller nor policy moves them */
	assert_env(&env, "TMPDIR", "/tmp");
	assert_int_equal(env_count(&env, "GIT_TEMPLATE_DIR"), 1);
	assert_string_not_equal(env_value(&env, "GIT_TEMPLATE_DIR"),
				"/home/u/hooks");
	strv_clear(&env);
	policy_release(&p);
}

static void test_fixed_vars(void **state)
{
	static const char *const envp[] = { "TMPDIR=/home/u/tmp", "HOME=/home/u", NULL };
	struct policy p = { 0 };
	struct strv env;
	const char *tmpl;

	build(&env, envp, &p);
	assert_env(&env, "TMPDIR", "/tmp");
	tmpl = env_value(&env, "GIT_TEMPLATE_DIR");
	/* one test, so that gcc -O3 sees no path that dereferences NULL */
	assert_true(tmpl != NULL && tmpl[0] == '/');
	assert_int_equal(env_count(&env, "GIT_TEMPLATE_DIR"), 1);
	strv_clear(&env);
}

static void test_default_path(void **state)
{
	static const char *const only_home[] = { "HOME=/home/u", NULL };
	static const char *const empty[] = { NULL };
	struct policy p = { 0 };
	struct strv env;

	build(&env, only_home, &p);
	assert_env(&env, "PATH", DEFAULT_PATH);
	strv_clear(&env);

	build(&env, empty, &p);
	assert_env(&env, "PATH", DEFAULT_PATH);
	assert_env(&env, "TMPDIR", "/tmp");
	assert_int_equal(env.len, 3);
	strv_clear(&env);

	build(&env, NULL, &p);
	assert_env(&env, "PATH", DEFAULT_PATH);
	assert_int_equal(env.len, 3);
	strv_clear(&env);
}

/* Only the name decides: a value is never looked at. */
static void test_value_never_decides(void **state)
{
	static const char *const envp[] = {
		"X=MY_API_KEY", "BUILD=TOKEN", "LANG=TOKEN_en.UTF-8",
		"HOME=/home/SECRET_PASSWORD", "TERM=AWS_SECRET_ACCESS_KEY", NULL,
	};
	struct policy p = { 0 };
	struct strv env;

	build(&env, envp, &p);
	assert_no_env(&env, "X");
	assert_no_env(&env, "BUILD");
	assert_env(&env, "LANG", "TOKEN_en.UTF-8");
	assert_env(&env, "HOME", "/home/SECRET_PASSWORD");
	assert_env(&env, "TERM", "AWS_SECRET_ACCESS_KEY");
	strv_clear(&env);
}

/* At debug level a dropped name is reported, its value never. */
static void test_debug_log_names_only(void **state)
{
	static const char *const envp[] = {
		"FOO_API_KEY=value-must-not-leak", "RANDOM_VAR=plain-value", NULL,
	};
	enum log_level saved = log_get_level();
	struct policy p = { 0 };
	char buf[LOG_CAPTURE_MAX_BYTES];
	struct strv env;
	int mfd, err;
	ssize_t n;

	mfd = memfd_create("test-env-log", MFD_CLOEXEC);
	assert_true(mfd >= 0);
	err = dup(STDERR_FILENO);
	assert_true(err >= 0);
	assert_int_equal(dup2(mfd, STDERR_FILENO), STDERR_FILENO);
	log_set_level(LOG_LEVEL_DEBUG);
	build(&env, envp, &p);
	log_set_level(saved);
	assert_int_equal(dup2(err, STDERR_FILENO), STDERR_FILENO);
	close(err);

	n = pread(mfd, buf, sizeof(buf) - 1, 0);
	close(mfd);
	assert_true(n > 0);
	buf[n] = '\0';
	if (!strstr(buf, "FOO_API_KEY") || !strstr(buf, "RANDOM_VAR"))
		fail_msg("dropped names not reported: %s", buf);
	if (!strstr(buf, "secret"))
		fail_msg("secret-looking name not called so: %s", buf);
	if (strstr(buf, "value-must-not-leak") || strstr(buf, "plain-value"))
		fail_msg("a value reached the log: %s", buf);
	assert_no_env(&env, "FOO_API_KEY");
	strv_clear(&env);
}

struct secret_case {
	const char *name;
	bool secret;
};

static void test_name_is_secret(void **state)
{
	static const struct secret_case cases[] = {
		{ "FOO_API_KEY", true },
		{ "GITHUB_TOKEN", true },
		{ "github_token", true },
		{ "AWS_SECRET_ACCESS_KEY", true },
		{ "AWS_PROFILE", true },
		{ "MY_PASSWORD", true },
		{ "DB_PASSWD", true },
		{ "ANTHROPIC_API_KEY", true },
		{ "ANTHROPIC_BASE_URL", true },
		{ "OPENAI_ORG", true },
		{ "SESSION_ID", true },
		{ "XAUTHORITY", true },
		{ "my_apikey", true },
		{ "GOOGLE_APPLICATION_CREDENTIALS", true },
		{ "DATABASE_URL", true },
		{ "PGPASSFILE", true },
		{ "KUBECONFIG", true },
		{ "SSH_AUTH_SOCK", true },
		{ "GH_HOST", true },
		{ "CI_JOB_JWT", true },
		{ "NPM_CONFIG__AUTH", true },
		{ "PRIVATE_REGISTRY", true },
		{ "PATH", false },
		{ "HOME", false },
		{ "LANG", false },
		{ "TERM", false },
		{ "EDITOR", false },
		{ "USER", false },
		{ "HOSTNAME", false },
		{ "PWD", false },
		{ "CARGO_HOME", false },
		{ "NODE_ENV", false },
		{ "GHOST_DIR", false },
		{ "MY_AWS_REGION", false },
		{ "RANDOM_VAR", false },
		{ "", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (policy_env_name_is_secret(cases[i].name) != cases[i].secret)
			fail_msg("%s: want %s", cases[i].name,
				 cases[i].secret ? "secret" : "not secret");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keep_list),
		cmocka_unit_test(test_keep_list_whole),
		cmocka_unit_test(test_secrets_and_unknown_dropped),
		cmocka_unit_test(test_keep_list_whole_names),
		cmocka_unit_test(test_pass_list),
		cmocka_unit_test(test_set_values),
		cmocka_unit_test(test_fixed_vars),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test(test_value_never_decides),
		cmocka_unit_test(test_debug_log_names_only),
		cmocka_unit_test(test_name_is_secret),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
