/*
 * libFuzzer target: a pod's host-side audit copy (node/copy.c), fed the
 * input's lines as the pod would send them, for the vectors' pod log
 * (pod-p-0001, certified by the vectors' node key).  Whatever the lines,
 * the copy holds only what verifies: at the end the file, verified from
 * its start, has exactly the lines the copy took, and none after a fault.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char dir[] = "/tmp/nucleus-fuzz-copy-XXXXXX";

static void
cleanup(void)
{
	rmdir(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char ring[] = "node-1 ed25519 "
	    "4/DNWgORucZDinCamfW0WM2eIeD8TKCfMR3dFT/HsHg=\n";
	static const char pk64[] =
	    "OzXLVPdhsk+3t8xO+L0mZ3PffOmyKRpFHcID/ays0iU=";
	static struct audit_keyring kr;
	static uint8_t pk[AUDIT_PK_LEN];
	static int ready;
	struct audit_fault_info fi;
	struct audit_chain c;
	struct audit_err e;
	struct copy cp;
	const char *p = (const char *)data, *end = p + size, *nl;
	int fd, failed = 0;

	if (!ready) {
		if (sodium_init() < 0 || audit_keyring_parse(&kr, ring,
		    sizeof(ring) - 1, 0, &e) != 0 || mkdtemp(dir) == NULL ||
		    audit_unb64(pk, sizeof(pk), pk64, sizeof(pk64) - 1) != 0)
			abort();
		atexit(cleanup);
		ready = 1;
	}
	if (copy_open(&cp, dir, "pod-p-0001", &kr, &e) != 0)
		abort();
	for (; p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL;
	    p = nl + 1) {
		int rc = copy_line(&cp, p, (size_t)(nl - p), "pod-p-0001", pk,
		    &e);

		if (rc == 0 && failed)
			abort();	/* taken after a fault */
		failed |= rc != 0;
	}
	if ((fd = open(cp.path, O_RDONLY | O_CLOEXEC)) < 0)
		abort();
	audit_chain_init(&c, &kr);
	if (audit_chain_stream(&c, fd, &fi, &e) != 0 && cp.chain.lines > 0)
		abort();	/* the copy holds a line that does not verify */
	if (c.lines != cp.chain.lines)
		abort();
	audit_chain_free(&c);
	close(fd);
	unlink(cp.path);
	copy_close(&cp);
	return 0;
}
