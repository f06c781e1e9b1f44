/*
 * ctl_release -- `account resume NAME --release`: hand the account's messages
 * that accounts.paused_action = hold parked in Postfix's hold queue back to
 * Postfix, with `postsuper -c DIR -H -` (queue ids on standard input; no
 * shell), schedule each for delivery now with `postqueue -c DIR -i ID` (a
 * released message goes to the deferred queue, which qmgr otherwise scans
 * only every queue_run_delay), then forget that they were held.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "store/records.h"
#include "util/xalloc.h"

struct held {
	const char *account;
	char (*ids)[ACCOUNT_NAME_MAX];
	size_t n;
};

static int
collect_held(const struct store_val *k, const struct store_val *v, void *arg)
{
	struct held *h = arg;
	struct message_rec m;

	if (k->len >= ACCOUNT_NAME_MAX || rec_message_decode(v->data, v->len, &m) < 0 ||
	    !(m.flags & MSG_HELD) || strcmp(m.account, h->account) != 0)
		return 0;
	h->ids = xrealloc(h->ids, (h->n + 1) * sizeof(*h->ids));
	memcpy(h->ids[h->n], k->data, k->len);
	h->ids[h->n++][k->len] = '\0';
	return 0;
}

/* Run postsuper -c DIR -H - with the queue ids on its standard input; 0 on success. */
static int
run_postsuper(const struct conf *conf, const struct held *h)
{
	int fds[2], status;
	pid_t pid;
	FILE *fp;

	if (pipe(fds) < 0)
		return -1;
	if ((pid = fork()) == 0) {
		char *argv[] = {
		    conf->postfix.postsuper, "-c", conf->postfix.config_directory, "-H", "-", NULL};
		dup2(fds[0], 0);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], argv);
		fprintf(stderr, "outpostctl: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[0]);
	if (pid < 0 || (fp = fdopen(fds[1], "w")) == NULL) {
		close(fds[1]);
		return -1;
	}
	for (size_t i = 0; i < h->n; i++)
		fprintf(fp, "%s\n", h->ids[i]);
	fclose(fp);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Run postqueue -c DIR -i ID and wait for it; 0 on success. */
static int
run_postqueue(const struct conf *conf, const char *id)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		char *argv[] = {conf->postfix.postqueue,
				"-c",
				conf->postfix.config_directory,
				"-i",
				(char *)id,
				NULL};
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int
clear_held(struct store_txn *txn, void *arg)
{
	const struct held *h = arg;

	for (size_t i = 0; i < h->n; i++) {
		struct store_val v;
		struct message_rec m;
		uint8_t buf[RECORD_MAX];
		size_t n;
		int rc = store_get(txn, DB_MESSAGE, h->ids[i], strlen(h->ids[i]), &v);

		if (rc == STORE_NOTFOUND ||
		    (rc == STORE_OK && rec_message_decode(v.data, v.len, &m) < 0))
			continue;
		if (rc != STORE_OK)
			return rc;
		m.flags &= (uint8_t)~MSG_HELD;
		if ((n = rec_message_encode(&m, buf, sizeof(buf))) == 0 ||
		    store_put(txn, DB_MESSAGE, h->ids[i], strlen(h->ids[i]), buf, n) != STORE_OK)
			return STORE_ERR;
	}
	return STORE_OK;
}

int
ctl_release_held(struct ctl *ctl, const char *account)
{
	struct held h = {account, NULL, 0};
	struct store_txn *txn;
	int rc = EXIT_OK;

	if (store_read_begin(ctl->st, &txn) != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	if (store_scan(txn, DB_MESSAGE, "", 0, NULL, 0, collect_held, &h) == STORE_ERR)
		rc = ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	store_read_end(txn);
	if (rc == EXIT_OK && h.n > 0 && run_postsuper(ctl->conf, &h) < 0)
		rc = ctl_err(EXIT_UNAVAILABLE, "%s -c %s -H failed; the messages stay on hold",
			     ctl->conf->postfix.postsuper, ctl->conf->postfix.config_directory);
	if (rc == EXIT_OK && h.n > 0 && store_write(ctl->st, clear_held, &h) != STORE_OK)
		rc = ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	for (size_t i = 0; rc == EXIT_OK && i < h.n; i++)
		if (run_postqueue(ctl->conf, h.ids[i]) < 0)
			fprintf(stderr,
				"outpostctl: %s -i %s failed: the message is released and "
				"waits for the next deferred queue run\n",
				ctl->conf->postfix.postqueue, h.ids[i]);
	if (rc == EXIT_OK && !ctl->json)
		printf("released %zu held message%s of account %s\n", h.n, h.n == 1 ? "" : "s",
		       account);
	free(h.ids);
	return rc;
}
