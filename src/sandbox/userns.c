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

/* The idmap child's stack: it only blocks in read(2) and exits. */
#define IDMAP_CHILD_STACK_BYTES 16384

static _Alignas(64) unsigned char idmap_child_stack[IDMAP_CHILD_STACK_BYTES];

/*
 * Holds the new user namespace until the parent has taken it. The child
 * shares the parent's memory, so it makes raw system calls only: no errno,
 * no stdio, no exit handlers.
 */
static int idmap_child(void *arg)
{
	static char byte; /* not on the stack that sanitizers watch */
	const int *pipefd = arg;

	/* its own copy of the write end must go, or the read never ends */
	(void)syscall(SYS_close, pipefd[1]);
	(void)syscall(SYS_read, pipefd[0], &byte, 1);
	syscall(SYS_exit, 0);
	return 0;
}

/*
 * Makes a user namespace that maps the sandbox's host id to owner, for
 * use as a mount idmapping. Returns its fd or -errno.
 *
 * The namespace needs a process to live in while its maps are written. A
 * forked child would copy the page tables and leave every page the
 * supervisor writes afterwards to be copied again; a child that shares the
 * memory (CLONE_VM, not a thread: its own exit status) costs neither.
 */
static int idmap_userns_create(uid_t owner, gid_t group)
{
	char map[USERNS_MAP_MAX_BYTES], path[64];
	int pipefd[2], status, fd, r = 0;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	pid = clone(idmap_child, idmap_child_stack + sizeof(idmap_child_stack),
		    CLONE_VM | CLONE_NEWUSER | SIGCHLD, pipefd);
	if (pid < 0) {
		r = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return r;
	}
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

	close(pipefd[1]); /* the child reads the end of the pipe and exits */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	close(pipefd[0]);
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
