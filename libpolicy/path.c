/*
 * Paths relative to the sandbox root: lexical normalization, and the
 * sensitive preset.  Globs are in glob.c.
 */
#include <string.h>

#include "policy.h"

const char *const policy_sensitive_globs[] = {
	".env*", "*.pem", "*.key", "**/secrets/**", "**/.ssh/**",
	"credentials*", "**/.aws/**", ".git/config", "id_rsa*",
	"id_ed25519*", ".npmrc", ".pypirc", ".netrc", "*.token", "token.txt",
	"password*",
	/*
	 * Beyond the reference: a command's HOME is the work root, so the
	 * tools a pod runs keep their credentials here (git's credential
	 * store, gh, docker, kubectl, gcloud, az, gpg, psql, vault); those
	 * with '/' are anchored there, where HOME puts them.
	 */
	".git-credentials", ".config/gh/**", ".docker/config.json",
	".kube/config", ".config/gcloud/**", ".azure/**", ".gnupg/**",
	".pgpass", ".vault-token",
};
const size_t policy_sensitive_nglobs =
    sizeof(policy_sensitive_globs) / sizeof(policy_sensitive_globs[0]);

/*
 * Normalize path (len bytes, not NUL-terminated) into out (outsz bytes):
 * no empty or "." components, ".." resolved lexically, no leading or
 * trailing '/'.  The root itself is ".".  On failure returns -1 and sets
 * *kind (KIND_SANDBOX_ESCAPE for an absolute path or a ".." that climbs out
 * of the root; KIND_BAD_REQUEST for an empty path, a NUL or an overlong
 * path) and *why.
 *
 * This is lexical only: the proxy resolves the result beneath the root with
 * openat2(RESOLVE_BENEATH) and checks the rules again on what it opened.
 */
int
policy_path_normalize(const char *path, size_t len, char *out, size_t outsz,
    enum policy_kind *kind, const char **why)
{
	size_t o = 0, i = 0;

	*kind = KIND_BAD_REQUEST;
	if (len == 0) {
		*why = "empty path";
		return -1;
	}
	if (len > POLICY_PATH_MAX) {
		*why = "path longer than 4096 bytes";
		return -1;
	}
	if (memchr(path, '\0', len) != NULL) {
		*why = "path contains a NUL byte";
		return -1;
	}
	if (outsz < len + 1) {	/* the result is never longer, or "." */
		*why = "path buffer too small";
		return -1;
	}
	if (path[0] == '/') {
		*kind = KIND_SANDBOX_ESCAPE;
		*why = "absolute path";
		return -1;
	}
	while (i < len) {
		size_t start = i, clen;

		while (i < len && path[i] != '/')
			i++;
		clen = i - start;
		i++;	/* skip the '/' */
		if (clen == 0 || (clen == 1 && path[start] == '.'))
			continue;
		if (clen == 2 && path[start] == '.' && path[start + 1] == '.') {
			if (o == 0) {
				*kind = KIND_SANDBOX_ESCAPE;
				*why = "path climbs out of the root";
				return -1;
			}
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;	/* the separator */
			continue;
		}
		if (o > 0)
			out[o++] = '/';
		memcpy(out + o, path + start, clen);
		o += clen;
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	*kind = KIND_NONE;
	*why = NULL;
	return 0;
}
