/*
 * try-landlock: exit 0 when the kernel offers Landlock, 1 when not.  A
 * test helper: tests that need it say so as a prerequisite.
 */
#include <linux/landlock.h>
#include <sys/syscall.h>
#include <unistd.h>

int
main(void)
{
	return syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION) > 0 ? 0 : 1;
}
