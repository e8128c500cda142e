/* SPDX-License-Identifier: Apache-2.0 */
/*
 * File system steps of the review that must not be led astray: opening a
 * folder beneath a root without crossing a symlink, removing a tree
 * entry by entry through opened folders, sweeping apply's temporary
 * names and replacing a small file atomically.
 *
 * Trust position: runs with the rights of the user who reviews, on two
 * kinds of trees: an upper layer whose every name and symlink the agent
 * chose, and the real workspace, which an earlier live run may have
 * filled with symlinks pointing anywhere. Nothing here follows a symlink,
 * so neither tree can redirect a removal or a write elsewhere.
 */
#include "config.h"

#include "review/review.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

/* Tries for a temporary name that is not taken yet. */
#define TEMP_NAME_TRIES 8

/* ---- reading a folder ---- */

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The names in the folder dir_fd (not "." and ".."), read in full before
 * the caller changes the folder: readdir's view of a folder that changes
 * under it is unspecified. dir_fd stays the caller's.
 */
static int tree_read_names(int dir_fd, struct strv *out)
{
	int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *e;
	int err;
	DIR *d;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	errno = 0;
	while ((e = readdir(d))) {
		if (!streq(e->d_name, ".") && !streq(e->d_name, ".."))
			strv_push(out, e->d_name);
		errno = 0;
	}
	err = errno;
	closedir(d);
	return -err;
}

/* ---- removal ---- */

static int tree_remove_at(int dir_fd, const char *name);

/*
 * Opens dir_fd/name for removing what it holds. A folder of the caller's
 * that the caller may not list, enter or change is opened up first.
 */
static int tree_open_for_removal(int dir_fd, const char *name)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd < 0 && errno == EACCES && fchmodat(dir_fd, name, 0700, 0) == 0)
		fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			    O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_uid == geteuid() && (st.st_mode & 0700) != 0700 &&
	    fchmod(fd, 0700) < 0)
		return -errno;
	return steal_fd(&fd);
}

static int tree_remove_contents(int dir_fd, const char *name)
{
	_cleanup_(strv_clear) struct strv names = { 0 };
	_cleanup_close_ int fd = tree_open_for_removal(dir_fd, name);
	int r;

	if (fd < 0)
		return fd;
	r = tree_read_names(fd, &names);
	for (size_t i = 0; r == 0 && i < names.len; i++)
		r = tree_remove_at(fd, names.items[i]);
	return r;
}

/* Removes dir_fd/name, whatever it is. Returns 0 or -errno, silently. */
static int tree_remove_at(int dir_fd, const char *name)
{
	int r;

	if (unlinkat(dir_fd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR)
		return -errno;
	r = tree_remove_contents(dir_fd, name);
	if (r < 0)
		return r;
	if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* ---- exported ---- */

int review_tree_list(int dir_fd, struct strv *out)
{
	int r = tree_read_names(dir_fd, out);

	if (r == 0 && out->len > 1)
		qsort(out->items, out->len, sizeof(char *), compare_names);
	return r;
}

int review_tree_temp_name(char *buf, const char *prefix)
{
	uint64_t rnd;

	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -errno;
	snprintf(buf, REVIEW_TEMP_NAME_MAX_BYTES, "%.40s%016" PRIx64, prefix,
		 rnd);
	return 0;
}

int review_tree_open(int root_fd, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
			   RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	fd = (int)syscall(SYS_openat2, root_fd, rel[0] ? rel : ".", &how,
			  sizeof(how));
	return fd < 0 ? -errno : fd;
}

int review_tree_open_dir(int root_fd, const char *rel)
{
	return review_tree_open(root_fd, rel, O_RDONLY | O_DIRECTORY);
}

int review_tree_remove(int dir_fd, const char *name)
{
	char clean[PATH_MAX];
	int r = tree_remove_at(dir_fd, name);

	if (r < 0) {
		log_sanitize(clean, sizeof(clean), name);
		log_error_errno(-r, "cannot remove %s", clean);
	}
	return r;
}

int review_tree_sweep(int dir_fd)
{
	_cleanup_(strv_clear) struct strv names = { 0 };
	int n = 0, r;

	r = tree_read_names(dir_fd, &names);
	for (size_t i = 0; r == 0 && i < names.len; i++) {
		if (strncmp(names.items[i], REVIEW_TEMP_PREFIX,
			    strlen(REVIEW_TEMP_PREFIX)) != 0)
			continue;
		r = review_tree_remove(dir_fd, names.items[i]);
		n++;
	}
	return r < 0 ? r : n;
}

int review_tree_write_atomic(int dir_fd, const char *name, const char *text,
			     bool durable)
{
	_cleanup_free_ char *prefix = xasprintf(".%.30s.", name);
	char temp[REVIEW_TEMP_NAME_MAX_BYTES];
	_cleanup_close_ int fd = -1;
	int r = -EEXIST;

	for (int tries = 0; fd < 0 && r == -EEXIST && tries < TEMP_NAME_TRIES;
	     tries++) {
		r = review_tree_temp_name(temp, prefix);
		if (r < 0)
			return r;
		fd = openat(dir_fd, temp, O_WRONLY | O_CREAT | O_EXCL |
			    O_NOFOLLOW | O_CLOEXEC, 0600);
		r = fd < 0 ? -errno : 0;
	}
	if (fd < 0)
		return r;

	r = write_all(fd, text, strlen(text));
	if (r == 0 && durable && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && renameat(dir_fd, temp, dir_fd, name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dir_fd, temp, 0);
		return r;
	}
	if (durable && fsync(dir_fd) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}

int review_tree_read_file(int dir_fd, const char *name, size_t max_bytes,
			  char **out)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	return read_fd_text(fd, max_bytes, out);
}

char *review_tree_read_link(int root_fd, const char *rel)
{
	_cleanup_close_ int fd = review_tree_open(root_fd, rel, O_PATH);
	char buf[PATH_MAX];
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = readlinkat(fd, "", buf, sizeof(buf));
	if (n < 0 || (size_t)n >= sizeof(buf))
		return NULL;
	return xstrndup(buf, (size_t)n);
}
