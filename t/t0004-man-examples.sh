#!/bin/sh
test_description='every command in the man pages'"'"' EXAMPLES is one its program'"'"'s usage takes'

. "$(dirname "$0")/test-lib.sh"

# How: each EXAMPLES section's literal blocks are read (roff's \e and \-
# undone, lines ending in \e joined); a command is a program's name as a
# word of its own, with the words after it up to a shell operator (|,
# >, <, ;, &), split as the shell would (shlex, nothing run or
# expanded); with -a, those of every literal block of the page.  Its
# usage is what the program itself prints for --help,
# one form a line: the command (node, authority and policy) and the
# options of each form, those taking an argument ([-k keyfile]) and the
# flags ([-jq]).  A command is good when some form of its command takes
# each of its options, as getopt would read them (a cluster of flags,
# an argument joined or in the next word, options among the operands as
# glibc permutes them).  Nothing runs but --help.
test_lazy_prereq PYTHON3 'command -v python3'

man=$TEST_DIRECTORY/../man

cat >check.py <<\PY
import re, shlex, subprocess, sys

PROGS = ["nucleus-node", "nucleus-authority", "nucleus-proxy",
         "nucleus-audit-verify", "nucleus-policy", "nucleus-mcp"]
OPS = {"|", "||", "&", "&&", ";", ">", ">>", "<", "<<", "2>", "("}

def forms(prog):
    out = subprocess.run([prog, "--help"], capture_output=True, text=True,
                         check=True).stdout
    res = []
    for line in out.splitlines():
        words = line.replace("usage:", "").split()
        if not words or words[0] != prog:
            continue
        text = " ".join(words[1:])
        cmd = None
        if words[1:] and re.fullmatch(r"[a-z]+", words[1]):
            cmd = words[1]
        args = set(re.findall(r"\[-([A-Za-z]) [a-z][\w-]*\]", text))
        args |= set(re.findall(r"(?<![\[\w-])-([A-Za-z]) [a-z][\w-]*", text))
        flags = set()
        for cluster in re.findall(r"\[-([A-Za-z]+)\]", text):
            flags |= set(cluster)
        flags |= set(re.findall(r"(?<![\[\w-])-([A-Za-z])(?= \[|$)", text))
        res.append((cmd, args, flags, "--help" in text))
    return res

def commands(page, everywhere):
    text = open(page).read()
    m = re.search(r"^\.Sh EXAMPLES\n(.*?)(?=^\.Sh |\Z)", text, re.S | re.M)
    if everywhere:
        m = re.search(r"(.*)", text, re.S)
    if not m:
        return
    inlit = False
    buf = ""
    for line in m.group(1).splitlines():
        if line.startswith(".Bd -literal"):
            inlit = True
            continue
        if line.startswith(".Ed"):
            inlit = False
            continue
        if not inlit:
            continue
        line = line.replace("\\e", "\\").replace("\\-", "-").replace("\\&", "")
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        yield buf + line
        buf = ""

def check(prog, argv, allforms):
    hasc = any(f[0] is not None for f in allforms)
    cmd = None
    if hasc:
        if not argv:
            return "no command"
        cmd, argv = argv[0], argv[1:]
    mine = [f for f in allforms if f[0] == cmd]
    if not mine:
        return "no command %s in the usage" % cmd
    why = None
    for _, args, flags, _ in mine:
        why = None
        i = 0
        while i < len(argv) and why is None:
            w = argv[i]
            i += 1
            if w == "--":
                break
            if w.startswith("--"):
                if w not in ("--help", "--version") or argv != [w]:
                    why = "%s is not in the usage" % w.split("=")[0]
                continue
            if not w.startswith("-") or w == "-":
                continue
            for j, c in enumerate(w[1:]):
                if c in args:
                    if j == len(w) - 2:
                        i += 1
                    break
                if c not in flags:
                    why = "-%s is not in the usage" % c
                    break
        if why is None:
            return None
    return why

bad = checked = 0
usage = {p: forms(p) for p in PROGS}
everywhere = sys.argv[1] == "-a"
for page in sys.argv[1 + everywhere:]:
    for line in commands(page, everywhere):
        try:
            lex = shlex.shlex(line, posix=True, punctuation_chars=True)
            lex.whitespace_split = True
            lex.commenters = ""
            words = list(lex)
        except ValueError:
            continue
        for k, w in enumerate(words):
            if w not in PROGS:
                continue
            argv = []
            for x in words[k + 1:]:
                if x in OPS or x[0] in "|&;<>":
                    break
                argv.append(x)
            why = check(w, argv, usage[w])
            checked += 1
            if why:
                bad += 1
                print("%s: %s %s: %s" % (page.split("/")[-1], w,
                      " ".join(argv), why))
print("checked %d" % checked)
sys.exit(1 if bad else 0)
PY

test_expect_success PYTHON3 'the checker refuses an option the usage does not have, and a command it does not know' '
	mkdir pages &&
	printf ".Sh EXAMPLES\n.Bd -literal\n\$ nucleus-node call -k a.key --approval t p-1 read x\n# nucleus-authority frob 7\n\$ nucleus-proxy -Z -p f\n.Ed\n" >pages/bad.8 &&
	test_expect_code 1 python3 check.py pages/bad.8 >out &&
	grep -F "nucleus-node call -k a.key --approval t p-1 read x: --approval is not in the usage" out &&
	grep -F "nucleus-authority frob 7: no command frob in the usage" out &&
	grep -F "nucleus-proxy -Z -p f: -Z is not in the usage" out &&
	printf ".Sh EXAMPLES\n.Bd -literal\n\$ nucleus-node call -jk a.key p-1 run \"\$args\" | jq .\n# nucleus-proxy -I -v 1024\n17 * * * * nucleus-audit-verify -q \\\\e\n    -k k -s s *.log\n.Ed\n" >pages/good.8 &&
	python3 check.py pages/good.8 >out &&
	grep -Fx "checked 3" out
'

test_expect_success PYTHON3 'every command of every page'"'"'s EXAMPLES is one its program'"'"'s usage takes' '
	test_when_failed "cat out >&2" &&
	python3 check.py "$man"/*.[1-8] >out &&
	n=$(sed -n "s/^checked //p" out) &&
	test "$n" -ge 20
'

test_expect_success PYTHON3 'and every command in the pages'"'"' other literal blocks' '
	test_when_failed "cat out >&2" &&
	python3 check.py -a "$man"/*.[1-8] >out &&
	n=$(sed -n "s/^checked //p" out) &&
	test "$n" -ge 25
'

test_done
