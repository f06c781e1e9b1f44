/* attribute -- tie a bounce or complaint report to its account; see attribute.h. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attribute.h"
#include "account/account.h"
#include "account/identity.h"
#include "suppress/suppress.h"
#include "util/siphash.h"
#include "util/text.h"

/* NAME is an existing account: copy it into A. */
static int
take_account(struct store_txn *txn, const char *name, struct attribution *a, const char *how)
{
	struct account_rec rec;
	int rc;

	if (name == NULL || name[0] == '\0' || strlen(name) >= sizeof(a->account))
		return STORE_NOTFOUND;
	if ((rc = account_get(txn, name, &rec)) != STORE_OK)
		return rc;
	text_copy(a->account, sizeof(a->account), name);
	a->how = how;
	return STORE_OK;
}

struct hash_find {
	const uint8_t *key;
	uint64_t want;
	char *account;
	size_t len;
	int found;
};

static int
hash_one(const char *name, const struct account_rec *rec, void *arg)
{
	struct hash_find *h = arg;

	if (siphash24(h->key, name, strlen(name)) != h->want)
		return 0;
	text_copy(h->account, h->len, name);
	h->found = 1;
	return 1;
}

/* Split template TMPL at its first %a or %h: the literal text before and after it. */
static int
template_split(const char *tmpl, const char **tok, size_t *pre, size_t *post)
{
	const char *p = strstr(tmpl, "%a"), *h = strstr(tmpl, "%h");

	if (p == NULL || (h && h < p))
		p = h;
	if (p == NULL)
		return -1;
	*tok = p;
	*pre = (size_t)(p - tmpl);
	*post = strlen(p + 2);
	return 0;
}

int
attribute_feedback_id(struct store_txn *txn, const char *tmpl, const char *value,
		      const uint8_t *key, char *account, size_t len)
{
	const char *tok;
	size_t pre, post, vl = strlen(value), ml, i;
	char mid[ACCOUNT_NAME_MAX];
	struct hash_find h = {key, 0, account, len, 0};
	struct account_rec rec;
	int rc;

	if (template_split(tmpl, &tok, &pre, &post) < 0 || vl < pre + post + 1 ||
	    strncmp(value, tmpl, pre) != 0 || strcmp(value + vl - post, tok + 2) != 0 ||
	    (ml = vl - pre - post) >= sizeof(mid))
		return STORE_NOTFOUND;
	memcpy(mid, value + pre, ml);
	mid[ml] = '\0';
	for (i = 0; i < ml && isxdigit((unsigned char)mid[i]); i++)
		;
	/* Either form is tried: the template may have changed since the message left. */
	if (ml == 16 && i == 16 && key) {
		h.want = (uint64_t)strtoull(mid, NULL, 16);
		if (account_scan(txn, hash_one, &h) == STORE_ERR)
			return STORE_ERR;
		if (h.found)
			return STORE_OK;
	}
	if ((rc = account_get(txn, mid, &rec)) != STORE_OK)
		return rc;
	text_copy(account, len, mid);
	return STORE_OK;
}

/* The account the front door recorded for queue id QID. */
static int
by_queue_id(struct store_txn *txn, const char *qid, struct attribution *a, const char *how)
{
	struct message_rec m;
	struct store_val v;
	int rc;

	if (qid == NULL || qid[0] == '\0')
		return STORE_NOTFOUND;
	if ((rc = store_get(txn, DB_MESSAGE, qid, strlen(qid), &v)) != STORE_OK)
		return rc;
	if (rec_message_decode(v.data, v.len, &m) < 0 || m.account[0] == '\0')
		return STORE_NOTFOUND;
	if (a->account[0] && strcmp(a->account, m.account) != 0)
		return STORE_NOTFOUND; /* another account's message: not ours to use */
	text_copy(a->queue_id, sizeof(a->queue_id), qid);
	return a->account[0] ? STORE_OK : take_account(txn, m.account, a, how);
}

/* A Postfix-made Message-ID: <YYYYMMDDhhmmss.QID@host> or <QID@host>. */
static int
by_message_id(struct store_txn *txn, const char *msgid, struct attribution *a)
{
	char local[128];
	const char *s = msgid, *at, *dot;
	int rc;

	while (*s == '<' || *s == ' ')
		s++;
	if ((at = strchr(s, '@')) == NULL || (size_t)(at - s) >= sizeof(local))
		return STORE_NOTFOUND;
	memcpy(local, s, (size_t)(at - s));
	local[at - s] = '\0';
	if ((dot = strrchr(local, '.')) != NULL &&
	    (rc = by_queue_id(txn, dot + 1, a, "message-id")) != STORE_NOTFOUND)
		return rc;
	return by_queue_id(txn, local, a, "message-id");
}

/* Plain VERP: the owner address is a sender the identity mappings may know. */
static int
by_owner(struct store_txn *txn, const struct conf *conf, const char *owner, struct attribution *a)
{
	struct identity_in in = {"", owner, ""};
	struct identity_out out;

	if (owner == NULL || owner[0] == '\0')
		return STORE_NOTFOUND;
	if (identity_resolve(txn, conf, &in, &out) != STORE_OK)
		return STORE_ERR;
	return out.how == IDH_MAPPING ? take_account(txn, out.account, a, "verp") : STORE_NOTFOUND;
}

int
attribute_report(struct store_txn *txn, const struct conf *conf, const struct attribute_in *in,
		 struct attribution *a)
{
	const char *fbid = in->orig ? in->orig->feedback_id : "";
	char acct[ACCOUNT_NAME_MAX];
	int rc = STORE_NOTFOUND;

	memset(a, 0, sizeof(*a));
	if (in->verp_rcpt && in->verp_rcpt[0] &&
	    suppress_normalise(in->verp_rcpt, a->recipient, sizeof(a->recipient)) < 0)
		a->recipient[0] = '\0';
	if (in->verp_account && in->verp_account[0])
		rc = take_account(txn, in->verp_account, a, "verp");
	if (rc == STORE_NOTFOUND && in->verp_owner)
		rc = by_owner(txn, conf, in->verp_owner, a);
	if (rc == STORE_NOTFOUND && fbid[0] && conf->milter.feedback_id[0] &&
	    (rc = attribute_feedback_id(txn, conf->milter.feedback_id, fbid, in->feedback_key, acct,
					sizeof(acct))) == STORE_OK)
		rc = take_account(txn, acct, a, "feedback-id");
	if (rc == STORE_NOTFOUND)
		rc = by_queue_id(txn, in->queue_id, a, "queue-id");
	if (rc == STORE_NOTFOUND && in->orig && in->orig->message_id[0])
		rc = by_message_id(txn, in->orig->message_id, a);
	if (rc != STORE_OK)
		return rc;
	/* Attributed otherwise: is the queue id in the report ours, of this account? */
	if (a->queue_id[0] == '\0' && by_queue_id(txn, in->queue_id, a, a->how) == STORE_ERR)
		return STORE_ERR;
	return STORE_OK;
}
