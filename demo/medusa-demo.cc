// medusa-demo: the framework's parts in one server, as medusa's demo/start_medusa.py put them
// together. `make run` starts it with everything on:
//
//   http://HOST:PORT/              the default handler over DIR (default: the demo's own docroot,
//                                  demo/docroot in the source tree)
//   http://HOST:PORT/status        the status pages (status_handler.h), with every part below
//   http://HOST:PORT/echo, /pi     two script modules on --threads N worker threads (default 2),
//   http://HOST:PORT/handoff       and a socket handed to a worker (demo/thread_modules.h)
//   http://HOST:PORT/cgi-bin/NAME  the CGI/1.1 scripts of --cgi-bin DIR (default demo/cgi-bin)
//   HOST:CHAT_PORT                 medusa's chat server (demo/chat.h), in the same loop
//
//   medusa-demo [--host 127.0.0.1] [--port 8080] [--root DIR] [--backend select|poll|epoll|uring]
//               [--threads 2] [--cgi-bin DIR] [--chat-port 8888] [--fixture docroot|cgi]
//               [--header-timeout SECONDS] [--zombie-timeout SECONDS] [--no-log]
//
// `--threads 0` and `--chat-port 0` leave those parts out; `--fixture cgi` adds the transcripts'
// script module at /cgi (demo/cgi_fixture.h). It prints one line per part as it starts, then logs
// each request in medusa's format on stdout (buffered, flushed at least every 0.2 s; --no-log
// turns it off), with the chat server's lines among them. SIGINT or SIGTERM stops the loop and
// closes every channel (exit status 0).
//
// The default chat port (medusa's CHAT_PORT) may be taken, say by a second demo: the demo then
// runs without chat and says so; a --chat-port given explicitly that cannot be bound is an error.
//
// To add a flag or a handler: add a field to `options` and its parsing to `flags`, and/or an
// entry to `installers` (each gets the server, the options and the status page, and returns the
// line that says where it is).
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "asyncore/file_dispatcher.h"
#include "asyncore/socket_map.h"
#include "cgi/cgi_handler.h"
#include "demo/cgi_fixture.h"
#include "demo/chat.h"
#include "demo/thread_modules.h"
#include "http/default_handler.h"
#include "http/filesys.h"
#include "http/http_server.h"
#include "http/logger.h"
#include "http/status_handler.h"
#include "thread/request_queue.h"
#include "thread/thread_handler.h"

namespace {

using namespace medusa;
using namespace medusa::http;

struct options {
    std::string host = "127.0.0.1";
    uint16_t port = 8080;
    std::string root;  // empty: the embedded docroot
    backend loop_backend = backend::epoll;
    std::string cgi_bin;  // empty: the demo's demo/cgi-bin
    long header_timeout = -1;  // seconds; -1: the server's default
    long zombie_timeout = -1;  // seconds; -1: the server's default
    std::string fixture = "docroot";  // "cgi": also the transcripts' script module at /cgi
    size_t threads = 2;               // > 0: the thread modules (/echo, /pi, /handoff)
    uint16_t chat_port = 8888;        // start_medusa.py's CHAT_PORT; 0: no chat server
    bool chat_port_given = false;     // a port given, not the default: failing to bind is an error
    bool log = true;                  // --no-log: no access log (for benchmarks)
};

// Worker pools of the installed script handlers. They are shut down after the loop has closed
// every channel: a worker blocked on a slow client (trigger_file back-pressure) is then released.
std::vector<std::unique_ptr<medusa::thread::worker_pool>> pools;

medusa::thread::worker_pool& new_pool(size_t threads) {
    pools.push_back(std::make_unique<medusa::thread::worker_pool>(threads, 64));
    return *pools.back();
}

struct flag {
    std::string_view name;
    std::string_view arg;   // "" for a flag without a value
    std::string_view help;  // "\n" starts a continuation line
    std::function<void(options&, std::string_view)> apply;
};

uint16_t parse_port(std::string_view s) {
    unsigned long v = 0;
    if (s.empty() || s.size() > 5) throw std::invalid_argument(fmt::format("bad port '{}'", s));
    for (char c : s) {
        if (c < '0' || c > '9') throw std::invalid_argument(fmt::format("bad port '{}'", s));
        v = v * 10 + unsigned(c - '0');
    }
    if (v > 65535) throw std::invalid_argument(fmt::format("bad port '{}'", s));
    return uint16_t(v);
}

long parse_seconds(std::string_view s) {
    long v = 0;
    if (s.empty() || s.size() > 7) throw std::invalid_argument(fmt::format("bad seconds '{}'", s));
    for (char c : s) {
        if (c < '0' || c > '9') throw std::invalid_argument(fmt::format("bad seconds '{}'", s));
        v = v * 10 + (c - '0');
    }
    if (v == 0) throw std::invalid_argument(fmt::format("bad seconds '{}'", s));
    return v;
}

size_t parse_threads(std::string_view s) {
    size_t v = 0;
    if (s.empty() || s.size() > 3) throw std::invalid_argument(fmt::format("bad thread count '{}'", s));
    for (char c : s) {
        if (c < '0' || c > '9') throw std::invalid_argument(fmt::format("bad thread count '{}'", s));
        v = v * 10 + size_t(c - '0');
    }
    return v;
}

const std::vector<flag> flags = {
    {"--host", "ADDR", "numeric address to listen on, for HTTP and chat (default 127.0.0.1;\n"
                       ":: for IPv6)",
     [](options& o, std::string_view v) { o.host = v; }},
    {"--port", "PORT", "HTTP port (default 8080; 0 picks a free one)",
     [](options& o, std::string_view v) { o.port = parse_port(v); }},
    {"--root", "DIR", "directory to serve (default: the demo's docroot)",
     [](options& o, std::string_view v) { o.root = v; }},
    {"--backend", "NAME", "event loop backend: select, poll, epoll or uring (default epoll)",
     [](options& o, std::string_view v) { o.loop_backend = backend_from_string(v); }},
    {"--threads", "N", "mount /echo, /pi and /handoff on N worker threads (default 2;\n"
                       "0: not mounted)",
     [](options& o, std::string_view v) { o.threads = parse_threads(v); }},
    {"--cgi-bin", "DIR", "run the CGI scripts of DIR at /cgi-bin/ (default: the demo's cgi-bin)",
     [](options& o, std::string_view v) { o.cgi_bin = v; }},
    {"--chat-port", "PORT", "port of the chat server, on --host (default 8888; 0: no chat server)",
     [](options& o, std::string_view v) {
         o.chat_port = parse_port(v);
         o.chat_port_given = true;
     }},
    {"--fixture", "NAME", "docroot (default) or cgi: also the transcripts' script module at /cgi",
     [](options& o, std::string_view v) {
         if (v != "docroot" && v != "cgi")
             throw std::invalid_argument(fmt::format("unknown fixture '{}'", v));
         o.fixture = v;
     }},
    {"--header-timeout", "SECONDS", "close a connection whose request head takes longer (default 30)",
     [](options& o, std::string_view v) { o.header_timeout = parse_seconds(v); }},
    {"--zombie-timeout", "SECONDS", "close a connection idle this long (default 1800)",
     [](options& o, std::string_view v) { o.zombie_timeout = parse_seconds(v); }},
    {"--no-log", "", "no access log on stdout (on by default; its lines are flushed at least\n"
                     "every 0.2 s)",
     [](options& o, std::string_view) { o.log = false; }},
};

// One line per flag, the help column aligned after the longest "--name ARG".
void usage(FILE* out) {
    auto left_of = [](const flag& f) {
        return f.arg.empty() ? std::string(f.name) : fmt::format("{} {}", f.name, f.arg);
    };
    size_t width = std::string_view("--help").size();
    for (const auto& f : flags) width = std::max(width, left_of(f).size());
    fmt::print(out, "usage: medusa-demo [options]\n\noptions:\n");
    for (const auto& f : flags) {
        std::string_view help = f.help;
        std::string left = left_of(f);
        for (size_t nl; (nl = help.find('\n')) != std::string_view::npos; help.remove_prefix(nl + 1)) {
            fmt::print(out, "  {:<{}}  {}\n", left, width, help.substr(0, nl));
            left.clear();
        }
        fmt::print(out, "  {:<{}}  {}\n", left, width, help);
    }
    fmt::print(out, "  {:<{}}  {}\n", "--help", width, "show this help and exit");
}
// Each installer adds handlers to the server (later ones end up in front: install_handler) and
// their status to the status page, and returns the line that says where they are ("" when the
// options leave them out). `base` is the server's URL, "http://127.0.0.1:8080/".
using installer = std::function<std::string(http_server&, const options&,
                                            const std::shared_ptr<status_extension>&,
                                            const std::string& base)>;

const std::vector<installer> installers = {
    [](http_server& server, const options& o, const std::shared_ptr<status_extension>& status,
       const std::string& base) {
        auto fs = std::make_shared<os_filesystem>(o.root);
        auto files = std::make_shared<default_handler>(fs);
        server.install_handler(files);
        status->add(status_extension::source(files));
        // Scripts read the port from this line ("medusa-demo: http://127.0.0.1:PORT/"): keep it.
        return fmt::format("{} serving {} (backend {})", base, o.root, to_string(o.loop_backend));
    },
    // In front of the default handler, which would answer /status with 404.
    [](http_server& server, const options&, const std::shared_ptr<status_extension>& status,
       const std::string& base) {
        server.install_handler(status);
        return fmt::format("status   {}status", base);
    },
    [](http_server& server, const options& o, const std::shared_ptr<status_extension>& status,
       const std::string& base) {
        if (o.threads == 0) return std::string();
        medusa::demo::install_thread_modules(server, new_pool(o.threads), *status);
        return fmt::format("threads  {0}echo {0}pi {0}handoff ({1} worker thread{2})", base,
                           o.threads, o.threads == 1 ? "" : "s");
    },
    [](http_server& server, const options& o, const std::shared_ptr<status_extension>& status,
       const std::string& base) {
        status->add(status_extension::source(medusa::cgi::install_cgi(server, o.cgi_bin, o.root)));
        return fmt::format("cgi-bin  {}cgi-bin/NAME runs the scripts of {}", base, o.cgi_bin);
    },
    [](http_server& server, const options& o, const std::shared_ptr<status_extension>& status,
       const std::string& base) {
        if (o.fixture != "cgi") return std::string();
        // The fixture: 4 workers, document_root "" (CGI_FIXTURE.md).
        auto scripts = std::make_shared<medusa::thread::script_handler>(new_pool(4));
        scripts->add_module("cgi", medusa::demo::cgi_fixture_main);
        server.install_handler(scripts);
        status->add(status_extension::source(scripts));
        return fmt::format("fixture  {}cgi/NAME the cgi fixture's scripts (4 worker threads)", base);
    },
};

// The chat server on o.chat_port, its lines in the log; null when off. The default port already
// taken (a second demo running, say) leaves chat off with a note in `shown`; a port given
// explicitly must bind.
std::shared_ptr<medusa::demo::chat_server> start_chat(const options& o, socket_map& map,
                                                      const std::shared_ptr<logger>& log,
                                                      const std::string& host_shown,
                                                      std::vector<std::string>& shown) {
    if (o.chat_port == 0) return nullptr;
    std::shared_ptr<medusa::demo::chat_server> chat;
    try {
        chat = make<medusa::demo::chat_server>(o.host, o.chat_port, map);
    } catch (const std::system_error& e) {
        if (o.chat_port_given || e.code() != std::errc::address_in_use) throw;
        shown.push_back(fmt::format("chat     off: {}:{} is in use (--chat-port PORT picks another)",
                                    host_shown, o.chat_port));
        return nullptr;
    }
    chat->say = [log](std::string_view line) { log->log(line); };
    shown.push_back(fmt::format("chat     {0}:{1} (nc {2} {1})", host_shown, chat->port(), o.host));
    return chat;
}

bool is_dir(const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The embedded docroot: demo/docroot of the source tree the program was built in. The binary
// lives at <tree>/build[/sub]/bin/medusa-demo, so look upwards from it; then from the working
// directory.
std::string find_docroot() {
    char exe[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    std::vector<std::string> starts;
    if (n > 0) {
        std::string dir(exe, size_t(n));
        for (int up = 0; up < 6; ++up) {
            size_t slash = dir.rfind('/');
            if (slash == std::string::npos || slash == 0) break;
            dir.resize(slash);
            starts.push_back(dir);
        }
    }
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof cwd)) starts.emplace_back(cwd);
    for (const auto& s : starts) {
        std::string candidate = s + "/demo/docroot";
        if (is_dir(candidate)) return candidate;
    }
    throw std::runtime_error("cannot find demo/docroot; give --root DIR");
}

// SIGINT/SIGTERM reach the loop through a self-pipe: the handler writes the signal's number, a
// channel in the loop reads it and stops the loop, so stopping is ordinary loop work. (A signalfd
// needs the signals blocked in every thread, and a sanitizer runtime starts threads before main.)
int signal_pipe[2] = {-1, -1};

void on_signal(int signo) {
    int saved = errno;
    unsigned char b = static_cast<unsigned char>(signo);
    [[maybe_unused]] ssize_t n = ::write(signal_pipe[1], &b, 1);
    errno = saved;
}

class signal_channel : public file_dispatcher {
public:
    signal_channel(int fd, socket_map& map) : file_dispatcher(fd, map) {}
    bool writable() override { return false; }
    void handle_read() override {
        unsigned char b;
        while (read(&b, 1) == 1) {
            fmt::print("medusa-demo: signal {}, stopping\n", int(b));
            std::fflush(stdout);
            map().stop();
        }
    }
};

void install_signal_handlers(socket_map& map) {
    if (::pipe2(signal_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe2");
    make<signal_channel>(signal_pipe[0], map);
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int sig : {SIGINT, SIGTERM})
        if (::sigaction(sig, &sa, nullptr) != 0)
            throw std::system_error(errno, std::generic_category(), fmt::format("sigaction({})", sig));
}

// The access log on stdout, buffered: one write(2) per request costs more than the rest of a
// small reply. The first line after a flush schedules the next flush 0.1 s later, so a line
// reaches the terminal or pipe within about that (bounded by "at least every 0.2 s" in --help, a
// busy loop pass included), an idle server is never woken, and exit flushes what is left.
class buffered_stdout_logger : public file_logger,
                               public std::enable_shared_from_this<buffered_stdout_logger> {
public:
    explicit buffered_stdout_logger(socket_map& map) : file_logger(stdout, false), map_(map) {}
    void log(std::string_view message) override {
        file_logger::log(message);
        if (flush_pending_) return;
        flush_pending_ = true;
        std::weak_ptr<buffered_stdout_logger> weak = weak_from_this();
        map_.call_later(std::chrono::milliseconds(100), [weak] {
            if (auto self = weak.lock()) {
                self->flush_pending_ = false;
                self->flush();
            }
        });
    }

private:
    socket_map& map_;
    bool flush_pending_ = false;
};

int run(const options& o) {
    socket_map& map = default_map();
    install_signal_handlers(map);

    std::shared_ptr<logger> log;
    if (o.log) {
        log = std::make_shared<buffered_stdout_logger>(map);
    } else {
        log = std::make_shared<null_logger>();
    }
    auto server = make<http_server>(o.host, o.port, log, map);
    if (o.header_timeout > 0) server->header_timeout = std::chrono::seconds(o.header_timeout);
    if (o.zombie_timeout > 0) server->zombie_timeout = std::chrono::seconds(o.zombie_timeout);
    // A short timeout is checked at least twice per period, so it takes effect close to time
    // (the maintenance timer's default 5 s period would let a 2 s header timeout run to 7 s).
    auto shortest = std::min(server->header_timeout, server->zombie_timeout);
    if (shortest < std::chrono::seconds(10)) {
        server->maintenance_interval = std::chrono::duration_cast<std::chrono::milliseconds>(shortest) / 2;
        server->set_maintenance();
    }
    auto status = std::make_shared<status_extension>(
        std::vector<status_extension::status_source>{status_extension::source(server)});

    std::string host_shown = o.host.find(':') != std::string::npos ? fmt::format("[{}]", o.host)
                                                                   : o.host;
    std::string base = fmt::format("http://{}:{}/", host_shown, server->port());
    std::vector<std::string> shown;
    for (const auto& install : installers) {
        std::string where = install(*server, o, status, base);
        if (!where.empty()) shown.push_back(std::move(where));
    }
    auto chat = start_chat(o, map, log, host_shown, shown);
    if (chat) status->add(status_extension::source(chat));
    status->add(status_extension::source(status));

    // Every part is listening before the first line is printed: a script that waits for a line
    // can connect to any of them.
    for (const auto& where : shown) fmt::print("medusa-demo: {}\n", where);
    std::fflush(stdout);
    loop(std::chrono::duration<double>(30.0), o.loop_backend, map);
    close_all(map);
    for (auto& pool : pools) pool->shutdown();
    std::fflush(stdout);  // the access log's last lines
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    // Fully buffered (64 KiB): the access log is flushed by its timer (buffered_stdout_logger),
    // and every other line the demo prints on stdout is followed by an fflush.
    std::setvbuf(stdout, nullptr, _IOFBF, 1 << 16);
    options o;
    try {
        for (int i = 1; i < argc; ++i) {
            std::string_view a = argv[i];
            if (a == "--help" || a == "-h") {
                usage(stdout);
                return 0;
            }
            std::string_view value;
            size_t eq = a.find('=');
            std::string_view name = a.substr(0, eq);
            const flag* found = nullptr;
            for (const auto& f : flags)
                if (f.name == name) found = &f;
            if (!found) throw std::invalid_argument(fmt::format("unknown option '{}'", a));
            if (!found->arg.empty()) {
                if (eq != std::string_view::npos) {
                    value = a.substr(eq + 1);
                } else if (i + 1 < argc) {
                    value = argv[++i];
                } else {
                    throw std::invalid_argument(fmt::format("{} needs a value", name));
                }
            }
            found->apply(o, value);
        }
        if (o.root.empty()) o.root = find_docroot();
        if (o.cgi_bin.empty()) {
            // The demo's scripts sit beside its docroot: <tree>/demo/cgi-bin.
            std::string docroot;
            try {
                docroot = find_docroot();
            } catch (const std::runtime_error&) {
                throw std::runtime_error("cannot find demo/cgi-bin; give --cgi-bin DIR");
            }
            o.cgi_bin = docroot.substr(0, docroot.rfind('/')) + "/cgi-bin";
        }
        return run(o);
    } catch (const std::exception& e) {
        fmt::print(stderr, "medusa-demo: {}\n", e.what());
        if (dynamic_cast<const std::invalid_argument*>(&e)) usage(stderr);
        return 2;
    }
}
