// dispatcher: one descriptor in the channel map, and the hooks the loop calls on it
// (Python's asyncore.dispatcher).
//
// Write a protocol by subclassing and overriding the predicates readable()/writable() and the
// handle_*() hooks. Create channels with medusa::make<T>(args...): it constructs the object and,
// if the constructor gave it a socket (create_socket or set_socket), puts it into its map, which
// from then on owns it.
//
//   class echo_channel : public medusa::dispatcher {
//   public:
//       echo_channel(int fd) { set_socket(fd); }
//       void handle_read() override {
//           char buf[4096];
//           ssize_t n = recv(buf, sizeof buf);
//           if (n > 0) send(buf, n);
//       }
//   };
//
// Errors: a failing system call throws std::system_error whose what() names the call
// ("bind(127.0.0.1:80): Permission denied"). An exception escaping a handle_*() hook is caught
// by the loop and passed to handle_error(), which logs it with the channel's repr() and closes
// that channel only.
#pragma once

#include <sys/types.h>

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "asyncore/address.h"
#include "asyncore/socket_map.h"

namespace medusa {

// An accepted connection: its descriptor (owned by the caller) and the peer's address.
struct accepted {
    int fd;
    medusa::address addr;
    bool stream = true;  // a SOCK_STREAM connection (the listener's type)
};

class dispatcher : public std::enable_shared_from_this<dispatcher> {
public:
    explicit dispatcher(socket_map& map = default_map());
    // Closes the descriptor if it is still open.
    virtual ~dispatcher();
    dispatcher(const dispatcher&) = delete;
    dispatcher& operator=(const dispatcher&) = delete;

    // --- the socket --------------------------------------------------------------------------
    // socket(family, type) made non-blocking and close-on-exec; joins the map once make<>()
    // (or add_channel()) has run.
    void create_socket(int family, int type = SOCK_STREAM);
    // Adopt an already connected descriptor (as from accept()): made non-blocking,
    // connected() becomes true, addr() the peer.
    void set_socket(int fd);
    // Adopt a connection as accept() returned it: already non-blocking and close-on-exec, its
    // peer address known, so this makes no system call (set_socket(fd) makes three to learn
    // the same). A server accepting a connection per request saves them on each one.
    void set_socket(const accepted& conn);
    void set_reuse_addr();
    void bind(const address& a);
    void listen(int backlog);
    // Non-blocking connect: handle_connect() runs when the connection is made (the first
    // writable event), handle_close()/handle_error() when it fails.
    void connect(const address& a);
    // One accepted connection, or nullopt when none is waiting (EAGAIN) or the process is out of
    // descriptors (EMFILE/ENFILE: logged once per episode, and the listener stops accepting
    // briefly so the loop does not spin; see accept_backoff).
    std::optional<accepted> accept();
    // Bytes sent; 0 when the socket would block. A reset or broken pipe calls handle_close()
    // and returns 0. Never raises SIGPIPE.
    ssize_t send(const void* data, size_t n);
    ssize_t send(std::string_view s) { return send(s.data(), s.size()); }
    // Bytes read; 0 when nothing is there yet (EAGAIN) and also at end of file or on a reset,
    // which call handle_close() first (so after a 0, test connected()/closed()).
    ssize_t recv(void* buf, size_t n);
    // Leave the map and close the descriptor. Safe to call twice.
    virtual void close();
    // shutdown(SHUT_WR): the peer sees the end of the stream once what was sent has gone.
    void shutdown_write();
    // On the io_uring backend a send() returns before the kernel has the bytes: true while one
    // is still in flight. Always false on the other backends, where send() is the system call.
    bool sending() const;
    // On the io_uring backend: a send the ring took has since failed (the peer has gone); the
    // channel hears of it as a hang-up at the next pass. Always false on the other backends,
    // where send() returns the error itself.
    bool send_failed() const;
    // Bytes the io_uring backend has already read from the socket that recv() has not handed
    // out (nothing on the other backends). Taking them stops the backend reading: for a socket
    // about to leave the loop (a hand-off to a thread).
    std::string take_delivered_input();

    // --- the map -----------------------------------------------------------------------------
    // Join the map (done for you by make<>()); leave it without closing the descriptor.
    // del_channel() is how a socket is handed to another owner (a thread) — see http_channel.
    void add_channel();
    void del_channel();
    // Ask readable()/writable() again before the next wait (see socket_map.h).
    void update_interest();
    socket_map& map() const { return *map_; }

    // --- the hooks ---------------------------------------------------------------------------
    virtual bool readable() { return true; }
    virtual bool writable() { return true; }
    virtual void handle_read() { log_info("unhandled read event", "warning"); }
    virtual void handle_write() { log_info("unhandled write event", "warning"); }
    virtual void handle_expt() { log_info("unhandled exception event", "warning"); }
    virtual void handle_connect() { log_info("unhandled connect event", "warning"); }
    virtual void handle_accept() { log_info("unhandled accept event", "warning"); }
    // Called on EOF, reset, or a hang-up. The default closes the channel.
    virtual void handle_close() { close(); }
    // Called with the exception that escaped a hook. The default logs it with repr() and closes.
    virtual void handle_error(std::exception_ptr e);

    // The loop's entry points: route an event to the hooks above (accept, connect, read...).
    void handle_read_event();
    void handle_write_event();
    void handle_expt_event();

    // --- logging -----------------------------------------------------------------------------
    // log(): a debug message (to the log sink only when debug is true).
    // log_info(): "type: message" to the log sink (stderr unless set_log_sink() changed it).
    // Lines of type "warning" (the unhandled-event defaults) are written only when debug is
    // true, as asyncore's ignore_log_types hides them: a channel that leaves writable() true
    // without a handle_write() would otherwise log on every pass.
    void log(std::string_view message) const;
    void log_info(std::string_view message, std::string_view type = "info") const;

    // --- state -------------------------------------------------------------------------------
    int fileno() const { return fd_; }
    const address& addr() const { return addr_; }
    bool connected() const { return connected_; }
    bool accepting() const { return accepting_; }
    bool connecting() const { return connecting_; }
    bool closed() const { return fd_ < 0; }
    bool in_map() const { return in_map_; }
    bool debug = false;
    // "<medusa::echo_channel connected 127.0.0.1:5555 fd=7 at 0x55d0...>"
    virtual std::string repr() const;

protected:
    // The io_uring poller when it does this channel's I/O (uring backend, a stream socket in
    // the map), else null: then the system calls are the channel's own.
    uring_poller* ring() const;
    // For file_dispatcher: adopt a non-socket descriptor (made non-blocking, connected);
    // send()/recv() then use write(2)/read(2).
    void set_file(int fd);
    // Called by del_channel() while the channel is still in the map, before the descriptor goes
    // to another owner: async_chat sends the replies it holds (async_chat.h, "Held replies").
    virtual void leaving_map() {}

private:
    friend class socket_map;
    // The interest the map registers: readable() unless accept is backing off; writable()
    // except on a listener, and always while a connect is in progress (its completion is a
    // writable event, whatever writable() says).
    bool wants_read();
    bool wants_write();
    // A connect in progress has finished: throws std::system_error with SO_ERROR's text if it
    // failed, else marks the channel connected and calls handle_connect().
    void finish_connect();
    void resume_accepting();
    std::string where() const;  // the address, or "fd N", for error messages

    socket_map* map_;
    int fd_ = -1;
    address addr_;
    bool connected_ = false;
    bool accepting_ = false;
    bool connecting_ = false;
    bool in_map_ = false;
    bool accept_paused_ = false;     // EMFILE back-off: read interest off until the timer fires
    bool out_of_descriptors_ = false;  // logged once per EMFILE episode
    timer_id accept_timer_ = 0;
    bool is_socket_ = true;
    bool stream_ = false;  // a connected stream socket (the io_uring backend does its I/O)
    int sock_type_ = 0;    // SOCK_STREAM, SOCK_DGRAM...; 0 when not known (not a socket)
};

// Where log_info() writes: a function taking the finished line (without newline).
// Default: stderr. Thread-safe to call; the sink itself must be safe to call from the loop.
void set_log_sink(std::function<void(std::string_view line)> sink);
void write_log_line(std::string_view line);

// Construct a channel and, if it already holds a descriptor, add it to its map.
// Returns the shared_ptr; the map holds another, so the channel lives while it is in the map.
template <class T, class... Args>
std::shared_ptr<T> make(Args&&... args) {
    auto p = std::make_shared<T>(std::forward<Args>(args)...);
    if (!p->closed() && !p->in_map()) p->add_channel();
    return p;
}

}  // namespace medusa
