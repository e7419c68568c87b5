/*
 * libFuzzer target: an answer tied to its record (node/answer.c).  The
 * node forwards "read" {"path":"a"} as n1; each input line is then, by
 * its first byte, a record line of the pod's ('R'), as it would reach
 * the copier, or the answer ('A'), a JSON object with audit, ok and
 * error members, after which the relay's check runs.  Whatever the
 * lines, an answer the check lets through names the request's last
 * record with its hash, the request has one decision record, on what
 * was forwarded, and an ok answer's decision allowed.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(struct fwd *f)
{
	const struct fwd_bind *b = &f->bind;
	char why[256];

	if (answer_backed(f, why, sizeof(why)) != 0)
		return;
	if (!b->audited || b->seq != b->last_seq || b->seq < 0 ||
	    (uint64_t)b->seq >= f->need || strcmp(b->hash, b->last_hash) != 0 ||
	    b->decisions != 1 || b->wrong != NULL || (b->ok && !b->allowed))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char req_line[] = "{\"args\":{\"path\":\"a\"},\"id\":\"n1\","
	    "\"op\":\"read\",\"pod\":\"p-0001\",\"type\":\"request\",\"v\":1}";
	const char *p = (const char *)data, *end = p + size, *nl;
	struct pod pod;
	struct fwd f;
	json_t *req;
	uint64_t lines = 0;

	memset(&pod, 0, sizeof(pod));
	memset(&f, 0, sizeof(f));
	f.seq = 1;
	if ((req = json_loads(req_line, 0, NULL)) == NULL ||
	    answer_forwarded(&f, req, req_line, sizeof(req_line) - 1) != 0)
		abort();
	json_decref(req);
	pod.fwds = &f;
	for (; p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL;
	    p = nl + 1) {
		json_t *a;

		if (nl == p)
			continue;
		if (*p == 'R' && pod.fwds != NULL) {
			answer_record(&pod, p + 1, (size_t)(nl - p - 1));
			lines++;
			continue;
		}
		if (*p != 'A' || pod.fwds == NULL)
			continue;
		pod.fwds = NULL;	/* the answer takes it */
		a = json_loadb(p + 1, (size_t)(nl - p - 1), 0, NULL);
		answer_named(&f, json_object_get(a, "audit"),
		    json_object_get(a, "ok"), json_object_get(a, "error"));
		json_decref(a);
		f.need = lines;
		check(&f);
	}
	return 0;
}
