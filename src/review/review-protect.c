/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The protected names of a run as apply sees them: paths relative to the
 * workspace that apply refuses to write or remove without --force. They
 * are the built-in list (shell startup files, .git/hooks, editor and
 * agent settings) and what the run's own policy.json adds, so that a
 * change the sandbox would have refused in a live run cannot land by way
 * of the review either.
 *
 * Trust position: policy.json lies in the run's folder, which the sandbox
 * cannot write; it is still parsed defensively, and when it cannot be
 * read the built-in list alone applies.
 */
#include "config.h"

#include "review/review.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <string.h>

#include "common/log.h"
#include "common/path.h"
#include "common/util.h"
#include "policy/policy.h"

/* `airlock check` prints a few KiB; a long allowWrite list stays far below. */
#define POLICY_FILE_MAX_BYTES (4u << 20)

/*
 * Adds an entry of policy.json: a relative name as it is, an absolute
 * path only when it lies inside the workspace (as its relative path).
 */
static void protect_add(struct strv *out, const char *entry,
			const char *workspace)
{
	size_t n = strlen(workspace);

	if (entry[0] != '/') {
		if (entry[0])
			strv_push_unique(out, entry);
		return;
	}
	if (path_is_within(entry, workspace) && entry[n] == '/')
		strv_push_unique(out, entry + n + 1);
}

static void protect_add_list(struct strv *out, const json_t *list,
			     const char *workspace)
{
	const json_t *item;
	size_t i;

	json_array_foreach(list, i, item) {
		if (json_is_string(item))
			protect_add(out, json_string_value(item), workspace);
	}
}

/* ---- exported ---- */

void review_protect_load(int run_fd, const char *workspace, struct strv *out)
{
	_cleanup_(json_decrefp) json_t *root = NULL;
	_cleanup_free_ char *text = NULL;
	json_error_t jerr;
	int r;

	for (size_t i = 0; policy_default_protected[i]; i++)
		strv_push_unique(out, policy_default_protected[i]);

	r = review_tree_read_file(run_fd, RUN_POLICY_FILE,
				  POLICY_FILE_MAX_BYTES, &text);
	if (r < 0) {
		log_warn_errno(-r, "cannot read the run's %s; only the "
			       "built-in protected names apply",
			       RUN_POLICY_FILE);
		return;
	}
	root = json_loads(text, 0, &jerr);
	if (!json_is_object(root)) {
		log_warn("the run's %s is not a JSON object; only the "
			 "built-in protected names apply", RUN_POLICY_FILE);
		return;
	}
	protect_add_list(out, json_object_get(json_object_get(root,
					      "filesystem"), "protect"),
			 workspace);
	protect_add_list(out, json_object_get(root, "sources"), workspace);
}

const char *review_protect_match(const struct strv *protect,
				 const struct review_change *c)
{
	for (size_t i = 0; i < protect->len; i++) {
		const char *name = protect->items[i];

		if (review_path_within(c->path, name))
			return name;
		if (review_change_removes(c) &&
		    review_path_within(name, c->path))
			return name;
	}
	return NULL;
}

bool review_path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '\0' ||
					       path[n] == '/');
}
