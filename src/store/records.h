/*
 * records -- the on-disk layouts of every record in the store.
 *
 * Each value starts with a version byte; integers are little-endian, times
 * are seconds since the epoch (int64) unless named _us; strings are stored
 * NUL-terminated at the end.  Decoders reject unknown versions and short
 * records (return -1) instead of guessing.  Keys are described beside each
 * struct.  Changing a layout means a new version byte and a decoder for the
 * old one.
 */
#ifndef OUTPOST_RECORDS_H
#define OUTPOST_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#define ACCOUNT_NAME_MAX 128
#define REASON_MAX 256
#define BY_MAX 64
#define ADDRESS_MAX 320

/* DB_SUPPRESS key: SCOPE '\0' TARGET; SCOPE "" is the global list, else an account name;
 * TARGET is a normalised address "local@domain" or a domain "@domain". */
enum suppress_reason {
	SR_BOUNCE = 1,
	SR_COMPLAINT = 2,
	SR_MANUAL = 3,
	SR_UNSUBSCRIBE = 4,
};
struct suppress_rec {
	uint8_t reason;
	int64_t created;
	int64_t updated;
	int64_t expires; /* 0: never */
	char note[REASON_MAX];
};

/* DB_ACCOUNT key: account name. */
enum account_state {
	AS_ACTIVE = 0,
	AS_REVIEW = 1,
	AS_PAUSED = 2,
};
struct account_rec {
	uint8_t state;
	int64_t created;
	int64_t since; /* time of the last state change */
	char reason[REASON_MAX];
	char by[BY_MAX]; /* "operator:root", "rule:bounce-rate", "auto-create" */
};

/* DB_HISTORY key: account name '\0' be64 microseconds: kept in time order per account. */
struct history_rec {
	uint8_t from;
	uint8_t to;
	int64_t when;
	char by[BY_MAX];
	char reason[REASON_MAX];
};

/* DB_MESSAGE key: queue id (or the policy instance when no queue id is known). */
enum front_door { DOOR_POLICY = 1, DOOR_MILTER = 2 };
#define MSG_HELD 0x01 /* parked in Postfix's hold queue (accounts.paused_action = hold) */
struct message_rec {
	int64_t when;
	uint32_t recipients;
	uint8_t door;
	uint8_t flags; /* MSG_* */
	char account[ACCOUNT_NAME_MAX];
};

/* DB_STATS key: account '\0' be32 hour (epoch seconds / 3600).  Recipients, by outcome. */
enum stats_field {
	SF_DELIVERED, /* status=sent */
	SF_HARD,      /* bounced, an address class: suppressed, counts in the bounce rate */
	SF_SOFT,      /* bounced for a soft reason (mailbox full, too big, other): final */
	SF_BLOCK,     /* bounced because the receiver refused the sender or the content */
	SF_DEFERRED,  /* a delay (not final; every attempt counts) */
	SF_COMPLAINT,
	SF_COUNT
};
struct stats_rec {
	uint32_t n[SF_COUNT];
};

/* DB_META "maillog_pos": where the feedback process is in the Postfix log (feedback/follow.h).
 * Written in the same transaction as the counters of the lines before OFFSET. */
struct maillog_pos_rec {
	uint64_t dev, ino;  /* the file's identity */
	uint64_t offset;    /* just past the last complete line counted */
	uint32_t head_len;  /* bytes at the file's start hashed (at most 256) ... */
	uint64_t head_hash; /* ... so a new file that reuses the inode is told apart */
};

/* DB_META "window:" ACCOUNT: the account's reputation window starts at SINCE (set by an
 * operator's resume); BASE holds what SINCE's hour had counted by then, left out of the window. */
struct window_rec {
	int64_t since;
	struct stats_rec base;
};

/* DB_TOKEN key: the SHA-256 of the token (TOKEN_HASH_LEN bytes): the token itself is never
 * stored.  NAME is unique (checked by outpostctl token add); ACCOUNT "" is every account. */
#define TOKEN_HASH_LEN 32
#define TOKEN_NAME_MAX 64
enum token_scope { TS_READ = 1, TS_WRITE = 2 };
struct token_rec {
	uint8_t scope;
	int64_t created;
	char name[TOKEN_NAME_MAX];
	char account[ACCOUNT_NAME_MAX];
};

/* DB_META "dnsbl_watch:" LIST '\0' ADDRESS: the last answer list LIST (its name) gave about
 * one of our own sending addresses (dns.monitor_addresses; feedback/ipwatch.h). */
#define DNSBL_WATCH_PREFIX "dnsbl_watch:"
struct dnsbl_watch_rec {
	uint8_t state;	       /* enum dnsbl_state: LISTED or NOT_LISTED; FAILED: never answered */
	int64_t since;	       /* when STATE (and, listed, CODES) began */
	int64_t checked;       /* the last check, answered or not */
	int64_t failing_since; /* 0, or the first failure of the current run of failures */
	char codes[128];       /* listed: the answers, "127.0.0.2 127.0.0.4" */
	char meaning[200];     /* listed: what they mean, "SBL, XBL" */
	char error[200];       /* failing: why */
};

#define RECORD_MAX 1024

size_t rec_suppress_encode(const struct suppress_rec *r, uint8_t *buf, size_t len);
int rec_suppress_decode(const void *data, size_t len, struct suppress_rec *r);
size_t rec_account_encode(const struct account_rec *r, uint8_t *buf, size_t len);
int rec_account_decode(const void *data, size_t len, struct account_rec *r);
size_t rec_history_encode(const struct history_rec *r, uint8_t *buf, size_t len);
int rec_history_decode(const void *data, size_t len, struct history_rec *r);
size_t rec_stats_encode(const struct stats_rec *r, uint8_t *buf, size_t len);
int rec_stats_decode(const void *data, size_t len, struct stats_rec *r);
const char *stats_field_name(int field);
size_t rec_maillog_pos_encode(const struct maillog_pos_rec *r, uint8_t *buf, size_t len);
int rec_maillog_pos_decode(const void *data, size_t len, struct maillog_pos_rec *r);
size_t rec_window_encode(const struct window_rec *r, uint8_t *buf, size_t len);
int rec_window_decode(const void *data, size_t len, struct window_rec *r);
size_t rec_message_encode(const struct message_rec *r, uint8_t *buf, size_t len);
int rec_message_decode(const void *data, size_t len, struct message_rec *r);
size_t rec_token_encode(const struct token_rec *r, uint8_t *buf, size_t len);
int rec_token_decode(const void *data, size_t len, struct token_rec *r);
size_t rec_dnsbl_watch_encode(const struct dnsbl_watch_rec *r, uint8_t *buf, size_t len);
int rec_dnsbl_watch_decode(const void *data, size_t len, struct dnsbl_watch_rec *r);

const char *suppress_reason_name(int reason);
int suppress_reason_parse(const char *name); /* -1 if unknown */
const char *account_state_name(int state);
int account_state_parse(const char *name);

#endif
