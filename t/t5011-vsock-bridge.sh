#!/bin/sh
test_description='the Firecracker driver: the hybrid vsock bridge, against a peer that answers as Firecracker does, late, or wrongly'
. "$(dirname "$0")/test-lib.sh"

# peer MODE [ARG]: a vsock-peer on v.sock; what it hears in peer.out.
peer() {
	rm -f v.sock
	vsock-peer v.sock "$@" >peer.out 2>peer.err &
	echo $! >>peer.pids
}

# peer_ready: its socket exists (for the tests that time a failure).
peer_ready() {
	test_wait_for "the vsock peer to listen" 2 test -S v.sock
}

peer_stop() {
	for p in $(cat peer.pids 2>/dev/null); do
		kill "$p" 2>/dev/null
	done
	rm -f peer.pids
	return 0
}

test_cleanup() {
	peer_stop
}

# bridge DEADLINE-MS: send "ping" (to a peer that reads it), take what
# comes back in out, how long it took in ms, the message in err.
bridge() {
	t0=$(date +%s%N)
	echo ping | vsock-connect v.sock 52 "$1" >out 2>err
	rc=$?
	echo $((($(date +%s%N) - t0) / 1000000)) >ms
	cat err
	return $rc
}

# took LO HI: the last bridge took LO to HI ms.
took() {
	ms=$(cat ms)
	[ "$ms" -ge "$1" ] && [ "$ms" -le "$2" ] ||
	    { echo "took $ms ms, want $1 to $2" >&2; return 1; }
}

test_expect_success 'CONNECT, OK, and the guest'"'"'s stream: the first line, sent with the OK, is not lost' '
	peer ok &&
	bridge 2000 &&
	printf "READY\nping\n" >expect &&
	test_cmp expect out &&
	echo "CONNECT 52" >expect &&
	test_cmp expect peer.out &&
	peer_stop
'

test_expect_success 'closed after CONNECT three times (the guest not yet listening), then OK' '
	peer refuse-n 3 &&
	bridge 3000 &&
	printf "READY\nping\n" >expect &&
	test_cmp expect out &&
	test_line_count = 4 peer.out &&
	peer_stop
'

test_expect_success 'no socket yet (the VMM starting): retried until it listens' '
	peer late-listen 300 &&
	bridge 3000 &&
	printf "READY\nping\n" >expect &&
	test_cmp expect out &&
	peer_stop
'

test_expect_success 'a slow OK within the deadline passes' '
	peer slow-ok 400 &&
	peer_ready &&
	bridge 3000 &&
	printf "READY\nping\n" >expect &&
	test_cmp expect out &&
	took 350 2500 &&
	peer_stop
'

test_expect_success 'an OK later than the deadline fails, at the deadline, saying so' '
	peer slow-ok 5000 &&
	peer_ready &&
	test_expect_code 1 bridge 600 &&
	grep -F "vsock v.sock port 52: no OK within 600 ms" err &&
	took 550 1500 &&
	test_line_count = 0 out &&
	peer_stop
'

test_expect_success 'an OK that never comes: retried, and fails at the deadline, not later' '
	peer never-ok &&
	peer_ready &&
	test_expect_code 1 bridge 1500 &&
	grep -F "vsock v.sock port 52: no OK within 1500 ms (2 attempts)" err &&
	took 1400 2500 &&
	test_line_count = 2 peer.out &&
	peer_stop
'

test_expect_success 'nobody listening on the socket: refused, at the deadline' '
	peer ok &&
	peer_ready &&
	peer_stop &&
	sleep 0.1 &&
	test -S v.sock &&
	test_expect_code 1 bridge 400 &&
	grep -F "vsock v.sock port 52: refused for 400 ms" err &&
	grep -F "Connection refused" err &&
	took 350 1500
'

test_expect_success 'no socket at all: refused, saying there is none' '
	rm -f v.sock &&
	test_expect_code 1 bridge 300 &&
	grep -F "refused for 300 ms" err &&
	grep -F "No such file or directory" err &&
	took 250 1500
'

test_expect_success 'always closed after CONNECT: refused, saying nothing listens in the guest' '
	peer refuse-n 1000000 &&
	test_expect_code 1 bridge 500 &&
	grep -F "refused for 500 ms" err &&
	grep -F "closed after CONNECT, nothing listening in the guest" err &&
	took 450 1500 &&
	test_line_count -ge 3 peer.out &&
	peer_stop
'

test_expect_success 'a bad answer fails at once, unretried, and is shown escaped' '
	long=$(printf "%0100d" 0) &&
	for answer in NOPE OK "OK " "OK 12x" "OK -1" "OK 4294967296" \
	    "ok 12" "OK 12 " "$(printf "OK 1\r")" "HTTP/1.1 400 Bad Request" \
	    "$long"; do
		peer bad "$answer" &&
		peer_ready &&
		test_expect_code 1 bridge 3000 &&
		grep -F "vsock v.sock port 52: bad answer \"" err &&
		took 0 800 &&
		test_line_count = 1 peer.out &&
		peer_stop || return 1
	done &&
	peer bad "$(printf "OK 1\r")" && peer_ready &&
	test_expect_code 1 bridge 3000 &&
	grep -F "bad answer \"OK 1\\x0d\"" err &&
	peer_stop
'

test_expect_success 'the largest port answer passes: OK and a u32' '
	peer bad "OK 4294967295" &&
	peer_ready &&
	vsock-connect v.sock 52 1000 </dev/null >out &&
	test_line_count = 0 out &&
	peer_stop
'

test_done
