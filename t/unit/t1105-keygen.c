/*
 * keygen (keygen.c), as nucleus-node and nucleus-authority run it: the
 * key saved where -d or -k says, mode 0600, never over another; its
 * keyring line on stdout with the program's role (or -r's), and in the
 * public file beside the key; usage on bad words.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "keygen.h"
#include "tap.h"

static char dir[] = "/tmp/t1105.XXXXXX";
static char out[4096];

static void __attribute__((noreturn))
usage(void)
{
	_exit(64);
}

/* keygen_main with these words, its stdout in out; its status. */
static int
run(const char *d, const char *a1, const char *a2, const char *a3)
{
	const struct keygen kg = { "nucleus-test", d, "test.key", "tester",
	    usage };
	char *argv[] = { "keygen", (char *)a1, (char *)a2, (char *)a3, NULL };
	int argc = a1 == NULL ? 1 : a2 == NULL ? 2 : a3 == NULL ? 3 : 4;
	char path[64];
	int fd, rc;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/stdout", dir);
	fflush(stdout);
	if ((pid = fork()) == 0) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		if ((fd = open("/dev/null", O_WRONLY)) >= 0)
			dup2(fd, 2);	/* what it says is not checked here */
		optind = 0;
		_exit(keygen_main(&kg, argc, argv));
	}
	if (pid < 0 || waitpid(pid, &rc, 0) != pid || !WIFEXITED(rc))
		return -1;
	memset(out, 0, sizeof(out));
	if ((fd = open(path, O_RDONLY)) >= 0) {
		(void)!read(fd, out, sizeof(out) - 1);
		close(fd);
	}
	return WEXITSTATUS(rc);
}

int
main(void)
{
	struct audit_seckey *k = NULL;
	struct audit_keyring ring = { 0 };
	struct audit_err e;
	char path[128], longdir[5000];
	struct stat st;

	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return 1;
	is_int(run(dir, "k-1", NULL, NULL), 0, "keygen kid");
	snprintf(path, sizeof(path), "%s/test.key", dir);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "the key is saved in the directory, mode 0600");
	ok(strncmp(out, "k-1 ", 4) == 0 && strstr(out, " tester\n") != NULL,
	    "its keyring line names the kid and the role");
	ok(audit_keyring_parse(&ring, out, strlen(out), 1, &e) == 0 &&
	    audit_seckey_load(&k, path, &e) == 0 && audit_keyring_find(&ring,
	    "k-1") != NULL && memcmp(audit_keyring_find(&ring, "k-1")->pk,
	    k->pk, sizeof(k->pk)) == 0, "and is the saved key's public half");
	audit_keyring_free(&ring);
	audit_seckey_free(k);
	is_int(run(dir, "k-2", NULL, NULL), 2, "a second key is not saved "
	    "over the first");
	ok(strstr(out, "k-2") == NULL, "and prints no line");
	snprintf(path, sizeof(path), "%s/other.key", dir);
	is_int(run("/nonexistent", "-k", path, "k-3"), 0, "-k keyfile");
	ok(stat(path, &st) == 0, "saves the key there");
	is_int(run("/nonexistent", "-d", dir, "k-4"), 2, "-d dir: the "
	    "directory's key file, not made again");
	memset(longdir, 'd', sizeof(longdir) - 1);
	longdir[sizeof(longdir) - 1] = '\0';
	is_int(run(longdir, "k-5", NULL, NULL), 2, "a path too long");
	is_int(run(dir, NULL, NULL, NULL), 64, "no kid: usage");
	is_int(run(dir, "a", "b", NULL), 64, "two kids: usage");
	is_int(run(dir, "-x", "k-6", NULL), 64, "an unknown option: usage");
	/* The public file beside the key: .key replaced by .pub. */
	snprintf(path, sizeof(path), "%s/test.pub", dir);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644,
	    "the public line is written beside the key, mode 0644");
	snprintf(path, sizeof(path), "%s/other.pub", dir);
	ok(stat(path, &st) == 0, "beside -k's key too");
	snprintf(path, sizeof(path), "%s/agent-9.key", dir);
	is_int(run("/nonexistent", "-r", "agent", NULL), 64, "-r and no kid: "
	    "usage");
	{
		char *argv[] = { "keygen", "-r", "agent", "-k", path,
		    "agent-9", NULL };
		const struct keygen kg = { "nucleus-test", dir, "test.key",
		    "tester", usage };
		pid_t pid;
		int rc;

		fflush(stdout);
		if ((pid = fork()) == 0) {
			int fd = open("/dev/null", O_WRONLY);

			if (fd >= 0)
				dup2(fd, 1);
			optind = 0;
			_exit(keygen_main(&kg, 6, argv));
		}
		ok(pid > 0 && waitpid(pid, &rc, 0) == pid && WIFEXITED(rc) &&
		    WEXITSTATUS(rc) == 0, "-r agent -k file kid");
	}
	snprintf(path, sizeof(path), "%s/agent-9.pub", dir);
	{
		char line[256] = "";
		FILE *f = fopen(path, "r");

		ok(f != NULL && fgets(line, sizeof(line), f) != NULL &&
		    strncmp(line, "agent-9 ed25519 ", 16) == 0 &&
		    strstr(line, " agent\n") != NULL,
		    "-r's role is in the public line");
		if (f != NULL)
			fclose(f);
	}
	is_int(run(dir, "-r", "agnet", "k-7"), 64, "-r with a role no program "
	    "knows: usage");
	snprintf(path, sizeof(path), "%s/k-7.key", dir);
	ok(stat(path, &st) != 0, "and no key is made");
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	(void)!system(path);
	return done_testing();
}
