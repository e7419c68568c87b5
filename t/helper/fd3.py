# fd3.py: for the test helpers that stand for a proxy's peer: the
# program of argv started with sock as its descriptor 3 (the others of
# this process closed on exec), its pid returned; this process's copy
# of sock closed.
import os


def spawn(sock, argv):
    pid = os.fork()
    if pid == 0:
        os.dup2(sock.fileno(), 3)
        os.set_inheritable(3, True)
        os.execvp(argv[0], argv)
    sock.close()
    return pid
