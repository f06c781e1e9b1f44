/* quota -- quotas and rates at RCPT and END-OF-MESSAGE; see quota.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "quota.h"
#include "decide/simulator.h"
#include "decide/decide.h"
#include "cluster/lease.h"
#include "quota/gcra.h"
#include "util/log.h"
#include "util/text.h"

struct qtable *quota_table;

/* One scope of a request: its slot key, limits and how a tenant reads its name. */
struct scope {
	char key[QSLOT_KEY_MAX];
	struct quota_limits lim;
	double rate_factor; /* review: a fraction of the rate */
	const char *what;   /* "" for the account, "sender domain example.test", "host" */
	int fleet; /* the count limits are leased from the fleet: 1 + enum conf_partition_quota */
};

/* Why a recipient was refused. */
struct refusal {
	const char *kind; /* "rate", "daily", "hourly", "monthly" */
	int64_t limit, rate_per, burst;
	int64_t retry_at; /* epoch seconds; 0: unknown (transactions in flight) */
};

static struct log_rl full_rl = LOG_RL_INIT(1);

int
quota_open(const struct conf *conf, int create, char *err, size_t errlen)
{
	char path[4096];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/quota.tab", conf->store.path);
	quota_table = qtable_open(path, (uint32_t)conf->quota.table_size, create, err, errlen);
	if (quota_table == NULL)
		return -1;
	/* Created by root (outpostctl): give it to the store's owner, as store.c does. */
	if (create && geteuid() == 0 && stat(conf->store.path, &sb) == 0 &&
	    chown(path, sb.st_uid, sb.st_gid) < 0)
		log_warn("chown %s", path);
	return 0;
}

void
quota_limits_default(const struct conf *conf, struct quota_limits *l)
{
	l->rate_n = conf->limits.max_rate.n;
	l->rate_per = conf->limits.max_rate.per;
	l->burst = conf->limits.max_rate_burst;
	l->daily = conf->limits.daily_quota;
	l->hourly = conf->limits.hourly_quota;
	l->monthly = conf->limits.monthly_quota;
}

int
quota_limits_set(struct quota_limits *l, const char *key, const char *value)
{
	if (strcmp(key, "max-rate") == 0)
		return text_rate_parse(value, &l->rate_n, &l->rate_per);
	if (strcmp(key, "max-rate-burst") == 0)
		return text_count_parse(value, &l->burst);
	if (strcmp(key, "daily-quota") == 0)
		return text_count_parse(value, &l->daily);
	if (strcmp(key, "hourly-quota") == 0)
		return text_count_parse(value, &l->hourly);
	if (strcmp(key, "monthly-quota") == 0)
		return text_count_parse(value, &l->monthly);
	return 0;
}

static int
limits_any(const struct quota_limits *l)
{
	return l->rate_n || l->daily || l->hourly || l->monthly;
}

/* KEY (QSLOT_KEY_MAX bytes) becomes "P:NAME", NAME cut to fit as snprintf would. */
static void
key_make(char *key, char prefix, const char *name)
{
	size_t n = strlen(name);

	if (n > QSLOT_KEY_MAX - 3)
		n = QSLOT_KEY_MAX - 3;
	key[0] = prefix;
	key[1] = ':';
	memcpy(key + 2, name, n);
	key[2 + n] = '\0';
}

/* The scopes of one message: the account, its sender domain (if capped), the host. */
static int
scopes_build(const struct conf *conf, const struct verdict *v, const char *sender, struct scope *sc)
{
	const char *at = sender ? strrchr(sender, '@') : NULL;
	int n = 0;

	memset(sc, 0, QUOTA_SCOPES * sizeof(*sc));
	key_make(sc[n].key, 'a', v->account);
	sc[n].lim = v->limits;
	sc[n].rate_factor = v->review ? conf->limits.review_rate_factor : 1.0;
	sc[n].fleet = conf->cluster.redis[0] ? 1 + conf->cluster.partition_quota : 0;
	sc[n++].what = "";
	if (at && at[1] &&
	    (conf->limits.domain_max_rate.n || conf->limits.domain_daily_quota ||
	     conf->limits.domain_hourly_quota)) {
		key_make(sc[n].key, 'd', at + 1);
		text_lower(sc[n].key + 2);
		sc[n].lim.rate_n = conf->limits.domain_max_rate.n;
		sc[n].lim.rate_per = conf->limits.domain_max_rate.per;
		sc[n].lim.daily = conf->limits.domain_daily_quota;
		sc[n].lim.hourly = conf->limits.domain_hourly_quota;
		sc[n].rate_factor = 1.0;
		sc[n++].what = "sender domain ";
	}
	key_make(sc[n].key, 'h', "");
	sc[n].lim.rate_n = conf->limits.host_max_rate.n;
	sc[n].lim.rate_per = conf->limits.host_max_rate.per;
	sc[n].lim.daily = conf->limits.host_daily_quota;
	sc[n].lim.hourly = conf->limits.host_hourly_quota;
	sc[n].rate_factor = 1.0;
	sc[n++].what = "host";
	return n;
}

/*
 * Year * 12 + month (0-based) of NOW (UTC): the civil-from-days arithmetic
 * (H. Hinnant), not gmtime_r(), which takes glibc's time-zone lock on every
 * call, and this runs on every recipient.
 */
int64_t
quota_month_index(int64_t now)
{
	int64_t z = (now >= 0 ? now : now - 86399) / 86400 + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t m = mp < 10 ? mp + 3 : mp - 9; /* 1..12 */

	return (yoe + era * 400 + (m <= 2)) * 12 + m - 1;
}

/* The first second of month index M (year * 12 + month). */
static int64_t
month_start(int64_t m)
{
	struct tm tm = {.tm_year = (int)(m / 12) - 1900, .tm_mon = (int)(m % 12), .tm_mday = 1};

	return (int64_t)timegm(&tm);
}

static void
month_roll(struct qslot *s, int64_t now)
{
	int64_t m = quota_month_index(now);

	if (m > s->month) {
		s->month = m;
		s->month_count = 0;
	}
}

static uint64_t
reserved(const struct qslot *s, int64_t minute)
{
	uint64_t sum = 0;

	for (int i = 0; i < QRES_BUCKETS; i++)
		if (s->res_min[i] > minute - QRES_BUCKETS && s->res_min[i] <= minute)
			sum += s->res[i];
	return sum;
}

/*
 * GCRA of a scope: the limit as it stands now (review factor applied), of
 * which this node may use SHARE per mille (the fleet's rate lease; QF_RATE_ALL
 * without a fleet); 0 if no rate.  SHARE must not be 0.
 */
static int
scope_gcra(const struct scope *sc, uint64_t share, struct gcra_limit *g)
{
	const struct quota_limits *l = &sc->lim;
	int64_t burst = l->burst;
	double period_us = l->rate_per * 1e6 / sc->rate_factor;

	if (l->rate_n == 0)
		return 0;
	if (burst <= 0) {
		burst = l->rate_n / l->rate_per;
		if (burst < 1)
			burst = 1;
	}
	if (share < QF_RATE_ALL) {
		period_us = period_us * QF_RATE_ALL / (double)share;
		burst = burst * (int64_t)share / QF_RATE_ALL;
		if (burst < 1)
			burst =
			    1; /* each node at least one: the fleet's burst + nodes - 1 at most */
	}
	return gcra_limit_init(g, l->rate_n, (int64_t)period_us, burst) == 0;
}

/* Would one more recipient fit every count limit of slot S?  0 with R filled if not. */
static int
counts_fit(struct qslot *s, const struct quota_limits *l, int64_t now, uint64_t res,
	   struct refusal *r)
{
	int64_t free_at;

	if (l->daily && (res + 1 > (uint64_t)l->daily ||
			 !window_fits(&s->day, now, (uint64_t)l->daily - res, 1, &free_at))) {
		*r = (struct refusal){"daily", l->daily, 0, 0,
				      res + 1 > (uint64_t)l->daily ? 0 : free_at};
		return 0;
	}
	if (l->hourly &&
	    (res + 1 > (uint64_t)l->hourly ||
	     !window_fits(&s->hour, now * 2, (uint64_t)l->hourly - res, 1, &free_at))) {
		*r = (struct refusal){"hourly", l->hourly, 0, 0,
				      res + 1 > (uint64_t)l->hourly ? 0 : (free_at + 1) / 2};
		return 0;
	}
	month_roll(s, now);
	if (l->monthly && s->month_count + res + 1 > (uint64_t)l->monthly) {
		*r = (struct refusal){
		    "monthly", l->monthly, 0, 0,
		    s->month_count + 1 > (uint64_t)l->monthly ? month_start(s->month + 1) : 0};
		return 0;
	}
	return 1;
}

/* The limit of SC that lease KIND stands for, and its name in a refusal. */
static int64_t
fleet_limit(const struct scope *sc, enum qfleet_kind kind, const char **name)
{
	static const char *const names[QF_KINDS] = {"daily", "hourly", "monthly"};

	*name = names[kind];
	return kind == QF_DAY ? sc->lim.daily : kind == QF_HOUR ? sc->lim.hourly : sc->lim.monthly;
}

/* Slot S's allowance of lease KIND at NOW_MS: 0 once it lapsed (see lease.h). */
static uint64_t
fleet_cap(const struct qslot *s, enum qfleet_kind kind, int64_t now_ms)
{
	const struct qfleet *f = &s->fleet[kind];

	if (f->ms < now_ms - lease_kinds[kind].max_age_ms)
		return 0; /* Redis forgets an allowance not renewed in time: so does the node */
	if (kind == QF_MONTH && quota_month_index(f->ms / 1000) != quota_month_index(now_ms / 1000))
		return 0; /* granted for last month */
	return f->allow;
}

/* Queue lease KIND of S for the cluster process, unless it is queued already. */
static void
fleet_ask(struct qslot *s, enum qfleet_kind kind)
{
	if (s->fleet[kind].ask == s->fleet[kind].seen) {
		s->fleet[kind].ask++;
		qtable_fleet_ask(quota_table, qslot_index(quota_table, s), kind);
	}
}

/*
 * The fleet's lease KIND (cluster/lease.h): may that count of S, with what
 * is reserved, grow by one?  Within the allowance Redis granted, yes; beyond it,
 * while connected, no (the cluster process is asked for more and the
 * recipient is tempfailed: the decision never waits on the network); cut off
 * from Redis, up to the limit / nodes seen (share) or no (tempfail).  Unless
 * DRY, remember the limit and ask for more when the allowance runs low.
 */
static int
fleet_fits(struct qslot *s, const struct scope *sc, enum qfleet_kind kind, int64_t now_us, int dry,
	   struct refusal *r)
{
	const char *name;
	int64_t limit = fleet_limit(sc, kind, &name);
	uint64_t used = quota_slot_used(s, kind, now_us / 1000000); /* reserved included */
	uint64_t cap = fleet_cap(s, kind, now_us / 1000);
	uint32_t nodes;
	int connected = qtable_fleet_connected(quota_table, now_us / 1000, &nodes);

	if (!connected && sc->fleet == 1 + PQ_SHARE) {
		uint64_t share = (uint64_t)limit / (nodes ? nodes : 1);
		if (share > cap)
			cap = share;
	}
	if (used + 1 > cap)
		*r = (struct refusal){name, limit, 0, 0, 0};
	if (dry)
		return used + 1 <= cap;
	s->fleet[kind].limit = limit;
	/* Short, or running low (half the last batch left): ask once, before it is short. */
	if (used + 1 > cap || (connected && (cap - used - 1) * 2 < s->fleet[kind].batch))
		fleet_ask(s, kind);
	return used + 1 <= cap;
}

/*
 * The share of SC's rate slot S may use now (per mille; QF_RATE_ALL without a
 * fleet or a rate): the fleet's rate lease, or cut off from Redis at least
 * 1 / nodes seen (share) or nothing beyond it (tempfail).  0: none yet (the
 * cluster process is asked, unless DRY).
 */
static uint64_t
fleet_rate_share(struct qslot *s, const struct scope *sc, int64_t now_us, int dry)
{
	uint64_t cap;
	uint32_t nodes;

	if (!sc->fleet || sc->lim.rate_n == 0)
		return QF_RATE_ALL;
	cap = fleet_cap(s, QF_RATE, now_us / 1000);
	if (!qtable_fleet_connected(quota_table, now_us / 1000, &nodes) &&
	    sc->fleet == 1 + PQ_SHARE && cap < QF_RATE_ALL / (nodes ? nodes : 1))
		cap = QF_RATE_ALL / (nodes ? nodes : 1);
	if (cap > QF_RATE_ALL)
		cap = QF_RATE_ALL;
	if (!dry) {
		s->fleet[QF_RATE].limit = QF_RATE_ALL;
		if (cap == 0)
			fleet_ask(s, QF_RATE);
	}
	return cap;
}

/*
 * The rate's state of S reckoned at SHARE per mille: when the share changed,
 * what is owed (TAT beyond NOW) is rescaled, so the units already taken stay
 * taken and the rest of the new burst is free.
 */
static void
tat_rescale(struct qslot *s, uint64_t share, int64_t now_us)
{
	uint64_t was = s->tat_share ? s->tat_share : QF_RATE_ALL;

	if (was == share)
		return;
	if (s->tat_us > now_us)
		s->tat_us = now_us + (int64_t)((double)(s->tat_us - now_us) * was / share);
	s->tat_share = share == QF_RATE_ALL ? 0 : share;
}

/* Every lease of SC in S (see fleet_fits): 1, or 0 with R filled. */
static int
fleets_fit(struct qslot *s, const struct scope *sc, int64_t now_us, int dry, struct refusal *r)
{
	const char *name;

	for (int k = QF_DAY; k <= QF_MONTH; k++)
		if (fleet_limit(sc, k, &name) > 0 && !fleet_fits(s, sc, k, now_us, dry, r))
			return 0;
	return 1;
}

/*
 * Admit one recipient in scope SC (slot S locked by the caller) at NOW_US:
 * 1, or 0 with R filled.  Unless DRY, reserve it in the bucket of MINUTE and
 * take one rate unit (*INTERVAL_US: its size, for a refund).
 */
static int
admit_slot(struct qslot *s, const struct scope *sc, int64_t now_us, int64_t minute, int dry,
	   int64_t *interval_us, struct refusal *r)
{
	int64_t now = now_us / 1000000, tat, retry_us;
	uint64_t res = reserved(s, now / 60), share;
	struct gcra_limit g;
	int rate, b = (int)(minute % QRES_BUCKETS);

	if (!counts_fit(s, &sc->lim, now, res, r))
		return 0;
	if (sc->fleet && !fleets_fit(s, sc, now_us, dry, r))
		return 0;
	if ((share = fleet_rate_share(s, sc, now_us, dry)) == 0) {
		*r = (struct refusal){"rate", sc->lim.rate_n, sc->lim.rate_per, sc->lim.burst, 0};
		return 0; /* no share of the fleet's rate yet: asked for */
	}
	if (!dry)
		tat_rescale(s, share, now_us);
	tat = s->tat_us;
	rate = scope_gcra(sc, share, &g);
	if (rate && !gcra_take(&g, &tat, now_us, 1, &retry_us)) {
		*r = (struct refusal){"rate", sc->lim.rate_n, sc->lim.rate_per, g.burst,
				      now + (retry_us + 999999) / 1000000};
		if (!dry && share < QF_RATE_ALL)
			fleet_ask(s, QF_RATE); /* short of its share: ask for more */
		return 0;
	}
	if (dry)
		return 1;
	s->tat_us = tat;
	*interval_us = rate ? g.interval_us : 0;
	if (s->res_min[b] != minute) {
		s->res_min[b] = minute;
		s->res[b] = 0;
	}
	s->res[b]++;
	return 1;
}

/* Give back N recipients reserved in MINUTE and N rate units of INTERVAL_US. */
static void
release_slot(struct qslot *s, int64_t minute, uint32_t n, int64_t interval_us)
{
	int b = (int)(minute % QRES_BUCKETS);

	if (s->res_min[b] == minute)
		s->res[b] = s->res[b] > n ? s->res[b] - n : 0;
	s->tat_us -= (int64_t)n * interval_us;
}

/* Give back what transaction X reserved (it ended without END-OF-MESSAGE, or at it). */
static void
txn_release(const struct qtxn *x)
{
	for (uint32_t i = 0; i < x->nslots && x->n > 0; i++) {
		struct qslot *s = qslot_at(quota_table, x->slot[i]);
		if (s == NULL)
			continue;
		qslot_lock(quota_table, s);
		release_slot(s, x->minute, x->n, x->interval_us[i]);
		qslot_unlock(s);
	}
}

void
quota_release(struct quota_conn *qc)
{
	struct qtxn x;

	if (quota_table && qc->held && qtxn_take(quota_table, qc->instance, &x, &qc->hint))
		txn_release(&x);
	qc->instance[0] = '\0';
	qc->held = 0;
}

/* A slot for SC, made on first use; NULL (logged) if the table is full. */
static struct qslot *
scope_slot(const struct scope *sc, int create)
{
	struct qslot *s = qtable_find(quota_table, sc->key, create);

	if (s == NULL && create && log_allow(&full_rl))
		log_warnx("quota: table full (%u slots): %s is not counted; raise quota.table_size",
			  qtable_slots(quota_table), sc->key);
	return s;
}

/*
 * Admit one recipient in every scope, in order (the same order everywhere, so
 * locks are never taken crosswise), reserving it in transaction X (NULL: only
 * check).  On a refusal, undo the scopes already admitted and return the
 * index of the refusing scope; -1 when admitted.
 */
static int
admit(struct scope *sc, int nsc, int64_t now_us, struct qtxn *x, struct refusal *r)
{
	int64_t minute = now_us / 60000000, interval[QUOTA_SCOPES] = {0};
	struct qslot *slot[QUOTA_SCOPES] = {0};
	int dry = x == NULL;

	if (x && x->n > 0 && minute - x->minute >= QRES_BUCKETS - 1) {
		txn_release(x); /* its oldest reservation is about to lapse: start afresh */
		x->n = x->nslots = 0;
	}
	if (x && x->n > 0)
		minute = x->minute;
	for (int i = 0; i < nsc; i++) {
		if (!limits_any(&sc[i].lim))
			continue;
		if ((slot[i] = scope_slot(&sc[i], !dry)) == NULL)
			continue; /* never used (dry) or no room: nothing to hold it to */
		window_prefetch(&slot[i]->day, now_us / 1000000);
		window_prefetch(&slot[i]->hour, now_us / 500000);
		qslot_lock(quota_table, slot[i]);
		int ok = admit_slot(slot[i], &sc[i], now_us, minute, dry, &interval[i], r);
		qslot_unlock(slot[i]);
		if (ok)
			continue;
		for (int j = 0; j < i && !dry; j++)
			if (slot[j]) {
				qslot_lock(quota_table, slot[j]);
				release_slot(slot[j], minute, 1, interval[j]);
				qslot_unlock(slot[j]);
			}
		return i;
	}
	if (dry)
		return -1;
	if (x->n == 0) {
		x->nslots = 0;
		for (int i = 0; i < nsc; i++)
			if (slot[i]) {
				x->slot[x->nslots] = qslot_index(quota_table, slot[i]);
				x->interval_us[x->nslots++] = interval[i];
			}
		x->minute = minute;
	}
	x->n++;
	return -1;
}

/*
 * END-OF-MESSAGE: COUNT recipients sent in every scope; what transaction X
 * (if any) reserved is given back in the same step, so the count never shows
 * twice.
 */
static void
commit(struct scope *sc, int nsc, int64_t now_us, const struct qtxn *x, uint32_t count)
{
	int64_t now = now_us / 1000000;
	struct gcra_limit g;
	uint64_t share;

	for (int i = 0; i < nsc; i++) {
		struct qslot *s = scope_slot(&sc[i], 1);
		if (s == NULL)
			continue;
		qslot_lock(quota_table, s);
		for (uint32_t j = 0; x && j < x->nslots; j++)
			if (x->slot[j] == qslot_index(quota_table, s))
				release_slot(s, x->minute, x->n, x->interval_us[j]);
		window_add(&s->day, now, count);
		window_add(&s->hour, now * 2, count);
		month_roll(s, now);
		s->month_count += count;
		s->total += count;
		/* Rate units: the reservation gave back what it took; take what was sent. */
		share = fleet_rate_share(s, &sc[i], now_us, 1);
		if (share > 0)
			tat_rescale(s, share, now_us);
		if (share > 0 && scope_gcra(&sc[i], share, &g)) {
			if (s->tat_us < now_us)
				s->tat_us = now_us;
			s->tat_us += (int64_t)count * g.interval_us;
		}
		qslot_unlock(s);
	}
}

/* "Daily sending quota exceeded (50000 recipients per 24 h); retry after 14:05 UTC" */
static void
refusal_text(const struct scope *sc, const struct refusal *r, int64_t now, char *buf, size_t len)
{
	static const char *const units[] = {"s", "min", "h", "day"};
	char who[QSLOT_KEY_MAX + 32], when[64];
	struct tm tm;
	time_t t = (time_t)r->retry_at;

	if (sc->what[0] == '\0')
		who[0] = '\0';
	else if (strcmp(sc->what, "host") == 0)
		snprintf(who, sizeof(who), " of this host");
	else
		snprintf(who, sizeof(who), " of %s%s", sc->what, sc->key + 2);
	gmtime_r(&t, &tm);
	if (r->retry_at == 0)
		snprintf(when, sizeof(when), "retry in a few minutes");
	else if (r->retry_at - now < 600)
		snprintf(when, sizeof(when), "retry in %lld s", (long long)(r->retry_at - now));
	else if (r->retry_at - now < 12 * 3600) /* further: the date too, or it reads as today */
		strftime(when, sizeof(when), "retry after %H:%M UTC", &tm);
	else
		strftime(when, sizeof(when), "retry after %Y-%m-%d %H:%M UTC", &tm);
	if (strcmp(r->kind, "rate") == 0) {
		int u = r->rate_per == 1 ? 0 : r->rate_per == 60 ? 1 : r->rate_per == 3600 ? 2 : 3;
		snprintf(buf, len,
			 "Maximum sending rate%s exceeded (%lld recipients/%s, burst %lld%s); %s",
			 who, (long long)r->limit, units[u], (long long)r->burst,
			 sc->rate_factor < 1.0 ? ", reduced: account under review" : "", when);
	} else if (strcmp(r->kind, "daily") == 0)
		snprintf(buf, len, "Daily sending quota%s exceeded (%lld recipients per 24 h); %s",
			 who, (long long)r->limit, when);
	else if (strcmp(r->kind, "hourly") == 0)
		snprintf(buf, len, "Hourly sending quota%s exceeded (%lld recipients per hour); %s",
			 who, (long long)r->limit, when);
	else
		snprintf(
		    buf, len,
		    "Monthly sending quota%s exceeded (%lld recipients per calendar month); %s",
		    who, (long long)r->limit, when);
}

/* V becomes the tempfail of refusal R in scope SC (would_refuse in monitor mode). */
static void
verdict_refuse(struct verdict *v, const struct scope *sc, const struct refusal *r, int64_t now)
{
	int rate = strcmp(r->kind, "rate") == 0;

	v->kind = VK_TEMPFAIL;
	v->rule = rate				   ? "max_rate"
		  : strcmp(r->kind, "daily") == 0  ? "daily_quota"
		  : strcmp(r->kind, "hourly") == 0 ? "hourly_quota"
						   : "monthly_quota";
	text_copy(v->code, sizeof(v->code), rate ? "450" : "452");
	text_copy(v->dsn, sizeof(v->dsn), rate ? "4.7.1" : "4.5.3");
	refusal_text(sc, r, now, v->text, sizeof(v->text));
	if (v->monitor) {
		v->would = VK_TEMPFAIL;
		v->kind = VK_PASS;
		__atomic_fetch_add(&decide_stats.would_refuse, 1, __ATOMIC_RELAXED);
	} else
		__atomic_fetch_add(&decide_stats.refused[VK_TEMPFAIL], 1, __ATOMIC_RELAXED);
}

/*
 * RCPT: admit one recipient under the transaction INSTANCE (QC NULL: only
 * check).  The index of the refusing scope with R filled, or -1.
 */
static int
rcpt_admit(struct scope *sc, int nsc, const char *instance, struct quota_conn *qc, int64_t now_us,
	   struct refusal *r)
{
	struct qtxn *x = NULL, unused;
	int which;

	if (qc && instance && instance[0])
		x = qtxn_get(quota_table, instance, 1, now_us / 60000000, &qc->hint);
	if (qc && x == NULL && log_allow(&full_rl))
		log_warnx("quota: no room for transaction %s (%d in flight): checked, not reserved",
			  instance ? instance : "-", QTXN_MAX);
	which = admit(sc, nsc, now_us, qc ? x : NULL, r);
	if (x && (x->n > 0 || x->sim > 0))
		qc->held = 1;
	else if (x)
		qtxn_take(quota_table, instance, &unused,
			  &qc->hint); /* nothing reserved: don't keep it */
	return which;
}

/* A simulator recipient: remembered with the transaction, neither checked nor reserved. */
static void
simulator_note(const struct facts *f, const struct verdict *v, struct quota_conn *qc,
	       int64_t now_us)
{
	struct qtxn *x;

	if (qc == NULL || f->instance == NULL || f->instance[0] == '\0' ||
	    (x = qtxn_get(quota_table, f->instance, 1, now_us / 60000000, &qc->hint)) == NULL)
		return;
	x->sim++;
	x->sim_complaints += v->simulator == SIM_COMPLAINT;
	qc->held = 1;
}

/*
 * END-OF-MESSAGE: commit what Postfix accepted (less the simulator's
 * recipients, which never count) and drop the transaction's reservation.
 */
static void
eom_commit(struct scope *sc, int nsc, const struct facts *f, struct verdict *v,
	   struct quota_conn *qc, int64_t now_us)
{
	struct qtxn taken;
	int held = qc && qtxn_take(quota_table, f->instance, &taken, &qc->hint);
	uint32_t count = f->recipient_count;

	if (held && taken.sim > 0) {
		count = count > taken.sim ? count - taken.sim : 0;
		v->sim_complaints = taken.sim_complaints;
	}
	if (v->kind == VK_PASS && !v->would)
		commit(sc, nsc, now_us, held ? &taken : NULL, count);
	else if (held)
		txn_release(&taken);
}

void
quota_decide(const struct conf *conf, const struct facts *f, struct verdict *v,
	     struct quota_conn *qc)
{
	struct scope sc[QUOTA_SCOPES];
	struct refusal r = {0};
	int64_t now_us;
	int nsc, which;

	if (quota_table == NULL || !v->quota || f->door != conf->quota.front_door)
		return;
	now_us = f->now_us > 0 ? f->now_us : f->now * 1000000;
	if (qc && f->instance && strcmp(qc->instance, f->instance) != 0) {
		quota_release(qc); /* the connection's previous transaction ended unsent */
		text_copy(qc->instance, sizeof(qc->instance), f->instance);
	}
	nsc = scopes_build(conf, v, f->sender, sc);
	if (f->stage == STAGE_EOM) {
		eom_commit(sc, nsc, f, v, qc, now_us);
		return;
	}
	if (f->stage != STAGE_RCPT || v->kind != VK_PASS || v->would)
		return;
	if (v->simulator) {
		simulator_note(f, v, qc, now_us);
		return;
	}
	for (which = 0; which < nsc && !limits_any(&sc[which].lim); which++)
		;
	if (which == nsc)
		return; /* no limit: nothing to check or reserve (END-OF-MESSAGE still counts) */
	if ((which = rcpt_admit(sc, nsc, f->instance, qc, now_us, &r)) >= 0)
		verdict_refuse(v, &sc[which], &r, now_us / 1000000);
}

uint64_t
quota_slot_used(struct qslot *s, enum qfleet_kind kind, int64_t now)
{
	uint64_t res = reserved(s, now / 60);

	if (kind == QF_DAY)
		return window_count(&s->day, now) + res;
	if (kind == QF_HOUR)
		return window_count(&s->hour, now * 2) + res;
	month_roll(s, now);
	return s->month_count + res;
}
int
quota_usage(const char *key, const struct quota_limits *l, int64_t now, struct quota_usage *u)
{
	struct scope sc = {.lim = *l, .rate_factor = 1.0};
	struct qslot *s;
	struct gcra_limit g;

	memset(u, 0, sizeof(*u));
	u->rate_available = -1;
	if (quota_table == NULL || (s = qtable_find(quota_table, key, 0)) == NULL)
		return -1;
	qslot_lock(quota_table, s);
	u->day = window_count(&s->day, now);
	u->hour = window_count(&s->hour, now * 2);
	month_roll(s, now);
	u->month = s->month_count;
	u->reserved = reserved(s, now / 60);
	u->total = s->total;
	if (scope_gcra(&sc, QF_RATE_ALL, &g))
		u->rate_available = gcra_available(&g, s->tat_us, now * 1000000);
	qslot_unlock(s);
	return 0;
}
