#!/bin/sh
test_description='nucleus-node: pod diff and work.export against an agent that writes what it likes in /work: names git would misread or refuse, git'"'"'s own files, a full export directory'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-authority.sh"
. "$TEST_DIRECTORY/lib-node.sh"

if ! test_have_prereq ROOT; then
	test_skip_all "the local driver needs root (namespaces and cgroups)"
fi

pod=p-xh-$$
test_cleanup() {
	nucleus-node pod -j -k admin.key -l n/node.sock stop $pod >/dev/null 2>&1
	umount root/full 2>/dev/null
}

# in_pod SCRIPT: a shell script run in the pod's /work (written there,
# run, and gone), which must succeed.
in_pod() {
	ncall $pod write "$(jq -cn --arg s "$1; rm s.sh" "{path: \"s.sh\", content: \$s}")" >run.out &&
	ncall $pod run "{\"argv\":[\"sh\",\"s.sh\"]}" >run.out &&
	jq -e ".ok and .result.exit == 0" run.out >/dev/null
}

nl='
'

test_expect_success 'setup: a git project with awkward names, a pod of it, exported into a directory with no room' '
	authority_setup &&
	node_setup &&
	mkdir -p root/proj root/full &&
	git init -q root/proj &&
	for n in "sp ace" "ta	b" "qu\"ote" "back\\slash" "new${nl}line" "-dash" "$(printf "caf\351")"; do
		printf "old\n" >"root/proj/$n" || return 1
	done &&
	printf "one\r\ntwo\r\n" >root/proj/crlf.txt &&
	printf "no newline" >root/proj/nonl.txt &&
	head -c 200000 /dev/urandom >root/proj/big.bin &&
	mount -t tmpfs -o size=64k tmpfs root/full &&
	node_start -W "$PWD/root" &&
	printf "{\"v\":1,\"name\":\"%s\",\"policy\":\"local_dev\",\"agents\":[\"agent-7\"],\"resources\":{\"scratch_mib\":32},\"work\":{\"copy\":\"proj\",\"export\":\"full\"}}\n" $pod >spec.json &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec.json >out &&
	jq -e .ok out
'

test_expect_success 'pod diff: git apply takes it whole, without excludes; git'"'"'s own files listed, never patched' '
	cat >script <<-\EOS &&
	for f in *; do case $f in big.bin|s.sh) ;; *) printf new >>"$f";; esac; done
	printf "#!/bin/sh\ntouch /tmp/pwned-$PPID\n" >.git/hooks/post-checkout
	chmod +x .git/hooks/post-checkout
	printf "[core]\n\tfsmonitor = touch /tmp/pwned\n" >>.git/config
	mkdir -p sub/.GIT git~1 ".git. "
	echo x >sub/.GIT/config && echo x >git~1/x && echo x >".git. /x"
	e="evil$(printf "\n+++ b")" && mkdir -p "$e/.git/hooks" && printf x >"$e/.git/hooks/pre-commit"
	i="inj$(printf "\n+++ b")" && mkdir "$i" && printf x >"$i/y"
	printf "ok();\n\033[1A\033[2Kevil();\n" >esc.c
	printf "evil();\rok();    \n" >cr.c
	printf "ok(); // \342\200\256 ;)(live\n" >bidi.c
	EOS
	in_pod "set -e; $(cat script)" &&
	nucleus-node pod -k admin.key -l n/node.sock diff $pod >patch 2>counts &&
	nucleus-node pod -j -k admin.key -l n/node.sock diff $pod >diff.json &&
	jq -e "[.result.added[] | select(test(\"post-checkout|pre-commit|GIT/config|git~1/x|git. /x\"))] | length == 5" diff.json &&
	jq -e ".result.modified | index(\"back\\\\x5cslash\") and index(\"new\\\\x0aline\") and index(\"ta\\\\x09b\") and index(\"caf\\\\xe9\")" diff.json &&
	! grep -e "fsmonitor" -e "pwned" -e "GIT/config" -e "git~1" patch &&
	cp -R root/proj orig &&
	(cd orig && git apply ../patch) &&
	test_cmp root/proj/.git/config orig/.git/config &&
	! test -e orig/.git/hooks/post-checkout &&
	! test -e orig/sub &&
	for n in "sp ace" "ta	b" "qu\"ote" "back\\slash" "new${nl}line" "-dash" "$(printf "caf\351")"; do
		test "$(cat "orig/$n")" = "old${nl}new" || return 1
	done &&
	printf "one\r\ntwo\r\nnew" >expect && test_cmp expect orig/crlf.txt &&
	printf "no newlinenew" >expect && test_cmp expect orig/nonl.txt &&
	for f in esc.c cr.c bidi.c; do
		sed -n "/^diff --git a\/$f /,/^diff --git/p" patch >one &&
		grep -q "^GIT binary patch" one || return 1
	done &&
	test "$(grep -c "$(printf "\033")" patch)" = 0 &&
	test "$(LC_ALL=C grep -c "$(printf "\r")." patch)" = 0 &&
	printf "ok();\n\033[1A\033[2Kevil();\n" >expect && test_cmp expect orig/esc.c &&
	test "$(cat "orig/inj$nl+++ b/y")" = x &&
	! test -e orig/y &&
	! test -e "orig/evil$nl+++ b" &&
	! test -e orig/.git/hooks/pre-commit &&
	! ls /tmp/pwned* 2>/dev/null
'

test_expect_success 'pod export to a terminal: refused before anything is asked (the bytes are the agent'"'"'s), exit 2' '
	before=$(jq -s "[.[] | select(.event == \"pod.export\")] | length" n/audit.log) &&
	test_expect_code 2 script -qec "nucleus-node pod -k admin.key -l n/node.sock export $pod" /dev/null >tty.out &&
	grep -q "refusing to write an archive to a terminal" tty.out &&
	test "$(jq -s "[.[] | select(.event == \"pod.export\")] | length" n/audit.log)" = "$before"
'

test_expect_success 'work.export into a directory with no room: recorded io_error, and no torn file left there' '
	nucleus-node pod -j -k admin.key -l n/node.sock stop $pod >out &&
	node_wait_event ".event == \"pod.work_export\" and .pod == \"$pod\"" &&
	jq -c "select(.event == \"pod.work_export\" and .pod == \"$pod\")" n/audit.log >rec &&
	jq -e ".kind == \"io_error\" and (.message | test(\"space\"))" rec &&
	test -z "$(ls -A root/full)"
'

test_expect_success 'work.export through a link, even one beneath the work root: refused at create, and at the end (a link put there meanwhile)' '
	mkdir root/out2 root/elsewhere &&
	ln -s out2 root/lnk &&
	sed -e "s/\"export\":\"full\"/\"export\":\"lnk\"/" -e "s/\"name\":\"$pod\"/\"name\":\"$pod-l\"/" spec.json >spec-l.json &&
	test_expect_code 2 nucleus-node pod -j -k admin.key -l n/node.sock create spec-l.json >out &&
	jq -e ".error.kind == \"bad_request\" and (.error.message | test(\"work.export: lnk: a link on the way\"))" out &&
	sed -e "s/\"export\":\"full\"/\"export\":\"out2\"/" spec.json >spec-2.json &&
	nucleus-node pod -j -k admin.key -l n/node.sock create spec-2.json >out &&
	jq -e .ok out &&
	rmdir root/out2 && ln -s elsewhere root/out2 &&
	nucleus-node pod -j -k admin.key -l n/node.sock stop $pod >out &&
	node_wait_event ".event == \"pod.work_export\" and .pod == \"$pod\" and .dir == \"out2\"" &&
	jq -c "select(.event == \"pod.work_export\" and .dir == \"out2\")" n/audit.log >rec &&
	jq -e ".kind == \"io_error\" and (.message | test(\"a link on the way\"))" rec &&
	test -z "$(ls -A root/elsewhere)"
'

test_expect_success 'the node stops' '
	node_stop
'

test_done
