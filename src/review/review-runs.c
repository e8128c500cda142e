/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runs folder ($XDG_STATE_HOME/airlock/runs): reading every run's
 * record, telling an active run from a finished or killed one by its
 * lock, finding a run's workspace and upper layer again, and closing or
 * removing a run once it has been reviewed.
 *
 * Trust position: runs with the rights of the user who reviews, in the
 * user's own state folder, which the sandbox cannot write. A run's upper
 * layer holds what the agent wrote, so it is removed without following
 * any link (review-tree.c). The workspace is opened by the path in the
 * record and must still be the same folder (device and inode), so that a
 * workspace moved or replaced since the run is never written into.
 */
#include "config.h"

#include "review/review.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/path.h"
#include "common/state-dir.h"
#include "common/util.h"

static void run_release(struct review_run *run)
{
	free(run->id);
	closep(&run->dir_fd);
	run_record_free(&run->rec);
}

/* Run ids are letters, digits and '-': printed as they are. */
static bool name_is_plain(const char *name)
{
	return name[strspn(name, "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")] == '\0';
}

/* True while the run's supervisor holds the run's lock. */
static bool lock_held(int dir_fd)
{
	_cleanup_close_ int fd = openat(dir_fd, RUN_LOCK_FILE, O_RDONLY |
					O_NOFOLLOW | O_CLOEXEC);

	return fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) < 0 &&
	       errno == EWOULDBLOCK;
}

/*
 * Reads the run in runs_fd/name into *run. 0; -EAGAIN, quietly, for a run
 * that has only just started and has no record yet; or -errno after a log
 * line.
 */
static int run_read(int runs_fd, const char *name, struct review_run *run)
{
	char clean[RUN_ID_MAX_BYTES * 4];
	int r;

	*run = (struct review_run){ .dir_fd = -1 };
	log_sanitize(clean, sizeof(clean), name);
	if (!name_is_plain(name)) {
		log_warn("skipped %s in the runs folder: not a run's name",
			 clean);
		return -EINVAL;
	}
	run->dir_fd = openat(runs_fd, name, O_RDONLY | O_DIRECTORY |
			     O_NOFOLLOW | O_CLOEXEC);
	if (run->dir_fd < 0) {
		r = -errno;
		log_warn_errno(-r, "skipped the run folder %s", clean);
		return r;
	}
	r = run_record_read(run->dir_fd, &run->rec);
	if (r == -ENOENT && lock_held(run->dir_fd)) {
		/* a run in its first moments: its record comes soon */
		closep(&run->dir_fd);
		return -EAGAIN;
	}
	if (r < 0) {
		log_warn_errno(-r, "skipped the run folder %s", clean);
		closep(&run->dir_fd);
		return r;
	}
	run->id = xstrdup(name);
	run->state = review_run_state_of(run);
	return 0;
}

/*
 * A record in a folder that someone else can write could name any
 * workspace and any layer, and apply would write there on its word.
 */
static int runs_dir_check(int fd, const char *runs_path)
{
	int r = state_dir_check(fd);

	if (r == -EPERM)
		log_error("%s is not a folder of yours that only you can write",
			  runs_path);
	return r;
}

/* What the record says of a run whose lock is free. */
static enum review_run_state record_state(const struct run_record *rec)
{
	if (rec->discarded)
		return REVIEW_RUN_DISCARDED;
	if (rec->applied)
		return REVIEW_RUN_APPLIED;
	if (rec->finished)
		return REVIEW_RUN_FINISHED;
	return REVIEW_RUN_KILLED;
}

static void list_push(struct review_run_list *l, struct review_run *run)
{
	if (l->len == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->items = xreallocarray(l->items, l->cap, sizeof(*l->items));
	}
	l->items[l->len++] = *run;
}

/* ---- exported ---- */

char *review_runs_path(const char *home)
{
	return path_state_file(getenv("XDG_STATE_HOME"), home, RUN_STATE_NAME);
}

int review_runs_list(const char *runs_path, struct review_run_list *out)
{
	_cleanup_(strv_clear) struct strv names = { 0 };
	_cleanup_close_ int fd = -1;
	int r;

	fd = open(runs_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	r = fd < 0 ? -errno : runs_dir_check(fd, runs_path);
	if (r == 0)
		r = review_tree_list(fd, &names);
	if (r < 0) {
		log_error_errno(-r, "cannot list the runs in %s", runs_path);
		return r;
	}

	for (size_t i = 0; i < names.len; i++) {
		struct review_run run;

		if (names.items[i][0] == '.')
			continue;
		r = run_read(fd, names.items[i], &run);
		if (r == 0)
			list_push(out, &run);
		else if (r != -EAGAIN)
			out->n_broken++;
	}
	return 0;
}

void review_runs_list_free(struct review_run_list *l)
{
	for (size_t i = 0; i < l->len; i++)
		run_release(&l->items[i]);
	free(l->items);
	*l = (struct review_run_list){ 0 };
}

enum review_run_state review_run_state_of(const struct review_run *run)
{
	if (lock_held(run->dir_fd))
		return REVIEW_RUN_ACTIVE;
	return record_state(&run->rec);
}

int review_run_reread(struct review_run *run)
{
	run_record_free(&run->rec);
	if (run_record_read(run->dir_fd, &run->rec) < 0)
		return -EINVAL;
	run->state = record_state(&run->rec);
	return 0;
}

int review_run_lock(const struct review_run *run)
{
	_cleanup_close_ int fd = -1;

	fd = openat(run->dir_fd, RUN_LOCK_FILE, O_RDWR | O_CREAT | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
		return -errno;
	return steal_fd(&fd);
}

int review_run_open_workspace(const struct run_record *rec)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	fd = open(rec->workspace, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_dev != rec->workspace_dev ||
	    (uint64_t)st.st_ino != rec->workspace_ino)
		return -ESTALE;
	return steal_fd(&fd);
}

int review_run_open_upper(const struct review_run *run)
{
	int fd = openat(run->dir_fd, RUN_UPPER_DIR, O_RDONLY | O_DIRECTORY |
			O_NOFOLLOW | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int review_run_close(struct review_run *run, bool applied)
{
	static const char *const layers[] = { RUN_UPPER_DIR, RUN_WORK_DIR };
	char now[RUN_TIME_TEXT_MAX_BYTES];
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(layers); i++) {
		r = review_tree_remove(run->dir_fd, layers[i]);
		if (r < 0)
			return r;
	}
	if (unlinkat(run->dir_fd, REVIEW_STATE_FILE, 0) < 0 && errno != ENOENT)
		log_warn_errno(errno, "cannot remove %s of run %s",
			       REVIEW_STATE_FILE, run->id);

	run_time_now(now, sizeof(now));
	if (applied)
		run->rec.applied = xstrdup(now);
	else
		run->rec.discarded = xstrdup(now);
	return run_record_write(run->dir_fd, &run->rec);
}

int review_run_remove(const char *runs_path, struct review_run *run)
{
	_cleanup_close_ int fd = -1;

	fd = open(runs_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		log_error_errno(errno, "cannot open %s", runs_path);
		return -errno;
	}
	return review_tree_remove(fd, run->id);
}
