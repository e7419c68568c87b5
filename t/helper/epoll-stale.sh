#!/bin/sh
# epoll-stale.sh PID: each entry of PID's epoll sets whose descriptor
# PID no longer has open (or has open on another file), as "EPFD TFD";
# nothing when there is none.  An entry outlives its descriptor while
# another process holds the file (a socket handed on).
for f in /proc/"$1"/fd/*; do
	[ "$(readlink "$f")" = "anon_inode:[eventpoll]" ] || continue
	ep=${f##*/}
	sed -n 's/^tfd: *\([0-9]*\) .* ino:\([0-9a-f]*\).*/\1 \2/p' \
	    /proc/"$1"/fdinfo/"$ep" |
	while read -r tfd ino; do
		now=$(stat -L -c %i /proc/"$1"/fd/"$tfd" 2>/dev/null)
		[ -n "$now" ] && [ "$(printf %x "$now")" = "$ino" ] ||
		    echo "$ep $tfd"
	done
done
