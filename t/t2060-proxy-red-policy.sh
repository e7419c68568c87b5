#!/bin/sh
test_description='nucleus-proxy: a hostile agent under git_push never cannot push through words the rules do not see (xargs input, find paths)'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-proxy.sh"

# The remote has no commit: nothing was pushed.
nothing_pushed() {
	test_must_fail git --git-dir=remote.git rev-parse --verify -q refs/heads/main
}

test_expect_success 'setup: a local_dev pod (git_push never), a repository with a remote' '
	proxy_setup local_dev &&
	git init -q --bare remote.git &&
	git init -q -b main root/repo &&
	git -C root/repo -c user.name=a -c user.email=a@b commit -q --allow-empty -m x &&
	git -C root/repo remote add origin "$PWD/remote.git" &&
	mkdir root/repo/push &&
	proxy_start &&
	req p0 run "{\"argv\":[\"git\",\"-C\",\"repo\",\"push\",\"origin\",\"main\"]}" | send >out &&
	resp p0 | jq -e ".error.kind == \"insufficient_capability\"" &&
	nothing_pushed
'

test_expect_success 'xargs git, with push on its input, is refused and pushes nothing' '
	req p1 run "{\"argv\":[\"xargs\",\"git\",\"-C\",\"repo\"],\"stdin\":\"push origin main\"}" | send >out &&
	resp p1 | jq -e ".error.kind == \"command_denied\"" &&
	nothing_pushed
'

test_expect_success 'find push -exec git {} is refused and pushes nothing' '
	req p2 run "{\"argv\":[\"find\",\"push\",\"-maxdepth\",\"0\",\"-exec\",\"git\",\"{}\",\"origin\",\"main\",\";\"],\"cwd\":\"repo\"}" | send >out &&
	resp p2 | jq -e ".error.kind == \"command_denied\"" &&
	nothing_pushed
'

test_expect_success 'git send-pack is git_push, and pushes nothing' '
	req p3 run "{\"argv\":[\"git\",\"-C\",\"repo\",\"send-pack\",\"$PWD/remote.git\",\"main\"]}" | send >out &&
	resp p3 | jq -e ".error.kind == \"insufficient_capability\" and .error.message == \"git_push is never allowed\"" &&
	nothing_pushed &&
	proxy_alive
'

test_expect_success 'a repository naming its own upload-pack program: git does not start' '
	git init -q root/up &&
	git -C root/up remote add origin "$PWD/remote.git" &&
	git -C root/up config remote.origin.uploadpack "touch $PWD/root/ran; git-upload-pack" &&
	for argv in "\"remote\",\"show\",\"origin\"" "\"fetch\",\"--multiple\",\"origin\"" \
	    "\"remote\",\"update\""
	do
		req u1 run "{\"argv\":[\"git\",$argv],\"cwd\":\"up\"}" | send >out &&
		resp u1 | jq -e ".error.kind == \"io_error\"" &&
		! test -e root/ran || return 1
	done &&
	req u2 run "{\"argv\":[\"git\",\"status\"],\"cwd\":\"repo\"}" | send >out &&
	resp u2 | jq -e ".ok and .result.exit == 0"
'

test_expect_success 'a textconv the repository names runs in no git command, range-diff and stash list -p too' '
	git init -q -b main root/tc &&
	echo "f diff=x" >root/tc/.gitattributes &&
	echo a >root/tc/f &&
	git -C root/tc add -A &&
	git -C root/tc -c user.name=a -c user.email=a@b commit -q -m 1 &&
	echo b >root/tc/f &&
	git -C root/tc -c user.name=a -c user.email=a@b commit -q -a -m 2 &&
	echo c >root/tc/f &&
	git -C root/tc -c user.name=a -c user.email=a@b stash -q &&
	git -C root/tc config diff.x.textconv "touch $PWD/root/ran-tc; cat" &&
	git -C root/tc config diff.x.command "touch $PWD/root/ran-cmd; true" &&
	for argv in "\"range-diff\",\"HEAD~1...HEAD\"" "\"stash\",\"list\",\"-p\"" \
	    "\"log\",\"-p\"" "\"stash\",\"show\",\"-p\""
	do
		req t1 run "{\"argv\":[\"git\",$argv],\"cwd\":\"tc\"}" | send >out &&
		resp t1 | jq -e ".ok and .result.exit == 0" &&
		! test -e root/ran-tc && ! test -e root/ran-cmd || return 1
	done
'

test_done
