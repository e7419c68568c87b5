/*
 * What serve checks before it starts, and serve -n alone (as sshd -t):
 * the configuration and the host, every problem one line on stderr that
 * says what to do.  serve refuses to start on any.
 *
 *	directory	a directory, written by no one else, that the pods'
 *			proxy (uid POD_UID) can pass through, from / down
 *	keys		the node's key; the keyring's keys with the role
 *			admin or agent; the trust file's with authority or
 *			none (the roles each is read for)
 *	host		root, and the cgroup controllers pods are limited
 *			with (doctor's own check)
 *	programs	the proxy; with -G, the guest image's files
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctor.h"
#include "node.h"
#include "roles.h"

#define ME	"nucleus-node"

static const char *const keyring_roles[] = { "admin", "agent", NULL };
static const char *const trust_roles[] = { "authority", ROLES_NONE, NULL };
static const char *const guest_files[] = { "vmlinux", "initramfs.cpio",
    "root.squashfs", NULL };

/* Each directory from / to dir must let the pods' proxy pass. */
static size_t
check_reach(const char *dir)
{
	char path[LOCAL_PATH_MAX];
	struct stat st;
	size_t bad = 0, len = strlen(dir);

	if (len >= sizeof(path))
		return 0;	/* serve_paths() said it already */
	memcpy(path, dir, len + 1);
	for (;;) {
		char *slash;

		if (stat(path[0] != '\0' ? path : "/", &st) == 0 &&
		    (st.st_mode & S_IXOTH) == 0) {
			fprintf(stderr, "%s: %s: mode %04o: the pods' proxy "
			    "(uid %d) cannot pass through it to the pods' "
			    "directory: chmod o+x %s, or serve a directory "
			    "elsewhere (mode 0711)\n", ME,
			    path[0] != '\0' ? path : "/",
			    (unsigned)(st.st_mode & 07777), POD_UID,
			    path[0] != '\0' ? path : "/");
			bad++;
		}
		if ((slash = strrchr(path, '/')) == NULL || path[0] == '\0')
			break;
		*slash = '\0';
	}
	return bad;
}

static size_t
check_dir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "%s: %s: not a directory: make it "
		    "(mkdir -m 0711)\n", ME, dir);
		return 1;
	}
	if ((st.st_mode & 022) != 0) {
		fprintf(stderr, "%s: %s: mode %04o: others can write it: "
		    "chmod go-w %s\n", ME, dir,
		    (unsigned)(st.st_mode & 07777), dir);
		return 1;
	}
	return check_reach(dir);
}

/*
 * Each key of kr (the keyring, or with trust the trust file, read from
 * path) with a role it is read for, at start and on a reload: the number
 * that are not, each said.
 */
size_t
node_roles_check(const char *path, const struct audit_keyring *kr,
    int trust)
{
	return roles_check(stderr, ME, path, kr, trust ? trust_roles :
	    keyring_roles, trust ? "authority (or none)" :
	    "admin (an operator) or agent");
}

/* A keyring that loads, each key with a role it is read for. */
static size_t
check_keyring(const char *path, const char *what, int trust)
{
	struct audit_keyring kr = { 0, NULL };
	struct audit_err e;
	size_t bad;

	if (audit_keyring_load(&kr, path, &e) != 0) {
		fprintf(stderr, "%s: %s: %s: correct it (%s)\n", ME, what,
		    e.msg, path);
		return 1;
	}
	bad = node_roles_check(path, &kr, trust);
	audit_keyring_free(&kr);
	return bad;
}

static size_t
check_key(const char *keyfile)
{
	struct audit_seckey *k = NULL;
	struct audit_err e;

	if (audit_seckey_load(&k, keyfile, &e) != 0) {
		fprintf(stderr, "%s: the node's key: %s: make it with "
		    "nucleus-node keygen, or correct it\n", ME, e.msg);
		return 1;
	}
	audit_seckey_free(k);
	return 0;
}

/* root, and the cgroup controllers, as doctor sees them. */
static size_t
check_host(void)
{
	struct check c = { "cgroup", doctor_check_cgroup, 0, "", NULL };
	size_t bad = 0;

	if (geteuid() != 0) {
		fprintf(stderr, "%s: uid %d: the node makes pods' namespaces, "
		    "cgroups and mounts: run it as root\n", ME, (int)geteuid());
		bad++;
	}
	doctor_check_cgroup(&c);
	json_decref(c.facts);
	if (!c.ok) {
		fprintf(stderr, "%s: cgroup: %s: the pods' limits need the "
		    "memory, pids and cpu controllers (nucleus-node doctor)\n",
		    ME, c.text);
		bad++;
	}
	return bad;
}

static size_t
check_file(const char *path, const char *what, int mode)
{
	struct stat st;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
	    access(path, mode) != 0) {
		fprintf(stderr, "%s: %s %s: %s: install it, or name another\n",
		    ME, what, path, stat(path, &st) != 0 ? strerror(errno) :
		    !S_ISREG(st.st_mode) ? "not a file" : mode == X_OK ?
		    "not executable" : "not readable");
		return 1;
	}
	return 0;
}

static size_t
check_guest(const char *guest)
{
	char path[LOCAL_PATH_MAX];
	struct stat st;
	size_t bad = 0;

	if (stat(guest, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "%s: -G %s: %s: make the guest image (make "
		    "guest), or name its directory\n", ME, guest,
		    access(guest, F_OK) != 0 ? strerror(errno) :
		    "not a directory");
		return 1;
	}
	for (size_t i = 0; guest_files[i] != NULL; i++) {
		if (audit_fit(path, sizeof(path), NULL, "%s/%s", guest,
		    guest_files[i]) != 0) {
			fprintf(stderr, "%s: -G %s: too long a path: name a "
			    "shorter one\n", ME, guest);
			return bad + 1;
		}
		bad += check_file(path, "-G: the guest image's", R_OK);
	}
	return bad;
}

/* The number of problems found, each said on stderr. */
size_t
node_precheck(const struct precheck *pc)
{
	size_t bad = 0;

	bad += check_dir(pc->dir);
	bad += check_key(pc->keyfile);
	bad += check_keyring(pc->keyring, "the keyring", 0);
	bad += check_keyring(pc->trust, "the trust file", 1);
	bad += check_host();
	bad += check_file(pc->proxy, "-P: the proxy", X_OK);
	if (pc->guest != NULL)
		bad += check_guest(pc->guest);
	return bad;
}
