"""model.py -- what the bench measures: the cells of load, the description
of a server, and the record of what one server gave (the shapes that
results/NAME.json keeps).  Every other module of the bench reads these."""

from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
LOGS = RESULTS / "logs"

DURATION = 3.0  # seconds of load per server and cell, by default
ROUNDS = 2  # each cell split in this many turns of the servers, by default
REQUEST_SIZE = 64  # bytes per request line, as short as the course note's MAXLINE lines
OP_TIMEOUT = 5.0  # loadgen's deadline for every connect and every reply
SAMPLE_EVERY = 0.5  # seconds between samples of a server's memory (PSS)
COUNT_EVERY = 0.25  # seconds between counts of its processes and zombies
ZOMBIE_LIMIT = 1000  # stop the load on a server that leaves more zombies than this


@dataclass(frozen=True)
class Cell:
    mode: str  # "conn" or "persistent"
    clients: int

    @property
    def key(self):
        return f"{self.mode}-{self.clients}"


CELLS = (Cell("conn", 1), Cell("conn", 8), Cell("conn", 64),
         Cell("persistent", 8), Cell("persistent", 300))

# The overload case (`make bench` only, not the smoke test): 200 clients at
# once, a connection per request, against lab06's server with a cap on its
# children, lab04's without one, and Python's ForkingTCPServer with the same
# cap (its max_children).  What the cap buys: peak children and memory.
OVERLOAD = Cell("conn", 200)
OVERLOAD_CAP = 16
# Children of a connection per request live for milliseconds: count them
# often, and read the PSS whenever their number reaches a new peak, or the
# peak is missed.
OVERLOAD_SAMPLING = (0.02, 0.2, True)


@dataclass
class ServerSpec:
    key: str
    short: str  # for the tables
    label: str  # for the plot
    argv: list  # the port is appended
    model: str  # "fork", "iterative" or "event"
    note: str = ""


@dataclass
class Measured:
    """What one server gave in one run of the bench."""
    spec: ServerSpec
    started: bool = False
    problem: str = ""  # why it is missing or incomplete
    idle: dict = field(default_factory=dict)  # the server at rest: mappings, RSS, PSS
    cells: dict = field(default_factory=dict)  # cell key -> loadgen JSON + samples


def cell_value(measured, key, cell, what="ops_per_s"):
    r = measured[key].cells.get(cell.key) if key in measured else None
    if not r or "skipped" in r or "problem" in r:
        return None
    if what == "p99_ms":
        return r["latency_us"]["p99"] / 1000
    return r[what]


def cpu_per_connection(measured, key, cell):
    """Server CPU us per connection, parent + children, or None."""
    r = measured[key].cells.get(cell.key, {}) if key in measured else {}
    cpu = r.get("cpu_us_per_op")
    return cpu["parent"] + cpu["children"] if cpu and r.get("ops") else None
