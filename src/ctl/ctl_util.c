/* ctl_util -- store opening, options, output helpers for outpostctl; see ctl.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "quota/quota.h"
#include "store/changes.h"
#include "util/log.h"
#include "util/text.h"

int
ctl_err(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("outpostctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int
ctl_store(struct ctl *ctl)
{
	struct store_opts so = {ctl->conf->store.map_size, ctl->conf->store.max_readers, 0, 1};
	char err[512];

	if (ctl->st)
		return EXIT_OK;
	ctl->st = store_open(ctl->conf->store.path, &so, err, sizeof(err));
	if (ctl->st == NULL)
		return ctl_err(EXIT_UNAVAILABLE, "%s", err);
	/* A fleet member records its changes even before outpostd first marked the store. */
	if (ctl->conf->cluster.redis[0] &&
	    (store_capture_node(ctl->st) == NULL ||
	     strcmp(store_capture_node(ctl->st), ctl->conf->cluster.node))) {
		if (change_mark_node(ctl->st, ctl->conf->cluster.node) != STORE_OK)
			return ctl_err(EXIT_UNAVAILABLE, "%s", store_error(ctl->st));
		store_close(ctl->st);
		if ((ctl->st = store_open(ctl->conf->store.path, &so, err, sizeof(err))) == NULL)
			return ctl_err(EXIT_UNAVAILABLE, "%s", err);
	}
	return EXIT_OK;
}

void
ctl_quota(struct ctl *ctl)
{
	char err[512];

	/* Absent until outpostd first ran: nothing was sent, every limit has room. */
	if (quota_table == NULL && quota_open(ctl->conf, 0, err, sizeof(err)) < 0)
		log_debug("quota: %s", err);
}

int
ctl_opts(struct ctl *ctl, int argc, char **argv, const struct ctl_opt *opts, char **pos, int *npos,
	 int maxpos, const char *noun, const char *verb)
{
	*npos = 0;
	for (int i = 0; i < argc; i++) {
		const struct ctl_opt *o;
		if (strcmp(argv[i], "--json") == 0) {
			ctl->json = 1;
			continue;
		}
		if (strcmp(argv[i], "--") == 0) {
			for (i++; i < argc; i++) {
				if (*npos >= maxpos)
					return ctl_usage(noun, verb);
				pos[(*npos)++] = argv[i];
			}
			break;
		}
		if (argv[i][0] != '-' || argv[i][1] == '\0') {
			if (*npos >= maxpos) {
				ctl_err(EXIT_USAGE, "%s %s: unexpected argument '%s'", noun, verb,
					argv[i]);
				return ctl_usage(noun, verb);
			}
			pos[(*npos)++] = argv[i];
			continue;
		}
		for (o = opts; o && o->name; o++) {
			size_t n = strlen(o->name);
			if (strncmp(argv[i], o->name, n) != 0 ||
			    (argv[i][n] != '\0' && argv[i][n] != '='))
				continue;
			if (!o->has_arg) {
				*o->flag = 1;
			} else if (argv[i][n] == '=') {
				*o->value = argv[i] + n + 1;
			} else if (o->has_arg == CTL_ARG_OPTIONAL) {
				*o->value = "";
			} else if (i + 1 < argc) {
				*o->value = argv[++i];
			} else {
				ctl_err(EXIT_USAGE, "%s %s: %s needs a value", noun, verb, o->name);
				return ctl_usage(noun, verb);
			}
			break;
		}
		if (o == NULL || o->name == NULL) {
			ctl_err(EXIT_USAGE, "%s %s: unknown option '%s'", noun, verb, argv[i]);
			return ctl_usage(noun, verb);
		}
	}
	return EXIT_OK;
}

void
ctl_json_print(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);

	puts(s);
	free(s);
}

const char *
ctl_time(int64_t t, char *buf, size_t len)
{
	if (t == 0) {
		buf[0] = '\0';
		return buf;
	}
	return text_time_format(t, buf, len);
}
