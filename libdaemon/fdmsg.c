/*
 * One message with at most one descriptor beside it (fdmsg.h).  What
 * each side sent before was written out in four places; a peer that
 * passes more than one descriptor, or a header cut short, no longer
 * leaks any: every descriptor but the one expected is closed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fdmsg.h"

/* FDMSG_FDS_MAX descriptors are taken in, so that extra ones are closed
 * rather than cut off (MSG_CTRUNC would leave them open in no one's
 * hands: the kernel closes those, but only those). */
#define FDMSG_FDS_MAX	4

/* len bytes of buf, and fd when it is not -1; sendmsg(2)'s result. */
ssize_t
fdmsg_send(int sock, const void *buf, size_t len, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (fd >= 0) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/*
 * One message into buf (size bytes), close-on-exec descriptors; *fd the
 * one descriptor that came with it, else -1 (with two or more, or with
 * an empty message, all are closed and *fd is -1: no side of ours sends
 * them).  recvmsg(2)'s result.
 */
ssize_t
fdmsg_recv(int sock, void *buf, size_t size, int *fd)
{
	char cbuf[CMSG_SPACE(FDMSG_FDS_MAX * sizeof(int))];
	struct iovec iov = { buf, size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fds[FDMSG_FDS_MAX], nfd = 0;
	ssize_t n;

	*fd = -1;
	n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return n;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t k;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len < CMSG_LEN(0))
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k && nfd < FDMSG_FDS_MAX; i++)
			memcpy(&fds[nfd++], CMSG_DATA(cm) + i * sizeof(int),
			    sizeof(int));
	}
	if (nfd == 1 && n > 0)
		*fd = fds[0];
	else
		for (int i = 0; i < nfd; i++)
			close(fds[i]);
	return n;
}

struct fdmsg_q_item {
	struct fdmsg_q_item *next;
	int	 fd;		/* ours, or -1 */
	size_t	 len;
	char	 text[];
};

void
fdmsg_q_init(struct fdmsg_q *q)
{
	q->head = NULL;
	q->tail = &q->head;
	q->n = 0;
}

static void
item_free(struct fdmsg_q_item *m)
{
	if (m->fd >= 0)
		close(m->fd);
	free(m);
}

int
fdmsg_q_flush(struct fdmsg_q *q, int sock)
{
	struct fdmsg_q_item *m;
	ssize_t n;

	while ((m = q->head) != NULL) {
		n = fdmsg_send(sock, m->text, m->len, m->fd);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 1;
		/* Sent, or its peer is gone (its hang-up is read next). */
		if ((q->head = m->next) == NULL)
			q->tail = &q->head;
		q->n--;
		item_free(m);
	}
	return 0;
}

int
fdmsg_q_send(struct fdmsg_q *q, int sock, const void *buf, size_t len,
    int fd)
{
	struct fdmsg_q_item *m;
	ssize_t n;

	if (q->head == NULL) {
		do
			n = fdmsg_send(sock, buf, len, fd);
		while (n < 0 && errno == EINTR);
		if (n >= 0)
			return 0;
		if (errno != EAGAIN)
			return -1;
	}
	if ((m = malloc(sizeof(*m) + len)) == NULL)
		return -1;
	memcpy(m->text, buf, len);
	m->len = len;
	m->next = NULL;
	m->fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
	if (fd >= 0 && m->fd < 0) {
		free(m);
		return -1;
	}
	*q->tail = m;
	q->tail = &m->next;
	q->n++;
	(void)fdmsg_q_flush(q, sock);
	return 0;
}

void
fdmsg_q_free(struct fdmsg_q *q)
{
	struct fdmsg_q_item *m;

	while ((m = q->head) != NULL) {
		q->head = m->next;
		item_free(m);
	}
	fdmsg_q_init(q);
}
