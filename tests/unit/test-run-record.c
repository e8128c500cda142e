/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/review/run-record.c: a record written and read back
 * is the same record, and a broken run.json is refused with -EINVAL.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "review/run-record.h"

struct fixture {
	char dir[64];
	int fd;
};

static int fixture_setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/test-run-record.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*state = f;
	return f->fd < 0 ? -1 : 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	unlinkat(f->fd, RUN_RECORD_FILE, 0);
	close(f->fd);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void write_text(int dir_fd, const char *text)
{
	_cleanup_close_ int fd = openat(dir_fd, RUN_RECORD_FILE, O_WRONLY |
					O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, text, strlen(text)), 0);
}

/* The number of entries in the folder besides "." and "..". */
static int count_entries(const char *dir)
{
	_cleanup_free_ char *cmd = xasprintf("ls -A '%s' | wc -l", dir);
	FILE *p = popen(cmd, "r");
	int n = -1;

	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct run_record w = { .status = -1 }, r = { .status = -1 };
	char now[RUN_TIME_TEXT_MAX_BYTES];

	w.id = xstrdup("20261204T070401Z-3f9a2c1b");
	strv_push(&w.argv, "sh");
	strv_push(&w.argv, "-c");
	strv_push(&w.argv, "echo \"hi\"\n\ttab");
	w.workspace = xstrdup("/home/u/project");
	w.workspace_dev = 2049;
	w.workspace_ino = UINT64_C(1) << 40;
	w.mode = xstrdup("overlay");
	w.started_ns = run_time_now(now, sizeof(now));
	w.started = xstrdup(now);
	w.pid = 4242;

	assert_int_equal(run_record_write(f->fd, &w), 0);
	assert_int_equal(run_record_read(f->fd, &r), 0);
	assert_string_equal(r.id, w.id);
	assert_int_equal(r.argv.len, 3);
	assert_string_equal(r.argv.items[2], "echo \"hi\"\n\ttab");
	assert_string_equal(r.workspace, w.workspace);
	assert_int_equal(r.workspace_dev, 2049);
	assert_true(r.workspace_ino == w.workspace_ino);
	assert_string_equal(r.mode, "overlay");
	assert_string_equal(r.started, now);
	assert_true(r.started_ns == w.started_ns);
	assert_int_equal(r.pid, 4242);
	assert_null(r.finished);
	assert_int_equal(r.status, -1);
	assert_null(r.applied);
	assert_null(r.discarded);
	run_record_free(&r);

	/* the end of the run, then its review, rewrite the record */
	w.finished = xstrdup(now);
	w.status = 0;
	w.applied = xstrdup(now);
	assert_int_equal(run_record_write(f->fd, &w), 0);
	assert_int_equal(run_record_read(f->fd, &r), 0);
	assert_string_equal(r.finished, now);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.applied, now);
	assert_null(r.discarded);
	assert_int_equal(count_entries(f->dir), 1); /* no temporary left */
	run_record_free(&r);
	run_record_free(&w);
}

static void test_non_utf8_argument(void **state)
{
	struct fixture *f = *state;
	struct run_record w = { .status = -1 }, r = { .status = -1 };

	w.id = xstrdup("x");
	strv_push(&w.argv, "caf\xe9");
	w.workspace = xstrdup("/w");
	w.mode = xstrdup("live");
	w.started = xstrdup("2026-12-04T07:04:01.123Z");
	assert_int_equal(run_record_write(f->fd, &w), 0);
	assert_int_equal(run_record_read(f->fd, &r), 0);
	assert_string_equal(r.argv.items[0], "caf?");
	run_record_free(&r);

	/* a path is not only shown: it must be written as it is, or not */
	free(w.workspace);
	w.workspace = xstrdup("/w\xff");
	assert_int_equal(run_record_write(f->fd, &w), -EINVAL);
	run_record_free(&w);
}

static void test_missing(void **state)
{
	struct fixture *f = *state;
	struct run_record r;

	unlinkat(f->fd, RUN_RECORD_FILE, 0);
	assert_int_equal(run_record_read(f->fd, &r), -ENOENT);
	assert_null(r.id);
}

static const char *const bad_records[] = {
	"",
	"[1]",
	"{\"id\":\"x\"}",
	/* workspace relative */
	"{\"id\":\"x\",\"argv\":[\"a\"],\"workspace\":\"w\",\"workspace_dev\":1,"
	"\"workspace_ino\":2,\"mode\":\"live\",\"started\":\"s\","
	"\"started_ns\":3,\"pid\":4}",
	/* argv empty */
	"{\"id\":\"x\",\"argv\":[],\"workspace\":\"/w\",\"workspace_dev\":1,"
	"\"workspace_ino\":2,\"mode\":\"live\",\"started\":\"s\","
	"\"started_ns\":3,\"pid\":4}",
	/* status out of range */
	"{\"id\":\"x\",\"argv\":[\"a\"],\"workspace\":\"/w\",\"workspace_dev\":1,"
	"\"workspace_ino\":2,\"mode\":\"live\",\"started\":\"s\","
	"\"started_ns\":3,\"pid\":4,\"status\":256}",
	/* a number as a string */
	"{\"id\":\"x\",\"argv\":[\"a\"],\"workspace\":\"/w\",\"workspace_dev\":"
	"\"1\",\"workspace_ino\":2,\"mode\":\"live\",\"started\":\"s\","
	"\"started_ns\":3,\"pid\":4}",
	/* a duplicate key */
	"{\"id\":\"x\",\"id\":\"y\",\"argv\":[\"a\"],\"workspace\":\"/w\","
	"\"workspace_dev\":1,\"workspace_ino\":2,\"mode\":\"live\","
	"\"started\":\"s\",\"started_ns\":3,\"pid\":4}",
};

static void test_invalid(void **state)
{
	struct fixture *f = *state;
	struct run_record r;

	for (size_t i = 0; i < ARRAY_SIZE(bad_records); i++) {
		write_text(f->fd, bad_records[i]);
		if (run_record_read(f->fd, &r) != -EINVAL)
			fail_msg("accepted: %s", bad_records[i]);
		assert_null(r.id);
		assert_int_equal(r.argv.len, 0);
	}
}

static void test_unknown_keys_ignored(void **state)
{
	struct fixture *f = *state;
	struct run_record r;

	write_text(f->fd, "{\"id\":\"x\",\"argv\":[\"a\"],\"workspace\":\"/w\","
		   "\"workspace_dev\":1,\"workspace_ino\":2,\"mode\":\"tmpfs\","
		   "\"started\":\"s\",\"started_ns\":3,\"pid\":4,"
		   "\"future\":{\"a\":1}}");
	assert_int_equal(run_record_read(f->fd, &r), 0);
	assert_string_equal(r.mode, "tmpfs");
	run_record_free(&r);
}

static void test_time_text(void **state)
{
	char buf[RUN_TIME_TEXT_MAX_BYTES];
	int64_t ns = run_time_now(buf, sizeof(buf));

	assert_true(ns > INT64_C(1700000000) * 1000000000);
	assert_int_equal(strlen(buf), 24);
	assert_int_equal(buf[10], 'T');
	assert_int_equal(buf[19], '.');
	assert_int_equal(buf[23], 'Z');
}

#define TEST(t) cmocka_unit_test_setup_teardown(t, fixture_setup, \
						fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_round_trip),
		TEST(test_non_utf8_argument),
		TEST(test_missing),
		TEST(test_invalid),
		TEST(test_unknown_keys_ignored),
		cmocka_unit_test(test_time_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
