/*
 * The reader (reader.c): the keyring and the rules file read again for
 * the confined authority, and the files of its log's rotation made.
 */
#ifndef NUCLEUS_READER_H
#define NUCLEUS_READER_H

#include <sys/types.h>

#include "audit.h"

#define READER_MS	5000	/* for the reader's answer */

struct reader {
	int	 fd;
	pid_t	 pid;
};

struct reader_file {
	int	 status;	/* 0, or the errno that stopped it */
	mode_t	 mode;
	char	*buf;		/* the file; or why not (sodium_malloc) */
	size_t	 len;
};

int	 reader_start(struct reader *, const char *, const char *,
	    const char *, struct audit_err *);
void	 reader_log_files(struct reader *, struct audit_log_files *);
int	 reader_fetch(struct reader *, struct reader_file *,
	    struct reader_file *, struct audit_err *);
void	 reader_file_free(struct reader_file *);
void	 reader_stop(struct reader *);

#endif
