# lib-wait.sh: the bounded waits of test-lib.sh, on their own so that a
# script a test writes and runs (with sh) can source them too.  Needs
# date, sleep, cat and cut on PATH.

# test_wait_for DESCRIPTION SECONDS COMMAND...: run COMMAND every tenth
# of a second until it succeeds; after SECONDS (by the clock) fail, saying
# what was waited for.  Every wait of a test goes through here, or has a
# bound of its own: a wait without one hangs the suite.
test_wait_for() {
	twf_what_=$1
	twf_secs_=$2
	shift 2
	twf_end_=$(date +%s) || return 1
	twf_end_=$((twf_end_ + twf_secs_))
	until "$@"; do
		twf_now_=$(date +%s) || return 1
		if [ "$twf_now_" -ge "$twf_end_" ]; then
			echo "test_wait_for: gave up after $twf_secs_ s waiting for $twf_what_ ($*)" >&2
			return 1
		fi
		sleep 0.1 || return 1
	done
}

# test_wait_exit DESCRIPTION SECONDS PID: wait for PID, a child of the
# body started with &, to end (at most SECONDS); then its exit status, as
# "wait" gives it.  Past SECONDS: 124, as timeout(1) says it, and a
# message; the child is left to test_when_finished or test_done.
test_wait_exit() {
	test_wait_for "$1" "$2" test_child_ended "$3" || return 124
	wait "$3"
}

# test_child_ended PID: the child PID ended (a zombie, not yet waited
# for, has ended).
test_child_ended() {
	! kill -0 "$1" 2>/dev/null ||
	[ "$(cut -d" " -f3 "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# test_pid_ended PID: no process PID at all (not even a zombie not yet reaped).
test_pid_ended() {
	! kill -0 "$1" 2>/dev/null
}

# test_wait_socket WHAT PIDFILE SOCKET SECONDS: wait until SOCKET is a
# socket; fail at once when the process of PIDFILE ends first, or after
# SECONDS.
test_wait_socket() {
	test_wait_for "$1 to listen on $3" "$4" test_socket_or_gone_ "$2" "$3" &&
	if ! [ -S "$3" ]; then
		echo "test_wait_socket: $1 ended before it listened on $3" >&2
		return 1
	fi
}

test_socket_or_gone_() {
	[ -S "$2" ] || ! kill -0 "$(cat "$1")" 2>/dev/null
}

# test_stop_daemon WHAT PIDFILE SECONDS: SIGTERM to the process of
# PIDFILE, then wait (SECONDS at most) for it to end; the PIDFILE is
# removed.  Fails when it outlives SECONDS (it is then killed).  Nothing
# to do without a PIDFILE.
test_stop_daemon() {
	tsd_pid_=$(cat "$2" 2>/dev/null) || return 0
	rm -f "$2"
	kill -TERM "$tsd_pid_" 2>/dev/null
	# Gone, not a zombie: a zombie of a daemon is not yet reaped, and
	# what it started may still be ending.
	test_wait_for "$1 (pid $tsd_pid_) to end after SIGTERM" "$3" test_pid_ended "$tsd_pid_" || {
		kill -KILL "$tsd_pid_" 2>/dev/null
		return 1
	}
}


# test_notify_listen PATH OUT: what systemd gives a Type=notify daemon
# in NOTIFY_SOCKET, a datagram socket at PATH, each datagram a line of
# OUT, for at most 60 s; its pid in PATH.pid.  Returns once it listens.
test_notify_listen() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
with open(sys.argv[2], "a") as out:
    while True:
        try:
            m = s.recv(4096)
        except socket.timeout:
            break
        out.write(m.decode().replace("\n", " ") + "\n")
        out.flush()
' "$1" "$2" &
	echo $! >"$1.pid"
	test_wait_for "the notification socket $1" 10 test -S "$1"
}
