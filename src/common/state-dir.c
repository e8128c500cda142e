/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Creating and opening airlock's private state folders. Runs with the
 * caller's own rights, outside any sandbox; the folders may lie where a
 * sandbox could once write, so nothing here follows a final symlink or
 * trusts a folder that someone else could change.
 */
#include "config.h"

#include "common/state-dir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/path.h"
#include "common/util.h"

static int mkdir_parents(const char *dir)
{
	_cleanup_free_ char *copy = xstrdup(dir);

	for (char *p = copy + 1;; p++) {
		bool last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(copy, 0700) < 0 && errno != EEXIST)
			return -errno;
		if (last)
			return 0;
		*p = '/';
	}
}

/* Opens (making it first) name in parent; it must be a private folder. */
static int private_open(int parent, const char *name)
{
	_cleanup_close_ int fd = -1;
	int r;

	if (mkdirat(parent, name, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP || errno == ENOTDIR ? -EPERM : -errno;
	r = state_dir_check(fd);
	return r < 0 ? r : steal_fd(&fd);
}

int state_dir_check(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return -EPERM;
	return 0;
}

int state_dir_open(const char *dir, const char *sub)
{
	_cleanup_free_ char *parent = path_dirname(dir);
	_cleanup_close_ int parent_fd = -1, fd = -1;
	int r = mkdir_parents(parent);

	if (r < 0)
		return r;
	parent_fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (parent_fd < 0)
		return -errno;
	fd = private_open(parent_fd, path_basename(dir));
	if (fd < 0 || !sub)
		return fd < 0 ? fd : steal_fd(&fd);
	return private_open(fd, sub);
}
