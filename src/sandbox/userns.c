/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who CMD is, and how that maps to the host. Runs in the supervisor,
 * outside the sandbox, with the caller's privileges.
 *
 * Started by an ordinary user, CMD keeps the user's uid and gid. Started by
 * root, CMD must be neither uid 0 inside nor kuid 0 outside (kuid 0 would
 * still own every root-owned file and escape RLIMIT_NPROC), so the sandbox
 * maps its uid to the host's overflow id, and the writable trees are bound
 * as idmapped mounts through which that id writes as the tree's owner.
 */
#include "config.h"

#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

#define USERNS_MAP_MAX_BYTES 64
#define IDMAP_CACHE_MAX 8

void sandbox_ids_init(struct sandbox_ids *ids)
{
	ids->outside_uid = getuid();
	ids->outside_gid = getgid();
	ids->as_root = ids->outside_uid == 0;
	if (ids->as_root) {
		ids->inside_uid = SANDBOX_ROOT_INSIDE_ID;
		ids->inside_gid = SANDBOX_ROOT_INSIDE_ID;
	} else {
		ids->inside_uid = ids->outside_uid;
		ids->inside_gid = ids->outside_gid;
	}
}

static int write_proc_file(pid_t pid, const char *name, const char *text)
{
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	r = write_file(path, text);
	if (r < 0)
		log_error_errno(-r, "cannot write %s", path);
	return r;
}

int userns_write_maps(pid_t pid, const struct sandbox_ids *ids)
{
	char map[USERNS_MAP_MAX_BYTES];
	uid_t out_uid = ids->as_root ? SANDBOX_ROOT_OUTSIDE_ID : ids->outside_uid;
	gid_t out_gid = ids->as_root ? SANDBOX_ROOT_OUTSIDE_ID : ids->outside_gid;
	int r;

	snprintf(map, sizeof(map), "%u %u 1\n", ids->inside_uid, out_uid);
	r = write_proc_file(pid, "uid_map", map);
	if (r < 0)
		return r;

	/*
	 * An ordinary user may only map its own gid after giving up
	 * setgroups; root keeps setgroups so that CMD can drop root's
	 * supplementary groups.
	 */
	if (!ids->as_root) {
		r = write_proc_file(pid, "setgroups", "deny");
		if (r < 0)
			return r;
	}
	snprintf(map, sizeof(map), "%u %u 1\n", ids->inside_gid, out_gid);
	return write_proc_file(pid, "gid_map", map);
}

/*
 * Makes a user namespace that maps the sandbox's host id to owner, for
 * use as a mount idmapping. Returns its fd or -errno.
 */
static int idmap_userns_create(uid_t owner, gid_t group)
{
	struct clone_args args = {
		.flags = CLONE_NEWUSER,
		.exit_signal = SIGCHLD,
	};
	char map[USERNS_MAP_MAX_BYTES], path[64];
	int pipefd[2], status, fd, r = 0;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	/* born in its own user namespace: nothing to wait for */
	pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0) {
		r = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return r;
	}
	if (pid == 0) {
		char c;

		close(pipefd[1]);
		/* wait until the parent has taken the namespace */
		(void)!read(pipefd[0], &c, 1);
		_exit(0);
	}
	close(pipefd[0]);
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);

	snprintf(map, sizeof(map), "%u %u 1\n", owner, SANDBOX_ROOT_OUTSIDE_ID);
	r = write_proc_file(pid, "uid_map", map);
	if (r == 0) {
		snprintf(map, sizeof(map), "%u %u 1\n", group,
			 SANDBOX_ROOT_OUTSIDE_ID);
		r = write_proc_file(pid, "gid_map", map);
	}
	fd = r == 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (r == 0 && fd < 0)
		r = -errno;

	close(pipefd[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return r < 0 ? r : fd;
}

struct idmap_cache_entry {
	uid_t uid;
	gid_t gid;
	int fd;
};

static struct idmap_cache_entry idmap_cache[IDMAP_CACHE_MAX];
static size_t idmap_cache_len;

static int idmap_userns_get(uid_t uid, gid_t gid)
{
	int fd;

	for (size_t i = 0; i < idmap_cache_len; i++)
		if (idmap_cache[i].uid == uid && idmap_cache[i].gid == gid)
			return idmap_cache[i].fd;
	fd = idmap_userns_create(uid, gid);
	if (fd < 0 || idmap_cache_len == IDMAP_CACHE_MAX)
		return fd;
	idmap_cache[idmap_cache_len++] = (struct idmap_cache_entry){ uid, gid, fd };
	return fd;
}

int userns_open_idmapped_tree(const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS,
	};
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
	};
	_cleanup_close_ int fd = -1, tree = -1;
	struct stat st;
	int userns;

	fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	userns = idmap_userns_get(st.st_uid, st.st_gid);
	if (userns < 0)
		return userns;

	tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
			 AT_EMPTY_PATH | AT_RECURSIVE);
	if (tree < 0)
		return -errno;
	attr.userns_fd = (unsigned int)userns;
	if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
			  sizeof(attr)) < 0)
		return -errno;
	return steal_fd(&tree);
}
