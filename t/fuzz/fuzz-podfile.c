/*
 * libFuzzer target: a pod file as nucleus-proxy reads it (duplicate
 * members refused, as json_load_file is told), then every member
 * checked.  Nothing may crash or leak, accepted or not.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	struct audit_err e;
	json_error_t je;
	json_t *o;

	if ((o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
	    &je)) == NULL)
		return 0;
	memset(&c, 0, sizeof(c));
	e.msg[0] = '\0';
	if (config_from_json(&c, o, &e) != 0 && e.msg[0] == '\0')
		abort();	/* a refusal always says why */
	config_free(&c);
	json_decref(o);
	return 0;
}
