/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Making a run's folder, in the supervisor, with the caller's rights and
 * before any namespace exists. The folder lies in airlock's private state
 * folder (mode 0700, the caller's own, checked without following links);
 * the sandbox never sees it writable: the CLI binds the state folder
 * read-only inside when it lies in a writable tree, and the overlay's
 * layers reach the sandbox's init only as descriptors.
 */
#include "config.h"

#include "run-folder.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/path.h"
#include "common/state-dir.h"
#include "common/util.h"
#include "policy/policy.h"
#include "review/review.h"
#include "sandbox/sandbox.h"

/* Writes the effective policy beside the record, as `airlock check` does. */
static int policy_write(int dir_fd, const struct policy *p)
{
	int fd = openat(dir_fd, RUN_POLICY_FILE, O_WRONLY | O_CREAT | O_EXCL |
			O_NOFOLLOW | O_CLOEXEC, 0600);
	FILE *f;
	int r = 0;

	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -errno;
	}
	policy_print(p, f);
	if (ferror(f))
		r = -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	return r;
}

/* Takes the lock that tells readers the run is still going. */
static int lock_take(int dir_fd)
{
	_cleanup_close_ int fd = openat(dir_fd, RUN_LOCK_FILE, O_RDWR | O_CREAT |
					O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
		return -errno;
	return steal_fd(&fd);
}

/*
 * Makes name (upper/ or work/) and opens it. Started by root, the layer
 * belongs to the sandbox's host id, which is who writes it (the overlay
 * is mounted by the sandbox's init, inside its user namespace).
 */
static int layer_make(int dir_fd, const char *name, bool as_root)
{
	_cleanup_close_ int fd = -1;

	if (mkdirat(dir_fd, name, 0755) < 0)
		return -errno;
	fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (as_root && fchown(fd, SANDBOX_ROOT_OUTSIDE_ID,
			      SANDBOX_ROOT_OUTSIDE_ID) < 0)
		return -errno;
	return steal_fd(&fd);
}

static void record_fill(struct run_record *rec, const struct run_folder_spec *s)
{
	char now[RUN_TIME_TEXT_MAX_BYTES];
	struct stat st;

	*rec = (struct run_record){ .status = -1 };
	rec->id = xstrdup(s->id);
	for (char *const *a = s->argv; *a; a++)
		strv_push(&rec->argv, *a);
	rec->workspace = xstrdup(s->policy->workspace);
	if (stat(s->policy->workspace, &st) == 0) {
		rec->workspace_dev = st.st_dev;
		rec->workspace_ino = st.st_ino;
	}
	rec->mode = xstrdup(s->mode);
	rec->started_ns = run_time_now(now, sizeof(now));
	rec->started = xstrdup(now);
	rec->pid = getpid();
}

/* The steps after the folder exists; -errno names nothing, the caller does. */
static int folder_fill(struct run_folder *rf, const struct run_folder_spec *s,
		       const char **step)
{
	int r;

	*step = "take the lock in";
	rf->lock_fd = lock_take(rf->fd);
	if (rf->lock_fd < 0)
		return rf->lock_fd;
	if (s->overlay) {
		*step = "make the overlay's layers in";
		rf->upper_fd = layer_make(rf->fd, RUN_UPPER_DIR, s->as_root);
		if (rf->upper_fd < 0)
			return rf->upper_fd;
		r = layer_make(rf->fd, RUN_WORK_DIR, s->as_root);
		if (r < 0)
			return r;
		close(r);
	}
	record_fill(&rf->rec, s);
	rf->policy = s->policy;
	return 0;
}

static void folder_release(struct run_folder *rf)
{
	int *fds[] = { &rf->fd, &rf->lock_fd, &rf->upper_fd };

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		closep(fds[i]);
	free(rf->path);
	run_record_free(&rf->rec);
	*rf = (struct run_folder){ .fd = -1, .lock_fd = -1, .upper_fd = -1 };
}

int run_folder_create(struct run_folder *rf, const struct run_folder_spec *s)
{
	_cleanup_free_ char *runs = review_runs_path(s->policy->home);
	_cleanup_free_ char *airlock_dir = NULL;
	_cleanup_close_ int runs_fd = -1;
	const char *step = "create";
	int r;

	*rf = (struct run_folder){ .fd = -1, .lock_fd = -1, .upper_fd = -1 };
	if (!runs) {
		log_error("no state folder for the run's records: set "
			  "XDG_STATE_HOME or HOME to an absolute path");
		return -ENOENT;
	}
	airlock_dir = path_dirname(runs);
	runs_fd = state_dir_open(airlock_dir, RUN_STATE_NAME);
	if (runs_fd < 0) {
		log_error_errno(-runs_fd, "cannot use %s for the run's records%s",
				runs, runs_fd == -EPERM ? ": it is not a folder "
				"of yours that only you can write" : "");
		return runs_fd;
	}
	rf->path = path_join(runs, s->id);
	r = mkdirat(runs_fd, s->id, 0700) < 0 ? -errno : 0;
	if (r == 0) {
		rf->fd = openat(runs_fd, s->id, O_RDONLY | O_DIRECTORY |
				O_NOFOLLOW | O_CLOEXEC);
		r = rf->fd < 0 ? -errno : folder_fill(rf, s, &step);
	}
	if (r < 0) {
		log_error_errno(-r, "cannot %s the run's folder %s", step,
				rf->path);
		folder_release(rf);
	}
	return r;
}

void run_folder_record(struct run_folder *rf)
{
	int r;

	if (rf->fd < 0 || rf->recorded)
		return;
	rf->recorded = true;
	r = policy_write(rf->fd, rf->policy);
	if (r == 0)
		r = run_record_write(rf->fd, &rf->rec);
	if (r < 0)
		log_warn_errno(-r, "cannot write the record of run %s in %s",
			       rf->rec.id, rf->path);
}

void run_folder_end(struct run_folder *rf, int status)
{
	char now[RUN_TIME_TEXT_MAX_BYTES];

	if (rf->fd < 0 || rf->rec.finished)
		return;
	if (!rf->recorded && policy_write(rf->fd, rf->policy) < 0)
		log_warn("run %s: its policy was not recorded", rf->rec.id);
	rf->recorded = true;
	run_time_now(now, sizeof(now));
	rf->rec.finished = xstrdup(now);
	rf->rec.status = status;
	if (run_record_write(rf->fd, &rf->rec) < 0)
		log_warn("the record of run %s says it never finished",
			 rf->rec.id);
}

void run_folder_finish(struct run_folder *rf, int status)
{
	run_folder_end(rf, status);
	folder_release(rf);
}
