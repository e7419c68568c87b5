#!/bin/sh
test_description='web_fetch with CAs the node adds (serve -A): the system'"'"'s bundle as the pod sees it, read whole at the proxy'"'"'s start, is taken at FETCH_SYSTEM_CA_MAX bytes (HTTPS verified with the added CA); one byte more and the pod'"'"'s proxy ends at its start, saying why; the node serves on'
. "$(dirname "$0")/lib-egress.sh"
# A network namespace, and a mount namespace in which /etc/ssl/certs is
# the test's own (bound into the pod by -B).
if [ -z "$NUCLEUS_EGRESS_NETNS" ] && [ "$(id -u)" = 0 ] &&
    unshare -n -m true 2>/dev/null; then
	NUCLEUS_EGRESS_NETNS=1
	export NUCLEUS_EGRESS_NETNS
	exec unshare -n -m "$0" "$@"
fi
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-pod.sh"
. "$TEST_DIRECTORY/lib-egress.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi
if [ -z "$NUCLEUS_EGRESS_NETNS" ]; then
	test_skip_all "no network and mount namespaces of its own (unshare -n -m)"
fi

suffix=$(od -An -N4 -tx1 /dev/urandom | tr -d " \n")
pod=p-sysca-$suffix
test_cleanup() {
	for f in server.pid web.pid; do
		[ -f $f ] && kill "$(cat $f)"
	done
	pods_gone "p-*-$suffix*"
}
egress_policy='{"profile":"restrictive","capabilities":{"read_files":"never","glob_search":"never","grep_search":"never","run_bash":"never","web_fetch":"low_risk"}}'
FETCH_SYSTEM_CA_MAX=4194304

# bundle N: the system's bundle, N bytes of comment lines (no
# certificate: the added CA is the one that verifies).
bundle() {
	yes "# a line of the test's own system bundle, never a certificate" |
	    head -c "$1" >certs/ca-certificates.crt &&
	test "$(wc -c <certs/ca-certificates.crt)" = "$1"
}

test_expect_success 'setup: a test CA the node adds (-A), an HTTPS server for ok.test, /etc/ssl/certs the test'"'"'s own, a node' '
	egress_hosts &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -days 1 -subj /CN=testca -keyout testca.key -out testca.pem 2>/dev/null &&
	printf "subjectAltName=DNS:ok.test\n" >san.ext &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	    -subj /CN=ok.test -keyout good.key -out good.csr 2>/dev/null &&
	openssl x509 -req -in good.csr -CA testca.pem -CAkey testca.key \
	    -CAcreateserial -days 1 -extfile san.ext -out good.pem 2>/dev/null &&
	{ python3 "$TEST_DIRECTORY/helper/fetch-server.py" "$PWD/fetched" \
	    198.18.0.2:8090 198.18.0.1:8443 good.pem good.key 2>fetch.err &
	  echo $! >web.pid; } &&
	test_wait_for "the web server" 10 test -f fetched.ready &&
	mkdir certs &&
	mount --bind "$PWD/certs" /etc/ssl/certs &&
	node_setup &&
	node_start -H "$PWD/hosts" -B /etc/ssl/certs -A "$PWD/testca.pem"
'

test_expect_success 'a bundle of FETCH_SYSTEM_CA_MAX bytes is taken: HTTPS to ok.test verified with the added CA' '
	bundle $FETCH_SYSTEM_CA_MAX &&
	egress_pod $pod-a "{\"allow\":[{\"host\":\"ok.test\",\"ports\":[8443]}]}" &&
	call $pod-a web_fetch "{\"url\":\"https://ok.test:8443/hello\"}" >resp &&
	jq -e ".ok and .result.status == 200 and .result.body == \"hello from web_fetch\n\"" resp >/dev/null
'

exited_2() {
	node_events pod.exit | jq -e -s "[.[] | select(.pod == \"$pod-b\" and .status == 2)] | length == 1" >/dev/null
}

test_expect_success 'one byte more: the pod'"'"'s proxy ends at its start (pod.exit, status 2), saying FETCH_SYSTEM_CA_MAX was crossed; the node serves on' '
	bundle $((FETCH_SYSTEM_CA_MAX + 1)) &&
	egress_pod $pod-b "{\"allow\":[{\"host\":\"ok.test\",\"ports\":[8443]}]}" &&
	test_wait_for "its pod.exit" 20 exited_2 &&
	grep -q "^nucleus-proxy: web_fetch: /etc/ssl/certs/ca-certificates.crt: unreadable, or longer than $FETCH_SYSTEM_CA_MAX bytes$" n/pods/$pod-b/proxy.err &&
	call $pod-a web_fetch "{\"url\":\"https://ok.test:8443/hello\"}" >resp &&
	jq -e ".ok and .result.status == 200" resp >/dev/null
'

test_expect_success 'every log verifies; the node stops cleanly' '
	nucleus-audit-verify -q -k node.pub n/audit.log &&
	node_stop
'

test_done
