/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `airlock run`: options (compatible with sandbox-runtime's --settings and
 * -c), the policy, CMD's environment, then the sandbox. Options are a table
 * with one small handler each. Runs in the caller's process, before any
 * namespace exists.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/log.h"
#include "common/path.h"
#include "common/util.h"
#include "policy/policy.h"
#include "sandbox/sandbox.h"

extern char **environ;

enum run_opt {
	OPT_SETTINGS = 256, OPT_PROFILE, OPT_WORKSPACE, OPT_NO_USER_SETTINGS,
	OPT_ENV, OPT_MEMORY, OPT_PROCESSES, OPT_CPU, OPT_OPEN_FILES,
	OPT_FILE_SIZE, OPT_TIMEOUT, OPT_DRY_RUN, OPT_HELP, OPT_GATEWAY,
	OPT_AUDIT,
};

static const struct option run_options[] = {
	{ "settings", required_argument, NULL, OPT_SETTINGS },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "workspace", required_argument, NULL, OPT_WORKSPACE },
	{ "no-user-settings", no_argument, NULL, OPT_NO_USER_SETTINGS },
	{ "env", required_argument, NULL, OPT_ENV },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "processes", required_argument, NULL, OPT_PROCESSES },
	{ "cpu", required_argument, NULL, OPT_CPU },
	{ "open-files", required_argument, NULL, OPT_OPEN_FILES },
	{ "file-size", required_argument, NULL, OPT_FILE_SIZE },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "gateway", required_argument, NULL, OPT_GATEWAY },
	{ "audit", required_argument, NULL, OPT_AUDIT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* What the options ask for, before the policy is loaded. */
struct run_request {
	struct strv settings;
	struct strv env_args;
	const char *profile;
	const char *workspace;
	const char *command_string;
	const char *gateway;
	const char *audit;
	bool no_user_settings;
	bool dry_run;
	int verbosity;
	/* limits from the command line; set[] says which were given */
	unsigned long long limit[6];
	bool limit_set[6];
};

/* Order of run_request.limit, and how each option reads its value. */
static const struct {
	int opt;
	const char *name;
	bool is_size;
} limit_options[] = {
	{ OPT_MEMORY, "--memory", true },
	{ OPT_PROCESSES, "--processes", false },
	{ OPT_CPU, "--cpu", false },
	{ OPT_OPEN_FILES, "--open-files", false },
	{ OPT_FILE_SIZE, "--file-size", true },
	{ OPT_TIMEOUT, "--timeout", false },
};

int cli_parse_limit(const char *opt, const char *arg, bool is_size,
		    unsigned long long *out)
{
	int r = is_size ? parse_size(arg, out) : parse_u64(arg, out);

	if (r < 0 || *out == 0)
		return cli_usage_error("%s: '%s' is not a positive %s", opt, arg,
				       is_size ? "size (like 512M)" : "number");
	return 0;
}

static int request_limit(struct run_request *rq, int opt, const char *arg)
{
	for (size_t i = 0; i < ARRAY_SIZE(limit_options); i++) {
		if (limit_options[i].opt != opt)
			continue;
		if (cli_parse_limit(limit_options[i].name, arg,
				    limit_options[i].is_size, &rq->limit[i]) != 0)
			return AIRLOCK_EXIT_USAGE;
		rq->limit_set[i] = true;
		return 0;
	}
	return AIRLOCK_EXIT_USAGE;
}

static int request_option(struct run_request *rq, int c, const char *arg)
{
	switch (c) {
	case OPT_SETTINGS:
		strv_push(&rq->settings, arg);
		return 0;
	case OPT_PROFILE:
		rq->profile = arg;
		return 0;
	case OPT_WORKSPACE:
		rq->workspace = arg;
		return 0;
	case OPT_NO_USER_SETTINGS:
		rq->no_user_settings = true;
		return 0;
	case OPT_ENV:
		if (arg[0] == '=' || arg[0] == '\0')
			return cli_usage_error("--env: '%s' has no name", arg);
		strv_push(&rq->env_args, arg);
		return 0;
	case OPT_DRY_RUN:
		rq->dry_run = true;
		return 0;
	case OPT_GATEWAY:
		rq->gateway = arg;
		return 0;
	case OPT_AUDIT:
		rq->audit = arg;
		return 0;
	case 'c':
		rq->command_string = arg;
		return 0;
	case 'v':
		rq->verbosity++;
		return 0;
	case OPT_HELP:
		cli_print_usage(stdout);
		exit(0);
	default:
		if (c >= OPT_MEMORY && c <= OPT_TIMEOUT)
			return request_limit(rq, c, arg);
		return AIRLOCK_EXIT_USAGE; /* getopt said what was wrong */
	}
}

static void policy_apply_request(struct policy *p, const struct run_request *rq)
{
	uint64_t *fields[] = {
		&p->limits.memory_bytes, &p->limits.processes,
		&p->limits.cpu_seconds, &p->limits.open_files,
		&p->limits.file_size_bytes, &p->limits.timeout_seconds,
	};

	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (rq->limit_set[i])
			*fields[i] = rq->limit[i];

	for (size_t i = 0; i < rq->env_args.len; i++) {
		const char *arg = rq->env_args.items[i];
		const char *eq = strchr(arg, '=');
		struct policy_env_var *v;

		if (!eq) {
			strv_push_unique(&p->env_pass, arg);
			continue;
		}
		p->env_set = xreallocarray(p->env_set, p->n_env_set + 1,
					   sizeof(*p->env_set));
		v = &p->env_set[p->n_env_set++];
		v->name = xstrndup(arg, (size_t)(eq - arg));
		v->value = xstrdup(eq + 1);
	}
}

static int load_policy(struct policy *p, const struct run_request *rq)
{
	struct policy_errors errs = { 0 };
	struct policy_load_opts opts = {
		.profile = rq->profile,
		.files = rq->settings.len ? (const char *const *)rq->settings.items :
					    NULL,
		.workspace = rq->workspace,
		.no_user_settings = rq->no_user_settings,
	};

	if (policy_load(p, &opts, &errs) < 0) {
		policy_errors_print(&errs, stderr);
		policy_errors_free(&errs);
		return AIRLOCK_EXIT_USAGE;
	}
	policy_apply_request(p, rq);
	return 0;
}

/*
 * A log that CMD can write is a log CMD can rewrite. The default log lives
 * in airlock's own state folder, which is then made read-only inside (the
 * gateway appends from outside); a file the user named inside a writable
 * tree cannot be guarded that way without guarding its whole folder, so
 * that only gets a warning. Paths are compared lexically.
 */
static void audit_guard(const char *audit, bool is_default, struct policy *p)
{
	_cleanup_free_ char *cwd = NULL, *full = NULL;

	if (!audit)
		return;
	cwd = getcwd(NULL, 0);
	full = path_absolute(audit, cwd, NULL);
	if (!full)
		return;
	for (size_t i = 0; i < p->deny_write.len; i++)
		if (path_is_within(full, p->deny_write.items[i]))
			return;
	for (size_t i = 0; i < p->allow_write.len; i++) {
		if (!path_is_within(full, p->allow_write.items[i]))
			continue;
		if (is_default) {
			strv_push_owned(&p->deny_write, path_dirname(full));
			return;
		}
		log_warn("the audit log %s is inside %s, which the sandbox can "
			 "write: CMD could alter its records", full,
			 p->allow_write.items[i]);
		return;
	}
}

static int parse_request(struct run_request *rq, int argc, char **argv)
{
	int c;

	opterr = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+c:vh", run_options, NULL)) != -1) {
		int r = request_option(rq, c == 'h' ? OPT_HELP : c, optarg);

		if (r != 0)
			return r;
	}
	if (rq->command_string && optind < argc)
		return cli_usage_error("-c takes the whole command; extra "
				       "argument '%s'", argv[optind]);
	if (!rq->command_string && optind >= argc)
		return cli_usage_error("no command given: airlock run [OPTIONS] "
				       "[--] CMD [ARGS...]");
	return 0;
}

int cli_run(int argc, char **argv)
{
	struct run_request rq = { 0 };
	struct policy p = { 0 };
	struct sandbox_config cfg = { 0 };
	char *sh_argv[] = { (char *)"/bin/sh", (char *)"-c", NULL, NULL };
	_cleanup_free_ char *audit = NULL;
	int r;

	r = parse_request(&rq, argc, argv);
	if (r == 0) {
		if (rq.verbosity)
			log_set_level(rq.verbosity > 1 ? LOG_LEVEL_DEBUG :
							 LOG_LEVEL_INFO);
		r = load_policy(&p, &rq);
	}
	if (r != 0)
		goto out;

	sh_argv[2] = (char *)rq.command_string;
	cfg.policy = &p;
	cfg.argv = rq.command_string ? sh_argv : argv + optind;
	cfg.dry_run = rq.dry_run;
	cfg.gateway_socket = rq.gateway;
	/* a shared gateway keeps its own log */
	if (!rq.gateway)
		audit = cli_audit_file(rq.audit ? rq.audit : p.audit_file,
				       p.home, !rq.dry_run);
	audit_guard(audit, !rq.audit && !p.audit_file, &p);
	cfg.audit_path = audit;
	env_build(&cfg.env, environ, &p);
	r = sandbox_run(&cfg);
	strv_clear(&cfg.env);
	policy_free(&p);
out:
	strv_clear(&rq.settings);
	strv_clear(&rq.env_args);
	return r;
}
