#!/bin/sh
test_description='make install honours PREFIX and DESTDIR'
. "$(dirname "$0")/test-lib.sh"

top=$TEST_DIRECTORY/..

test_expect_success 'install into DESTDIR under PREFIX' '
	make -s -C "$top" install DESTDIR="$PWD/dest" PREFIX=/opt/nucleus >out 2>&1 &&
	test -x dest/opt/nucleus/bin/nucleus-policy &&
	test -x dest/opt/nucleus/bin/nucleus-audit-verify &&
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
