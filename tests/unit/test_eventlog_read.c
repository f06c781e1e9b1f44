/*
 * test_eventlog_read -- reading the newest events of an event log backwards:
 * lines across chunk boundaries, the file's first line, a line still being
 * written, an oversized line, filters by account, type and time, the early
 * stop before SINCE and the byte bound.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"
#include "feedback/eventlog_read.h"
#include "util/text.h"

#define BASE_MS 1732806187000LL
#define N 3000

static void
put_event(FILE *f, int64_t ms, const char *type, const char *account, const char *reason)
{
	char ts[40];

	fprintf(f,
		"{\"ts\":\"%s\",\"type\":\"%s\",\"account\":\"%s\",\"recipient\":null,"
		"\"queue_id\":null,\"node\":\"mx1\",\"reason\":\"%s\"}\n",
		text_time_format_ms(ms, ts, sizeof(ts)), type, account, reason);
}

/* N events, event I at BASE_MS + I s: acme when I % 3 == 0, else beta; bounce when I is odd.
 * Before them a line stamped late (account "early"); among them garbage and a 100 KiB line;
 * after them a line without its newline yet. */
static char *
write_log(char *dir)
{
	char *path, reason[16];
	FILE *f;

	if (asprintf(&path, "%s/events.jsonl", dir) < 0 || (f = fopen(path, "w")) == NULL)
		fail_msg("cannot write the log");
	put_event(f, BASE_MS + 2995500, "state", "early", "first line");
	for (int i = 0; i < N; i++) {
		snprintf(reason, sizeof(reason), "%d", i);
		put_event(f, BASE_MS + (int64_t)i * 1000, i % 2 ? "bounce" : "delivery",
			  i % 3 ? "beta" : "acme", reason);
		if (i == 1500) {
			char *big = malloc(100 << 10);
			memset(big, 'x', (100 << 10) - 1);
			big[(100 << 10) - 1] = '\0';
			put_event(f, BASE_MS + (int64_t)i * 1000 + 1, "bounce", "acme", big);
			free(big);
			fputs("not json at all\n\n", f);
		}
	}
	fprintf(f, "{\"ts\":\"2099-01-01T00:00:00.000Z\",\"type\":\"bounce\",\"account\":\"acme\"");
	fclose(f);
	return path;
}

/* The events' reasons, as numbers, into OUT; their count. */
static size_t
reasons(json_t *events, long *out, size_t max)
{
	size_t i;

	for (i = 0; i < json_array_size(events) && i < max; i++)
		out[i] =
		    atol(json_string_value(json_object_get(json_array_get(events, i), "reason")));
	return i;
}

static json_t *
recent(const char *path, const struct eventlog_filter *f, int *truncated)
{
	json_t *ev = NULL;

	assert_int_equal(eventlog_recent(path, f, &ev, truncated), 0);
	assert_non_null(ev);
	return ev;
}

static void
newest_last_and_filters(void **state)
{
	char *dir = unit_tmpdir(), *path = write_log(dir);
	struct eventlog_filter f = {.limit = 5, .scan_max = 1 << 30};
	long got[N];
	int tr;
	json_t *ev;

	(void)state;
	ev = recent(path, &f, &tr);
	assert_int_equal(reasons(ev, got, N), 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(got[i],
				 N - 5 + i); /* oldest first, the line in progress left out */
	assert_false(tr);
	json_decref(ev);

	/* Every acme event, across every chunk boundary, once, in order; not the 100 KiB line. */
	f.account = "acme";
	f.limit = 1000;
	ev = recent(path, &f, &tr);
	assert_int_equal(reasons(ev, got, N), 1000);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(got[i], 3 * i);
	json_decref(ev);

	f.types = 1u << event_type_parse("bounce");
	ev = recent(path, &f, &tr);
	assert_int_equal(reasons(ev, got, N), 500);
	assert_int_equal(got[0], 3);
	assert_int_equal(got[499], 2997);
	json_decref(ev);

	f.account = "beta";
	f.types = 1u << event_type_parse("send");
	ev = recent(path, &f, &tr);
	assert_int_equal(json_array_size(ev), 0);
	json_decref(ev);
	free(path);
	unit_rmtree(dir);
}

static void
since_first_line_and_bound(void **state)
{
	char *dir = unit_tmpdir(), *path = write_log(dir);
	struct eventlog_filter f = {.limit = 100, .scan_max = 1 << 30};
	long got[N];
	int tr;
	json_t *ev;

	(void)state;
	f.since_ms = BASE_MS + 2990 * 1000;
	ev = recent(path, &f, &tr);
	assert_int_equal(reasons(ev, got, N), 10);
	assert_int_equal(got[0], 2990);
	assert_false(tr);
	json_decref(ev);

	/* The file's first line is read; with SINCE the reader stops long before it. */
	f.account = "early";
	ev = recent(path, &f, &tr);
	assert_int_equal(json_array_size(ev), 0);
	json_decref(ev);
	f.since_ms = 0;
	ev = recent(path, &f, &tr);
	assert_int_equal(json_array_size(ev), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 0), "reason")),
			    "first line");
	json_decref(ev);

	/* At most SCAN_MAX bytes: fewer events, and it says so. */
	f.account = NULL;
	f.limit = 1000;
	f.scan_max = 10000;
	ev = recent(path, &f, &tr);
	assert_true(json_array_size(ev) > 0 && json_array_size(ev) < 200);
	assert_true(tr);
	json_decref(ev);
	free(path);
	unit_rmtree(dir);
}

static void
missing_and_unterminated(void **state)
{
	char *dir = unit_tmpdir(), *path;
	struct eventlog_filter f = {.limit = 10, .scan_max = 1 << 20};
	int tr;
	json_t *ev;
	FILE *fp;

	(void)state;
	if (asprintf(&path, "%s/none.jsonl", dir) < 0)
		fail_msg("asprintf");
	ev = recent(path, &f, &tr);
	assert_int_equal(json_array_size(ev), 0);
	json_decref(ev);
	fp = fopen(path, "w");
	fputs("{\"ts\":\"2024-11-28T15:03:07.123Z\",\"type\":\"bounce\",\"account\":\"a\"}", fp);
	fclose(fp);
	ev = recent(path, &f, &tr);
	assert_int_equal(json_array_size(ev), 0);
	json_decref(ev);
	assert_int_equal(event_type_parse("delisting"), 9);
	assert_int_equal(event_type_parse("bogus"), -1);
	free(path);
	unit_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(newest_last_and_filters),
	    cmocka_unit_test(since_first_line_and_bound),
	    cmocka_unit_test(missing_and_unterminated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
