/* records -- encoders and decoders of the store's record layouts; see records.h. */
#include "config.h"

#include <string.h>

#include "records.h"
#include "util/text.h"

/* A cursor over a record being written or read. */
struct rbuf {
	uint8_t *p;
	const uint8_t *r;
	size_t len, off;
	int bad;
};

static void
put_u8(struct rbuf *b, uint8_t v)
{
	if (b->off + 1 > b->len) {
		b->bad = 1;
		return;
	}
	b->p[b->off++] = v;
}

static void
put_i64(struct rbuf *b, int64_t v)
{
	for (int i = 0; i < 8; i++)
		put_u8(b, (uint8_t)((uint64_t)v >> (8 * i)));
}

static void
put_u32(struct rbuf *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		put_u8(b, (uint8_t)(v >> (8 * i)));
}

static void
put_str(struct rbuf *b, const char *s)
{
	size_t n = strlen(s) + 1;

	if (b->off + n > b->len) {
		b->bad = 1;
		return;
	}
	memcpy(b->p + b->off, s, n);
	b->off += n;
}

static uint8_t
get_u8(struct rbuf *b)
{
	if (b->off + 1 > b->len) {
		b->bad = 1;
		return 0;
	}
	return b->r[b->off++];
}

static int64_t
get_i64(struct rbuf *b)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)get_u8(b) << (8 * i);
	return (int64_t)v;
}

static uint32_t
get_u32(struct rbuf *b)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v |= (uint32_t)get_u8(b) << (8 * i);
	return v;
}

/* Copy a NUL-terminated string out of the record into DST. */
static void
get_str(struct rbuf *b, char *dst, size_t dstlen)
{
	const uint8_t *nul = b->off < b->len ? memchr(b->r + b->off, 0, b->len - b->off) : NULL;

	if (nul == NULL) {
		b->bad = 1;
		dst[0] = '\0';
		return;
	}
	text_copy(dst, dstlen, (const char *)b->r + b->off);
	b->off = (size_t)(nul - b->r) + 1;
}

#define WBUF(buf, len)                   \
	{                                \
		(buf), NULL, (len), 0, 0 \
	}
#define RBUF(data, len)                   \
	{                                 \
		NULL, (data), (len), 0, 0 \
	}

size_t
rec_suppress_encode(const struct suppress_rec *r, uint8_t *buf, size_t len)
{
	struct rbuf b = WBUF(buf, len);

	put_u8(&b, 1);
	put_u8(&b, r->reason);
	put_i64(&b, r->created);
	put_i64(&b, r->updated);
	put_i64(&b, r->expires);
	put_str(&b, r->note);
	return b.bad ? 0 : b.off;
}

int
rec_suppress_decode(const void *data, size_t len, struct suppress_rec *r)
{
	struct rbuf b = RBUF(data, len);

	if (get_u8(&b) != 1)
		return -1;
	r->reason = get_u8(&b);
	r->created = get_i64(&b);
	r->updated = get_i64(&b);
	r->expires = get_i64(&b);
	get_str(&b, r->note, sizeof(r->note));
	return b.bad ? -1 : 0;
}

size_t
rec_account_encode(const struct account_rec *r, uint8_t *buf, size_t len)
{
	struct rbuf b = WBUF(buf, len);

	put_u8(&b, 1);
	put_u8(&b, r->state);
	put_i64(&b, r->created);
	put_i64(&b, r->since);
	put_str(&b, r->reason);
	put_str(&b, r->by);
	return b.bad ? 0 : b.off;
}

int
rec_account_decode(const void *data, size_t len, struct account_rec *r)
{
	struct rbuf b = RBUF(data, len);

	if (get_u8(&b) != 1)
		return -1;
	r->state = get_u8(&b);
	r->created = get_i64(&b);
	r->since = get_i64(&b);
	get_str(&b, r->reason, sizeof(r->reason));
	get_str(&b, r->by, sizeof(r->by));
	return b.bad || r->state > AS_PAUSED ? -1 : 0;
}

size_t
rec_history_encode(const struct history_rec *r, uint8_t *buf, size_t len)
{
	struct rbuf b = WBUF(buf, len);

	put_u8(&b, 1);
	put_u8(&b, r->from);
	put_u8(&b, r->to);
	put_i64(&b, r->when);
	put_str(&b, r->by);
	put_str(&b, r->reason);
	return b.bad ? 0 : b.off;
}

int
rec_history_decode(const void *data, size_t len, struct history_rec *r)
{
	struct rbuf b = RBUF(data, len);

	if (get_u8(&b) != 1)
		return -1;
	r->from = get_u8(&b);
	r->to = get_u8(&b);
	r->when = get_i64(&b);
	get_str(&b, r->by, sizeof(r->by));
	get_str(&b, r->reason, sizeof(r->reason));
	return b.bad ? -1 : 0;
}

size_t
rec_message_encode(const struct message_rec *r, uint8_t *buf, size_t len)
{
	struct rbuf b = WBUF(buf, len);

	put_u8(&b, 1);
	put_i64(&b, r->when);
	put_u32(&b, r->recipients);
	put_u8(&b, r->door);
	put_u8(&b, r->flags);
	put_str(&b, r->account);
	return b.bad ? 0 : b.off;
}

int
rec_message_decode(const void *data, size_t len, struct message_rec *r)
{
	struct rbuf b = RBUF(data, len);

	if (get_u8(&b) != 1)
		return -1;
	r->when = get_i64(&b);
	r->recipients = get_u32(&b);
	r->door = get_u8(&b);
	r->flags = get_u8(&b);
	get_str(&b, r->account, sizeof(r->account));
	return b.bad ? -1 : 0;
}

size_t
rec_stats_encode(const struct stats_rec *r, uint8_t *buf, size_t len)
{
	struct rbuf b = WBUF(buf, len);

	put_u8(&b, 1);
	put_u8(&b, SF_COUNT);
	for (int i = 0; i < SF_COUNT; i++)
		put_u32(&b, r->n[i]);
	return b.bad ? 0 : b.off;
}

/* Fields a newer writer added are ignored; missing ones read as 0. */
int
rec_stats_decode(const void *data, size_t len, struct stats_rec *r)
{
	struct rbuf b = RBUF(data, len);
	int n;

	memset(r, 0, sizeof(*r));
	if (get_u8(&b) != 1)
		return -1;
	n = get_u8(&b);
	for (int i = 0; i < n; i++) {
		uint32_t v = get_u32(&b);
		if (i < SF_COUNT)
			r->n[i] = v;
	}
	return b.bad ? -1 : 0;
}

size_t
rec_maillog_pos_encode(const struct maillog_pos_rec *r, uint8_t *buf, size_t len)
{
	struct rbuf b = WBUF(buf, len);

	put_u8(&b, 1);
	put_i64(&b, (int64_t)r->dev);
	put_i64(&b, (int64_t)r->ino);
	put_i64(&b, (int64_t)r->offset);
	put_u32(&b, r->head_len);
	put_i64(&b, (int64_t)r->head_hash);
	return b.bad ? 0 : b.off;
}

int
rec_maillog_pos_decode(const void *data, size_t len, struct maillog_pos_rec *r)
{
	struct rbuf b = RBUF(data, len);

	memset(r, 0, sizeof(*r));
	if (get_u8(&b) != 1)
		return -1;
	r->dev = (uint64_t)get_i64(&b);
	r->ino = (uint64_t)get_i64(&b);
	r->offset = (uint64_t)get_i64(&b);
	r->head_len = get_u32(&b);
	r->head_hash = (uint64_t)get_i64(&b);
	return b.bad ? -1 : 0;
}

size_t
rec_window_encode(const struct window_rec *r, uint8_t *buf, size_t len)
{
	struct rbuf b = WBUF(buf, len);

	put_u8(&b, 1);
	put_i64(&b, r->since);
	put_u8(&b, SF_COUNT);
	for (int i = 0; i < SF_COUNT; i++)
		put_u32(&b, r->base.n[i]);
	return b.bad ? 0 : b.off;
}

int
rec_window_decode(const void *data, size_t len, struct window_rec *r)
{
	struct rbuf b = RBUF(data, len);
	int n;

	memset(r, 0, sizeof(*r));
	if (get_u8(&b) != 1)
		return -1;
	r->since = get_i64(&b);
	n = get_u8(&b);
	for (int i = 0; i < n; i++) {
		uint32_t v = get_u32(&b);
		if (i < SF_COUNT)
			r->base.n[i] = v;
	}
	return b.bad ? -1 : 0;
}

size_t
rec_token_encode(const struct token_rec *r, uint8_t *buf, size_t len)
{
	struct rbuf b = WBUF(buf, len);

	put_u8(&b, 1);
	put_u8(&b, r->scope);
	put_i64(&b, r->created);
	put_str(&b, r->name);
	put_str(&b, r->account);
	return b.bad ? 0 : b.off;
}

int
rec_token_decode(const void *data, size_t len, struct token_rec *r)
{
	struct rbuf b = RBUF(data, len);

	if (get_u8(&b) != 1)
		return -1;
	r->scope = get_u8(&b);
	r->created = get_i64(&b);
	get_str(&b, r->name, sizeof(r->name));
	get_str(&b, r->account, sizeof(r->account));
	return b.bad || (r->scope != TS_READ && r->scope != TS_WRITE) ? -1 : 0;
}

size_t
rec_dnsbl_watch_encode(const struct dnsbl_watch_rec *r, uint8_t *buf, size_t len)
{
	struct rbuf b = WBUF(buf, len);

	put_u8(&b, 1);
	put_u8(&b, r->state);
	put_i64(&b, r->since);
	put_i64(&b, r->checked);
	put_i64(&b, r->failing_since);
	put_str(&b, r->codes);
	put_str(&b, r->meaning);
	put_str(&b, r->error);
	return b.bad ? 0 : b.off;
}

int
rec_dnsbl_watch_decode(const void *data, size_t len, struct dnsbl_watch_rec *r)
{
	struct rbuf b = RBUF(data, len);

	memset(r, 0, sizeof(*r));
	if (get_u8(&b) != 1)
		return -1;
	r->state = get_u8(&b);
	r->since = get_i64(&b);
	r->checked = get_i64(&b);
	r->failing_since = get_i64(&b);
	get_str(&b, r->codes, sizeof(r->codes));
	get_str(&b, r->meaning, sizeof(r->meaning));
	get_str(&b, r->error, sizeof(r->error));
	return b.bad || r->state > 2 ? -1 : 0;
}

const char *
stats_field_name(int field)
{
	static const char *const names[SF_COUNT] = {"delivered", "hard_bounces", "soft_bounces",
						    "blocks",	 "deferrals",	 "complaints"};

	return field >= 0 && field < SF_COUNT ? names[field] : "?";
}

static const char *const reason_names[] = {NULL, "bounce", "complaint", "manual", "unsubscribe"};
static const char *const state_names[] = {"active", "review", "paused"};

const char *
suppress_reason_name(int reason)
{
	return reason >= SR_BOUNCE && reason <= SR_UNSUBSCRIBE ? reason_names[reason] : "unknown";
}

int
suppress_reason_parse(const char *name)
{
	for (int i = SR_BOUNCE; i <= SR_UNSUBSCRIBE; i++)
		if (strcmp(reason_names[i], name) == 0)
			return i;
	return -1;
}

const char *
account_state_name(int state)
{
	return state >= AS_ACTIVE && state <= AS_PAUSED ? state_names[state] : "unknown";
}

int
account_state_parse(const char *name)
{
	for (int i = AS_ACTIVE; i <= AS_PAUSED; i++)
		if (strcmp(state_names[i], name) == 0)
			return i;
	return -1;
}
