/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rules of CMD's seccomp filters, built with libseccomp. This file runs
 * at build time, in seccomp-gen, which turns the rules into BPF programs
 * that seccomp.c loads; building them at every start cost more than the
 * rest of airlock's start together.
 *
 * The deny filter refuses, with EPERM, the families of calls that widen
 * the kernel's attack surface or reach outside the sandbox (mounts,
 * namespaces, keyrings, bpf, perf, ptrace, io_uring, module loading, ...),
 * limits socket families, and kills on any non-native architecture. The
 * notify filter routes calls that create names to init (see protect.c).
 * The kernel applies the strictest answer of all filters, so a call the
 * deny filter refuses is never notified.
 */
#include "config.h"

#include "sandbox/seccomp-rules.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "common/util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Refused outright: each is a way out, or a large piece of kernel. */
static const char *const denied_calls[] = {
	/* mounts and the root */
	"mount", "umount", "umount2", "pivot_root", "chroot", "open_tree",
	"move_mount", "fsopen", "fsconfig", "fsmount", "fspick",
	"mount_setattr", "open_tree_attr",
	/* namespaces */
	"setns",
	/* keyrings */
	"keyctl", "add_key", "request_key",
	/* tracing and other processes' memory */
	"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
	"process_madvise", "kcmp", "move_pages", "migrate_pages",
	/* large kernel surfaces */
	"bpf", "perf_event_open", "userfaultfd", "io_uring_setup",
	"io_uring_enter", "io_uring_register", "fanotify_init",
	"open_by_handle_at", "name_to_handle_at", "lookup_dcookie",
	/* the machine itself */
	"kexec_load", "kexec_file_load", "init_module", "finit_module",
	"delete_module", "reboot", "swapon", "swapoff", "acct", "syslog",
	"settimeofday", "clock_settime", "clock_adjtime", "sethostname",
	"setdomainname", "quotactl", "quotactl_fd", "nfsservctl", "vhangup",
	"iopl", "ioperm", "uselib", "ustat", "sysfs", "_sysctl", "vm86",
	"vm86old", "personality",
	NULL,
};

/* Answered "not implemented", so that libc falls back to a filtered form. */
static const char *const enosys_calls[] = {
	"clone3",  /* flags in memory: clone, whose flags are checked, is used */
	"openat2", /* O_CREAT in memory: openat, which is checked, is used */
	NULL,
};

static const unsigned long namespace_flags[] = {
	CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC,
	CLONE_NEWUTS, CLONE_NEWCGROUP, CLONE_NEWTIME,
};

static const unsigned long denied_ioctls[] = { TIOCSTI, TIOCLINUX };

/* Calls that create a name, routed to init when they do. */
static const char *const notify_calls[] = {
	"creat", "mkdir", "mkdirat", "mknod", "mknodat", "symlink",
	"symlinkat", "link", "linkat", "rename", "renameat", "renameat2",
	NULL,
};

/* Every allowed family is below AF_PACKET; the filter relies on it. */
static bool family_allowed(int family, bool unix_sockets)
{
	return family == AF_INET || family == AF_INET6 || family == AF_NETLINK ||
	       (family == AF_UNIX && unix_sockets);
}

static int add_named(scmp_filter_ctx ctx, const char *const *names,
		     uint32_t action)
{
	for (size_t i = 0; names[i]; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		int r;

		if (nr == __NR_SCMP_ERROR)
			continue; /* unknown to this libseccomp or arch */
		r = seccomp_rule_add(ctx, action, nr, 0);
		if (r < 0 && r != -EEXIST) {
			fprintf(stderr, "seccomp: cannot add a rule for %s\n",
				names[i]);
			return r;
		}
	}
	return 0;
}

static int add_arg_rules(scmp_filter_ctx ctx, bool unix_sockets)
{
	uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
	int r = 0;

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(namespace_flags); i++) {
		scmp_datum_t f = namespace_flags[i];

		r = seccomp_rule_add(ctx, eperm, SCMP_SYS(unshare), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, f, f));
		if (r == 0)
			r = seccomp_rule_add(ctx, eperm, SCMP_SYS(clone), 1,
					     SCMP_A0(SCMP_CMP_MASKED_EQ, f, f));
	}
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(denied_ioctls); i++)
		r = seccomp_rule_add(ctx, eperm, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu,
					     denied_ioctls[i]));
	/* families below AF_PACKET one by one, everything from it up at once */
	for (int fam = 0; r == 0 && fam < AF_PACKET; fam++)
		if (!family_allowed(fam, unix_sockets))
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT),
					     SCMP_SYS(socket), 1,
					     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fam, 0));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT),
				     SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_GE, AF_PACKET, 0));
	for (int i = 0; r == 0 && i < 2; i++)
		r = seccomp_rule_add(ctx, eperm, SCMP_SYS(socket), 2,
				     SCMP_A0(SCMP_CMP_EQ, i ? AF_INET6 : AF_INET, 0),
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_RAW));
	if (r < 0)
		fprintf(stderr, "seccomp: cannot add the argument rules\n");
	return r;
}

static scmp_filter_ctx filter_new(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);

	if (!ctx)
		return NULL;
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
			     SCMP_ACT_KILL_PROCESS) < 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1) < 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0) {
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

scmp_filter_ctx seccomp_rules_deny(bool unix_sockets)
{
	scmp_filter_ctx ctx = filter_new();
	int r;

	if (!ctx)
		return NULL;
	r = add_named(ctx, denied_calls, SCMP_ACT_ERRNO(EPERM));
	if (r == 0)
		r = add_named(ctx, enosys_calls, SCMP_ACT_ERRNO(ENOSYS));
	if (r == 0)
		r = add_arg_rules(ctx, unix_sockets);
	if (r < 0) {
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

scmp_filter_ctx seccomp_rules_notify(void)
{
	scmp_filter_ctx ctx = filter_new();
	uint32_t act = SCMP_ACT_NOTIFY;
	int r;

	if (!ctx)
		return NULL;
	r = add_named(ctx, notify_calls, act);
	if (r == 0)
		r = seccomp_rule_add(ctx, act, SCMP_SYS(open), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT));
	if (r == 0)
		r = seccomp_rule_add(ctx, act, SCMP_SYS(openat), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT));
	if (r < 0) {
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

void seccomp_rules_describe(bool unix_sockets, FILE *f)
{
	fprintf(f, "seccomp filter (native architecture only, others killed):\n");
	fprintf(f, "  refused (EPERM):");
	for (size_t i = 0; denied_calls[i]; i++)
		fprintf(f, " %s", denied_calls[i]);
	fprintf(f, "\n  refused (ENOSYS):");
	for (size_t i = 0; enosys_calls[i]; i++)
		fprintf(f, " %s", enosys_calls[i]);
	fprintf(f, "\n  clone/unshare with new-namespace flags: refused\n");
	fprintf(f, "  ioctl TIOCSTI, TIOCLINUX: refused\n");
	fprintf(f, "  socket families: inet, inet6, netlink%s; raw inet refused\n",
		unix_sockets ? ", unix" : " (unix refused)");
	fprintf(f, "seccomp notification (checked by init against protected "
		   "paths):\n  open/openat with O_CREAT");
	for (size_t i = 0; notify_calls[i]; i++)
		fprintf(f, " %s", notify_calls[i]);
	fputc('\n', f);
}
