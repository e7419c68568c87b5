/*
 * libFuzzer target: the audit log verifier, fed the input as a log file,
 * trusting the vectors' node key (so the vectors' logs, the seeds, go
 * deep).  Any fault must name a line within the input.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "audit.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char ring[] = "node-1 ed25519 "
	    "4/DNWgORucZDinCamfW0WM2eIeD8TKCfMR3dFT/HsHg=\n";
	static struct audit_keyring kr;
	static int ready;
	struct audit_fault_info fi;
	struct audit_chain c;
	struct audit_err e;
	size_t newlines = 0;
	int fd, rc;

	if (!ready) {
		if (sodium_init() < 0 || audit_keyring_parse(&kr, ring,
		    sizeof(ring) - 1, 0, &e) != 0)
			abort();
		ready = 1;
	}
	if ((fd = memfd_create("log", MFD_CLOEXEC)) < 0)
		abort();
	if (write(fd, data, size) != (ssize_t)size ||
	    lseek(fd, 0, SEEK_SET) != 0)
		abort();
	audit_chain_init(&c, &kr);
	rc = audit_chain_stream(&c, fd, &fi, &e);
	for (size_t i = 0; i < size; i++)
		newlines += data[i] == '\n';
	if (rc == 1 && (fi.fault == FAULT_NONE || fi.line < 1 ||
	    fi.line > newlines + 1))
		abort();
	if (rc == 0 && c.lines != newlines)
		abort();
	audit_chain_free(&c);
	close(fd);
	return 0;
}
