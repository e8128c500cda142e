/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The record of one run, run.json in the run's folder: what ran, where,
 * in which workspace mode, when it started and finished and what became
 * of its changes. The supervisor writes it at the start and the end of a
 * run; `airlock runs`, `diff`, `apply` and `discard` read it and add the
 * outcome of a review.
 */
#ifndef AIRLOCK_RUN_RECORD_H
#define AIRLOCK_RUN_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "common/strv.h"

/* The names inside a run's folder (runs/<ID>/). */
#define RUN_RECORD_FILE "run.json"
#define RUN_LOCK_FILE "lock"          /* flock(LOCK_EX) while the run lasts */
#define RUN_POLICY_FILE "policy.json" /* the effective policy, as `check` */
#define RUN_AUDIT_FILE "audit.jsonl"
#define RUN_UPPER_DIR "upper"         /* overlay mode: the agent's changes */
#define RUN_WORK_DIR "work"           /* overlay mode: overlayfs's own */

/* The runs folder's name inside airlock's state folder (path_state_file). */
#define RUN_STATE_NAME "runs"

/* Room for "2026-12-04T07:04:01.123Z" and its NUL, with some to spare. */
#define RUN_TIME_TEXT_MAX_BYTES 32

/*
 * Every string is owned by the record and may be NULL when absent;
 * status is -1 until the run has finished.
 */
struct run_record {
	char *id;
	struct strv argv;
	char *workspace; /* absolute */
	uint64_t workspace_dev, workspace_ino;
	char *mode;      /* "live", "overlay", "tmpfs" or "ro" */
	char *started;   /* UTC, "YYYY-MM-DDTHH:MM:SS.mmmZ" */
	int64_t started_ns; /* CLOCK_REALTIME */
	int64_t pid;     /* the supervisor's */
	char *finished;
	int status;      /* airlock run's exit status; -1 unknown */
	char *applied;
	char *discarded;
};

/*
 * Writes dir_fd/run.json atomically: a temporary file in the same folder
 * is renamed over it, so a reader sees the old record or the new one,
 * never a mix (not fsync'd: start time matters more than a record that a
 * crash of the machine could lose). Arguments that
 * are not UTF-8 are stored with '?' for their bytes above 0x7f, since argv
 * is only shown; any other string must be UTF-8. Returns 0, -EINVAL for a
 * string that is not, or -errno, each after a log line. Allocates: not
 * for use after fork.
 */
int run_record_write(int dir_fd, const struct run_record *r);

/*
 * Reads dir_fd/run.json into *r, which must be zeroed or freed before.
 * Returns 0; -ENOENT when there is no record; -EINVAL, with a log line
 * naming the file and what is wrong, when it is not a valid record; or
 * another -errno. On failure *r holds nothing. The caller releases *r
 * with run_record_free. Not for use after fork.
 */
int run_record_read(int dir_fd, struct run_record *r);

/* Frees what *r owns and zeroes it (status -1). */
void run_record_free(struct run_record *r);

/*
 * Returns the current CLOCK_REALTIME time in nanoseconds and writes it to
 * buf as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC; size at least
 * RUN_TIME_TEXT_MAX_BYTES). It allocates nothing, but gmtime_r may take
 * glibc's time zone lock: not for use after fork.
 */
int64_t run_time_now(char *buf, size_t size);

#endif
