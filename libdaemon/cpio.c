/*
 * One entry of a cpio "newc" archive: "070701", 13 fields of 8 hex
 * digits, the name and its NUL, padded to 4 bytes, the data, padded.
 * Owner and group 0; one link; mode is the type and the permissions.
 */
#include <stdio.h>
#include <string.h>

#include "cpio.h"

int
cpio_newc_add(struct audit_buf *b, const char *name, unsigned mode,
    uint32_t mtime, const void *data, size_t len)
{
	static const char zero[4];
	static unsigned ino = 0x4e550000;
	char h[111];
	size_t nlen = strlen(name) + 1;

	if (len > UINT32_MAX || nlen > UINT32_MAX)
		return -1;
	snprintf(h, sizeof(h), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X"
	    "%08X%08X%08X%08X", ino++, mode, 0u, 0u, 1u, (unsigned)mtime,
	    (unsigned)len, 0u, 0u, 0u, 0u, (unsigned)nlen, 0u);
	if (audit_buf_add(b, h, 110) != 0 ||
	    audit_buf_add(b, name, nlen) != 0 ||
	    audit_buf_add(b, zero, (4 - (110 + nlen) % 4) % 4) != 0 ||
	    (len > 0 && audit_buf_add(b, data, len) != 0) ||
	    audit_buf_add(b, zero, (4 - len % 4) % 4) != 0)
		return -1;
	return 0;
}
