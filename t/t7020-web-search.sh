#!/bin/sh
test_description='web_search: a query sent to the node'"'"'s search backend (serve -S) through the pod'"'"'s own egress (the backend'"'"'s host on the allowlist, its connection decided and recorded), results of title, url and snippet, bounded; a bad backend answer a clear io_error'
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
net=p-snet-$suffix
other=p-sother-$suffix
none=p-snone-$suffix
appr=p-sappr-$suffix
test_cleanup() {
	for f in server.pid search.pid; do
		[ -f $f ] && kill "$(cat $f)"
	done
	pods_gone "p-*-$suffix*"
}
egress_policy='{"profile":"restrictive","capabilities":{"read_files":"never","glob_search":"never","grep_search":"never","run_bash":"never","web_fetch":"low_risk","web_search":"low_risk"}}'

# search POD ARGS-JSON: web_search as agent-1; the response in resp.
# refused CODE POD ARGS-JSON: the same, refused with exit status CODE.
search() {
	call "$1" web_search "$2" >resp
}
refused() {
	test_expect_code "$1" call "$2" web_search "$3" >resp
}
# bad Q WHAT: the backend answers Q badly: io_error, its message WHAT.
bad() {
	refused 2 $net "{\"query\":\"$1\"}" &&
	jq -e ".error.kind == \"io_error\" and (.error.message | test(\"$2\"))" resp >/dev/null
}

search_start() {
	echo "198.18.0.1	search.test" >>hosts &&
	python3 "$TEST_DIRECTORY/helper/search-server.py" "$PWD/searched" \
	    198.18.0.1:8095 2>search.err &
	echo $! >search.pid &&
	test_wait_for "the search backend" 10 test -f searched.ready
}

test_expect_success 'setup: test hosts, a search backend on search.test:8095, a node with serve -S, three pods' '
	egress_hosts &&
	search_start &&
	node_setup &&
	node_start -H "$PWD/hosts" -S "http://search.test:8095/search?q={query}&n=20" &&
	egress_pod $net "{\"allow\":[{\"host\":\"search.test\",\"ports\":[8095]}]}" &&
	egress_pod $other "{\"allow\":[{\"host\":\"ok.test\",\"ports\":[8080]}]}" &&
	egress_pod $none &&
	egress_pod $appr "{\"allow\":[{\"host\":\"search.test\",\"ports\":[8095],\"approval\":true}]}"
'

test_expect_success 'a search: results of title, url and snippet, SEARCH_RESULTS_DEFAULT (10) of them, the query percent-encoded into the template' '
	search $net "{\"query\":\"nucleus c/é&x\"}" &&
	jq -e ".ok and (.result.results | length) == 10 and .result.results[0] == {\"title\":\"Result 1 for nucleus c/é&x\",\"url\":\"http://result.test/1\",\"snippet\":\"snippet 1\"} and .result.results[2].snippet == \"\"" resp >/dev/null &&
	grep -q "^/search?q=nucleus%20c%2F%C3%A9%26x&n=20$" searched
'

test_expect_success 'it is recorded: the web_search decision and outcome, the connection as a connect decision and an egress.open' '
	pod_log $net >log &&
	jq -e -s "[.[] | select(.event == \"decision\" and .op == \"web_search\" and .decision == \"allow\" and .capability == \"web_search\")] | length == 1" log >/dev/null &&
	jq -e -s "[.[] | select(.event == \"outcome\" and .status == \"ok\" and .results == 10 and .query == \"nucleus c/é&x\")] | length == 1" log >/dev/null &&
	jq -e -s "[.[] | select(.event == \"decision\" and .op == \"connect\" and .host == \"search.test\" and .port == 8095 and .decision == \"allow\")] | length == 1" log >/dev/null &&
	node_events egress.open | jq -e -s "[.[] | select(.host == \"search.test\" and .port == 8095)] | length == 1" >/dev/null
'

test_expect_success 'max_results: SEARCH_RESULTS_MAX (20) allowed, 21 refused; SEARCH_QUERY_MAX (512) allowed, 513 refused; unknown members refused' '
	search $net "{\"query\":\"a\",\"max_results\":2}" &&
	jq -e "(.result.results | length) == 2" resp >/dev/null &&
	search $net "{\"query\":\"a\",\"max_results\":20}" &&
	jq -e "(.result.results | length) == 20" resp >/dev/null &&
	refused 2 $net "{\"query\":\"a\",\"max_results\":21}" &&
	jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"args.max_results: expected 1 to 20\"))" resp >/dev/null &&
	q=$(printf "%512s" "" | tr " " q) &&
	search $net "{\"query\":\"$q\",\"max_results\":1}" &&
	jq -e ".ok" resp >/dev/null &&
	refused 2 $net "{\"query\":\"${q}q\"}" &&
	jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"args.query: longer than 512 bytes\"))" resp >/dev/null &&
	refused 2 $net "{\"query\":\"\"}" &&
	jq -e ".error.kind == \"bad_request\"" resp >/dev/null &&
	refused 2 $net "{\"query\":\"a\",\"url\":\"http://x.test/\"}" &&
	jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"args.url: unknown member\"))" resp >/dev/null
'

test_expect_success 'a long title and snippet are cut to SEARCH_TITLE_MAX (512) and SEARCH_SNIPPET_MAX (2048) bytes, at a character'"'"'s boundary' '
	search $net "{\"query\":\"long\"}" &&
	jq -e ".result.results[0] | (.title | length) == 512 and (.snippet | length) == 1024" resp >/dev/null
'

test_expect_success 'bad backend answers are each a clear io_error: not JSON, too large (SEARCH_RESPONSE_MAX), wrong shape, a bad item, an HTTP error, a redirect (not followed)' '
	bad notjson "answer is not JSON" &&
	bad huge "answer is longer than 262144 bytes" &&
	bad shape "not of the expected shape" &&
	bad item "results\\\\[0\\\\] is not an object of strings" &&
	bad ftp "results\\\\[0\\\\].url is not an http or https URL" &&
	bad fail "answered HTTP 500, not 200" &&
	bad moved "answered HTTP 302, not 200" &&
	! grep -q "^/search?q=x$" searched &&
	pod_log $net | jq -e -s "[.[] | select(.event == \"outcome\" and .kind == \"io_error\")] | length == 7" >/dev/null
'

test_expect_success 'the backend'"'"'s host must be on the pod'"'"'s allowlist, not as an approval entry; a pod without network cannot search' '
	refused 1 $other "{\"query\":\"a\"}" &&
	jq -e ".error.kind == \"egress_denied\"" resp >/dev/null &&
	pod_log $other | jq -e -s "[.[] | select(.op == \"connect\" and .host == \"search.test\" and .decision == \"deny\")] | length == 1" >/dev/null &&
	refused 1 $none "{\"query\":\"a\"}" &&
	jq -e ".error.kind == \"egress_denied\" and (.error.message | test(\"no network member\"))" resp >/dev/null &&
	refused 1 $appr "{\"query\":\"a\"}" &&
	jq -e ".error.kind == \"egress_denied\" and (.error.message | test(\"must not be an approval entry\"))" resp >/dev/null
'

# mcp_search ARGS-JSON: nucleus-mcp for the pod, its tool web_search
# called once; the tools/list answer in tools, the call's in resp.
mcp_search() {
	{
		printf '%s\n' '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}' \
		    '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
		    '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
		printf '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"web_search","arguments":%s}}\n' "$1"
	} | timeout 60 nucleus-mcp -l "$PWD/n/node.sock" -k agent-1.key $net >mcp.out &&
	jq -c "select(.id == 1)" mcp.out >tools &&
	jq -c "select(.id == 2)" mcp.out >resp
}

test_expect_success 'nucleus-mcp has web_search as a tool (open-world, read-only), its result the operation'"'"'s' '
	mcp_search "{\"query\":\"mcp\",\"max_results\":3}" &&
	jq -e ".result.tools[] | select(.name == \"web_search\") | .annotations.openWorldHint and .annotations.readOnlyHint and .inputSchema.required == [\"query\"]" tools >/dev/null &&
	jq -e ".result.isError == false and (.result.structuredContent.results | length) == 3 and .result.structuredContent.results[0].title == \"Result 1 for mcp\"" resp >/dev/null &&
	mcp_search "{\"query\":\"notjson\"}" &&
	jq -e ".result.isError and (.result.content[0].text | startswith(\"io_error: \"))" resp >/dev/null
'

test_expect_success 'the node refuses a bad search template or CA file at start' '
	test_expect_code 2 nucleus-node serve -n -d n -S "http://search.test/search" 2>err &&
	grep -q "expected {query} exactly once" err &&
	test_expect_code 2 nucleus-node serve -n -d n -S "file:///x?q={query}" 2>err &&
	grep -q "expected an http:// or https:// URL" err &&
	echo "not a certificate" >bad.pem &&
	test_expect_code 2 nucleus-node serve -n -d n -A bad.pem 2>err &&
	grep -q "expected PEM certificates" err
'

# sized N FILE: FILE of exactly N bytes, starting with PREFIX ($3).
sized() {
	python3 -c "import sys; p = sys.argv[3]; sys.stdout.write(p + \"x\" * (int(sys.argv[1]) - len(p)))" "$1" "$2" "$3" >"$2"
}

test_expect_success 'SEARCH_TEMPLATE_MAX (512) and FETCH_CA_MAX (65536) bound -S and -A' '
	sized 512 t512 "http://search.test/?q={query}&p=" &&
	{ nucleus-node serve -n -d n -S "$(cat t512)" 2>err; true; } &&
	! grep -q "search URL" err &&
	test_expect_code 2 nucleus-node serve -n -d n -S "$(cat t512)x" 2>err &&
	grep -q "search URL: longer than 512 bytes" err &&
	sized 65536 ca.big "-----BEGIN CERTIFICATE-----" &&
	{ nucleus-node serve -n -d n -A ca.big 2>err; true; } &&
	! grep -q "CA bundle" err &&
	echo >>ca.big &&
	test_expect_code 2 nucleus-node serve -n -d n -A ca.big 2>err &&
	grep -q "CA bundle: longer than 65536 bytes" err
'

test_expect_success 'the logs verify; the node stops cleanly' '
	nucleus-audit-verify -q -k node.pub n/audit.log n/pods/*/*.log &&
	node_stop
'

test_done
