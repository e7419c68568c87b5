#!/bin/sh
test_description='egress on the qemu driver across a restart of the node: a real boot, streams open (a wget waiting for the rest of a body, 64 MiB never read) when the node is killed; the next node takes the pod back, starts a new gateway and a new session on the VM'"'"'s egress port: the streams of the session before end in the guest, recorded as such (egress.resume), and wget in the VM reaches an allowed host again, a refused one still refused, with no violation'
. "$(dirname "$0")/lib-egress.sh"
egress_netns "$@"
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-pod.sh"
. "$TEST_DIRECTORY/lib-egress.sh"

guest=${NUCLEUS_GUEST:-$NUCLEUS_BUILD/guest}
if test_have_prereq SANITIZE && ! [ -r "$guest/initramfs.cpio" ]; then
	guest=$TEST_DIRECTORY/../build/guest
fi
if ! test_have_prereq ROOT; then
	test_skip_all "the qemu driver makes cgroups and drops to the pods' uid: it needs root"
fi
if [ -z "$NUCLEUS_EGRESS_NETNS" ]; then
	test_skip_all "no network namespace of its own (unshare -n)"
fi
if ! command -v qemu-system-x86_64 >/dev/null; then
	test_skip_all "no qemu-system-x86_64 (scripts/install-deps installs it)"
fi
if ! [ -r "$guest/initramfs.cpio" ]; then
	test_skip_all "no guest image in $guest (make guest; t5001 says why it could not be made)"
fi

pod=p-vmback-$$
test_cleanup() {
	[ -f server.pid ] && kill "$(cat server.pid)"
	[ -f bulk.pid ] && kill "$(cat bulk.pid)"
	[ -f hold.pid ] && kill "$(cat hold.pid)"
	pods_gone "$pod*"
}

# vm_sh SCRIPT: SCRIPT run by sh in the VM (written to a new file: the
# policy's baseline refuses sh -c); its stdout in out, exit status in
# status.
vm_sh() {
	n=$(date +%s%N) &&
	content=$(printf "%s\n" "$1" | jq -Rs .) &&
	call $pod write "{\"path\":\"t$n.sh\",\"content\":$content}" >resp &&
	jq -e .ok resp >/dev/null &&
	call $pod run "{\"argv\":[\"sh\",\"t$n.sh\"]}" >resp &&
	jq -r .result.stdout resp >out &&
	status=$(jq -r .result.exit resp)
}

vm_policy='{"profile":"restrictive","capabilities":{"read_files":"never","write_files":"always","glob_search":"never","grep_search":"never","run_bash":"always","web_fetch":"low_risk"},"commands":{"allow":[{"program":"sh"}]}}'

qemu_pid() {
	for p in $(pod_procs $pod); do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = qemu-system-x86 ] &&
		    echo "$p" && return 0
	done
	return 1
}

# bulk_host: a file of 64 MiB served on ok.test:8082.
bulk_host() {
	mkdir www &&
	head -c 67108864 /dev/zero >www/huge &&
	(cd www && exec python3 -m http.server --bind 198.18.0.1 8082) >bulk.out 2>bulk.err &
	echo $! >bulk.pid
}

opens() {
	node_events egress.open | jq -s "[.[] | select(.pod == \"$pod\")] | length"
}

opens_are() {
	test "$(opens)" = "$1"
}

# held_ended: the idle stream's nc in the VM has exited.
held_ended() {
	vm_sh "cat held.done 2>/dev/null" &&
	test "$(cat out)" = "done 1"
}

# hold_host: ok.test:8083 answers a GET with the head of a long body
# and a few bytes of it, then holds the connection, sending nothing more.
hold_host() {
	python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.0.1", 8083))
s.listen(16)
open(sys.argv[1], "w").close()
held = []
while True:
    c = s.accept()[0]
    c.recv(4096)
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 1000000\r\n\r\nheld")
    held.append(c)
' "$PWD/hold.ready" >hold.out 2>hold.err &
	echo $! >hold.pid &&
	test_wait_for "the holding host" 10 test -f hold.ready
}

# held_streams: a command in the VM, left running: a stream of 64 MiB
# that nobody reads, and a wget of a body that never comes whole, whose
# end (and exit status) the command says in held.done.  Its call ends
# with the node.
held_streams() {
	content=$(printf "%s\n" "{ printf \"CONNECT ok.test:8082 HTTP/1.1\r\n\r\nGET /huge HTTP/1.0\r\n\r\n\"; sleep 300; } | nc 127.0.0.1 3128 2>/dev/null | sleep 300 >/dev/null 2>&1 &
wget -q -O /dev/null http://ok.test:8083/held 2>/dev/null
echo \"done \$?\" >held.done" | jq -Rs .) &&
	call $pod write "{\"path\":\"held.sh\",\"content\":$content}" >resp &&
	jq -e .ok resp >/dev/null &&
	{ call $pod run "{\"argv\":[\"sh\",\"held.sh\"],\"timeout\":120}" >held.resp 2>&1 & }
}

test_expect_success 'setup: a node with the guest image, a qemu pod with network; wget reaches ok.test' '
	egress_hosts &&
	bulk_host &&
	hold_host &&
	node_setup &&
	node_start -G "$guest" -H "$PWD/hosts" &&
	printf "{\"v\":1,\"name\":\"%s\",\"driver\":\"qemu\",\"resources\":{\"memory_mib\":256,\"scratch_mib\":16},\"policy\":%s,\"agents\":[\"agent-1\"],\"network\":%s}\n" \
	    $pod "$vm_policy" "{\"allow\":[{\"host\":\"ok.test\",\"ports\":[8080,8082,8083]}]}" >spec.json &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec.json >create-$pod.out &&
	jq -e ".ok and .result.state == \"running\"" create-$pod.out &&
	vm_sh "wget -q -O - http://ok.test:8080/" &&
	test "$status" = 0 &&
	test "$(cat out)" = "hello from 198.18.0.1:8080"
'

test_expect_success 'two streams held open in the VM (a wget of a body that never comes whole, a stream of 64 MiB nobody reads), then kill -9 of the node: QEMU runs on' '
	held_streams &&
	test_wait_for "both streams open" 30 opens_are 3 &&
	qemu=$(qemu_pid) &&
	pid=$(cat node.pid) &&
	kill -KILL "$pid" &&
	test_wait_for "the node to end" 20 test_pid_ended "$pid" &&
	rm -f node.pid &&
	kill -0 "$qemu"
'

test_expect_success 'the next node takes the pod back with a new gateway and a new session: the streams before end in the guest, egress.resume says so; wget reaches ok.test again, a refused port is still refused; no violation' '
	node_start -G "$guest" -H "$PWD/hosts" &&
	node_wait_event ".event == \"pod.adopt\" and .pod == \"$pod\"" &&
	node_events egress.resume | jq -s -e "length == 1 and .[0].pod == \"$pod\" and .[0].driver == \"qemu\"" >/dev/null &&
	pgrep -f "^$NUCLEUS_BUILD/nucleus-gateway -p $pod " >/dev/null &&
	vm_sh "wget -q -O - http://ok.test:8080/" &&
	test "$status" = 0 &&
	test "$(cat out)" = "hello from 198.18.0.1:8080" &&
	test "$(opens)" = 4 &&
	vm_sh "printf \"CONNECT ok.test:8081 HTTP/1.1\r\n\r\n\" | nc 127.0.0.1 3128" &&
	grep -q "^egress_denied" out &&
	test_wait_for "the held wget to end in the VM" 30 held_ended &&
	! node_events egress.violation | grep -q .
'

test_expect_success 'every log verifies, and the node stops cleanly' '
	nucleus-audit-verify -q -k node.pub n/audit.log n/pods/*/*.log &&
	node_stop
'

test_done
