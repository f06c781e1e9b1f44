/* apply -- a change record from the fleet's log into the local store; see apply.h. */
#include "config.h"

#include <string.h>

#include "apply.h"
#include "account/account.h"
#include "account/identity.h"
#include "feedback/reputation.h"
#include "store/records.h"
#include "suppress/suppress.h"
#include "util/text.h"

#define SEEN_PREFIX "cluster_seen:"

/* DB_META key "cluster_seen:NODE"; returns its length. */
static size_t
seen_key(char *buf, size_t len, const char *node)
{
	return (size_t)snprintf(buf, len, SEEN_PREFIX "%s", node);
}

int64_t
apply_seen(struct store_txn *txn, const char *node)
{
	char key[128];
	struct store_val v;
	int64_t seq = 0;

	if (store_get(txn, DB_META, key, seen_key(key, sizeof(key), node), &v) != STORE_OK ||
	    v.len != 8)
		return 0;
	for (int i = 0; i < 8; i++)
		seq |= (int64_t)((const uint8_t *)v.data)[i] << (8 * i);
	return seq;
}

static int
seen_put(struct store_txn *txn, const char *node, int64_t seq)
{
	char key[128];
	uint8_t buf[8];

	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t)((uint64_t)seq >> (8 * i));
	return store_put(txn, DB_META, key, seen_key(key, sizeof(key), node), buf, 8);
}

/* Does the put of version (CLOCK, NODE) win over the local version L of its key? */
static int
put_wins(enum store_db db, const struct change_ver *l, int64_t clock, const char *node)
{
	if (l->clock == 0 || change_ver_cmp(clock, node, l->clock, l->node) > 0)
		return 1;
	/* Add wins: the remove that left this tombstone had not seen this add. */
	return db == DB_SUPPRESS && l->deleted &&
	       change_ver_cmp(clock, node, l->seen_clock, l->seen_node) > 0;
}

/* Is the account put OP an auto-creation (worker, first message seen)? */
static int
is_auto_create(const void *val, size_t vlen)
{
	struct account_rec rec;

	return rec_account_decode(val, vlen, &rec) == 0 && strcmp(rec.by, "auto-create") == 0;
}

/*
 * An auto-creation never overrides an account record, whatever the clocks say:
 * a host creating an account on its first message must not undo a pause made
 * elsewhere meanwhile.  1: the put wins, 0: it loses, -1: the clocks decide.
 */
static int
account_rank(struct store_txn *txn, const struct change_op *op)
{
	struct store_val v;
	int in_auto = is_auto_create(op->val, op->vlen);

	if (store_get(txn, DB_ACCOUNT, op->key, op->klen, &v) != STORE_OK)
		return -1;
	if (in_auto)
		return 0;
	return is_auto_create(v.data, v.len) ? 1 : -1;
}

/* Does delete OP of version (CLOCK, NODE) win over the local version L? */
static int
del_wins(enum store_db db, const struct change_ver *l, const struct change_op *op, int64_t clock,
	 const char *node)
{
	if (l->clock != 0 && change_ver_cmp(clock, node, l->clock, l->node) <= 0)
		return 0;
	/* Add wins: the entry here is newer than the one the remover saw. */
	if (db == DB_SUPPRESS && l->clock != 0 && !l->deleted &&
	    change_ver_cmp(l->clock, l->node, op->seen_clock, op->seen_node) > 0)
		return 0;
	return 1;
}

/* Split a DB_SUPPRESS key SCOPE '\0' TARGET. */
static int
suppress_key_split(const struct change_op *op, char *scope, char *target)
{
	const uint8_t *nul = memchr(op->key, 0, op->klen);
	size_t sl, tl;

	if (nul == NULL)
		return -1;
	sl = (size_t)(nul - op->key);
	tl = op->klen - sl - 1;
	if (sl >= ACCOUNT_NAME_MAX || tl >= ADDRESS_MAX || tl == 0)
		return -1;
	memcpy(scope, op->key, sl);
	scope[sl] = '\0';
	memcpy(target, nul + 1, tl);
	target[tl] = '\0';
	return 0;
}

/* A history entry lands on a free key: the same microsecond may be taken by another node's. */
static int
history_put(struct store_txn *txn, const struct change_op *op)
{
	uint8_t key[512];
	struct store_val v;
	uint64_t us = 0;
	size_t nl = op->klen - 8;

	if (op->klen < 9 || op->klen > sizeof(key))
		return STORE_OK;
	memcpy(key, op->key, op->klen);
	for (int i = 0; i < 8; i++)
		us = us << 8 | key[nl + (size_t)i];
	for (int tries = 0; tries < 1000; tries++, us++) {
		for (int i = 0; i < 8; i++)
			key[nl + (size_t)i] = (uint8_t)(us >> (56 - 8 * i));
		int rc = store_get(txn, DB_HISTORY, key, op->klen, &v);
		if (rc == STORE_OK && v.len == op->vlen && memcmp(v.data, op->val, v.len) == 0)
			return STORE_OK; /* there already */
		if (rc == STORE_NOTFOUND)
			return store_put(txn, DB_HISTORY, key, op->klen, op->val, op->vlen);
		if (rc != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

/* An account put; an operator's resume starts a fresh reputation window here too. */
static int
account_put_applied(struct store_txn *txn, const struct change_op *op)
{
	char name[ACCOUNT_NAME_MAX];
	struct account_rec old, rec;
	int had;

	if (op->klen >= sizeof(name) || rec_account_decode(op->val, op->vlen, &rec) < 0)
		return STORE_OK; /* unreadable: not ours to store */
	memcpy(name, op->key, op->klen);
	name[op->klen] = '\0';
	had = account_get(txn, name, &old) == STORE_OK;
	if (store_put(txn, DB_ACCOUNT, op->key, op->klen, op->val, op->vlen) != STORE_OK)
		return STORE_ERR;
	if (had && old.state != AS_ACTIVE && rec.state == AS_ACTIVE &&
	    strncmp(rec.by, "operator:", 9) == 0)
		return reputation_fresh_start(txn, name, rec.since);
	return STORE_OK;
}

/* Write a put through the module that owns the database (its side tables follow). */
static int
apply_put(struct store_txn *txn, enum store_db db, const struct change_op *op)
{
	char scope[ACCOUNT_NAME_MAX], target[ADDRESS_MAX], account[ACCOUNT_NAME_MAX];
	struct suppress_rec rec;

	switch (db) {
	case DB_SUPPRESS:
		if (suppress_key_split(op, scope, target) < 0 ||
		    rec_suppress_decode(op->val, op->vlen, &rec) < 0)
			return STORE_OK;
		return suppress_put(txn, scope, target, &rec);
	case DB_IDENTITY:
		if (op->vlen == 0 || op->vlen >= sizeof(account))
			return STORE_OK;
		memcpy(account, op->val, op->vlen);
		account[op->vlen] = '\0';
		return identity_map(txn, (const char *)op->key, op->klen, account);
	case DB_HISTORY:
		return history_put(txn, op);
	case DB_ACCOUNT:
		return account_put_applied(txn, op);
	default:
		return store_put(txn, db, op->key, op->klen, op->val, op->vlen);
	}
}

static int
apply_del(struct store_txn *txn, enum store_db db, const struct change_op *op)
{
	int rc;

	if (db == DB_IDENTITY)
		rc = identity_unmap(txn, (const char *)op->key, op->klen);
	else
		rc = store_del(txn, db, op->key, op->klen);
	return rc == STORE_NOTFOUND ? STORE_OK : rc;
}

/* One operation, if it wins; then the key's version. */
static int
apply_op(struct store_txn *txn, const struct change *c, const struct change_op *op,
	 struct apply_stats *stats)
{
	enum store_db db = change_db_of(op->db);
	struct change_ver l, v = {.clock = c->clock};
	int rc, rank = op->op == 'P' && db == DB_ACCOUNT ? account_rank(txn, op) : -1;

	if ((rc = change_ver_get(txn, db, op->key, op->klen, &l)) != STORE_OK)
		return rc;
	if (rank == 0 || (rank < 0 && (op->op == 'P' ? !put_wins(db, &l, c->clock, c->node)
						     : !del_wins(db, &l, op, c->clock, c->node)))) {
		if (l.clock != c->clock || strcmp(l.node, c->node) != 0)
			stats->lost++; /* else: this very change is here already */
		return STORE_OK;
	}
	rc = op->op == 'P' ? apply_put(txn, db, op) : apply_del(txn, db, op);
	if (rc != STORE_OK)
		return rc;
	text_copy(v.node, sizeof(v.node), c->node);
	if (op->op == 'D') {
		v.deleted = 1;
		v.seen_clock = op->seen_clock;
		text_copy(v.seen_node, sizeof(v.seen_node), op->seen_node);
	}
	stats->ops++;
	return change_ver_put(txn, db, op->key, op->klen, &v);
}

int
apply_change(struct store_txn *txn, const struct change *c, struct apply_stats *stats)
{
	int rc;

	if (c->seq <= apply_seen(txn, c->node)) {
		stats->duplicates++;
		return STORE_OK;
	}
	for (uint32_t i = 0; i < c->nops; i++)
		if ((rc = apply_op(txn, c, &c->ops[i], stats)) != STORE_OK)
			return rc;
	stats->records++;
	if ((rc = seen_put(txn, c->node, c->seq)) != STORE_OK)
		return rc;
	return change_clock_witness(txn, c->clock);
}

int
apply_snapshot_change(struct store_txn *txn, const struct change *c, struct apply_stats *stats)
{
	int rc;

	for (uint32_t i = 0; i < c->nops; i++)
		if ((rc = apply_op(txn, c, &c->ops[i], stats)) != STORE_OK)
			return rc;
	stats->records++;
	return change_clock_witness(txn, c->clock);
}

int
apply_seen_raise(struct store_txn *txn, const char *node, int64_t seq)
{
	return seq > apply_seen(txn, node) ? seen_put(txn, node, seq) : STORE_OK;
}
