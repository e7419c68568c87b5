/*
 * One entry of a cpio "newc" archive: "070701", 13 fields of 8 hex
 * digits, the name and its NUL, padded to 4 bytes, the data, padded.
 * Owner and group 0; one link; mode is the type and the permissions.
 */
#include <stdio.h>
#include <stdlib.h>
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

/* Field i (0 to 12) of the header at h, 8 hex digits; -1 if not. */
static long long
field(const char *h, int i)
{
	char s[9];
	char *end;
	long long v;

	memcpy(s, h + 6 + 8 * i, 8);
	s[8] = '\0';
	for (int k = 0; k < 8; k++)
		if (strchr("0123456789abcdefABCDEF", s[k]) == NULL)
			return -1;
	v = strtoll(s, &end, 16);
	return *end == '\0' ? v : -1;
}

/*
 * Does the newc archive of len bytes at p hold whole entries up to its
 * trailer, each header's name and data within the bytes there are?  A
 * reader trusting a header's sizes (libarchive reads a link's target
 * whole, asking for as much as its header says) is given only such.
 */
int
cpio_newc_check(const void *p, size_t len)
{
	const char *b = p;
	size_t at = 0, nsz, fsz, off;
	long long n, f;

	while (len - at >= 110) {
		if (memcmp(b + at, "070701", 6) != 0 ||
		    (n = field(b + at, 11)) < 1 || (f = field(b + at, 6)) < 0)
			return -1;
		nsz = (size_t)n;
		fsz = (size_t)f;
		off = (110 + nsz + 3) & ~(size_t)3;
		if (off > len - at || ((fsz + 3) & ~(size_t)3) > len - at - off)
			return -1;
		if (nsz == sizeof(CPIO_TRAILER) && memcmp(b + at + 110,
		    CPIO_TRAILER, sizeof(CPIO_TRAILER)) == 0)
			return 0;
		at += off + ((fsz + 3) & ~(size_t)3);
	}
	return -1;
}
