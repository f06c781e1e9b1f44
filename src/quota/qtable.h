/*
 * qtable -- the quota counters every process of one host shares: a table of
 * slots in a file mapped MAP_SHARED (STORE/quota.tab).
 *
 * Why not LMDB: a reservation is taken on every accepted recipient, by every
 * policy worker and the milter; an LMDB write transaction per recipient would
 * serialise them all on the writer lock and its msync.  A slot here is
 * changed in memory under its own lock, in well under a microsecond.
 *
 * Durability: a process that dies loses nothing (the pages belong to the
 * file, not to the process); the master msync()s the table every few
 * seconds and when it stops, so an operating-system crash or power loss
 * loses at most that interval of counts.  Nothing is lost on a restart.
 *
 * Slots are found by key ("a:ACCOUNT", "d:DOMAIN", "h:" for the host) with
 * open addressing; they are never freed (an account deleted keeps its slot
 * until the table is rebuilt: delete quota.tab while outpostd is stopped).
 * Each slot has a process-shared robust mutex: a process killed while it
 * holds one does not block the others.  The master re-initialises the locks
 * lazily after its start (a generation number in the header), so a lock
 * left "held" by a previous boot is never waited for.
 */
#ifndef OUTPOST_QTABLE_H
#define OUTPOST_QTABLE_H

#include <pthread.h>
#include <stdint.h>

#include "quota/window.h"

#define QSLOT_KEY_MAX 136
#define QRES_BUCKETS 16 /* reservations live at most 15 minutes */
#define QTXN_MAX 16384	/* transactions in flight at once, the whole host */
#define QTXN_ID_MAX 96	/* a policy `instance`, a milter transaction id */
#define QTXN_SCOPES 3

/*
 * What a fleet leases: the count limits (the rolling 24 h, the rolling hour,
 * the calendar month: units are recipients) and the rate (units are per mille
 * of the account's rate and burst).
 */
enum qfleet_kind { QF_DAY, QF_HOUR, QF_MONTH, QF_RATE, QF_KINDS };
#define QF_RATE_ALL 1000 /* the whole rate, in per mille */

struct qslot {
	uint64_t keyhash; /* 0: empty; set (release) once the key is written */
	char key[QSLOT_KEY_MAX];
	uint32_t lock_gen; /* == header gen when the mutex below is initialised */
	uint32_t pad;
	pthread_mutex_t mu;
	/* Everything below is read and written under mu. */
	int64_t tat_us;		       /* GCRA theoretical arrival time of the send rate */
	uint64_t tat_share;	       /* per mille of the rate tat_us was reckoned at (0: all) */
	int64_t month;		       /* year * 12 + month (0-based) of month_count */
	uint64_t month_count;	       /* recipients committed in that calendar month (UTC) */
	uint64_t total;		       /* recipients committed since the slot was made */
	uint32_t res[QRES_BUCKETS];    /* recipients reserved, by minute of reservation */
	int64_t res_min[QRES_BUCKETS]; /* the minute (epoch / 60) each bucket holds */
	struct window day;	       /* rolling 24 h, time in seconds */
	struct window hour;	       /* rolling 1 h, time in half-seconds (7200 = 288 * 25) */
	/*
	 * The fleet's leases (cluster/lease.h), for "a:" slots only: one per
	 * count limit and one for the rate (enum qfleet_kind).  This node may let its count of that
	 * limit plus what is reserved grow up to allow.  The decision path writes
	 * limit and ask; the cluster process the rest.
	 */
	struct qfleet {
		int64_t limit;	   /* the limit last checked here (0: none) */
		uint64_t allow;	   /* the allowance Redis granted this node */
		int64_t ms;	   /* when it was granted (epoch ms; 0: never) */
		uint32_t ask;	   /* bumped when the allowance is short or running low */
		uint32_t seen;	   /* ask as the cluster process last handled it */
		uint64_t batch;	   /* the spare units the cluster process asks for at a time */
		uint64_t used;	   /* count + reserved when last published */
		int64_t room;	   /* units of the fleet's limit nobody held, at the last grant */
		int64_t active_ms; /* rate: when the cluster process last saw the count move */
	} fleet[QF_KINDS];
};

/*
 * A transaction in flight: what its recipients reserved, found by its id from
 * any process.  Postfix may send END-OF-MESSAGE on another policy connection
 * than the RCPT requests (a restriction list with other settings has a client
 * of its own), even to another worker: the reservation can't live in one
 * connection.  Requests of one transaction never run at once (one smtpd sends
 * them in turn), so an entry's fields belong to whoever handles its id.
 */
struct qtxn {
	uint64_t keyhash; /* 0: free */
	char id[QTXN_ID_MAX];
	int64_t minute; /* reservation bucket (epoch minute); lapses after QRES_BUCKETS - 1 */
	uint32_t n;	/* recipients reserved */
	uint32_t nslots;
	uint32_t slot[QTXN_SCOPES];	  /* slot indexes */
	int64_t interval_us[QTXN_SCOPES]; /* GCRA interval taken per unit, for refunds */
	uint32_t sim;			  /* mailbox simulator recipients: never counted */
	uint32_t sim_complaints;	  /* ... of which complaint@ (an event at EOM) */
};

struct qtable;

/*
 * Open (CREATE: create or rebuild when absent or of another layout; the
 * master does this) the table at PATH with NSLOTS slots.  NULL with a reason
 * in ERR.
 */
struct qtable *qtable_open(const char *path, uint32_t nslots, int create, char *err, size_t errlen);
void qtable_close(struct qtable *t);
/* The master, after its start: every lock is re-initialised before next use. */
void qtable_new_generation(struct qtable *t);
/* msync the table (the master's timer and exit). */
int qtable_sync(struct qtable *t);
uint32_t qtable_slots(const struct qtable *t);

/* The slot for KEY, made when CREATE and absent; NULL if absent or the table is full. */
struct qslot *qtable_find(struct qtable *t, const char *key, int create);
void qslot_lock(struct qtable *t, struct qslot *s);
void qslot_unlock(struct qslot *s);
uint32_t qslot_index(const struct qtable *t, const struct qslot *s);
struct qslot *qslot_at(struct qtable *t, uint32_t index);

/*
 * The transaction ID: found, or (CREATE) made, reusing an entry that lapsed
 * before NOW_MINUTE; NULL when absent or no room.  qtxn_take() copies it
 * into *OUT and frees it: 1, or 0 if there was none.
 */
/*
 * The fleet (cluster/lease.h).  The cluster process says it is connected
 * until UNTIL_MS (epoch ms) and how many nodes it sees; the decision path
 * reads both.  qtable_fleet_ask() queues slot INDEX's lease KIND for the
 * cluster process, which takes the queue with qtable_fleet_asks() (from *POS;
 * -1 when it fell more than QT_ASK_RING behind: look at every slot); each
 * entry is INDEX * QF_KINDS + KIND.
 */
#define QT_ASK_RING 256
void qtable_fleet_set(struct qtable *t, int64_t until_ms, uint32_t nodes);
int qtable_fleet_connected(const struct qtable *t, int64_t now_ms, uint32_t *nodes);
void qtable_fleet_ask(struct qtable *t, uint32_t index, enum qfleet_kind kind);
int qtable_fleet_asks(struct qtable *t, uint32_t *pos, uint32_t *out, int max);

/*
 * HINT (may be NULL) is where the caller keeps the entry's place between
 * calls (0: unknown): an entry still holding ID there is used without a
 * probe; the place found is written back.
 */
struct qtxn *qtxn_get(struct qtable *t, const char *id, int create, int64_t now_minute,
		      uint32_t *hint);
int qtxn_take(struct qtable *t, const char *id, struct qtxn *out, uint32_t *hint);

#endif
