/*
 * The wait of an init, the node's sandbox init and a command's init in
 * the proxy: every child that ends is reaped, orphans included, until
 * the one it runs for has.
 */
#include <errno.h>
#include <sys/wait.h>

#include "reap.h"

/*
 * Reap children until target exits; its wait status in *status.
 * Returns 0, or -1 when there is no child left to wait for.
 */
int
reap_until(pid_t target, int *status)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, 0);

		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			return -1;
		if (pid == target) {
			*status = st;
			return 0;
		}
	}
}
