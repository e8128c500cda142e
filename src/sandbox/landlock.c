/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Landlock: a second, independent layer under the mounts and seccomp.
 * Runs in the sandbox's init after pivot_root, before CMD is started, so
 * that init (which creates names on CMD's behalf) and CMD share one
 * domain. Reads are allowed everywhere the root shows, writes only beneath
 * the writable roots, the tmpfs mounts and /dev; TCP bind is refused and
 * TCP connect is allowed only to the gateway's ports; with ABI 6, signals and abstract Unix sockets stay inside.
 *
 * Debian 12's headers predate ABI 4, so the newer constants are defined
 * here when missing; the kernel is asked which ABI it has and the rights it
 * does not know are dropped, newest first.
 */
#include "config.h"

#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#define LL_NET_BIND_TCP (1ULL << 0)
#define LL_NET_CONNECT_TCP (1ULL << 1)
#define LL_RULE_NET_PORT 2
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0)
#define LL_SCOPE_SIGNAL (1ULL << 1)

/* Debian 12's headers lack the network rule (ABI 4). */
struct landlock_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
} __attribute__((packed));

/* The ruleset attribute as of ABI 6; older kernels take a prefix. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#define LL_READ (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | \
		 LANDLOCK_ACCESS_FS_READ_DIR)
#define LL_WRITE (LANDLOCK_ACCESS_FS_WRITE_FILE | \
		  LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
		  LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | \
		  LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK | \
		  LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK | \
		  LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER | \
		  LANDLOCK_ACCESS_FS_TRUNCATE)
#define LL_DEV (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | \
		LANDLOCK_ACCESS_FS_IOCTL_DEV)

static uint64_t fs_rights_for_abi(int abi)
{
	uint64_t all = LL_READ | LL_WRITE | LANDLOCK_ACCESS_FS_IOCTL_DEV;

	if (abi < 5)
		all &= ~LANDLOCK_ACCESS_FS_IOCTL_DEV;
	if (abi < 3)
		all &= ~LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi < 2)
		all &= ~LANDLOCK_ACCESS_FS_REFER;
	return all;
}

static int add_path(int ruleset, const char *path, uint64_t access,
		    uint64_t handled)
{
	struct landlock_path_beneath_attr rule = {
		.allowed_access = access & handled,
	};
	_cleanup_close_ int fd = open(path, O_PATH | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	rule.parent_fd = fd;
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH,
		    &rule, 0) < 0)
		return -errno;
	return 0;
}

static int add_rules(int ruleset, const struct mount_plan *plan,
		     uint64_t handled)
{
	int r = add_path(ruleset, "/", LL_READ, handled);

	for (size_t i = 0; r == 0 && i < plan->writable.len; i++)
		r = add_path(ruleset, plan->writable.items[i], LL_READ | LL_WRITE,
			     handled);
	for (size_t i = 0; r == 0 && i < plan->len; i++)
		if (plan->items[i].kind == MOUNT_TMPFS)
			r = add_path(ruleset, plan->items[i].path,
				     LL_READ | LL_WRITE, handled);
	if (r == 0)
		r = add_path(ruleset, "/dev", LL_READ | LL_DEV, handled);
	if (r == 0)
		r = add_path(ruleset, "/dev/shm", LL_READ | LL_WRITE, handled);
	return r;
}

static int add_ports(int ruleset, const uint16_t *ports, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct landlock_net_port_attr rule = {
			.allowed_access = LL_NET_CONNECT_TCP,
			.port = ports[i],
		};

		if (syscall(SYS_landlock_add_rule, ruleset, LL_RULE_NET_PORT,
			    &rule, 0) < 0)
			return -errno;
	}
	return 0;
}

int landlock_apply(const struct mount_plan *plan, bool local_network,
		   const uint16_t *ports, size_t n)
{
	struct ll_ruleset_attr attr = { 0 };
	_cleanup_close_ int ruleset = -1;
	size_t attr_size = sizeof(attr);
	int abi, r;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
			   LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0) {
		log_info("landlock: not available in this kernel (%s); the "
			 "mounts and seccomp still apply. Enable it with "
			 "CONFIG_SECURITY_LANDLOCK=y and lsm=...,landlock",
			 errno == EOPNOTSUPP ? "disabled at boot" : "not built in");
		return 0;
	}

	attr.handled_access_fs = fs_rights_for_abi(abi);
	if (abi >= 4 && !local_network)
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
	if (abi >= 6)
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
	else
		attr_size = abi >= 4 ? 2 * sizeof(uint64_t) : sizeof(uint64_t);

	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
	if (ruleset < 0) {
		log_error_errno(errno, "landlock: cannot create a ruleset (ABI %d)",
				abi);
		return -errno;
	}
	r = add_rules(ruleset, plan, attr.handled_access_fs);
	if (r == 0 && attr.handled_access_net)
		r = add_ports(ruleset, ports, n);
	if (r < 0) {
		log_error_errno(-r, "landlock: cannot add a rule");
		return r;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_landlock_restrict_self, ruleset, 0) < 0) {
		log_error_errno(errno, "landlock: cannot restrict the sandbox");
		return -errno;
	}
	if (attr.handled_access_net)
		log_info("landlock: ABI %d applied (files, tcp: no bind, connect "
			 "only to %zu gateway port%s%s)", abi, n, n == 1 ? "" : "s",
			 attr.scoped ? "; signal and abstract socket scope" : "");
	else
		log_info("landlock: ABI %d applied (files%s)", abi,
			 attr.scoped ? ", signal and abstract socket scope" : "");
	return abi;
}
