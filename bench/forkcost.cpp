// forkcost.cpp -- what one fork() costs, and what makes it dearer.
//
//   forkcost [--touch-mb MB] [--mappings N] [--hugepages] [--iterations N] [--max-seconds S]
//
// Times fork() + _exit() in the child + waitpid() in the parent, over and
// over, in a parent that first makes itself bigger: --touch-mb writes to MB
// megabytes of private memory (so they are resident and the child gets a
// copy-on-write view of every page), --mappings creates N extra memory
// mappings.  fork() does not copy the pages, but it copies the page tables
// and the list of mappings, and exit() tears the child's copies down again:
// the cost grows with both, and that is the cost a fork-per-connection server
// pays for every connection.  --hugepages asks for 2 MB pages, which need a
// 512th of the page-table entries.
//
// Prints one JSON object on stdout: the parent's size, the elapsed time per
// iteration (mean, p50, p99, min) for the whole round trip and for fork()
// alone, as the parent sees it return, and the CPU time per iteration of the
// parent and of the child.  Exit status 2 on bad arguments.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

struct Options {
    long touch_mb = 0;
    long mappings = 0;
    bool hugepages = false;
    long iterations = 2000;
    double max_seconds = 2;
};

[[noreturn]] void usage_error(const std::string &message)
{
    std::fprintf(stderr,
                 "forkcost: %s\n"
                 "usage: forkcost [--touch-mb MB] [--mappings N] [--hugepages] [--iterations N]\n"
                 "                [--max-seconds S]\n",
                 message.c_str());
    std::exit(2);
}

long parse_count(const char *flag, const char *text, long lo, long hi)
{
    char *end = nullptr;
    errno = 0;
    const long value = std::strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < lo || value > hi)
        usage_error(std::string(flag) + " wants an integer from " + std::to_string(lo) + " to " +
                    std::to_string(hi) + ", not '" + text + "'");
    return value;
}

Options parse_options(int argc, char **argv)
{
    Options opt;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (flag == "--hugepages") {
            opt.hugepages = true;
            continue;
        }
        if (i + 1 >= argc)
            usage_error(flag.rfind("--", 0) == 0 ? flag + " needs a value"
                                                 : "unknown argument '" + flag + "'");
        const char *value = argv[++i];
        if (flag == "--touch-mb")
            opt.touch_mb = parse_count("--touch-mb", value, 0, 1 << 20);
        else if (flag == "--mappings")
            opt.mappings = parse_count("--mappings", value, 0, 1 << 20);
        else if (flag == "--iterations")
            opt.iterations = parse_count("--iterations", value, 1, 10000000);
        else if (flag == "--max-seconds")
            opt.max_seconds = static_cast<double>(parse_count("--max-seconds", value, 1, 3600));
        else
            usage_error("unknown option '" + flag + "'");
    }
    return opt;
}

[[noreturn]] void die(const char *what)
{
    std::fprintf(stderr, "forkcost: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

std::int64_t now_ns()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Map mb megabytes of private memory and write to every page, so that all of
// it is resident: untouched pages have no page-table entries to copy.
void grow_resident(long mb, bool hugepages)
{
    if (mb == 0)
        return;
    const std::size_t bytes = static_cast<std::size_t>(mb) << 20;
    void *p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap");
    // Decide the page size ourselves: with transparent huge pages set to
    // "always", the kernel would otherwise pick for us and hide the lesson.
    madvise(p, bytes, hugepages ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    auto *bytes_p = static_cast<volatile char *>(p);
    for (std::size_t off = 0; off < bytes; off += 4096)
        bytes_p[off] = 1;
}

// Add about n mappings: a region of n pages whose every other page is made
// read-only, so that the kernel cannot merge neighbours into one mapping.
void add_mappings(long n)
{
    if (n == 0)
        return;
    const long page = sysconf(_SC_PAGESIZE);
    const std::size_t bytes = static_cast<std::size_t>(n) * static_cast<std::size_t>(page);
    void *p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap");
    auto *base = static_cast<char *>(p);
    for (long i = 0; i < n; ++i)
        base[i * page] = 1;
    for (long i = 1; i < n; i += 2) {
        if (mprotect(base + i * page, static_cast<std::size_t>(page), PROT_READ) < 0)
            die("mprotect (is vm.max_map_count too low?)");
    }
}

// The number of mappings this process has: lines of /proc/self/maps.
long count_mappings()
{
    std::ifstream maps("/proc/self/maps");
    std::string line;
    long n = 0;
    while (std::getline(maps, line))
        ++n;
    return n;
}

// The value of field ("VmRSS:", "AnonHugePages:") in a /proc file of kB
// figures, in megabytes; 0 if absent.
double proc_field_mb(const char *path, const std::string &field)
{
    std::ifstream file(path);
    std::string line;
    while (std::getline(file, line)) {
        if (line.rfind(field, 0) == 0)
            return std::strtod(line.c_str() + field.size(), nullptr) / 1024.0;
    }
    return 0;
}

struct Sample {
    std::int64_t fork_ns;  // until fork() returned in the parent
    std::int64_t total_ns; // until waitpid() returned the child's status
};

// One fork + _exit + waitpid round trip.
Sample fork_once()
{
    const std::int64_t start = now_ns();
    const pid_t pid = fork();
    if (pid == 0)
        _exit(0); // _exit, not exit: no atexit handlers, no stdio flush in the child
    const std::int64_t forked = now_ns();
    if (pid < 0)
        die("fork");
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            die("waitpid");
    }
    return {forked - start, now_ns() - start};
}

// CPU seconds (user + system) of this process, or of its reaped children.
double cpu_seconds(int who)
{
    rusage ru{};
    getrusage(who, &ru);
    const auto seconds = [](const timeval &tv) {
        return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
    };
    return seconds(ru.ru_utime) + seconds(ru.ru_stime);
}

struct Measurement {
    std::vector<Sample> samples;
    double parent_cpu_us = 0; // CPU time per iteration: fork() and waitpid() in the parent
    double child_cpu_us = 0;  // and the child's life, mostly its exit
};

// Round trips until opt.iterations or opt.max_seconds, whichever comes
// first, and at least a few so that the median means something.  The CPU
// time per iteration does not count the time spent waiting for a CPU, so it
// stays put on a busy machine, where the elapsed times grow.
Measurement measure(const Options &opt)
{
    constexpr long kWarmUp = 3;
    constexpr long kAtLeast = 10;
    for (long i = 0; i < kWarmUp; ++i)
        fork_once();
    Measurement m;
    const double parent_before = cpu_seconds(RUSAGE_SELF);
    const double child_before = cpu_seconds(RUSAGE_CHILDREN);
    const std::int64_t stop = now_ns() + static_cast<std::int64_t>(opt.max_seconds * 1e9);
    while (static_cast<long>(m.samples.size()) < opt.iterations &&
           (static_cast<long>(m.samples.size()) < kAtLeast || now_ns() < stop))
        m.samples.push_back(fork_once());
    const auto n = static_cast<double>(m.samples.size());
    m.parent_cpu_us = (cpu_seconds(RUSAGE_SELF) - parent_before) * 1e6 / n;
    m.child_cpu_us = (cpu_seconds(RUSAGE_CHILDREN) - child_before) * 1e6 / n;
    return m;
}

struct Stats {
    double mean_us, p50_us, p99_us, min_us;
};

Stats stats_of(std::vector<std::int64_t> ns)
{
    std::sort(ns.begin(), ns.end());
    double total = 0;
    for (std::int64_t v : ns)
        total += static_cast<double>(v);
    const auto at = [&ns](double q) {
        const auto i = static_cast<std::size_t>(q * static_cast<double>(ns.size() - 1));
        return static_cast<double>(ns[i]) / 1e3;
    };
    return {total / static_cast<double>(ns.size()) / 1e3, at(0.5), at(0.99), at(0.0)};
}

void print_stats(const char *name, const Stats &s, const char *end)
{
    std::printf("\"%s\": {\"mean\": %.1f, \"p50\": %.1f, \"p99\": %.1f, \"min\": %.1f}%s", name,
                s.mean_us, s.p50_us, s.p99_us, s.min_us, end);
}

} // namespace

int main(int argc, char **argv)
{
    const Options opt = parse_options(argc, argv);
    grow_resident(opt.touch_mb, opt.hugepages);
    add_mappings(opt.mappings);
    const Measurement m = measure(opt);
    std::vector<std::int64_t> fork_ns, total_ns;
    for (const Sample &s : m.samples) {
        fork_ns.push_back(s.fork_ns);
        total_ns.push_back(s.total_ns);
    }
    // Whether huge pages were granted is up to the kernel (transparent huge
    // pages may be off): report what the process got.
    std::printf("{\"touch_mb\": %ld, \"hugepages\": %s, \"extra_mappings\": %ld, "
                "\"mappings\": %ld, \"rss_mb\": %.1f, \"anon_huge_mb\": %.1f, "
                "\"iterations\": %zu,\n",
                opt.touch_mb, opt.hugepages ? "true" : "false", opt.mappings, count_mappings(),
                proc_field_mb("/proc/self/status", "VmRSS:"),
                proc_field_mb("/proc/self/smaps_rollup", "AnonHugePages:"), m.samples.size());
    print_stats("round_trip_us", stats_of(total_ns), ",\n");
    print_stats("fork_us", stats_of(fork_ns), ",\n");
    std::printf("\"cpu_us\": {\"parent\": %.1f, \"child\": %.1f, \"total\": %.1f}}\n",
                m.parent_cpu_us, m.child_cpu_us, m.parent_cpu_us + m.child_cpu_us);
    return 0;
}
