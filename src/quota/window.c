/* window -- rolling counts in buckets; see window.h. */
#include "config.h"

#include <string.h>

#include "window.h"

#define WIDTH(w) ((w)->span / WINDOW_BUCKETS)

int
window_init(struct window *w, int64_t span)
{
	memset(w, 0, sizeof(*w));
	if (span <= 0 || span % WINDOW_BUCKETS != 0)
		return -1;
	w->span = span;
	return 0;
}

/* Move the window so that NOW's bucket is the newest, clearing buckets that fell out. */
static void
advance(struct window *w, int64_t now)
{
	int64_t idx = now / WIDTH(w);

	if (idx <= w->newest)
		return; /* same bucket, or the clock went back: keep everything */
	if (idx - w->newest >= WINDOW_SLOTS) {
		memset(w->b, 0, sizeof(w->b));
		w->sum = 0;
	} else
		for (int64_t i = w->newest + 1; i <= idx; i++) {
			w->sum -= w->b[i % WINDOW_SLOTS];
			w->b[i % WINDOW_SLOTS] = 0;
		}
	w->newest = idx;
}

uint64_t
window_count(struct window *w, int64_t now)
{
	advance(w, now);
	return w->sum;
}

void
window_add(struct window *w, int64_t now, uint32_t n)
{
	uint32_t *b;

	advance(w, now);
	b = &w->b[w->newest % WINDOW_SLOTS];
	if (n > UINT32_MAX - *b)
		n = UINT32_MAX - *b;
	*b += n;
	w->sum += n;
}

int
window_fits(struct window *w, int64_t now, uint64_t limit, uint64_t n, int64_t *free_at)
{
	uint64_t used = window_count(w, now);

	if (used + n <= limit)
		return 1;
	if (n > limit) {
		*free_at = -1;
		return 0;
	}
	/* Walk from the oldest bucket: each frees its count at the end of its slice + span. */
	for (int64_t age = WINDOW_SLOTS - 1; age >= 0; age--) {
		int64_t idx = w->newest - age;
		used -= w->b[((idx % WINDOW_SLOTS) + WINDOW_SLOTS) % WINDOW_SLOTS];
		if (used + n <= limit) {
			*free_at = (idx + WINDOW_SLOTS) * WIDTH(w);
			return 0;
		}
	}
	*free_at = (w->newest + WINDOW_SLOTS) * WIDTH(w); /* not reached: n <= limit */
	return 0;
}

size_t
window_encode(const struct window *w, uint8_t *buf, size_t len)
{
	size_t need = 1 + 8 + 8 + 4 * WINDOW_SLOTS, o = 0;

	if (len < need)
		return 0;
	buf[o++] = 1;
	for (int i = 0; i < 8; i++)
		buf[o++] = (uint8_t)((uint64_t)w->span >> (8 * i));
	for (int i = 0; i < 8; i++)
		buf[o++] = (uint8_t)((uint64_t)w->newest >> (8 * i));
	for (int k = 0; k < WINDOW_SLOTS; k++)
		for (int i = 0; i < 4; i++)
			buf[o++] = (uint8_t)(w->b[k] >> (8 * i));
	return o;
}

int
window_decode(const void *data, size_t len, struct window *w)
{
	const uint8_t *p = data;
	uint64_t span = 0, newest = 0;

	if (len != 1 + 8 + 8 + 4 * WINDOW_SLOTS || p[0] != 1)
		return -1;
	for (int i = 0; i < 8; i++) {
		span |= (uint64_t)p[1 + i] << (8 * i);
		newest |= (uint64_t)p[9 + i] << (8 * i);
	}
	if (window_init(w, (int64_t)span) < 0)
		return -1;
	w->newest = (int64_t)newest;
	for (int k = 0; k < WINDOW_SLOTS; k++) {
		for (int i = 0; i < 4; i++)
			w->b[k] |= (uint32_t)p[17 + 4 * k + i] << (8 * i);
		w->sum += w->b[k];
	}
	return 0;
}
