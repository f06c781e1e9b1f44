/* dns_cache -- the host's shared TTL-honouring answer cache; see dns_cache.h. */
#include "config.h"

#include <ares.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dns_cache.h"
#include "util/siphash.h"
#include "util/xalloc.h"
#include "util/pshared.h"

#define STAT_ADD(v) __atomic_fetch_add(&(v), 1, __ATOMIC_RELAXED)

struct dns_cache *dns_host_cache;

struct dslot {
	uint64_t hash;	 /* 0: empty; stored last, so a torn write leaves the slot empty */
	int64_t expires; /* milliseconds, CLOCK_MONOTONIC */
	int32_t type;
	uint32_t pad;
	char name[DNS_CACHE_NAME_MAX]; /* lower-case */
	struct dns_answer ans;
};

struct dbucket {
	pthread_mutex_t mu; /* process-shared, robust */
	struct dslot slot[DNS_CACHE_WAYS];
};

/* The process's handle; the buckets are shared, the counters are this process's. */
struct dns_cache {
	struct dbucket *b;
	size_t nbuckets, size;
	uint64_t hits, misses;
};

static const uint8_t hash_key[16] = "outpost-dnscache";

struct dns_cache *
dns_cache_create(size_t max)
{
	struct dns_cache *c;
	size_t n = 1;
	void *p;

	while (n * DNS_CACHE_WAYS < max)
		n *= 2;
	p = mmap(NULL, n * sizeof(struct dbucket), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->b = p;
	c->nbuckets = n;
	c->size = n * sizeof(struct dbucket);
	for (size_t i = 0; i < n; i++) /* the slots are zero: empty */
		pshared_mutex_init(&c->b[i].mu);
	return c;
}

void
dns_cache_destroy(struct dns_cache *c)
{
	if (c == NULL)
		return;
	munmap(c->b, c->size);
	free(c);
}

size_t
dns_cache_capacity(const struct dns_cache *c)
{
	return c->nbuckets * DNS_CACHE_WAYS;
}

/*
 * Take bucket B's lock.  If its holder died, the bucket may hold a torn
 * entry: empty it.  -1 if the lock can't be had (then the cache is skipped).
 */
static int
bucket_lock(struct dbucket *b)
{
	int rc = pthread_mutex_lock(&b->mu);

	if (rc == EOWNERDEAD) {
		for (int i = 0; i < DNS_CACHE_WAYS; i++)
			b->slot[i].hash = 0;
		pthread_mutex_consistent(&b->mu);
		rc = 0;
	}
	return rc == 0 ? 0 : -1;
}

/* NAME lower-cased into KEY (DNS_CACHE_NAME_MAX); its hash (never 0), or 0 if too long. */
static uint64_t
make_key(int type, const char *name, char *key)
{
	size_t len = 0;

	for (; name[len]; len++) {
		if (len + 1 >= DNS_CACHE_NAME_MAX)
			return 0;
		char ch = name[len];
		key[len] = ch >= 'A' && ch <= 'Z' ? (char)(ch + 'a' - 'A') : ch;
	}
	key[len] = '\0';
	return (siphash24(hash_key, key, len) ^ ((uint64_t)type << 48)) | 1;
}

static struct dbucket *
bucket_of(struct dns_cache *c, uint64_t h)
{
	return &c->b[(h >> 1) & (c->nbuckets - 1)];
}

/* The slot of B holding (H, TYPE, KEY), or NULL. */
static struct dslot *
find(struct dbucket *b, uint64_t h, int type, const char *key)
{
	for (int i = 0; i < DNS_CACHE_WAYS; i++) {
		struct dslot *s = &b->slot[i];
		if (s->hash == h && s->type == type && strcmp(s->name, key) == 0)
			return s;
	}
	return NULL;
}

/* Where a new entry goes: an empty or expired slot, else the one that expires first. */
static struct dslot *
victim(struct dbucket *b, int64_t now)
{
	struct dslot *v = &b->slot[0];

	for (int i = 0; i < DNS_CACHE_WAYS; i++) {
		struct dslot *s = &b->slot[i];
		if (s->hash == 0 || s->expires <= now)
			return s;
		if (s->expires < v->expires)
			v = s;
	}
	return v;
}

void
dns_cache_put(struct dns_cache *c, int type, const char *name, const struct dns_answer *a,
	      uint32_t ttl, int64_t now)
{
	char key[DNS_CACHE_NAME_MAX];
	uint64_t h = make_key(type, name, key);
	struct dbucket *b = bucket_of(c, h);
	struct dslot *s;

	if (ttl == 0 || h == 0 ||
	    (a->status != ARES_SUCCESS && a->status != ARES_ENODATA && a->status != ARES_ENOTFOUND))
		return;
	if (bucket_lock(b) < 0)
		return;
	if ((s = find(b, h, type, key)) == NULL)
		s = victim(b, now);
	__atomic_store_n(&s->hash, 0, __ATOMIC_RELEASE);
	s->expires = now + (int64_t)ttl * 1000;
	s->type = type;
	memcpy(s->name, key, strlen(key) + 1);
	s->ans = *a;
	__atomic_store_n(&s->hash, h, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&b->mu);
}

int
dns_cache_get(struct dns_cache *c, int type, const char *name, int64_t now, struct dns_answer *out)
{
	int64_t expires;

	return dns_cache_get_until(c, type, name, now, out, &expires);
}

int
dns_cache_get_until(struct dns_cache *c, int type, const char *name, int64_t now,
		    struct dns_answer *out, int64_t *expires_r)
{
	char key[DNS_CACHE_NAME_MAX];
	uint64_t h = make_key(type, name, key);
	struct dbucket *b = bucket_of(c, h);
	struct dslot *s;
	int found = 0;

	if (h == 0 || bucket_lock(b) < 0)
		goto out;
	if ((s = find(b, h, type, key)) != NULL && s->expires <= now)
		s->hash = 0;
	else if (s != NULL) {
		*out = s->ans;
		*expires_r = s->expires;
		found = 1;
	}
	pthread_mutex_unlock(&b->mu);
out:
	if (found)
		STAT_ADD(c->hits);
	else
		STAT_ADD(c->misses);
	return found;
}

void
dns_cache_counts(struct dns_cache *c, size_t *entries, uint64_t *hits, uint64_t *misses)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nbuckets; i++)
		for (int k = 0; k < DNS_CACHE_WAYS; k++)
			n += __atomic_load_n(&c->b[i].slot[k].hash, __ATOMIC_RELAXED) != 0;
	*entries = n;
	*hits = __atomic_load_n(&c->hits, __ATOMIC_RELAXED);
	*misses = __atomic_load_n(&c->misses, __ATOMIC_RELAXED);
}
