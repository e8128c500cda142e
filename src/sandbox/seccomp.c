/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loads CMD's seccomp filters. Runs in CMD between fork and exec, after the
 * capabilities are gone. The filters are BPF programs generated at build
 * time by libseccomp from the rules in seccomp-rules.c (see seccomp-gen.c),
 * so no filter is compiled at run time.
 */
#include "config.h"

#include "sandbox/sandbox.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "seccomp-filters.h" /* generated in the build folder */
#include "sandbox/seccomp-rules.h"

static bool unix_sockets_allowed(const struct policy *p)
{
	return p->allow_all_unix_sockets || p->allow_unix_sockets.len > 0;
}

static int filter_load(const struct sock_filter *insns, size_t len,
		       unsigned int flags)
{
	struct sock_fprog prog = {
		.len = (unsigned short)len,
		.filter = (struct sock_filter *)insns,
	};
	long r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	return r < 0 ? -errno : (int)r;
}

int seccomp_apply_filter(const struct policy *p)
{
	int r = unix_sockets_allowed(p) ?
		filter_load(seccomp_deny_unix_filter,
			    ARRAY_SIZE(seccomp_deny_unix_filter), 0) :
		filter_load(seccomp_deny_filter, ARRAY_SIZE(seccomp_deny_filter), 0);

	if (r < 0)
		log_error_errno(-r, "seccomp: cannot load the filter");
	return r < 0 ? r : 0;
}

int seccomp_apply_notify(void)
{
	int fd = filter_load(seccomp_notify_filter,
			     ARRAY_SIZE(seccomp_notify_filter),
			     SECCOMP_FILTER_FLAG_NEW_LISTENER);

	if (fd < 0)
		log_error_errno(-fd, "seccomp: cannot load the notification "
				"filter");
	return fd;
}

void seccomp_describe(const struct policy *p, FILE *f)
{
	seccomp_rules_describe(unix_sockets_allowed(p), f);
}
