// thread_bench_server: the server bench/thread_compare.sh measures. It serves one reply three
// ways, so that what each way costs shows as a ratio of requests per second:
//
//   /inloop   a handler answers in the loop thread (the baseline: no thread at all)
//   /pool     a script on a worker pool (thread/thread_handler.h): the request is queued, a
//             worker runs the script, its output comes back to the loop through the trigger
//   /handoff  a handler that hands the connection to a thread of a second pool
//             (thread/handoff.h), which writes the reply with blocking send() and closes
//
//   thread_bench_server [--host 127.0.0.1] [--port 0] [--threads 4] [--body 128]
//                       [--backend epoll]
//
// The three replies are the same bytes, the Date header's value aside: status line, then
// Content-Type, Content-Length, Server, Date (the order the CGI reply builder gives a script's
// head), `Connection: close` when the connection closes after the reply, and a body of --body
// bytes. The hand-off always closes the connection after its reply, so its reply has
// `Connection: close` whatever the request said; a request with `Connection: close` gets the
// same reply on every route. The script's check (bench/thread_compare.sh) fetches all three and
// compares them before measuring.
//
// No access log. On start it prints one line, "thread_bench_server: http://HOST:PORT/ ...", on
// stdout. SIGINT or SIGTERM stops it the way medusa-demo stops: the loop returns, every channel
// closes, and both pools are shut down (hand-offs in progress are cut) and joined; exit status 0.
//
// It lives in bench/servers/, not bench/: every bench/*.cc is a Google Benchmark binary.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "asyncore/file_dispatcher.h"
#include "asyncore/socket_map.h"
#include "cgi/cgi_reply.h"
#include "cgi/header_scanner.h"
#include "http/handler.h"
#include "http/http_channel.h"
#include "http/http_request.h"
#include "http/http_server.h"
#include "http/logger.h"
#include "thread/handoff.h"
#include "thread/request_queue.h"
#include "thread/thread_handler.h"

namespace {

using namespace medusa;

struct options {
    std::string host = "127.0.0.1";
    unsigned long port = 0;
    unsigned long threads = 4;
    unsigned long body = 128;
    backend loop_backend = backend::epoll;
};

// "0123456789abcdef..." cut to n bytes, ending in a newline.
std::string make_body(size_t n) {
    std::string b;
    b.reserve(n);
    for (size_t i = 0; i < n; ++i) b += "0123456789abcdef"[i % 16];
    if (n > 0) b.back() = '\n';
    return b;
}

// What a script writes: its header block, then the body. The CGI reply builder turns the header
// block into the reply head (Server, Date and Connection added after the script's own headers).
std::string script_output_for(const std::string& body) {
    return fmt::format("Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n{}", body.size(), body);
}

// /inloop: the same head as the script's, built by hand in the loop thread.
class inloop_handler : public http::handler {
public:
    explicit inloop_handler(std::string body) : body_(std::move(body)) {}
    bool match(http::http_request& r) override { return r.split_uri().path == "/inloop"; }
    void handle_request(std::shared_ptr<http::http_request> r) override {
        // The request starts with Server and Date set; put them after ours, in the script's order.
        std::string server(r->get("Server").value_or(""));
        std::string date(r->get("Date").value_or(""));
        r->clear_headers();
        r->set("Content-Type", "text/plain");
        r->set("Content-Length", uint64_t(body_.size()));
        r->set("Server", server);
        r->set("Date", date);
        r->push(body_);
        r->done();  // adds Connection: close when the request asked for it
    }

private:
    std::string body_;
};

// /handoff: the connection leaves the loop; a pool thread writes the reply and closes.
class handoff_handler : public http::handler {
public:
    handoff_handler(thread::worker_pool& pool, std::string body)
        : pool_(pool), output_(script_output_for(body)) {}
    bool match(http::http_request& r) override { return r.split_uri().path == "/handoff"; }
    void handle_request(std::shared_ptr<http::http_request> r) override {
        auto channel = r->channel();
        if (!channel) return;
        // Copied in the loop thread: the request stays there.
        std::string version(r->version());
        std::string server(r->get("Server").value_or(""));
        std::string date(r->get("Date").value_or(""));
        thread::hand_off(channel, pool_,
                         [this, version = std::move(version), server = std::move(server),
                          date = std::move(date)](thread::handed_socket s) {
                             reply(s, version, server, date);
                         });
    }

private:
    // A pool thread: the script's output through the header scanner, as the pool route does,
    // but sent with blocking send()s on the socket this thread owns. One send for head and body.
    void reply(thread::handed_socket& s, std::string_view version, std::string_view server,
               std::string_view date) const {
        std::string out;
        bool pass_body = false;
        cgi::header_scanner scanner(
            [&](const cgi::scan_result& result) {
                cgi::request_info info{.version = version,
                                       .head = false,
                                       .keep_alive = false,  // this thread closes the connection
                                       .server = server,
                                       .date = date};
                cgi::reply rep = cgi::build_reply(result, info);
                pass_body = rep.pass_body;
                out += rep.head;
                out += rep.page;
            },
            [&](std::string_view body) {
                if (pass_body) out.append(body);
            });
        scanner.feed(output_);
        scanner.finish();
        s.send_all(out);
        ::shutdown(s.fd(), SHUT_WR);  // the socket closes with `s`
    }

    thread::worker_pool& pool_;
    const std::string output_;
};

// SIGINT/SIGTERM reach the loop through a self-pipe (as in medusa-demo).
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
        while (read(&b, 1) == 1) map().stop();
    }
};

void install_signal_handlers(socket_map& map) {
    if (::pipe2(signal_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe2(O_NONBLOCK|O_CLOEXEC)");
    make<signal_channel>(signal_pipe[0], map);
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int sig : {SIGINT, SIGTERM})
        if (::sigaction(sig, &sa, nullptr) != 0)
            throw std::system_error(errno, std::generic_category(), fmt::format("sigaction({})", sig));
}

unsigned long parse_number(std::string_view flag, std::string_view s, unsigned long max) {
    unsigned long v = 0;
    if (s.empty() || s.size() > 9) throw std::invalid_argument(fmt::format("{}: bad number '{}'", flag, s));
    for (char c : s) {
        if (c < '0' || c > '9') throw std::invalid_argument(fmt::format("{}: bad number '{}'", flag, s));
        v = v * 10 + unsigned(c - '0');
    }
    if (v > max) throw std::invalid_argument(fmt::format("{}: {} is more than {}", flag, v, max));
    return v;
}

constexpr std::string_view usage =
    "usage: thread_bench_server [--host 127.0.0.1] [--port 0] [--threads 4] [--body 128]\n"
    "                           [--backend select|poll|epoll]\n";

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--help" || a == "-h") {
            fmt::print("{}", usage);
            std::exit(0);
        }
        if (i + 1 >= argc) throw std::invalid_argument(fmt::format("unknown option or missing value: '{}'", a));
        std::string_view v = argv[++i];
        if (a == "--host")
            o.host = v;
        else if (a == "--port")
            o.port = parse_number(a, v, 65535);
        else if (a == "--threads")
            o.threads = std::max(1ul, parse_number(a, v, 1024));
        else if (a == "--body")
            o.body = parse_number(a, v, 64ul << 20);
        else if (a == "--backend")
            o.loop_backend = backend_from_string(v);
        else
            throw std::invalid_argument(fmt::format("unknown option '{}'", a));
    }
    return o;
}

int run(const options& o) {
    socket_map& map = default_map();
    install_signal_handlers(map);
    const std::string body = make_body(o.body);

    // Queues far longer than the benchmark's 50 connections: a 503 would count as an error.
    thread::worker_pool script_pool(o.threads, 4096), handoff_pool(o.threads, 4096);
    auto server = make<http::http_server>(o.host, uint16_t(o.port),
                                          std::make_shared<http::null_logger>(), map);
    auto scripts = std::make_shared<thread::script_handler>(script_pool);
    const std::string output = script_output_for(body);
    scripts->add_module("pool", [&output](const thread::environment&, std::istream&,
                                          thread::script_output& out) { out.write(output); });
    server->install_handler(scripts);
    server->install_handler(std::make_shared<inloop_handler>(body));
    server->install_handler(std::make_shared<handoff_handler>(handoff_pool, body));

    fmt::print("thread_bench_server: http://{}:{}/ routes /inloop /pool /handoff, {} threads per "
               "pool, {}-byte body, backend {}\n",
               o.host, server->port(), o.threads, body.size(), to_string(o.loop_backend));
    std::fflush(stdout);
    loop(std::chrono::duration<double>(30.0), o.loop_backend, map);
    close_all(map);            // the listener too: nothing more is accepted
    script_pool.shutdown();    // workers waiting on a closed channel are released
    handoff_pool.shutdown();   // hand-offs in progress are cut (their sockets shut down)
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse(argc, argv));
    } catch (const std::exception& e) {
        fmt::print(stderr, "thread_bench_server: {}\n{}", e.what(), usage);
        return 2;
    }
}
