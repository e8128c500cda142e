/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Protected names that do not exist yet. A read-only bind can only cover a
 * path that exists, and airlock never creates placeholders in the user's
 * tree, so CMD's calls that create a name (open with O_CREAT, mkdir, mknod,
 * symlink, link, rename) are routed by a seccomp user-notification filter
 * to the sandbox's init, which runs this file.
 *
 * Trust position: runs in init (pid 1 inside), with CMD's uid and Landlock
 * domain and only CAP_SYS_PTRACE, on requests from untrusted CMD. Each call
 * is performed here, on CMD's behalf, on a parent folder opened once and
 * then checked by its real path, so that no rename racing the check can
 * move the name elsewhere (no TOCTOU); the result (or the new fd) is
 * returned through the listener.
 *
 * Rules: no name may be created at a protected path; no file, symlink or
 * node at one of their parent folders (a folder is fine, git init needs
 * .git); no rename from or onto either; O_CREAT never follows a dangling
 * symlink.
 */
#include "config.h"

#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

#define CREATE_RETRIES 8

/* A name as CMD gave it, resolved to a parent folder held open here. */
struct protect_name {
	int parent;               /* O_PATH fd of the parent folder */
	char last[NAME_MAX + 1];  /* final component */
	char full[PATH_MAX];      /* real path of parent + "/" + last */
};

struct protect_call {
	struct seccomp_notif *req;
	int listener;
};

static void name_release(struct protect_name *n)
{
	if (n->parent >= 0)
		close(n->parent);
	n->parent = -1;
}

/*
 * Copies a NUL-terminated string from the caller's memory, a page at a
 * time so that a string ending just before an unmapped page still reads.
 * process_vm_readv checks ptrace access, not the owner of /proc/PID/mem,
 * so it works on a CMD that made itself non-dumpable.
 */
static int read_string(const struct protect_call *c, uint64_t addr, char *buf,
		       size_t size)
{
	size_t got = 0, page = (size_t)sysconf(_SC_PAGESIZE);

	if (addr == 0)
		return -EFAULT;
	while (got < size) {
		uint64_t at = addr + got;
		size_t want = page - (size_t)(at % page);
		struct iovec local, remote;
		ssize_t n;

		if (want > size - got)
			want = size - got;
		local = (struct iovec){ .iov_base = buf + got, .iov_len = want };
		remote = (struct iovec){ .iov_base = (void *)(uintptr_t)at,
					 .iov_len = want };
		n = process_vm_readv((pid_t)c->req->pid, &local, 1, &remote, 1, 0);
		if (n <= 0)
			return n == 0 ? -EFAULT : -errno;
		if (memchr(buf + got, '\0', (size_t)n))
			return 0;
		got += (size_t)n;
	}
	return -ENAMETOOLONG;
}

/* Opens the folder that dirfd stands for in the caller. */
static int open_base(pid_t pid, int dirfd, const char *path)
{
	char link[64];
	int fd;

	if (path[0] == '/')
		snprintf(link, sizeof(link), "/proc/%d/root", (int)pid);
	else if (dirfd == AT_FDCWD)
		snprintf(link, sizeof(link), "/proc/%d/cwd", (int)pid);
	else
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)pid, dirfd);
	fd = open(link, O_PATH | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * Resolves (dirfd, path) of the caller to a parent fd and a last name,
 * following symlinks in the parent part as the kernel would, but never
 * through a magic link of /proc (those would name init, not CMD).
 */
static int name_resolve(const struct protect_call *c, uint64_t dirfd_arg,
			uint64_t path_addr, struct protect_name *n)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_NO_MAGICLINKS,
	};
	char path[PATH_MAX], link[64], real[PATH_MAX];
	_cleanup_close_ int base = -1;
	char *slash;
	const char *parent;
	size_t len;
	ssize_t rl;
	int r;

	n->parent = -1;
	r = read_string(c, path_addr, path, sizeof(path));
	if (r < 0)
		return r;
	if (ioctl(c->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &c->req->id) < 0)
		return -ESRCH;

	len = strlen(path);
	if (len == 0)
		return -ENOENT;
	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';

	base = open_base((pid_t)c->req->pid, (int)dirfd_arg, path);
	if (base < 0)
		return base;

	slash = strrchr(path, '/');
	if (!slash) {
		parent = ".";
		snprintf(n->last, sizeof(n->last), "%s", path);
	} else {
		if (strlen(slash + 1) > NAME_MAX)
			return -ENAMETOOLONG;
		snprintf(n->last, sizeof(n->last), "%s", slash + 1);
		*slash = '\0';
		parent = slash == path ? "/" : path;
	}
	if (streq(parent, "/"))
		parent = ".";
	else if (parent[0] == '/')
		parent++;

	n->parent = (int)syscall(SYS_openat2, base, parent, &how, sizeof(how));
	if (n->parent < 0)
		return -errno;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", n->parent);
	rl = readlink(link, real, sizeof(real) - 1);
	if (rl < 0)
		return -errno;
	real[rl] = '\0';
	if ((size_t)snprintf(n->full, sizeof(n->full), "%s/%s",
			     streq(real, "/") ? "" : real, n->last) >= sizeof(n->full))
		return -ENAMETOOLONG;
	return 0;
}

static bool is_protected(const struct mount_plan *plan, const char *full)
{
	return strv_contains(&plan->protected_paths, full);
}

static bool is_protected_parent(const struct mount_plan *plan, const char *full)
{
	return strv_contains(&plan->protected_parents, full);
}

/* May a name of this kind be created at full? 0 or -EACCES. */
static int check_create(const struct mount_plan *plan, const char *full,
			bool is_dir)
{
	char safe[PATH_MAX];

	if (is_protected(plan, full) ||
	    (!is_dir && is_protected_parent(plan, full))) {
		log_sanitize(safe, sizeof(safe), full);
		log_info("refused creating protected path %s", safe);
		return -EACCES;
	}
	return 0;
}

static int check_rename(const struct mount_plan *plan, const char *full)
{
	char safe[PATH_MAX];

	if (is_protected(plan, full) || is_protected_parent(plan, full)) {
		log_sanitize(safe, sizeof(safe), full);
		log_info("refused renaming protected path %s", safe);
		return -EACCES;
	}
	return 0;
}

/* Makes init's umask the caller's, for modes of what it creates. */
static void umask_follow(pid_t pid)
{
	char path[64], *status = NULL, *u;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_file(path, 64 * 1024, &status) < 0)
		return;
	u = strstr(status, "\nUmask:");
	if (u)
		umask((mode_t)strtoul(u + 7, NULL, 8));
	free(status);
}

/* open/openat/creat with O_CREAT. Returns a new fd or -errno. */
static int do_open(const struct mount_plan *plan, struct protect_name *n,
		   int flags, mode_t mode)
{
	struct stat st;
	int fd, r;

	flags |= O_CLOEXEC;
	if (flags & O_EXCL) {
		r = check_create(plan, n->full, false);
		if (r < 0)
			return r;
		fd = openat(n->parent, n->last, flags, mode);
		return fd < 0 ? -errno : fd;
	}
	for (int i = 0; i < CREATE_RETRIES; i++) {
		fd = openat(n->parent, n->last, flags & ~O_CREAT);
		if (fd >= 0 || errno != ENOENT)
			return fd < 0 ? -errno : fd;
		/* a dangling symlink would create its target: refuse */
		if (fstatat(n->parent, n->last, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return S_ISLNK(st.st_mode) ? -EACCES : -ENOENT;
		r = check_create(plan, n->full, false);
		if (r < 0)
			return r;
		fd = openat(n->parent, n->last, flags | O_EXCL, mode);
		if (fd >= 0 || errno != EEXIST)
			return fd < 0 ? -errno : fd;
	}
	return -EAGAIN;
}

static int resolve2(const struct protect_call *c, uint64_t d1, uint64_t p1,
		    struct protect_name *a, uint64_t d2, uint64_t p2,
		    struct protect_name *b)
{
	int r = name_resolve(c, d1, p1, a);

	return r < 0 ? r : name_resolve(c, d2, p2, b);
}

/* link/linkat: the new name is checked, the old one is any file. */
static int do_link(const struct protect_call *c, const struct mount_plan *plan,
		   uint64_t od, uint64_t op, uint64_t nd, uint64_t np, int flags)
{
	struct protect_name a = { .parent = -1 }, b = { .parent = -1 };
	char old[PATH_MAX], link[64];
	int r;

	if (flags & AT_EMPTY_PATH) {
		_cleanup_close_ int f = -1;

		r = read_string(c, op, old, sizeof(old));
		if (r < 0 || old[0] != '\0')
			goto regular;
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)c->req->pid,
			 (int)od);
		f = open(link, O_PATH | O_CLOEXEC);
		if (f < 0)
			return -errno;
		r = name_resolve(c, nd, np, &b);
		if (r == 0)
			r = check_create(plan, b.full, false);
		snprintf(link, sizeof(link), "/proc/self/fd/%d", f);
		if (r == 0 && linkat(AT_FDCWD, link, b.parent, b.last,
				     AT_SYMLINK_FOLLOW) < 0)
			r = -errno;
		name_release(&b);
		return r;
	}
regular:
	r = resolve2(c, od, op, &a, nd, np, &b);
	if (r == 0)
		r = check_create(plan, b.full, false);
	if (r == 0 && linkat(a.parent, a.last, b.parent, b.last,
			     flags & AT_SYMLINK_FOLLOW) < 0)
		r = -errno;
	name_release(&a);
	name_release(&b);
	return r;
}

static int do_rename(const struct protect_call *c, const struct mount_plan *plan,
		     uint64_t od, uint64_t op, uint64_t nd, uint64_t np,
		     unsigned int flags)
{
	struct protect_name a = { .parent = -1 }, b = { .parent = -1 };
	int r = resolve2(c, od, op, &a, nd, np, &b);

	if (r == 0)
		r = check_rename(plan, a.full);
	if (r == 0)
		r = check_rename(plan, b.full);
	if (r == 0 && renameat2(a.parent, a.last, b.parent, b.last, flags) < 0)
		r = -errno;
	name_release(&a);
	name_release(&b);
	return r;
}

/* Creations of one name: file, folder, node, symlink. */
static int do_single(const struct protect_call *c, const struct mount_plan *plan,
		     int nr, const uint64_t *a, int *newfd)
{
	struct protect_name n = { .parent = -1 };
	char target[PATH_MAX];
	int r = 0;

	switch (nr) {
	case SYS_open:
		r = name_resolve(c, (uint64_t)AT_FDCWD, a[0], &n);
		if (r == 0)
			r = *newfd = do_open(plan, &n, (int)a[1], (mode_t)a[2]);
		break;
	case SYS_creat:
		r = name_resolve(c, (uint64_t)AT_FDCWD, a[0], &n);
		if (r == 0)
			r = *newfd = do_open(plan, &n, O_CREAT | O_WRONLY | O_TRUNC,
					     (mode_t)a[1]);
		break;
	case SYS_openat:
		r = name_resolve(c, a[0], a[1], &n);
		if (r == 0)
			r = *newfd = do_open(plan, &n, (int)a[2], (mode_t)a[3]);
		break;
	case SYS_mkdir:
	case SYS_mkdirat: {
		bool at = nr == SYS_mkdirat;

		r = name_resolve(c, at ? a[0] : (uint64_t)AT_FDCWD, a[at], &n);
		if (r == 0)
			r = check_create(plan, n.full, true);
		if (r == 0 && mkdirat(n.parent, n.last, (mode_t)a[at + 1]) < 0)
			r = -errno;
		break;
	}
	case SYS_mknod:
	case SYS_mknodat: {
		bool at = nr == SYS_mknodat;

		r = name_resolve(c, at ? a[0] : (uint64_t)AT_FDCWD, a[at], &n);
		if (r == 0)
			r = check_create(plan, n.full, false);
		if (r == 0 && mknodat(n.parent, n.last, (mode_t)a[at + 1],
				      (dev_t)a[at + 2]) < 0)
			r = -errno;
		break;
	}
	case SYS_symlink:
	case SYS_symlinkat: {
		bool at = nr == SYS_symlinkat;

		r = read_string(c, a[0], target, sizeof(target));
		if (r == 0)
			r = name_resolve(c, at ? a[1] : (uint64_t)AT_FDCWD,
					 a[at ? 2 : 1], &n);
		if (r == 0)
			r = check_create(plan, n.full, false);
		if (r == 0 && symlinkat(target, n.parent, n.last) < 0)
			r = -errno;
		break;
	}
	default:
		r = -ENOSYS;
	}
	name_release(&n);
	return r;
}

static int dispatch(const struct protect_call *c, const struct mount_plan *plan,
		    int *newfd)
{
	const uint64_t *a = (const uint64_t *)c->req->data.args;
	int nr = c->req->data.nr;

	switch (nr) {
	case SYS_link:
		return do_link(c, plan, (uint64_t)AT_FDCWD, a[0],
			       (uint64_t)AT_FDCWD, a[1], 0);
	case SYS_linkat:
		return do_link(c, plan, a[0], a[1], a[2], a[3], (int)a[4]);
	case SYS_rename:
		return do_rename(c, plan, (uint64_t)AT_FDCWD, a[0],
				 (uint64_t)AT_FDCWD, a[1], 0);
	case SYS_renameat:
		return do_rename(c, plan, a[0], a[1], a[2], a[3], 0);
	case SYS_renameat2:
		return do_rename(c, plan, a[0], a[1], a[2], a[3],
				 (unsigned int)a[4]);
	default:
		return do_single(c, plan, nr, a, newfd);
	}
}

static int respond(int listener, struct seccomp_notif_resp *resp, uint64_t id,
		   int result, int newfd, int open_flags)
{
	if (newfd >= 0) {
		struct seccomp_notif_addfd add = {
			.id = id,
			.flags = SECCOMP_ADDFD_FLAG_SEND,
			.srcfd = (uint32_t)newfd,
			.newfd_flags = (uint32_t)(open_flags & O_CLOEXEC),
		};
		int r = ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);

		close(newfd);
		if (r >= 0 || errno == ENOENT)
			return 0;
		result = -errno;
	}
	resp->id = id;
	resp->val = 0;
	resp->error = result < 0 ? result : 0;
	resp->flags = 0;
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int protect_handle(int listener, const struct mount_plan *plan)
{
	static struct seccomp_notif_sizes sizes;
	_cleanup_free_ struct seccomp_notif *req = NULL;
	_cleanup_free_ struct seccomp_notif_resp *resp = NULL;
	struct protect_call c = { .listener = listener };
	int newfd = -1, result, open_flags = 0;

	if (sizes.seccomp_notif == 0 &&
	    syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		return -errno;
	req = xcalloc(1, sizes.seccomp_notif);
	resp = xcalloc(1, sizes.seccomp_notif_resp);
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0)
		return errno == EINTR || errno == ENOENT ? 0 : -errno;

	c.req = req;
	umask_follow((pid_t)req->pid);
	result = dispatch(&c, plan, &newfd);
	if (result >= 0 && newfd >= 0) {
		if (req->data.nr == SYS_openat)
			open_flags = (int)req->data.args[2];
		else if (req->data.nr == SYS_open)
			open_flags = (int)req->data.args[1];
		result = 0;
	} else {
		newfd = -1;
	}
	return respond(listener, resp, req->id, result, newfd, open_flags);
}
