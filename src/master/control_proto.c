/* control_proto -- the control protocol's command parser; see control_proto.h. */
#include "config.h"

#include <string.h>

#include "control_proto.h"

static const struct {
	const char *name;
	enum control_cmd cmd;
} control_cmds[] = {
    {"status", CONTROL_STATUS},
    {"reload", CONTROL_RELOAD},
};

enum control_cmd
control_parse(const char *buf, size_t len)
{
	const char *eol = memchr(buf, '\n', len);
	size_t n = eol ? (size_t)(eol - buf) : len;

	if (n > 0 && buf[n - 1] == '\r')
		n--;
	for (size_t i = 0; i < sizeof(control_cmds) / sizeof(control_cmds[0]); i++)
		if (strlen(control_cmds[i].name) == n && memcmp(buf, control_cmds[i].name, n) == 0)
			return control_cmds[i].cmd;
	return CONTROL_BAD;
}

const char *
control_cmd_name(enum control_cmd cmd)
{
	for (size_t i = 0; i < sizeof(control_cmds) / sizeof(control_cmds[0]); i++)
		if (control_cmds[i].cmd == cmd)
			return control_cmds[i].name;
	return "unknown";
}
