/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A run's folder under airlock's state folder (runs/<ID>/): its record,
 * its lock, its policy and, in overlay mode, the layer that holds what
 * CMD wrote. `airlock run` makes it; `airlock runs`, `diff`, `apply` and
 * `discard` read it (src/review).
 */
#ifndef AIRLOCK_RUN_FOLDER_H
#define AIRLOCK_RUN_FOLDER_H

#include <stdbool.h>

#include "review/run-record.h"

struct policy;

struct run_folder {
	char *path;      /* runs/<ID>, absolute */
	int fd;          /* the folder; -1 when there is none */
	int lock_fd;     /* flock(LOCK_EX) held for the whole run */
	int upper_fd;    /* overlay mode: upper/, else -1 */
	bool recorded;   /* policy.json and run.json written */
	const struct policy *policy; /* borrowed, for the record */
	struct run_record rec;
};

/* What a run's folder is made from. */
struct run_folder_spec {
	const char *id;
	const struct policy *policy;
	char *const *argv;
	const char *mode;    /* "live", "overlay", "tmpfs" or "ro" */
	bool overlay;        /* make upper/ and work/ */
	bool as_root;        /* hand upper/ and work/ to the sandbox's id */
};

/*
 * Makes the folder of a new run in the user's state folder, takes its
 * lock and, in overlay mode, makes its layers. Returns 0, or -errno after
 * logging; then rf holds nothing. Not for use after fork.
 */
int run_folder_create(struct run_folder *rf, const struct run_folder_spec *s);
/*
 * Writes the run's policy and its record (started, not yet finished),
 * once CMD has run for a moment; a command that ends sooner gets both
 * only at the end, from run_folder_finish. A failure is a warning, the
 * run goes on. Safe without a folder.
 */
void run_folder_record(struct run_folder *rf);

/*
 * Records how the run ended (airlock run's exit status), once: a later
 * call changes nothing. Safe without a folder.
 */
void run_folder_end(struct run_folder *rf, int status);
/*
 * Records how the run ended, unless run_folder_end already did, and
 * releases everything rf holds. Safe on a folder that was never created.
 */
void run_folder_finish(struct run_folder *rf, int status);

#endif
