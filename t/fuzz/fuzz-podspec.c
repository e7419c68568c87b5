/*
 * libFuzzer target: pod specs (node/podspec.c).  Nothing may crash or
 * leak; a refusal says why; an accepted spec is within every bound of
 * nucleus-pod(5), names each of its agents, and its image is a plain
 * name (never a path).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct podspec p;
	struct audit_err e;
	json_error_t jerr;
	json_t *o;

	if ((o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL)
		return 0;
	e.msg[0] = '\0';
	if (podspec_parse(&p, o, &e) != 0) {
		if (e.msg[0] == '\0')
			abort();	/* a refusal without a reason */
		json_decref(o);
		return 0;
	}
	if (!audit_podname_valid(p.name, strlen(p.name)) ||
	    strlen(p.name) > POD_NAME_MAX || p.nagents < 1 ||
	    p.nagents > POD_AGENTS_MAX ||
	    p.lim.memory_mib < POD_MEMORY_MIN ||
	    p.lim.memory_mib > POD_MEMORY_MAX || p.lim.pids < POD_PIDS_MIN ||
	    p.lim.pids > POD_PIDS_MAX || p.lim.scratch_mib < 1 ||
	    p.lim.scratch_mib > POD_SCRATCH_MAX || p.lim.cpus_milli < 1000 ||
	    p.lim.cpus_milli > POD_CPUS_MAX * 1000 || p.timeout_s < 0 ||
	    p.timeout_s > POD_TIMEOUT_MAX || p.policy == NULL ||
	    strlen(p.image) < 1 || strlen(p.image) > POD_IMAGE_MAX ||
	    strspn(p.image, "abcdefghijklmnopqrstuvwxyz0123456789_-") !=
	    strlen(p.image) || p.image[0] == '-' || p.image[0] == '_')
		abort();	/* accepted past a bound */
	for (size_t i = 0; i < p.nagents; i++)
		if (!podspec_names(&p, p.agents[i]))
			abort();
	podspec_free(&p);
	json_decref(o);
	return 0;
}
