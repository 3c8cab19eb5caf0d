// bare_epoll: the ceiling of the load comparison (bench/compare.sh).
//
// A single-threaded epoll loop that does the least an HTTP/1.1 file server can do and still be
// correct for wrk and ab: read a request, find the blank line that ends its head (\r\n\r\n), and
// write a reply that was built in memory at start-up — status line, headers and the whole file.
// No parsing beyond the request target and the Connection header, no stat(), no open(), no
// logging, no allocation per request. Whatever a real server (medusa-demo, nginx, lighttpd) loses
// against it on the same CPU is what its own work costs.
//
//   bare_epoll --port 8080 [--host 127.0.0.1] --root DIR [--sendfile-min BYTES] [--touch-pages N]
//              [--spin N]
//
// Bodies of at least --sendfile-min bytes (default 8 KiB) are kept in a memfd and sent with
// sendfile() after the head, as nginx does with `sendfile on`: for a 1 MiB reply, copying it
// from user memory into the socket cost the server about twice the CPU that handing over
// page-cache pages does (measured: 342 against 174 µs per reply), and a ceiling that pays that
// copy would not be a ceiling. Smaller replies go out in one send() of head and body together,
// which is cheaper than two system calls.
//
// --touch-pages N (an experiment, bench/page_cost.sh; 0 by default): after each read, write one
// byte in each of N distinct 4 KiB pages of an array made at start-up. That is a server's memory
// footprint per request without its instructions: what each page a request touches costs the
// server, on a machine where the TLB is cold after every system call.
//
// --spin N (an experiment, the bare-spin server of bench/compare.sh; 0 by default): before each
// reply is queued, N turns of an empty loop (a compare and a branch each, no memory touched). That
// is a server's own work per request without its footprint: what a microsecond of user time adds
// to the CPU per request measured under load, where a slower server also finds more requests
// waiting at each wake-up.
//
// Every regular file directly inside DIR is loaded at start-up and served as /NAME with the right
// Content-Length, so the same URLs work here and on the real servers; any other target gets a
// fixed 404. HTTP/1.1 keeps the connection open unless the client said "Connection: close";
// HTTP/1.0 (ab without -k) closes after the reply unless the client asked for keep-alive.
//
// Plain C++ and the C library only: it is the yardstick, so it must not share code with the
// thing it measures.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
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
#include <vector>

#include "bare_http.h"

namespace {

// A request head longer than this without its blank line is garbage: drop the connection.
constexpr std::size_t max_head = 16 * 1024;
// Stop reading from a client that pipelines faster than it reads its replies.
constexpr std::size_t max_queued_replies = 64;
// Files larger than this are not preloaded (the comparison's largest is 1 MiB).
constexpr std::uintmax_t max_file = 64 * 1024 * 1024;

using bare::fail;

// One prebuilt reply: `bytes` (the head, and the body too when it is small), then, when
// body_fd >= 0, body_len bytes of the memfd body_fd sent with sendfile().
struct reply {
    std::string bytes;
    int body_fd = -1;
    std::size_t body_len = 0;
    std::size_t size() const { return bytes.size() + body_len; }
};

// The two replies for one target: one that keeps the connection, one that closes it.
struct reply_pair {
    reply keep_alive;
    reply close;
};

// A memfd holding `body`: memory that sendfile() can read from, with no file on disk.
int make_memfd(const std::string& name, std::string_view body) {
    int fd = memfd_create(name.c_str(), MFD_CLOEXEC);
    if (fd < 0) fail("memfd_create(" + name + ")");
    std::size_t done = 0;
    while (done < body.size()) {
        ssize_t n = write(fd, body.data() + done, body.size() - done);
        if (n < 0) fail("write(memfd " + name + ")");
        done += static_cast<std::size_t>(n);
    }
    return fd;
}

reply_pair make_replies(std::string_view status, std::string_view body, int body_fd) {
    auto build = [&](bool keep_alive) {
        reply r;
        r.bytes = bare::reply_head("bare_epoll", status, body.size(), keep_alive);
        if (body_fd >= 0) {
            r.body_fd = body_fd;
            r.body_len = body.size();
        } else {
            r.bytes.append(body);
        }
        return r;
    };
    return {build(true), build(false)};
}

struct connection {
    int fd;
    std::string in;                          // bytes read, not yet a whole request head
    std::deque<const reply*> out;            // replies to send, front first
    std::size_t sent = 0;                    // bytes of out.front() already written
    bool close_after = false;                // the last queued reply ends the connection
    bool want_write = false;                 // EPOLLOUT currently registered
    bool want_read = true;                   // EPOLLIN currently registered
};

class server {
public:
    server(const std::string& host, int port, const std::filesystem::path& root,
           std::size_t sendfile_min, std::size_t touch_pages, std::size_t spin)
        : touch_pages_(touch_pages), touch_(touch_pages * 4096, 0), spin_(spin) {
        load(root, sendfile_min);
        listen_on(host, port);
        ep_ = epoll_create1(EPOLL_CLOEXEC);
        if (ep_ < 0) fail("epoll_create1");
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = listener_;
        if (epoll_ctl(ep_, EPOLL_CTL_ADD, listener_, &ev) < 0) fail("epoll_ctl(ADD listener)");
    }

    int port() const { return port_; }

    [[noreturn]] void run() {
        std::vector<epoll_event> events(256);
        for (;;) {
            int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), -1);
            if (n < 0) {
                if (errno == EINTR) continue;
                fail("epoll_wait");
            }
            for (int i = 0; i < n; ++i) {
                int fd = events[i].data.fd;
                if (fd == listener_) {
                    accept_all();
                    continue;
                }
                // An earlier event in this batch may have closed it (and the fd been reused by an
                // accept in the same batch: then the new connection simply gets a spurious
                // wake-up, which read/write handle as EAGAIN).
                connection* c = lookup(fd);
                if (c == nullptr) continue;
                std::uint32_t e = events[i].events;
                if (e & (EPOLLERR | EPOLLHUP)) {
                    drop(*c);
                    continue;
                }
                if ((e & EPOLLIN) && !on_readable(*c)) continue;
                if (!c->out.empty() && !on_writable(*c)) continue;
                update_interest(*c);
            }
        }
    }

private:
    void load(const std::filesystem::path& root, std::size_t sendfile_min) {
        bare::for_each_file(root, max_file, [&](const std::string& target, const std::string& body) {
            int fd = body.size() >= sendfile_min ? make_memfd(target.substr(1), body) : -1;
            files_.emplace(target, make_replies("200 OK", body, fd));
        });
        not_found_ = make_replies("404 Not Found", "not found\n", -1);
    }

    void listen_on(const std::string& host, int port) {
        listener_ = bare::listen_tcp(host, port, SOCK_NONBLOCK | SOCK_CLOEXEC, port_);
    }

    connection* lookup(int fd) {
        auto i = static_cast<std::size_t>(fd);
        return i < conns_.size() ? conns_[i].get() : nullptr;
    }

    void accept_all() {
        for (;;) {
            int fd = accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
                // Out of descriptors or a connection reset before we took it: keep serving the
                // ones we have; the listener stays readable and we will try again.
                if (errno == EMFILE || errno == ENFILE || errno == ECONNABORTED) return;
                fail("accept4");
            }
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            auto i = static_cast<std::size_t>(fd);
            if (i >= conns_.size()) conns_.resize(i + 1);
            conns_[i] = std::make_unique<connection>();
            conns_[i]->fd = fd;
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.fd = fd;
            if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) < 0) fail("epoll_ctl(ADD client)");
        }
    }

    // Returns false when the connection has been dropped.
    bool on_readable(connection& c) {
        for (std::size_t k = 0; k < touch_pages_; ++k) ++touch_[k * 4096];
        char buf[16 * 1024];
        for (;;) {
            ssize_t n = recv(c.fd, buf, sizeof buf, 0);
            if (n > 0) {
                c.in.append(buf, static_cast<std::size_t>(n));
                if (static_cast<std::size_t>(n) < sizeof buf) break;
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            if (n < 0 && errno == EINTR) continue;
            drop(c);  // EOF or reset
            return false;
        }
        // Every whole request head in the buffer becomes one queued reply (pipelining works).
        std::size_t start = 0;
        while (!c.close_after && c.out.size() < max_queued_replies) {
            std::size_t end = c.in.find("\r\n\r\n", start);
            if (end == std::string::npos) break;
            queue_reply(c, std::string_view(c.in).substr(start, end - start));
            start = end + 4;
        }
        c.in.erase(0, start);
        if (c.in.size() > max_head && c.in.find("\r\n\r\n") == std::string::npos) {
            drop(c);
            return false;
        }
        return true;
    }

    void queue_reply(connection& c, std::string_view head) {
        // --spin: the empty asm keeps the compiler from removing or collapsing the loop.
        for (std::size_t k = 0; k < spin_; ++k) asm volatile("");
        bare::request req = bare::read_request(head);
        c.out.push_back(&bare::pick_reply(files_, not_found_, req));
        if (!req.keep_alive) c.close_after = true;
    }

    // Returns false when the connection has been dropped.
    bool on_writable(connection& c) {
        while (!c.out.empty()) {
            const reply& r = *c.out.front();
            ssize_t n;
            if (c.sent < r.bytes.size()) {
                // MSG_MORE: the body follows at once, so the head need not leave in a packet of its own.
                int more = r.body_fd >= 0 ? MSG_MORE : 0;
                n = send(c.fd, r.bytes.data() + c.sent, r.bytes.size() - c.sent, MSG_NOSIGNAL | more);
            } else {
                auto offset = static_cast<off_t>(c.sent - r.bytes.size());
                n = sendfile(c.fd, r.body_fd, &offset, r.size() - c.sent);
            }
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
                if (errno == EINTR) continue;
                drop(c);
                return false;
            }
            c.sent += static_cast<std::size_t>(n);
            if (c.sent < r.size()) continue;
            c.sent = 0;
            c.out.pop_front();
        }
        if (c.close_after) {
            drop(c);
            return false;
        }
        return true;
    }

    void update_interest(connection& c) {
        bool want_write = !c.out.empty();
        bool want_read = !c.close_after && c.out.size() < max_queued_replies;
        if (want_write == c.want_write && want_read == c.want_read) return;
        epoll_event ev{};
        ev.events = (want_read ? EPOLLIN : 0u) | (want_write ? EPOLLOUT : 0u);
        ev.data.fd = c.fd;
        if (epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev) < 0) fail("epoll_ctl(MOD client)");
        c.want_write = want_write;
        c.want_read = want_read;
    }

    void drop(connection& c) {
        int fd = c.fd;
        epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
        close(fd);
        conns_[static_cast<std::size_t>(fd)].reset();
    }

    std::size_t touch_pages_;
    std::vector<unsigned char> touch_;  // --touch-pages: touch_pages_ pages, one byte written in each
    std::size_t spin_;                  // --spin: empty loop turns per request
    int listener_ = -1;
    int ep_ = -1;
    int port_ = 0;
    std::unordered_map<std::string, reply_pair> files_;
    reply_pair not_found_;
    std::vector<std::unique_ptr<connection>> conns_;  // indexed by fd
};

int usage(const char* argv0) {
    std::cerr << "usage: " << argv0
              << " --port PORT [--host 127.0.0.1] --root DIR [--sendfile-min BYTES]"
                 " [--touch-pages N] [--spin N]\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    bare::options o;
    if (!bare::parse_options(argc, argv, true, o)) return usage(argv[0]);
    signal(SIGPIPE, SIG_IGN);
    try {
        server s(o.host, o.port, o.root, o.sendfile_min, o.touch_pages, o.spin);
        std::cout << "bare_epoll listening on " << o.host << ":" << s.port() << std::endl;
        s.run();
    } catch (const std::exception& e) {
        std::cerr << "bare_epoll: " << e.what() << "\n";
        return 1;
    }
}
