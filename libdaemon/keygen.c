/*
 * keygen [-d dir] [-k keyfile] [-r role] kid: a new Ed25519 key, saved as
 * a secret file (created, never overwritten, mode 0600); the line that
 * puts its public half in a keyring, with its role, on stdout and in the
 * public file beside it (keyfile's name, .key replaced by .pub, or .pub
 * added; mode 0644, written once the key is saved): what
 * nucleus-audit-verify -k takes to verify the key's logs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "keygen.h"
#include "roles.h"

#define EXIT_ERR	2

/* The public file's path: keyfile's, .key replaced by .pub. */
static int
pub_path(char *buf, size_t size, const char *keyfile, struct audit_err *err)
{
	size_t len = strlen(keyfile);

	if (len > 4 && strcmp(keyfile + len - 4, ".key") == 0)
		return audit_fit(buf, size, err, "%.*s.pub", (int)(len - 4),
		    keyfile);
	return audit_fit(buf, size, err, "%s.pub", keyfile);
}

/* The public line into path, durable; 0 or -1. */
static int
pub_write(const char *path, const char *line, struct audit_err *err)
{
	int fd, rc = 0;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0)
		return audit_errf(err, "%s: %s", path, strerror(errno));
	if (dprintf(fd, "%s\n", line) < 0 || fsync(fd) != 0)
		rc = audit_errf(err, "%s: %s", path, strerror(errno));
	if (close(fd) != 0 && rc == 0)
		rc = audit_errf(err, "%s: %s", path, strerror(errno));
	return rc;
}

/* Make kid's key, save it at path, print its keyring line; 0 or -1. */
static int
make_key(const char *role, const char *kid, const char *path,
    struct audit_err *err)
{
	struct audit_seckey *k = NULL;
	char line[256], pub[PATH_MAX];
	int rc = -1;

	if (pub_path(pub, sizeof(pub), path, err) != 0 ||
	    audit_seckey_generate(&k, kid, err) != 0 ||
	    audit_seckey_save(k, path, err) != 0)
		goto out;
	if (audit_keyring_line(k, role, line, sizeof(line)) != 0) {
		audit_errf(err, "cannot write the keyring line");
		goto out;
	}
	if (pub_write(pub, line, err) != 0)
		goto out;
	if (printf("%s\n", line) < 0 || fflush(stdout) != 0) {
		audit_errf(err, "stdout: cannot write the keyring line");
		goto out;
	}
	rc = 0;
out:
	audit_seckey_free(k);
	return rc;
}

int
keygen_main(const struct keygen *kg, int argc, char **argv)
{
	const char *dir = kg->dir, *path = NULL, *role = kg->role;
	char buf[PATH_MAX];
	struct audit_err e;
	int c;

	while ((c = getopt(argc, argv, "d:k:r:")) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'k': path = optarg; break;
		case 'r':
			role = optarg;
			if (!roles_known(role)) {
				fprintf(stderr, "%s: -r: the role is admin, "
				    "agent, node or authority\n", kg->prog);
				kg->usage();
			}
			break;
		default: kg->usage();
		}
	}
	if (argc - optind != 1)
		kg->usage();
	if (path == NULL) {
		if (audit_fit(buf, sizeof(buf), &e, "%s/%s", dir,
		    kg->file) != 0) {
			fprintf(stderr, "%s: %s\n", kg->prog, e.msg);
			return EXIT_ERR;
		}
		path = buf;
	}
	if (make_key(role, argv[optind], path, &e) != 0) {
		fprintf(stderr, "%s: %s\n", kg->prog, e.msg);
		return EXIT_ERR;
	}
	return 0;
}
