/*
 * milter_bench -- a load generator for milters, speaking the milter wire
 * protocol (version 6) itself, as Postfix's milter8 client does; no libmilter.
 *
 * Every packet is a 4-byte big-endian length, one command byte and the data.
 * T threads, each one epoll loop, drive C connections (-c).  Each connection
 * is a series of milter sessions, each lock-step like Postfix's smtpd:
 *
 *   OPTNEG ('O': version 6, every action, every protocol bit Postfix offers);
 *     the reply says which stages to skip (SMFIP_NO*), which need no reply
 *     (SMFIP_NR_*), which actions the filter may take and, optionally, which
 *     macros it wants at each stage (its symlist, honoured as Postfix does);
 *   connect macros + CONNECT ('C' host\0 '4' port address\0), HELO ('H');
 *   then per message (-m per session, 0: until the run ends):
 *     MAIL macros ({auth_authen}=acctN, ...) + MAIL ('M' "<from>\0" SIZE=),
 *     per recipient (-r) RCPT macros + RCPT ('R' "<rcpt>\0"),
 *     if a recipient was accepted: DATA ('T'), headers ('L' name\0value\0),
 *     EOH ('N'), one body chunk ('B'), EOM macros (i=QUEUEID) + EOM ('E');
 *     a message refused before EOM, or without an accepted recipient, ends
 *     with ABORT ('A'), as Postfix's mail_reset does;
 *   QUIT ('Q'), then the generator waits for the filter to close.
 *
 * Macros follow Postfix 3.7's defaults (REFERENCE §2.5): the queue id `i` is
 * only defined once a recipient was accepted, SASL macros from MAIL on.
 *
 * Replies are validated: one per stage that expects one (c continue, r reject,
 * t tempfail, y reply code, a accept, d discard, s skip at body only when
 * negotiated); at EOM any number of modification actions the filter
 * negotiated ('h' add header, '-' delete recipient, 'q' quarantine, ...,
 * 'p' progress) before the final reply.  Anything else -- an unknown reply, a
 * malformed packet, a modification outside EOM or not negotiated, bytes
 * nobody asked for, an early close, no reply within 5 s -- is an error: it
 * is printed, the run stops, and the exit code is 1.
 *
 * The workload is policy_bench's (bench/policy_bench.c; `policy_bench -E`
 * prints the suppression list the store is seeded with):
 *   - accounts acct0 .. acct(A-1); each message comes from a random one;
 *   - suppression entry K (0 <= K < N) is userK@dom(K%100).test, global when
 *     K % 10 == 0, else owned by acct((K/10) % A);
 *   - each recipient is suppressed with probability -f: then it is one of
 *     the sending account's own entries (9 times in 10) or a global entry;
 *     otherwise rcptR@dom(R%100).test, which no entry matches.
 * -W is the warm-up pass: message i comes from acct(i % A), A messages in
 * all, no recipient suppressed: with auto_create on, it creates every account.
 *
 * Measured: messages per second (a message is one MAIL transaction, whatever
 * its fate) and the latency of each message from sending MAIL to the reply
 * that ends it (normally EOM's), in a log-linear histogram (0.2 % precision).
 * Session set-up (connect, OPTNEG, CONNECT, HELO, QUIT) is in the throughput
 * but not in the latency.  One "result" line and one "replies" line per server.
 *
 * Given two servers, the run alternates between them in slices of -i seconds
 * (new connections each slice) until each had -d seconds.
 *
 * Lean on purpose (it shares the CPUs with the filter): no allocation and no
 * stdio after the connections are open; packets are built with memcpy and
 * integer formatting.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define MAX_RCPT 50
#define WBUF 8192
#define RBUF 16384 /* a longer reply packet is an error */

/* ---- the protocol (libmilter/mfdef.h, repeated so no libmilter is needed) ---- */

#define PROT_VERSION 6
#define OFFER_ACTIONS 0x1FFu	 /* SMFI_CURR_ACTS: everything */
#define OFFER_PROTOCOL 0x1FFFFFu /* SMFI_CURR_PROT: every step, NR and option bit */

enum {
	F_ADDHDRS = 0x01,
	F_CHGBODY = 0x02,
	F_ADDRCPT = 0x04,
	F_DELRCPT = 0x08,
	F_CHGHDRS = 0x10,
	F_QUARANTINE = 0x20,
	F_CHGFROM = 0x40,
	F_ADDRCPT_PAR = 0x80,
};

enum {
	P_NOCONNECT = 0x1,
	P_NOHELO = 0x2,
	P_NOMAIL = 0x4,
	P_NORCPT = 0x8,
	P_NOBODY = 0x10,
	P_NOHDRS = 0x20,
	P_NOEOH = 0x40,
	P_NR_HDR = 0x80,
	P_NODATA = 0x200,
	P_SKIP = 0x400,
	P_NR_CONN = 0x1000,
	P_NR_HELO = 0x2000,
	P_NR_MAIL = 0x4000,
	P_NR_RCPT = 0x8000,
	P_NR_DATA = 0x10000,
	P_NR_EOH = 0x40000,
	P_NR_BODY = 0x80000,
	P_HDR_LEADSPC = 0x100000,
};

/*
 * What a connection waits for.  The message stages are in protocol order;
 * S_ABORT, S_MSGEND and S_QUIT are steps of our own that get no reply.
 */
enum stage {
	S_OPTNEG,
	S_CONNECT,
	S_HELO,
	S_MAIL,
	S_RCPT,
	S_DATA,
	S_HDR,
	S_EOH,
	S_BODY,
	S_EOM,
	S_ABORT,
	S_MSGEND,
	S_QUIT,
	S_QUITWAIT, /* QUIT sent, waiting for the filter to close */
	S_NSTAGES
};
static const char *const stage_name[S_NSTAGES] = {"optneg", "connect", "helo", "mail",	  "rcpt",
						  "data",   "header",  "eoh",  "body",	  "eom",
						  "abort",  "end",     "quit", "quitwait"};

/* For each stage: the SMFIP_NO* bit that skips it, the SMFIP_NR_* bit that silences it. */
static const uint32_t stage_skip[S_NSTAGES] = {
    [S_CONNECT] = P_NOCONNECT, [S_HELO] = P_NOHELO, [S_MAIL] = P_NOMAIL, [S_RCPT] = P_NORCPT,
    [S_DATA] = P_NODATA,       [S_HDR] = P_NOHDRS,  [S_EOH] = P_NOEOH,	 [S_BODY] = P_NOBODY};
static const uint32_t stage_noreply[S_NSTAGES] = {
    [S_CONNECT] = P_NR_CONN, [S_HELO] = P_NR_HELO, [S_MAIL] = P_NR_MAIL, [S_RCPT] = P_NR_RCPT,
    [S_DATA] = P_NR_DATA,    [S_HDR] = P_NR_HDR,   [S_EOH] = P_NR_EOH,	 [S_BODY] = P_NR_BODY};

/* Reply classes counted per stage. */
enum rclass { RC_CONTINUE, RC_REJECT, RC_TEMPFAIL, RC_ACCEPT, RC_DISCARD, RC_SKIP, RC_NCLASS };
static const char *const rclass_name[RC_NCLASS] = {"continue", "reject",  "tempfail",
						   "accept",   "discard", "skip"};

/* Modification actions at EOM: reply byte, the action flag it needs, its name. */
static const struct {
	char cmd;
	uint32_t flag;
	const char *name;
} mods[] = {
    {'h', F_ADDHDRS, "addheader"},     {'i', F_ADDHDRS, "insheader"},
    {'m', F_CHGHDRS, "chgheader"},     {'-', F_DELRCPT, "delrcpt"},
    {'+', F_ADDRCPT, "addrcpt"},       {'2', F_ADDRCPT_PAR, "addrcpt_par"},
    {'e', F_CHGFROM, "chgfrom"},       {'b', F_CHGBODY, "replbody"},
    {'q', F_QUARANTINE, "quarantine"}, {'p', 0, "progress"},
};
#define NMODS (sizeof(mods) / sizeof(mods[0]))

/* How a message ended. */
enum outcome {
	O_DELIVERED,
	O_REFUSED_MAIL,
	O_NO_RCPT,
	O_REFUSED_DATA,
	O_REFUSED_EOM,
	O_DISCARDED,
	O_ACCEPTED_EARLY,
	O_NOUTCOMES
};
static const char *const outcome_name[O_NOUTCOMES] = {
    "delivered",   "refused_mail", "no_rcpt_accepted", "refused_content",
    "refused_eom", "discarded",	   "accepted_early"};

/*
 * Macros: the names Postfix can send, the stage whose default list holds
 * each one (milter_*_macros, plus {client_addr} at connect), and from which
 * stage on it has a value.
 */
enum macro {
	M_J,
	M_DAEMON_NAME,
	M_DAEMON_ADDR,
	M_V,
	M_UNDERSCORE,
	M_CLIENT_ADDR,
	M_CLIENT_NAME,
	M_CLIENT_PORT,
	M_TLS_VERSION,
	M_CIPHER,
	M_CIPHER_BITS,
	M_I,
	M_AUTH_TYPE,
	M_AUTH_AUTHEN,
	M_MAIL_ADDR,
	M_MAIL_HOST,
	M_MAIL_MAILER,
	M_RCPT_ADDR,
	M_RCPT_HOST,
	M_RCPT_MAILER,
	M_NMACROS
};
static const char *const macro_name[M_NMACROS] = {"j",
						  "{daemon_name}",
						  "{daemon_addr}",
						  "v",
						  "_",
						  "{client_addr}",
						  "{client_name}",
						  "{client_port}",
						  "{tls_version}",
						  "{cipher}",
						  "{cipher_bits}",
						  "i",
						  "{auth_type}",
						  "{auth_authen}",
						  "{mail_addr}",
						  "{mail_host}",
						  "{mail_mailer}",
						  "{rcpt_addr}",
						  "{rcpt_host}",
						  "{rcpt_mailer}"};

/* The macro stages of the protocol (SMFIM_*: the symlist's numbering). */
enum mstage { MS_CONNECT, MS_HELO, MS_ENVFROM, MS_ENVRCPT, MS_DATA, MS_EOM, MS_EOH, MS_N };
static const char ms_cmd[MS_N] = {'C', 'H', 'M', 'R', 'T', 'E', 'N'};
#define B(m) (1u << (m))
#define CONN_MACROS                                                                \
	(B(M_J) | B(M_DAEMON_NAME) | B(M_DAEMON_ADDR) | B(M_V) | B(M_UNDERSCORE) | \
	 B(M_CLIENT_ADDR) | B(M_CLIENT_NAME) | B(M_CLIENT_PORT))
#define HELO_MACROS (B(M_TLS_VERSION) | B(M_CIPHER) | B(M_CIPHER_BITS))
#define MAIL_MACROS \
	(B(M_AUTH_TYPE) | B(M_AUTH_AUTHEN) | B(M_MAIL_ADDR) | B(M_MAIL_HOST) | B(M_MAIL_MAILER))
#define RCPT_MACROS (B(M_RCPT_ADDR) | B(M_RCPT_HOST) | B(M_RCPT_MAILER))
/* Postfix 3.7's default lists, plus {client_addr} at connect. */
static const uint32_t ms_default[MS_N] = {[MS_CONNECT] = B(M_J) | B(M_DAEMON_NAME) |
							 B(M_DAEMON_ADDR) | B(M_V) |
							 B(M_UNDERSCORE) | B(M_CLIENT_ADDR),
					  [MS_HELO] = HELO_MACROS,
					  [MS_ENVFROM] = B(M_I) | MAIL_MACROS,
					  [MS_ENVRCPT] = B(M_I) | RCPT_MACROS,
					  [MS_DATA] = B(M_I),
					  [MS_EOM] = B(M_I),
					  [MS_EOH] = B(M_I)};
/* What has a value at each stage (i only once a recipient was accepted). */
static const uint32_t ms_avail[MS_N] = {
    [MS_CONNECT] = CONN_MACROS,
    [MS_HELO] = CONN_MACROS | HELO_MACROS,
    [MS_ENVFROM] = CONN_MACROS | HELO_MACROS | MAIL_MACROS | B(M_I),
    [MS_ENVRCPT] = CONN_MACROS | HELO_MACROS | MAIL_MACROS | RCPT_MACROS | B(M_I),
    [MS_DATA] = CONN_MACROS | HELO_MACROS | MAIL_MACROS | B(M_I),
    [MS_EOM] = CONN_MACROS | HELO_MACROS | MAIL_MACROS | B(M_I),
    [MS_EOH] = CONN_MACROS | HELO_MACROS | MAIL_MACROS | B(M_I)};

/* The headers of every message (the first is Postfix's own Received:). */
static const char *const headers[][2] = {
    {"Received", "from client.example.net (client.example.net [203.0.113.7])\n"
		 "\tby mx.bench.test (Postfix) with ESMTPSA id 4Vb3nQ1XyZz9sT\n"
		 "\tfor <rcpt@dom1.test>; Tue, 14 May 2024 10:00:00 +0000 (UTC)"},
    {"From", "Newsletter <noreply@acct1.example>"},
    {"To", "rcpt@dom1.test"},
    {"Subject", "Your weekly digest"},
    {"Date", "Tue, 14 May 2024 10:00:00 +0000"},
    {"Message-ID", "<20240514100000.4Vb3nQ1XyZz9sT@acct1.example>"},
    {"MIME-Version", "1.0"},
    {"Content-Type", "text/plain; charset=utf-8"},
};
#define NHEADERS (int)(sizeof(headers) / sizeof(headers[0]))
#define BODY_LINES 24
static char body[BODY_LINES * 80]; /* a line is 72 or 73 bytes (72 overflowed by 14) */
static size_t body_len;

/* ---- state ------------------------------------------------------------ */

#define MAX_TARGETS 2

/* What was measured against one server. */
struct stats {
	uint64_t done, sessions, errors, sum_ns, max_ns, last_ns;
	uint64_t replies[S_NSTAGES][RC_NCLASS];
	uint64_t mods[NMODS];
	uint64_t outcomes[O_NOUTCOMES];
	uint64_t hist[H_BUCKETS];
};

/* A server under test and everything measured against it over its slices. */
struct target {
	struct sockaddr_in addr;
	const char *spec, *label;
	int slices;
	uint64_t active_ns;
	struct stats st;
};

static struct target targets[MAX_TARGETS];
static int ntargets;
static struct target *cur;

static struct bench_opt opt = BENCH_OPT_DEFAULTS; /* -n: messages */
static struct {
	int nlabels, rcpts, per_session, quickack;
} mopt = {.rcpts = 1};

static _Atomic uint64_t issued; /* messages handed out: -n, -W and the queue ids */
static atomic_int reported;	/* errors printed so far */
static uint64_t start_ns, deadline_ns, qid_nonce;
static pthread_barrier_t barrier;

struct conn {
	int fd;
	enum stage state; /* the reply awaited (or S_QUITWAIT) */
	int waiting;
	uint32_t id;
	uint64_t sent_ns, mail_ns;
	int parked;	 /* -R: idle between messages until due_ns */
	uint64_t due_ns; /* -R: when its next message is scheduled (0: not yet) */
	/* negotiated */
	uint32_t actions, proto;
	uint32_t macros[MS_N]; /* what to send per macro stage: the symlist or the default */
	/* the session */
	unsigned host, port;
	uint64_t sess_msgs;
	/* the message */
	uint64_t acct, seq;
	int nrcpt, rcpt_i, rcpt_ok, hdr_i;
	uint64_t rk[MAX_RCPT];
	uint8_t rhit[MAX_RCPT];
	size_t rlen, woff, wlen;
	char rbuf[RBUF];
	char wbuf[WBUF];
};

struct worker {
	pthread_t tid;
	int ep, nconns, open;
	int tfd; /* -R: a timerfd armed for the earliest parked connection */
	struct conn *conns;
	uint64_t rng;
	struct stats st;
};

/* ---- packet writing --------------------------------------------------- */

#define PUTZ(o, lit) put((o), (lit), sizeof(lit)) /* with its NUL */

static void
put_str0(struct out *o, const char *s)
{
	put(o, s, strlen(s) + 1);
}

static void
put_be32(char *p, uint32_t v)
{
	p[0] = (char)(v >> 24);
	p[1] = (char)(v >> 16);
	p[2] = (char)(v >> 8);
	p[3] = (char)v;
}

static uint32_t
get_be32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

/* Open a packet: returns where its length goes (filled by pkt_end). */
static char *
pkt_begin(struct out *o, char cmd)
{
	char *start = o->p;

	o->p += 4;
	*o->p++ = cmd;
	return start;
}

static void
pkt_end(struct out *o, char *start)
{
	put_be32(start, (uint32_t)(o->p - start - 4));
}

/* The queue id of message SEQ: 14 upper-case hex digits, unique per run. */
static void
put_qid(struct out *o, uint64_t seq)
{
	uint64_t v = qid_nonce << 36 | (seq & 0xFFFFFFFFFull);

	for (int s = 52; s >= 0; s -= 4)
		*o->p++ = "0123456789ABCDEF"[(v >> s) & 15];
}

static void
put_rcpt(struct out *o, const struct conn *c, int i)
{
	if (c->rhit[i])
		PUTS(o, "user");
	else
		PUTS(o, "rcpt");
	put_u(o, c->rk[i]);
	PUTS(o, "@dom");
	put_u(o, c->rk[i] % DOMAINS);
	PUTS(o, ".test");
}

/* The value of macro M for connection C (recipient c->rcpt_i at RCPT). */
static void
put_macro_value(struct out *o, const struct conn *c, enum macro m)
{
	switch (m) {
	case M_J:
		PUTS(o, "mx.bench.test");
		break;
	case M_DAEMON_NAME:
		PUTS(o, "submission");
		break;
	case M_DAEMON_ADDR:
		PUTS(o, "192.0.2.10");
		break;
	case M_V:
		PUTS(o, "Postfix 3.7.11");
		break;
	case M_UNDERSCORE:
		PUTS(o, "client-");
		put_u(o, c->host);
		PUTS(o, ".example.net [203.0.113.");
		put_u(o, c->host);
		PUTS(o, "]");
		break;
	case M_CLIENT_ADDR:
		PUTS(o, "203.0.113.");
		put_u(o, c->host);
		break;
	case M_CLIENT_NAME:
		PUTS(o, "client-");
		put_u(o, c->host);
		PUTS(o, ".example.net");
		break;
	case M_CLIENT_PORT:
		put_u(o, c->port);
		break;
	case M_TLS_VERSION:
		PUTS(o, "TLSv1.3");
		break;
	case M_CIPHER:
		PUTS(o, "TLS_AES_256_GCM_SHA384");
		break;
	case M_CIPHER_BITS:
		PUTS(o, "256");
		break;
	case M_I:
		put_qid(o, c->seq);
		break;
	case M_AUTH_TYPE:
		PUTS(o, "PLAIN");
		break;
	case M_AUTH_AUTHEN:
		PUTS(o, "acct");
		put_u(o, c->acct);
		break;
	case M_MAIL_ADDR:
		PUTS(o, "noreply@acct");
		put_u(o, c->acct);
		PUTS(o, ".example");
		break;
	case M_MAIL_HOST:
		PUTS(o, "acct");
		put_u(o, c->acct);
		PUTS(o, ".example");
		break;
	case M_MAIL_MAILER:
	case M_RCPT_MAILER:
		PUTS(o, "smtp");
		break;
	case M_RCPT_ADDR:
		put_rcpt(o, c, c->rcpt_i);
		break;
	case M_RCPT_HOST:
		PUTS(o, "dom");
		put_u(o, c->rk[c->rcpt_i] % DOMAINS);
		PUTS(o, ".test");
		break;
	case M_NMACROS:
		break;
	}
}

/* The macro packet for stage MS, when it has anything to say (Postfix sends set macros only). */
static void
put_macros(struct out *o, const struct conn *c, enum mstage ms)
{
	uint32_t want = c->macros[ms] & ms_avail[ms];
	char *start;

	if (c->rcpt_ok == 0) /* no queue file yet: `i` is undefined */
		want &= ~B(M_I);
	if (want == 0)
		return;
	start = pkt_begin(o, 'D');
	*o->p++ = ms_cmd[ms];
	for (int m = 0; m < M_NMACROS; m++) {
		if (!(want & B(m)))
			continue;
		put_str0(o, macro_name[m]);
		put_macro_value(o, c, (enum macro)m);
		*o->p++ = '\0';
	}
	pkt_end(o, start);
}

/* Append the packets of stage S to the connection's write buffer. */
static void
emit(struct conn *c, enum stage s)
{
	struct out o;
	char *start;

	if (c->woff == c->wlen) /* everything before was sent */
		c->woff = c->wlen = 0;
	o.p = c->wbuf + c->wlen;
	switch (s) {
	case S_OPTNEG:
		start = pkt_begin(&o, 'O');
		put_be32(o.p, PROT_VERSION);
		put_be32(o.p + 4, OFFER_ACTIONS);
		put_be32(o.p + 8, OFFER_PROTOCOL);
		o.p += 12;
		pkt_end(&o, start);
		break;
	case S_CONNECT:
		put_macros(&o, c, MS_CONNECT);
		start = pkt_begin(&o, 'C');
		PUTS(&o, "client-");
		put_u(&o, c->host);
		PUTZ(&o, ".example.net");
		*o.p++ = '4';
		*o.p++ = (char)(c->port >> 8);
		*o.p++ = (char)(c->port & 0xff);
		PUTS(&o, "203.0.113.");
		put_u(&o, c->host);
		*o.p++ = '\0';
		pkt_end(&o, start);
		break;
	case S_HELO:
		put_macros(&o, c, MS_HELO);
		start = pkt_begin(&o, 'H');
		PUTS(&o, "client-");
		put_u(&o, c->host);
		PUTZ(&o, ".example.net");
		pkt_end(&o, start);
		break;
	case S_MAIL:
		put_macros(&o, c, MS_ENVFROM);
		start = pkt_begin(&o, 'M');
		PUTS(&o, "<noreply@acct");
		put_u(&o, c->acct);
		PUTZ(&o, ".example>");
		PUTS(&o, "SIZE=");
		put_u(&o, 2000 + body_len + c->seq % 5000);
		*o.p++ = '\0';
		pkt_end(&o, start);
		break;
	case S_RCPT:
		put_macros(&o, c, MS_ENVRCPT);
		start = pkt_begin(&o, 'R');
		*o.p++ = '<';
		put_rcpt(&o, c, c->rcpt_i);
		PUTZ(&o, ">");
		pkt_end(&o, start);
		break;
	case S_DATA:
		put_macros(&o, c, MS_DATA);
		start = pkt_begin(&o, 'T');
		pkt_end(&o, start);
		break;
	case S_HDR:
		start = pkt_begin(&o, 'L');
		put_str0(&o, headers[c->hdr_i][0]);
		if (c->proto & P_HDR_LEADSPC)
			*o.p++ = ' ';
		put_str0(&o, headers[c->hdr_i][1]);
		pkt_end(&o, start);
		break;
	case S_EOH:
		put_macros(&o, c, MS_EOH);
		start = pkt_begin(&o, 'N');
		pkt_end(&o, start);
		break;
	case S_BODY:
		start = pkt_begin(&o, 'B');
		put(&o, body, body_len);
		pkt_end(&o, start);
		break;
	case S_EOM:
		put_macros(&o, c, MS_EOM);
		start = pkt_begin(&o, 'E');
		pkt_end(&o, start);
		break;
	case S_ABORT:
		start = pkt_begin(&o, 'A');
		pkt_end(&o, start);
		break;
	case S_QUIT:
		start = pkt_begin(&o, 'Q');
		pkt_end(&o, start);
		break;
	default:
		break;
	}
	c->wlen = (size_t)(o.p - c->wbuf);
}

/* ---- the workload ----------------------------------------------------- */

/* A suppressed recipient for account A: one of its own entries, or 1 in 10 a global one. */
static uint64_t
pick_hit(struct worker *w, uint64_t a)
{
	uint64_t groups = (opt.suppressed + GLOBAL_EVERY - 1) / GLOBAL_EVERY, r = rng_next(&w->rng);
	uint64_t owned, k;

	/* Entries 10g+1 .. 10g+9 belong to acct(g % A); 10g is global. */
	owned = a < groups ? (groups - a + opt.accounts - 1) / opt.accounts : 0;
	if (owned > 0 && r % 10 != 0) {
		uint64_t g = a + opt.accounts * (rng_next(&w->rng) % owned);
		k = g * GLOBAL_EVERY + 1 + rng_next(&w->rng) % (GLOBAL_EVERY - 1);
		if (k < opt.suppressed)
			return k;
	}
	return (rng_next(&w->rng) % groups) * GLOBAL_EVERY;
}

/* Account and recipients of message SEQ. */
static void
message_pick(struct worker *w, struct conn *c, uint64_t seq)
{
	c->seq = seq;
	c->acct = opt.warmup ? seq % opt.accounts : rng_next(&w->rng) % opt.accounts;
	c->nrcpt = mopt.rcpts;
	c->rcpt_i = c->rcpt_ok = c->hdr_i = 0;
	for (int i = 0; i < c->nrcpt; i++) {
		uint64_t r = rng_next(&w->rng);
		c->rhit[i] = !opt.warmup && opt.suppressed > 0 &&
			     (double)(r >> 11) * (1.0 / 9007199254740992.0) < opt.hit_fraction;
		c->rk[i] = c->rhit[i] ? pick_hit(w, c->acct) : rng_next(&w->rng) % MISS_SPACE;
	}
}

/* ---- one connection --------------------------------------------------- */

static void
conn_close(struct worker *w, struct conn *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->waiting = 0;
	w->open--;
}

/* A protocol violation or a broken connection: say so, stop the run. */
static void
conn_error(struct worker *w, struct conn *c, const char *what, const char *pkt, size_t len)
{
	w->st.errors++;
	if (atomic_fetch_add(&reported, 1) < 5) {
		char hex[3 * 24 + 1] = "";
		for (size_t i = 0; i < len && i < 24; i++)
			snprintf(hex + 3 * i, 4, " %02x", (unsigned char)pkt[i]);
		fprintf(stderr, "milter_bench: %s: connection %u, at %s: %s%s%s\n", cur->label,
			c->id, stage_name[c->state], what, len ? "; packet:" : "", hex);
	}
	atomic_store(&stop_now, 1);
	conn_close(w, c);
}

/* Push the pending packets out; -1 on error. */
static int
conn_flush(struct worker *w, struct conn *c)
{
	return bench_flush(w->ep, c->fd, c, c->wbuf, &c->woff, c->wlen);
}

/* Open a connection and start a session with OPTNEG. */
static int
conn_open(struct worker *w, struct conn *c, uint64_t now)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	int on = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&cur->addr, sizeof(cur->addr)) < 0 ||
	    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) < 0 ||
	    epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		fprintf(stderr, "milter_bench: connect to %s: %s\n", cur->spec, strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		atomic_store(&stop_now, 1);
		return -1;
	}
	w->open++;
	w->st.sessions++;
	c->rlen = c->woff = c->wlen = 0;
	c->sess_msgs = 0;
	c->rcpt_ok = 0;
	c->host = (unsigned)(rng_next(&w->rng) % 250 + 1);
	c->port = (unsigned)(1024 + rng_next(&w->rng) % 64000);
	emit(c, S_OPTNEG);
	c->state = S_OPTNEG;
	c->waiting = 1;
	c->sent_ns = now;
	if (conn_flush(w, c) < 0) {
		conn_error(w, c, "send failed", NULL, 0);
		return -1;
	}
	return 0;
}

/* The stage after S when S went through (continue, skipped, or no reply). */
static enum stage
stage_after(struct conn *c, enum stage s)
{
	switch (s) {
	case S_CONNECT:
		return S_HELO;
	case S_HELO:
		return S_MSGEND; /* "no message yet": S_MSGEND starts the first one */
	case S_MAIL:
		return S_RCPT;
	case S_RCPT:
		c->rcpt_ok++;
		if (++c->rcpt_i < c->nrcpt)
			return S_RCPT;
		return S_DATA;
	case S_DATA:
		return S_HDR;
	case S_HDR:
		if (++c->hdr_i < NHEADERS)
			return S_HDR;
		return S_EOH;
	case S_EOH:
		return S_BODY;
	case S_BODY:
		return S_EOM;
	case S_ABORT:
		return S_MSGEND;
	default:
		return S_MSGEND;
	}
}

static void message_end(struct worker *w, struct conn *c, enum outcome out, uint64_t now);
static void next_message(struct worker *w, struct conn *c, uint64_t now);

/*
 * Send stage S and what follows it without a reply, up to the first stage
 * that needs one; then flush.  Skipped stages (SMFIP_NO*) are left out,
 * silenced ones (SMFIP_NR_*) are sent and taken as "continue".
 */
static void
proceed(struct worker *w, struct conn *c, enum stage s, uint64_t now)
{
	for (;;) {
		/* RCPT after the last recipient: DATA only if someone was accepted. */
		if (s == S_DATA && c->rcpt_ok == 0) {
			emit(c, S_ABORT);
			message_end(w, c, O_NO_RCPT, now);
			return;
		}
		if (s == S_MSGEND) {
			next_message(w, c, now);
			return;
		}
		if (stage_skip[s] & c->proto) {
			if (s == S_HDR) /* all headers go */
				c->hdr_i = NHEADERS - 1;
			s = stage_after(c, s);
			continue;
		}
		if (c->wlen + 3000 + body_len > WBUF) {
			conn_error(w, c, "write buffer overflow (bug)", NULL, 0);
			return;
		}
		emit(c, s);
		if (s != S_EOM && (stage_noreply[s] & c->proto)) {
			s = stage_after(c, s);
			continue;
		}
		c->state = s;
		c->waiting = 1;
		c->sent_ns = now;
		if (conn_flush(w, c) < 0)
			conn_error(w, c, "send failed", NULL, 0);
		return;
	}
}

/* Send QUIT and wait for the filter to close its end. */
static void
session_quit(struct worker *w, struct conn *c, uint64_t now)
{
	emit(c, S_QUIT);
	c->state = S_QUITWAIT;
	c->waiting = 1;
	c->sent_ns = now;
	if (conn_flush(w, c) < 0)
		conn_error(w, c, "send failed", NULL, 0);
}

/* Start the next message of the session (-R: when it is due), or end the session. */
static void
next_message(struct worker *w, struct conn *c, uint64_t now)
{
	uint64_t seq, due = now;

	if (now >= deadline_ns || atomic_load_explicit(&stop_now, memory_order_relaxed) ||
	    (mopt.per_session && c->sess_msgs >= (uint64_t)mopt.per_session)) {
		session_quit(w, c, now);
		return;
	}
	if (opt.rate > 0) {
		due = c->parked ? c->due_ns
				: pace_due(&c->due_ns, c->id, start_ns, opt.rate, opt.conc);
		c->parked = due > now;
		if (due >= deadline_ns) {
			c->parked = 0;
			session_quit(w, c, now);
		}
		if (due > now || due >= deadline_ns)
			return; /* parked: pace_wake() starts it */
	}
	seq = atomic_fetch_add_explicit(&issued, 1, memory_order_relaxed);
	if (opt.max && seq >= opt.max) {
		session_quit(w, c, now);
		return;
	}
	c->sess_msgs++;
	message_pick(w, c, seq);
	c->mail_ns = due; /* open loop: a late start is queueing, and counts */
	proceed(w, c, S_MAIL, now);
}

/* -R: start what is due, then arm the timer for the earliest parked connection. */
static void
pace_wake(struct worker *w, uint64_t now)
{
	uint64_t next = 0;

	for (int i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];
		if (c->fd < 0 || !c->parked)
			continue;
		if (c->due_ns <= now)
			next_message(w, c, now);
		else if (next == 0 || c->due_ns < next)
			next = c->due_ns;
	}
	if (next == 0)
		return;
	bench_pace_arm(w->tfd, next);
}

/* A message is over: count it and time it (MAIL sent -> the reply that ended it). */
static void
message_end(struct worker *w, struct conn *c, enum outcome out, uint64_t now)
{
	uint64_t ns = now - c->mail_ns;

	w->st.outcomes[out]++;
	w->st.hist[hist_bucket(ns)]++;
	w->st.sum_ns += ns;
	if (ns > w->st.max_ns)
		w->st.max_ns = ns;
	w->st.done++;
	w->st.last_ns = now;
	c->rcpt_ok = 0; /* `i` is undefined again until the next accepted recipient */
	next_message(w, c, now);
}

/* The class of final reply CMD with data D[0..len); -1 if it is not one. */
static int
reply_class(struct conn *c, char cmd, const char *d, size_t len)
{
	switch (cmd) {
	case 'c':
		return RC_CONTINUE;
	case 'r':
		return RC_REJECT;
	case 't':
		return RC_TEMPFAIL;
	case 'a':
		return RC_ACCEPT;
	case 'd':
		return c->state >= S_MAIL ? RC_DISCARD : -1;
	case 's':
		return c->state == S_BODY && (c->proto & P_SKIP) ? RC_SKIP : -1;
	case 'y':
		/* "ddd[ x.y.z] text\0": a 4xx or 5xx code, NUL-terminated. */
		if (len < 4 || d[len - 1] != '\0' || memchr(d, '\0', len) != d + len - 1 ||
		    (d[0] != '4' && d[0] != '5') || d[1] < '0' || d[1] > '9' || d[2] < '0' ||
		    d[2] > '9' || (d[3] != ' ' && d[3] != '-' && d[3] != '\0'))
			return -1;
		return d[0] == '4' ? RC_TEMPFAIL : RC_REJECT;
	default:
		return -1;
	}
}

/* Parse the OPTNEG reply: what to skip, what needs no reply, which macros to send. */
static int
optneg_take(struct worker *w, struct conn *c, const char *pkt, size_t len)
{
	const char *d = pkt + 5, *end = pkt + 4 + len;
	uint32_t version;

	if (pkt[4] != 'O' || len < 13)
		return conn_error(w, c, "OPTNEG reply expected", pkt, 4 + len), -1;
	version = get_be32(d);
	c->actions = get_be32(d + 4);
	c->proto = get_be32(d + 8);
	if (version < 2 || version > PROT_VERSION)
		return conn_error(w, c, "bad protocol version in OPTNEG reply", pkt, 4 + len), -1;
	if ((c->actions & ~OFFER_ACTIONS) || (c->proto & ~OFFER_PROTOCOL))
		return conn_error(w, c, "filter wants actions or steps not offered", pkt, 4 + len),
		       -1;
	for (int ms = 0; ms < MS_N; ms++)
		c->macros[ms] = ms_default[ms];
	/* The symlist: (32-bit stage, "name name ...\0")*. */
	for (d += 12; d < end;) {
		uint32_t ms;
		const char *nul, *p;
		if (end - d < 5 || (ms = get_be32(d)) >= MS_N ||
		    (nul = memchr(d + 4, '\0', (size_t)(end - d - 4))) == NULL)
			return conn_error(w, c, "malformed macro list in OPTNEG reply", pkt,
					  4 + len),
			       -1;
		c->macros[ms] = 0;
		for (p = d + 4; p < nul;) {
			size_t n = strcspn(p, " ,");
			const char *a = p, *z = p + n;
			if (n > 1 && *a == '{' && z[-1] == '}')
				a++, z--;
			for (int m = 0; m < M_NMACROS; m++) {
				const char *mn = macro_name[m];
				size_t ml = strlen(mn);
				if (ml > 1 && mn[0] == '{')
					mn++, ml -= 2;
				if ((size_t)(z - a) == ml && memcmp(a, mn, ml) == 0)
					c->macros[ms] |= B(m);
			}
			p += n;
			p += strspn(p, " ,");
		}
		d = nul + 1;
	}
	return 0;
}

/* An EOM modification action: allowed only when negotiated, and well-formed. */
static int
mod_take(struct worker *w, struct conn *c, const char *pkt, size_t len)
{
	char cmd = pkt[4];
	const char *d = pkt + 5;
	size_t dl = len - 1;

	for (size_t i = 0; i < NMODS; i++) {
		if (mods[i].cmd != cmd)
			continue;
		if (mods[i].flag && !(c->actions & mods[i].flag))
			return conn_error(w, c, "modification the filter did not negotiate", pkt,
					  4 + len),
			       -1;
		/* Every argument is NUL-terminated; headers carry two, 'i'/'m' an index first. */
		if (cmd != 'p' && cmd != 'b' && (dl == 0 || d[dl - 1] != '\0'))
			return conn_error(w, c, "malformed modification", pkt, 4 + len), -1;
		if ((cmd == 'h' && memchr(d, '\0', dl) == d + dl - 1) ||
		    ((cmd == 'i' || cmd == 'm') && dl < 6))
			return conn_error(w, c, "malformed header modification", pkt, 4 + len), -1;
		w->st.mods[i]++;
		return 0;
	}
	return conn_error(w, c, "unknown reply at end of message", pkt, 4 + len), -1;
}

/* Stage S ended the message with reply class RC (not "continue"). */
static void
message_stopped(struct worker *w, struct conn *c, enum stage s, int rc, uint64_t now)
{
	enum outcome out;

	if (rc == RC_ACCEPT || rc == RC_DISCARD) {
		/* The filter is done with this message: nothing more is sent for it. */
		message_end(w, c, rc == RC_ACCEPT ? O_ACCEPTED_EARLY : O_DISCARDED, now);
		return;
	}
	out = s == S_MAIL ? O_REFUSED_MAIL : O_REFUSED_DATA;
	emit(c, S_ABORT);
	message_end(w, c, out, now);
}

/*
 * One complete reply packet PKT (4 + LEN bytes) for the stage awaited; MORE
 * says whether other bytes follow it (only modifications may be followed).
 */
static int
packet_take(struct worker *w, struct conn *c, const char *pkt, size_t len, int more, uint64_t now)
{
	enum stage s = c->state;
	int rc;

	if (!c->waiting || s == S_QUITWAIT)
		return conn_error(w, c, "unsolicited packet", pkt, 4 + len), -1;
	rc = s == S_OPTNEG ? RC_CONTINUE : reply_class(c, pkt[4], pkt + 5, len - 1);
	if (more && rc >= 0)
		return conn_error(w, c, "bytes after the final reply", pkt, 4 + len), -1;
	if (s == S_OPTNEG) {
		if (optneg_take(w, c, pkt, len) < 0)
			return -1;
		c->waiting = 0;
		proceed(w, c, S_CONNECT, now);
		return 0;
	}
	if (rc < 0 && s == S_EOM)
		return mod_take(w, c, pkt, len);
	if (rc < 0)
		return conn_error(w, c, "invalid reply", pkt, 4 + len), -1;
	w->st.replies[s][rc]++;
	c->waiting = 0;
	if (s == S_EOM) {
		static const enum outcome eom_out[RC_NCLASS] = {
		    O_DELIVERED, O_REFUSED_EOM, O_REFUSED_EOM, O_DELIVERED, O_DISCARDED, 0};
		if (rc == RC_SKIP)
			return conn_error(w, c, "skip at end of message", pkt, 4 + len), -1;
		message_end(w, c, eom_out[rc], now);
		return 0;
	}
	if (s == S_CONNECT || s == S_HELO) {
		/* Refused or waved through for the whole connection: nothing to measure. */
		if (rc != RC_CONTINUE) {
			session_quit(w, c, now);
			return 0;
		}
		proceed(w, c, stage_after(c, s), now);
		return 0;
	}
	if (rc == RC_CONTINUE) {
		proceed(w, c, stage_after(c, s), now);
	} else if (rc == RC_SKIP) {
		proceed(w, c, S_EOM, now);
	} else if (s == S_RCPT && (rc == RC_REJECT || rc == RC_TEMPFAIL)) {
		/* That recipient only. */
		c->rcpt_ok--; /* stage_after counts it as accepted */
		proceed(w, c, stage_after(c, s), now);
	} else {
		message_stopped(w, c, s, rc, now);
	}
	return 0;
}

static void
conn_readable(struct worker *w, struct conn *c, uint64_t now)
{
	size_t off = 0;
	ssize_t n;

	n = read(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (mopt.quickack) /* -Q: ACK at once (Linux re-arms delayed ACKs, so after every read) */
		setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &mopt.quickack, sizeof(mopt.quickack));
	if (n == 0 && c->state == S_QUITWAIT && c->rlen == 0) {
		/* The session is over: a new one, unless the run is. */
		conn_close(w, c);
		if (mopt.per_session && now < deadline_ns && !atomic_load(&stop_now) &&
		    (!opt.max || atomic_load(&issued) < opt.max))
			conn_open(w, c, now);
		return;
	}
	if (n <= 0) {
		conn_error(w, c, n == 0 ? "closed by the filter" : "read failed", NULL, 0);
		return;
	}
	c->rlen += (size_t)n;
	while (c->fd >= 0 && c->rlen - off >= 4) {
		uint32_t len = get_be32(c->rbuf + off);
		if (len == 0 || len > sizeof(c->rbuf) - 4) {
			conn_error(w, c, "bad packet length", c->rbuf + off, c->rlen - off);
			return;
		}
		if (c->rlen - off < 4 + len)
			break;
		if (packet_take(w, c, c->rbuf + off, len, c->rlen - off > 4 + len, now) < 0)
			return;
		off += 4 + len;
	}
	if (c->fd < 0)
		return;
	c->rlen -= off;
	if (off && c->rlen)
		memmove(c->rbuf, c->rbuf + off, c->rlen);
}

/* ---- threads ---------------------------------------------------------- */

static void
reap(struct worker *w, uint64_t now)
{
	for (int i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];
		if (c->fd >= 0 && c->waiting && now - c->sent_ns > REPLY_TIMEOUT_NS)
			conn_error(w, c, "no reply within 5 s", NULL, 0);
		else if (c->fd >= 0 && now >= deadline_ns + DRAIN_NS)
			conn_error(w, c, "still busy at the end of the drain", NULL, 0);
		else if (c->fd >= 0 && atomic_load(&stop_now) && c->state != S_QUITWAIT)
			conn_close(w, c); /* someone else failed: stop quickly */
	}
}

static void
worker_loop(struct worker *w)
{
	struct epoll_event evs[64];
	uint64_t now = start_ns, last_reap = start_ns;

	for (int i = 0; i < w->nconns; i++)
		if (conn_open(w, &w->conns[i], now) < 0)
			return;
	while (w->open > 0) {
		int n = epoll_wait(w->ep, evs, 64, 50);
		now = now_ns();
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (c == NULL) { /* the pacing timer: pace_wake() below */
				uint64_t ticks;
				ssize_t got = read(w->tfd, &ticks, sizeof(ticks));
				(void)got;
				continue;
			}
			if (c->fd < 0)
				continue;
			if (evs[i].events & EPOLLOUT) {
				struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
				epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
				if (conn_flush(w, c) < 0) {
					conn_error(w, c, "send failed", NULL, 0);
					continue;
				}
			}
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				conn_readable(w, c, now);
		}
		if (opt.rate > 0)
			pace_wake(w, now);
		if (n <= 0 || now - last_reap > 100000000ull) {
			last_reap = now;
			reap(w, now);
		}
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(&barrier); /* start_ns and deadline_ns are set */
	worker_loop(w);
	for (int i = 0; i < w->nconns; i++)
		conn_close(w, &w->conns[i]);
	return NULL;
}

/* ---- the report ------------------------------------------------------- */

static void
stats_add(struct stats *to, const struct stats *from)
{
	to->done += from->done;
	to->sessions += from->sessions;
	to->errors += from->errors;
	to->sum_ns += from->sum_ns;
	if (from->max_ns > to->max_ns)
		to->max_ns = from->max_ns;
	if (from->last_ns > to->last_ns)
		to->last_ns = from->last_ns;
	for (int s = 0; s < S_NSTAGES; s++)
		for (int r = 0; r < RC_NCLASS; r++)
			to->replies[s][r] += from->replies[s][r];
	for (size_t i = 0; i < NMODS; i++)
		to->mods[i] += from->mods[i];
	for (int i = 0; i < O_NOUTCOMES; i++)
		to->outcomes[i] += from->outcomes[i];
	for (unsigned b = 0; b < H_BUCKETS; b++)
		to->hist[b] += from->hist[b];
}

/* The two lines for one target; 0 if every message went through the protocol cleanly. */
static int
report(const struct target *tg)
{
	const struct stats *st = &tg->st;
	double secs = (double)tg->active_ns / 1e9;
	uint64_t n = st->done;

	printf("result label=%s target=%s conc=%d threads=%d rcpts=%d per_session=%d "
	       "seconds=%.2f slices=%d messages=%llu sessions=%llu errors=%llu mps=%.0f "
	       "p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f mean_us=%.1f\n",
	       tg->label, tg->spec, opt.conc, opt.threads, mopt.rcpts, mopt.per_session, secs,
	       tg->slices, (unsigned long long)n, (unsigned long long)st->sessions,
	       (unsigned long long)st->errors, secs > 0 ? (double)n / secs : 0.0,
	       percentile_us(st->hist, n, 0.50), percentile_us(st->hist, n, 0.99),
	       percentile_us(st->hist, n, 0.999), (double)st->max_ns / 1000.0,
	       n ? (double)st->sum_ns / (double)n / 1000.0 : 0.0);
	printf("replies label=%s conc=%d rcpts=%d", tg->label, opt.conc, mopt.rcpts);
	for (int s = 0; s < S_NSTAGES; s++)
		for (int r = 0; r < RC_NCLASS; r++)
			if (st->replies[s][r])
				printf(" %s_%s=%llu", stage_name[s], rclass_name[r],
				       (unsigned long long)st->replies[s][r]);
	for (size_t i = 0; i < NMODS; i++)
		if (st->mods[i])
			printf(" %s=%llu", mods[i].name, (unsigned long long)st->mods[i]);
	for (int i = 0; i < O_NOUTCOMES; i++)
		printf(" %s=%llu", outcome_name[i], (unsigned long long)st->outcomes[i]);
	printf("\n");
	return st->errors == 0 && n > 0 ? 0 : 1;
}

/* ---- main ------------------------------------------------------------- */

static void
usage(void)
{
	fprintf(
	    stderr,
	    "usage: milter_bench -s HOST:PORT [-L LABEL] [-s HOST:PORT -L LABEL] [-c CONNS]\n"
	    "                    [-t THREADS] [-r RCPTS] [-m MSGS] [-d SECONDS] [-i SLICE]\n"
	    "                    [-n MESSAGES] [-A ACCOUNTS] [-N SUPPRESSED] [-f HIT] [-W] [-Q]\n"
	    "                    [-S SEED] [-R RATE]\n"
	    "  -s  the milter (twice: two milters, driven in alternate slices; -L names each)\n"
	    "  -c  connections, each lock-step (default 1)\n"
	    "  -t  threads, each an epoll loop (default 1; at most -c)\n"
	    "  -r  recipients per message (default 1, at most %d)\n"
	    "  -m  messages per milter session, then QUIT and a new connection\n"
	    "      (default 0: one session per connection for the whole run)\n"
	    "  -d  seconds per milter (default 10); -i  slice length with two milters (default 1)\n"
	    "  -n  stop after this many messages (one milter only)\n"
	    "  -A  accounts acct0..acctA-1 (default 10000)\n"
	    "  -N  suppression entries the store holds (default 1000000)\n"
	    "  -f  fraction of recipients that are suppressed (default 0.10)\n"
	    "  -W  warm-up: one message per account, in order (creates them all)\n"
	    "  -Q  diagnosis only: ACK every reply at once (TCP_QUICKACK), which Postfix does\n"
	    "      not do; shows what Nagle + delayed-ACK stalls cost the filter\n"
	    "  -R  messages per second in all, spread evenly over the connections, open loop:\n"
	    "      each message has its time and its latency counts from it (default 0:\n"
	    "      closed loop, each connection as fast as the filter answers)\n",
	    MAX_RCPT);
	exit(2);
}

/* Add the server SPEC (-s HOST:PORT) to the targets. */
static void
parse_target(const char *spec)
{
	struct target *tg = &targets[ntargets];

	if (ntargets == MAX_TARGETS || bench_parse_addr("milter_bench", spec, &tg->addr) < 0)
		usage();
	tg->spec = spec;
	ntargets++;
}

/* Drive TG for SECS seconds (or until -n is used up) with fresh connections. */
static int
run_slice(struct target *tg, double secs, struct conn *conns, int nslice)
{
	static struct worker ws[MAX_THREADS];
	int nt = opt.threads, per = opt.conc / nt, extra = opt.conc % nt, next = 0;
	uint64_t last = 0;
	struct stats sum;

	cur = tg;
	memset(ws, 0, sizeof(ws));
	memset(&sum, 0, sizeof(sum));
	pthread_barrier_init(&barrier, NULL, (unsigned)nt + 1);
	for (int t = 0; t < nt; t++) {
		struct worker *w = &ws[t];
		w->nconns = per + (t < extra);
		w->conns = conns + next;
		for (int i = 0; i < w->nconns; i++) {
			w->conns[i].fd = -1;
			w->conns[i].parked = 0;
			w->conns[i].due_ns = 0;
			w->conns[i].id = (uint32_t)(next + i);
		}
		next += w->nconns;
		w->rng = (opt.seed + 1) * 0x9E3779B97F4A7C15ull +
			 (uint64_t)(nslice * MAX_THREADS + t + 1) * 0xBF58476D1CE4E5B9ull;
		if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
		    bench_pace_timer(w->ep, opt.rate, &w->tfd) < 0 ||
		    pthread_create(&w->tid, NULL, worker_main, w) != 0) {
			perror("milter_bench");
			exit(1);
		}
	}
	start_ns = now_ns();
	deadline_ns = start_ns + (uint64_t)(secs * 1e9);
	pthread_barrier_wait(&barrier);
	for (int t = 0; t < nt; t++) {
		pthread_join(ws[t].tid, NULL);
		close(ws[t].ep);
		if (ws[t].tfd >= 0)
			close(ws[t].tfd);
		stats_add(&sum, &ws[t].st);
	}
	pthread_barrier_destroy(&barrier);
	last = sum.last_ns > start_ns ? sum.last_ns : start_ns;
	sum.last_ns = 0;
	stats_add(&tg->st, &sum);
	tg->active_ns += last - start_ns;
	tg->slices++;
	return sum.errors || (atomic_load(&stop_now) && sum.done == 0) ? -1 : 0;
}

/* The body: plain text lines with CRLF, as smtpd hands it to the milter. */
static void
body_init(void)
{
	struct out o = {body};

	for (int i = 0; i < BODY_LINES; i++) {
		PUTS(&o, "Line ");
		put_u(&o, (uint64_t)i);
		PUTS(&o, " of the weekly digest: nothing to see here, just bytes to carry.\r\n");
	}
	body_len = (size_t)(o.p - body);
}

int
main(int argc, char **argv)
{
	struct conn *conns;
	double left;
	int ch, rc = 0, nslice = 0;

	while ((ch = getopt(argc, argv, "s:c:t:r:m:d:i:n:A:N:f:WQL:S:R:")) != -1) {
		switch (ch) {
		case 's':
			parse_target(optarg);
			break;
		case 'r':
			mopt.rcpts = atoi(optarg);
			break;
		case 'm':
			mopt.per_session = atoi(optarg);
			break;
		case 'Q':
			mopt.quickack = 1;
			break;
		case 'L':
			if (mopt.nlabels == MAX_TARGETS)
				usage();
			targets[mopt.nlabels++].label = optarg;
			break;
		default:
			if (!bench_opt_take(&opt, ch, optarg))
				usage();
		}
	}
	if (mopt.rcpts < 1 || mopt.rcpts > MAX_RCPT || mopt.per_session < 0 ||
	    bench_opt_finish(&opt, ntargets) < 0)
		usage();
	for (int i = 0; i < ntargets; i++)
		if (targets[i].label == NULL)
			targets[i].label = "-";
	bench_signals();
	body_init();
	qid_nonce = ((uint64_t)time(NULL) ^ (uint64_t)getpid() * 2654435761u) & 0x3FFFF;

	if ((conns = calloc((size_t)opt.conc, sizeof(*conns))) == NULL) {
		perror("milter_bench");
		return 1;
	}
	for (left = opt.seconds; left > 1e-9 && !atomic_load(&stop_now); left -= opt.slice)
		for (int t = 0; t < ntargets && !atomic_load(&stop_now); t++)
			if (run_slice(&targets[t], left < opt.slice ? left : opt.slice, conns,
				      nslice++) < 0)
				rc = 1;
	for (int t = 0; t < ntargets; t++)
		rc |= report(&targets[t]);
	return rc;
}
