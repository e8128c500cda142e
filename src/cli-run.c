/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `airlock run`: options (compatible with sandbox-runtime's --settings and
 * -c), the policy, CMD's environment, then the sandbox. Options are a table
 * with one small handler each. Runs in the caller's process, before any
 * namespace exists.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common/log.h"
#include "common/path.h"
#include "common/util.h"
#include "policy/policy.h"
#include "review/review.h"
#include "run-folder.h"
#include "sandbox/sandbox.h"
#include "tls/ca.h"

extern char **environ;

enum run_opt {
	OPT_SETTINGS = 256, OPT_PROFILE, OPT_WORKSPACE, OPT_NO_USER_SETTINGS,
	OPT_ENV, OPT_MEMORY, OPT_PROCESSES, OPT_CPU, OPT_OPEN_FILES,
	OPT_FILE_SIZE, OPT_TIMEOUT, OPT_DRY_RUN, OPT_HELP, OPT_GATEWAY,
	OPT_AUDIT, OPT_WORKSPACE_MODE,
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
	{ "workspace-mode", required_argument, NULL, OPT_WORKSPACE_MODE },
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
	enum workspace_mode workspace_mode;
	bool no_user_settings;
	bool dry_run;
	int verbosity;
	/* limits from the command line; set[] says which were given */
	unsigned long long limit[6];
	bool limit_set[6];
};

/* --workspace-mode's words, in the order of enum workspace_mode. */
static const char *const workspace_mode_names[] = {
	[WORKSPACE_LIVE] = "live",
	[WORKSPACE_OVERLAY] = "overlay",
	[WORKSPACE_TMPFS] = "tmpfs",
	[WORKSPACE_RO] = "ro",
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
	case OPT_WORKSPACE_MODE:
		for (size_t i = 0; i < ARRAY_SIZE(workspace_mode_names); i++)
			if (streq(arg, workspace_mode_names[i])) {
				rq->workspace_mode = (enum workspace_mode)i;
				return 0;
			}
		return cli_usage_error("--workspace-mode: '%s' is not one of "
				       "live, overlay, tmpfs, ro", arg);
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

/* The writable tree that holds path, or NULL (lexical comparison). */
static const char *writable_tree_of(const char *path, const struct policy *p)
{
	for (size_t i = 0; i < p->deny_write.len; i++)
		if (path_is_within(path, p->deny_write.items[i]))
			return NULL;
	for (size_t i = 0; i < p->allow_write.len; i++)
		if (path_is_within(path, p->allow_write.items[i]))
			return p->allow_write.items[i];
	return NULL;
}

/*
 * Records that CMD can write are records CMD can rewrite. airlock's own
 * state folder (the default audit log, the runs' folders) is bound
 * read-only inside when it lies in a writable tree; the gateway and the
 * supervisor write it from outside. A log the user named inside a
 * writable tree cannot be guarded without its whole folder, so that only
 * gets a warning.
 */
static void records_guard(const char *audit, struct policy *p)
{
	_cleanup_free_ char *runs = review_runs_path(p->home);
	_cleanup_free_ char *cwd = getcwd(NULL, 0);
	_cleanup_free_ char *full = audit ? path_absolute(audit, cwd, NULL) :
					    NULL;
	const char *tree;

	if (runs && writable_tree_of(runs, p))
		strv_push_owned(&p->deny_write, path_dirname(runs));
	if (!full || !(tree = writable_tree_of(full, p)))
		return;
	log_warn("the audit log %s is inside %s, which the sandbox can write: "
		 "CMD could alter its records", full, tree);
}

/*
 * The CA's key signs certificates that every sandbox with credentials
 * trusts, so no sandbox may read it. Started by a user, CMD has the
 * user's uid, so the CA's folder (and a key the policy names) is masked
 * in every run; started by root, CMD's uid cannot pass the folder (0700,
 * root's) in the first place. When the run terminates TLS, the CA it
 * uses (the policy's, else the user's, made now so that the mask finds
 * it in place) goes into *cert and *key.
 */
static int ca_guard(struct policy *p, bool dry_run, char **cert, char **key)
{
	bool needed = p->n_credentials || p->n_request_rules;

	*cert = *key = NULL;
	if (getuid() != 0) {
		char *dir = ca_user_dir(p->home);

		if (dir)
			strv_push_owned(&p->mask, dir);
		if (p->tls_ca_key)
			strv_push(&p->mask, p->tls_ca_key);
	}
	if (!needed || dry_run)
		return 0;
	if (p->tls_ca_cert) {
		*cert = xstrdup(p->tls_ca_cert);
		*key = xstrdup(p->tls_ca_key);
		return 0;
	}
	if (ca_user_ensure(p->home, cert, key) < 0) {
		log_error("cannot make or open airlock's CA, which credentials "
			  "and request rules need (see airlock ca)");
		return AIRLOCK_EXIT_SETUP;
	}
	return 0;
}

static void run_recorded(void *ctx)
{
	run_folder_record(ctx);
}

static void run_ended(void *ctx, int status)
{
	run_folder_end(ctx, status);
}

/*
 * Gives the run its id and its folder. Overlay mode cannot go on without
 * one (the folder holds the layer); the other modes go on without a
 * record, with a warning, since the record is not part of the boundary.
 */
static int run_start(struct run_folder *rf, const struct run_request *rq,
		     struct sandbox_config *cfg, char id[RUN_ID_MAX_BYTES])
{
	bool overlay = rq->workspace_mode == WORKSPACE_OVERLAY;
	struct run_folder_spec spec = {
		.id = id,
		.policy = cfg->policy,
		.argv = cfg->argv,
		.mode = workspace_mode_names[rq->workspace_mode],
		.overlay = overlay,
		.as_root = getuid() == 0,
	};
	int r = run_id_make(id);

	if (r < 0) {
		log_error_errno(-r, "cannot make a run id");
		return AIRLOCK_EXIT_SETUP;
	}
	cfg->run_id = id;
	r = run_folder_create(rf, &spec);
	if (r < 0 && overlay)
		return AIRLOCK_EXIT_SETUP;
	if (r < 0)
		log_warn("run %s goes on without a record", id);
	if (overlay && path_is_within(rf->path, cfg->policy->workspace)) {
		log_error("--workspace-mode overlay: the run's folder %s lies in "
			  "the workspace it would overlay; set XDG_STATE_HOME "
			  "to a folder outside %s", rf->path,
			  cfg->policy->workspace);
		run_folder_finish(rf, AIRLOCK_EXIT_SETUP);
		return AIRLOCK_EXIT_SETUP;
	}
	cfg->layers = overlay ? rf->path : NULL;
	cfg->started = run_recorded;
	cfg->ended = run_ended;
	cfg->hook_ctx = rf;
	return 0;
}

/* Overlay mode: says how to review what CMD left, if it left anything. */
static void run_review_hint(const struct run_folder *rf)
{
	_cleanup_close_ int fd = -1;
	DIR *d;
	struct dirent *e;
	bool changed = false;

	if (rf->upper_fd < 0)
		return;
	fd = openat(rf->upper_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = fd < 0 ? NULL : fdopendir(steal_fd(&fd));
	while (d && !changed && (e = readdir(d)))
		changed = !streq(e->d_name, ".") && !streq(e->d_name, "..");
	if (d)
		closedir(d);
	if (changed)
		log_warn("run %s kept its changes for review: see them with "
			 "'airlock diff', then 'airlock apply' or 'airlock "
			 "discard'", rf->rec.id);
	else
		log_info("run %s changed nothing in the workspace", rf->rec.id);
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
	_cleanup_free_ char *audit = NULL, *ca_cert = NULL, *ca_key = NULL;
	struct run_folder folder = { .fd = -1, .lock_fd = -1, .upper_fd = -1 };
	char id[RUN_ID_MAX_BYTES];
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
	records_guard(audit, &p);
	r = ca_guard(&p, rq.dry_run, &ca_cert, &ca_key);
	if (r != 0) {
		policy_free(&p);
		goto out;
	}
	cfg.audit_path = audit;
	cfg.ca_cert = ca_cert;
	cfg.ca_key = ca_key;
	cfg.workspace_mode = rq.workspace_mode;
	if (rq.workspace_mode == WORKSPACE_RO)
		strv_remove(&p.allow_write, p.workspace);
	if (!rq.dry_run)
		r = run_start(&folder, &rq, &cfg, id);
	if (r == 0) {
		env_build(&cfg.env, environ, &p);
		r = sandbox_run(&cfg);
		run_review_hint(&folder);
	}
	run_folder_finish(&folder, r);
	strv_clear(&cfg.env);
	policy_free(&p);
out:
	strv_clear(&rq.settings);
	strv_clear(&rq.env_args);
	return r;
}
