/* dns_cache -- TTL-honouring answer cache; see dns_cache.h. */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dns_cache.h"
#include "util/siphash.h"
#include "util/xalloc.h"

struct entry {
	struct entry *next;
	int type, status;
	int64_t expires, stored; /* milliseconds, monotonic */
	unsigned char *abuf;
	int alen;
	char name[]; /* lower-case */
};

struct dns_cache {
	pthread_mutex_t mu;
	struct entry **tab;
	size_t nbuckets, n, max;
	uint64_t hits, misses;
};

static const uint8_t hash_key[16] = "outpost-dnscache";

struct dns_cache *
dns_cache_create(size_t max)
{
	struct dns_cache *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->mu, NULL);
	c->max = max ? max : 1;
	c->nbuckets = 64;
	while (c->nbuckets < c->max)
		c->nbuckets *= 2;
	c->tab = xcalloc(c->nbuckets, sizeof(*c->tab));
	return c;
}

static void
entry_free(struct entry *e)
{
	free(e->abuf);
	free(e);
}

void
dns_cache_destroy(struct dns_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nbuckets; i++)
		for (struct entry *e = c->tab[i], *next; e; e = next) {
			next = e->next;
			entry_free(e);
		}
	pthread_mutex_destroy(&c->mu);
	free(c->tab);
	free(c);
}

static size_t
bucket(const struct dns_cache *c, int type, const char *name)
{
	return (size_t)(siphash24(hash_key, name, strlen(name)) ^ (uint64_t)type) &
	       (c->nbuckets - 1);
}

/* Drop entries expired at NOW, or (ALL) stored before CUTOFF. */
static void
sweep(struct dns_cache *c, int64_t now, int64_t cutoff)
{
	for (size_t i = 0; i < c->nbuckets; i++)
		for (struct entry **pp = &c->tab[i]; *pp;) {
			struct entry *e = *pp;
			if (e->expires <= now || e->stored < cutoff) {
				*pp = e->next;
				entry_free(e);
				c->n--;
			} else {
				pp = &e->next;
			}
		}
}

/* Drop expired entries; if that is not enough, the oldest quarter of the TTL span. */
static void
make_room(struct dns_cache *c, int64_t now)
{
	int64_t oldest = now;

	sweep(c, now, INT64_MIN);
	if (c->n < c->max)
		return;
	for (size_t i = 0; i < c->nbuckets; i++)
		for (struct entry *e = c->tab[i]; e; e = e->next)
			if (e->stored < oldest)
				oldest = e->stored;
	sweep(c, now, oldest + (now - oldest) / 4 + 1);
}

/* Find (TYPE, NAME) in its bucket; the link pointing at it in *PP_R. */
static struct entry *
find(struct dns_cache *c, int type, const char *name, struct entry ***pp_r)
{
	struct entry **pp = &c->tab[bucket(c, type, name)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->type == type && strcmp((*pp)->name, name) == 0)
			break;
	*pp_r = pp;
	return *pp;
}

static char *
lower_dup(const char *name)
{
	char *s = xstrdup(name);

	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

void
dns_cache_put(struct dns_cache *c, int type, const char *name, int status,
	      const unsigned char *abuf, int alen, uint32_t ttl, int64_t now)
{
	char *key;
	struct entry *e, **pp;
	size_t klen;

	if (ttl == 0)
		return;
	key = lower_dup(name);
	klen = strlen(key) + 1;
	pthread_mutex_lock(&c->mu);
	if ((e = find(c, type, key, &pp)) != NULL) {
		*pp = e->next;
		entry_free(e);
		c->n--;
	}
	if (c->n >= c->max)
		make_room(c, now);
	e = xmalloc(sizeof(*e) + klen);
	memcpy(e->name, key, klen);
	e->type = type;
	e->status = status;
	e->stored = now;
	e->expires = now + (int64_t)ttl * 1000;
	e->alen = abuf ? alen : 0;
	e->abuf = abuf && alen > 0 ? xmalloc((size_t)alen) : NULL;
	if (e->abuf)
		memcpy(e->abuf, abuf, (size_t)alen);
	e->next = c->tab[bucket(c, type, key)];
	c->tab[bucket(c, type, key)] = e;
	c->n++;
	pthread_mutex_unlock(&c->mu);
	free(key);
}

int
dns_cache_get(struct dns_cache *c, int type, const char *name, int64_t now, int *status_r,
	      unsigned char **abuf_r, int *alen_r)
{
	char *key = lower_dup(name);
	struct entry *e, **pp;
	int found = 0;

	pthread_mutex_lock(&c->mu);
	if ((e = find(c, type, key, &pp)) != NULL && e->expires <= now) {
		*pp = e->next;
		entry_free(e);
		c->n--;
		e = NULL;
	}
	if (e) {
		*status_r = e->status;
		*alen_r = e->alen;
		*abuf_r = NULL;
		if (e->abuf) {
			*abuf_r = xmalloc((size_t)e->alen);
			memcpy(*abuf_r, e->abuf, (size_t)e->alen);
		}
		found = 1;
		c->hits++;
	} else {
		c->misses++;
	}
	pthread_mutex_unlock(&c->mu);
	free(key);
	return found;
}

void
dns_cache_counts(struct dns_cache *c, size_t *entries, uint64_t *hits, uint64_t *misses)
{
	pthread_mutex_lock(&c->mu);
	*entries = c->n;
	*hits = c->hits;
	*misses = c->misses;
	pthread_mutex_unlock(&c->mu);
}

/* Skip the (possibly compressed) name at OFF; the offset after it, or -1. */
static int
skip_name(const unsigned char *b, int len, int off)
{
	while (off < len) {
		unsigned l = b[off];
		if (l == 0)
			return off + 1;
		if ((l & 0xc0) == 0xc0)
			return off + 2 <= len ? off + 2 : -1;
		if (l & 0xc0)
			return -1;
		off += 1 + (int)l;
	}
	return -1;
}

int64_t
dns_answer_min_ttl(const unsigned char *b, int len)
{
	int off = 12, qd, an;
	int64_t min = -1;

	if (b == NULL || len < 12)
		return -1;
	qd = (b[4] << 8) | b[5];
	an = (b[6] << 8) | b[7];
	for (int i = 0; i < qd; i++)
		if ((off = skip_name(b, len, off)) < 0 || (off += 4) > len)
			return -1;
	for (int i = 0; i < an; i++) {
		if ((off = skip_name(b, len, off)) < 0 || off + 10 > len)
			return -1;
		int64_t ttl = ((int64_t)b[off + 4] << 24) | (b[off + 5] << 16) | (b[off + 6] << 8) |
			      b[off + 7];
		int rdlen = (b[off + 8] << 8) | b[off + 9];
		if (ttl & 0x80000000)
			ttl = 0; /* RFC 2181 8: a TTL with the top bit set is zero */
		if (min < 0 || ttl < min)
			min = ttl;
		off += 10 + rdlen;
		if (off > len)
			return -1;
	}
	return min;
}
