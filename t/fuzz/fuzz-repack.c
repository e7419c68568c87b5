/*
 * libFuzzer target: what a VM pod's proxy packed (a cpio archive, as a
 * hostile guest may send it), made again into the node's own archive
 * (node/export.c, export_repack), for all of /work and for a path
 * beneath it.  Whatever the bytes: no crash, and an archive made holds
 * only names beneath the path asked for, without "." or ".." names or a
 * leading "/", only files, directories and links, within its bounds.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "node.h"

#define FUZZ_BYTES_MAX	(1024 * 1024)	/* of the archive made */
#define FUZZ_ENTRIES_MAX 64

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
name_ok(const char *s, const char *under)
{
	size_t n = strlen(under);

	if (s[0] == '/' || strcmp(s, ".") == 0 || strncmp(s, "./", 2) == 0 ||
	    strstr(s, "/./") != NULL || strcmp(s, "..") == 0 ||
	    strncmp(s, "../", 3) == 0 || strstr(s, "/../") != NULL)
		return 0;
	return n == 0 || (strncmp(s, under, n) == 0 && (s[n] == '\0' ||
	    s[n] == '/'));
}

static void
check(const struct audit_buf *tar, const char *under)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t n = 0;
	mode_t t;

	if (a == NULL || archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_open_memory(a, tar->p, tar->len) != ARCHIVE_OK)
		abort();
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		t = archive_entry_filetype(e);
		if (!name_ok(archive_entry_pathname(e), under) ||
		    (t != AE_IFREG && t != AE_IFDIR && t != AE_IFLNK) ||
		    ++n > FUZZ_ENTRIES_MAX)
			abort();
	}
	archive_read_free(a);
	if (tar->len > FUZZ_BYTES_MAX)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = { "", "src" };
	static json_t *pol;
	struct audit_buf in = { (char *)(uintptr_t)data, size, size };
	struct export_out out;
	struct audit_err e;

	if (pol == NULL && (pol = json_string("local_dev")) == NULL)
		abort();
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct export_req req = { paths[i], pol, FUZZ_BYTES_MAX,
		    FUZZ_ENTRIES_MAX };

		if (export_repack(&in, &req, &out, &e) == 0) {
			check(&out.tar, paths[i]);
			audit_buf_free(&out.tar);
		}
	}
	return 0;
}
