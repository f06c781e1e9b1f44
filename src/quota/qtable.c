/* qtable -- the shared quota table; see qtable.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qtable.h"
#include "util/log.h"
#include "util/pshared.h"
#include "util/xalloc.h"

#define QT_MAGIC "OUTPOSTQ"
#define QT_VERSION 6
#define QT_HDR_SIZE 4096
#define QT_MAX_PROBE 64

struct qhdr {
	char magic[8];
	uint32_t version;
	uint32_t slot_size; /* sizeof(struct qslot): a build with another layout rebuilds */
	uint32_t nslots;
	uint32_t gen;
	pthread_mutex_t mu;	/* slot creation and lazy lock set-up */
	uint32_t txn_lock_gen;	/* == gen when txn_mu is initialised */
	pthread_mutex_t txn_mu; /* claiming and freeing transaction entries */
	/* The fleet: written by the cluster process, read by the decision path. */
	int64_t fleet_until_ms;		/* connected to Redis until (epoch ms) */
	uint32_t fleet_nodes;		/* nodes seen */
	uint32_t ask_head;		/* asks queued so far (ring position) */
	uint32_t ask_ring[QT_ASK_RING]; /* slot indexes asking for a lease */
};

_Static_assert(sizeof(struct qhdr) <= QT_HDR_SIZE, "the quota table header outgrew its page");

struct qtable {
	int fd;
	size_t size;
	struct qhdr *hdr;
	uint64_t
	    *index; /* slot i's keyhash, dense: a probe touches one cache line, not NSLOTS pages */
	struct qslot *slots;
	struct qtxn *txns;
};

static void
mutex_lock_robust(pthread_mutex_t *mu)
{
	/* A holder that died leaves the slot as it was: counts at worst one step stale. */
	if (pthread_mutex_lock(mu) == EOWNERDEAD)
		pthread_mutex_consistent(mu);
}

static int
header_ok(const struct qhdr *h, uint32_t nslots)
{
	return memcmp(h->magic, QT_MAGIC, 8) == 0 && h->version == QT_VERSION + QTXN_MAX &&
	       h->slot_size == sizeof(struct qslot) && h->nslots == nslots;
}

/* Empty the file and write a fresh header. */
static int
table_build(int fd, size_t size, uint32_t nslots)
{
	struct qhdr h;

	if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)size) < 0)
		return -1;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, QT_MAGIC, 8);
	h.version = QT_VERSION + QTXN_MAX; /* another capacity is another layout */
	h.slot_size = sizeof(struct qslot);
	h.nslots = nslots;
	h.gen = 1;
	pshared_mutex_init(&h.mu);
	return pwrite(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) ? 0 : -1;
}

/*
 * Give the file its blocks now.  The table is written through a shared
 * mapping: a page of a sparse file that the file system has no room for kills
 * the process writing it with SIGBUS, so a full disk would crash every worker
 * at its next request.  Reserving at start turns that into a start-up error.
 * A file system that cannot preallocate keeps the sparse file.
 */
static int
table_reserve(int fd, size_t size)
{
	int rc = posix_fallocate(fd, 0, (off_t)size);

	if (rc == 0 || rc == EOPNOTSUPP || rc == EINVAL)
		return 0;
	errno = rc;
	return -1;
}

struct qtable *
qtable_open(const char *path, uint32_t nslots, int create, char *err, size_t errlen)
{
	size_t size = QT_HDR_SIZE + (size_t)nslots * (sizeof(uint64_t) + sizeof(struct qslot)) +
		      QTXN_MAX * sizeof(struct qtxn);
	struct qtable *t;
	struct qhdr h;
	struct stat sb;
	int fd, prot = PROT_READ | PROT_WRITE;

	if (nslots == 0 || (nslots & (nslots - 1)) != 0) {
		snprintf(err, errlen, "%s: the slot count must be a power of two", path);
		return NULL;
	}
	fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0660);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) < 0 || pread(fd, &h, sizeof(h), 0) < 0)
		goto fail;
	if ((size_t)sb.st_size != size || !header_ok(&h, nslots)) {
		if (!create) {
			snprintf(err, errlen,
				 "%s: not a quota table of %u slots (is outpostd running?)", path,
				 nslots);
			close(fd);
			return NULL;
		}
		if (sb.st_size > 0)
			log_warnx("quota: %s has another layout or size: counters start afresh",
				  path);
		if (table_build(fd, size, nslots) < 0)
			goto fail;
	}
	if (create && table_reserve(fd, size) < 0) {
		snprintf(err, errlen, "%s: cannot reserve %zu MB for the quota table: %s", path,
			 size >> 20, strerror(errno));
		close(fd);
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	t->fd = fd;
	t->size = size;
	t->hdr = mmap(NULL, size, prot, MAP_SHARED, fd, 0);
	if (t->hdr == MAP_FAILED) {
		free(t);
		goto fail;
	}
	t->index = (uint64_t *)((char *)t->hdr + QT_HDR_SIZE);
	t->slots = (struct qslot *)(t->index + nslots);
	t->txns = (struct qtxn *)(t->slots + nslots);
	return t;
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	close(fd);
	return NULL;
}

void
qtable_close(struct qtable *t)
{
	if (t == NULL)
		return;
	munmap(t->hdr, t->size);
	close(t->fd);
	free(t);
}

void
qtable_new_generation(struct qtable *t)
{
	pshared_mutex_init(&t->hdr->mu);
	__atomic_add_fetch(&t->hdr->gen, 1, __ATOMIC_SEQ_CST);
}

int
qtable_sync(struct qtable *t)
{
	return msync(t->hdr, t->size, MS_SYNC);
}

uint32_t
qtable_slots(const struct qtable *t)
{
	return t->hdr->nslots;
}

/* FNV-1a, never 0 (0 marks an empty slot). */
static uint64_t
key_hash(const char *key)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return h | 1;
}

/*
 * Start loading what the quota step reads of slot S, all lines at once: with
 * many accounts a slot is cold, and its key, lock, counters and the windows'
 * heads would otherwise be fetched one miss after another.
 */
static void
slot_prefetch(const struct qslot *s)
{
	const char *p = (const char *)s;

	for (size_t o = 0; o < offsetof(struct qslot, day.b); o += 64)
		__builtin_prefetch(p + o, 1);
	__builtin_prefetch(&s->hour, 1);
	__builtin_prefetch(&s->fleet[QF_DAY], 1);
}

/*
 * Probe for KEY (hash H) in the dense index; *EMPTY gets the first empty slot
 * on the way.  Only a slot whose hash matches is looked at.
 */
static struct qslot *
probe(struct qtable *t, const char *key, uint64_t h, struct qslot **empty)
{
	uint32_t mask = t->hdr->nslots - 1;

	*empty = NULL;
	for (uint32_t i = 0; i < QT_MAX_PROBE && i <= mask; i++) {
		uint32_t at = (uint32_t)(h + i) & mask;
		uint64_t sh = __atomic_load_n(&t->index[at], __ATOMIC_ACQUIRE);
		if (sh == 0) {
			*empty = &t->slots[at];
			return NULL;
		}
		if (sh == h) {
			slot_prefetch(&t->slots[at]);
			if (strcmp(t->slots[at].key, key) == 0)
				return &t->slots[at];
		}
	}
	return NULL;
}

struct qslot *
qtable_find(struct qtable *t, const char *key, int create)
{
	uint64_t h = key_hash(key);
	struct qslot *s, *empty;

	if (strlen(key) >= QSLOT_KEY_MAX)
		return NULL;
	if ((s = probe(t, key, h, &empty)) != NULL || !create || empty == NULL)
		return s;
	mutex_lock_robust(&t->hdr->mu);
	if ((s = probe(t, key, h, &empty)) == NULL && empty != NULL) {
		s = empty;
		memset(s, 0, sizeof(*s));
		strcpy(s->key, key);
		window_init(&s->day, 86400);
		window_init(&s->hour, 7200);
		__atomic_store_n(&s->keyhash, h, __ATOMIC_RELEASE);
		__atomic_store_n(&t->index[s - t->slots], h, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&t->hdr->mu);
	return s;
}

void
qslot_lock(struct qtable *t, struct qslot *s)
{
	uint32_t gen = __atomic_load_n(&t->hdr->gen, __ATOMIC_ACQUIRE);

	if (__atomic_load_n(&s->lock_gen, __ATOMIC_ACQUIRE) != gen) {
		mutex_lock_robust(&t->hdr->mu);
		if (s->lock_gen != gen) {
			pshared_mutex_init(&s->mu);
			__atomic_store_n(&s->lock_gen, gen, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&t->hdr->mu);
	}
	mutex_lock_robust(&s->mu);
}

void
qslot_unlock(struct qslot *s)
{
	pthread_mutex_unlock(&s->mu);
}

uint32_t
qslot_index(const struct qtable *t, const struct qslot *s)
{
	return (uint32_t)(s - t->slots);
}

struct qslot *
qslot_at(struct qtable *t, uint32_t index)
{
	return index < t->hdr->nslots ? &t->slots[index] : NULL;
}

static void
txn_lock(struct qtable *t)
{
	uint32_t gen = __atomic_load_n(&t->hdr->gen, __ATOMIC_ACQUIRE);

	if (__atomic_load_n(&t->hdr->txn_lock_gen, __ATOMIC_ACQUIRE) != gen) {
		mutex_lock_robust(&t->hdr->mu);
		if (t->hdr->txn_lock_gen != gen) {
			pshared_mutex_init(&t->hdr->txn_mu);
			__atomic_store_n(&t->hdr->txn_lock_gen, gen, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&t->hdr->mu);
	}
	mutex_lock_robust(&t->hdr->txn_mu);
}

void
qtable_fleet_set(struct qtable *t, int64_t until_ms, uint32_t nodes)
{
	__atomic_store_n(&t->hdr->fleet_nodes, nodes, __ATOMIC_RELAXED);
	__atomic_store_n(&t->hdr->fleet_until_ms, until_ms, __ATOMIC_RELEASE);
}

int
qtable_fleet_connected(const struct qtable *t, int64_t now_ms, uint32_t *nodes)
{
	*nodes = __atomic_load_n(&t->hdr->fleet_nodes, __ATOMIC_RELAXED);
	return __atomic_load_n(&t->hdr->fleet_until_ms, __ATOMIC_ACQUIRE) > now_ms;
}

void
qtable_fleet_ask(struct qtable *t, uint32_t index, enum qfleet_kind kind)
{
	uint32_t n = __atomic_fetch_add(&t->hdr->ask_head, 1, __ATOMIC_ACQ_REL);

	__atomic_store_n(&t->hdr->ask_ring[n % QT_ASK_RING], index * QF_KINDS + kind,
			 __ATOMIC_RELEASE);
}

int
qtable_fleet_asks(struct qtable *t, uint32_t *pos, uint32_t *out, int max)
{
	uint32_t head = __atomic_load_n(&t->hdr->ask_head, __ATOMIC_ACQUIRE);
	int n = 0;

	if (head - *pos > QT_ASK_RING) {
		*pos = head;
		return -1;
	}
	/* An index written just after its position was claimed may be read stale: the
	 * periodic look at every slot catches it. */
	while (*pos != head && n < max)
		out[n++] =
		    __atomic_load_n(&t->hdr->ask_ring[(*pos)++ % QT_ASK_RING], __ATOMIC_ACQUIRE);
	return n;
}

#define TXN_TOMB 2 /* a freed entry (hashes are odd): lookups go on past it */

/*
 * Probe the transaction entries for ID, up to the first never-used entry;
 * *SPARE gets the first entry that may be (re)used on the way: never used,
 * freed, or lapsed (its process died before it could free it).
 */
static struct qtxn *
txn_probe(struct qtable *t, const char *id, uint64_t h, int64_t now_minute, struct qtxn **spare)
{
	*spare = NULL;
	for (uint32_t i = 0; i < QT_MAX_PROBE; i++) {
		struct qtxn *x = &t->txns[(h + i) & (QTXN_MAX - 1)];
		if (x->keyhash == h && strcmp(x->id, id) == 0)
			return x;
		if (*spare == NULL && (x->keyhash == 0 || x->keyhash == TXN_TOMB ||
				       x->minute <= now_minute - (QRES_BUCKETS - 1)))
			*spare = x;
		if (x->keyhash == 0)
			break;
	}
	return NULL;
}

/* Free X; tombstones before a never-used entry become never-used too, so chains stay short. */
static void
txn_free(struct qtable *t, struct qtxn *x)
{
	uint32_t j = (uint32_t)(x - t->txns);

	memset(x, 0, sizeof(*x));
	x->keyhash = TXN_TOMB;
	if (t->txns[(j + 1) & (QTXN_MAX - 1)].keyhash != 0)
		return;
	for (uint32_t n = 0; n < QTXN_MAX && t->txns[j].keyhash == TXN_TOMB; n++) {
		t->txns[j].keyhash = 0;
		j = (j - 1) & (QTXN_MAX - 1);
	}
}

/* The entry at *HINT (index + 1) if it still holds ID (hash H); else a probe's answer. */
static struct qtxn *
txn_find(struct qtable *t, const char *id, uint64_t h, int64_t now_minute, uint32_t *hint,
	 struct qtxn **spare)
{
	*spare = NULL;
	if (hint && *hint > 0 && *hint <= QTXN_MAX) {
		struct qtxn *x = &t->txns[*hint - 1];
		if (x->keyhash == h && strcmp(x->id, id) == 0)
			return x;
	}
	return txn_probe(t, id, h, now_minute, spare);
}

struct qtxn *
qtxn_get(struct qtable *t, const char *id, int create, int64_t now_minute, uint32_t *hint)
{
	uint64_t h = key_hash(id);
	struct qtxn *x, *spare;

	if (strlen(id) >= QTXN_ID_MAX)
		return NULL;
	txn_lock(t);
	if ((x = txn_find(t, id, h, now_minute, hint, &spare)) == NULL && create && spare) {
		x = spare;
		memset(x, 0, sizeof(*x));
		strcpy(x->id, id);
		x->minute = now_minute;
		x->keyhash = h;
	}
	pthread_mutex_unlock(&t->hdr->txn_mu);
	if (hint)
		*hint = x ? (uint32_t)(x - t->txns) + 1 : 0;
	return x;
}

int
qtxn_take(struct qtable *t, const char *id, struct qtxn *out, uint32_t *hint)
{
	uint64_t h = key_hash(id);
	struct qtxn *x, *spare;

	txn_lock(t);
	if ((x = txn_find(t, id, h, INT64_MIN / 2, hint, &spare)) != NULL) {
		*out = *x;
		txn_free(t, x);
	}
	pthread_mutex_unlock(&t->hdr->txn_mu);
	if (hint)
		*hint = 0;
	return x != NULL;
}
