// bare_uring: bare_epoll's job done through io_uring, to show what the kernel interface costs.
//
// The same least-possible HTTP/1.1 file server as bare_epoll (read a request head, find its blank
// line, queue a reply built in memory at start-up; keep-alive and pipelining as there), but every
// accept, recv and send is an io_uring operation: one io_uring_enter(2) per pass of the loop
// submits the sends and recvs of every connection that pass handled and waits for the next
// completions, where the epoll loop makes a recv and a send system call per request and an
// epoll_wait per pass. On a machine where a system call is expensive (this project's VM: about
// 1.1 µs for getppid, page-table isolation) that is the one saving left below the bare epoll loop,
// and bench/cpu_compare.sh measures it beside medusa-demo, bare_epoll and lighttpd.
//
//   bare_uring --port 8080 [--host 127.0.0.1] --root DIR
//
// Bodies are sent from memory (no sendfile: a send with MSG_WAITALL completes when all of it has
// gone), so it is a ceiling for small replies only. One recv and at most one send are in flight
// per connection; a connection's state lives until the last of its operations has completed,
// since the kernel may still hold them after the descriptor is closed.
//
// Plain C++, the C library and liburing: a yardstick shares no code with what it measures.
#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>

#include "bare_http.h"

namespace {

constexpr std::size_t max_head = 16 * 1024;
constexpr std::size_t read_size = 16 * 1024;
constexpr std::uintmax_t max_file = 64 * 1024 * 1024;
constexpr unsigned ring_entries = 4096;

using bare::fail;

// The two replies for one target: one that keeps the connection, one that closes it.
struct reply_pair {
    std::string keep_alive;
    std::string close;
};

reply_pair make_replies(std::string_view status, std::string_view body) {
    auto build = [&](bool keep_alive) {
        return bare::reply_head("bare_uring", status, body.size(), keep_alive).append(body);
    };
    return {build(true), build(false)};
}

// What a completion is for: the operation's kind in the low bits of its user data, the
// connection (8-byte aligned) in the rest.
enum op : std::uint64_t { op_accept = 1, op_recv = 2, op_send = 3 };

struct connection {
    int fd;
    char buf[read_size];
    std::string in;                      // bytes read, not yet a whole request head
    std::deque<const std::string*> out;  // replies to send, front first
    bool sending = false;                // a send is in flight (of out.front())
    bool receiving = false;              // a recv is in flight
    bool closing = false;                // no more requests: close once the replies have gone
    bool closed = false;                 // the descriptor is closed; freed when nothing is in flight
};

class server {
public:
    server(const std::string& host, int port, const std::filesystem::path& root) {
        load(root);
        listen_on(host, port);
        io_uring_params p{};
        // One thread submits and reaps, and completions are handled only when it asks: the
        // kernel need not interrupt the loop to run them.
        p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
        int r = io_uring_queue_init_params(ring_entries, &ring_, &p);
        if (r < 0) {
            p = io_uring_params{};
            r = io_uring_queue_init_params(ring_entries, &ring_, &p);
        }
        if (r < 0) fail("io_uring_queue_init", -r);
        arm_accept();
    }

    int port() const { return port_; }

    [[noreturn]] void run() {
        for (;;) {
            int r = io_uring_submit_and_wait(&ring_, 1);
            if (r < 0 && r != -EINTR) fail("io_uring_submit_and_wait", -r);
            io_uring_cqe* cqe;
            unsigned head, seen = 0;
            io_uring_for_each_cqe(&ring_, head, cqe) {
                ++seen;
                complete(cqe->user_data, cqe->res, cqe->flags);
            }
            io_uring_cq_advance(&ring_, seen);
        }
    }

private:
    void load(const std::filesystem::path& root) {
        bare::for_each_file(root, max_file, [&](const std::string& target, const std::string& body) {
            files_.emplace(target, make_replies("200 OK", body));
        });
        not_found_ = make_replies("404 Not Found", "not found\n");
    }

    void listen_on(const std::string& host, int port) {
        listener_ = bare::listen_tcp(host, port, SOCK_CLOEXEC, port_);
    }

    io_uring_sqe* sqe() {
        io_uring_sqe* s = io_uring_get_sqe(&ring_);
        if (s == nullptr) {  // the submission queue is full: hand it to the kernel, take a slot
            io_uring_submit(&ring_);
            s = io_uring_get_sqe(&ring_);
            if (s == nullptr) fail("io_uring_get_sqe", EBUSY);
        }
        return s;
    }

    static std::uint64_t tag(op kind, connection* c) {
        return reinterpret_cast<std::uintptr_t>(c) | kind;
    }

    void arm_accept() {
        io_uring_sqe* s = sqe();
        io_uring_prep_multishot_accept(s, listener_, nullptr, nullptr, SOCK_CLOEXEC);
        io_uring_sqe_set_data64(s, op_accept);
    }

    void arm_recv(connection& c) {
        io_uring_sqe* s = sqe();
        io_uring_prep_recv(s, c.fd, c.buf, sizeof c.buf, 0);
        io_uring_sqe_set_data64(s, tag(op_recv, &c));
        c.receiving = true;
    }

    void send_next(connection& c) {
        if (c.sending || c.out.empty() || c.closed) return;
        const std::string& r = *c.out.front();
        io_uring_sqe* s = sqe();
        // MSG_WAITALL: the operation completes when all of it has gone (or the peer has).
        io_uring_prep_send(s, c.fd, r.data(), r.size(), MSG_NOSIGNAL | MSG_WAITALL);
        io_uring_sqe_set_data64(s, tag(op_send, &c));
        c.sending = true;
    }

    void complete(std::uint64_t data, int res, unsigned flags) {
        auto kind = static_cast<op>(data & 7);
        if (kind == op_accept) {
            if (res >= 0) open_connection(res);
            if (!(flags & IORING_CQE_F_MORE)) arm_accept();  // the multishot accept ended
            return;
        }
        auto* c = reinterpret_cast<connection*>(data & ~std::uint64_t(7));
        if (kind == op_recv) {
            c->receiving = false;
            if (res <= 0 || c->closed) {
                shut(*c);  // EOF, reset, or a recv that ended because we closed
            } else {
                on_data(*c, static_cast<std::size_t>(res));
            }
        } else {
            c->sending = false;
            if (res < 0 || c->closed) {
                shut(*c);
            } else {
                c->out.pop_front();
                if (c->out.empty() && c->closing) {
                    shut(*c);
                } else {
                    send_next(*c);
                }
            }
        }
        if (c->closed && !c->sending && !c->receiving) conns_.erase(c);
    }

    void open_connection(int fd) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto c = std::make_unique<connection>();
        c->fd = fd;
        connection* raw = c.get();
        conns_.emplace(raw, std::move(c));
        arm_recv(*raw);
    }

    void on_data(connection& c, std::size_t n) {
        c.in.append(c.buf, n);
        std::size_t start = 0;
        while (!c.closing) {
            std::size_t end = c.in.find("\r\n\r\n", start);
            if (end == std::string::npos) break;
            queue_reply(c, std::string_view(c.in).substr(start, end - start));
            start = end + 4;
        }
        c.in.erase(0, start);
        if (c.in.size() > max_head) {
            shut(c);
            return;
        }
        send_next(c);
        if (!c.closing) arm_recv(c);
    }

    void queue_reply(connection& c, std::string_view head) {
        bare::request req = bare::read_request(head);
        c.out.push_back(&bare::pick_reply(files_, not_found_, req));
        if (!req.keep_alive) c.closing = true;
    }

    // Close the descriptor (once). Operations still in flight end with an error or 0, and the
    // connection is freed when the last of them has completed.
    void shut(connection& c) {
        if (c.closed) return;
        c.closed = true;
        // shutdown() first: a recv in flight then completes (with 0) instead of waiting forever.
        shutdown(c.fd, SHUT_RDWR);
        close(c.fd);
    }

    io_uring ring_{};
    int listener_ = -1;
    int port_ = 0;
    std::unordered_map<std::string, reply_pair> files_;
    reply_pair not_found_;
    std::unordered_map<connection*, std::unique_ptr<connection>> conns_;
};

int usage(const char* argv0) {
    std::cerr << "usage: " << argv0 << " --port PORT [--host 127.0.0.1] --root DIR\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    bare::options o;
    if (!bare::parse_options(argc, argv, false, o)) return usage(argv[0]);
    signal(SIGPIPE, SIG_IGN);
    try {
        server s(o.host, o.port, o.root);
        std::cout << "bare_uring listening on " << o.host << ":" << s.port() << std::endl;
        s.run();
    } catch (const std::exception& e) {
        std::cerr << "bare_uring: " << e.what() << "\n";
        return 1;
    }
}
