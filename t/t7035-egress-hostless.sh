#!/bin/sh
test_description='egress in a VM pod whose port has no host (no node behind it): a connection is answered unavailable, 503 (SOCKS5: general failure), as a local pod'"'"'s with its gateway gone, never 403 (not allowed); the proxy run as a guest'"'"'s, on a port whose host end closed'
. "$(dirname "$0")/lib-egress.sh"
egress_netns "$@"
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-proxy.sh"

if [ -z "$NUCLEUS_EGRESS_NETNS" ]; then
	test_skip_all "no network namespace of its own (unshare -n)"
fi

# The proxy with -E 3: fd 3 one end of a socket pair whose other end is
# closed at once, as a VM's egress port with its host gone.
hostless_proxy() {
	rm -f sock
	python3 -c '
import os, socket, sys
a, b = socket.socketpair()
b.close()
if a.fileno() != 3:
    os.dup2(a.fileno(), 3)
os.set_inheritable(3, True)
os.execvp(sys.argv[1], sys.argv[1:])
' nucleus-proxy -p pod.json -l "$PWD/sock" -E 3 >proxy.out 2>proxy.err &
	echo $! >proxy.pid
	test_when_failed proxy_stop &&
	test_wait_socket "the proxy" proxy.pid sock 10
}

test_expect_success 'setup: a guest'"'"'s proxy with network, its port'"'"'s host gone' '
	ip link set lo up &&
	proxy_setup "$egress_policy" "\"network\": {\"allow\": [{\"host\": \"ok.test\", \"ports\": [8080]}]}" &&
	hostless_proxy
'

test_expect_success 'HTTP CONNECT and a plain request: 503 unavailable, saying why' '
	test_expect_code 56 curl -sS -p -x http://127.0.0.1:3128 http://ok.test:8080/ -o /dev/null 2>err &&
	grep -q "CONNECT tunnel failed, response 503" err &&
	curl -sS -x http://127.0.0.1:3128 -o body -w "%{http_code}\n" http://ok.test:8080/ >code &&
	echo 503 >expect &&
	test_cmp expect code &&
	grep -q "unavailable" body &&
	grep -q "egress port" body
'

test_expect_success 'SOCKS5: general failure (1), not "not allowed" (2)' '
	python3 -c "
import socket, sys
s = socket.create_connection((\"127.0.0.1\", 3128))
s.sendall(b\"\x05\x01\x00\")
assert s.recv(2) == b\"\x05\x00\"
s.sendall(b\"\x05\x01\x00\x03\x07ok.test\x1f\x90\")
r = s.recv(10)
print(r[1])
" >reply &&
	echo 1 >expect &&
	test_cmp expect reply
'

test_expect_success 'the proxy'"'"'s log verifies' '
	proxy_stop &&
	verify_log
'

test_done
