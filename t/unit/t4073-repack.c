/*
 * A VM pod's work, as its proxy sends it (node/export.c): the size it
 * says it packed, the pieces, and the cpio archive they make, read back
 * into the node's own tar.  What an honest proxy sends passes; a guest
 * that lies (a name climbing out or absolute, an entry of another kind,
 * more entries or bytes than the bounds, a file shorter than its header,
 * a piece where none was asked, more bytes than said) gets an error of
 * its kind, and nothing is made.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

#include "node.h"
#include "cpio.h"
#include "tap.h"

static struct audit_buf cp;

static void
add(const char *name, unsigned mode, const char *data)
{
	if (cpio_newc_add(&cp, name, mode, 1700000000, data, data != NULL ?
	    strlen(data) : 0) != 0)
		abort();
}

static void
fresh(void)
{
	audit_buf_free(&cp);
	memset(&cp, 0, sizeof(cp));
}

static void
trailer(void)
{
	add(CPIO_TRAILER, 0, NULL);
}

/* The archive cp makes, for path, within max entries; the kind, or "". */
static const char *
repack(const char *path, size_t max_entries, size_t max_bytes,
    struct export_out *out)
{
	json_t *pol = json_string("local_dev");
	struct export_req req = { .path = path, .policy = pol, .max_bytes =
	    max_bytes, .max_entries = max_entries };
	struct audit_err e;
	int rc = export_repack(&cp, &req, out, &e);

	json_decref(pol);
	if (rc != 0) {
		diag("%s", e.msg);
		return out->kind;
	}
	return "";
}

/* The tar's entries as "name type [target]" lines. */
static void
listing(const struct audit_buf *tar, char *s, size_t n)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t at = 0;

	s[0] = '\0';
	archive_read_support_format_tar(a);
	if (archive_read_open_memory(a, tar->p, tar->len) != ARCHIVE_OK)
		return;
	while (archive_read_next_header(a, &e) == ARCHIVE_OK && at < n) {
		const char *l = archive_entry_symlink(e);
		struct audit_buf b = { 0 };

		if (audit_buf_add(&b, s, at) != 0 ||
		    audit_buf_add(&b, archive_entry_pathname(e),
		    strlen(archive_entry_pathname(e))) != 0 ||
		    audit_buf_add(&b, archive_entry_filetype(e) == AE_IFDIR ?
		    " d" : archive_entry_filetype(e) == AE_IFLNK ? " l" : " f",
		    2) != 0 || (l != NULL && (audit_buf_add(&b, " ", 1) != 0 ||
		    audit_buf_add(&b, l, strlen(l)) != 0)) ||
		    audit_buf_add(&b, ";", 1) != 0 || b.len >= n)
			abort();
		memcpy(s, b.p, b.len);
		s[at = b.len] = '\0';
		audit_buf_free(&b);
	}
	archive_read_free(a);
}

static void
honest(void)
{
	struct export_out out;
	char s[512];

	fresh();
	add("src", S_IFDIR | 0755, NULL);
	add("src/a.c", S_IFREG | 0644, "int a;\n");
	add("a.c", S_IFLNK | 0777, "src/a.c");
	add(".env", S_IFREG | 0600, "SECRET=1\n");
	trailer();
	is_str(repack("", EXPORT_ENTRIES_MAX, EXPORT_BYTES_MAX, &out), "",
	    "an honest archive is read back");
	listing(&out.tar, s, sizeof(s));
	is_str(s, "src/ d;src/a.c f;a.c l src/a.c;", "its entries, the link "
	    "a link, what the policy blocks left out");
	is_int((long long)out.left_out, 1, "counted as left out");
	is_int((long long)out.entries, 3, "three entries");
	audit_buf_free(&out.tar);

	is_str(repack("src", EXPORT_ENTRIES_MAX, EXPORT_BYTES_MAX, &out), "io_error",
	    "entries beside the path asked for are a lie");

	fresh();
	is_str(repack("", 1, EXPORT_BYTES_MAX, &out), "",
	    "nothing packed (an empty /work): an empty archive");
	audit_buf_free(&out.tar);

	fresh();
	add("src", S_IFDIR | 0755, NULL);
	add("src/a.c", S_IFREG | 0644, "int a;\n");
	trailer();
	is_str(repack("src", 2, EXPORT_BYTES_MAX, &out), "",
	    "a path and what is beneath it, at the bound of entries");
	audit_buf_free(&out.tar);
	is_str(repack("src", 1, EXPORT_BYTES_MAX, &out), "too_large",
	    "one entry past a bound: too_large");
	is_str(repack("src", 2, 1024, &out), "too_large",
	    "past the bound of bytes: too_large");
}

/* One entry named name (mode, data): its kind, read back. */
static const char *
one(const char *name, unsigned mode, const char *data)
{
	static struct export_out out;

	fresh();
	add(name, mode, data);
	trailer();
	return repack("", EXPORT_ENTRIES_MAX, EXPORT_BYTES_MAX, &out);
}

static void
lies(void)
{
	struct export_out out;
	char target[EXPORT_LINK_MAX + 1];

	is_str(one("../x", S_IFREG | 0644, "x"), "io_error",
	    "a name climbing out of /work");
	is_str(one("a/../../x", S_IFREG | 0644, "x"), "io_error",
	    "a name climbing out midway");
	is_str(one("/etc/passwd", S_IFREG | 0644, "x"), "io_error",
	    "an absolute name");
	is_str(one("a//b", S_IFREG | 0644, "x"), "io_error",
	    "an empty name between slashes");
	is_str(one("a/", S_IFDIR | 0755, NULL), "io_error",
	    "a name ending in a slash");
	is_str(one("dev", S_IFCHR | 0644, NULL), "io_error",
	    "a device");
	is_str(one("fifo", S_IFIFO | 0644, NULL), "io_error",
	    "a fifo");
	memset(target, 'a', EXPORT_LINK_MAX);
	target[EXPORT_LINK_MAX] = '\0';
	is_str(one("l", S_IFLNK | 0777, target), "io_error",
	    "a link's target of EXPORT_LINK_MAX bytes");

	/* A header that says more bytes than follow. */
	fresh();
	add("big", S_IFREG | 0644, "0123456789");
	cp.len -= 8;
	is_str(repack("", EXPORT_ENTRIES_MAX, EXPORT_BYTES_MAX, &out),
	    "io_error", "a file shorter than its header says");

	/* A link whose header says 4 GB of target (libarchive would ask
	 * for that much memory at once). */
	fresh();
	add("l", S_IFLNK | 0777, "src/a.c");
	memcpy(cp.p + 6 + 8 * 6, "FFFFFF00", 8);
	trailer();
	is_str(repack("", EXPORT_ENTRIES_MAX, EXPORT_BYTES_MAX, &out),
	    "io_error", "a header saying more bytes than the archive holds");
	fresh();
	add("a", S_IFREG | 0644, "x");
	is_str(repack("", EXPORT_ENTRIES_MAX, EXPORT_BYTES_MAX, &out),
	    "io_error", "no trailer: not whole");

	fresh();
	if (audit_buf_add(&cp, "not an archive at all, no", 25) != 0)
		abort();
	is_str(repack("", EXPORT_ENTRIES_MAX, EXPORT_BYTES_MAX, &out),
	    "io_error", "bytes that are no archive");
}

/* Two entries (a then b), the second beneath path p: the kind. */
static const char *
two(const char *p, const char *a, unsigned am, const char *ad,
    const char *b, unsigned bm, const char *bd)
{
	static struct export_out out;
	const char *kind;

	fresh();
	add(a, am, ad);
	add(b, bm, bd);
	trailer();
	kind = repack(p, EXPORT_ENTRIES_MAX, EXPORT_BYTES_MAX, &out);
	if (kind[0] == '\0')
		audit_buf_free(&out.tar);
	return kind;
}

/*
 * Archives that would make GNU tar or bsdtar write through what they
 * made themselves: a link and then a file beneath its name, a name
 * twice, an entry whose directory never came.
 */
static void
shapes(void)
{
	is_str(two("", "a", S_IFLNK | 0777, "/etc", "a/passwd", S_IFREG |
	    0644, "root::0:0::/:/bin/sh\n"), "io_error",
	    "a file beneath a link to /etc");
	is_str(two("", "r", S_IFLNK | 0777, "../..", "r/x", S_IFREG | 0644,
	    "x"), "io_error", "a file beneath a link climbing out");
	is_str(two("", "a", S_IFLNK | 0777, "/etc", "a", S_IFDIR | 0755,
	    NULL), "io_error", "a link and a directory of one name");
	is_str(two("", "x", S_IFREG | 0644, "1", "x", S_IFREG | 0644, "2"),
	    "io_error", "a file twice");
	is_str(two("", "f", S_IFREG | 0644, "1", "f/x", S_IFREG | 0644, "2"),
	    "io_error", "a file beneath a file");
	is_str(two("", "d/x", S_IFREG | 0644, "1", "d", S_IFDIR | 0755, NULL),
	    "io_error", "a file before its directory");
	is_str(two("src", "src", S_IFDIR | 0755, NULL, "src/a/b", S_IFREG |
	    0644, "1"), "io_error", "a file whose directory never came");
	is_str(two("src", "src", S_IFLNK | 0777, "/etc", "src/passwd",
	    S_IFREG | 0644, "x"), "io_error",
	    "the path asked for a link, a file beneath it");
	is_str(two("", "d", S_IFDIR | 0755, NULL, "d/x", S_IFREG | 0644, "1"),
	    "", "a directory, then its file: taken");
	is_str(two("src/a", "src/a", S_IFDIR | 0755, NULL, "src/a/x",
	    S_IFREG | 0644, "1"), "", "the path asked for and beneath it: "
	    "taken");
}

/* The permission bits of the tar's entry name, or -1. */
static int
perm_of(const struct audit_buf *tar, const char *name)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int perm = -1;

	archive_read_support_format_tar(a);
	if (archive_read_open_memory(a, tar->p, tar->len) == ARCHIVE_OK)
		while (archive_read_next_header(a, &e) == ARCHIVE_OK)
			if (strcmp(archive_entry_pathname(e), name) == 0)
				perm = (int)archive_entry_perm(e);
	archive_read_free(a);
	return perm;
}

/* Set-id, sticky and others' write bits never reach the operator. */
static void
perms(void)
{
	struct export_out out;

	fresh();
	add("d", S_IFDIR | 01777, NULL);
	add("d/suid", S_IFREG | 06777, "x");
	add("d/rw", S_IFREG | 0666, "x");
	add("d/l", S_IFLNK | 0777, "rw");
	trailer();
	is_str(repack("", EXPORT_ENTRIES_MAX, EXPORT_BYTES_MAX, &out), "",
	    "an archive with every mode bit");
	is_int(perm_of(&out.tar, "d/"), 0755, "a directory: 0755 of 1777");
	is_int(perm_of(&out.tar, "d/suid"), 0755, "a file: 0755 of 6777");
	is_int(perm_of(&out.tar, "d/rw"), 0644, "a file: 0644 of 0666");
	is_int(perm_of(&out.tar, "d/l"), 0777, "a link: as it is");
	audit_buf_free(&out.tar);
}

static json_t *
piece(long long off, const char *bytes, size_t n)
{
	char *b64 = malloc(audit_b64_len(n));
	json_t *r;

	audit_b64(b64, audit_b64_len(n), (const uint8_t *)bytes, n);
	r = json_pack("{s:I, s:s}", "offset", (json_int_t)off, "data", b64);
	free(b64);
	return r;
}

static void
pieces(void)
{
	struct export_pack pk = { 0 };
	struct audit_err e;
	const char *kind;
	json_t *r;
	char *big;

	r = json_pack("{s:i, s:i, s:i}", "bytes", 10, "left_out", 2,
	    "skipped", 1);
	ok(export_packed(r, 10, &pk, &kind, &e) == 0 && pk.said == 10 &&
	    pk.left_out == 2, "packed: the size at the bound is taken");
	is_int(export_packed(r, 9, &pk, &kind, &e), -1, "one byte past the "
	    "bound asked for");
	is_str(kind, "too_large", "is too_large");
	json_decref(r);
	r = json_pack("{s:i, s:i, s:i}", "bytes", 0, "left_out", 0,
	    "skipped", 0);
	ok(export_packed(r, 10, &pk, &kind, &e) == -1 &&
	    strcmp(kind, "io_error") == 0, "nothing packed, not even a "
	    "trailer: out of form");
	json_decref(r);
	r = json_pack("{s:i, s:i}", "bytes", 5, "left_out", -1);
	ok(export_packed(r, 10, &pk, &kind, &e) == -1, "a count below 0, "
	    "one missing: out of form");
	json_decref(r);

	pk = (struct export_pack){ .said = 10 };
	r = piece(0, "01234", 5);
	is_int(export_piece(r, &pk, &kind, &e), 0, "a piece: more to come");
	json_decref(r);
	r = piece(0, "56789", 5);
	is_int(export_piece(r, &pk, &kind, &e), -1, "a piece where none "
	    "was asked");
	json_decref(r);
	r = piece(5, "56789X", 6);
	is_int(export_piece(r, &pk, &kind, &e), -1, "more bytes than said");
	is_str(kind, "io_error", "is io_error");
	json_decref(r);
	r = json_pack("{s:i, s:s}", "offset", 5, "data", "!!!!");
	is_int(export_piece(r, &pk, &kind, &e), -1, "not base64");
	json_decref(r);
	r = piece(5, "", 0);
	is_int(export_piece(r, &pk, &kind, &e), -1, "an empty piece");
	json_decref(r);
	r = piece(5, "56789", 5);
	is_int(export_piece(r, &pk, &kind, &e), 1, "the last piece: all "
	    "of it");
	json_decref(r);
	ok(pk.cpio.len == 10 && memcmp(pk.cpio.p, "0123456789", 10) == 0,
	    "the pieces, in order");
	audit_buf_free(&pk.cpio);

	pk = (struct export_pack){ .said = 2 * EXPORT_CHUNK_MAX };
	big = calloc(1, EXPORT_CHUNK_MAX + 1);
	r = piece(0, big, EXPORT_CHUNK_MAX);
	is_int(export_piece(r, &pk, &kind, &e), 0, "a piece of "
	    "EXPORT_CHUNK_MAX bytes");
	json_decref(r);
	r = piece(EXPORT_CHUNK_MAX, big, EXPORT_CHUNK_MAX + 1);
	is_int(export_piece(r, &pk, &kind, &e), -1, "one byte longer");
	json_decref(r);
	free(big);
	audit_buf_free(&pk.cpio);
}

int
main(void)
{
	honest();
	lies();
	shapes();
	perms();
	pieces();
	fresh();
	return done_testing();
}
