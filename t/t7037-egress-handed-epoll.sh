#!/bin/sh
test_description='a client handed to the gateway leaves the proxy'"'"'s epoll sets before its socket is handed: no entry outlives the proxy'"'"'s descriptor while the gateway holds the socket (the proxy is neither woken by the tunnel'"'"'s bytes nor made to build its set again)'
. "$(dirname "$0")/lib-egress.sh"
egress_netns "$@"
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-proxy.sh"

if [ -z "$NUCLEUS_EGRESS_NETNS" ]; then
	test_skip_all "no network namespace of its own (unshare -n)"
fi

N=3

# The proxy with -G 3, its gateway hand-gateway.py, which holds each
# handed client's socket.
hand_proxy() {
	rm -f sock proxy.pid
	python3 "$TEST_DIRECTORY/helper/hand-gateway.py" \
	    nucleus-proxy -p pod.json -l "$PWD/sock" -G 3 >gateway.out 2>proxy.err &
	echo $! >gateway.pid
	test_when_failed "kill \$(cat gateway.pid) \$(cat proxy.pid)" &&
	test_wait_socket "the proxy" gateway.pid sock 10
}

# N clients that ask CONNECT, read the 200 and then hold their tunnels,
# sending nothing, until the file "release" is made.
idle_clients() {
	rm -f release
	python3 -c '
import os, socket, sys, time
held = []
for _ in range(int(sys.argv[1])):
    s = socket.create_connection(("127.0.0.1", 3128))
    s.sendall(b"CONNECT ok.test:8080 HTTP/1.1\r\nHost: ok.test:8080\r\n\r\n")
    line = s.recv(4096).split(b"\r\n")[0]
    print(line.decode(), flush=True)
    held.append(s)
while not os.path.exists("release"):
    time.sleep(0.05)
' $N >clients.out &
	echo $! >clients.pid
}

test_expect_success 'setup: a proxy with network, its gateway one that holds what it is handed' '
	ip link set lo up &&
	proxy_setup "$egress_policy" "\"network\": {\"allow\": [{\"host\": \"ok.test\", \"ports\": [8080]}]}" &&
	hand_proxy
'

test_expect_success "$N tunnels handed and held idle: no entry of the proxy's epoll sets is a socket it gave away" '
	test_when_finished "touch release" &&
	idle_clients &&
	test_wait_for "$N sockets handed" 10 grep -qx "handed $N" gateway.out &&
	test_wait_for "$N answers" 10 test "$(grep -c " 200 " clients.out)" = $N &&
	sleep 0.3 &&
	sh "$TEST_DIRECTORY/helper/epoll-stale.sh" "$(cat proxy.pid)" >stale &&
	test_cmp /dev/null stale
'

test_expect_success 'the proxy recorded each connection; its log verifies' '
	touch release &&
	test_wait_for "the clients to end" 10 sh -c "! kill -0 \$(cat clients.pid) 2>/dev/null" &&
	kill $(cat proxy.pid) &&
	test_wait_for "the gateway to end with it" 10 sh -c "! kill -0 \$(cat gateway.pid) 2>/dev/null" &&
	test "$(jq -c "select(.event == \"decision\" and .op == \"connect\")" "$(proxy_log)" | wc -l)" = $N &&
	verify_log
'

test_done
