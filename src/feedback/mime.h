/*
 * mime -- the minimal RFC 5322 / 2045 / 2046 machinery the DSN and ARF
 * parsers need: header fields, parameters, multipart splitting, transfer
 * decodings and embedded messages.
 *
 * Pure: bytes in, structs out; no I/O, no clock.  The input is never assumed
 * to be NUL-terminated and is never read past its length.  Everything is
 * bounded (MIME_MAX_*); what lies beyond a bound is skipped and noted in the
 * flags, never an error: mail reports are messy and a partial parse of a
 * truncated bounce is still worth having.
 *
 * Header fields are unfolded (each line break plus the whitespace that starts
 * the continuation line becomes one space), trimmed, and NUL bytes in them
 * become spaces.  Lines end in LF or CRLF.  Encoded words (RFC 2047) and
 * charsets are left alone: the values we use are addresses and identifiers.
 *
 * A parsed message is a flat array of parts in document order (a part comes
 * before what it contains).  A multipart part contains its body parts; a
 * message/rfc822 or message/global part contains one part, the embedded
 * message; a text/rfc822-headers or message/global-headers part contains one
 * part holding only the embedded headers.
 */
#ifndef OUTPOST_MIME_H
#define OUTPOST_MIME_H

#include <stddef.h>

enum {
	MIME_MAX_INPUT = 8 << 20, /* bytes of a message looked at */
	MIME_MAX_DEPTH = 5,	  /* nesting of multiparts and messages */
	MIME_MAX_PARTS = 64,	  /* parts in one message, all levels */
	MIME_MAX_FIELDS = 512,	  /* fields kept in one header block */
	MIME_MAX_VALUE = 16384,	  /* bytes of one unfolded field value */
	MIME_MAX_NAME = 96,	  /* bytes of a field name */
	MIME_TYPE_MAX = 96,	  /* "type/subtype" buffer */
};

/* What was skipped or repaired (flags of a part, of a field block, and their union). */
enum {
	MIME_F_TRUNCATED = 1 << 0,    /* input beyond MIME_MAX_INPUT ignored */
	MIME_F_DEPTH = 1 << 1,	      /* nesting beyond MIME_MAX_DEPTH not split */
	MIME_F_PARTS = 1 << 2,	      /* parts beyond MIME_MAX_PARTS dropped */
	MIME_F_FIELDS = 1 << 3,	      /* fields beyond MIME_MAX_FIELDS dropped */
	MIME_F_LONG_VALUE = 1 << 4,   /* a field value cut at MIME_MAX_VALUE */
	MIME_F_NO_BOUNDARY = 1 << 5,  /* multipart without a boundary parameter */
	MIME_F_UNTERMINATED = 1 << 6, /* multipart without its closing delimiter */
	MIME_F_NO_DELIMITER = 1 << 7, /* multipart in which no delimiter was found */
	MIME_F_BAD_ENCODING = 1 << 8, /* base64 or quoted-printable with invalid bytes */
};

/* ---- header fields ------------------------------------------------------ */

struct mime_field {
	char *name;  /* as written, without the colon */
	char *value; /* unfolded and trimmed */
};

/* A block of fields ("Name: value" lines up to an empty line).  Owns its strings. */
struct mime_fields {
	struct mime_field *v;
	size_t n, cap;
	unsigned flags; /* MIME_F_FIELDS, MIME_F_LONG_VALUE */
};

void mime_fields_init(struct mime_fields *f);
void mime_fields_deinit(struct mime_fields *f);
/*
 * Parse the fields at the start of BUF[0..LEN) and append them to F.  Stops
 * after the first empty line (or one of only blanks), or at the first line
 * that is neither a field nor a continuation (that line is not consumed), or
 * at LEN.  Returns the offset where it stopped.  A continuation line with no
 * field before it is skipped.
 */
size_t mime_fields_parse(struct mime_fields *f, const char *buf, size_t len);
/* The value of the first field called NAME (case-insensitive), NULL if none. */
const char *mime_fields_get(const struct mime_fields *f, const char *name);
/*
 * The next field called NAME at or after index *POS (start with 0), for
 * fields that repeat; *POS is moved past it.  NULL when there are no more.
 */
const char *mime_fields_next(const struct mime_fields *f, const char *name, size_t *pos);

/* ---- structured values -------------------------------------------------- */

/*
 * The media type of a Content-Type VALUE, lower-case "type/subtype", into
 * OUT.  VALUE NULL or without a valid "type/subtype": "text/plain" (RFC 2045
 * section 5.2), and -1 is returned; 0 otherwise.
 */
int mime_type(const char *value, char *out, size_t outlen);
/*
 * Parameter NAME (case-insensitive) of a structured VALUE such as
 * "multipart/report; report-type=delivery-status; boundary=\"a b\"":
 * quoted strings are unquoted.  0 if found (OUT is set, cut to OUTLEN - 1),
 * -1 if absent (OUT is "").
 */
int mime_param(const char *value, const char *name, char *out, size_t outlen);

/* ---- transfer decodings --------------------------------------------------- */

/*
 * Decode base64 IN[0..LEN) into OUT (room for LEN bytes suffices); characters
 * outside the alphabet (line breaks) are skipped, decoding stops at '='.
 * Returns the decoded length; *BAD_R (if not NULL) is set when bytes other
 * than whitespace were skipped.
 */
size_t mime_base64_decode(const char *in, size_t len, char *out, int *bad_r);
/*
 * Decode quoted-printable IN[0..LEN) into OUT (room for LEN bytes suffices):
 * "=XX" escapes, soft line breaks, trailing whitespace on lines dropped.
 * Invalid escapes are kept as they are and set *BAD_R (if not NULL).
 */
size_t mime_qp_decode(const char *in, size_t len, char *out, int *bad_r);

/* ---- messages ------------------------------------------------------------- */

struct mime_part {
	int parent;		  /* index of the enclosing part, -1 for the message */
	unsigned depth;		  /* 0 for the message, +1 per level of nesting */
	unsigned msg_level;	  /* embedded messages around this part: 0 = the report itself */
	char type[MIME_TYPE_MAX]; /* lower-case "type/subtype" */
	struct mime_fields headers;
	const char *body; /* transfer encoding undone; not NUL-terminated */
	size_t body_len;
	unsigned flags; /* MIME_F_* about this part */
};

struct mime;

/*
 * Parse the message BUF[0..LEN).  Never fails: anything is a message (a
 * leading mbox "From " line is skipped).  The result refers to BUF, which
 * must outlive it.
 */
struct mime *mime_parse(const char *buf, size_t len);
void mime_destroy(struct mime *m);
size_t mime_nparts(const struct mime *m);
/* Part I (0 is the message itself); NULL when I is out of range. */
const struct mime_part *mime_part(const struct mime *m, size_t i);
/* Index of the part directly inside part I when it is a message or headers wrapper, else -1. */
int mime_embedded(const struct mime *m, size_t i);
/* The union of the MIME_F_* flags of all parts and header blocks. */
unsigned mime_flags(const struct mime *m);
/*
 * The first part of media type TYPE in the report itself (msg_level 0, not
 * inside a returned message), at index FROM or later; -1 if none.
 */
int mime_find(const struct mime *m, const char *type, size_t from);

/* ---- the original message a report carries -------------------------------- */

enum { MIME_ORIG_XMAX = 8 };

/*
 * The headers of the returned or reported message that tie a report to an
 * account and a recipient: values as they are (trimmed), "" when absent, cut
 * to the buffer size (CUT is then set).
 */
struct mime_orig {
	int found;	  /* 1: the report carried the original's headers */
	int headers_only; /* 1: text/rfc822-headers (or inline text): no body came back */
	int cut;	  /* 1: some value did not fit */
	char message_id[256];
	char feedback_id[256];
	char from[320];
	char to[320];
	char subject[256];
	char date[96];
	char return_path[320];
	size_t nx; /* X-Outpost-* headers, in order of appearance */
	struct {
		char name[64];
		char value[256];
	} x[MIME_ORIG_XMAX];
};

/* Set O's fields from a block of header fields (O is not cleared first; O->found is set). */
void mime_orig_from_fields(const struct mime_fields *f, struct mime_orig *o);
/*
 * Fill O from the first message/rfc822, message/global, text/rfc822-headers
 * or message/global-headers part of the report.  O is cleared first;
 * O->found stays 0 if there is no such part.
 */
void mime_orig_extract(const struct mime *m, struct mime_orig *o);

#endif
