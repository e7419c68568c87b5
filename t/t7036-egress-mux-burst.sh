#!/bin/sh
test_description='a guest'"'"'s proxy whose egress port'"'"'s host goes with MUX_STREAMS_MAX streams unanswered tells every client 503 at once: none of the answers is lost for want of room on the proxy'"'"'s inner socket'
. "$(dirname "$0")/lib-egress.sh"
egress_netns "$@"
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-proxy.sh"

if [ -z "$NUCLEUS_EGRESS_NETNS" ]; then
	test_skip_all "no network namespace of its own (unshare -n)"
fi

# MUX_STREAMS_MAX (libdaemon/mux.h), which is also the proxy's
# EGRESS_CLIENTS_MAX: the most answers that can be owed at once.
N=256

# The proxy with -E 3, its port's other end mux-host-burst.py's.
burst_host() {
	rm -f sock go
	python3 "$TEST_DIRECTORY/helper/mux-host-burst.py" $N \
	    nucleus-proxy -p pod.json -l "$PWD/sock" -E 3 >host.out 2>proxy.err &
	echo $! >host.pid
	test_when_failed "touch go; kill \$(cat host.pid)" &&
	test_wait_socket "the proxy" host.pid sock 10
}

burst_clients() {
	python3 "$TEST_DIRECTORY/helper/burst-clients.py" $N ok.test:8080 >clients.out &
	echo $! >clients.pid
}

test_expect_success 'setup: a guest'"'"'s proxy with network, its port'"'"'s host a test one' '
	ip link set lo up &&
	proxy_setup "$egress_policy" "\"network\": {\"allow\": [{\"host\": \"ok.test\", \"ports\": [8080]}]}" &&
	burst_host
'

test_expect_success "$N CONNECTs at once, the host gone before it answers any: $N answers of 503, none late" '
	test_when_finished "touch go" &&
	burst_clients &&
	test_wait_for "the host to have every stream" 30 grep -qx "opened $N" host.out &&
	touch go &&
	wait $(cat clients.pid) &&
	cat clients.out &&
	printf "asked %d\n%d HTTP/1.1 503 Service Unavailable\n" $N $N >expect &&
	test_cmp expect clients.out
'

test_expect_success 'the proxy still serves (it waits for its next host); its log verifies' '
	test_expect_code 56 curl -sS -p -x http://127.0.0.1:3128 http://ok.test:8080/ -o /dev/null 2>err &&
	grep -q "CONNECT tunnel failed, response 503" err &&
	kill $(cat host.pid) &&
	verify_log
'

test_done
