/*
 * mem-find PID HEX: whether the bytes HEX are anywhere in the memory of
 * process PID, read through /proc/PID/mem (root reads every mapping,
 * inaccessible ones too; none larger than 4 GiB).  Exit 0 and the
 * address when found, 1 when not, 2 on error.  t4011 looks for the node's
 * secret key in its pods.
 *
 * Only the pages /proc/PID/pagemap says are in memory or swapped are
 * read; a page never touched is taken as the zeros it would read as,
 * without reading it: a read through /proc/PID/mem makes it (a kernel
 * without the shared zero page gives each such page memory of its own,
 * charged to PID's cgroup: reading a pod's 64 MiB malloc arenas so made
 * it hundreds of MiB larger than it was).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NEEDLE_MAX	256
#define CHUNK		(1 << 20)
#define PAGE		4096
#define PM_PRESENT	(1ULL << 63)
#define PM_SWAPPED	(1ULL << 62)
#define REGION_MAX	(1UL << 32)	/* bytes: a sanitizer's shadow,
					   terabytes never touched, is passed */

static int
unhex(const char *hex, unsigned char *out, size_t *len)
{
	size_t n = strlen(hex);

	if (n == 0 || n % 2 != 0 || n / 2 > NEEDLE_MAX)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	*len = n / 2;
	return 0;
}

/*
 * Into buf, the n bytes at at (page aligned, n a multiple of PAGE): the
 * pages in memory or swapped read, the others zeros.  n, or -1 when a
 * page cannot be read ([vvar] and such).
 */
static ssize_t
fill(int mem, int pm, unsigned long at, size_t n, unsigned char *buf)
{
	uint64_t ent[CHUNK / PAGE];
	size_t pages = n / PAGE;

	if (pread(pm, ent, pages * sizeof(ent[0]), (off_t)(at / PAGE *
	    sizeof(ent[0]))) != (ssize_t)(pages * sizeof(ent[0])))
		return -1;
	for (size_t i = 0; i < pages; ) {
		size_t j = i;
		int in = (ent[i] & (PM_PRESENT | PM_SWAPPED)) != 0;

		while (j < pages && ((ent[j] & (PM_PRESENT | PM_SWAPPED)) !=
		    0) == in)
			j++;
		if (!in)
			memset(buf + i * PAGE, 0, (j - i) * PAGE);
		else if (pread(mem, buf + i * PAGE, (j - i) * PAGE, (off_t)(at +
		    i * PAGE)) != (ssize_t)((j - i) * PAGE))
			return -1;
		i = j;
	}
	return (ssize_t)n;
}

/* The region [lo, hi): 0 found (its address printed), 1 not. */
static int
search(int mem, int pm, unsigned long lo, unsigned long hi,
    const unsigned char *nd, size_t len, unsigned char *buf)
{
	size_t keep = 0, total;	/* keep: the last chunk's tail, at buf */

	for (unsigned long at = lo; at < hi; ) {
		size_t want = hi - at < CHUNK ? hi - at : CHUNK;
		ssize_t n = fill(mem, pm, at, want, buf + keep);
		unsigned char *hit;

		if (n <= 0)
			return 1;	/* unreadable ([vvar] and such) */
		total = keep + (size_t)n;
		if ((hit = memmem(buf, total, nd, len)) != NULL) {
			unsigned long addr = at - (unsigned long)keep +
			    (unsigned long)(hit - buf);

			printf("%lx\n", addr);
			return 0;
		}
		at += (unsigned long)n;
		keep = total < len - 1 ? total : len - 1;
		memmove(buf, buf + total - keep, keep);
	}
	return 1;
}

int
main(int argc, char **argv)
{
	unsigned char nd[NEEDLE_MAX], *buf;
	char path[64], line[512];
	unsigned long lo, hi;
	size_t len;
	FILE *maps;
	int mem, pm = -1, rc = 1;

	if (argc != 3 || unhex(argv[2], nd, &len) != 0) {
		fprintf(stderr, "usage: mem-find pid hex\n");
		return 2;
	}
	snprintf(path, sizeof(path), "/proc/%s/maps", argv[1]);
	if ((maps = fopen(path, "re")) == NULL) {
		perror(path);
		return 2;
	}
	snprintf(path, sizeof(path), "/proc/%s/mem", argv[1]);
	if ((mem = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (snprintf(path, sizeof(path), "/proc/%s/pagemap", argv[1]),
	    pm = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (buf = malloc(CHUNK + NEEDLE_MAX)) == NULL) {
		perror(path);
		fclose(maps);
		return 2;
	}
	while (rc == 1 && fgets(line, sizeof(line), maps) != NULL)
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 &&
		    hi - lo <= REGION_MAX)
			rc = search(mem, pm, lo, hi, nd, len, buf);
	fclose(maps);
	close(pm);
	close(mem);
	free(buf);
	return rc;
}
