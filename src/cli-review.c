/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The review commands: `airlock runs` lists the runs (and --prune removes
 * finished ones), `airlock diff` shows what an overlay run changed,
 * `airlock apply` lands the changes in the workspace and `airlock discard`
 * drops them. This file chooses the run, refuses the cases that cannot be
 * reviewed (a run still active, a workspace moved or replaced, a run that
 * did not use an overlay) and turns results into messages and exit
 * statuses; the work is in src/review.
 *
 * Trust position: runs with the caller's own rights, outside any sandbox.
 * Paths, symlink targets and the recorded command come from the agent or
 * its command line and are escaped before they reach the terminal.
 */
#include "config.h"

#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/path.h"
#include "common/util.h"
#include "policy/policy.h"
#include "review/review.h"

/* Exit status when the command was refused or could not finish. */
#define REVIEW_EXIT_REFUSED 1

/* --prune's limit of --older-than, in days (a little over 27 years). */
#define PRUNE_DAYS_MAX 10000
#define SECONDS_PER_DAY INT64_C(86400)
#define NS_PER_SEC INT64_C(1000000000)

/* "2026-12-04 08:04" and a NUL. */
#define LOCAL_TIME_MAX_BYTES 32
/* The recorded command as shown; the table cuts it to the terminal. */
#define COMMAND_TEXT_MAX_BYTES 1024
#define CLEAN_PATH_MAX_BYTES (PATH_MAX * 4)

/* A line of `airlock runs`; COMMAND, last, starts at column 74. */
#define RUNS_ROW_FORMAT "%-25s  %-9s  %-7s  %7s  %-16s  %s\n"
#define RUNS_COMMAND_COLUMN 74

enum review_opt {
	OPT_HELP = 256, OPT_PRUNE, OPT_OLDER_THAN, OPT_FORCE, OPT_STAT,
	OPT_PATCH,
};

/* Every review command's options; each command accepts its own. */
static const struct option review_options[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	{ "prune", no_argument, NULL, OPT_PRUNE },
	{ "older-than", required_argument, NULL, OPT_OLDER_THAN },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "stat", no_argument, NULL, OPT_STAT },
	{ "patch", no_argument, NULL, OPT_PATCH },
	{ NULL, 0, NULL, 0 },
};

/* What the command line asks for. */
struct review_request {
	const char *command;  /* "runs", "diff", "apply", "discard" */
	const char *run_arg;  /* RUN as given, or NULL */
	struct strv paths;    /* apply's PATHS, relative to the workspace */
	bool prune;
	bool force;
	bool older_than_set;
	unsigned long long older_than_days;
	enum review_diff_format format;
};

/* The run a command works on, with what it holds open. */
struct review_session {
	char *runs_path;
	struct review_run_list runs;
	struct review_run *run;
	int lock_fd;
	int real_fd;
	int upper_fd;
	struct strv protect;
	struct review_changes changes;
};

/* ---- options ---- */

/* The options each command takes, as getopt_long codes. */
static bool option_allowed(const char *command, int c)
{
	if (c == OPT_HELP)
		return true;
	if (streq(command, "runs"))
		return c == OPT_PRUNE || c == OPT_OLDER_THAN || c == OPT_FORCE;
	if (streq(command, "diff"))
		return c == OPT_STAT || c == OPT_PATCH;
	if (streq(command, "apply"))
		return c == OPT_FORCE;
	return false;
}

static int request_option(struct review_request *rq, int c, const char *arg)
{
	switch (c) {
	case OPT_HELP:
		cli_print_usage(stdout);
		exit(0);
	case OPT_PRUNE:
		rq->prune = true;
		return 0;
	case OPT_OLDER_THAN:
		rq->older_than_set = true;
		if (parse_u64(arg, &rq->older_than_days) < 0 ||
		    rq->older_than_days > PRUNE_DAYS_MAX)
			return cli_usage_error("--older-than takes a number of "
					       "days from 0 to %d, not '%s'",
					       PRUNE_DAYS_MAX, arg);
		return 0;
	case OPT_FORCE:
		rq->force = true;
		return 0;
	case OPT_STAT:
		rq->format = REVIEW_DIFF_STAT;
		return 0;
	case OPT_PATCH:
		rq->format = REVIEW_DIFF_PATCH;
		return 0;
	default:
		return AIRLOCK_EXIT_USAGE; /* getopt said what was wrong */
	}
}

/* "20261204T070401Z-3f9a2c1b": what run_id_make writes. */
static bool looks_like_run_id(const char *s)
{
	static const char shape[] = "ddddddddTddddddZ-xxxxxxxx";

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++) {
		bool ok = shape[i] == 'd' ? s[i] >= '0' && s[i] <= '9' :
			  shape[i] == 'x' ? hex_value(s[i]) >= 0 :
			  s[i] == shape[i];

		if (!ok)
			return false;
	}
	return true;
}

/* Eight hex digits: the random part of an id, enough to name a run. */
static bool looks_like_run_suffix(const char *s)
{
	size_t n = strlen(s);

	if (n != 8)
		return false;
	for (size_t i = 0; i < n; i++)
		if (hex_value(s[i]) < 0)
			return false;
	return true;
}

static int request_positionals(struct review_request *rq, int argc,
			       char **argv)
{
	if (streq(rq->command, "runs")) {
		if (optind < argc)
			return cli_usage_error("runs takes no arguments; extra "
					       "'%s'", argv[optind]);
		if (rq->older_than_set && !rq->prune)
			return cli_usage_error("--older-than goes with --prune");
		return 0;
	}
	/* apply's first argument is RUN only when it has a run id's form */
	if (optind < argc && (!streq(rq->command, "apply") ||
			      looks_like_run_id(argv[optind]) ||
			      looks_like_run_suffix(argv[optind])))
		rq->run_arg = argv[optind++];
	if (!streq(rq->command, "apply") && optind < argc)
		return cli_usage_error("%s takes one RUN; extra argument '%s'",
				       rq->command, argv[optind]);
	for (; optind < argc; optind++)
		strv_push(&rq->paths, argv[optind]);
	return 0;
}

/* The long name of an option code, for messages. */
static const char *option_name(int opt)
{
	for (size_t i = 0; review_options[i].name; i++)
		if (review_options[i].val == opt)
			return review_options[i].name;
	return "?";
}

static int request_parse(struct review_request *rq, int argc, char **argv)
{
	int c;

	rq->command = argv[0];
	opterr = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "hp", review_options,
				NULL)) != -1) {
		int opt = c == 'h' ? OPT_HELP : c == 'p' ? OPT_PATCH : c;
		int r;

		if (opt != '?' && !option_allowed(rq->command, opt))
			return cli_usage_error("%s does not take --%s",
					       rq->command, option_name(opt));
		r = request_option(rq, opt, optarg);
		if (r != 0)
			return r;
	}
	return request_positionals(rq, argc, argv);
}

/* ---- the runs ---- */

/* The runs folder of the caller, from the home the policy would use. */
static char *runs_path_find(void)
{
	struct policy_load_opts opts = { .no_user_settings = true };
	struct policy_errors errs = { 0 };
	struct policy p = { 0 };
	char *path;

	if (policy_load(&p, &opts, &errs) < 0) {
		policy_errors_free(&errs);
		return review_runs_path(getenv("HOME"));
	}
	path = review_runs_path(p.home);
	policy_free(&p);
	return path;
}

static const char *state_word(const struct review_run *run, char *buf,
			      size_t size)
{
	switch (run->state) {
	case REVIEW_RUN_ACTIVE:
		return "active";
	case REVIEW_RUN_FINISHED:
		snprintf(buf, size, "exit %d", run->rec.status);
		return buf;
	case REVIEW_RUN_KILLED:
		return "killed";
	case REVIEW_RUN_APPLIED:
		return "applied";
	case REVIEW_RUN_DISCARDED:
		return "discarded";
	}
	return "?";
}

static void local_time(int64_t ns, char *buf, size_t size)
{
	time_t t = (time_t)(ns / NS_PER_SEC);
	struct tm tm;

	if (!localtime_r(&t, &tm) ||
	    strftime(buf, size, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(buf, size, "?");
}

/* The recorded command as one escaped line. */
static void command_text(const struct run_record *rec, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < rec->argv.len && n + 1 < size; i++) {
		if (i > 0)
			buf[n++] = ' ';
		log_sanitize(buf + n, size - n, rec->argv.items[i]);
		n += strlen(buf + n);
	}
	buf[n] = '\0';
}

/* True when the run's workspace is the folder path names (both resolved). */
static bool run_is_of(const struct review_run *run, const char *cwd)
{
	_cleanup_free_ char *ws = realpath(run->rec.workspace, NULL);

	return streq(ws ? ws : run->rec.workspace, cwd);
}

static bool run_is_open(const struct review_run *run)
{
	return streq(run->rec.mode, "overlay") &&
	       (run->state == REVIEW_RUN_FINISHED ||
		run->state == REVIEW_RUN_KILLED);
}

/* Says which run a command took when none was named. */
static void run_announce(const struct review_run *run)
{
	char started[LOCAL_TIME_MAX_BYTES], cmd[COMMAND_TEXT_MAX_BYTES];

	local_time(run->rec.started_ns, started, sizeof(started));
	command_text(&run->rec, cmd, sizeof(cmd));
	fprintf(stderr, "airlock: run %s (started %s, '%s')\n", run->id,
		started, cmd);
}

/* The most recent open overlay run of the current folder. */
static int run_pick_default(struct review_session *s)
{
	_cleanup_free_ char *cwd = realpath(".", NULL);

	if (!cwd) {
		log_error_errno(errno, "cannot resolve the current folder");
		return REVIEW_EXIT_REFUSED;
	}
	for (size_t i = s->runs.len; i-- > 0;) {
		if (run_is_open(&s->runs.items[i]) &&
		    run_is_of(&s->runs.items[i], cwd)) {
			s->run = &s->runs.items[i];
			run_announce(s->run);
			return 0;
		}
	}
	log_error("no overlay run of this folder is waiting for review; name "
		  "a RUN (see 'airlock runs')");
	return AIRLOCK_EXIT_USAGE;
}

/* RUN is an id, or its last eight hex digits. */
static int run_pick_named(struct review_session *s, const char *arg)
{
	char clean[RUN_ID_MAX_BYTES * 4];
	size_t n_hits = 0;

	for (size_t i = 0; i < s->runs.len; i++) {
		const char *id = s->runs.items[i].id;
		size_t len = strlen(id);

		if (streq(id, arg) || (looks_like_run_suffix(arg) && len > 9 &&
				       streq(id + len - 8, arg) &&
				       id[len - 9] == '-')) {
			s->run = &s->runs.items[i];
			n_hits++;
		}
	}
	log_sanitize(clean, sizeof(clean), arg);
	if (n_hits == 1)
		return 0;
	s->run = NULL;
	if (n_hits > 1)
		log_error("'%s' names %zu runs; give the whole id (see "
			  "'airlock runs')", clean, n_hits);
	else
		log_error("no run '%s' (see 'airlock runs')", clean);
	return AIRLOCK_EXIT_USAGE;
}

/* Refuses a run that this command cannot work on. */
static int run_check(const struct review_session *s, const char *command)
{
	const struct review_run *run = s->run;

	if (run->state == REVIEW_RUN_ACTIVE) {
		log_error("run %s is still active; wait for it to finish",
			  run->id);
		return REVIEW_EXIT_REFUSED;
	}
	if (!streq(run->rec.mode, "overlay")) {
		char clean[64];

		log_sanitize(clean, sizeof(clean), run->rec.mode);
		log_error("run %s used the workspace in %s mode, not overlay: "
			  "its changes went %s; there is nothing to %s",
			  run->id, clean, streq(clean, "live") ?
			  "straight into the workspace" : "nowhere", command);
		return REVIEW_EXIT_REFUSED;
	}
	if (run->rec.applied || run->rec.discarded) {
		log_error("run %s was already %s (%s); there is nothing left to "
			  "%s", run->id, run->rec.applied ? "applied" :
			  "discarded", run->rec.applied ? run->rec.applied :
			  run->rec.discarded, command);
		return REVIEW_EXIT_REFUSED;
	}
	return 0;
}

/* ---- a session on one run ---- */

static void session_release(struct review_session *s)
{
	closep(&s->lock_fd);
	closep(&s->real_fd);
	closep(&s->upper_fd);
	strv_clear(&s->protect);
	review_changes_free(&s->changes);
	review_runs_list_free(&s->runs);
	free(s->runs_path);
}

static int session_open_workspace(struct review_session *s)
{
	char clean[CLEAN_PATH_MAX_BYTES];
	int fd = review_run_open_workspace(&s->run->rec);

	log_sanitize(clean, sizeof(clean), s->run->rec.workspace);
	if (fd == -ESTALE)
		log_error("%s is no longer the folder run %s started in: it was "
			  "moved or replaced", clean, s->run->id);
	else if (fd < 0)
		log_error_errno(-fd, "cannot open the workspace %s of run %s",
				clean, s->run->id);
	if (fd < 0)
		return REVIEW_EXIT_REFUSED;
	s->real_fd = fd;
	return 0;
}

/*
 * Apply and discard hold the run's lock, so that the run cannot be
 * active and no second apply or discard runs beside them, and the
 * workspace's, so that two runs of one workspace are not landed at once.
 */
static int session_lock(struct review_session *s)
{
	s->lock_fd = review_run_lock(s->run);
	if (s->lock_fd == -EWOULDBLOCK) {
		log_error("run %s is active, or being applied or discarded",
			  s->run->id);
		return REVIEW_EXIT_REFUSED;
	}
	if (s->lock_fd < 0) {
		log_error_errno(-s->lock_fd, "cannot lock run %s", s->run->id);
		return REVIEW_EXIT_REFUSED;
	}
	if (s->real_fd >= 0 && flock(s->real_fd, LOCK_EX | LOCK_NB) < 0) {
		log_error("another apply or discard is at work in the "
			  "workspace of run %s", s->run->id);
		return REVIEW_EXIT_REFUSED;
	}

	/* an apply that ended just before the lock was taken has moved on */
	if (review_run_reread(s->run) < 0)
		return REVIEW_EXIT_REFUSED;
	return 0;
}

static int session_collect(struct review_session *s)
{
	int r;

	s->upper_fd = review_run_open_upper(s->run);
	if (s->upper_fd < 0) {
		log_error_errno(-s->upper_fd, "cannot open the layer of run %s",
				s->run->id);
		return REVIEW_EXIT_REFUSED;
	}
	r = review_changes_collect(s->upper_fd, s->real_fd, &s->changes);
	if (r < 0)
		return REVIEW_EXIT_REFUSED;
	review_protect_load(s->run->dir_fd, s->run->rec.workspace, &s->protect);
	return 0;
}

/*
 * Lists the runs, then takes the named one or the default, and checks
 * that command can work on it. With need_workspace, opens the workspace
 * and the layer and collects the changes. Returns 0 or an exit status.
 */
static int session_open(struct review_session *s,
			const struct review_request *rq, bool need_workspace)
{
	int r;

	*s = (struct review_session){ .lock_fd = -1, .real_fd = -1,
				      .upper_fd = -1 };
	s->runs_path = runs_path_find();
	if (!s->runs_path)
		return cli_usage_error("no state folder to find the runs in: "
				       "set XDG_STATE_HOME or HOME");
	if (review_runs_list(s->runs_path, &s->runs) < 0)
		return REVIEW_EXIT_REFUSED;

	r = rq->run_arg ? run_pick_named(s, rq->run_arg) :
	    run_pick_default(s);
	if (r == 0)
		r = run_check(s, rq->command);
	if (r == 0 && need_workspace)
		r = session_open_workspace(s);
	if (r == 0 && !streq(rq->command, "diff"))
		r = session_lock(s);
	if (r == 0 && !streq(rq->command, "diff"))
		r = run_check(s, rq->command);
	if (r == 0 && need_workspace)
		r = session_collect(s);
	return r;
}

/* ---- runs ---- */

/*
 * The pending changes of a run: their count, or -1 when the run has no
 * layer to count, or -2 when the workspace or the layer cannot be read.
 */
static long run_count_changes(const struct review_run *run)
{
	struct review_changes changes = { 0 };
	_cleanup_close_ int real_fd = -1, upper_fd = -1;
	long n;

	if (!streq(run->rec.mode, "overlay"))
		return -1;
	upper_fd = review_run_open_upper(run);
	if (upper_fd == -ENOENT)
		return 0;
	real_fd = review_run_open_workspace(&run->rec);
	if (upper_fd < 0 || real_fd < 0)
		return -2;
	n = review_changes_collect(upper_fd, real_fd, &changes) < 0 ? -2 :
	    (long)changes.len;
	review_changes_free(&changes);
	return n;
}

static int terminal_width(void)
{
	struct winsize ws;

	if (!isatty(STDOUT_FILENO) ||
	    ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_col == 0)
		return 0;
	return ws.ws_col;
}

static void runs_print(const struct review_run_list *l)
{
	char state[32], changes[24], started[LOCAL_TIME_MAX_BYTES];
	char cmd[COMMAND_TEXT_MAX_BYTES];
	int room = terminal_width() - RUNS_COMMAND_COLUMN;

	printf(RUNS_ROW_FORMAT, "ID", "STATUS", "MODE", "CHANGES", "STARTED",
	       "COMMAND");
	for (size_t i = 0; i < l->len; i++) {
		const struct review_run *run = &l->items[i];
		long n = run_count_changes(run);
		char mode[16];

		if (n >= 0)
			snprintf(changes, sizeof(changes), "%ld", n);
		else
			snprintf(changes, sizeof(changes), n == -1 ? "-" : "?");
		log_sanitize(mode, sizeof(mode), run->rec.mode);
		local_time(run->rec.started_ns, started, sizeof(started));
		command_text(&run->rec, cmd, sizeof(cmd));
		if (room > 3 && (int)strlen(cmd) > room)
			strcpy(cmd + room - 3, "...");
		printf(RUNS_ROW_FORMAT, run->id,
		       state_word(run, state, sizeof(state)), mode, changes,
		       started, cmd);
	}
}

/* Whether prune may remove the run; says why not when it keeps one. */
static bool prune_wanted(const struct review_request *rq,
			 const struct review_run *run, int64_t now_ns)
{
	int64_t age_ns = now_ns - run->rec.started_ns;
	long n;

	if (run->state == REVIEW_RUN_ACTIVE)
		return false;
	if (rq->older_than_set && age_ns / NS_PER_SEC <
	    (int64_t)rq->older_than_days * SECONDS_PER_DAY)
		return false;
	if (rq->force || run->rec.applied || run->rec.discarded)
		return true;
	n = run_count_changes(run);
	if (n == 0 || n == -1)
		return true;
	if (n > 0)
		log_warn("kept run %s: %ld change%s waiting for review ('airlock "
			 "diff %s'; --force removes it anyway)", run->id, n,
			 n == 1 ? "" : "s", run->id);
	else
		log_warn("kept run %s: its changes cannot be compared with its "
			 "workspace (--force removes it anyway)", run->id);
	return false;
}

static int runs_prune(const struct review_request *rq,
		      struct review_run_list *l, const char *runs_path)
{
	char now[RUN_TIME_TEXT_MAX_BYTES];
	int64_t now_ns = run_time_now(now, sizeof(now));
	size_t n_removed = 0;
	int status = 0;

	for (size_t i = 0; i < l->len; i++) {
		struct review_run *run = &l->items[i];
		_cleanup_close_ int lock = -1;

		if (!prune_wanted(rq, run, now_ns))
			continue;
		lock = review_run_lock(run);
		if (lock < 0)
			continue; /* it started to be applied or discarded */
		if (review_run_remove(runs_path, run) < 0) {
			status = REVIEW_EXIT_REFUSED;
			continue;
		}
		printf("removed %s\n", run->id);
		n_removed++;
	}
	log_info("removed %zu run%s", n_removed, n_removed == 1 ? "" : "s");
	return status;
}

/* ---- apply ---- */

/*
 * A PATH of apply as a path relative to the workspace: "./" and trailing
 * slashes dropped, an absolute path inside the workspace made relative.
 * Returns a new string, or NULL for a path outside the workspace.
 */
static char *apply_path_normal(const char *arg, const char *workspace)
{
	_cleanup_free_ char *abs = path_absolute(arg, workspace, NULL);
	_cleanup_free_ char *ws = path_absolute(workspace, "/", NULL);

	if (!abs || !ws || !path_is_within(abs, ws) || streq(abs, ws))
		return NULL;
	return xstrdup(abs + strlen(ws) + (streq(ws, "/") ? 0 : 1));
}

static int apply_paths(const struct review_request *rq,
		       const struct review_session *s, struct strv *out)
{
	for (size_t i = 0; i < rq->paths.len; i++) {
		char *rel = apply_path_normal(rq->paths.items[i],
					      s->run->rec.workspace);
		char clean[CLEAN_PATH_MAX_BYTES];

		if (!rel) {
			log_sanitize(clean, sizeof(clean), rq->paths.items[i]);
			return cli_usage_error("'%s' is not a path inside the "
					       "workspace", clean);
		}
		strv_push_owned(out, rel);
	}
	return 0;
}

static void print_paths(const char *title, const struct strv *paths)
{
	char clean[CLEAN_PATH_MAX_BYTES];

	fprintf(stderr, "airlock: %s:\n", title);
	for (size_t i = 0; i < paths->len; i++) {
		review_diff_clean_path(clean, sizeof(clean), paths->items[i]);
		fprintf(stderr, "  %s\n", clean);
	}
}

static int apply_report(struct review_session *s,
			const struct review_apply_result *res, int r)
{
	if (r == -ENOENT) {
		print_paths("no change at or beneath", &res->unmatched);
		return AIRLOCK_EXIT_USAGE;
	}
	if (r == -EBUSY) {
		print_paths("apply refused, nothing was changed; these changed "
			    "in the workspace since the run started",
			    &res->conflicts);
		return REVIEW_EXIT_REFUSED;
	}
	if (r < 0) {
		log_error("apply stopped after %zu change%s (each complete); "
			  "'airlock diff' shows what is left", res->n_applied,
			  res->n_applied == 1 ? "" : "s");
		return REVIEW_EXIT_REFUSED;
	}

	log_info("applied %zu change%s of run %s", res->n_applied,
		 res->n_applied == 1 ? "" : "s", s->run->id);
	if (res->protected_skipped.len)
		print_paths("not applied, protected ('airlock apply --force' "
			    "applies them)", &res->protected_skipped);
	if (res->complete && review_run_close(s->run, true) < 0)
		return REVIEW_EXIT_REFUSED;
	return res->protected_skipped.len ? REVIEW_EXIT_REFUSED : 0;
}

/* ---- the commands ---- */

static int runs_command(const struct review_request *rq)
{
	_cleanup_free_ char *runs_path = runs_path_find();
	struct review_run_list l = { 0 };
	int r = 0;

	if (!runs_path)
		return cli_usage_error("no state folder to find the runs in: "
				       "set XDG_STATE_HOME or HOME");
	if (review_runs_list(runs_path, &l) < 0)
		return REVIEW_EXIT_REFUSED;
	if (rq->prune)
		r = runs_prune(rq, &l, runs_path);
	else
		runs_print(&l);
	if (l.n_broken && r == 0)
		r = REVIEW_EXIT_REFUSED;
	review_runs_list_free(&l);
	return r;
}

static int diff_command(const struct review_request *rq)
{
	_cleanup_(session_release) struct review_session s;
	struct review_diff_ctx ctx;
	int r;

	r = session_open(&s, rq, true);
	if (r != 0)
		return r;
	ctx = (struct review_diff_ctx){
		.upper_fd = s.upper_fd,
		.real_fd = s.real_fd,
		.protect = &s.protect,
		.terminal = isatty(STDOUT_FILENO),
		.width = terminal_width(),
	};
	if (s.changes.len == 0)
		log_info("run %s has no changes left to review", s.run->id);
	r = review_diff_print(&ctx, &s.changes, rq->format);
	if (r < 0) {
		log_error_errno(-r, "cannot show the changes of run %s",
				s.run->id);
		return REVIEW_EXIT_REFUSED;
	}
	return 0;
}

static int apply_command(const struct review_request *rq)
{
	_cleanup_(session_release) struct review_session s;
	_cleanup_(strv_clear) struct strv paths = { 0 };
	struct review_apply_result res = { 0 };
	struct review_apply_opts o;
	int r;

	r = session_open(&s, rq, true);
	if (r == 0)
		r = apply_paths(rq, &s, &paths);
	if (r != 0)
		return r;
	o = (struct review_apply_opts){
		.run_fd = s.run->dir_fd,
		.upper_fd = s.upper_fd,
		.real_fd = s.real_fd,
		.started_ns = s.run->rec.started_ns,
		.paths = rq->paths.len ? &paths : NULL,
		.protect = &s.protect,
		.force = rq->force,
	};
	r = review_apply(&o, &s.changes, &res);
	r = apply_report(&s, &res, r);
	review_apply_result_free(&res);
	return r;
}

static int discard_command(const struct review_request *rq)
{
	_cleanup_(session_release) struct review_session s;
	int r;

	r = session_open(&s, rq, false);
	if (r != 0)
		return r;

	/* what an interrupted apply left goes too, when it can be found */
	s.real_fd = review_run_open_workspace(&s.run->rec);
	s.upper_fd = review_run_open_upper(s.run);
	if (s.real_fd >= 0 && s.upper_fd >= 0 &&
	    flock(s.real_fd, LOCK_EX | LOCK_NB) == 0 &&
	    review_changes_collect(s.upper_fd, s.real_fd, &s.changes) == 0)
		review_apply_sweep(s.run->dir_fd, s.real_fd, &s.changes);

	if (review_run_close(s.run, false) < 0)
		return REVIEW_EXIT_REFUSED;
	log_info("discarded the changes of run %s", s.run->id);
	return 0;
}

/* ---- exported ---- */

int cli_review(int argc, char **argv)
{
	struct review_request rq = { 0 };
	int r;

	log_set_level(LOG_LEVEL_INFO);
	r = request_parse(&rq, argc, argv);
	if (r == 0 && streq(rq.command, "runs"))
		r = runs_command(&rq);
	else if (r == 0 && streq(rq.command, "diff"))
		r = diff_command(&rq);
	else if (r == 0 && streq(rq.command, "apply"))
		r = apply_command(&rq);
	else if (r == 0)
		r = discard_command(&rq);
	strv_clear(&rq.paths);
	return r;
}
