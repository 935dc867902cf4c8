"""forking_server.py -- the uppercase-echo server on Python's socketserver.ForkingTCPServer.

    python3 forking_server.py [PORT]      (listens on 127.0.0.1, default port 9877)

The peer a student would reach for: the same model as lab04 (one child
process per connection, reaped by the server) from the standard library.
Two defaults are raised so that the bench compares the cost of the model,
not a setting: the listen backlog (5 by default, which makes clients wait
for SYN retransmissions under load) and max_children (40 by default, beyond
which the server stops accepting until a child exits).
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


def parse_port(argv):
    if len(argv) > 2:
        sys.exit("usage: forking_server.py [PORT]")
    if len(argv) == 1:
        return DEFAULT_PORT
    if not argv[1].isdigit() or not 1 <= int(argv[1]) <= 65535:
        print(f"forking_server.py: the port is a number from 1 to 65535, not {argv[1]!r}",
              file=sys.stderr)
        sys.exit(2)
    return int(argv[1])


def main():
    port = parse_port(sys.argv)
    with Server(("127.0.0.1", port), UppercaseHandler) as server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
