/*
 * cpio "newc" archives, written (cpio.c): the guest's initramfs (node)
 * and the pod's work sent out by its proxy for the node to read back
 * with libarchive (pod.export on the VM drivers).
 */
#ifndef NUCLEUS_CPIO_H
#define NUCLEUS_CPIO_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"

#define CPIO_TRAILER	"TRAILER!!!"	/* the name of the last entry */

/*
 * A VM pod's work, out: its proxy packs /work (or a path beneath it) as
 * one newc archive of at most the bytes and entries the node asks for,
 * and hands it over in pieces of at most EXPORT_CHUNK_MAX bytes, each
 * one answer on the channel (nucleus-node(8), LIMITS).
 */
#define EXPORT_BYTES_MAX (32 * 1024 * 1024)	/* bytes of an archive */
#define EXPORT_CHUNK_MAX (256 * 1024)	/* bytes of one piece */
#define WORK_DEPTH_MAX	64	/* directories deep, in and out */
#define EXPORT_LINK_MAX	4096	/* bytes of a symbolic link's target */

int	 cpio_newc_add(struct audit_buf *, const char *, unsigned, uint32_t,
	    const void *, size_t);
int	 cpio_newc_check(const void *, size_t);

#endif /* NUCLEUS_CPIO_H */
