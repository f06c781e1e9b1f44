/*
 * attribute -- whose is this bounce or complaint?  Ties a DSN or an ARF
 * report (parsed by dsn.c / arf.c) to an account, and to a recipient when it
 * can, with the handles the report carries, in this order (first match
 * wins):
 *
 *   1. VERP: the report came back to (or the original's Return-Path is)
 *      bounces+ACCOUNT=LOCAL=DOMAIN@bounce.example, the return path the
 *      platform gives each message (delimiters feedback.verp_delimiters):
 *      the account and the recipient.  Plain Postfix VERP (owner+LOCAL=
 *      DOMAIN@host) names the recipient only; its owner@host is then looked
 *      up as a sender through the identity mappings.
 *   2. Feedback-ID of the original message, as the milter adds it
 *      (milter.feedback_id): the %a form names the account; the %h form is
 *      compared with the keyed hash of every account (the key is the
 *      store's DB_META "feedback_key").
 *   3. The original message's Postfix queue id (X-Postfix-Queue-ID of a
 *      Postfix DSN): the account the front door recorded for it (DB_MESSAGE).
 *   4. Its Message-ID, when Postfix made it (<DATE.QUEUEID@host> or
 *      <QUEUEID@host>): the queue id in it, as in 3.
 *
 * The account must exist.  Nothing here writes or logs.
 */
#ifndef OUTPOST_ATTRIBUTE_H
#define OUTPOST_ATTRIBUTE_H

#include <stdint.h>

#include "conf/conf.h"
#include "feedback/mime.h"
#include "store/records.h"
#include "store/store.h"

struct attribute_in {
	const char *verp_account; /* decoded VERP; "" or NULL when none */
	const char *verp_rcpt;
	const char *verp_owner;	      /* plain VERP: "owner@host", or NULL */
	const struct mime_orig *orig; /* the original's headers (may be NULL) */
	const char *queue_id;	      /* X-Postfix-Queue-ID, or NULL */
	const uint8_t *feedback_key;  /* 16 bytes, NULL if the store has none */
};

struct attribution {
	char account[ACCOUNT_NAME_MAX];
	char recipient[ADDRESS_MAX]; /* normalised, from VERP; "" when not known */
	char queue_id[64];	     /* our queue id of the original message, "" if unknown */
	const char *how;	     /* "verp", "feedback-id", "queue-id", "message-id" */
};

/* STORE_OK with A filled, STORE_NOTFOUND when nothing names an existing account, STORE_ERR. */
int attribute_report(struct store_txn *txn, const struct conf *conf, const struct attribute_in *in,
		     struct attribution *a);

/* The account named by Feedback-ID VALUE under template TMPL; STORE_NOTFOUND if none. */
int attribute_feedback_id(struct store_txn *txn, const char *tmpl, const char *value,
			  const uint8_t *key, char *account, size_t len);

#endif
