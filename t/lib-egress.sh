# lib-egress.sh: what the egress tests (t70xx) share.  Source after
# test-lib.sh and lib-pod.sh.
#
#	egress_netns "$@"	before test-lib.sh: run the script again in a
#				network namespace of its own (as root), so
#				that its test hosts are its own and nothing
#				reaches beyond the machine
#	egress_hosts		the namespace's loopback up, the test hosts'
#				addresses on it (198.18.0.0/15, and the
#				refused classes' 127.0.0.2, 169.254.169.254,
#				10.0.0.1), their names in hosts, the test
#				server (egress-server.py) on port 8080 of
#				each and 8081 of ok.test, its connections in
#				seen
#	egress_pod NAME NETWORK-JSON	create a pod whose policy runs curl
#				with web_fetch low_risk (and no private data:
#				no trifecta) and this network member
#	egress_curl POD ARGS...	run curl in the pod; its standard output in
#				out, its exit status in status
#	egress_policy		that policy

egress_netns() {
	if [ -z "$NUCLEUS_EGRESS_NETNS" ] && [ "$(id -u)" = 0 ] &&
	    unshare -n true 2>/dev/null; then
		NUCLEUS_EGRESS_NETNS=1
		export NUCLEUS_EGRESS_NETNS
		exec unshare -n "$0" "$@"
	fi
}

egress_policy='{"profile":"restrictive","capabilities":{"read_files":"never","glob_search":"never","grep_search":"never","run_bash":"always","web_fetch":"low_risk"},"commands":{"allow":[{"program":"curl"},{"program":"env"}]}}'

egress_hosts() {
	ip link set lo up &&
	for a in 198.18.0.1 198.18.0.2 127.0.0.2 169.254.169.254 10.0.0.1; do
		ip addr add $a/32 dev lo || return 1
	done &&
	cat >hosts <<-\EOF &&
	# the tests' names: only these resolve
	198.18.0.1	ok.test www.ok.test
	198.18.0.2	other.test push.test
	127.0.0.2	lo.test
	169.254.169.254	meta.test
	10.0.0.1	private.test
	EOF
	python3 "$TEST_DIRECTORY/helper/egress-server.py" "$PWD/seen" \
	    198.18.0.1:8080 198.18.0.1:8081 198.18.0.2:8080 127.0.0.2:8080 \
	    169.254.169.254:8080 10.0.0.1:8080 2>server.err &
	echo $! >server.pid &&
	test_wait_for "the test hosts" 10 test -f seen.ready
}

egress_pod() {
	printf '{"v":1,"name":"%s","policy":%s,"agents":["agent-1"]%s}\n' \
	    "$1" "$egress_policy" "${2:+,\"network\":$2}" >"spec-$1.json" &&
	nucleus-node pod -j -k admin.key -l n/node.sock create "spec-$1.json" >"create-$1.out" &&
	jq -e ".ok and .result.state == \"running\"" "create-$1.out" >/dev/null
}

egress_curl() {
	p=$1
	shift
	argv=$(python3 -c "import json, sys; print(json.dumps(sys.argv[1:]))" \
	    curl -sS -m 20 "$@") &&
	call "$p" run "{\"argv\":$argv}" >resp &&
	jq -r .result.stdout resp >out &&
	status=$(jq -r .result.exit resp)
}
