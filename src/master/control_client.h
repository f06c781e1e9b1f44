/*
 * control_client -- the client side of the master's control socket: what
 * `outpostctl status|reload` and the HTTP API's /v1/status ask the running
 * daemon.  One command line out, one answer line back.
 */
#ifndef OUTPOST_CONTROL_CLIENT_H
#define OUTPOST_CONTROL_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "conf/conf.h"
#include "store/store.h"

/* Send CMD ("status\n") to the socket at PATH; the answer's first line (free it), or NULL
 * with errno set when the daemon is not there. */
char *control_ask(const char *path, const char *cmd);

/*
 * The daemon's status with the store's figures added (read from ST when not NULL):
 * what `outpostctl status --json` prints.  NULL with a reason in ERR when the daemon is
 * not running or answers nonsense.
 */
json_t *control_status(const struct conf *conf, struct store *st, char *err, size_t errlen);
/* Add the store's figures (a "store" object) to status O. */
void control_status_add_store(const struct conf *conf, struct store *st, json_t *o);

#endif
