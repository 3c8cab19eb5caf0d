// medusa-transcript: replays and checks transcripts (see transcript/transcript.h for the format).
//
//   medusa-transcript replay --target 127.0.0.1:8080 test/transcripts/
//   medusa-transcript check ../shared/transcripts/medusa/
//   medusa-transcript record --listen 8081 --target 127.0.0.1:8080 --out recorded/
//
// Each verb is one entry in the verb table below; a new verb (the recording proxy, say) is one
// function and one row.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "asyncore/socket_map.h"
#include "transcript/client.h"
#include "transcript/record.h"
#include "transcript/suite.h"
#include "transcript/transcript.h"

namespace {

using namespace medusa::transcript;

constexpr int exit_usage = 2;

// A usage error: the message is printed with a pointer to --help, and the tool exits 2.
struct usage_error {
    std::string message;
};

// Walks a verb's arguments: options (also as --name=value), then positional arguments.
class arguments {
public:
    explicit arguments(std::span<char*> args) : args_(args.begin(), args.end()) {}

    bool done() const { return at_ >= args_.size(); }
    std::string_view peek() const { return args_[at_]; }
    bool is_option() const { return !done() && peek().size() > 1 && peek().front() == '-'; }

    // The option's name ("--timeout" of "--timeout=3").
    std::string_view option() {
        std::string_view a = args_[at_++];
        std::size_t eq = a.find('=');
        if (eq != std::string_view::npos && a.starts_with("--")) {
            inline_value_ = a.substr(eq + 1);
            return a.substr(0, eq);
        }
        inline_value_.reset();
        return a;
    }
    std::string value(std::string_view name) {
        if (inline_value_) {
            std::string v(*inline_value_);
            inline_value_.reset();
            return v;
        }
        if (done()) throw usage_error{fmt::format("{} needs a value", name)};
        return std::string(args_[at_++]);
    }
    void no_value(std::string_view name) const {
        if (inline_value_) throw usage_error{fmt::format("{} takes no value", name)};
    }
    std::string positional() { return std::string(args_[at_++]); }

private:
    std::vector<std::string_view> args_;
    std::size_t at_ = 0;
    std::optional<std::string_view> inline_value_;
};

std::chrono::milliseconds parse_seconds(std::string_view name, const std::string& text) {
    double s = 0;
    std::size_t used = 0;
    try {
        s = std::stod(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || s < 0 || s > 3600) {
        throw usage_error{fmt::format("{} wants a number of seconds (0 to 3600), not '{}'", name, text)};
    }
    return std::chrono::milliseconds(static_cast<long long>(s * 1000 + 0.5));
}

int parse_count(std::string_view name, const std::string& text) {
    int n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || n < 1 || n > 256) {
        throw usage_error{fmt::format("{} wants a number from 1 to 256, not '{}'", name, text)};
    }
    return n;
}

// ---- replay ----------------------------------------------------------------------------------

constexpr std::string_view replay_help = R"help(usage: medusa-transcript replay --target HOST:PORT [options] PATH...

Replays each transcript against the server at HOST:PORT (IPv4, [IPv6] or a name) and compares what
it sends back. PATH is a .transcript file or a directory (its *.transcript files, sorted). Prints
"PASS name", "FAIL name: turn N: why" with a unified diff, or "SKIP name (fixed: reason)" per case,
in input order, then "N passed, M failed" as the last line. Exits 0 only when nothing failed.

options:
  --target HOST:PORT   the server to replay against (required)
  --fixture NAME       run only cases whose fixture is NAME (repeatable; a case without
                       "@ fixture" is docroot)
  --expect-diff FILE   skip the cases listed in FILE ("NAME  reason" lines, # comments): recorded
                       behaviour the port deliberately changes. Names are case names (file
                       names without .transcript), so replay corrected copies of the same
                       name in a separate run
  --strict             compare chunked framing too, not only the de-chunked body
  --timeout S          seconds to wait for each expected reply and for connecting (default 5)
  --close-wait S       seconds to wait for end-of-file where a reply ends in <close> (default 1)
  --grace S            seconds a connection must stay open and quiet after the last reply of a
                       case without <close> (default 0.2)
  --jobs N             replay N cases at once (default 1); output stays in input order
  --junit FILE         also write a JUnit XML report to FILE
  --help               this text
)help";

int run_replay(arguments& args) {
    suite_options o;
    std::string target, junit, expect_diff;
    std::vector<std::string> paths;
    while (!args.done()) {
        if (!args.is_option()) {
            paths.push_back(args.positional());
            continue;
        }
        std::string_view name = args.option();
        if (name == "--help" || name == "-h") {
            fmt::print("{}", replay_help);
            return 0;
        } else if (name == "--target") {
            target = args.value(name);
        } else if (name == "--fixture") {
            o.fixtures.push_back(args.value(name));
        } else if (name == "--expect-diff") {
            expect_diff = args.value(name);
        } else if (name == "--strict") {
            args.no_value(name);
            o.replay.strict = true;
        } else if (name == "--timeout") {
            o.replay.timeout = parse_seconds(name, args.value(name));
        } else if (name == "--close-wait") {
            o.replay.close_wait = parse_seconds(name, args.value(name));
        } else if (name == "--grace") {
            o.replay.grace = parse_seconds(name, args.value(name));
        } else if (name == "--jobs" || name == "-j") {
            o.jobs = parse_count(name, args.value(name));
        } else if (name == "--junit") {
            junit = args.value(name);
        } else {
            throw usage_error{fmt::format("unknown option {}", name)};
        }
    }
    if (target.empty()) throw usage_error{"--target HOST:PORT is required"};
    if (paths.empty()) throw usage_error{"no transcript PATH given"};
    std::string error;
    if (!parse_target(target, o.replay.host, o.replay.port, error)) throw usage_error{error};

    std::vector<std::string> files;
    try {
        files = collect_files(paths);
        if (!expect_diff.empty()) o.skips = read_skip_list(expect_diff);
    } catch (const std::exception& e) {
        fmt::print(stderr, "medusa-transcript replay: {}\n", e.what());
        return exit_usage;
    }
    // A name in the skip list that matches no case is a typo that would silently skip nothing.
    for (const auto& [name, reason] : o.skips) {
        bool known = false;
        for (const auto& f : files) known = known || case_name(f) == name;
        if (!known) fmt::print(stderr, "note: {} names no case given: {}\n", expect_diff, name);
    }

    std::size_t passed = 0, failed = 0;
    auto results = run_suite(files, o, [&](const case_result& r) {
        passed += r.outcome == verdict::pass;
        failed += r.outcome == verdict::fail;
        fmt::print("{}", r.report());
        std::fflush(stdout);
    });
    if (!junit.empty()) {
        std::ofstream out(junit, std::ios::binary);
        out << junit_xml(results, "medusa-transcript");
        if (!out) {
            fmt::print(stderr, "medusa-transcript replay: cannot write {}\n", junit);
            ++failed;
        }
    }
    fmt::print("{} passed, {} failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

// ---- check -----------------------------------------------------------------------------------

constexpr std::string_view check_help = R"help(usage: medusa-transcript check PATH...

Parses each transcript (a file, or the *.transcript files of a directory) and reports every problem
as FILE:LINE: message: bad escapes, unknown line prefixes, unknown metadata keys, metadata after the
first step, an HTTP expectation before any request, responses whose framing does not add up (a
Content-Length that disagrees with the body), text an editor could damage (a trailing space).
Ends with "N files ok, M with problems"; exits 1 when any file has a problem.

options:
  --help   this text
)help";

int run_check(arguments& args) {
    std::vector<std::string> paths;
    while (!args.done()) {
        if (!args.is_option()) {
            paths.push_back(args.positional());
            continue;
        }
        std::string_view name = args.option();
        if (name == "--help" || name == "-h") {
            fmt::print("{}", check_help);
            return 0;
        }
        throw usage_error{fmt::format("unknown option {}", name)};
    }
    if (paths.empty()) throw usage_error{"no transcript PATH given"};
    std::vector<std::string> files;
    try {
        files = collect_files(paths);
    } catch (const std::exception& e) {
        fmt::print(stderr, "medusa-transcript check: {}\n", e.what());
        return exit_usage;
    }
    std::size_t ok = 0, bad = 0;
    for (const auto& file : files) {
        std::ifstream in(file, std::ios::binary);
        if (!in) {
            fmt::print("{}: cannot read: {}\n", file, std::generic_category().message(errno));
            ++bad;
            continue;
        }
        std::ostringstream text;
        text << in.rdbuf();
        auto problems = lint(text.str(), file);
        for (const auto& p : problems) fmt::print("{}\n", p.to_string());
        ++(problems.empty() ? ok : bad);
    }
    fmt::print("{} files ok, {} with problems\n", ok, bad);
    return bad == 0 ? 0 : 1;
}

// ---- record ----------------------------------------------------------------------------------

constexpr std::string_view record_help = R"help(usage: medusa-transcript record --listen [HOST:]PORT --target HOST:PORT --out DIR [options]

A recording proxy: clients connect to the listening port instead of the server; every byte is passed
through unchanged in both directions, and every connection becomes one NAME.transcript in DIR when
it ends. Client writes that follow each other within the pause threshold become one `>` run; longer
client pauses become `~ N`. With --protocol http the values of volatile headers (Date,
Last-Modified, Expires, Server, ETag and every --mask header) are written as {*}. A transcript ends
in <close> when the server closed the connection, not when the client did. A connection that
carries no bytes writes no file.

Prints "listening on HOST:PORT" once ready, then "wrote PATH" for each transcript. Runs until
SIGINT or SIGTERM (then ends every open connection and writes its transcript), or until
--max-connections connections have ended.

options:
  --listen [HOST:]PORT   where to accept clients (HOST a numeric address, default 127.0.0.1;
                         port 0 picks a free port) (required)
  --target HOST:PORT     the server to record (required)
  --out DIR              where the transcripts go (created if missing) (required)
  --fixture NAME         the "@ fixture" of the transcripts (default docroot)
  --mask HEADER          also write this header's value as {*} (repeatable; http only)
  --pause-threshold MS   client pauses longer than this become "~ N" lines (default 50)
  --protocol http|raw    how replies are compared when replayed (default http)
  --name PREFIX          name the files PREFIX-0001, PREFIX-0002... in connection order (default:
                         from the first request line for http, e.g. get_index_html; else
                         session-0001...; a name already taken gets _2, _3...)
  --max-connections N    stop accepting after N connections; exit once they have all ended
  --help                 this text
)help";

std::atomic<bool> record_interrupted{false};

extern "C" void record_on_signal(int) { record_interrupted = true; }

// A host name or numeric address and a port, resolved to the first address getaddrinfo gives.
medusa::address resolve(const std::string& host, const std::string& port) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    if (rc != 0 || !found) throw usage_error{fmt::format("cannot resolve {}:{}: {}", host, port, ::gai_strerror(rc))};
    medusa::address a = medusa::address::from_sockaddr(found->ai_addr, found->ai_addrlen);
    ::freeaddrinfo(found);
    return a;
}

int run_record(arguments& args) {
    record_options o;
    std::string listen, target;
    bool out_given = false;
    while (!args.done()) {
        std::string_view name = args.option();
        if (name == "--help" || name == "-h") {
            fmt::print("{}", record_help);
            return 0;
        } else if (name == "--listen") {
            listen = args.value(name);
        } else if (name == "--target") {
            target = args.value(name);
        } else if (name == "--out") {
            o.out_dir = args.value(name);
            out_given = true;
        } else if (name == "--fixture") {
            o.fixture = args.value(name);
        } else if (name == "--mask") {
            o.mask.push_back(args.value(name));
        } else if (name == "--pause-threshold") {
            std::string v = args.value(name);
            int ms = -1;
            auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), ms);
            if (ec != std::errc() || end != v.data() + v.size() || ms < 0 || ms > 3600000)
                throw usage_error{fmt::format("{} wants milliseconds (0 to 3600000), not '{}'", name, v)};
            o.pause_threshold = std::chrono::milliseconds(ms);
        } else if (name == "--protocol") {
            std::string v = args.value(name);
            if (v == "http")
                o.protocol = protocol_kind::http;
            else if (v == "raw")
                o.protocol = protocol_kind::raw;
            else
                throw usage_error{fmt::format("--protocol is http or raw, not '{}'", v)};
        } else if (name == "--name") {
            o.name_prefix = args.value(name);
            if (o.name_prefix.find('/') != std::string::npos)
                throw usage_error{fmt::format("--name is a file name prefix, not a path: '{}'", o.name_prefix)};
        } else if (name == "--max-connections") {
            std::string v = args.value(name);
            long n = 0;
            auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
            if (ec != std::errc() || end != v.data() + v.size() || n < 1)
                throw usage_error{fmt::format("{} wants a positive number, not '{}'", name, v)};
            o.max_connections = n;
        } else {
            throw usage_error{fmt::format("unexpected argument {}", name)};
        }
    }
    if (listen.empty()) throw usage_error{"--listen [HOST:]PORT is required"};
    if (target.empty()) throw usage_error{"--target HOST:PORT is required"};
    if (!out_given) throw usage_error{"--out DIR is required"};
    std::string host, port, error;
    if (!parse_target(target, host, port, error)) throw usage_error{error};
    o.target = resolve(host, port);
    std::string listen_host = "127.0.0.1", listen_port = listen;
    if (listen.find(':') != std::string::npos && !parse_target(listen, listen_host, listen_port, error))
        throw usage_error{error};
    medusa::address where = resolve(listen_host, listen_port);
    std::filesystem::create_directories(o.out_dir);

    medusa::socket_map map;
    auto rec = medusa::make<recorder>(where, o, map);
    rec->on_written = [](const std::string& path) {
        fmt::print("wrote {}\n", path);
        std::fflush(stdout);
    };
    struct sigaction sa{};
    sa.sa_handler = record_on_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    fmt::print("listening on {}\n", medusa::address::local_of(rec->fileno()).to_string());
    std::fflush(stdout);
    // The signal handler only sets a flag; the wait is short so that it is seen promptly.
    while (!rec->finished()) {
        if (record_interrupted) rec->stop();
        map.poll_once(std::chrono::milliseconds(100));
    }
    medusa::close_all(map);
    fmt::print("{} transcripts written to {}\n", rec->written().size(), o.out_dir);
    return 0;
}

// ---- free-port (hidden: a helper for test/run_transcripts.sh) ---------------------------------

constexpr std::string_view free_port_help = R"help(usage: medusa-transcript free-port

Prints a TCP port of 127.0.0.1 that is free right now (the kernel's pick for port 0), for scripts
that start a server on a free port.
)help";

int run_free_port(arguments& args) {
    while (!args.done()) {
        std::string_view name = args.option();
        if (name == "--help" || name == "-h") {
            fmt::print("{}", free_port_help);
            return 0;
        }
        throw usage_error{fmt::format("unexpected argument {}", name)};
    }
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket(AF_INET)");
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) < 0) {
        int err = errno;
        ::close(fd);
        throw std::system_error(err, std::generic_category(), "bind(127.0.0.1:0)");
    }
    ::close(fd);
    fmt::print("{}\n", ntohs(sa.sin_port));
    return 0;
}

// ---- the verb table --------------------------------------------------------------------------

struct verb {
    std::string_view name;
    std::string_view summary;
    int (*run)(arguments&);
    bool hidden;
};

constexpr verb verbs[] = {
    {"replay", "replay transcripts against a server and compare its replies", run_replay, false},
    {"check", "parse and lint transcripts", run_check, false},
    {"record", "a proxy that records every connection through it as a transcript", run_record, false},
    {"free-port", "print a free TCP port of 127.0.0.1", run_free_port, true},
};

void print_tool_help() {
    fmt::print("usage: medusa-transcript VERB [options] ARGS...\n\nverbs:\n");
    for (const auto& v : verbs) {
        if (!v.hidden) fmt::print("  {:<8} {}\n", v.name, v.summary);
    }
    fmt::print("\n'medusa-transcript VERB --help' describes a verb.\n");
}

}  // namespace

int main(int argc, char** argv) {
    std::span<char*> all(argv + 1, static_cast<std::size_t>(argc > 0 ? argc - 1 : 0));
    if (all.empty()) {
        print_tool_help();
        return exit_usage;
    }
    std::string_view name = all[0];
    if (name == "--help" || name == "-h" || name == "help") {
        print_tool_help();
        return 0;
    }
    for (const auto& v : verbs) {
        if (v.name != name) continue;
        arguments args(all.subspan(1));
        try {
            return v.run(args);
        } catch (const usage_error& e) {
            fmt::print(stderr, "medusa-transcript {}: {} (see 'medusa-transcript {} --help')\n", name, e.message, name);
            return exit_usage;
        } catch (const std::exception& e) {
            fmt::print(stderr, "medusa-transcript {}: {}\n", name, e.what());
            return 1;
        }
    }
    fmt::print(stderr, "medusa-transcript: unknown verb '{}' (see 'medusa-transcript --help')\n", name);
    return exit_usage;
}
