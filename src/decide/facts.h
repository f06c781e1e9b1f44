/*
 * facts -- the shared vocabulary of both front doors and decide().
 *
 * A front door (the policy service, the milter) translates its protocol into
 * a struct facts and a struct verdict back into its protocol; nothing below
 * it knows a Postfix attribute name or a milter macro.
 */
#ifndef OUTPOST_FACTS_H
#define OUTPOST_FACTS_H

#include <stdint.h>

#include "quota/limits.h"
#include "store/records.h"

struct dns_facts;

enum stage {
	STAGE_OTHER = 0, /* CONNECT, HELO, VRFY, ETRN...: nothing to decide */
	STAGE_MAIL,
	STAGE_RCPT,
	STAGE_DATA,
	STAGE_EOM,
	STAGE_EOH, /* end of headers (the milter only): the From: header's domain lists */
};

struct facts {
	int stage;
	int door;		   /* enum front_door */
	const char *queue_id;	   /* may be empty */
	const char *instance;	   /* policy instance, or a milter-made transaction id */
	const char *sender;	   /* envelope sender, internal form, "" for <> */
	const char *recipient;	   /* RCPT address, or NULL */
	const char *sasl_username; /* "" when not authenticated */
	const char *client_address;
	const char *from_domain;  /* the From: header's domain (milter, end of headers), or NULL */
	unsigned recipient_count; /* at DATA/EOM */
	int64_t now;		  /* seconds since the epoch */
	int64_t now_us;		  /* the same in microseconds (0: only NOW is known) */
	const struct dns_facts *dns; /* what DNS said (dns/dns_facts.h); NULL: not asked */
};

enum verdict_kind {
	VK_PASS = 0, /* DUNNO: let the MTA's other rules decide */
	VK_TEMPFAIL, /* 4xx */
	VK_REJECT,   /* 5xx */
	VK_HOLD,     /* accept into the hold queue */
};

struct verdict {
	int kind;
	int would;	  /* monitor mode: the refusal kind that was turned into VK_PASS */
	const char *rule; /* which check fired: "paused", "suppressed", ... NULL for none */
	char code[4];	  /* SMTP reply code, "450" */
	char dsn[8];	  /* RFC 3463 code, "4.7.1" */
	char text[512];	  /* human reason, no CR/LF, no code */
	char account[ACCOUNT_NAME_MAX]; /* "" when the mail belongs to no account */
	int account_new;		/* the account was first seen now (auto-create) */
	int record;			/* EOM of an identified account: record the message */
	const char *log_action; /* what the front door did instead, for the log ("delrcpt") */
	/* For the quota step (quota.h), filled at RCPT and END-OF-MESSAGE of an account: */
	int quota;		    /* the account's limits below were read */
	int review;		    /* the account is under review */
	int monitor;		    /* monitor mode applies to this account */
	struct quota_limits limits; /* the account's own limits, else the defaults */
	/* The mailbox simulator (simulator.h): */
	int simulator;		 /* enum sim_outcome of the RCPT recipient, 0: not one */
	unsigned sim_complaints; /* EOM: the message's complaint@ recipients (quota step) */
};

#endif
