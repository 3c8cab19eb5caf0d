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

namespace {

constexpr std::size_t max_head = 16 * 1024;
constexpr std::size_t read_size = 16 * 1024;
constexpr std::uintmax_t max_file = 64 * 1024 * 1024;
constexpr unsigned ring_entries = 4096;

[[noreturn]] void fail(const std::string& call, int err = errno) {
    throw std::system_error(err, std::generic_category(), call);
}

// The two replies for one target: one that keeps the connection, one that closes it.
struct reply_pair {
    std::string keep_alive;
    std::string close;
};

reply_pair make_replies(std::string_view status, std::string_view body) {
    auto build = [&](std::string_view connection) {
        std::string r;
        r.append("HTTP/1.1 ").append(status).append("\r\n");
        r.append("Server: bare_uring\r\n");
        r.append("Content-Type: application/octet-stream\r\n");
        r.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
        r.append("Connection: ").append(connection).append("\r\n\r\n");
        r.append(body);
        return r;
    };
    return {build("keep-alive"), build("close")};
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// The value of header `name` in a request head ("" when absent).
std::string_view header_value(std::string_view head, std::string_view name) {
    std::size_t pos = head.find("\r\n");
    while (pos != std::string_view::npos && pos + 2 < head.size()) {
        std::size_t start = pos + 2;
        std::size_t end = head.find("\r\n", start);
        if (end == std::string_view::npos) end = head.size();
        std::string_view line = head.substr(start, end - start);
        std::size_t colon = line.find(':');
        if (colon != std::string_view::npos && iequals(line.substr(0, colon), name)) {
            std::string_view v = line.substr(colon + 1);
            while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
            while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
            return v;
        }
        pos = end;
    }
    return {};
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
        for (const auto& entry : std::filesystem::directory_iterator(root)) {
            if (!entry.is_regular_file() || entry.file_size() > max_file) continue;
            std::ifstream f(entry.path(), std::ios::binary);
            if (!f) fail("open(" + entry.path().string() + ")");
            std::string body((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
            files_.emplace("/" + entry.path().filename().string(), make_replies("200 OK", body));
        }
        not_found_ = make_replies("404 Not Found", "not found\n");
    }

    void listen_on(const std::string& host, int port) {
        std::string where = host + ":" + std::to_string(port);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<std::uint16_t>(port));
        if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
            throw std::invalid_argument("not an IPv4 address: " + host);
        listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (listener_ < 0) fail("socket(AF_INET)");
        int one = 1;
        if (setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
            fail("setsockopt(SO_REUSEADDR)");
        if (bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
            fail("bind(" + where + ")");
        if (listen(listener_, 4096) < 0) fail("listen(" + where + ")");
        socklen_t len = sizeof addr;
        if (getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) < 0)
            fail("getsockname(" + where + ")");
        port_ = ntohs(addr.sin_port);
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
        std::size_t sp1 = head.find(' ');
        std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : head.find(' ', sp1 + 1);
        std::size_t eol = head.find("\r\n");
        std::string_view target, version;
        if (sp2 != std::string_view::npos) {
            target = head.substr(sp1 + 1, sp2 - sp1 - 1);
            version = head.substr(sp2 + 1, (eol == std::string_view::npos ? head.size() : eol) - sp2 - 1);
        }
        target = target.substr(0, target.find('?'));
        std::string_view conn = header_value(head, "connection");
        bool keep = version == "HTTP/1.1" ? !iequals(conn, "close") : iequals(conn, "keep-alive");
        auto f = files_.find(std::string(target));
        const reply_pair& r = f != files_.end() ? f->second : not_found_;
        c.out.push_back(keep ? &r.keep_alive : &r.close);
        if (!keep) c.closing = true;
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
    std::string host = "127.0.0.1";
    int port = -1;
    std::string root;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (i + 1 >= argc) return usage(argv[0]);
        if (a == "--host") host = argv[++i];
        else if (a == "--port") port = std::atoi(argv[++i]);
        else if (a == "--root") root = argv[++i];
        else return usage(argv[0]);
    }
    if (port < 0 || root.empty()) return usage(argv[0]);
    signal(SIGPIPE, SIG_IGN);
    try {
        server s(host, port, root);
        std::cout << "bare_uring listening on " << host << ":" << s.port() << std::endl;
        s.run();
    } catch (const std::exception& e) {
        std::cerr << "bare_uring: " << e.what() << "\n";
        return 1;
    }
}
