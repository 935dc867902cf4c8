"""What to do about each cause the grader names (harness/diagnose.py), in
the words of the labs: their wrappers (Read, Writen, Close), their functions
(open_listener, serve_client) and their programs (./server 6666).

diagnose.py finds the symptom, which is the same in any lab; the advice
names the code a student wrote, so it lives here.  conftest.py hands these
to the harness (diagnose.hints) before any test runs.  Keys are the kinds of
the Diagnosis keys; "crash" is the advice for a signal without its own.
"""

from grader.harness.kit import _N

HINTS = {
    "crash:SIGSEGV": _N("Look at {where}: which pointer there can be null or point outside memory "
                        "the program owns? `gdb ./server`, then `set follow-fork-mode child` (a "
                        "crash in a child is otherwise not seen: gdb follows the parent), `run "
                        "6666`, a client, and `bt` after the crash shows the same place; `make "
                        "SANITIZE=1 test` in the lab folder often names the bad access."),
    "crash:SIGABRT": _N("Look at {where} and what it calls: an assert that fails, an exception "
                        "nobody catches, or memory freed twice. `make SANITIZE=1 test` in the lab "
                        "folder names a heap error where it happens."),
    "crash:SIGFPE": _N("Look at {where}: a division (/ or %) whose divisor can be 0."),
    "crash": _N("Look at {where}. `gdb ./server`, then `set follow-fork-mode child` (gdb follows "
                "the parent otherwise, and a child's crash shows \"No stack.\"), `run 6666`, a "
                "client, and `bt` after the crash shows the same place."),
    "flood": _N("Print one short line per event (a client arrives, a Read, a close) -- never the "
                "data itself, or a line per byte. The same lines again and again mean a loop "
                "that never ends: Read returning 0 (the client closed) must end serve_client's "
                "loop. The grader keeps only the head and the tail of such output."),
    "wrong-port": _N("open_listener(port) must bind the port main got from port_from_args(argc, "
                     "argv), not a fixed number. `./server 6666` hides the mistake: try `./server "
                     "7777` and `ss -ltnp`."),
    "exited-after-listening": _N("After Listen, main loops for ever: Accept a client, serve it, "
                                 "Close its socket, Accept the next. Nothing in that loop returns "
                                 "or exits (a server runs until it is stopped)."),
    "reply-printed": _N("Send the reply on the connection: Writen(connfd, buf, n). printf, "
                        "std::cout or write(1, ...) only show it in the server's terminal."),
    "cpu-burn": _N("Look for a loop that does not block: every pass of the accept loop waits in "
                   "Accept, every pass of serve_client in Read, and Read returning 0 (the client "
                   "closed) ends it. `top` shows the process at 100% CPU; `gdb -p PID`, then `bt`, "
                   "shows the loop."),
    "child-accepted": _N("In the child: Close(listenfd), serve_client, Close(connfd), then "
                         "_exit(0) -- never return from the child's branch into the accept loop."),
    "errno:EINTR": _N("A child's exit interrupts the parent's accept() with SIGCHLD (EINTR): that "
                      "is no error. Install the handler with SA_RESTART, and retry a call that "
                      "fails with EINTR (Accept does: use it, not a raw accept() that exits)."),
    "errno:EBADF": _N("Each process closes the descriptor it no longer needs: the parent "
                      "Close(connfd) after fork(), the child Close(listenfd) first thing. Check "
                      "every Close: the parent must never close listenfd inside the loop."),
    "errno:EMFILE": _N("The parent must Close(connfd) after every fork(): the child has its own "
                       "copy. Without it every client leaves a descriptor behind until Accept "
                       "fails with EMFILE."),
    "errno:ECONNRESET": _N("A client's error ends that connection, never the server: when Read or "
                           "Writen returns -1 in serve_client, log the error and return (no "
                           "perr_exit there); ignore SIGPIPE at start-up."),
    "errno:EAGAIN": _N("A failed fork() ends nothing but that client's connection: log the error, "
                       "Close(connfd) and go back to Accept. perr_exit(\"fork\") ends the service "
                       "for everyone."),
}
