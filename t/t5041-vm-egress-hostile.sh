#!/bin/sh
test_description='egress on the qemu driver, without a VM: a stand-in for QEMU (fake-vmm) comes up and lets the test play the guest'"'"'s side of the egress port (mux-guest.py): a good stream, then credit never owed, data past the credit, more streams than MUX_STREAMS_MAX, a stream id used again, a frame of no known type, a session begun out of step (bytes before the echo of the host'"'"'s SYNC, a SYNC of another nonce, a SYNC again): each stream reset or the channel closed, recorded, the node serving on'
. "$(dirname "$0")/lib-egress.sh"
egress_netns "$@"
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-pod.sh"
. "$TEST_DIRECTORY/lib-egress.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the qemu driver makes cgroups and drops to the pods' uid: it needs root"
fi
if [ -z "$NUCLEUS_EGRESS_NETNS" ]; then
	test_skip_all "no network namespace of its own (unshare -n)"
fi

pod=p-egress-$$
test_cleanup() {
	[ -f server.pid ] && kill "$(cat server.pid)"
	[ -f sink.pid ] && kill "$(cat sink.pid)"
	pods_gone "$pod*"
}

# sink: other.test:8083 takes connections and never reads.
sink() {
	python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.0.2", 8083))
s.listen(512)
open(sys.argv[1], "w").close()
held = []
while True:
    held.append(s.accept()[0])
' "$PWD/sink.ready" 2>sink.err &
	echo $! >sink.pid &&
	test_wait_for "the sink" 10 test -f sink.ready
}

# create NAME: a qemu pod (fake-vmm) with network; its peer.sock up.
create() {
	printf "{\"v\":1,\"name\":\"%s\",\"driver\":\"qemu\",\"resources\":{\"memory_mib\":128,\"scratch_mib\":8},\"policy\":%s,\"agents\":[\"agent-1\"],\"network\":%s}\n" \
	    "$1" "$egress_policy" "{\"allow\":[{\"host\":\"ok.test\",\"ports\":[8080]},{\"host\":\"other.test\",\"ports\":[8083]}],\"max_connections\":1024}" >spec-$1.json &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec-$1.json >create-$1.out &&
	jq -e ".ok and .result.state == \"running\"" create-$1.out >/dev/null &&
	test_wait_for "the fake guest's peer socket" 10 test -S n/pods/$1/vm/peer.sock
}

violations() {
	node_events egress.violation | jq -s -c "[.[] | select(.pod == \"$1\") | [.stream, .closed, .reason]]"
}

test_expect_success 'setup: test hosts in the namespace, a node whose QEMU is fake-vmm, eight pods that come up with network' '
	egress_hosts &&
	sink &&
	mkdir guest &&
	for f in vmlinux initramfs.cpio root.squashfs; do
		echo placeholder >guest/$f || return 1
	done &&
	node_setup &&
	node_start -G "$PWD/guest" -Q "$NUCLEUS_BUILD/t/helper/fake-vmm" -H "$PWD/hosts" &&
	create $pod-egress-a &&
	create $pod-egress-b &&
	create $pod-egress-c &&
	create $pod-egress-d &&
	create $pod-egress-e &&
	create $pod-egress-f &&
	create $pod-egress-g &&
	create $pod-egress-h
'

test_expect_success 'a good stream is carried to the gateway and back; each broken rule resets its stream, recorded; the node goes on' '
	python3 "$TEST_DIRECTORY/helper/mux-guest.py" n/pods/$pod-egress-a/vm/peer.sock \
	    good ok.test 8080 credit ok.test 8080 overrun other.test 8083 \
	    many other.test 8083 257 reuse >out &&
	cat >expect <<-\EOF &&
	good HTTP/1.0 200 OK
	credit closed
	overrun closed
	many 256 too_many
	reuse eof
	EOF
	test_cmp expect out &&
	violations $pod-egress-a >v &&
	jq -e ".[0] == [2, \"stream\", \"credit past the window\"] and .[1] == [3, \"stream\", \"data past the stream'"'"'s credit\"] and .[2] == [260, \"stream\", \"more streams than MUX_STREAMS_MAX at once\"] and .[3] == [1, \"channel\", \"a stream id used before\"] and length == 4" v &&
	grep -q " 198.18.0.1 8080$" seen
'

test_expect_success 'a frame of no known type closes the channel, recorded' '
	python3 "$TEST_DIRECTORY/helper/mux-guest.py" n/pods/$pod-egress-b/vm/peer.sock badframe >out &&
	echo "badframe eof" >expect &&
	test_cmp expect out &&
	violations $pod-egress-b >v &&
	jq -e ". == [[0, \"channel\", \"an unknown frame type\"]]" v
'

test_expect_success 'a request of MUX_MSG_MAX bytes is asked of the gateway, one byte more closes the channel; so does a data frame past MUX_FRAME_MAX' '
	python3 "$TEST_DIRECTORY/helper/mux-guest.py" n/pods/$pod-egress-c/vm/peer.sock bigopen 4096 bigopen 4097 >out &&
	printf "bigopen 4096 ok\nbigopen 4097 eof\n" >expect &&
	test_cmp expect out &&
	violations $pod-egress-c >v &&
	jq -e ". == [[0, \"channel\", \"a request or answer of 0 or over MUX_MSG_MAX bytes\"]]" v &&
	python3 "$TEST_DIRECTORY/helper/mux-guest.py" n/pods/$pod-egress-d/vm/peer.sock bigdata ok.test 8080 >out &&
	echo "bigdata eof" >expect &&
	test_cmp expect out &&
	violations $pod-egress-d >v &&
	jq -e ". == [[0, \"channel\", \"a data frame of 0 or over MUX_FRAME_MAX bytes\"]]" v
'

test_expect_success 'MUX_VIOLATIONS_MAX streams reset for broken rules, then the next broken rule closes the channel: the records a guest can make are bounded' '
	python3 "$TEST_DIRECTORY/helper/mux-guest.py" n/pods/$pod-egress-e/vm/peer.sock flood other.test 8080 65 >out &&
	echo "flood eof" >expect &&
	test_cmp expect out &&
	violations $pod-egress-e >v &&
	jq -e "length == 65 and ([.[:64][] | select(.[1] == \"stream\" and .[2] == \"credit past the window\")] | length == 64) and .[64] == [65, \"channel\", \"more broken rules than MUX_VIOLATIONS_MAX\"]" v
'

test_expect_success 'a session: a SYNC of another nonce and an OPEN before the echo are skipped (never asked of the gateway); a SYNC in the session closes the channel, recorded' '
	before=$(node_events egress.open | wc -l) &&
	python3 "$TEST_DIRECTORY/helper/mux-guest.py" n/pods/$pod-egress-f/vm/peer.sock \
	    fake other.test 8083 good ok.test 8080 resync >out &&
	printf "good HTTP/1.0 200 OK\nresync eof\n" >expect &&
	test_cmp expect out &&
	test "$(node_events egress.open | wc -l)" = $((before + 1)) &&
	violations $pod-egress-f >v &&
	jq -e ". == [[0, \"channel\", \"a SYNC the host did not ask for\"]]" v
'

test_expect_success 'MUX_SYNC_SKIP_MAX bytes before the echo are skipped and the session begins; one byte more closes the channel, recorded' '
	python3 "$TEST_DIRECTORY/helper/mux-guest.py" n/pods/$pod-egress-g/vm/peer.sock junk 4210696 >out &&
	echo "junk synced" >expect &&
	test_cmp expect out &&
	violations $pod-egress-g >v &&
	jq -e ". == []" v &&
	python3 "$TEST_DIRECTORY/helper/mux-guest.py" n/pods/$pod-egress-h/vm/peer.sock junk 4210697 >out &&
	echo "junk eof" >expect &&
	test_cmp expect out &&
	violations $pod-egress-h >v &&
	jq -e ". == [[0, \"channel\", \"no SYNC echo within MUX_SYNC_SKIP_MAX bytes\"]]" v
'

opens_closed() {
	test "$(node_events egress.open | wc -l)" = "$(node_events egress.close | wc -l)"
}

# A stream the host closed is half-closed toward its remote host, as a
# local pod's client that goes: the sink ends those it holds.
test_expect_success 'the node serves on: its pods listed, each stream of the closed channel closed and recorded once its remote ends, its log verifies, it stops cleanly' '
	nucleus-node pod -j -k admin.key -l n/node.sock list >list &&
	jq -e "[.result.pods[] | select(.state == \"running\")] | length == 8" list &&
	kill "$(cat sink.pid)" &&
	rm sink.pid &&
	test_wait_for "a close record for each open one" 20 opens_closed &&
	test "$(node_events egress.open | wc -l)" = 263 &&
	nucleus-audit-verify -q -k node.pub n/audit.log &&
	node_stop
'

test_done
