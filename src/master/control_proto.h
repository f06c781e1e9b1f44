/*
 * control_proto -- the master's control protocol, pure: one command line in
 * ("status" or "reload", ended by LF or CRLF, or by the end of what was
 * read), the command out.  No sockets: control_cb() in master.c reads at
 * most CONTROL_MAX_LINE bytes from a permitted peer and answers one line.
 */
#ifndef OUTPOST_CONTROL_PROTO_H
#define OUTPOST_CONTROL_PROTO_H

#include <stddef.h>

enum {
	CONTROL_MAX_LINE = 63, /* bytes read for one command */
};

enum control_cmd {
	CONTROL_BAD = 0, /* not a command we know: answer "error unknown command" */
	CONTROL_STATUS,
	CONTROL_RELOAD,
};

/* The command in BUF[0..LEN) (not NUL-terminated; NUL bytes make it CONTROL_BAD). */
enum control_cmd control_parse(const char *buf, size_t len);

/* "status", "reload"; "unknown" for CONTROL_BAD. */
const char *control_cmd_name(enum control_cmd cmd);

#endif
