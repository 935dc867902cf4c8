"""forking_server.py -- the uppercase-echo server on Python's socketserver.ForkingTCPServer.

    python3 forking_server.py [--max-children N] [PORT]   (on 127.0.0.1, default port 9877)

The peer a student would reach for: the same model as lab04 (one child
process per connection, reaped by the server) from the standard library.
Two defaults are raised so that the bench compares the cost of the model,
not a setting: the listen backlog (5 by default, which makes clients wait
for SYN retransmissions under load) and max_children (40 by default, beyond
which the server stops accepting until a child exits).  --max-children sets
that cap (the bench's overload case).
"""

import socketserver
import sys

DEFAULT_PORT = 9877


class UppercaseHandler(socketserver.BaseRequestHandler):
    """Echo every byte back as it arrives, a-z as A-Z (bytes.upper() touches
    ASCII letters only, as the protocol wants)."""

    def handle(self):
        while True:
            data = self.request.recv(65536)
            if not data:
                return
            self.request.sendall(data.upper())


class Server(socketserver.ForkingTCPServer):
    allow_reuse_address = True
    request_queue_size = 1024
    max_children = 4096


def usage_error(message):
    print(f"forking_server.py: {message}", file=sys.stderr)
    sys.exit(2)


def parse_args(argv):
    """(max_children, port) from [--max-children N] [PORT]."""
    args = argv[1:]
    max_children = Server.max_children
    if args[:1] == ["--max-children"]:
        if len(args) < 2 or not args[1].isdigit() or int(args[1]) < 1:
            usage_error("--max-children takes a whole number of at least 1")
        max_children, args = int(args[1]), args[2:]
    if len(args) > 1 or args[:1] and args[0].startswith("-"):
        usage_error("usage: forking_server.py [--max-children N] [PORT]")
    if not args:
        return max_children, DEFAULT_PORT
    if not args[0].isdigit() or not 1 <= int(args[0]) <= 65535:
        usage_error(f"the port is a number from 1 to 65535, not {args[0]!r}")
    return max_children, int(args[0])


def main():
    max_children, port = parse_args(sys.argv)
    Server.max_children = max_children
    with Server(("127.0.0.1", port), UppercaseHandler) as server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
