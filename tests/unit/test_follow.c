/* test_follow -- the rotation-safe log reader on real files. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "feedback/follow.h"
#include "unit.h"

struct got {
	char text[4096];
	int lines;
};

static int
collect(const char *line, size_t len, void *arg)
{
	struct got *g = arg;

	strncat(g->text, line, len);
	strcat(g->text, "|");
	g->lines++;
	return 0;
}

static char *dir;

static int
setup(void **state)
{
	(void)state;
	dir = unit_tmpdir();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unit_rmtree(dir);
	dir = NULL;
	return 0;
}

static char *
path_of(const char *name)
{
	static char buf[2][512];
	static int k;

	k ^= 1;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

static void
append(const char *name, const char *text)
{
	FILE *fp = fopen(path_of(name), "a");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* Read everything there is now; returns what was handed over, "|"-separated. */
static const char *
drain(struct follow *f, struct got *g)
{
	g->text[0] = '\0';
	g->lines = 0;
	while (follow_read(f, 1000, collect, g) > 0)
		;
	return g->text;
}

static void
test_partial_line_waits_for_its_newline(void **state)
{
	struct follow *f;
	struct maillog_pos_rec pos;
	struct got g;
	char what[512];

	(void)state;
	append("log", "one\ntw");
	f = follow_create(path_of("log"));
	follow_resume(f, NULL, what, sizeof(what));
	assert_string_equal(drain(f, &g), "one\n|");
	assert_int_equal(follow_position(f, &pos), 0);
	assert_int_equal(pos.offset, 4);
	append("log", "o\nthree\n");
	assert_string_equal(drain(f, &g), "two\n|three\n|");
	follow_position(f, &pos);
	assert_int_equal(pos.offset, 14);
	assert_int_equal(pos.head_len, 14);
	follow_destroy(f);
}

static void
test_at_most_max_lines(void **state)
{
	struct follow *f;
	struct got g = {"", 0};
	char what[512];

	(void)state;
	append("log", "1\n2\n3\n4\n5\n");
	f = follow_create(path_of("log"));
	follow_resume(f, NULL, what, sizeof(what));
	assert_int_equal(follow_read(f, 2, collect, &g), 2);
	assert_int_equal(follow_read(f, 2, collect, &g), 2);
	assert_int_equal(follow_read(f, 2, collect, &g), 1);
	assert_int_equal(follow_read(f, 2, collect, &g), 0);
	assert_string_equal(g.text, "1\n|2\n|3\n|4\n|5\n|");
	follow_destroy(f);
}

/* Renamed away and replaced: the old file's rest first, then the new one from its start. */
static void
test_rotation(void **state)
{
	struct follow *f;
	struct got g;
	char what[512];
	FILE *old;

	(void)state;
	append("log", "a\n");
	f = follow_create(path_of("log"));
	follow_resume(f, NULL, what, sizeof(what));
	assert_string_equal(drain(f, &g), "a\n|");
	old = fopen(path_of("log"), "a");
	assert_int_equal(rename(path_of("log"), path_of("log.1")), 0);
	fputs("b\nunterminated", old); /* the writer still had the old file open */
	fclose(old);
	append("log", "c\n");
	assert_string_equal(drain(f, &g), "b\n|unterminated|c\n|");
	append("log", "d\n");
	assert_string_equal(drain(f, &g), "d\n|");
	follow_destroy(f);
}

static void
test_truncation_and_rewrite(void **state)
{
	struct follow *f;
	struct maillog_pos_rec pos;
	struct got g;
	char what[512];
	FILE *fp;

	(void)state;
	append("log", "first line\nsecond line\n");
	f = follow_create(path_of("log"));
	follow_resume(f, NULL, what, sizeof(what));
	drain(f, &g);
	follow_position(f, &pos);
	assert_int_equal(truncate(path_of("log"), 0), 0);
	append("log", "x\n");
	assert_string_equal(drain(f, &g), "x\n|");
	/* Rewritten in place, longer than before: the first bytes tell. */
	follow_position(f, &pos);
	fp = fopen(path_of("log"), "r+");
	fputs("y\nmore lines here\n", fp);
	fclose(fp);
	assert_string_equal(drain(f, &g), "y\n|more lines here\n|");
	follow_destroy(f);
}

static void
test_resume(void **state)
{
	struct follow *f;
	struct maillog_pos_rec pos, other;
	struct got g;
	char what[512];

	(void)state;
	append("log", "1\n2\n");
	f = follow_create(path_of("log"));
	follow_resume(f, NULL, what, sizeof(what));
	assert_int_equal(follow_read(f, 1, collect, &g), 1);
	follow_position(f, &pos);
	follow_destroy(f);
	append("log", "3\n");
	/* Same file: on from the stored offset. */
	f = follow_create(path_of("log"));
	follow_resume(f, &pos, what, sizeof(what));
	assert_non_null(strstr(what, "resuming"));
	assert_string_equal(drain(f, &g), "2\n|3\n|");
	follow_destroy(f);
	/* Rotated while stopped: the rest of log.1, then the new log. */
	assert_int_equal(rename(path_of("log"), path_of("log.1")), 0);
	append("log", "4\n");
	f = follow_create(path_of("log"));
	follow_resume(f, &pos, what, sizeof(what));
	assert_non_null(strstr(what, "rotated while stopped"));
	assert_string_equal(drain(f, &g), "2\n|3\n|4\n|");
	follow_position(f, &other);
	follow_destroy(f);
	/* A position of some other file: this one from its start. */
	other.ino ^= 1;
	f = follow_create(path_of("log"));
	follow_resume(f, &other, what, sizeof(what));
	assert_non_null(strstr(what, "from its start"));
	assert_string_equal(drain(f, &g), "4\n|");
	follow_destroy(f);
}

/* Same inode, different first bytes (a new file that reused it): from the start. */
static void
test_resume_rewritten_file(void **state)
{
	struct follow *f;
	struct maillog_pos_rec pos;
	struct got g;
	char what[512];
	FILE *fp;

	(void)state;
	append("log", "aaaa\nbbbb\n");
	f = follow_create(path_of("log"));
	follow_resume(f, NULL, what, sizeof(what));
	drain(f, &g);
	follow_position(f, &pos);
	follow_destroy(f);
	fp = fopen(path_of("log"), "w");
	fputs("cccc\ndddd\neeee\n", fp);
	fclose(fp);
	f = follow_create(path_of("log"));
	follow_resume(f, &pos, what, sizeof(what));
	assert_string_equal(drain(f, &g), "cccc\n|dddd\n|eeee\n|");
	follow_destroy(f);
}

static void
test_missing_file(void **state)
{
	struct follow *f;
	struct maillog_pos_rec pos;
	struct got g;
	char what[512];

	(void)state;
	f = follow_create(path_of("log"));
	follow_resume(f, NULL, what, sizeof(what));
	assert_non_null(strstr(what, "waiting"));
	assert_string_equal(drain(f, &g), "");
	assert_int_equal(follow_position(f, &pos), -1);
	append("log", "late\n");
	assert_string_equal(drain(f, &g), "late\n|");
	follow_destroy(f);
}

/* Lengths of the lines handed over. */
static int
collect_len(const char *line, size_t len, void *arg)
{
	size_t *lens = arg;

	lens[++lens[0]] = len;
	(void)line;
	return 0;
}

static void
test_long_line_is_cut(void **state)
{
	struct follow *f;
	size_t lens[8] = {0};
	char what[512], *big = malloc(40000);

	(void)state;
	memset(big, 'x', 39999);
	big[39999] = '\0';
	append("log", big);
	append("log", "\nnext\n");
	f = follow_create(path_of("log"));
	follow_resume(f, NULL, what, sizeof(what));
	while (follow_read(f, 1000, collect_len, lens) > 0)
		;
	assert_int_equal(lens[0], 2);
	assert_int_equal(lens[1], 16384); /* cut; its rest skipped */
	assert_int_equal(lens[2], 5);	  /* "next\n" */
	follow_destroy(f);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_partial_line_waits_for_its_newline, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_at_most_max_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncation_and_rewrite, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resume_rewritten_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_line_is_cut, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
