#!/bin/sh
test_description='make install honours PREFIX and DESTDIR'
. "$(dirname "$0")/test-lib.sh"

top=$TEST_DIRECTORY/..

test_expect_success 'install into DESTDIR under PREFIX' '
	make -s -C "$top" install DESTDIR="$PWD/dest" PREFIX=/opt/nucleus >out 2>&1 &&
	test -x dest/opt/nucleus/bin/nucleus-policy &&
	test -x dest/opt/nucleus/bin/nucleus-audit-verify &&
	test -x dest/opt/nucleus/bin/nucleus-mcp &&
	test -f dest/opt/nucleus/share/man/man1/nucleus-mcp.1 &&
	test -x dest/opt/nucleus/sbin/nucleus-node &&
	test -x dest/opt/nucleus/sbin/nucleus-authority &&
	test -x dest/opt/nucleus/sbin/nucleus-proxy &&
	! test -e dest/opt/nucleus/bin/nucleus-node &&
	test -f dest/opt/nucleus/share/man/man1/nucleus-policy.1 &&
	test -f dest/opt/nucleus/share/man/man5/nucleus-policy.5 &&
	test "$(stat -c %a dest/opt/nucleus/bin/nucleus-policy)" = 755 &&
	test "$(stat -c %a dest/opt/nucleus/share/man/man5/nucleus-policy.5)" = 644
'

test_expect_success 'the installed program runs' '
	dest/opt/nucleus/bin/nucleus-policy profiles >out &&
	test_line_count = 17 out
'

test_expect_success 'every installed page is in the tree and vice versa' '
	(cd "$top/man" && ls -- *.[1-8]) | sort >expect &&
	(cd dest/opt/nucleus/share/man && ls man*/) | grep -v "^man.*:$" | grep . | sort >actual &&
	test_cmp expect actual
'

test_expect_success 'install puts the units, the tmpfiles.d entry and the examples in place' '
	u=dest/opt/nucleus/lib/systemd/system &&
	test "$(stat -c %a $u/nucleus-node.service)" = 644 &&
	test "$(stat -c %a $u/nucleus-authority.service)" = 644 &&
	grep -Fx "ExecStart=/opt/nucleus/sbin/nucleus-node serve" $u/nucleus-node.service &&
	grep -Fx "ExecStartPre=/opt/nucleus/sbin/nucleus-node serve -n" $u/nucleus-node.service &&
	grep -Fx "ExecStart=/opt/nucleus/sbin/nucleus-authority serve" $u/nucleus-authority.service &&
	grep -Fx "Type=notify" $u/nucleus-node.service &&
	grep -Fx "Type=notify" $u/nucleus-authority.service &&
	! grep "@" $u/*.service &&
	test -f dest/opt/nucleus/lib/tmpfiles.d/nucleus.conf &&
	(cd "$top/dist/examples" && ls) >expect &&
	ls dest/opt/nucleus/share/doc/nucleus/examples >actual &&
	test_cmp expect actual
'

test_lazy_prereq SYSTEMD_ANALYZE 'command -v systemd-analyze && command -v man'

# systemd-analyze verify runs what the units name (ExecStart must be an
# executable, Documentation= a page man finds): the tree is installed
# where its paths are real, a PREFIX in the trash directory, and man
# looks there.  Any warning (an unknown key, a bad value) fails it too.
test_expect_success SYSTEMD_ANALYZE 'systemd-analyze verify passes on the installed units, without a word' '
	make -s -C "$top" install PREFIX="$PWD/inst" >out 2>&1 &&
	MANPATH=$PWD/inst/share/man systemd-analyze verify \
	    inst/lib/systemd/system/nucleus-node.service \
	    inst/lib/systemd/system/nucleus-authority.service >out 2>err &&
	! test -s err
'

test_lazy_prereq SYSTEMD_TMPFILES 'command -v systemd-tmpfiles'

test_expect_success SYSTEMD_TMPFILES 'the tmpfiles.d entry makes the node'"'"'s directory 0711 and the authority'"'"'s 0700' '
	mkdir -p root/etc/tmpfiles.d &&
	cp dest/opt/nucleus/lib/tmpfiles.d/nucleus.conf root/etc/tmpfiles.d/ &&
	systemd-tmpfiles --root="$PWD/root" --create nucleus.conf &&
	test "$(stat -c %a root/var/lib/nucleus-node)" = 711 &&
	test "$(stat -c %a root/var/lib/nucleus-authority)" = 700
'

test_expect_success 'the example rules and keyring are what the authority takes; the pod spec'"'"'s policy is known' '
	ex=dest/opt/nucleus/share/doc/nucleus/examples &&
	mkdir -m 700 auth &&
	dest/opt/nucleus/sbin/nucleus-authority keygen -d auth authority-1 >/dev/null &&
	cp $ex/keyring auth/keyring && chmod 600 auth/keyring &&
	cp $ex/rules.json auth/rules.json && chmod 600 auth/rules.json &&
	dest/opt/nucleus/sbin/nucleus-authority serve -n -d auth 2>err &&
	grep -F "the configuration is good" err &&
	jq -e ".v == 1 and (.agents | length) == 1" $ex/pod.json &&
	dest/opt/nucleus/bin/nucleus-policy show "$(jq -r .policy $ex/pod.json)" >/dev/null
'

test_expect_success 'uninstall removes what install put there, and only that' '
	mkdir -p dest/opt/nucleus/bin && echo mine >dest/opt/nucleus/bin/other &&
	make -s -C "$top" uninstall DESTDIR="$PWD/dest" PREFIX=/opt/nucleus >out 2>&1 &&
	(cd dest && find . -type f) >actual &&
	echo ./opt/nucleus/bin/other >expect &&
	test_cmp expect actual
'

test_lazy_prereq DPKG_BUILDFLAGS 'command -v dpkg-buildflags'

# What a Debian package build hands make: the project adds its hardening
# and warnings (and -Werror) to these, and must build clean with them.
test_expect_success DPKG_BUILDFLAGS 'the build takes the flags dpkg-buildflags gives' '
	make -C "$top" B="$PWD/deb" \
	    CFLAGS="$(dpkg-buildflags --get CFLAGS)" \
	    CPPFLAGS="$(dpkg-buildflags --get CPPFLAGS)" \
	    LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" \
	    "$PWD/deb/nucleus-policy" >out 2>&1 &&
	grep -e "-Wdate-time" out &&
	grep -e "-Werror=format-security" out &&
	grep -e "-Werror " out &&
	! grep "warning:" out &&
	"$PWD/deb/nucleus-policy" profiles >/dev/null
'

test_expect_success 'WERROR= leaves -Werror out, for a packager who wants it so' '
	make -s -C "$top" -n B="$PWD/werror" WERROR= "$PWD/werror/nucleus-policy" >out &&
	grep -e "-Wall" out &&
	! grep -e "-Werror " out
'

test_done
