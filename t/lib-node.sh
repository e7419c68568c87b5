# lib-node.sh: what the node's tests share.  Source after test-lib.sh
# and lib-authority.sh (for fresh_nonce and the vectors' agent key).
#
#	node_setup			the directory n/: a node key (node.pub,
#					its keyring line with the role node), an admin (admin.key)
#					and the vectors' agents in its keyring,
#					the vectors' authority trusted
#	node_start [OPTIONS]		serve n/, wait for its socket
#	node_stop			SIGTERM, wait for it to exit
#	nreq ID KID KEYFILE POD OP ARGS [TS]	a signed request line
#	nsend < LINES > OUT		send to the node's socket, collect
#	last_refusal			the node's last request.refused record
#	node_wait_event JQ-FILTER	wait until a node record matches
#	pod_create NAME [POLICY]	create a pod that names agent-7
#	ncall POD OP ARGS		nucleus-node call -j as agent-7
#	pod_cgroup POD			its pids cgroup directory (v1 or v2)
#	pod_proxy POD			its proxy's pid on the host

node_setup() {
	chmod 755 . &&
	mkdir -m 711 n &&
	nucleus-node keygen -d n node-1 | cut -d" " -f1-4 >node.pub &&
	audit-tool keygen ops-1 admin.key | sed "s/ writer$/ admin/" >n/keyring &&
	grep "^agent-" "$TEST_DIRECTORY/vectors/keyring" >>n/keyring &&
	chmod 600 n/keyring &&
	cp authority.pub n/trust
}

# A node whose test fails is stopped after that test; one whose test
# passes serves the tests after it (as proxy_start).
node_start() {
	rm -f n/node.sock
	nucleus-node serve -d n "$@" >node.out 2>node.err &
	echo $! >node.pid
	test_when_failed node_stop &&
	test_wait_socket "the node" node.pid n/node.sock 10 || {
		cat node.err >&2
		return 1
	}
}

node_stop() {
	test_stop_daemon "the node" node.pid 20 &&
	# Under SANITIZE: a report at exit (a leak, say) fails the test.
	! grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" node.err >&2
}

nreq() {
	printf '{"type":"request","v":1,"id":"%s","kid":"%s","ts":%s,"nonce":"%s","pod":"%s","op":"%s","args":%s}\n' \
	    "$1" "$2" "${7:-$(date +%s)}" "$(fresh_nonce)" "$4" "$5" "$6" |
	    audit-tool sign request "$3"
}

nsend() {
	timeout 60 unixcat "$PWD/n/node.sock"
}

last_refusal() {
	jq -c "select(.event == \"request.refused\")" n/audit.log | tail -n 1
}

node_wait_event() {
	test_wait_for "a node record matching $1" 10 node_has_event_ "$1"
}

node_has_event_() {
	jq -s -e "[.[] | select($1)] | length > 0" n/audit.log >/dev/null 2>&1
}

pod_create() {
	printf '{"v":1,"name":"%s","policy":"%s","agents":["agent-7"],"resources":{"memory_mib":256,"pids":64,"scratch_mib":32}}\n' \
	    "$1" "${2:-local_dev}" >"spec-$1.json" &&
	nucleus-node pod -j -k admin.key -l n/node.sock create "spec-$1.json"
}

ncall() {
	nucleus-node call -j -k agent.key -l n/node.sock "$@"
}

pod_cgroup() {
	cg=$(nucleus-node pod -j -k admin.key -l n/node.sock status "$1" | jq -r .result.cgroup) &&
	for d in /sys/fs/cgroup/pids/nucleus/$cg /sys/fs/cgroup/nucleus/$cg; do
		[ -d "$d" ] && echo "$d" && return 0
	done
	return 1
}

# The proxy is the pod's init's child.  Its spawner and each command's
# init are nucleus-proxy too, and pid numbers wrap (pid_max): the first
# nucleus-proxy in the cgroup is not always the proxy.
pod_proxy() {
	d=$(pod_cgroup "$1") || return 1
	for pid in $(cat "$d/cgroup.procs"); do
		pp=$(awk '/^PPid:/ { print $2 }' /proc/$pid/status 2>/dev/null) &&
		[ "$(cat /proc/$pid/comm 2>/dev/null)" = nucleus-proxy ] &&
		[ "$(cat /proc/$pp/comm 2>/dev/null)" = nucleus-node ] &&
		echo "$pid" && return 0
	done
	return 1
}
