/* gcra -- rate limits with a burst; see gcra.h. */
#include "config.h"

#include "gcra.h"

int
gcra_limit_init(struct gcra_limit *l, int64_t rate, int64_t period_us, int64_t burst)
{
	if (rate <= 0 || period_us <= 0 || burst < 1)
		return -1;
	l->interval_us = period_us / rate > 0 ? period_us / rate : 1;
	l->burst = burst;
	return 0;
}

int
gcra_take(const struct gcra_limit *l, int64_t *tat, int64_t now_us, int64_t n, int64_t *retry_us)
{
	int64_t start = *tat > now_us ? *tat : now_us;
	int64_t new_tat = start + n * l->interval_us;
	int64_t allowed = l->burst * l->interval_us;

	if (n > l->burst) {
		if (retry_us)
			*retry_us = -1;
		return 0;
	}
	if (new_tat - now_us > allowed) {
		if (retry_us)
			*retry_us = new_tat - now_us - allowed;
		return 0;
	}
	*tat = new_tat;
	return 1;
}

int64_t
gcra_available(const struct gcra_limit *l, int64_t tat, int64_t now_us)
{
	int64_t used = tat > now_us ? tat - now_us : 0;
	int64_t free_us = l->burst * l->interval_us - used;

	return free_us > 0 ? free_us / l->interval_us : 0;
}
