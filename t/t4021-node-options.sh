#!/bin/sh
test_description='nucleus-node: every number on its command line read whole, every path whole or refused'
. "$(dirname "$0")/test-lib.sh"

# A directory that does not exist: an option the node took would go on
# to fail there (status 1), never start serving.
test_expect_success 'serve -w and -D: a number, whole, in range, or a usage error naming the option' '
	for w in 10x "" x " 10" "+10" "-10" 010 0 3601 99999999999999999999
	do
		test_expect_code 2 nucleus-node serve -d /nonexistent -w "$w" \
		    2>err &&
		grep -F -- "nucleus-node: -w $w: " err &&
		grep -F "expected 1 to 3600 seconds" err || return 1
	done &&
	for d in 5s "" 0 3601 -1
	do
		test_expect_code 2 nucleus-node serve -d /nonexistent -D "$d" \
		    2>err &&
		grep -F -- "nucleus-node: -D $d: " err || return 1
	done &&
	test_expect_code 2 nucleus-node serve -d /nonexistent -w 10x 2>err &&
	grep -Fx "nucleus-node: -w 10x: not a decimal number: expected 1 to 3600 seconds" err
'

test_expect_success 'serve: the numbers that are right still reach the directory' '
	test_expect_code 1 nucleus-node serve -d /nonexistent -w 3600 -D 1 2>err &&
	grep -F "/nonexistent" err
'

test_expect_success 'approve -w: the same strict reading' '
	for w in " 5" +5 5x 0 86401
	do
		test_expect_code 2 nucleus-node approve -A /nonexistent/s \
		    -k /nonexistent/k -w "$w" p-1 read "{}" 2>err &&
		grep -F -- "-w $w: " err || return 1
	done
'

# A directory whose files would not fit the node's 511-byte paths.
test_expect_success 'serve: a directory too long for its files is refused, the path named' '
	long=$PWD/$(printf "%0100d" 0)/$(printf "%0100d" 1)/$(printf "%0100d" 2)/$(printf "%0100d" 3)/$(printf "%0100d" 4) &&
	mkdir -p -m 755 "$long" &&
	test_expect_code 2 nucleus-node serve -d "$long" 2>err &&
	grep -F "nucleus-node: $(printf "%.160s" "$long")..." err &&
	grep -F "longer than the 511 allowed" err
'

test_expect_success 'serve -l: a socket path past sun_path is refused, never cut' '
	mkdir -m 711 n &&
	nucleus-node keygen -d n node-1 >/dev/null &&
	: >n/keyring && chmod 600 n/keyring &&
	grep "^authority-1 " "$TEST_DIRECTORY/vectors/keyring" |
	    cut -d" " -f1-3 >n/trust &&
	sock=$PWD/n/$(printf "%0120d" 0).sock &&
	test_expect_code 2 nucleus-node serve -d n -l "$sock" 2>err &&
	grep -F "socket path of" err &&
	grep -F "longer than the 107 allowed" err &&
	test ! -e "$(printf "%.107s" "$sock")"
'

# serve -n: the checks serve makes before it starts, alone (as sshd -t).
# c/ is a node's directory that is good; each test breaks one thing.
test_expect_success 'keygen -r: the role in the printed line and in the public file beside the key' '
	mkdir -m 711 c &&
	nucleus-node keygen -d c node-1 >line &&
	grep -Eq "^node-1 ed25519 [A-Za-z0-9+/]{43}= node$" line &&
	test_cmp line c/node.pub &&
	test "$(stat -c %a c/node.pub)" = 644 &&
	nucleus-node keygen -r admin -k admin.key ops-1 >line &&
	grep -Eq "^ops-1 ed25519 [A-Za-z0-9+/]{43}= admin$" line &&
	test_cmp line admin.pub &&
	nucleus-node keygen -r agent -k agent-1.secret agent-1 >/dev/null &&
	grep -q " agent$" agent-1.secret.pub &&
	cat admin.pub agent-1.secret.pub >c/keyring && chmod 600 c/keyring &&
	grep "^authority-1 " "$TEST_DIRECTORY/vectors/keyring" >c/trust
'

test_expect_success 'keygen -r: a role no program knows is a usage error, and no key is made' '
	test_expect_code 2 nucleus-node keygen -r admni -k typo.key ops-2 2>err &&
	grep -F "nucleus-node: -r: the role is admin, agent, node or authority" err &&
	! test -e typo.key && ! test -e typo.pub
'

test_expect_success 'serve -n: a good configuration, status 0, nothing made' '
	nucleus-node serve -n -d c 2>err &&
	grep -Fx "nucleus-node: the configuration is good" err &&
	! test -e c/node.sock && ! test -e c/audit.log && ! test -e c/state.mdb &&
	! test -e c/pods
'

test_expect_success 'serve -n: a 0700 directory, which the pods'"'"' proxy cannot pass, is named with what to do' '
	chmod 700 c &&
	test_when_finished "chmod 711 c" &&
	test_expect_code 1 nucleus-node serve -n -d c 2>err &&
	grep -F "nucleus-node: $PWD/c: mode 0700: the pods'"'"' proxy (uid 65534) cannot pass through it" err &&
	grep -F "chmod o+x $PWD/c" err &&
	grep -Fx "nucleus-node: 1 problem in the configuration: not good" err
'

test_expect_success 'serve -n: a typo in a keyring role, a key with no role, a trust file of agents' '
	cp c/keyring keyring.good && cp c/trust trust.good &&
	test_when_finished "cp keyring.good c/keyring && cp trust.good c/trust" &&
	sed "s/ admin$/ admni/; s/ agent$//" keyring.good >c/keyring &&
	grep "^agent-7 " "$TEST_DIRECTORY/vectors/keyring" >c/trust &&
	test_expect_code 1 nucleus-node serve -n -d c 2>err &&
	grep -F "$PWD/c/keyring: key ops-1 has the role admni, which no program knows: give it the role admin (an operator) or agent" err &&
	grep -F "$PWD/c/keyring: key agent-1 has no role: give it the role admin (an operator) or agent" err &&
	grep -F "$PWD/c/trust: key agent-7 has the role agent: give it the role authority (or none)" err &&
	grep -Fx "nucleus-node: 3 problems in the configuration: not good" err
'

test_expect_success 'serve -n: no trust file, no key: each said' '
	mv c/trust trust.save && mv c/node.key node.key.save &&
	test_when_finished "mv trust.save c/trust && mv node.key.save c/node.key" &&
	test_expect_code 1 nucleus-node serve -n -d c 2>err &&
	grep -F "nucleus-node: the trust file: " err &&
	grep -F "nucleus-node: the node'"'"'s key: " err &&
	grep -F "make it with nucleus-node keygen" err
'

test_expect_success 'serve -n: a proxy that is not there, a guest image that is not there' '
	test_expect_code 1 nucleus-node serve -n -d c -P "$PWD/no-proxy" 2>err &&
	grep -F "nucleus-node: -P: the proxy $PWD/no-proxy: No such file or directory" err &&
	test_expect_code 1 nucleus-node serve -n -d c -G "$PWD/no-guest" 2>err &&
	grep -F "nucleus-node: -G $PWD/no-guest: No such file or directory: make the guest image" err &&
	mkdir -m 755 guest && : >guest/vmlinux && : >guest/initramfs.cpio &&
	test_expect_code 1 nucleus-node serve -n -d c -G "$PWD/guest" 2>err &&
	grep -F "the guest image'"'"'s $PWD/guest/root.squashfs: No such file" err &&
	test_line_count = 2 err
'

test_expect_success ROOT 'serve -n: not root, and no cgroup to write, are said' '
	chmod 755 . &&
	test_expect_code 1 setpriv --reuid=65534 --regid=65534 --clear-groups \
	    nucleus-node serve -n -d c -k /dev/null -K /dev/null -T /dev/null 2>err &&
	grep -F "nucleus-node: uid 65534: the node makes pods'"'"' namespaces, cgroups and mounts: run it as root" err &&
	grep -F "nucleus-node: cgroup: " err
'

test_expect_success 'serve runs the same checks and refuses to start: nothing made' '
	chmod 700 c &&
	test_when_finished "chmod 711 c" &&
	test_expect_code 1 nucleus-node serve -d c 2>err &&
	grep -F "cannot pass through it" err &&
	grep -Fx "nucleus-node: 1 problem in the configuration: refusing to start" err &&
	! test -e c/node.sock && ! test -e c/audit.log && ! test -e c/state.mdb
'

test_expect_success 'serve tells systemd it is ready once it listens, and that it stops (NOTIFY_SOCKET)' '
	test_notify_listen "$PWD/notify.sock" notify.out &&
	test_when_finished "test_stop_daemon notify notify.sock.pid 5" &&
	rm -f c/node.sock &&
	{ NOTIFY_SOCKET=$PWD/notify.sock nucleus-node serve -d c >out 2>err & } &&
	echo $! >node.pid &&
	test_when_finished "test_stop_daemon node node.pid 20" &&
	test_wait_socket "the node" node.pid c/node.sock 10 &&
	test_wait_for "READY=1" 10 grep -qx "READY=1" notify.out &&
	test_stop_daemon node node.pid 20 &&
	test_wait_for "STOPPING=1" 10 grep -qx "STOPPING=1" notify.out &&
	grep -n . notify.out >lines &&
	printf "1:READY=1\n2:STOPPING=1\n" >expect &&
	test_cmp expect lines
'

test_done
