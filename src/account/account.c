/* account -- states, history and settings of sending accounts; see account.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "account/identity.h"
#include "util/text.h"
#include "util/xalloc.h"

/* A percentage, plain number in [0, 100] ("0.1" is 0.1 %). */
static int
check_percent(const char *value, char *err, size_t errlen)
{
	char *end;
	double v = strtod(value, &end);

	if (end == value || *end || !(v >= 0 && v <= 100)) {
		snprintf(err, errlen, "'%s' is not a percentage from 0 to 100 (plain number)",
			 value);
		return -1;
	}
	return 0;
}

/* A count of recipients, at least 1. */
static int
check_count(const char *value, char *err, size_t errlen)
{
	char *end;
	long long v = strtoll(value, &end, 10);

	if (end == value || *end || v < 1 || v > 100000000) {
		snprintf(err, errlen, "'%s' is not a whole number from 1 to 100000000", value);
		return -1;
	}
	return 0;
}

/* A rate, "50/s", "600/m", "1000/h", or none. */
static int
check_rate(const char *value, char *err, size_t errlen)
{
	int64_t n, per;

	if (text_rate_parse(value, &n, &per) == 0)
		return 0;
	snprintf(err, errlen, "'%s' is not a rate (e.g. 50/s, 600/m, 1000/h, none)", value);
	return -1;
}

/* A quota: a number of recipients, or none (0 too). */
static int
check_quota(const char *value, char *err, size_t errlen)
{
	int64_t n;

	if (text_count_parse(value, &n) == 0)
		return 0;
	snprintf(err, errlen, "'%s' is not a number of recipients (or none)", value);
	return -1;
}

const struct account_setting account_settings[] = {
    {"mode", "enforce|monitor|default",
     "monitor: every check runs and is logged as would_refuse, the reply is DUNNO", NULL},
    {"auto-enforce", "on|off", "off: rates are computed but the state never changes by itself",
     NULL},
    {"note", NULL, "free text for operators", NULL},
    {"min-volume", NULL, "eligible recipients in the window before rates are judged", check_count},
    {"bounce-review", NULL, "bounce rate (percent) that puts the account under review",
     check_percent},
    {"bounce-pause", NULL, "bounce rate (percent) that pauses the account", check_percent},
    {"complaint-review", NULL, "complaint rate (percent) that puts the account under review",
     check_percent},
    {"complaint-pause", NULL, "complaint rate (percent) that pauses the account", check_percent},
    {"max-rate", NULL, "maximum send rate in recipients: N/s, N/m, N/h, or none", check_rate},
    {"max-rate-burst", NULL, "recipients sent at once after a quiet spell (0: one second's worth)",
     check_quota},
    {"daily-quota", NULL, "recipients in any 24 hours, or none", check_quota},
    {"hourly-quota", NULL, "recipients in any hour, or none", check_quota},
    {"monthly-quota", NULL, "recipients in a calendar month (UTC), or none", check_quota},
    {NULL, NULL, NULL, NULL},
};

int
account_name_valid(const char *name)
{
	return text_is_token(name, ACCOUNT_NAME_MAX - 1);
}

int
account_get(struct store_txn *txn, const char *name, struct account_rec *rec)
{
	struct store_val v;
	int rc = store_get(txn, DB_ACCOUNT, name, strlen(name), &v);

	if (rc != STORE_OK)
		return rc;
	if (rec_account_decode(v.data, v.len, rec) < 0)
		return STORE_ERR;
	return STORE_OK;
}

static int
account_put(struct store_txn *txn, const char *name, const struct account_rec *rec)
{
	uint8_t buf[RECORD_MAX];
	size_t n = rec_account_encode(rec, buf, sizeof(buf));

	return n ? store_put(txn, DB_ACCOUNT, name, strlen(name), buf, n) : STORE_ERR;
}

/* Key NAME '\0' be64(time_us); bumped by one microsecond until unused. */
static int
history_add(struct store_txn *txn, const char *name, const struct history_rec *h, int64_t now_us)
{
	uint8_t key[ACCOUNT_NAME_MAX + 9], buf[RECORD_MAX];
	size_t nl = strlen(name), n = rec_history_encode(h, buf, sizeof(buf));
	struct store_val v;

	if (n == 0)
		return STORE_ERR;
	memcpy(key, name, nl + 1);
	for (;; now_us++) {
		for (int i = 0; i < 8; i++)
			key[nl + 1 + i] = (uint8_t)((uint64_t)now_us >> (56 - 8 * i));
		if (store_get(txn, DB_HISTORY, key, nl + 9, &v) == STORE_NOTFOUND)
			break;
	}
	return store_put(txn, DB_HISTORY, key, nl + 9, buf, n);
}

int
account_create(struct store_txn *txn, const char *name, const char *by, const char *reason,
	       int64_t now)
{
	struct account_rec rec = {.state = AS_ACTIVE, .created = now, .since = now};
	struct history_rec h = {.from = AS_ACTIVE, .to = AS_ACTIVE, .when = now};
	int rc;

	text_copy(rec.by, sizeof(rec.by), by);
	text_copy(rec.reason, sizeof(rec.reason), reason);
	text_copy(h.by, sizeof(h.by), by);
	text_copy(h.reason, sizeof(h.reason), reason);
	if ((rc = account_put(txn, name, &rec)) != STORE_OK)
		return rc;
	return history_add(txn, name, &h, now * 1000000);
}

int
account_set_state(struct store_txn *txn, const char *name, int state, const char *by,
		  const char *reason, int64_t now)
{
	struct account_rec rec;
	struct history_rec h = {.to = (uint8_t)state, .when = now};
	int rc;

	if ((rc = account_get(txn, name, &rec)) != STORE_OK)
		return rc;
	h.from = rec.state;
	rec.state = (uint8_t)state;
	rec.since = now;
	text_copy(rec.by, sizeof(rec.by), by);
	text_copy(rec.reason, sizeof(rec.reason), reason);
	text_copy(h.by, sizeof(h.by), by);
	text_copy(h.reason, sizeof(h.reason), reason);
	if ((rc = account_put(txn, name, &rec)) != STORE_OK)
		return rc;
	return history_add(txn, name, &h, now * 1000000);
}

struct key_list {
	char **keys;
	size_t *lens;
	size_t n;
};

static int
collect_key(const struct store_val *k, const struct store_val *v, void *arg)
{
	struct key_list *l = arg;

	l->keys = xrealloc(l->keys, (l->n + 1) * sizeof(*l->keys));
	l->lens = xrealloc(l->lens, (l->n + 1) * sizeof(*l->lens));
	l->keys[l->n] = xmalloc(k->len);
	memcpy(l->keys[l->n], k->data, k->len);
	l->lens[l->n++] = k->len;
	return 0;
}

/* Delete every key of DB that starts with NAME '\0'. */
static int
delete_prefixed(struct store_txn *txn, enum store_db db, const char *name)
{
	struct key_list l = {0};
	int rc = store_scan(txn, db, name, strlen(name) + 1, NULL, 0, collect_key, &l);

	for (size_t i = 0; i < l.n; i++) {
		if (rc == STORE_OK && store_del(txn, db, l.keys[i], l.lens[i]) == STORE_ERR)
			rc = STORE_ERR;
		free(l.keys[i]);
	}
	free(l.keys);
	free(l.lens);
	return rc;
}

int
account_delete(struct store_txn *txn, const char *name)
{
	int rc = store_del(txn, DB_ACCOUNT, name, strlen(name));

	if (rc != STORE_OK)
		return rc;
	if (delete_prefixed(txn, DB_ACCTSET, name) != STORE_OK ||
	    delete_prefixed(txn, DB_HISTORY, name) != STORE_OK ||
	    identity_unmap_account(txn, name) != STORE_OK)
		return STORE_ERR;
	return STORE_OK;
}

struct acct_scan {
	account_scan_fn fn;
	void *arg;
};

static int
account_scan_one(const struct store_val *k, const struct store_val *v, void *arg)
{
	struct acct_scan *s = arg;
	char name[ACCOUNT_NAME_MAX];
	struct account_rec rec;

	if (k->len >= sizeof(name) || rec_account_decode(v->data, v->len, &rec) < 0)
		return 0;
	memcpy(name, k->data, k->len);
	name[k->len] = '\0';
	return s->fn(name, &rec, s->arg);
}

int
account_scan(struct store_txn *txn, account_scan_fn fn, void *arg)
{
	struct acct_scan s = {fn, arg};

	return store_scan(txn, DB_ACCOUNT, "", 0, NULL, 0, account_scan_one, &s);
}

struct hist_scan {
	history_scan_fn fn;
	void *arg;
};

static int
history_scan_one(const struct store_val *k, const struct store_val *v, void *arg)
{
	struct hist_scan *s = arg;
	struct history_rec rec;

	if (rec_history_decode(v->data, v->len, &rec) < 0)
		return 0;
	return s->fn(&rec, s->arg);
}

int
account_history_scan(struct store_txn *txn, const char *name, history_scan_fn fn, void *arg)
{
	struct hist_scan s = {fn, arg};

	return store_scan(txn, DB_HISTORY, name, strlen(name) + 1, NULL, 0, history_scan_one, &s);
}

const struct account_setting *
account_setting_find(const char *name)
{
	for (const struct account_setting *s = account_settings; s->name; s++)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

int
account_setting_check(const char *name, const char *value, char *err, size_t errlen)
{
	const struct account_setting *s = account_setting_find(name);
	char choices[128], *save = NULL;

	if (s == NULL) {
		snprintf(err, errlen, "unknown setting '%s'", name);
		return -1;
	}
	if (strlen(value) >= REASON_MAX) {
		snprintf(err, errlen, "%s: value too long", name);
		return -1;
	}
	if (s->check) {
		char why[200];
		if (s->check(value, why, sizeof(why)) == 0)
			return 0;
		snprintf(err, errlen, "%s: %s", name, why);
		return -1;
	}
	if (s->values == NULL)
		return 0;
	text_copy(choices, sizeof(choices), s->values);
	for (char *t = strtok_r(choices, "|", &save); t; t = strtok_r(NULL, "|", &save))
		if (strcmp(t, value) == 0)
			return 0;
	snprintf(err, errlen, "%s: '%s' is not one of %s", name, value, s->values);
	return -1;
}

static size_t
setting_key(char *key, size_t len, const char *name, const char *setting)
{
	size_t n = strlen(name), s = strlen(setting);

	if (n + 1 + s > len)
		return 0;
	memcpy(key, name, n + 1);
	memcpy(key + n + 1, setting, s);
	return n + 1 + s;
}

int
account_setting_get(struct store_txn *txn, const char *name, const char *key, char *buf, size_t len)
{
	char k[512];
	size_t kl = setting_key(k, sizeof(k), name, key);
	struct store_val v;
	int rc;

	if (kl == 0)
		return STORE_NOTFOUND;
	if ((rc = store_get(txn, DB_ACCTSET, k, kl, &v)) != STORE_OK)
		return rc;
	if (v.len == 0 || v.len > len)
		return STORE_ERR;
	memcpy(buf, v.data, v.len);
	buf[v.len - 1] = '\0';
	return STORE_OK;
}

int
account_setting_put(struct store_txn *txn, const char *name, const char *key, const char *value)
{
	char k[512];
	size_t kl = setting_key(k, sizeof(k), name, key);

	if (kl == 0)
		return STORE_ERR;
	if (value == NULL) {
		int rc = store_del(txn, DB_ACCTSET, k, kl);
		return rc == STORE_NOTFOUND ? STORE_OK : rc;
	}
	return store_put(txn, DB_ACCTSET, k, kl, value, strlen(value) + 1);
}

struct set_scan {
	setting_scan_fn fn;
	void *arg;
	size_t plen;
};

static int
setting_scan_one(const struct store_val *k, const struct store_val *v, void *arg)
{
	struct set_scan *s = arg;
	char key[128];
	size_t kl = k->len - s->plen;

	if (kl >= sizeof(key) || v->len == 0 || ((const char *)v->data)[v->len - 1] != '\0')
		return 0;
	memcpy(key, (const char *)k->data + s->plen, kl);
	key[kl] = '\0';
	return s->fn(key, v->data, s->arg);
}

int
account_setting_scan(struct store_txn *txn, const char *name, setting_scan_fn fn, void *arg)
{
	struct set_scan s = {fn, arg, strlen(name) + 1};

	return store_scan(txn, DB_ACCTSET, name, s.plen, NULL, 0, setting_scan_one, &s);
}
