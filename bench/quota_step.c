/*
 * quota_step -- what the quota step costs one recipient, without the network:
 * quota_decide() at RCPT on the real shared table (a temporary file), as a
 * policy connection does it, then either the next transaction's release (the
 * policy benchmark's shape: RCPT requests only) or END-OF-MESSAGE's commit.
 * Every account has a daily quota, an hourly quota and a rate, all too large
 * to refuse; the host has a daily cap.  Prints nanoseconds per recipient.
 *
 *   make -C build bench && build/bench/quota_step [ACCOUNTS [SECONDS]]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "quota/quota.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run one shape for SECS: recipients per second, and check nothing was refused. */
static double
run(struct conf *conf, int accounts, double secs, int with_eom)
{
	struct quota_limits l = {
	    .rate_n = 1000000, .rate_per = 1, .daily = 1000000000, .hourly = 1000000000};
	struct quota_conn qc = {0};
	struct verdict v;
	char inst[32];
	uint64_t n = 0;
	double t0 = now_s(), t;

	do {
		for (int i = 0; i < 1000; i++, n++) {
			struct timespec ts;
			struct facts f = {.stage = STAGE_RCPT,
					  .door = DOOR_POLICY,
					  .instance = inst,
					  .sender = "s@app.test",
					  .recipient = "r@dest.test"};
			clock_gettime(CLOCK_REALTIME, &ts);
			snprintf(inst, sizeof(inst), "%llx", (unsigned long long)n);
			memset(&v, 0, sizeof(v));
			snprintf(v.account, sizeof(v.account), "acct%d", (int)(n % accounts));
			v.quota = 1;
			v.limits = l;
			f.now = ts.tv_sec;
			f.now_us = ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
			quota_decide(conf, &f, &v, &qc);
			if (v.kind != VK_PASS) {
				fprintf(stderr, "quota_step: refused: %s\n", v.text);
				exit(1);
			}
			if (with_eom) {
				f.stage = STAGE_EOM;
				f.recipient_count = 1;
				quota_decide(conf, &f, &v, &qc);
			}
		}
	} while ((t = now_s()) - t0 < secs);
	quota_release(&qc);
	return n / (t - t0);
}

int
main(int argc, char **argv)
{
	int accounts = argc > 1 ? atoi(argv[1]) : 10000;
	double secs = argc > 2 ? atof(argv[2]) : 3;
	char dir[] = "/tmp/outpost-quota-step.XXXXXX", path[4200], err[512];
	struct conf *conf;
	FILE *fp;
	double a, b;

	if (accounts < 1 || mkdtemp(dir) == NULL)
		return 2;
	snprintf(path, sizeof(path), "%s/outpost.conf", dir);
	if ((fp = fopen(path, "w")) == NULL)
		return 2;
	fprintf(fp, "store = { path = \"db\"; };\nlimits = { host_daily_quota = 2000000000; };\n");
	fclose(fp);
	if ((conf = conf_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "quota_step: %s\n", err);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/db", dir);
	mkdir(path, 0700);
	if (quota_open(conf, 1, err, sizeof(err)) < 0) {
		fprintf(stderr, "quota_step: %s\n", err);
		return 1;
	}
	qtable_new_generation(quota_table);
	a = run(conf, accounts, secs, 0);
	b = run(conf, accounts, secs, 1);
	printf("quota step, %d accounts, table of %u slots: RCPT + release %.0f ns, RCPT + "
	       "END-OF-MESSAGE %.0f ns per recipient\n",
	       accounts, qtable_slots(quota_table), 1e9 / a, 1e9 / b);
	qtable_close(quota_table);
	conf_free(conf);
	snprintf(path, sizeof(path), "%s/db/quota.tab", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/db", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/outpost.conf", dir);
	unlink(path);
	return rmdir(dir) == 0 ? 0 : 1;
}
