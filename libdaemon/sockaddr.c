/*
 * A Unix socket's address from its path, for the daemons' listeners and
 * their clients alike (sockaddr.h).
 */
#include <string.h>

#include "sockaddr.h"

/* sa for path: 0, or -1 with err naming the path that does not fit. */
int
sockaddr_un_fill(struct sockaddr_un *sa, const char *path,
    struct audit_err *err)
{
	size_t len = strlen(path);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (len == 0)
		return audit_errf(err, "an empty socket path");
	if (len >= sizeof(sa->sun_path))
		return audit_errf(err, "%.160s...: socket path of %zu bytes, "
		    "longer than the %zu allowed", path, len,
		    sizeof(sa->sun_path) - 1);
	memcpy(sa->sun_path, path, len + 1);
	return 0;
}
