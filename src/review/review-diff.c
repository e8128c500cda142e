/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `airlock diff`'s output: the list of changes (a status letter, the path,
 * what kind of change), a per-file count of lines added and removed with
 * a total (--stat), or unified diffs (-p).
 *
 * The line-by-line comparison itself is GNU diff's (/usr/bin/diff -u): a
 * good diff algorithm is a project of its own, and diffutils is a
 * required package on Debian and present on every distribution airlock
 * targets, so airlock runs it rather than carrying a second, weaker copy.
 * It reads both files through descriptors opened here without following
 * links, and its output comes back through a pipe to be counted.
 *
 * Trust position: runs with the rights of the user who reviews. Paths,
 * symlink targets and file contents come from the agent: paths and
 * targets are always escaped; contents are escaped when the output is a
 * terminal (so they cannot drive it) and left as they are otherwise, so
 * that a saved patch still applies.
 */
#include "config.h"

#include "review/review.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

#define DIFF_PROGRAM "/usr/bin/diff"
/* A file with a NUL byte in its first 8 KiB is binary, as git decides. */
#define BINARY_PROBE_BYTES 8192
/* The descriptors diff reads its two files from. */
#define DIFF_OLD_FD 3
#define DIFF_NEW_FD 4
/* Above the descriptors diff is given, so that dup2 cannot clobber one. */
#define DIFF_FD_FLOOR 10
#define STAT_DEFAULT_WIDTH 80
#define STAT_BAR_MIN_WIDTH 10
/* A path escaped for the terminal: each byte may become four. */
#define CLEAN_PATH_MAX_BYTES (PATH_MAX * 4)

extern char **environ;

/* One side of a file-level comparison; absent when mode is 0. */
struct side {
	int root_fd;
	mode_t mode;
	off_t size;
	const char *target; /* symlinks */
};

/* What one file contributes to --stat. */
struct stat_row {
	char *path; /* escaped */
	uint64_t added;
	uint64_t removed;
	bool binary;
	off_t old_size, new_size;
};

struct stat_table {
	struct stat_row *rows;
	size_t len;
	size_t cap;
};

/* One run of the printer over the changes. */
struct printer {
	const struct review_diff_ctx *ctx;
	enum review_diff_format format;
	struct stat_table table;
};

/* ---- words ---- */

static const char *kind_name(mode_t mode)
{
	if (S_ISDIR(mode))
		return "folder";
	if (S_ISLNK(mode))
		return "symlink";
	if (S_ISFIFO(mode))
		return "fifo";
	return "file";
}

static unsigned int perm_of(mode_t mode)
{
	return (unsigned int)(mode & 07777);
}

/*
 * A line of file content made safe for a terminal: control bytes other
 * than tab, DEL and the C1 controls as UTF-8 (U+0080 to U+009F) become
 * \xHH. out must hold 4 * len + 1 bytes.
 */
static void clean_text(char *out, const char *in, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		bool c1 = c == 0xc2 && i + 1 < len &&
			  (unsigned char)in[i + 1] >= 0x80 &&
			  (unsigned char)in[i + 1] <= 0x9f;

		if ((c >= 0x20 && c != 0x7f && !c1) || c == '\t' ||
		    (c == '\n' && i + 1 == len)) {
			out[o++] = (char)c;
			continue;
		}
		o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
		if (c1)
			o += (size_t)snprintf(out + o, 5, "\\x%02x",
					      (unsigned char)in[++i]);
	}
	out[o] = '\0';
}

/* ---- the list ---- */

static void list_detail(char *buf, size_t size, const struct review_change *c,
			const struct review_diff_ctx *ctx)
{
	const char *protected = ctx->protect ?
		review_protect_match(ctx->protect, c) : NULL;
	size_t n = 0;

#define DETAIL(...) \
	n += (size_t)snprintf(buf + n, n < size ? size - n : 0, __VA_ARGS__)
	buf[0] = '\0';
	if (c->status == REVIEW_TYPE)
		DETAIL("; %s -> %s", kind_name(c->old_mode),
		       kind_name(c->new_mode));
	if (c->status == REVIEW_MODIFIED &&
	    perm_of(c->old_mode) != perm_of(c->new_mode) &&
	    !S_ISLNK(c->new_mode))
		DETAIL("; %smode %o -> %o", c->content ? "content, " : "",
		       perm_of(c->old_mode), perm_of(c->new_mode));
	if (c->status == REVIEW_ADDED && S_ISFIFO(c->new_mode))
		DETAIL("; fifo");
	if (c->suid_dropped)
		DETAIL("; setuid/setgid bits not applied");
	if (protected)
		DETAIL("; protected: apply needs --force");
#undef DETAIL
}

static void print_list_line(const struct review_diff_ctx *ctx,
			    const struct review_change *c)
{
	char path[CLEAN_PATH_MAX_BYTES], target[CLEAN_PATH_MAX_BYTES];
	char detail[256];
	mode_t shown = c->status == REVIEW_DELETED ? c->old_mode : c->new_mode;
	const char *link = c->status == REVIEW_DELETED ? c->old_target :
			   c->new_target;

	review_diff_clean_path(path, sizeof(path), c->path);
	list_detail(detail, sizeof(detail), c, ctx);
	printf("%c  %s%s", c->status, path, S_ISDIR(shown) ? "/" : "");
	if (S_ISLNK(shown)) {
		review_diff_clean_path(target, sizeof(target),
				       link ? link : "?");
		printf(" -> %s", target);
	}
	if (detail[0])
		printf("  (%s)", detail + 2);
	putchar('\n');
}

/* ---- running diff ---- */

/* A descriptor at DIFF_FD_FLOOR or above, or /dev/null's when fd < 0. */
static int diff_input(int fd)
{
	if (fd < 0)
		return open("/dev/null", O_RDONLY | O_CLOEXEC);
	return fcntl(fd, F_DUPFD_CLOEXEC, DIFF_FD_FLOOR);
}

static int diff_spawn(const char *old_label, const char *new_label,
		      int old_fd, int new_fd, int out_fd, pid_t *pid)
{
	char *const argv[] = {
		(char *)DIFF_PROGRAM, (char *)"-u",
		(char *)"--label", (char *)old_label,
		(char *)"--label", (char *)new_label,
		(char *)"/dev/fd/3", (char *)"/dev/fd/4", NULL,
	};
	posix_spawn_file_actions_t fa;
	int r;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, old_fd, DIFF_OLD_FD);
	posix_spawn_file_actions_adddup2(&fa, new_fd, DIFF_NEW_FD);
	posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
	r = posix_spawn(pid, DIFF_PROGRAM, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

/*
 * Reads diff's output: counts the lines added and removed (after its two
 * header lines) and, when print is set, writes the output on stdout.
 */
static int diff_read(const struct printer *pr, int fd, struct stat_row *row,
		     bool print)
{
	FILE *f = fdopen(fd, "r");
	_cleanup_free_ char *line = NULL, *clean = NULL;
	size_t cap = 0, n_line = 0;
	ssize_t len;

	if (!f) {
		close(fd);
		return -errno;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		bool body = n_line++ >= 2; /* after "--- a/..." and "+++ b/..." */

		if (body && line[0] == '+')
			row->added++;
		else if (body && line[0] == '-')
			row->removed++;
		if (!print)
			continue;
		if (!pr->ctx->terminal) {
			fwrite(line, 1, (size_t)len, stdout);
			continue;
		}
		clean = xreallocarray(clean, (size_t)len * 4 + 1, 1);
		clean_text(clean, line, (size_t)len);
		fputs(clean, stdout);
	}
	fclose(f);
	return 0;
}

static int diff_run(const struct printer *pr, const char *old_label,
		    const char *new_label, int old_src, int new_src,
		    struct stat_row *row, bool print)
{
	_cleanup_close_ int old_fd = diff_input(old_src);
	_cleanup_close_ int new_fd = diff_input(new_src);
	int pipe_fd[2], status, r;
	pid_t pid;

	if (old_fd < 0 || new_fd < 0 || pipe2(pipe_fd, O_CLOEXEC) < 0)
		return -errno;
	r = diff_spawn(old_label, new_label, old_fd, new_fd, pipe_fd[1], &pid);
	close(pipe_fd[1]);
	if (r < 0) {
		close(pipe_fd[0]);
		log_error_errno(-r, "cannot run %s", DIFF_PROGRAM);
		return r;
	}
	r = diff_read(pr, pipe_fd[0], row, print);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) > 1)) {
		log_error("%s failed comparing %s and %s", DIFF_PROGRAM,
			  old_label, new_label);
		r = -EIO;
	}
	return r;
}

/* ---- one file ---- */

/* The side's regular file, opened for reading, or -1 when it has none. */
static int side_open(const struct side *s, const char *path)
{
	if (!S_ISREG(s->mode))
		return -1;
	return review_tree_open(s->root_fd, path, O_RDONLY | O_NONBLOCK);
}

static bool fd_is_binary(int fd)
{
	char buf[BINARY_PROBE_BYTES];
	ssize_t n;

	if (fd < 0)
		return false;
	n = pread(fd, buf, sizeof(buf), 0);
	return n > 0 && memchr(buf, '\0', (size_t)n) != NULL;
}

/* The extended header of a file's patch, in git's words. */
static void patch_header(const char *a, const char *b, const struct side *old,
			 const struct side *new)
{
	printf("diff %s %s\n", a, b);
	if (!old->mode)
		printf("new file mode %06o\n", (unsigned int)new->mode);
	else if (!new->mode)
		printf("deleted file mode %06o\n", (unsigned int)old->mode);
	else if (old->mode != new->mode)
		printf("old mode %06o\nnew mode %06o\n",
		       (unsigned int)old->mode, (unsigned int)new->mode);
}

static void patch_symlinks(const struct side *old, const struct side *new)
{
	char clean[CLEAN_PATH_MAX_BYTES];

	if (S_ISLNK(old->mode)) {
		review_diff_clean_path(clean, sizeof(clean), old->target);
		printf("-symlink -> %s\n", clean);
	}
	if (S_ISLNK(new->mode)) {
		review_diff_clean_path(clean, sizeof(clean), new->target);
		printf("+symlink -> %s\n", clean);
	}
}

/*
 * Compares one file's two sides: adds a --stat row, or prints a patch.
 * content is false when only the mode differs.
 */
static int file_compare(struct printer *pr, const char *path,
			const struct side *old, const struct side *new,
			bool content)
{
	char clean[CLEAN_PATH_MAX_BYTES];
	_cleanup_free_ char *a = NULL, *b = NULL;
	_cleanup_close_ int old_fd = -1, new_fd = -1;
	bool print = pr->format == REVIEW_DIFF_PATCH;
	struct stat_row row = { .old_size = old->size, .new_size = new->size };
	int r = 0;

	review_diff_clean_path(clean, sizeof(clean), path);
	a = old->mode ? xasprintf("a/%s", clean) : xstrdup("/dev/null");
	b = new->mode ? xasprintf("b/%s", clean) : xstrdup("/dev/null");
	old_fd = side_open(old, path);
	new_fd = side_open(new, path);
	if ((S_ISREG(old->mode) && old_fd < 0) ||
	    (S_ISREG(new->mode) && new_fd < 0)) {
		r = old_fd < 0 && S_ISREG(old->mode) ? old_fd : new_fd;
		log_error_errno(-r, "cannot read %s", clean);
		return r;
	}

	if (print)
		patch_header(a, b, old, new);
	row.added = S_ISLNK(new->mode);
	row.removed = S_ISLNK(old->mode);
	if (print)
		patch_symlinks(old, new);
	row.binary = fd_is_binary(old_fd) || fd_is_binary(new_fd);
	if (row.binary && print)
		printf("Binary files %s and %s differ\n", a, b);
	else if (!row.binary && content && (old_fd >= 0 || new_fd >= 0))
		r = diff_run(pr, a, b, old_fd, new_fd, &row, print);

	if (r == 0 && pr->format == REVIEW_DIFF_STAT) {
		struct stat_table *t = &pr->table;

		if (t->len == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 32;
			t->rows = xreallocarray(t->rows, t->cap,
						sizeof(*t->rows));
		}
		row.path = xstrdup(clean);
		t->rows[t->len++] = row;
	}
	return r;
}

/* ---- one change ---- */

/* Each file of a real folder that goes: a deletion of its own. */
static int subtree_visit(const char *path, const struct stat *st, void *data)
{
	struct printer *pr = data;
	_cleanup_free_ char *target = NULL;
	struct side old = { .root_fd = pr->ctx->real_fd, .mode = st->st_mode,
			    .size = st->st_size };
	struct side none = { .root_fd = -1 };

	if (!S_ISREG(st->st_mode) && !S_ISLNK(st->st_mode))
		return 0;
	if (S_ISLNK(st->st_mode)) {
		target = review_tree_read_link(pr->ctx->real_fd, path);
		old.target = target ? target : "?";
	}
	return file_compare(pr, path, &old, &none, true);
}

/* A folder made or changed: in a patch, a header and no body. */
static void patch_folder(const struct review_change *c)
{
	char clean[CLEAN_PATH_MAX_BYTES];

	review_diff_clean_path(clean, sizeof(clean), c->path);
	printf("diff a/%s/ b/%s/\n", clean, clean);
	if (c->status == REVIEW_MODIFIED)
		printf("old mode %06o\nnew mode %06o\n",
		       (unsigned int)c->old_mode, (unsigned int)c->new_mode);
	else
		printf("new folder mode %06o\n", (unsigned int)c->new_mode);
}

static int change_compare(struct printer *pr, const struct review_change *c)
{
	const struct review_diff_ctx *ctx = pr->ctx;
	struct side old = { .root_fd = ctx->real_fd, .mode = c->old_mode,
			    .size = c->old_size, .target = c->old_target };
	struct side new = { .root_fd = ctx->upper_fd, .mode = c->new_mode,
			    .size = c->new_size, .target = c->new_target };
	struct side none = { .root_fd = -1 };
	bool old_goes = review_change_removes(c) && !S_ISDIR(c->old_mode);
	int r = 0;

	if (S_ISDIR(c->old_mode) && review_change_removes(c))
		r = review_changes_walk_real(ctx->real_fd, c->path,
					     subtree_visit, pr);
	if (r == 0 && old_goes)
		r = file_compare(pr, c->path, &old, &none, true);
	if (r != 0 || c->status == REVIEW_DELETED)
		return r;

	if (S_ISDIR(c->new_mode)) {
		if (pr->format == REVIEW_DIFF_PATCH)
			patch_folder(c);
		return 0;
	}
	if (c->status == REVIEW_MODIFIED)
		return file_compare(pr, c->path, &old, &new, c->content);
	return file_compare(pr, c->path, &none, &new, true);
}

/* ---- --stat ---- */

static void stat_bar(uint64_t n, char c, uint64_t max, int bar_width)
{
	uint64_t len = n;

	if (max > (uint64_t)bar_width) {
		len = n * (uint64_t)bar_width / max;
		if (len == 0 && n > 0)
			len = 1;
	}
	for (uint64_t i = 0; i < len; i++)
		putchar(c);
}

static void stat_print(const struct printer *pr)
{
	const struct stat_table *t = &pr->table;
	int width = pr->ctx->width > 0 ? pr->ctx->width : STAT_DEFAULT_WIDTH;
	uint64_t added = 0, removed = 0, max = 0;
	int name_w = 0, count_w, bar_w;

	for (size_t i = 0; i < t->len; i++) {
		const struct stat_row *r = &t->rows[i];
		uint64_t n = r->added + r->removed;

		if ((int)strlen(r->path) > name_w)
			name_w = (int)strlen(r->path);
		if (!r->binary && n > max)
			max = n;
		added += r->binary ? 0 : r->added;
		removed += r->binary ? 0 : r->removed;
	}
	count_w = snprintf(NULL, 0, "%" PRIu64, max);
	if (count_w < 3)
		count_w = 3;
	bar_w = width - name_w - count_w - 5;
	if (bar_w < STAT_BAR_MIN_WIDTH)
		bar_w = STAT_BAR_MIN_WIDTH;

	for (size_t i = 0; i < t->len; i++) {
		const struct stat_row *r = &t->rows[i];

		printf(" %-*s | ", name_w, r->path);
		if (r->binary) {
			printf("Bin %jd -> %jd bytes\n", (intmax_t)r->old_size,
			       (intmax_t)r->new_size);
			continue;
		}
		printf("%*" PRIu64 "%s", count_w, r->added + r->removed,
		       r->added + r->removed ? " " : "");
		stat_bar(r->added, '+', max, bar_w);
		stat_bar(r->removed, '-', max, bar_w);
		putchar('\n');
	}
	printf(" %zu file%s changed, %" PRIu64 " insertion%s(+), %" PRIu64
	       " deletion%s(-)\n", t->len, t->len == 1 ? "" : "s", added,
	       added == 1 ? "" : "s", removed, removed == 1 ? "" : "s");
}

static void stat_free(struct stat_table *t)
{
	for (size_t i = 0; i < t->len; i++)
		free(t->rows[i].path);
	free(t->rows);
	*t = (struct stat_table){ 0 };
}

/* ---- exported ---- */

void review_diff_clean_path(char *dst, size_t size, const char *path)
{
	log_sanitize(dst, size, path);
}

int review_diff_print(const struct review_diff_ctx *ctx,
		      const struct review_changes *changes,
		      enum review_diff_format format)
{
	struct printer pr = { .ctx = ctx, .format = format };
	int r = 0;

	for (size_t i = 0; r == 0 && i < changes->len; i++) {
		if (format == REVIEW_DIFF_LIST)
			print_list_line(ctx, &changes->items[i]);
		else
			r = change_compare(&pr, &changes->items[i]);
	}
	if (r == 0 && format == REVIEW_DIFF_STAT)
		stat_print(&pr);
	stat_free(&pr.table);
	if (r == 0 && fflush(stdout) != 0)
		r = -errno;
	return r;
}
