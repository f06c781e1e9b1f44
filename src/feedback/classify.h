/*
 * classify -- what a delivery result means, by reason and not by first digit.
 *
 * A rule table (etc/outpost-bounce.rules, editable) maps an enhanced status
 * code pattern and a regular expression on the diagnostic text to a class;
 * the first rule that matches wins.  Only the address classes (user-unknown,
 * domain-unknown, null-mx, moved) are hard bounces: they suppress the
 * recipient and count in the bounce rate.  Blocks (policy, spam, reputation,
 * authentication) say something about the sender, never about the address.
 *
 * Rule file syntax, one rule a line, '#' starts a comment:
 *     STATUS  CLASS  [REGEX]
 * STATUS is an enhanced status code pattern: "5.1.1", "5.7.*", "4.*.*" or "*";
 * REGEX is the rest of the line, a POSIX extended regular expression matched
 * case-insensitively anywhere in the text (absent: any text).
 * Pure apart from reading the file: classify_text() takes strings only.
 */
#ifndef OUTPOST_CLASSIFY_H
#define OUTPOST_CLASSIFY_H

#include <stddef.h>

enum bounce_class {
	BC_OTHER = 0,
	BC_USER_UNKNOWN,
	BC_DOMAIN_UNKNOWN,
	BC_NULL_MX,
	BC_MOVED,
	BC_MAILBOX_FULL,
	BC_MAILBOX_DISABLED,
	BC_MESSAGE_TOO_BIG,
	BC_POLICY_BLOCK,
	BC_SPAM_BLOCK,
	BC_REPUTATION_BLOCK,
	BC_RATE_LIMITED,
	BC_AUTH_FAILURE,
	BC_COUNT
};

/* What a class means for counting. */
enum bounce_kind {
	BK_HARD,  /* the address is bad: suppress, counts in the bounce rate */
	BK_BLOCK, /* the receiver refused the sender or the message */
	BK_SOFT,  /* transient or about this message only */
};

struct classify_rules;

/* Load rules from FILE; NULL with "file:line: message" in ERR on error. */
struct classify_rules *classify_load(const char *file, char *err, size_t errlen);
/* Parse rules from TEXT (NAME is used in error messages). */
struct classify_rules *classify_parse(const char *name, const char *text, char *err, size_t errlen);
void classify_free(struct classify_rules *rules);

/*
 * Classify a result from its enhanced status code STATUS ("5.1.1"; NULL or ""
 * if unknown) and diagnostic TEXT (may be NULL).  *RULE_LINE_R (if not NULL)
 * gets the line of the rule that matched, 0 when none did (BC_OTHER).
 */
int classify_text(const struct classify_rules *rules, const char *status, const char *text,
		  unsigned *rule_line_r);

const char *classify_name(int cls);
int classify_parse_name(const char *name); /* -1 if unknown */
int classify_kind(int cls);
/* The stats field (store/records.h) a final bounce of class CLS counts in: SF_HARD, SF_BLOCK or
 * SF_SOFT. */
int classify_stats_field(int cls);

#endif
