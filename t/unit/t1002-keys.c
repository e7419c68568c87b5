/*
 * Key files and keyrings: exact lengths, one written form, modes, O_EXCL
 * and O_NOFOLLOW, and the limits.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "tap.h"

static char dir[] = "/tmp/nucleus-t1002-XXXXXX";

static const char *
path(const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static void
put(const char *name, mode_t mode, const char *text)
{
	FILE *f;

	unlink(path(name));
	f = fopen(path(name), "w");
	fputs(text, f);
	fclose(f);
	chmod(path(name), mode);
}

static int
load_fails(const char *name, const char *want)
{
	struct audit_seckey *k = NULL;
	struct audit_err e = { "" };
	int refused = audit_seckey_load(&k, path(name), &e) == -1 &&
	    k == NULL && strstr(e.msg, want) != NULL;

	if (!refused)
		diag("got: %s", e.msg);
	audit_seckey_free(k);
	return refused;
}

static void
secret_files(void)
{
	struct audit_seckey *k, *k2;
	struct audit_err e;
	struct stat st;
	char line[256];

	ok(audit_seckey_generate(&k, "node-1", &e) == 0, "generate a key");
	ok(audit_seckey_save(k, path("node.secret"), &e) == 0 &&
	    stat(path("node.secret"), &st) == 0 &&
	    (st.st_mode & 07777) == 0600, "saved with mode 0600");
	ok(audit_seckey_save(k, path("node.secret"), &e) == -1 &&
	    strstr(e.msg, "File exists") != NULL,
	    "an existing key file is never overwritten");
	ok(symlink(path("elsewhere"), path("link.secret")) == 0 &&
	    audit_seckey_save(k, path("link.secret"), &e) == -1 &&
	    access(path("elsewhere"), F_OK) != 0,
	    "a symbolic link where the key goes is not written through");
	ok(audit_seckey_load(&k2, path("node.secret"), &e) == 0 &&
	    memcmp(k2->pk, k->pk, 32) == 0 && strcmp(k2->kid, "node-1") == 0,
	    "loaded back: the same key");
	ok(audit_keyring_line(k, "node", line, sizeof(line)) == 0 &&
	    strncmp(line, "node-1 ed25519 ", 15) == 0 &&
	    strcmp(line + strlen(line) - 5, " node") == 0,
	    "its keyring line: %s", line);
	audit_seckey_free(k2);
	chmod(path("node.secret"), 0640);
	ok(load_fails("node.secret", "chmod 600"),
	    "a secret file readable by its group is refused");
	chmod(path("node.secret"), 0604);
	ok(load_fails("node.secret", "must not be accessible"),
	    "a world-readable secret file is refused");
	chmod(path("node.secret"), 0600);
	ok(symlink(path("node.secret"), path("sym.secret")) == 0 &&
	    load_fails("sym.secret", "Too many levels"),
	    "a secret file behind a symbolic link is refused");
	audit_seckey_free(k);

	put("short", 0600, "ed25519-secret k "
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n");
	ok(load_fails("short", "exactly 32 bytes"), "a 31-byte seed");
	put("long", 0600, "ed25519-secret k "
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n");
	ok(load_fails("long", "exactly 32 bytes"), "a 33-byte seed");
	put("noncanon", 0600, "ed25519-secret k "
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n");
	ok(load_fails("noncanon", "exactly 32 bytes"),
	    "base64 with unused bits set is not the written form");
	put("two", 0600, "ed25519-secret a "
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
	    "ed25519-secret b AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
	ok(load_fails("two", "more than one key line"), "two keys in a file");
	put("none", 0600, "# only a comment\n\n");
	ok(load_fails("none", "no key line"), "no key at all");
	put("rsa", 0600, "rsa-secret k AAAA\n");
	ok(load_fails("rsa", "expected"), "a line of the wrong shape");
	put("badkid", 0600, "ed25519-secret a/b "
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
	ok(load_fails("badkid", "key id"), "a key id with a '/'");
	put("ok", 0600, "# comment\n\ned25519-secret k "
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
	ok(audit_seckey_load(&k, path("ok"), &e) == 0,
	    "comments and blank lines around the key are fine");
	audit_seckey_free(k);
	put("hmac", 0600, "hmac-sha256-secret agent "
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
	ok(audit_seckey_load(&k, path("hmac"), &e) == 0 &&
	    k->type == AUDIT_KEY_HMAC, "an HMAC secret key file");
	audit_seckey_free(k);
}

static int
ring_fails(const char *text, int secret_ok, const char *want)
{
	struct audit_keyring kr;
	struct audit_err e = { "" };
	int refused = audit_keyring_parse(&kr, text, strlen(text), secret_ok,
	    &e) == -1 && strstr(e.msg, want) != NULL;

	if (!refused)
		diag("got: %s", e.msg);
	return refused;
}

#define PK	"4/DNWgORucZDinCamfW0WM2eIeD8TKCfMR3dFT/HsHg="

static void
keyrings(void)
{
	struct audit_keyring kr;
	struct audit_err e;
	char *big;
	size_t n = 0;

	{
		const char *t = "# trusted\n\n  node-1 ed25519 " PK
		    " node the node's key\nagent-2\ted25519\t" PK "\n";

		ok(audit_keyring_parse(&kr, t, strlen(t), 0, &e) == 0 &&
		    kr.n == 2 && strcmp(kr.v[0].role, "node") == 0 &&
		    kr.v[1].role[0] == '\0' &&
		    audit_keyring_find(&kr, "agent-2") == &kr.v[1],
		    "comments, roles, comments after the role, tabs");
		audit_keyring_free(&kr);
	}
	ok(ring_fails("a ed25519 " PK "\na ed25519 " PK "\n", 0,
	    "line 2: key id a appears twice"), "a key id twice");
	ok(ring_fails("a ed25519 AAAA\n", 0, "line 1: the key is not"),
	    "a short key");
	ok(ring_fails("a rsa " PK "\n", 0, "unknown key type"),
	    "an unknown key type");
	ok(ring_fails("a ed25519\n", 0, "expected KID TYPE KEY"),
	    "a missing key");
	ok(ring_fails("a hmac-sha256 " PK "\n", 0, "chmod 600"),
	    "an HMAC key in a keyring others can read");
	ok(ring_fails("a ed25519 " PK " r/x\n", 0, "a role is"),
	    "a bad role");
	/* The limit: 4096 keys pass, 4097 fail. */
	big = malloc((AUDIT_KEYRING_MAX + 1) * 64);
	big[0] = '\0';
	for (int i = 0; i < AUDIT_KEYRING_MAX; i++)
		n += (size_t)sprintf(big + n, "k%d ed25519 " PK "\n", i);
	ok(audit_keyring_parse(&kr, big, n, 0, &e) == 0 &&
	    kr.n == AUDIT_KEYRING_MAX, "4096 keys are accepted");
	audit_keyring_free(&kr);
	n += (size_t)sprintf(big + n, "k%d ed25519 " PK "\n",
	    AUDIT_KEYRING_MAX);
	ok(audit_keyring_parse(&kr, big, n, 0, &e) == -1 &&
	    strstr(e.msg, "more than 4096 keys") != NULL, "4097 are refused");
	free(big);
}

static void
keyfile_limits(void)
{
	struct audit_keyring kr;
	struct audit_err e;
	char *big = malloc(AUDIT_KEYFILE_MAX + 2);
	FILE *f;

	/* Comment lines of 64 bytes, newline included. */
	memset(big, '#', AUDIT_KEYFILE_MAX);
	for (size_t i = 63; i < AUDIT_KEYFILE_MAX; i += 64)
		big[i] = '\n';
	f = fopen(path("ring"), "w");
	fwrite(big, 1, AUDIT_KEYFILE_MAX, f);
	fclose(f);
	ok(audit_keyring_load(&kr, path("ring"), &e) == 0 && kr.n == 0,
	    "a keyring of exactly 256 KiB loads");
	audit_keyring_free(&kr);
	f = fopen(path("ring"), "a");
	fputc('\n', f);
	fclose(f);
	ok(audit_keyring_load(&kr, path("ring"), &e) == -1 &&
	    strstr(e.msg, "larger than 262144 bytes") != NULL,
	    "one byte more is refused");
	put("ring2", 0644, "a hmac-sha256 " PK "\n");
	ok(audit_keyring_load(&kr, path("ring2"), &e) == -1 &&
	    strstr(e.msg, "chmod 600") != NULL, "an HMAC key in a 0644 "
	    "keyring file is refused");
	chmod(path("ring2"), 0600);
	ok(audit_keyring_load(&kr, path("ring2"), &e) == 0 &&
	    kr.v[0].type == AUDIT_KEY_HMAC, "and loads once it is 0600");
	audit_keyring_free(&kr);
	free(big);
}

int
main(void)
{
	char cmd[300];

	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return 1;
	secret_files();
	keyrings();
	keyfile_limits();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
