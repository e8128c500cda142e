/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `airlock audit [FILE]`: prints the gateway's audit log as one readable
 * line per record, or as a table of counts per host and port. This file
 * also chooses the log that a run or the gateway service appends to, and
 * creates the default one's folder under the user's state folder.
 *
 * Trust position: runs with the caller's own rights and opens nothing on
 * anyone else's behalf. The log's strings were chosen inside a sandbox,
 * and a log kept where a sandbox could write may hold anything, so lines
 * are capped in length, every record is type-checked (audit-log.c) and
 * every string is escaped before it reaches the terminal.
 */
#include "config.h"

#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/audit-log.h"
#include "common/log.h"
#include "common/path.h"
#include "common/state-dir.h"
#include "common/util.h"
#include "policy/policy.h"

/* The writer caps a record at 4 KiB; this leaves room for other writers. */
#define AUDIT_LINE_MAX_BYTES 65536
/* One readable line; longer ones are cut. */
#define AUDIT_OUTPUT_MAX_BYTES 8192
/* A file name or a message, escaped for the terminal. */
#define AUDIT_NAME_MAX_BYTES 1024

/* Exit status when some lines of the log were malformed and skipped. */
#define AUDIT_EXIT_MALFORMED 1

enum audit_opt {
	OPT_SUMMARY = 256, OPT_DENIED, OPT_RUN, OPT_HELP,
};

static const struct option audit_options[] = {
	{ "summary", no_argument, NULL, OPT_SUMMARY },
	{ "denied", no_argument, NULL, OPT_DENIED },
	{ "run", required_argument, NULL, OPT_RUN },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

struct audit_request {
	const char *file; /* NULL: the default log; "-": standard input */
	const char *run;  /* only this run's records */
	bool summary;
	bool denied_only;
};

/* One pass over a log. */
struct audit_reader {
	const struct audit_request *rq;
	char name[AUDIT_NAME_MAX_BYTES]; /* the file, escaped, for messages */
	size_t line_no;
	size_t n_malformed;
	struct audit_tally tally;
};

/* Column titles of the summary, in the order of enum audit_tally_column. */
static const char *const tally_titles[AUDIT_TALLY_COLUMNS] = {
	[AUDIT_TALLY_CONNECTIONS] = "CONNECTIONS",
	[AUDIT_TALLY_REQUESTS] = "REQUESTS",
	[AUDIT_TALLY_DENIED] = "DENIED",
	[AUDIT_TALLY_BYTES_UP] = "BYTES UP",
	[AUDIT_TALLY_BYTES_DOWN] = "BYTES DOWN",
};

/* ---- options ---- */

static int audit_option(struct audit_request *rq, int c, const char *arg)
{
	switch (c) {
	case OPT_SUMMARY:
		rq->summary = true;
		return 0;
	case OPT_DENIED:
		rq->denied_only = true;
		return 0;
	case OPT_RUN:
		rq->run = arg;
		return 0;
	case OPT_HELP:
		cli_print_usage(stdout);
		exit(0);
	default:
		return AIRLOCK_EXIT_USAGE; /* getopt said what was wrong */
	}
}

static int audit_parse(struct audit_request *rq, int argc, char **argv)
{
	int c;

	opterr = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", audit_options, NULL)) != -1) {
		int r = audit_option(rq, c == 'h' ? OPT_HELP : c, optarg);

		if (r != 0)
			return r;
	}
	if (optind < argc)
		rq->file = argv[optind++];
	if (optind < argc)
		return cli_usage_error("audit takes one FILE; extra argument "
				       "'%s'", argv[optind]);
	return 0;
}

/*
 * The log `airlock run` would write: audit.file of the user's settings,
 * else the default one. Returns 0 with *out set (caller frees), or an
 * exit status after reporting.
 */
static int audit_default_file(char **out)
{
	struct policy_load_opts opts = { 0 };
	struct policy_errors errs = { 0 };
	struct policy p = { 0 };

	if (policy_load(&p, &opts, &errs) < 0) {
		policy_errors_print(&errs, stderr);
		policy_errors_free(&errs);
		return AIRLOCK_EXIT_USAGE;
	}
	if (p.audit_file)
		*out = xstrdup(p.audit_file);
	else
		*out = path_state_file(getenv("XDG_STATE_HOME"), p.home,
				       AUDIT_LOG_DEFAULT_NAME);
	policy_free(&p);
	if (!*out)
		return cli_usage_error("no home folder to find the audit log "
				       "in; name FILE");
	return 0;
}

/* ---- reading ---- */

/*
 * Reads one line into buf without its newline. Returns 1 for a line, 0 at
 * the end of the file, -EFBIG for a line longer than size - 1 bytes or
 * -EINVAL for one holding a NUL byte (either way the whole line is
 * consumed), or -errno when reading fails.
 */
static int audit_read_line(FILE *f, char *buf, size_t size)
{
	bool too_long = false, nul = false;
	size_t n = 0;
	int c;

	errno = 0;
	while ((c = getc_unlocked(f)) != EOF && c != '\n') {
		nul |= c == '\0';
		if (n + 1 < size)
			buf[n++] = (char)c;
		else
			too_long = true;
	}
	buf[n] = '\0';
	if (ferror(f))
		return errno ? -errno : -EIO;
	if (c == EOF && n == 0 && !too_long)
		return 0;
	if (too_long)
		return -EFBIG;
	return nul ? -EINVAL : 1;
}

/* Reports a line that is not a record, as FILE:LINE: why, and counts it. */
static void audit_report(struct audit_reader *rd, const char *why)
{
	char clean[AUDIT_NAME_MAX_BYTES];

	log_sanitize(clean, sizeof(clean), why);
	fprintf(stderr, "%s:%zu: %s\n", rd->name, rd->line_no, clean);
	rd->n_malformed++;
}

static bool audit_wanted(const struct audit_request *rq,
			 const struct audit_record *r)
{
	if (rq->denied_only && (!r->decision || !streq(r->decision, "deny")))
		return false;
	if (rq->run && (!r->run || !streq(r->run, rq->run)))
		return false;
	return true;
}

static void audit_take_line(struct audit_reader *rd, const char *text)
{
	_cleanup_(json_decrefp) json_t *obj = NULL;
	char why[AUDIT_NAME_MAX_BYTES], out[AUDIT_OUTPUT_MAX_BYTES];
	struct audit_record r;
	json_error_t jerr;

	obj = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj) {
		snprintf(why, sizeof(why), "column %d: %s", jerr.column,
			 jerr.text);
		audit_report(rd, why);
		return;
	}
	if (audit_log_parse_record(obj, &r, why, sizeof(why)) < 0) {
		audit_report(rd, why);
		return;
	}

	if (!audit_wanted(rd->rq, &r))
		return;
	if (rd->rq->summary) {
		audit_log_tally_record(&rd->tally, &r);
		return;
	}
	audit_log_format_record(&r, out, sizeof(out));
	puts(out);
}

/* Reads every line of f. Returns 0, or -errno when reading failed. */
static int audit_read(struct audit_reader *rd, FILE *f)
{
	_cleanup_free_ char *line = xmalloc(AUDIT_LINE_MAX_BYTES);
	char why[64];
	int r;

	snprintf(why, sizeof(why), "line longer than %d bytes",
		 AUDIT_LINE_MAX_BYTES - 1);
	while ((r = audit_read_line(f, line, AUDIT_LINE_MAX_BYTES)) != 0) {
		rd->line_no++;
		if (r == -EFBIG)
			audit_report(rd, why);
		else if (r == -EINVAL)
			audit_report(rd, "line holds a NUL byte");
		else if (r < 0)
			return r;
		else if (line[strspn(line, " \t\r")] != '\0')
			audit_take_line(rd, line);
	}
	return 0;
}

/* Opens path ("-": standard input) and reads it. Returns an exit status. */
static int audit_read_path(struct audit_reader *rd, const char *path)
{
	bool is_stdin = streq(path, "-");
	FILE *f;
	int r;

	log_sanitize(rd->name, sizeof(rd->name),
		     is_stdin ? "(standard input)" : path);
	f = is_stdin ? stdin : fopen(path, "re");
	if (!f) {
		log_error_errno(errno, "cannot read the audit log %s", rd->name);
		return AIRLOCK_EXIT_USAGE;
	}
	r = audit_read(rd, f);
	if (!is_stdin)
		fclose(f);
	if (r < 0) {
		log_error_errno(-r, "cannot read the audit log %s", rd->name);
		return AIRLOCK_EXIT_USAGE;
	}
	return 0;
}

/* ---- the summary ---- */

static int digits_of(uint64_t n)
{
	int d = 1;

	while (n >= 10) {
		n /= 10;
		d++;
	}
	return d;
}

static void tally_print_row(const char *target, int target_width,
			    const uint64_t *count, const int *width)
{
	printf("%-*s", target_width, target);
	for (size_t c = 0; c < AUDIT_TALLY_COLUMNS; c++)
		printf("  %*" PRIu64, width[c], count[c]);
	putchar('\n');
}

/*
 * HOST, then one right-aligned column per count, then a total line. Each
 * column is as wide as its title or its total, whichever is wider.
 */
static void tally_print(const struct audit_tally *t)
{
	static const char total_label[] = "(total)";
	char target[AUDIT_NAME_MAX_BYTES];
	int target_width = (int)strlen(total_label);
	int width[AUDIT_TALLY_COLUMNS];

	for (size_t i = 0; i < t->len; i++) {
		audit_log_format_target(t->rows[i].host, t->rows[i].port,
					target, sizeof(target));
		if ((int)strlen(target) > target_width)
			target_width = (int)strlen(target);
	}
	for (size_t c = 0; c < AUDIT_TALLY_COLUMNS; c++) {
		width[c] = (int)strlen(tally_titles[c]);
		if (digits_of(t->total[c]) > width[c])
			width[c] = digits_of(t->total[c]);
	}

	printf("%-*s", target_width, "HOST");
	for (size_t c = 0; c < AUDIT_TALLY_COLUMNS; c++)
		printf("  %*s", width[c], tally_titles[c]);
	putchar('\n');
	for (size_t i = 0; i < t->len; i++) {
		audit_log_format_target(t->rows[i].host, t->rows[i].port,
					target, sizeof(target));
		tally_print_row(target, target_width, t->rows[i].count, width);
	}
	tally_print_row(total_label, target_width, t->total, width);
}

/* ---- the default log of a run ---- */

/*
 * Creates the log in dir_fd if it is missing (mode 0600) and checks that
 * it is a regular file of the caller's, so that the gateway's own open
 * later cannot fail or land elsewhere. Returns 0 or -errno after warning.
 */
static int audit_file_check(int dir_fd, const char *path)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	fd = openat(dir_fd, path_basename(path), O_WRONLY | O_APPEND | O_CREAT |
		    O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(fd, &st) < 0) {
		log_warn_errno(errno, "no audit log for this run: cannot open "
			       "%s", path);
		return -errno;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		log_warn("no audit log for this run: %s is not a file of yours",
			 path);
		return -EPERM;
	}
	return 0;
}

static int audit_default_prepare(const char *path)
{
	_cleanup_free_ char *dir = path_dirname(path);
	_cleanup_close_ int dir_fd = state_dir_open(dir, NULL);

	if (dir_fd == -EPERM) {
		log_warn("no audit log for this run: %s is not a folder of "
			 "yours that only you can write", dir);
		return dir_fd;
	}
	if (dir_fd < 0) {
		log_warn_errno(-dir_fd, "no audit log for this run: cannot "
			       "create or open %s", dir);
		return dir_fd;
	}
	return audit_file_check(dir_fd, path);
}

/* ---- exported ---- */

int cli_audit(int argc, char **argv)
{
	struct audit_request rq = { 0 };
	struct audit_reader rd = { .rq = &rq };
	_cleanup_free_ char *path = NULL;
	int r;

	r = audit_parse(&rq, argc, argv);
	if (r == 0 && rq.file)
		path = xstrdup(rq.file);
	else if (r == 0)
		r = audit_default_file(&path);
	if (r == 0)
		r = audit_read_path(&rd, path);
	if (r == 0 && rq.summary)
		tally_print(&rd.tally);
	audit_log_free_tally(&rd.tally);
	if (r != 0)
		return r;

	if (fflush(stdout) != 0) {
		log_error_errno(errno, "cannot write the output");
		return AIRLOCK_EXIT_USAGE;
	}
	if (rd.n_malformed) {
		log_warn("%s: %zu malformed line%s skipped", rd.name,
			 rd.n_malformed, rd.n_malformed == 1 ? "" : "s");
		return AUDIT_EXIT_MALFORMED;
	}
	return 0;
}

char *cli_audit_file(const char *given, const char *home, bool prepare)
{
	_cleanup_free_ char *path = NULL;

	if (given)
		return streq(given, "none") ? NULL : xstrdup(given);

	path = path_state_file(getenv("XDG_STATE_HOME"), home,
			       AUDIT_LOG_DEFAULT_NAME);
	if (!path) {
		log_warn("no audit log for this run: no state folder (set "
			 "XDG_STATE_HOME or HOME to an absolute path)");
		return NULL;
	}
	if (prepare && audit_default_prepare(path) < 0)
		return NULL;
	return steal_ptr(&path);
}
