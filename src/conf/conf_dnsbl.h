/*
 * conf_dnsbl -- reads, frees and prints the `dnsbl` list (see conf_dnsbl.c
 * for its shape).  Called by conf.c only.
 */
#ifndef OUTPOST_CONF_DNSBL_H
#define OUTPOST_CONF_DNSBL_H

#include <libconfig.h>
#include <stdio.h>

#include "conf/conf.h"

/* Read setting S (NULL: no lists) into CONF->dnsbl; -1 with "file:line: ..." in ERR. */
int conf_dnsbl_read(const config_setting_t *s, struct conf *conf, char *err, size_t len);
void conf_dnsbl_free(struct conf *conf);
void conf_dnsbl_dump(const struct conf *conf, FILE *fp);

#endif
