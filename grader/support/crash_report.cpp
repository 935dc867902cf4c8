// crash_report.cpp -- an LD_PRELOAD shim for the grader: what a program did
// that its exit status does not tell.
//
// The grader builds it (g++ -shared -fPIC) into the scratch folder of a run
// and preloads it into every student program it starts (servers, their
// children, clients, unit-test binaries), with FORKLAB_CRASH_DIR naming a
// folder of the test.  Each process appends one-line records to
// FORKLAB_CRASH_DIR/PID.rec:
//
//   crash PID PPID SIGNO FAULT_ADDRESS PC     then   frame ADDRESS (one per frame)
//   caller ADDRESS                                   the return address at the crash: where
//                                                    a call to a bad address came from
//   exe PATH                                         and   PID.maps (its /proc/self/maps)
//   bind PID PPID PORT ERRNO                  a bind() to an IPv4/IPv6 port (ERRNO 0: it worked)
//   listen PID PPID PORT                      a listen() that succeeded, and its port
//   accept PID PPID                           accept() called by a process other than the
//                                             one that called listen() (a child back in
//                                             the accept loop), once per process
//   exit PID PPID STATUS                      exit() or _exit() with a status other than 0
//
// On SIGSEGV, SIGBUS, SIGFPE, SIGABRT and SIGILL the handler writes its
// record with async-signal-safe calls only, then lets the signal kill the
// process as it would have: the exit status, the parent's waitpid() and
// everything else stay as they are.  Without FORKLAB_CRASH_DIR it does nothing.
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <execinfo.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <ucontext.h>
#include <unistd.h>

namespace {

constexpr int kCaught[] = {SIGSEGV, SIGBUS, SIGFPE, SIGABRT, SIGILL};
constexpr int kMaxFrames = 48;

char record_dir[512];
pid_t listener = 0;           // the process that called listen(); children inherit it
bool reported_accept = false; // an accept by another process is recorded once
alignas(16) char alternate_stack[64 * 1024];

// A small line builder that allocates nothing (usable in a signal handler).
struct Line {
    char text[600];
    std::size_t size = 0;

    Line &add(const char *s)
    {
        while (*s != '\0' && size < sizeof text - 1)
            text[size++] = *s++;
        return *this;
    }
    Line &number(unsigned long value, unsigned base = 10)
    {
        char digits[32];
        int n = 0;
        do {
            digits[n++] = "0123456789abcdef"[value % base];
            value /= base;
        } while (value != 0 && n < 32);
        if (base == 16)
            add("0x");
        while (n > 0 && size < sizeof text - 1)
            text[size++] = digits[--n];
        return *this;
    }
    Line &hex(const void *address) { return number(reinterpret_cast<std::uintptr_t>(address), 16); }
};

int open_in_record_dir(const char *suffix)
{
    Line path;
    path.add(record_dir).add("/").number(static_cast<unsigned long>(getpid())).add(suffix);
    path.text[path.size] = '\0';
    return open(path.text, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

void append_record(Line &line)
{
    if (record_dir[0] == '\0')
        return;
    const int saved_errno = errno;
    const int fd = open_in_record_dir(".rec");
    if (fd >= 0) {
        line.add("\n");
        ssize_t ignored = write(fd, line.text, line.size);
        (void)ignored;
        close(fd);
    }
    errno = saved_errno;
}

Line record_head(const char *kind)
{
    Line line;
    line.add(kind).add(" ").number(static_cast<unsigned long>(getpid())).add(" ");
    line.number(static_cast<unsigned long>(getppid()));
    return line;
}

void copy_maps()
{
    const int in = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    const int out = open_in_record_dir(".maps");
    char buf[4096];
    ssize_t n = 0;
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0) {
        ssize_t ignored = write(out, buf, static_cast<std::size_t>(n));
        (void)ignored;
    }
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
}

void *program_counter(void *context)
{
#if defined(__x86_64__)
    return reinterpret_cast<void *>(static_cast<ucontext_t *>(context)->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
    return reinterpret_cast<void *>(static_cast<ucontext_t *>(context)->uc_mcontext.pc);
#else
    (void)context;
    return nullptr;
#endif
}

// The return address at the moment of the crash: at the stack pointer on
// x86-64 right after a call, in the link register on aarch64.  Where a call
// through a null or overwritten pointer came from, which backtrace() cannot
// unwind past (the faulting address has no unwind information).
void *caller_of_crash(void *context)
{
#if defined(__x86_64__)
    const auto *sp = reinterpret_cast<void *const *>(
        static_cast<ucontext_t *>(context)->uc_mcontext.gregs[REG_RSP]);
    return sp != nullptr ? *sp : nullptr;
#elif defined(__aarch64__)
    return reinterpret_cast<void *>(static_cast<ucontext_t *>(context)->uc_mcontext.regs[30]);
#else
    (void)context;
    return nullptr;
#endif
}

void on_fatal_signal(int signo, siginfo_t *info, void *context)
{
    Line head = record_head("crash");
    head.add(" ").number(static_cast<unsigned long>(signo)).add(" ").hex(info->si_addr);
    head.add(" ").hex(program_counter(context));
    append_record(head);

    Line caller;
    caller.add("caller ").hex(caller_of_crash(context));
    append_record(caller);

    Line exe;
    exe.add("exe ");
    const ssize_t n =
        readlink("/proc/self/exe", exe.text + exe.size, sizeof exe.text - exe.size - 2);
    if (n > 0) {
        exe.size += static_cast<std::size_t>(n);
        append_record(exe);
    }
    void *frames[kMaxFrames];
    const int depth = backtrace(frames, kMaxFrames);
    for (int i = 0; i < depth; ++i) {
        Line frame;
        frame.add("frame ").hex(frames[i]);
        append_record(frame);
    }
    copy_maps();

    // The default action, as if this handler had never been there: the
    // signal is blocked while the handler runs, so it is delivered (and
    // kills) as soon as the handler returns.
    signal(signo, SIG_DFL);
    raise(signo);
}

__attribute__((constructor)) void install()
{
    const char *dir = std::getenv("FORKLAB_CRASH_DIR");
    if (dir == nullptr || std::strlen(dir) >= sizeof record_dir)
        return;
    std::strcpy(record_dir, dir);
    // backtrace() loads the unwinder on its first call: not in a handler.
    void *warm_up[2];
    backtrace(warm_up, 2);

    stack_t stack{};
    stack.ss_sp = alternate_stack;
    stack.ss_size = sizeof alternate_stack;
    sigaltstack(&stack, nullptr); // a stack overflow is reported too

    struct sigaction sa {};
    sa.sa_sigaction = on_fatal_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (const int signo : kCaught)
        sigaction(signo, &sa, nullptr);
}

template <typename Function>
Function real(const char *name)
{
    return reinterpret_cast<Function>(dlsym(RTLD_NEXT, name));
}

void record_exit(int status)
{
    if (status == 0)
        return;
    Line line = record_head("exit");
    line.add(" ").number(static_cast<unsigned long>(status & 0xff));
    append_record(line);
}

} // namespace

namespace {

unsigned long port_of(const sockaddr *address)
{
    if (address->sa_family == AF_INET)
        return ntohs(reinterpret_cast<const sockaddr_in *>(address)->sin_port);
    if (address->sa_family == AF_INET6)
        return ntohs(reinterpret_cast<const sockaddr_in6 *>(address)->sin6_port);
    return 0;
}

} // namespace

extern "C" int bind(int fd, const sockaddr *address, socklen_t length)
{
    using BindFunction = int (*)(int, const sockaddr *, socklen_t);
    static const auto real_bind = real<BindFunction>("bind");
    if (real_bind == nullptr) {
        errno = ENOSYS;
        return -1;
    }
    const int result = real_bind(fd, address, length);
    if (address != nullptr && (address->sa_family == AF_INET || address->sa_family == AF_INET6)) {
        const int saved_errno = errno;
        Line line = record_head("bind");
        line.add(" ").number(port_of(address)).add(" ");
        line.number(static_cast<unsigned long>(result == 0 ? 0 : saved_errno));
        append_record(line);
        errno = saved_errno;
    }
    return result;
}

extern "C" int listen(int fd, int backlog)
{
    using ListenFunction = int (*)(int, int);
    static const auto real_listen = real<ListenFunction>("listen");
    if (real_listen == nullptr) {
        errno = ENOSYS;
        return -1;
    }
    const int result = real_listen(fd, backlog);
    if (result == 0) {
        const int saved_errno = errno;
        sockaddr_storage address{};
        socklen_t length = sizeof address;
        unsigned long port = 0;
        if (getsockname(fd, reinterpret_cast<sockaddr *>(&address), &length) == 0)
            port = port_of(reinterpret_cast<const sockaddr *>(&address));
        Line line = record_head("listen");
        line.add(" ").number(port);
        append_record(line);
        listener = getpid();
        errno = saved_errno;
    }
    return result;
}

namespace {

void note_accept()
{
    if (listener == 0 || listener == getpid() || reported_accept)
        return;
    reported_accept = true;
    Line line = record_head("accept");
    append_record(line);
}

} // namespace

extern "C" int accept(int fd, sockaddr *address, socklen_t *length)
{
    using AcceptFunction = int (*)(int, sockaddr *, socklen_t *);
    static const auto real_accept = real<AcceptFunction>("accept");
    if (real_accept == nullptr) {
        errno = ENOSYS;
        return -1;
    }
    note_accept();
    return real_accept(fd, address, length);
}

extern "C" int accept4(int fd, sockaddr *address, socklen_t *length, int flags)
{
    using Accept4Function = int (*)(int, sockaddr *, socklen_t *, int);
    static const auto real_accept4 = real<Accept4Function>("accept4");
    if (real_accept4 == nullptr) {
        errno = ENOSYS;
        return -1;
    }
    note_accept();
    return real_accept4(fd, address, length, flags);
}

extern "C" void exit(int status) noexcept
{
    using ExitFunction = void (*)(int);
    static const auto real_exit = real<ExitFunction>("exit");
    record_exit(status);
    real_exit(status);
    std::abort(); // not reached
}

extern "C" void _exit(int status)
{
    using ExitFunction = void (*)(int);
    static const auto real_exit = real<ExitFunction>("_exit");
    record_exit(status);
    real_exit(status);
    std::abort(); // not reached
}
