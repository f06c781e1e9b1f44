/* suppress_view -- suppression entries as JSON, bulk writes; see suppress_view.h. */
#include "config.h"

#include "suppress_view.h"
#include "suppress/suppress.h"
#include "util/text.h"

/* RFC 3339, or "" for 0. */
static const char *
time_or_empty(int64_t t, char *buf, size_t len)
{
	return t ? text_time_format(t, buf, len) : "";
}

json_t *
suppress_entry_json(const char *scope, const char *target, const struct suppress_rec *r)
{
	char c[32], u[32], e[32];
	json_t *o = json_pack("{s:s, s:s*, s:s, s:s, s:s, s:s*, s:s}", "address", target, "account",
			      scope[0] ? scope : NULL, "scope", scope[0] ? "account" : "global",
			      "reason", suppress_reason_name(r->reason), "first_seen",
			      time_or_empty(r->created, c, sizeof(c)), "expires",
			      r->expires ? text_time_format(r->expires, e, sizeof(e)) : NULL,
			      "last_seen", time_or_empty(r->updated, u, sizeof(u)));

	if (r->note[0])
		json_object_set_new(o, "note", json_string(r->note));
	return o;
}

int
suppress_put_batch(struct store_txn *txn, const struct sio_entry *e, size_t n, int64_t now)
{
	for (size_t i = 0; i < n; i++) {
		struct suppress_rec rec = {.reason = (uint8_t)e[i].reason,
					   .created = now,
					   .updated = now,
					   .expires = e[i].expires};
		int rc = suppress_put(txn, e[i].scope, e[i].target, &rec);
		if (rc != STORE_OK)
			return rc;
	}
	return STORE_OK;
}
