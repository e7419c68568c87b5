/*
 * libFuzzer target: nucleus-audit-verify's state file, fed the input as
 * the file.  Nothing may crash or leak; an entry loaded is whole (a valid
 * log id, a retired entry closed), and what is saved loads again to the
 * same entries.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "statefile.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(const struct state *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct state_entry *e = &s->v[i];

		if (!audit_logid_valid(e->log, strlen(e->log)) ||
		    (e->retired && e->next[0] == '\0') || e->seen)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[] = "/tmp/fuzz-statefile.XXXXXX";
	static int ready;
	char in[64], out[sizeof(dir) + 16];
	struct state s, again;
	struct audit_err e;
	int fd;

	if (!ready) {
		if (mkdtemp(dir) == NULL)
			abort();
		ready = 1;
	}
	if ((fd = memfd_create("state", MFD_CLOEXEC)) < 0 ||
	    write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(in, sizeof(in), "/proc/self/fd/%d", fd);
	snprintf(out, sizeof(out), "%s/state", dir);
	if (state_load(&s, in, &e) == 0) {
		check(&s);
		if (state_save(&s, out, &e) != 0 ||
		    state_load(&again, out, &e) != 0)
			abort();
		if (again.n != s.n)
			abort();
		for (size_t i = 0; i < s.n; i++)
			if (memcmp(&again.v[i], &s.v[i], sizeof(s.v[i])) != 0)
				abort();
		state_free(&again);
		state_free(&s);
	}
	close(fd);
	return 0;
}
