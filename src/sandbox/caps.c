/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Capabilities: CMD gives up every set (bounding and ambient included), and
 * init keeps only CAP_SYS_PTRACE, which it needs to read CMD's memory for
 * the protected-path checks. Runs in the sandbox, after the mounts. Uses
 * the capset system call directly; libcap would add a dependency for two
 * calls.
 */
#include "config.h"

#include "sandbox/sandbox.h"

#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"

#define CAP_SCAN_MAX 64

static int caps_drop_bounding(void)
{
	for (int cap = 0; cap < CAP_SCAN_MAX; cap++) {
		int in_set = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (in_set < 0)
			break; /* past the last capability this kernel knows */
		if (in_set == 1 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		return -errno;
	return 0;
}

static int caps_set(uint32_t low_bits)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = { 0 };

	data[0].effective = low_bits;
	data[0].permitted = low_bits;
	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

int caps_drop_all(void)
{
	int r = caps_drop_bounding();

	if (r == 0)
		r = caps_set(0);
	if (r < 0)
		log_error_errno(-r, "cannot drop capabilities");
	return r;
}

int caps_raise_all(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = { 0 };

	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	data[0].effective = data[0].permitted;
	data[1].effective = data[1].permitted;
	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

int caps_keep_ptrace_only(void)
{
	int r = caps_drop_bounding();

	if (r == 0)
		r = caps_set(1u << CAP_SYS_PTRACE);
	if (r < 0)
		log_error_errno(-r, "cannot reduce init's capabilities");
	return r;
}
