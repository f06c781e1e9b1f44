/* sfilter -- the suppression list's Bloom filter; see sfilter.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "sfilter.h"

#define SFL_VERSION 2
#define SFL_LINE 64 /* bytes: the bits of one target share a cache line */
#define SFL_SKIP 48 /* LMDB's page header is 16 bytes: lines start at 64 in the page */
#define SFL_LINES ((SFL_BLOCK - SFL_SKIP) / SFL_LINE) /* 63 */
#define SFL_K 6					      /* bits a target sets */
#define SFL_BITS_PER_ENTRY 16 /* sizing at build: about 0.5 % false positives */
#define SFL_HDR_KEY "h"
#define SFL_HDR_LEN 24

/*
 * The size the reader last saw.  Block keys carry the size, so a guess that
 * a rebuild made wrong finds nothing and the reader reads the header again.
 */
static uint32_t seen_nblocks;

/* FNV-1a, then MurmurHash3's finaliser to spread it over all 64 bits. */
static uint64_t
mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint64_t
sf_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return mix(h);
}

/* Where a target's bits are: block, byte offset of the line, SFL_K bit numbers (0..511). */
struct sf_pos {
	uint32_t block;
	uint32_t line;
	uint16_t bit[SFL_K];
};

static void
sf_locate(const char *target, size_t len, uint32_t nblocks, struct sf_pos *p)
{
	uint64_t h = sf_hash(target, len), g = mix(h ^ 0x9e3779b97f4a7c15ULL);

	p->block = (uint32_t)(h & (nblocks - 1)); /* nblocks is a power of two */
	p->line = SFL_SKIP + (uint32_t)((h >> 32) % SFL_LINES) * SFL_LINE;
	for (int i = 0; i < SFL_K; i++)
		p->bit[i] = (uint16_t)((g >> (9 * i)) & 511);
}

static int
sf_has(const uint8_t *line, const struct sf_pos *p)
{
	for (int i = 0; i < SFL_K; i++)
		if (!(line[p->bit[i] >> 3] & (1u << (p->bit[i] & 7))))
			return 0;
	return 1;
}

static void
sf_set(uint8_t *line, const struct sf_pos *p)
{
	for (int i = 0; i < SFL_K; i++)
		line[p->bit[i] >> 3] |= (uint8_t)(1u << (p->bit[i] & 7));
}

static void
put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* The header: STORE_OK, STORE_NOTFOUND (no filter, or one this code can't read). */
static int
hdr_get(struct store_txn *txn, struct sfilter_info *info)
{
	struct store_val v;
	const uint8_t *p;
	int rc = store_get(txn, DB_SFILTER, SFL_HDR_KEY, 1, &v);

	if (rc != STORE_OK)
		return rc;
	p = v.data;
	if (v.len != SFL_HDR_LEN || p[0] != SFL_VERSION)
		return STORE_NOTFOUND;
	info->nblocks = (uint32_t)get_le(p + 4, 4);
	info->built_entries = get_le(p + 8, 8);
	info->deletes = get_le(p + 16, 8);
	if (info->nblocks < SFL_BLOCKS_MIN || info->nblocks > SFL_BLOCKS_MAX ||
	    (info->nblocks & (info->nblocks - 1)) != 0)
		return STORE_NOTFOUND;
	return STORE_OK;
}

static int
hdr_put(struct store_txn *txn, const struct sfilter_info *info)
{
	uint8_t p[SFL_HDR_LEN] = {SFL_VERSION};

	put_le(p + 4, info->nblocks, 4);
	put_le(p + 8, info->built_entries, 8);
	put_le(p + 16, info->deletes, 8);
	return store_put(txn, DB_SFILTER, SFL_HDR_KEY, 1, p, sizeof(p));
}

/* A block's key: the filter's size, then the block's number (both big-endian). */
static void
block_key(uint8_t key[8], uint32_t nblocks, uint32_t n)
{
	for (int i = 0; i < 4; i++) {
		key[i] = (uint8_t)(nblocks >> (24 - 8 * i));
		key[4 + i] = (uint8_t)(n >> (24 - 8 * i));
	}
}

/* 1 / 0 for the block of a filter of NBLOCKS, -1 when there is no such filter here. */
static int
probe(struct store_txn *txn, const char *target, size_t len, uint32_t nblocks)
{
	struct sf_pos p;
	struct store_val v;
	uint8_t key[8];

	sf_locate(target, len, nblocks, &p);
	block_key(key, nblocks, p.block);
	if (store_get(txn, DB_SFILTER, key, sizeof(key), &v) != STORE_OK || v.len != SFL_BLOCK)
		return -1;
	return sf_has((const uint8_t *)v.data + p.line, &p);
}

int
sfilter_maybe(struct store_txn *txn, const char *target, size_t len)
{
	struct sfilter_info info;
	uint32_t n = __atomic_load_n(&seen_nblocks, __ATOMIC_RELAXED);
	int rc;

	if (n && (rc = probe(txn, target, len, n)) >= 0)
		return rc;
	if (hdr_get(txn, &info) != STORE_OK)
		return -1;
	__atomic_store_n(&seen_nblocks, info.nblocks, __ATOMIC_RELAXED);
	return probe(txn, target, len, info.nblocks);
}

int
sfilter_note_put(struct store_txn *txn, const void *key, size_t klen)
{
	struct sfilter_info info;
	const char *target = memchr(key, '\0', klen);
	struct sf_pos p;
	struct store_val v;
	uint8_t bkey[8], block[SFL_BLOCK];
	int rc;

	if ((rc = hdr_get(txn, &info)) != STORE_OK)
		return rc == STORE_NOTFOUND ? STORE_OK : rc; /* no filter to keep */
	if (target == NULL)
		return STORE_OK; /* not a suppression key: never looked up */
	target++;
	sf_locate(target, klen - (size_t)(target - (const char *)key), info.nblocks, &p);
	block_key(bkey, info.nblocks, p.block);
	if ((rc = store_get(txn, DB_SFILTER, bkey, sizeof(bkey), &v)) == STORE_ERR)
		return rc;
	if (rc != STORE_OK || v.len != SFL_BLOCK)
		return STORE_OK; /* a block missing: lookups never trust it */
	if (sf_has((const uint8_t *)v.data + p.line, &p))
		return STORE_OK;
	memcpy(block, v.data, SFL_BLOCK);
	sf_set(block + p.line, &p);
	return store_put(txn, DB_SFILTER, bkey, sizeof(bkey), block, sizeof(block));
}

int
sfilter_note_del(struct store_txn *txn)
{
	struct sfilter_info info;
	int rc = hdr_get(txn, &info);

	if (rc != STORE_OK)
		return rc == STORE_NOTFOUND ? STORE_OK : rc;
	info.deletes++;
	return hdr_put(txn, &info);
}

struct build {
	uint8_t *bits;
	uint32_t nblocks;
};

static int
build_one(const struct store_val *key, const struct store_val *val, void *arg)
{
	struct build *b = arg;
	const char *k = key->data, *target = memchr(k, '\0', key->len);
	struct sf_pos p;

	(void)val;
	if (target == NULL)
		return 0;
	target++;
	sf_locate(target, key->len - (size_t)(target - k), b->nblocks, &p);
	sf_set(b->bits + (size_t)p.block * SFL_BLOCK + p.line, &p);
	return 0;
}

/* Blocks for ENTRIES at SFL_BITS_PER_ENTRY, a power of two within the bounds. */
static uint32_t
blocks_for(uint64_t entries)
{
	uint64_t want = entries * SFL_BITS_PER_ENTRY / (SFL_BLOCK * 8) + 1;
	uint32_t n = SFL_BLOCKS_MIN;

	while (n < want && n < SFL_BLOCKS_MAX)
		n *= 2;
	return n;
}

int
sfilter_build(struct store_txn *txn)
{
	struct sfilter_info info = {0};
	struct build b;
	uint8_t key[8];
	int rc;

	if ((rc = store_entries(txn, DB_SUPPRESS, &info.built_entries)) != STORE_OK ||
	    (rc = store_drop(txn, DB_SFILTER)) != STORE_OK)
		return rc;
	b.nblocks = info.nblocks = blocks_for(info.built_entries);
	b.bits = calloc(b.nblocks, SFL_BLOCK);
	if (b.bits == NULL)
		return STORE_ERR;
	rc = store_scan(txn, DB_SUPPRESS, NULL, 0, NULL, 0, build_one, &b);
	for (uint32_t i = 0; rc == STORE_OK && i < b.nblocks; i++) {
		block_key(key, b.nblocks, i);
		rc = store_put(txn, DB_SFILTER, key, sizeof(key), b.bits + (size_t)i * SFL_BLOCK,
			       SFL_BLOCK);
	}
	free(b.bits);
	if (rc == STORE_OK)
		rc = hdr_put(txn, &info);
	return rc == STORE_OK ? store_schema_raise(txn) : rc;
}

int
sfilter_info(struct store_txn *txn, struct sfilter_info *info)
{
	int rc = hdr_get(txn, info);

	if (rc != STORE_OK)
		return rc;
	return store_entries(txn, DB_SUPPRESS, &info->entries);
}

int
sfilter_stale(const struct sfilter_info *info)
{
	if (info->nblocks == 0)
		return 1;
	if (info->nblocks < SFL_BLOCKS_MAX &&
	    info->entries * (SFL_BITS_PER_ENTRY / 2) > (uint64_t)info->nblocks * SFL_BLOCK * 8)
		return 1; /* grown to less than half the bits an entry it was sized for */
	return info->deletes > 1000 && info->deletes > info->entries / 4;
}

struct refresh {
	int rebuilt;
	uint64_t entries;
};

static int
refresh_cb(struct store_txn *txn, void *arg)
{
	struct refresh *r = arg;
	struct sfilter_info info = {0};
	int rc = sfilter_info(txn, &info);

	r->rebuilt = 0;
	if (rc == STORE_ERR || (rc == STORE_OK && !sfilter_stale(&info)))
		return rc;
	if ((rc = sfilter_build(txn)) == STORE_OK) {
		r->rebuilt = 1;
		rc = store_entries(txn, DB_SUPPRESS, &r->entries);
	}
	return rc;
}

int
sfilter_refresh(struct store *st, int *rebuilt, uint64_t *entries)
{
	struct refresh r = {0, 0};
	struct sfilter_info info = {0};
	struct store_txn *txn;
	int rc;

	/* Most calls find it fresh: a read snapshot says so without the write lock. */
	if (store_read_begin(st, &txn) != STORE_OK)
		return STORE_ERR;
	rc = sfilter_info(txn, &info);
	store_read_end(txn);
	*rebuilt = 0;
	*entries = 0;
	if (rc == STORE_ERR)
		return rc;
	if (rc == STORE_OK && !sfilter_stale(&info))
		return STORE_OK;
	rc = store_write(st, refresh_cb, &r);

	*rebuilt = r.rebuilt;
	*entries = r.entries;
	return rc;
}
