/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resource limits. Memory and process count go to a cgroup v2 of the run's
 * own when the caller's cgroup is delegated to it (writable, with the
 * memory and pids controllers), else to rlimits; CPU time, open files and
 * file size are always rlimits; the wall-clock timeout is the
 * supervisor's. The machine's cgroup v1 hierarchies are never touched.
 */
#include "config.h"

#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#define CGROUP_ROOT "/sys/fs/cgroup"
#define CGROUP_FILE_MAX_BYTES 4096

/* The caller's cgroup v2 folder, or NULL when there is no unified mount. */
static char *cgroup_own_dir(void)
{
	_cleanup_free_ char *text = NULL;
	struct statfs sfs;
	char *line;

	if (statfs(CGROUP_ROOT, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)
		return NULL;
	if (read_file("/proc/self/cgroup", CGROUP_FILE_MAX_BYTES, &text) < 0)
		return NULL;
	line = strstr(text, "0::");
	if (!line)
		return NULL;
	line += 3;
	line[strcspn(line, "\n")] = '\0';
	return xasprintf("%s%s", CGROUP_ROOT, line);
}

static bool cgroup_has_controllers(const char *dir)
{
	_cleanup_free_ char *path = xasprintf("%s/cgroup.subtree_control", dir);
	_cleanup_free_ char *text = NULL;

	if (read_file(path, CGROUP_FILE_MAX_BYTES, &text) < 0) {
		return false;
	}
	if (strstr(text, "memory") && strstr(text, "pids"))
		return true;
	free(text);
	text = NULL;
	/* enabling works only where no process lives in dir itself */
	if (write_file(path, "+memory +pids") < 0)
		return false;
	return true;
}

static int cgroup_set(const char *dir, const char *file, unsigned long long v)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	char text[32];

	snprintf(text, sizeof(text), "%llu", v);
	return write_file(path, text);
}

static int cgroup_try(struct limits_state *st, const struct policy_limits *l)
{
	_cleanup_free_ char *own = cgroup_own_dir();
	_cleanup_free_ char *dir = NULL;
	int r = 0;

	if (!own || access(own, W_OK) < 0 || !cgroup_has_controllers(own))
		return -ENOTSUP;
	dir = xasprintf("%s/airlock-%d", own, (int)getpid());
	if (mkdir(dir, 0755) < 0)
		return -errno;
	if (l->memory_bytes) {
		r = cgroup_set(dir, "memory.max", l->memory_bytes);
		if (r == 0)
			r = cgroup_set(dir, "memory.swap.max", 0);
	}
	if (r == 0 && l->processes)
		r = cgroup_set(dir, "pids.max", l->processes);
	if (r == 0) {
		st->cgroup_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		r = st->cgroup_fd < 0 ? -errno : 0;
	}
	if (r < 0) {
		rmdir(dir);
		return r;
	}
	st->cgroup_path = steal_ptr(&dir);
	return 0;
}

int limits_prepare(struct limits_state *st, const struct policy_limits *l)
{
	*st = (struct limits_state){ .cgroup_fd = -1, .use_rlimits = true };

	if ((l->memory_bytes || l->processes) && cgroup_try(st, l) == 0) {
		st->use_rlimits = false;
		log_info("limits: cgroup v2 %s (memory, processes); rlimits for "
			 "cpu, open files, file size", st->cgroup_path);
		return 0;
	}
	log_info("limits: rlimits (no delegated cgroup v2 with the memory and "
		 "pids controllers): memory per process, processes per uid");
	return 0;
}

static int set_rlimit(int resource, unsigned long long v, const char *what)
{
	struct rlimit rl = { .rlim_cur = v, .rlim_max = v };

	if (setrlimit(resource, &rl) < 0) {
		log_error_errno(errno, "cannot limit %s", what);
		return -errno;
	}
	return 0;
}

int limits_apply_rlimits(const struct policy_limits *l, bool with_cgroup)
{
	int r = set_rlimit(RLIMIT_CORE, 0, "core dumps");

	if (r == 0 && l->memory_bytes && !with_cgroup)
		r = set_rlimit(RLIMIT_DATA, l->memory_bytes, "memory");
	if (r == 0 && l->processes && !with_cgroup)
		r = set_rlimit(RLIMIT_NPROC, l->processes, "processes");
	if (r == 0 && l->cpu_seconds)
		r = set_rlimit(RLIMIT_CPU, l->cpu_seconds, "CPU time");
	if (r == 0 && l->open_files)
		r = set_rlimit(RLIMIT_NOFILE, l->open_files, "open files");
	if (r == 0 && l->file_size_bytes)
		r = set_rlimit(RLIMIT_FSIZE, l->file_size_bytes, "file size");
	return r;
}

void limits_cleanup(struct limits_state *st)
{
	if (st->cgroup_path) {
		_cleanup_free_ char *kill = xasprintf("%s/cgroup.kill",
						      st->cgroup_path);

		(void)write_file(kill, "1");
		for (int i = 0; i < 100 && rmdir(st->cgroup_path) < 0 &&
				errno == EBUSY; i++)
			usleep(10000);
		free(st->cgroup_path);
		st->cgroup_path = NULL;
	}
	if (st->cgroup_fd >= 0)
		close(st->cgroup_fd);
	st->cgroup_fd = -1;
}
