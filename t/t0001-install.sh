#!/bin/sh
test_description='make install honours PREFIX and DESTDIR'
. "$(dirname "$0")/test-lib.sh"

top=$TEST_DIRECTORY/..

test_expect_success 'install into DESTDIR under PREFIX' '
	make -s -C "$top" install DESTDIR="$PWD/dest" PREFIX=/opt/nucleus >out 2>&1 &&
	test -x dest/opt/nucleus/bin/nucleus-policy &&
	test -x dest/opt/nucleus/bin/nucleus-audit-verify &&
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

test_done
