/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The review of an overlay run: the changes its upper layer holds against
 * the real workspace, the runs folder that keeps the runs, and the safe
 * moves that land the changes in the workspace (apply) or drop them
 * (discard). `airlock runs`, `diff`, `apply` and `discard` (cli-review.c)
 * are the only callers; none of this is used after fork.
 */
#ifndef AIRLOCK_REVIEW_H
#define AIRLOCK_REVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common/strv.h"
#include "review/run-record.h"

/* ---- review-tree.c: file system steps that never follow a link ---- */

/* The prefix of apply's temporary names; stale ones are swept. */
#define REVIEW_TEMP_PREFIX ".airlock-apply."

/* Room for a temporary name: a prefix of up to 40 bytes and 16 digits. */
#define REVIEW_TEMP_NAME_MAX_BYTES 64

/*
 * Writes prefix followed by 16 random hexadecimal digits to buf (of
 * REVIEW_TEMP_NAME_MAX_BYTES). Returns 0 or -errno.
 */
int review_tree_temp_name(char *buf, const char *prefix);

/*
 * Opens rel beneath root_fd ("" is root_fd itself) with open's flags,
 * refusing any symlink on the way or at the end and any escape from
 * root_fd. Returns an fd (close-on-exec) or -errno: -ELOOP for a symlink
 * on the way (-ENOTDIR for one at the end when O_DIRECTORY is asked),
 * -ENOENT, -EXDEV for an escape.
 */
int review_tree_open(int root_fd, const char *rel, int flags);

/* review_tree_open of a folder, O_RDONLY. */
int review_tree_open_dir(int root_fd, const char *rel);

/*
 * Appends the names in folder dir_fd (not "." and "..") to *out, sorted
 * bytewise, all read before the caller changes anything. dir_fd stays
 * the caller's. Returns 0 or -errno.
 */
int review_tree_list(int dir_fd, struct strv *out);

/*
 * Removes dir_fd/name and, when it is a folder, everything beneath it,
 * without following any symlink: entries are unlinked by name relative to
 * folders opened with O_NOFOLLOW. A folder that its owner cannot read
 * (overlayfs leaves work/work at mode 000) is opened up with chmod first.
 * Returns 0 (also when name is already gone) or -errno after a log line.
 */
int review_tree_remove(int dir_fd, const char *name);

/*
 * Removes every entry of dir_fd whose name starts with REVIEW_TEMP_PREFIX:
 * what an interrupted apply left. Returns how many, or -errno.
 */
int review_tree_sweep(int dir_fd);

/*
 * Writes text to dir_fd/name atomically: a new file in the same folder is
 * written and renamed over name, so a reader sees the old text or the new,
 * never a mix. With durable, the file and then the folder are fsync'd
 * too, so that the new text also survives a crash of the machine. The
 * file's mode is 0600. Returns 0 or -errno (nothing is logged).
 */
int review_tree_write_atomic(int dir_fd, const char *name, const char *text,
			     bool durable);

/*
 * Reads dir_fd/name, a regular file of at most max_bytes, into a new
 * NUL-terminated buffer the caller frees. Returns 0, -EINVAL when it is
 * not a regular file (a symlink is not followed), -EFBIG when it is
 * larger, or -errno. Logs nothing.
 */
int review_tree_read_file(int dir_fd, const char *name, size_t max_bytes,
			  char **out);

/*
 * The target of the symlink rel beneath root_fd (no symlink followed on
 * the way), as a new string the caller frees, or NULL.
 */
char *review_tree_read_link(int root_fd, const char *rel);

/* ---- review-changes.c: what an upper layer changes ---- */

enum review_status {
	REVIEW_ADDED = 'A',
	REVIEW_MODIFIED = 'M',
	REVIEW_DELETED = 'D',
	REVIEW_TYPE = 'T', /* a file became a symlink, a folder a file... */
};

/*
 * One change against the real workspace. Modes carry the file type and
 * are 0 on the side where the entry is absent; new_mode is what apply
 * would make, without setuid and setgid bits.
 */
struct review_change {
	char *path; /* relative to the workspace; untrusted bytes */
	enum review_status status;
	mode_t old_mode, new_mode;
	off_t old_size, new_size;
	char *old_target, *new_target; /* symlinks only */
	bool content;   /* MODIFIED: the bytes or the link target differ */
	bool suid_dropped; /* the agent set setuid/setgid; apply drops it */
	bool under_opaque; /* in the layer, its absence would mean deletion */
};

/* Changes in walk order: a folder comes before what it holds. */
struct review_changes {
	struct review_change *items;
	size_t len;
	size_t cap;
};

/*
 * Compares the upper layer upper_fd with the real workspace real_fd and
 * appends every difference to *out: whiteouts (character devices 0/0, or
 * empty files marked "overlay.whiteout" in a folder marked opaque "x") are
 * deletions, an opaque folder ("overlay.opaque" "y", user.* or trusted.*)
 * deletes what the real folder holds beyond it, and an entry that only
 * overlayfs copied up, unchanged, is no change at all. Sockets and device
 * files are skipped. Returns 0, or -errno after a log line naming the
 * path. The caller frees *out with review_changes_free, also on failure.
 */
int review_changes_collect(int upper_fd, int real_fd,
			   struct review_changes *out);

void review_changes_free(struct review_changes *c);

/* True when the change leaves a folder at its path. */
bool review_change_makes_dir(const struct review_change *c);

/* True when the change removes what is at its path in the real tree. */
bool review_change_removes(const struct review_change *c);

/*
 * Calls visit for every entry beneath the real folder rel (not rel
 * itself), depth first, with its path relative to real_fd and its lstat.
 * Stops at the first non-zero return of visit and returns it; -errno
 * when the walk fails.
 */
int review_changes_walk_real(int real_fd, const char *rel,
			     int (*visit)(const char *path,
					  const struct stat *st, void *data),
			     void *data);

/* ---- review-protect.c: the paths apply refuses without --force ---- */

/*
 * Fills *out with the protected names of a run, relative to its
 * workspace: the built-in list, then filesystem.protect and the settings
 * files ("sources") of the run's policy.json when they lie in workspace.
 * A policy.json that is missing or unreadable leaves the built-in list,
 * with a warning. The caller clears *out.
 */
void review_protect_load(int run_fd, const char *workspace, struct strv *out);

/*
 * The protected name that the change touches, or NULL: the change's path
 * is a protected name or lies beneath one, or the change removes a folder
 * that holds one.
 */
const char *review_protect_match(const struct strv *protect,
				 const struct review_change *c);

/* True when the relative path equals dir or lies beneath it. */
bool review_path_within(const char *path, const char *dir);

/* ---- review-diff.c: the changes, as people read them ---- */

enum review_diff_format {
	REVIEW_DIFF_LIST,  /* one line per change, a status letter first */
	REVIEW_DIFF_STAT,  /* lines added and removed per file, a total */
	REVIEW_DIFF_PATCH, /* unified diffs */
};

/* The trees a diff reads and where it writes. */
struct review_diff_ctx {
	int upper_fd;
	int real_fd;
	const struct strv *protect; /* marked in the list; may be NULL */
	bool terminal; /* escape control bytes of file contents too */
	int width;     /* columns for --stat; 0 for the default */
};

/*
 * Prints changes on stdout in format. Paths are always escaped; file
 * contents only when ctx->terminal. Text diffs come from /usr/bin/diff
 * (see review-diff.c). Returns 0 or -errno after a log line.
 */
int review_diff_print(const struct review_diff_ctx *ctx,
		      const struct review_changes *changes,
		      enum review_diff_format format);

/* Writes the change's path escaped for a terminal (dst of size bytes). */
void review_diff_clean_path(char *dst, size_t size, const char *path);

/* ---- review-apply.c: landing the changes in the workspace ---- */

/* The file beside run.json where apply keeps its progress. */
#define REVIEW_STATE_FILE "review.json"

struct review_apply_opts {
	int run_fd;        /* the run's folder, for REVIEW_STATE_FILE */
	int upper_fd;
	int real_fd;
	int64_t started_ns;
	const struct strv *paths;   /* only these (and beneath); NULL: all */
	const struct strv *protect;
	bool force;        /* apply protected paths too */
};

/* What apply did or refused; the strings are paths, untrusted bytes. */
struct review_apply_result {
	struct strv conflicts;   /* "path: why", nothing was changed */
	struct strv protected_skipped;
	struct strv unmatched;   /* opts.paths with no change at or beneath */
	size_t n_applied;
	bool complete;           /* every change applied: none is left */
};

/*
 * Applies the changes of opts: first checks every one for conflicts
 * (a target changed in the real tree after the run started, or a folder
 * gone or changed where one is added) and, if there is any, changes
 * nothing and returns -EBUSY with result->conflicts filled. Protected
 * changes are skipped unless opts->force and listed; unknown opts->paths
 * return -ENOENT with result->unmatched filled before anything changes.
 * Then each regular file is written beside its target, fsync'd and
 * renamed over it; symlinks likewise; folders made; deletions done; modes
 * kept without setuid/setgid; owners not copied. Applied entries leave
 * the upper layer. The caller holds the run's lock, and no other apply
 * may work in the same workspace. Returns 0, -EBUSY, -ENOENT or -errno
 * after a log line (some changes may then be applied, each whole). The
 * caller clears *result with review_apply_result_free.
 */
int review_apply(const struct review_apply_opts *opts,
		 const struct review_changes *changes,
		 struct review_apply_result *result);

void review_apply_result_free(struct review_apply_result *r);

/*
 * Sweeps what an interrupted apply left in the workspace: the temporary
 * names in every folder that REVIEW_STATE_FILE lists and in the folders
 * of changes. The caller holds the run's lock. Returns how many entries
 * went, or -errno after a log line.
 */
int review_apply_sweep(int run_fd, int real_fd,
		       const struct review_changes *changes);

/* ---- review-runs.c: the runs folder ---- */

enum review_run_state {
	REVIEW_RUN_ACTIVE,
	REVIEW_RUN_FINISHED,  /* exit N */
	REVIEW_RUN_KILLED,    /* no "finished", lock free */
	REVIEW_RUN_APPLIED,
	REVIEW_RUN_DISCARDED,
};

/* One run's folder and its record. */
struct review_run {
	char *id;     /* the folder's name */
	int dir_fd;
	struct run_record rec;
	enum review_run_state state;
};

struct review_run_list {
	struct review_run *items; /* sorted by id: oldest first */
	size_t len;
	size_t cap;
	size_t n_broken;          /* folders skipped, each after a log line */
};

/*
 * The runs folder of the user: $XDG_STATE_HOME/airlock/runs, else
 * home/.local/state/airlock/runs. NULL when neither is absolute. Caller
 * frees.
 */
char *review_runs_path(const char *home);

/*
 * Reads every run in runs_path into *out. A folder without a readable
 * record is skipped and counted. A missing runs folder is an empty list.
 * Returns 0 or -errno after a log line. Release with
 * review_runs_list_free.
 */
int review_runs_list(const char *runs_path, struct review_run_list *out);

void review_runs_list_free(struct review_run_list *l);

/*
 * The state of a run from its record and its lock. A run whose lock the
 * caller holds itself reads as active: see review_run_reread.
 */
enum review_run_state review_run_state_of(const struct review_run *run);

/*
 * Reads the run's record again, once the caller holds its lock, and sets
 * its state from the record. Returns 0 or -EINVAL after a log line.
 */
int review_run_reread(struct review_run *run);

/*
 * Takes the run's lock for an apply or a discard: LOCK_EX, without
 * waiting. Returns the lock's fd, or -EWOULDBLOCK when the run is active
 * (or another apply holds it), or another -errno.
 */
int review_run_lock(const struct review_run *run);

/*
 * Opens the run's workspace and checks that it is the folder the run
 * started in. Returns an fd, -ENOENT when it is missing, -ESTALE when
 * another folder now has its path, or -errno.
 */
int review_run_open_workspace(const struct run_record *rec);

/*
 * Opens the run's upper layer. Returns an fd or -errno (-ENOENT when the
 * run never had one or it is gone).
 */
int review_run_open_upper(const struct review_run *run);

/*
 * Drops the upper layer and the overlay's work folder of a run, and
 * records "applied" or "discarded" (field) in its run.json with the
 * current time. Returns 0 or -errno after a log line.
 */
int review_run_close(struct review_run *run, bool applied);

/*
 * Removes the run's whole folder. The caller holds its lock. Returns 0
 * or -errno after a log line.
 */
int review_run_remove(const char *runs_path, struct review_run *run);

#endif
