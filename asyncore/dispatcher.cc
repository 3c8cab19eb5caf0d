// dispatcher.cc: the socket calls, the event routing, and logging (see dispatcher.h).
#include "asyncore/dispatcher.h"

#include <cxxabi.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <typeinfo>

#include <fmt/format.h>

#include "asyncore/uring_poller.h"

namespace medusa {

namespace {

[[noreturn]] void fail(int err, std::string what) {
    throw std::system_error(err, std::system_category(), what);
}

// asyncore's _DISCONNECTED: the peer has gone; the channel is told through handle_close().
bool disconnected(int err) {
    return err == ECONNRESET || err == ENOTCONN || err == ESHUTDOWN || err == ECONNABORTED ||
           err == EPIPE || err == EBADF;
}

// Every descriptor the loop holds is non-blocking (a handler must never stall the loop) and
// close-on-exec (a CGI script or other child must not inherit client connections).
void make_nonblocking_cloexec(int fd, std::string_view call) {
    int fl = ::fcntl(fd, F_GETFL);
    if (fl < 0 || (!(fl & O_NONBLOCK) && ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0))
        fail(errno, fmt::format("{}: fcntl(fd {}, O_NONBLOCK)", call, fd));
    int fdfl = ::fcntl(fd, F_GETFD);
    if (fdfl < 0 || (!(fdfl & FD_CLOEXEC) && ::fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0))
        fail(errno, fmt::format("{}: fcntl(fd {}, FD_CLOEXEC)", call, fd));
}

std::string family_name(int family) {
    switch (family) {
    case AF_INET: return "AF_INET";
    case AF_INET6: return "AF_INET6";
    case AF_UNIX: return "AF_UNIX";
    default: return fmt::format("family {}", family);
    }
}

std::string type_name(int type) {
    switch (type) {
    case SOCK_STREAM: return "SOCK_STREAM";
    case SOCK_DGRAM: return "SOCK_DGRAM";
    case SOCK_SEQPACKET: return "SOCK_SEQPACKET";
    default: return fmt::format("type {}", type);
    }
}

std::string demangle(const std::type_info& t) {
    int status = 0;
    char* name = abi::__cxa_demangle(t.name(), nullptr, nullptr, &status);
    std::string s = status == 0 && name ? name : t.name();
    std::free(name);
    return s;
}

std::string describe(std::exception_ptr e) {
    if (!e) return "no exception";
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return x.what();
    } catch (...) {
        return "unknown exception (not derived from std::exception)";
    }
}

// How long a listener stops accepting after EMFILE/ENFILE. Long enough that a full listen queue
// costs ten wake-ups a second instead of a spinning core; short enough that service resumes
// promptly once a connection somewhere closes and gives a descriptor back.
constexpr auto accept_backoff = std::chrono::milliseconds(100);

struct log_sink_state {
    std::mutex mutex;
    std::function<void(std::string_view)> sink;
};

log_sink_state& log_state() {
    // Never destroyed: a channel closed during static destruction may still log.
    static auto* s = new log_sink_state;
    return *s;
}

}  // namespace

// --- log sink ----------------------------------------------------------------------------------

void set_log_sink(std::function<void(std::string_view line)> sink) {
    auto& s = log_state();
    std::lock_guard lock(s.mutex);
    s.sink = std::move(sink);
}

void write_log_line(std::string_view line) {
    auto& s = log_state();
    // One lock around the whole write, so lines from the loop and from worker threads never
    // interleave. (A sink must therefore not call write_log_line itself.)
    std::lock_guard lock(s.mutex);
    if (s.sink) {
        s.sink(line);
    } else {
        std::string out(line);
        out += '\n';
        std::fwrite(out.data(), 1, out.size(), stderr);
    }
}

// --- life --------------------------------------------------------------------------------------

dispatcher::dispatcher(socket_map& map) : map_(&map) {}

dispatcher::~dispatcher() {
    if (fd_ >= 0) ::close(fd_);
}

std::string dispatcher::where() const {
    std::string a = addr_.empty() ? std::string() : addr_.to_string();
    return a.empty() ? fmt::format("fd {}", fd_) : a;
}

// --- the socket --------------------------------------------------------------------------------

void dispatcher::create_socket(int family, int type) {
    if (fd_ >= 0) throw std::logic_error(fmt::format("create_socket: {} already has a descriptor", repr()));
    int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) fail(errno, fmt::format("socket({}, {})", family_name(family), type_name(type)));
    fd_ = fd;
    is_socket_ = true;
    sock_type_ = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    stream_ = false;  // connected later, if at all: its I/O stays with the system calls
    addr_ = address();
    connected_ = accepting_ = connecting_ = false;
    // Called after make<>() returned (a reconnect, say): join the map now, as asyncore does.
    if (!weak_from_this().expired()) add_channel();
}

void dispatcher::set_socket(int fd) {
    if (fd < 0) throw std::invalid_argument(fmt::format("set_socket: bad descriptor {}", fd));
    if (fd_ >= 0) throw std::logic_error(fmt::format("set_socket: {} already has a descriptor", repr()));
    make_nonblocking_cloexec(fd, "set_socket");
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0) {
        connected_ = true;
        addr_ = address::from_sockaddr(reinterpret_cast<sockaddr*>(&peer), peer_len);
    } else if (errno == ENOTCONN || errno == EINVAL) {
        // Not connected (a listening socket handed over, say), as asyncore's __init__ allows.
        connected_ = false;
        int acc = 0;
        socklen_t len = sizeof acc;
        accepting_ = ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == 0 && acc;
        try {
            addr_ = address::local_of(fd);
        } catch (const std::system_error&) {
            addr_ = address();
        }
    } else {
        fail(errno, fmt::format("set_socket: getpeername(fd {})", fd));
    }
    fd_ = fd;
    is_socket_ = true;
    int type = 0;
    socklen_t len = sizeof type;
    sock_type_ = ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 ? type : 0;
    stream_ = connected_ && sock_type_ == SOCK_STREAM;
    if (!weak_from_this().expired()) add_channel();
}

void dispatcher::set_socket(const accepted& conn) {
    if (conn.fd < 0)
        throw std::invalid_argument(fmt::format("set_socket: bad descriptor {}", conn.fd));
    if (fd_ >= 0) throw std::logic_error(fmt::format("set_socket: {} already has a descriptor", repr()));
    connected_ = true;
    addr_ = conn.addr;
    fd_ = conn.fd;
    is_socket_ = true;
    sock_type_ = conn.stream ? SOCK_STREAM : 0;
    stream_ = conn.stream;
    if (!weak_from_this().expired()) add_channel();
}

void dispatcher::set_file(int fd) {
    if (fd < 0) throw std::invalid_argument(fmt::format("set_file: bad descriptor {}", fd));
    if (fd_ >= 0) throw std::logic_error(fmt::format("set_file: {} already has a descriptor", repr()));
    make_nonblocking_cloexec(fd, "set_file");
    fd_ = fd;
    is_socket_ = false;
    stream_ = false;
    sock_type_ = 0;
    addr_ = address();
    connected_ = true;
    accepting_ = connecting_ = false;
    if (!weak_from_this().expired()) add_channel();
}

void dispatcher::set_reuse_addr() {
    int one = 1;
    if (::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        fail(errno, fmt::format("setsockopt({}, SO_REUSEADDR)", where()));
}

void dispatcher::bind(const address& a) {
    if (::bind(fd_, a.sa(), a.len()) < 0) fail(errno, fmt::format("bind({})", a.to_string()));
    // What the kernel chose: binding port 0 picks a free port, and addr() should show it.
    try {
        addr_ = address::local_of(fd_);
    } catch (const std::system_error&) {
        addr_ = a;
    }
}

void dispatcher::listen(int backlog) {
    if (::listen(fd_, backlog) < 0) fail(errno, fmt::format("listen({}, {})", where(), backlog));
    accepting_ = true;
    update_interest();
}

void dispatcher::connect(const address& a) {
    connected_ = false;
    connecting_ = true;
    addr_ = a;
    if (::connect(fd_, a.sa(), a.len()) == 0 || errno == EINPROGRESS || errno == EALREADY ||
        errno == EINTR || errno == EISCONN) {
        // Even a connect that completed at once (usual for Unix sockets) is reported from the
        // loop, on the first writable event, so handle_connect() never runs inside connect()
        // (which is often inside a constructor).
        update_interest();
        return;
    }
    int err = errno;
    connecting_ = false;
    fail(err, fmt::format("connect({})", a.to_string()));
}

void dispatcher::finish_connect() {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    connecting_ = false;
    update_interest();
    if (err != 0) fail(err, fmt::format("connect({})", where()));
    connected_ = true;
    handle_connect();
}

std::optional<accepted> dispatcher::accept() {
    if (fd_ < 0) return std::nullopt;
    accepted a{-1, address(), sock_type_ == SOCK_STREAM};
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof peer;
    int fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &peer_len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
        a.addr = address::from_sockaddr(reinterpret_cast<sockaddr*>(&peer), peer_len);
        if (out_of_descriptors_) {
            out_of_descriptors_ = false;
            log_info(fmt::format("accept({}): descriptors available again", where()));
        }
        a.fd = fd;
        return a;
    }
    int err = errno;
    switch (err) {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case EINTR:
    case ECONNABORTED:  // the client gave up while queued: asyncore returns None too
    // Linux hands pending network errors of the new connection to accept(); accept(2) says to
    // treat them like EAGAIN and try again.
    case EPROTO: case ENOPROTOOPT: case ENETDOWN: case ENONET: case EHOSTDOWN:
    case EHOSTUNREACH: case EOPNOTSUPP: case ENETUNREACH:
        return std::nullopt;
    case EMFILE: case ENFILE: case ENOBUFS: case ENOMEM:
        // The connection stays queued and the listener stays readable, so a level-triggered
        // loop would come straight back here: a spinning core that starves every other
        // channel. Stop asking for a moment instead, and say so once per episode.
        if (!out_of_descriptors_) {
            out_of_descriptors_ = true;
            log_info(fmt::format("accept({}): {}; pausing accept for {} ms at a time until "
                                 "descriptors are freed",
                                 where(), std::system_category().message(err),
                                 accept_backoff.count()),
                     "error");
        }
        if (!accept_paused_ && in_map_) {
            accept_paused_ = true;
            update_interest();
            accept_timer_ = map_->call_later(accept_backoff, [w = weak_from_this()] {
                if (auto self = w.lock()) self->resume_accepting();
            });
        }
        return std::nullopt;
    default:
        fail(err, fmt::format("accept({})", where()));
    }
}

void dispatcher::resume_accepting() {
    accept_timer_ = 0;
    accept_paused_ = false;
    update_interest();
}

ssize_t dispatcher::send(const void* data, size_t n) {
    if (fd_ < 0) return 0;
    for (;;) {
        // MSG_NOSIGNAL: a peer that closed must cost a channel (EPIPE), not the process
        // (SIGPIPE's default action is to terminate).
        ssize_t r;
        if (uring_poller* u = ring()) {
            iovec piece{const_cast<void*>(data), n};
            r = u->send(fd_, &piece, 1, 0);
        } else {
            r = is_socket_ ? ::send(fd_, data, n, MSG_NOSIGNAL) : ::write(fd_, data, n);
        }
        if (r >= 0) return r;
        int err = errno;
        if (err == EINTR) continue;
        if (err == EAGAIN || err == EWOULDBLOCK) return 0;
        if (disconnected(err)) {
            handle_close();
            return 0;
        }
        fail(err, fmt::format("{}({})", is_socket_ ? "send" : "write", where()));
    }
}

ssize_t dispatcher::recv(void* buf, size_t n) {
    if (fd_ < 0 || n == 0) return 0;
    for (;;) {
        ssize_t r;
        if (uring_poller* u = ring())
            r = u->recv(fd_, buf, n);
        else
            r = is_socket_ ? ::recv(fd_, buf, n, 0) : ::read(fd_, buf, n);
        if (r > 0) return r;
        if (r == 0) {  // end of file: the peer closed
            handle_close();
            return 0;
        }
        int err = errno;
        if (err == EINTR) continue;
        if (err == EAGAIN || err == EWOULDBLOCK) return 0;
        if (disconnected(err)) {
            handle_close();
            return 0;
        }
        fail(err, fmt::format("{}({})", is_socket_ ? "recv" : "read", where()));
    }
}

void dispatcher::close() {
    if (accept_timer_ != 0 && in_map_) map_->cancel(accept_timer_);
    accept_timer_ = 0;
    accept_paused_ = false;
    connected_ = accepting_ = connecting_ = false;
    del_channel();  // before close(2): the poller must forget the fd while it is still ours
    if (fd_ >= 0) {
        ::close(fd_);  // on Linux the descriptor is gone even when this reports EINTR
        fd_ = -1;
    }
    stream_ = false;
    sock_type_ = 0;
}

uring_poller* dispatcher::ring() const { return in_map_ && fd_ >= 0 ? map_->ring_for(fd_) : nullptr; }

void dispatcher::shutdown_write() {
    if (fd_ < 0) return;
    if (uring_poller* r = ring())
        r->shutdown_write(fd_);
    else
        ::shutdown(fd_, SHUT_WR);
}

bool dispatcher::sending() const {
    uring_poller* r = ring();
    return r && r->busy(fd_);
}

bool dispatcher::send_failed() const {
    uring_poller* r = ring();
    return r && r->send_failed(fd_);
}

std::string dispatcher::take_delivered_input() {
    uring_poller* r = ring();
    return r ? r->take_input(fd_) : std::string();
}

// --- the map -----------------------------------------------------------------------------------

void dispatcher::add_channel() {
    if (in_map_) return;
    if (fd_ < 0) throw std::logic_error(fmt::format("add_channel: {} has no descriptor", repr()));
    std::shared_ptr<dispatcher> self;
    try {
        self = shared_from_this();
    } catch (const std::bad_weak_ptr&) {
        throw std::logic_error(fmt::format(
            "add_channel: {} is not owned by a shared_ptr; create it with medusa::make<T>()",
            repr()));
    }
    map_->add(fd_, std::move(self));  // may throw (select: fd >= FD_SETSIZE); nothing changed
    in_map_ = true;
}

void dispatcher::del_channel() {
    if (!in_map_) return;
    leaving_map();
    in_map_ = false;
    map_->remove(fd_);
}

void dispatcher::update_interest() {
    if (in_map_) map_->update_interest(fd_);
}

bool dispatcher::wants_read() { return !accept_paused_ && readable(); }

bool dispatcher::wants_write() { return connecting_ || (!accepting_ && writable()); }

// --- event routing (asyncore's handle_*_event) ---------------------------------------------------

void dispatcher::handle_read_event() {
    if (accepting_) {
        handle_accept();
    } else if (!connected_ && connecting_) {
        // A failed connect is readable too (the socket is shut down): check SO_ERROR here as
        // well, or a refused connection would be reported as connected.
        finish_connect();
        if (!closed()) handle_read();
    } else {
        handle_read();
    }
}

void dispatcher::handle_write_event() {
    if (accepting_) return;  // a listener has nothing to write
    if (!connected_ && connecting_) {
        finish_connect();
        if (closed()) return;
    }
    handle_write();
}

void dispatcher::handle_expt_event() {
    // POLLERR or POLLPRI: a pending socket error means the connection is dead; otherwise it is
    // urgent data for handle_expt().
    if (is_socket_ && fd_ >= 0) {
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
            handle_close();
            return;
        }
    }
    handle_expt();
}

void dispatcher::handle_error(std::exception_ptr e) {
    std::string who;
    try {
        who = repr();
    } catch (...) {
        who = fmt::format("<repr() failed for channel at {}>", static_cast<const void*>(this));
    }
    log_info(fmt::format("uncaptured exception in {}: {}", who, describe(e)), "error");
    try {
        handle_close();
    } catch (...) {
    }
    close();  // whatever handle_close() did, this channel is finished
}

// --- logging -----------------------------------------------------------------------------------

void dispatcher::log(std::string_view message) const {
    if (debug) write_log_line(fmt::format("log: {}", message));
}

void dispatcher::log_info(std::string_view message, std::string_view type) const {
    if (type == "warning" && !debug) return;
    write_log_line(fmt::format("{}: {}", type, message));
}

std::string dispatcher::repr() const {
    std::string s = "<" + demangle(typeid(*this));
    if (accepting_ && !addr_.empty()) s += " listening";
    else if (connected_ && is_socket_) s += " connected";
    else if (connecting_) s += " connecting";
    if (!addr_.empty()) {
        std::string a = addr_.to_string();
        if (!a.empty()) s += " " + a;
    }
    s += fd_ >= 0 ? fmt::format(" fd={}", fd_) : std::string(" closed");
    s += fmt::format(" at {}>", static_cast<const void*>(this));
    return s;
}

}  // namespace medusa
