/* ctl_token -- outpostctl token add|list|revoke: the HTTP API's bearer tokens (http/token.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "account/account.h"
#include "http/token.h"

struct add_op {
	const char *text;
	struct token_rec rec;
	int exists;
};

static int
add_txn(struct store_txn *txn, void *arg)
{
	struct add_op *op = arg;
	struct token_rec old;
	int rc = token_find_name(txn, op->rec.name, &old);

	if (rc != STORE_NOTFOUND) {
		op->exists = rc == STORE_OK;
		return rc == STORE_OK ? STORE_NOTFOUND : rc;
	}
	return token_put(txn, op->text, &op->rec);
}

static int
cmd_add(struct ctl *ctl, int argc, char **argv)
{
	const char *scope = NULL, *account = NULL;
	const struct ctl_opt opts[] = {
	    {"--scope", 1, &scope, NULL}, {"--account", 1, &account, NULL}, {NULL, 0, NULL, NULL}};
	char text[TOKEN_TEXT_LEN + 1], *pos[1];
	struct add_op op = {.text = text};
	int npos, rc, s;

	if ((rc = ctl_opts(ctl, argc, argv, opts, pos, &npos, 1, "token", "add")) != EXIT_OK)
		return rc;
	if (npos != 1 || scope == NULL)
		return ctl_usage("token", "add");
	if (!token_name_valid(pos[0]))
		return ctl_err(EXIT_BADINPUT,
			       "'%s' is not a valid token name (1-63 of A-Z a-z 0-9 . _ @ + -)",
			       pos[0]);
	if ((s = token_scope_parse(scope)) < 0)
		return ctl_err(EXIT_BADINPUT, "--scope must be read or write");
	if (account && !account_name_valid(account))
		return ctl_err(EXIT_BADINPUT, "'%s' is not a valid account name", account);
	if (token_generate(text, sizeof(text)) < 0)
		return ctl_err(EXIT_UNAVAILABLE, "getrandom failed");
	op.rec.scope = (uint8_t)s;
	op.rec.created = ctl->now;
	strcpy(op.rec.name, pos[0]);
	strcpy(op.rec.account, account ? account : "");
	if ((rc = ctl_store(ctl)) != EXIT_OK)
		return rc;
	rc = store_write(ctl->st, add_txn, &op);
	if (op.exists)
		return ctl_err(EXIT_BADINPUT, "token %s already exists (revoke it first)", pos[0]);
	if (rc != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	if (!ctl->json)
		printf("token %s (%s%s%s); only its hash is kept, so copy it now:\n", pos[0], scope,
		       account ? ", account " : ", every account", account ? account : "");
	printf("%s\n", text); /* the last line, for scripts */
	return EXIT_OK;
}

static int
list_one(const struct token_rec *rec, void *arg)
{
	struct ctl *ctl = arg;
	char created[32];

	ctl_time(rec->created, created, sizeof(created));
	if (ctl->json) {
		json_t *o = json_pack("{s:s, s:s, s:s*, s:s}", "name", rec->name, "scope",
				      token_scope_name(rec->scope), "account",
				      rec->account[0] ? rec->account : NULL, "created", created);
		ctl_json_print(o);
		json_decref(o);
	} else {
		printf("%-24s %-6s %-24s %s\n", rec->name, token_scope_name(rec->scope),
		       rec->account[0] ? rec->account : "(every account)", created);
	}
	return 0;
}

static int
cmd_list(struct ctl *ctl, int argc, char **argv)
{
	struct store_txn *txn;
	char *pos[1];
	int npos, rc;

	if ((rc = ctl_opts(ctl, argc, argv, NULL, pos, &npos, 0, "token", "list")) != EXIT_OK ||
	    (rc = ctl_store(ctl)) != EXIT_OK)
		return rc;
	if (store_read_begin(ctl->st, &txn) != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	rc = token_scan(txn, list_one, ctl);
	store_read_end(txn);
	return rc == STORE_ERR ? ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st)) : EXIT_OK;
}

static int
revoke_txn(struct store_txn *txn, void *arg)
{
	return token_revoke(txn, arg);
}

static int
cmd_revoke(struct ctl *ctl, int argc, char **argv)
{
	char *pos[1];
	int npos, rc;

	if ((rc = ctl_opts(ctl, argc, argv, NULL, pos, &npos, 1, "token", "revoke")) != EXIT_OK)
		return rc;
	if (npos != 1)
		return ctl_usage("token", "revoke");
	if ((rc = ctl_store(ctl)) != EXIT_OK)
		return rc;
	rc = store_write(ctl->st, revoke_txn, pos[0]);
	if (rc == STORE_NOTFOUND)
		return ctl_err(EXIT_ABSENT, "no token %s", pos[0]);
	if (rc != STORE_OK)
		return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
	if (!ctl->json)
		printf("token %s revoked\n", pos[0]);
	return EXIT_OK;
}

const struct ctl_cmd ctl_token_cmds[] = {
    {"token", "add", cmd_add, "NAME --scope read|write [--account ACCOUNT]",
     "create an HTTP API token and print it as the last line (only its SHA-256 is stored); "
     "--account binds it to one account"},
    {"token", "list", cmd_list, "[--json]", "name, scope, account and creation time of each token"},
    {"token", "revoke", cmd_revoke, "NAME", "delete a token; exit 1 if there is none"},
    {NULL, NULL, NULL, NULL, NULL},
};
