/*
 * keygen [-d dir] [-k keyfile] kid: a new Ed25519 key, saved as a secret
 * file (created, never overwritten, mode 0600), and the line that puts
 * its public half in a keyring, on stdout.
 */
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "audit.h"
#include "keygen.h"

#define EXIT_ERR	2

/* Make kid's key, save it at path, print its keyring line; 0 or -1. */
static int
make_key(const struct keygen *kg, const char *kid, const char *path,
    struct audit_err *err)
{
	struct audit_seckey *k = NULL;
	char line[256];
	int rc = -1;

	if (audit_seckey_generate(&k, kid, err) != 0 ||
	    audit_seckey_save(k, path, err) != 0)
		goto out;
	if (audit_keyring_line(k, kg->role, line, sizeof(line)) != 0) {
		audit_errf(err, "cannot write the keyring line");
		goto out;
	}
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
	const char *dir = kg->dir, *path = NULL;
	char buf[PATH_MAX];
	struct audit_err e;
	int c;

	while ((c = getopt(argc, argv, "d:k:")) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'k': path = optarg; break;
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
	if (make_key(kg, argv[optind], path, &e) != 0) {
		fprintf(stderr, "%s: %s\n", kg->prog, e.msg);
		return EXIT_ERR;
	}
	return 0;
}
