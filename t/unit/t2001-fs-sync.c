/*
 * A replacing write is durable or it fails: when the directory cannot be
 * synced after the rename, the operation is an io_error that says so,
 * never a success.  fsync(2) is replaced here, so that its failure can
 * be provoked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "proxy.h"
#include "tap.h"

struct proxy *P;

static int fail_dir_sync;	/* fsync of a directory fails with EIO */

int
fsync(int fd)
{
	struct stat st;

	if (fail_dir_sync && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fsync, fd);
}

static json_t *
write_file(const char *path, const char *content, enum policy_kind *kind,
    char *why, size_t whysz)
{
	struct req r;
	json_t *res;

	memset(&r, 0, sizeof(r));
	r.pop = OP_WRITE;
	r.args = json_pack("{s:s, s:s}", "path", path, "content", content);
	res = fs_do(&r, kind, why, whysz);
	json_decref(r.args);
	json_decref(r.outcome);
	return res;
}

static char *
slurp(const char *dir, const char *name)
{
	static char buf[64];
	char path[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY)) < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

int
main(void)
{
	static struct proxy p;
	char dir[] = "/tmp/t2001-XXXXXX", why[POLICY_REASON_MAX];
	enum policy_kind kind;
	struct audit_err e;
	json_t *res;

	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return 2;
	P = &p;
	policy_init(&p.cfg.policy);
	if (policy_profile(&p.cfg.policy, "permissive", time(NULL)) != 0)
		return 2;
	p.cfg.lim.write = WRITE_MAX;
	if (resolve_open_root(&p.root, dir, &p.cfg.policy, &e) != 0)
		return 2;

	res = write_file("a.txt", "one", &kind, why, sizeof(why));
	ok(res != NULL, "a write whose directory syncs succeeds");
	is_str(slurp(dir, "a.txt"), "one", "and the file holds it");
	json_decref(res);

	fail_dir_sync = 1;
	res = write_file("a.txt", "two", &kind, why, sizeof(why));
	ok(res == NULL, "a write whose directory cannot be synced fails");
	is_int(kind, KIND_NONE, "as an I/O error (io_error)");
	ok(strstr(why, "a.txt: written, but its directory could not be "
	    "synced") != NULL, "saying what happened: %s", why);
	is_str(slurp(dir, "a.txt"), "two", "the new content is in place");
	json_decref(res);
	fail_dir_sync = 0;

	unlink(strcat(strcpy(why, dir), "/a.txt"));
	rmdir(dir);
	return done_testing();
}
