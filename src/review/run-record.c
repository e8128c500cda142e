/* SPDX-License-Identifier: Apache-2.0 */
/*
 * run.json, the record of one run, read and written with jansson. The
 * supervisor writes it with the caller's rights into the run's folder,
 * which the sandbox cannot reach; the review commands read it back. The
 * record is still checked key by key, because a broken or hand-edited file
 * must give a clear message rather than a crash or a wrong workspace.
 */
#include "config.h"

#include "review/run-record.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "review/review.h"

/* A command line of ARG_MAX (2 MiB) escaped for JSON fits with room. */
#define RUN_RECORD_MAX_BYTES (8u << 20)
#define NS_PER_SEC INT64_C(1000000000)
#define NS_PER_MS INT64_C(1000000)

/* ---- the keys of a record ---- */

enum record_key_type {
	KEY_STRING,   /* char * */
	KEY_WHOLE,    /* int64_t, 0 or more */
	KEY_WHOLE_U,  /* uint64_t, 0 or more */
	KEY_STATUS,   /* int, 0 to 255 */
	KEY_ARGV,     /* struct strv of at least one string */
};

static const struct record_key {
	const char *name;
	enum record_key_type type;
	size_t offset; /* in struct run_record */
	bool required;
} record_keys[] = {
#define KEY(k, t, req) { #k, t, offsetof(struct run_record, k), req }
	KEY(id, KEY_STRING, true),
	KEY(argv, KEY_ARGV, true),
	KEY(workspace, KEY_STRING, true),
	KEY(workspace_dev, KEY_WHOLE_U, true),
	KEY(workspace_ino, KEY_WHOLE_U, true),
	KEY(mode, KEY_STRING, true),
	KEY(started, KEY_STRING, true),
	KEY(started_ns, KEY_WHOLE, true),
	KEY(pid, KEY_WHOLE, true),
	KEY(finished, KEY_STRING, false),
	KEY(status, KEY_STATUS, false),
	KEY(applied, KEY_STRING, false),
	KEY(discarded, KEY_STRING, false),
#undef KEY
};

/* The members are reached through the table's offsets, without casts. */
static void *record_member(struct run_record *r, const struct record_key *k)
{
	return (char *)r + k->offset;
}

static const void *record_member_const(const struct run_record *r,
				       const struct record_key *k)
{
	return (const char *)r + k->offset;
}

/* ---- writing ---- */

/*
 * An argument as a JSON string. jansson takes only UTF-8, and a command
 * line may hold any bytes; the record's argv is only ever shown, so when
 * an argument is not UTF-8 its bytes above 0x7f are written as '?'.
 */
static json_t *record_arg_new(const char *arg)
{
	_cleanup_free_ char *ascii = NULL;
	json_t *v = json_string(arg);

	if (v)
		return v;
	ascii = xstrdup(arg);
	for (char *p = ascii; *p; p++)
		if ((unsigned char)*p > 0x7f)
			*p = '?';
	return json_string(ascii);
}

/* The value of key k of r, or NULL when r leaves it out. */
static json_t *record_value_new(const struct run_record *r,
				const struct record_key *k)
{
	const void *m = record_member_const(r, k);
	const struct strv *argv;
	const char *s;
	json_t *list;
	int64_t n;
	uint64_t u;
	int status;

	switch (k->type) {
	case KEY_STRING:
		memcpy(&s, m, sizeof(s));
		return s ? json_string(s) : NULL;
	case KEY_WHOLE:
		memcpy(&n, m, sizeof(n));
		return json_integer(n);
	case KEY_WHOLE_U:
		memcpy(&u, m, sizeof(u));
		return json_integer((json_int_t)u);
	case KEY_STATUS:
		memcpy(&status, m, sizeof(status));
		return status >= 0 ? json_integer(status) : NULL;
	case KEY_ARGV:
		argv = m;
		list = json_array();
		for (size_t i = 0; i < argv->len; i++)
			json_array_append_new(list,
					      record_arg_new(argv->items[i]));
		return list;
	}
	return NULL;
}

/*
 * The record as JSON text with a final newline, or NULL when a string
 * other than an argument is not valid UTF-8. Caller frees.
 */
static char *record_dump(const struct run_record *r)
{
	_cleanup_(json_decrefp) json_t *obj = json_object();
	_cleanup_free_ char *text = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(record_keys); i++) {
		const struct record_key *k = &record_keys[i];
		json_t *v = record_value_new(r, k);
		const char *s = NULL;

		if (k->type == KEY_STRING)
			memcpy(&s, record_member_const(r, k), sizeof(s));
		if (!v && s)
			return NULL;
		if (v)
			json_object_set_new(obj, k->name, v);
	}
	text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text)
		return NULL;
	return xasprintf("%s\n", text);
}

/* ---- reading ---- */

static int record_invalid(const char *what, const char *key)
{
	log_error("%s: \"%s\" %s", RUN_RECORD_FILE, key, what);
	return -EINVAL;
}

static int record_take_whole(const struct record_key *k, const json_t *v,
			     void *m)
{
	json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
	uint64_t u = (uint64_t)n;
	int64_t whole = n;
	int status = (int)n;

	if (n < 0 || (k->type == KEY_STATUS && n > 255))
		return record_invalid(k->type == KEY_STATUS ?
				      "must be a whole number from 0 to 255" :
				      "must be a whole number", k->name);
	if (k->type == KEY_WHOLE_U)
		memcpy(m, &u, sizeof(u));
	else if (k->type == KEY_WHOLE)
		memcpy(m, &whole, sizeof(whole));
	else
		memcpy(m, &status, sizeof(status));
	return 0;
}

static int record_take(const struct record_key *k, const json_t *v,
		       struct run_record *r)
{
	void *m = record_member(r, k);
	struct strv *argv = m;
	char *s;
	size_t i;
	json_t *item;

	switch (k->type) {
	case KEY_STRING:
		if (!json_is_string(v))
			return record_invalid("must be a string", k->name);
		s = xstrdup(json_string_value(v));
		memcpy(m, &s, sizeof(s));
		return 0;
	case KEY_ARGV:
		if (!json_is_array(v) || json_array_size(v) == 0)
			return record_invalid("must be a list of strings",
					      k->name);
		json_array_foreach(v, i, item) {
			if (!json_is_string(item))
				return record_invalid("must be a list of "
						      "strings", k->name);
			strv_push(argv, json_string_value(item));
		}
		return 0;
	default:
		return record_take_whole(k, v, m);
	}
}

static int record_parse(const char *text, struct run_record *r)
{
	_cleanup_(json_decrefp) json_t *obj = NULL;
	json_error_t jerr;
	int ret;

	obj = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj) {
		log_error("%s:%d:%d: %s", RUN_RECORD_FILE, jerr.line,
			  jerr.column, jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(obj)) {
		log_error("%s: not a JSON object", RUN_RECORD_FILE);
		return -EINVAL;
	}

	for (size_t i = 0; i < ARRAY_SIZE(record_keys); i++) {
		const struct record_key *k = &record_keys[i];
		json_t *v = json_object_get(obj, k->name);

		if (!v && k->required)
			return record_invalid("is missing", k->name);
		if (v && (ret = record_take(k, v, r)) < 0)
			return ret;
	}
	if (r->workspace[0] != '/')
		return record_invalid("must be an absolute path", "workspace");
	return 0;
}

static int record_load_text(int dir_fd, char **out)
{
	int r = review_tree_read_file(dir_fd, RUN_RECORD_FILE,
				      RUN_RECORD_MAX_BYTES, out);

	if (r == -EINVAL)
		log_error("%s: not a regular file", RUN_RECORD_FILE);
	else if (r == -EFBIG)
		log_error("%s: larger than %u bytes", RUN_RECORD_FILE,
			  RUN_RECORD_MAX_BYTES);
	return r == -EFBIG ? -EINVAL : r;
}

/* ---- exported ---- */

int run_record_write(int dir_fd, const struct run_record *r)
{
	_cleanup_free_ char *text = record_dump(r);
	int ret;

	if (!text) {
		log_error("cannot write %s: a string is not valid UTF-8",
			  RUN_RECORD_FILE);
		return -EINVAL;
	}
	/*
	 * Not fsync'd: a record lost to a crash of the machine costs only
	 * its own history, while a run pays for every fsync in start time.
	 */
	ret = review_tree_write_atomic(dir_fd, RUN_RECORD_FILE, text, false);
	if (ret < 0)
		log_error_errno(-ret, "cannot write %s", RUN_RECORD_FILE);
	return ret;
}

int run_record_read(int dir_fd, struct run_record *r)
{
	_cleanup_free_ char *text = NULL;
	int ret;

	*r = (struct run_record){ .status = -1 };
	ret = record_load_text(dir_fd, &text);
	if (ret == 0)
		ret = record_parse(text, r);
	if (ret < 0)
		run_record_free(r);
	return ret;
}

void run_record_free(struct run_record *r)
{
	free(r->id);
	strv_clear(&r->argv);
	free(r->workspace);
	free(r->mode);
	free(r->started);
	free(r->finished);
	free(r->applied);
	free(r->discarded);
	*r = (struct run_record){ .status = -1 };
}

int64_t run_time_now(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	char date[RUN_TIME_TEXT_MAX_BYTES];

	clock_gettime(CLOCK_REALTIME, &ts);
	if (!gmtime_r(&ts.tv_sec, &tm) ||
	    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		date[0] = '\0';
	snprintf(buf, size, "%s.%03dZ", date, (int)(ts.tv_nsec / NS_PER_MS));
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}
