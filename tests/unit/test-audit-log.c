/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of src/common/audit-log.c, which `airlock audit` uses to
 * check each line of the audit log, print it readably and add it up per
 * host and port.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "common/audit-log.h"
#include "common/util.h"

#define WHY_MAX_BYTES 256
#define LINE_MAX_BYTES 1024

/* Parses text into *r; the caller keeps the object until done with *r. */
static json_t *record_of(const char *text, struct audit_record *r)
{
	char why[WHY_MAX_BYTES];
	json_t *obj = json_loads(text, 0, NULL);

	assert_non_null(obj);
	if (audit_log_parse_record(obj, r, why, sizeof(why)) != 0)
		fail_msg("%s: %s", text, why);
	return obj;
}

static void test_parse_fields(void **state)
{
	struct audit_record r;
	json_t *obj = record_of(
		"{\"time\":\"2026-12-04T07:01:02.123Z\",\"run\":\"r1\","
		"\"event\":\"request\",\"proto\":\"http\",\"host\":\"web.test\","
		"\"port\":8080,\"method\":\"GET\",\"path\":\"/a\","
		"\"status\":200,\"bytes_up\":10,\"bytes_down\":20,"
		"\"duration_ms\":3,\"future_key\":[1,2]}", &r);

	assert_string_equal(r.run, "r1");
	assert_string_equal(r.event, "request");
	assert_string_equal(r.host, "web.test");
	assert_int_equal(r.port, 8080);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.bytes_up, 10);
	assert_int_equal(r.bytes_down, 20);
	assert_int_equal(r.duration_ms, 3);
	assert_null(r.reason);
	assert_null(r.credential);
	json_decref(obj);
}

struct bad_case {
	const char *text;
	const char *why;
};

static void test_parse_refusals(void **state)
{
	static const struct bad_case cases[] = {
		{ "[1]", "not a JSON object" },
		{ "{\"event\":\"deny\"}", "no \"time\"" },
		{ "{\"time\":\"t\"}", "no \"event\"" },
		{ "{\"time\":\"t\",\"event\":1}", "\"event\": expected a string" },
		{ "{\"time\":\"t\",\"event\":\"deny\",\"port\":\"80\"}",
		  "\"port\": expected a whole number from 0 to 65535" },
		{ "{\"time\":\"t\",\"event\":\"deny\",\"port\":65536}",
		  "\"port\": expected a whole number from 0 to 65535" },
		{ "{\"time\":\"t\",\"event\":\"deny\",\"port\":8.5}",
		  "\"port\": expected a whole number from 0 to 65535" },
		{ "{\"time\":\"t\",\"event\":\"close\",\"bytes_up\":-1}",
		  "\"bytes_up\": expected a whole number from 0 to "
		  "9223372036854775807" },
		{ "{\"time\":\"t\",\"event\":\"deny\",\"host\":null}",
		  "\"host\": expected a string" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char why[WHY_MAX_BYTES];
		struct audit_record r;
		json_t *obj = json_loads(cases[i].text, 0, NULL);

		assert_non_null(obj);
		assert_int_equal(audit_log_parse_record(obj, &r, why,
							sizeof(why)),
				 -EINVAL);
		if (!streq(why, cases[i].why))
			fail_msg("case %zu: want '%s', got '%s'", i,
				 cases[i].why, why);
		json_decref(obj);
	}
}

struct format_case {
	const char *text;
	const char *want;
};

static void test_format(void **state)
{
	static const struct format_case cases[] = {
		{ "{\"time\":\"2026-12-04T07:01:02.123Z\",\"event\":\"deny\","
		  "\"proto\":\"http\",\"host\":\"other.test\",\"port\":80,"
		  "\"method\":\"GET\",\"path\":\"/hello\","
		  "\"decision\":\"deny\",\"rule\":\"allowedDomains\","
		  "\"reason\":\"not in the allowed domains\"}",
		  "2026-12-04 07:01:02  deny     http     other.test:80"
		  "             GET /hello  not in the allowed domains  "
		  "rule=allowedDomains" },
		{ "{\"time\":\"2026-12-04T07:01:03.000Z\",\"event\":\"close\","
		  "\"proto\":\"connect\",\"host\":\"web.test\",\"port\":443,"
		  "\"bytes_up\":10,\"bytes_down\":20,\"duration_ms\":5}",
		  "2026-12-04 07:01:03  close    connect  web.test:443"
		  "              up=10  down=20  5ms" },
		{ "{\"time\":\"2026-12-04T07:01:04.000Z\",\"event\":\"allow\","
		  "\"proto\":\"socks5\",\"host\":\"::1\",\"port\":443}",
		  "2026-12-04 07:01:04  allow    socks5   [::1]:443" },
		{ "{\"time\":\"2026-12-04T07:01:05.000Z\",\"event\":\"dns\","
		  "\"proto\":\"dns\",\"host\":\"evil\\u001b[31m.test\\\\\","
		  "\"decision\":\"deny\",\"reason\":\"bell\\u0007\"}",
		  "2026-12-04 07:01:05  dns      dns      evil\\x1b[31m.test\\x5c"
		  "     bell\\x07" },
		{ "{\"time\":\"yesterday\",\"event\":\"deny\"}",
		  "yesterday            deny     -        -" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char line[LINE_MAX_BYTES];
		struct audit_record r;
		json_t *obj = record_of(cases[i].text, &r);

		audit_log_format_record(&r, line, sizeof(line));
		if (!streq(line, cases[i].want))
			fail_msg("case %zu:\nwant '%s'\ngot  '%s'", i,
				 cases[i].want, line);
		json_decref(obj);
	}
}

static void test_format_cut(void **state)
{
	char line[24];
	struct audit_record r;
	json_t *obj = record_of("{\"time\":\"2026-12-04T07:01:02.1Z\","
				"\"event\":\"deny\",\"host\":\"a.test\","
				"\"reason\":\"a long reason\"}", &r);

	memset(line, 'x', sizeof(line));
	audit_log_format_record(&r, line, sizeof(line));
	assert_int_equal(strlen(line), sizeof(line) - 1);
	assert_string_equal(line, "2026-12-04 07:01:02  de");
	audit_log_format_target("host", 80, line, 5);
	assert_string_equal(line, "host");
	json_decref(obj);
}

static void test_tally(void **state)
{
	static const char *const lines[] = {
		"{\"time\":\"t\",\"event\":\"request\",\"host\":\"b.test\","
		"\"port\":80,\"bytes_up\":100,\"bytes_down\":2000}",
		"{\"time\":\"t\",\"event\":\"request\",\"host\":\"b.test\","
		"\"port\":80,\"bytes_up\":1,\"bytes_down\":2}",
		"{\"time\":\"t\",\"event\":\"deny\",\"host\":\"a.test\","
		"\"port\":443,\"decision\":\"deny\"}",
		"{\"time\":\"t\",\"event\":\"allow\",\"host\":\"b.test\","
		"\"port\":443,\"decision\":\"allow\"}",
		"{\"time\":\"t\",\"event\":\"close\",\"host\":\"b.test\","
		"\"port\":443,\"bytes_up\":7,\"bytes_down\":9}",
		"{\"time\":\"t\",\"event\":\"dns\",\"host\":\"b.test\","
		"\"decision\":\"allow\"}",
		"{\"time\":\"t\",\"event\":\"dns\",\"host\":\"a.test\","
		"\"decision\":\"deny\"}",
	};
	static const struct {
		const char *host;
		int64_t port;
		uint64_t count[AUDIT_TALLY_COLUMNS];
	} want[] = {
		{ "a.test", -1, { 0, 0, 1, 0, 0 } },
		{ "a.test", 443, { 0, 0, 1, 0, 0 } },
		{ "b.test", 80, { 0, 2, 0, 101, 2002 } },
		{ "b.test", 443, { 1, 0, 0, 7, 9 } },
	};
	static const uint64_t want_total[] = { 1, 2, 2, 108, 2011 };
	struct audit_tally t = { 0 };

	for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
		struct audit_record r;
		json_t *obj = record_of(lines[i], &r);

		audit_log_tally_record(&t, &r);
		json_decref(obj);
	}

	assert_int_equal(t.len, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		assert_string_equal(t.rows[i].host, want[i].host);
		assert_int_equal(t.rows[i].port, want[i].port);
		assert_memory_equal(t.rows[i].count, want[i].count,
				    sizeof(want[i].count));
	}
	assert_memory_equal(t.total, want_total, sizeof(want_total));
	audit_log_free_tally(&t);
	assert_int_equal(t.len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_cut),
		cmocka_unit_test(test_tally),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
