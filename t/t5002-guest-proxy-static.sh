#!/bin/sh
test_description='the static nucleus-proxy of the guest image: no loader, no library, the same proxy'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-proxy.sh"

# ASan has no static runtime: "make SANITIZE=1" builds no static proxy.
test_have_prereq SANITIZE &&
    test_skip_all "no static build under SANITIZE=1"
static=$NUCLEUS_BUILD/static/nucleus-proxy
[ -x "$static" ] || test_skip_all "no $static: run make static"

test_expect_success 'setup' '
	proxy_setup read_only &&
	echo hi >root/a.txt
'

test_expect_success 'it is static: no interpreter, no shared library' '
	readelf -lW "$static" >phdrs &&
	grep -w LOAD phdrs &&
	! grep -w INTERP phdrs &&
	readelf -dW "$static" >dyn &&
	! grep NEEDED dyn &&
	file "$static" >type &&
	grep "static-pie linked" type
'

test_expect_success '-n checks a pod file' '
	"$static" -n -p pod.json >out 2>err &&
	test_line_count = 0 out &&
	test_line_count = 0 err &&
	sed "s/\"read_only\"/\"no_such\"/" pod.json >bad.json &&
	test_expect_code 1 "$static" -n -p bad.json 2>err &&
	grep "bad.json: policy: unknown profile" err
'

test_expect_success 'it serves a request on an inherited socket (-f), and its log verifies' '
	req f1 read "{\"path\":\"a.txt\"}" |
	    pair-run "$static" -p pod.json -f 3 >out &&
	resp f1 | jq -e ".ok and .result.data == \"hi\\n\"" &&
	sed -n 2p "$(proxy_log)" | jq -e ".event == \"boot\" and .sandbox.seccomp == true" &&
	verify_log
'

# The proxy's own tests, with the static proxy in the dynamic one's place:
# a build directory whose every entry is the real one's, but the proxy.
test_expect_success 'the proxy tests (t2xxx) pass with the static proxy' '
	mkdir sbuild &&
	for f in "$NUCLEUS_BUILD"/*; do
		case ${f##*/} in
		trash|static) ;;
		nucleus-proxy) ln -s "$static" sbuild/nucleus-proxy ;;
		*) ln -s "$f" sbuild/ ;;
		esac || return 1
	done &&
	for t in "$TEST_DIRECTORY"/t2[0-9][0-9][0-9]-proxy-*.sh; do
		NUCLEUS_BUILD=$PWD/sbuild sh "$t" >"${t##*/}.out" 2>&1 ||
		{ cat "${t##*/}.out"; return 1; }
		grep "^ok " "${t##*/}.out" >/dev/null &&
		! grep "^not ok " "${t##*/}.out" |
		    grep -v "# TODO known breakage$" || return 1
	done
'

test_done
