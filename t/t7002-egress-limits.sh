#!/bin/sh
test_description='egress: an approval entry (no token, a token, the token again), max_connections crossed, the header and message limits'
. "$(dirname "$0")/lib-egress.sh"
egress_netns "$@"
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-pod.sh"
. "$TEST_DIRECTORY/lib-egress.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi
if [ -z "$NUCLEUS_EGRESS_NETNS" ]; then
	test_skip_all "no network namespace of its own (unshare -n)"
fi

suffix=$(od -An -N4 -tx1 /dev/urandom | tr -d " \n")
pod=p-lim-$suffix
test_cleanup() {
	[ -f server.pid ] && kill "$(cat server.pid)"
	[ -f ask.pid ] && kill "$(cat ask.pid)"
	[ -f stuck.pid ] && kill "$(cat stuck.pid)"
	pods_gone "p-*-$suffix*"
}

# token DIGEST: a token of the vectors' authority for op connect.
token() {
	now=$(date +%s) &&
	printf '{"type":"approval","v":1,"kid":"authority-1","id":"a-%s","pod":"%s","op":"connect","args_digest":"%s","sub":"agent-1","iat":%s,"exp":%s,"nonce":"%s"}' \
	    "$suffix" "$pod" "$1" "$now" $((now + 120)) \
	    "$(od -An -N16 -tx1 /dev/urandom | tr -d " \n")" |
	    audit-tool sign approval authority.secret
}

# hold_start: a connection asked of the gateway directly and held open
# until the asker (ask.pid) is killed.
hold_start() {
	rm -f held &&
	python3 "$TEST_DIRECTORY/helper/egress-ask.py" n/pods/$pod/egress.sock \
	    "{\"id\":1,\"host\":\"ok.test\",\"port\":8080}" \
	    --hold ask.pid >held &
}

held_() {
	grep -q "\"ok\": *true" held
}

closed_() {
	test "$(node_events egress.close | grep -c "\"pod\":\"$pod\"")" = "$1"
}

test_expect_success 'setup: test hosts, a node, a pod of max_connections 1 with an approval entry' '
	egress_hosts &&
	cp "$TEST_DIRECTORY/vectors/authority.secret" authority.secret &&
	chmod 600 authority.secret &&
	node_setup &&
	node_start -H "$PWD/hosts" &&
	egress_pod $pod "{\"allow\":[{\"host\":\"ok.test\",\"ports\":[8080]},{\"host\":\"push.test\",\"ports\":[8080],\"approval\":true},{\"host\":\"other.test\",\"ports\":[9000]}],\"max_connections\":1}"
'

test_expect_success 'an approval entry without a token: 403 approval_required, naming what a token must' '
	egress_curl $pod http://push.test:8080/ &&
	grep -q "^approval_required: a connection to push.test port 8080 needs an approval token" out &&
	sed -n "s/^args_digest: //p" out >digest &&
	test "$(wc -c <digest)" = 65 &&
	pod_log $pod | jq -e -s "[.[] | select(.op == \"connect\" and .decision == \"approval_required\" and .args_digest == \"$(cat digest)\")] | length == 1" >/dev/null &&
	egress_curl $pod -x socks5h://127.0.0.1:3128 http://push.test:8080/ &&
	test "$status" = 97 &&
	! grep -q " 198.18.0.2 8080$" seen
'

test_expect_success 'with a token it goes through, once; the token used again is refused' '
	token "$(cat digest)" >tok &&
	egress_curl $pod -f -H "Nucleus-Approval: $(cat tok)" http://push.test:8080/ &&
	test "$(cat out)" = "hello from 198.18.0.2:8080" &&
	pod_log $pod | jq -e -s "[.[] | select(.op == \"connect\" and .decision == \"allow\" and .approval.id == \"a-$suffix\")] | length == 1" >/dev/null &&
	test_wait_for "the close record" 10 closed_ 1 &&
	egress_curl $pod -H "Nucleus-Approval: $(cat tok)" http://push.test:8080/ &&
	grep -q "^invalid_approval: rule 7" out &&
	test "$(grep -c " 198.18.0.2 8080$" seen)" = 1
'

test_expect_success 'a hostile proxy reaches the approval entry with no token, nor with one spent: the gateway checks it again' '
	python3 "$TEST_DIRECTORY/helper/egress-ask.py" n/pods/$pod/egress.sock "{\"id\":1,\"host\":\"push.test\",\"port\":8080,\"approved\":true}" >ans &&
	jq -e ".ok == false and .kind == \"approval_required\"" ans >/dev/null &&
	python3 "$TEST_DIRECTORY/helper/egress-ask.py" n/pods/$pod/egress.sock "{\"id\":2,\"host\":\"push.test\",\"port\":8080,\"token\":$(cat tok)}" >ans &&
	jq -e ".ok == false and .kind == \"invalid_approval\" and (.reason | test(\"rule 7\"))" ans >/dev/null &&
	token "$(cat digest)" >tok2 &&
	python3 "$TEST_DIRECTORY/helper/egress-ask.py" n/pods/$pod/egress.sock "{\"id\":3,\"host\":\"push.test\",\"port\":8081,\"token\":$(cat tok2)}" >ans &&
	jq -e ".ok == false and .kind == \"egress_denied\"" ans >/dev/null &&
	python3 "$TEST_DIRECTORY/helper/egress-ask.py" n/pods/$pod/egress.sock "{\"id\":4,\"host\":\"PUSH.test\",\"port\":8080,\"token\":$(cat tok2)}" >ans &&
	jq -e ".ok == false and .kind == \"invalid_approval\" and (.reason | test(\"rule 4\"))" ans >/dev/null &&
	test "$(grep -c " 198.18.0.2 8080$" seen)" = 1
'

test_expect_success 'max_connections crossed: one held open, the next refused; once it closes, the next goes' '
	hold_start &&
	test_wait_for "a connection held" 10 held_ &&
	egress_curl $pod http://ok.test:8080/ &&
	grep -q "^too_many: the pod has 1 connections open, its network.max_connections" out &&
	node_events egress.refused | jq -e -s "[.[] | select(.pod == \"$pod\" and .kind == \"too_many\")] | length == 1" >/dev/null &&
	kill "$(cat ask.pid)" &&
	test_wait_for "the held connection closed" 10 closed_ 2 &&
	egress_curl $pod -f http://ok.test:8080/ &&
	test "$(cat out)" = "hello from 198.18.0.1:8080"
'

test_expect_success 'EGRESS_HEADER_MAX (8192): a header below it goes, one past it is refused 400' '
	pad=$(head -c 7000 /dev/zero | tr "\0" a) &&
	egress_curl $pod -f -H "X-Pad: $pad" http://ok.test:8080/ &&
	test "$(cat out)" = "hello from 198.18.0.1:8080" &&
	pad=$(head -c 9000 /dev/zero | tr "\0" a) &&
	egress_curl $pod -H "X-Pad: $pad" -w "%{http_code}" http://ok.test:8080/ &&
	grep -q "^bad_request: the request.s header is longer than EGRESS_HEADER_MAX" out &&
	grep -q "^400$" out &&
	pod_log $pod | jq -e -s "[.[] | select(.op == \"connect\" and .decision == \"deny\" and .kind == \"bad_request\" and .bytes == 8192)] | length == 1" >/dev/null
'

test_expect_success 'EGRESS_HEADER_MS (10 s): a client that never finishes its header is answered 400, and recorded' '
	egress_curl $pod --noproxy "*" -m 30 telnet://127.0.0.1:3128 &&
	grep -q "^bad_request: the request.s header did not come within EGRESS_HEADER_MS" out &&
	pod_log $pod | jq -e -s "[.[] | select(.op == \"connect\" and .kind == \"bad_request\" and (.reason | test(\"EGRESS_HEADER_MS\")))] | length == 1" >/dev/null
'

test_expect_success 'GATEWAY_MSG_MAX (4096): a longer request to the gateway is refused' '
	long=$(head -c 4100 /dev/zero | tr "\0" a) &&
	python3 "$TEST_DIRECTORY/helper/egress-ask.py" n/pods/$pod/egress.sock "{\"id\":1,\"host\":\"ok.test\",\"port\":8080,\"x\":\"$long\"}" >ans &&
	jq -e ".ok == false and .kind == \"bad_request\" and (.reason | test(\"GATEWAY_MSG_MAX\"))" ans >/dev/null
'

# clients_full SOCKET: with the pod's own proxy and 7 more connected, the
# gateway's GATEWAY_CLIENTS_MAX (8), one more is closed unanswered.
clients_full() {
	python3 -c "
import socket, sys
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    return s
held = [conn() for i in range(7)]
s = conn()
s.settimeout(10)
try:
    s.send(b'{\"id\":9,\"host\":\"ok.test\",\"port\":8081}')
    print(repr(s.recv(2048)))
except (BrokenPipeError, ConnectionResetError):
    print(repr(b''))
" "$1"
}

answered_() {
	python3 "$TEST_DIRECTORY/helper/egress-ask.py" n/pods/$pod/egress.sock \
	    "{\"id\":1,\"host\":\"ok.test\",\"port\":8081}" >ans 2>/dev/null &&
	jq -e ".kind == \"egress_denied\"" ans >/dev/null
}

test_expect_success 'GATEWAY_CLIENTS_MAX (8): past it a connection to the gateway is closed unanswered; once they go, it answers again' '
	clients_full n/pods/$pod/egress.sock >full &&
	test "$(cat full)" = "b'"''"'" &&
	test_wait_for "the gateway to answer again" 10 answered_
'

# stuck_start: 198.18.0.2:9000 listens, its one-place queue full and
# never accepted, so that a connection's SYN is dropped: connect(2) waits.
stuck_start() {
	rm -f stuck.ready &&
	python3 -c "
import socket, time
s = socket.socket()
s.bind(('198.18.0.2', 9000))
s.listen(0)
c = socket.create_connection(('198.18.0.2', 9000))
d = socket.socket()
d.setblocking(False)
d.connect_ex(('198.18.0.2', 9000))
open('stuck.ready', 'w').close()
time.sleep(120)
" &
	echo $! >stuck.pid
}

timed_out_() {
	node_events egress.close | jq -e -s "[.[] | select(.pod == \"$pod\" and .port == 9000 and .how == \"timeout\" and .duration_ms >= 10000)] | length == 1" >/dev/null
}

test_expect_success 'GATEWAY_CONNECT_MS (10 s): a connection that does not connect ends as a timeout, recorded, and the client told 502' '
	stuck_start &&
	test_wait_for "the stuck listener" 10 test -f stuck.ready &&
	egress_curl $pod -w "%{http_code}" http://other.test:9000/ &&
	kill "$(cat stuck.pid)" &&
	grep -q "^unreachable: connect to 198.18.0.2 port 9000: Connection timed out" out &&
	grep -q "^502$" out &&
	test_wait_for "its close record" 10 timed_out_
'

test_expect_success 'every log verifies' '
	nucleus-audit-verify -q -k node.pub n/audit.log n/pods/*/*.log
'

test_expect_success 'the node stops cleanly (under SANITIZE, nothing reported: the gateways write to its standard error)' '
	node_stop
'

test_done
