// The loop's suite, run once per backend: accept + echo over IPv4, IPv6 and Unix sockets,
// non-blocking connect, closing channels from inside handlers, reused descriptors, count=,
// handler exceptions, SIGPIPE, FD_SETSIZE, hang-ups and the update_interest rule.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <system_error>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "asyncore/dispatcher.h"
#include "asyncore/socket_map.h"
#include "test/asyncore/async_chat_testutil.h"
#include "test/asyncore/helpers.h"

namespace medusa_test {

using medusa::address;
using medusa::backend;
using medusa::make;
using medusa::socket_map;

// --- an echo server and a client ---------------------------------------------------------------

class echo_handler : public medusa::dispatcher {
public:
    echo_handler(socket_map& m, int fd) : dispatcher(m) { set_socket(fd); }
    echo_handler(socket_map& m, const medusa::accepted& conn) : dispatcher(m) { set_socket(conn); }
    bool writable() override { return !pending_.empty(); }
    void handle_read() override {
        char buf[4096];
        ssize_t n = recv(buf, sizeof buf);
        if (n > 0) {
            pending_.append(buf, n);
            update_interest();
        }
    }
    void handle_write() override {
        ssize_t n = send(pending_);
        pending_.erase(0, n);
        update_interest();
    }

private:
    std::string pending_;
};

class echo_server : public medusa::dispatcher {
public:
    echo_server(socket_map& m, const address& a) : dispatcher(m) {
        create_socket(a.family());
        if (a.family() != AF_UNIX) set_reuse_addr();
        bind(a);
        listen(5);
    }
    void handle_accept() override {
        if (auto c = accept()) {
            ++accepted;
            last = adopt ? make<echo_handler>(map(), *c) : make<echo_handler>(map(), c->fd);
        }
    }
    bool adopt = false;  // set_socket(accepted) instead of set_socket(fd)
    int accepted = 0;
    std::weak_ptr<echo_handler> last;
};

class echo_client : public medusa::dispatcher {
public:
    echo_client(socket_map& m, const address& a, std::string msg) : dispatcher(m), out_(msg), want_(msg) {
        create_socket(a.family());
        connect(a);
    }
    bool writable() override { return !out_.empty(); }
    void handle_connect() override { connect_calls++; }
    void handle_write() override {
        ssize_t n = send(out_);
        out_.erase(0, n);
        update_interest();
    }
    void handle_read() override {
        char buf[4096];
        ssize_t n = recv(buf, sizeof buf);
        if (n > 0) received.append(buf, n);
        if (received.size() >= want_.size()) map().stop();
    }
    int connect_calls = 0;
    std::string received;

private:
    std::string out_, want_;
};

class loop_suite : public ::testing::TestWithParam<backend> {
protected:
    socket_map m{GetParam()};

    void echo_round_trip(const address& listen_on) {
        auto server = make<echo_server>(m, listen_on);
        ASSERT_TRUE(server->accepting());
        const std::string msg = "hello, medusa\r\n";
        auto client = make<echo_client>(m, server->addr(), msg);
        EXPECT_TRUE(client->connecting());
        ASSERT_TRUE(run_bounded(m));
        EXPECT_EQ(client->received, msg);
        EXPECT_EQ(client->connect_calls, 1);
        EXPECT_TRUE(client->connected());
        EXPECT_EQ(server->accepted, 1);
        auto h = server->last.lock();
        ASSERT_TRUE(h);
        EXPECT_TRUE(h->connected());
        medusa::close_all(m);
        EXPECT_TRUE(m.empty());
    }
};

TEST_P(loop_suite, echo_over_ipv4) {
    echo_round_trip(address::inet("127.0.0.1", 0));
}

TEST_P(loop_suite, adopting_an_accepted_connection_as_accept_returned_it) {
    // set_socket(accepted): no system call, yet the same state as set_socket(fd) finds out.
    auto server = make<echo_server>(m, address::inet("127.0.0.1", 0));
    server->adopt = true;
    const std::string msg = "adopted\r\n";
    auto client = make<echo_client>(m, server->addr(), msg);
    ASSERT_TRUE(run_bounded(m));
    EXPECT_EQ(client->received, msg);
    auto h = server->last.lock();
    ASSERT_TRUE(h);
    EXPECT_TRUE(h->connected());
    EXPECT_EQ(h->addr().to_string(), address::local_of(client->fileno()).to_string());
    EXPECT_TRUE(::fcntl(h->fileno(), F_GETFL) & O_NONBLOCK);
    EXPECT_TRUE(::fcntl(h->fileno(), F_GETFD) & FD_CLOEXEC);
    medusa::close_all(m);
}

TEST_P(loop_suite, echo_over_ipv6) {
    int probe = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto a = address::inet("::1", 0);
    bool ok = probe >= 0 && ::bind(probe, a.sa(), a.len()) == 0;
    if (probe >= 0) ::close(probe);
    if (!ok) GTEST_SKIP() << "::1 is not available on this machine";
    echo_round_trip(a);
}

TEST_P(loop_suite, echo_over_unix_socket) {
    std::string path = fmt::format("/tmp/medusa-test-{}-{}.sock", ::getpid(), to_string(GetParam()));
    ::unlink(path.c_str());
    echo_round_trip(address::unix_path(path));
    ::unlink(path.c_str());
}

TEST_P(loop_suite, repr_names_class_state_address_and_fd) {
    auto server = make<echo_server>(m, address::inet("127.0.0.1", 0));
    EXPECT_EQ(server->repr(), fmt::format("<medusa_test::echo_server listening 127.0.0.1:{} fd={} at {}>",
                                          server->addr().port(), server->fileno(),
                                          static_cast<const void*>(server.get())));
    EXPECT_NE(server->repr().find(" at 0x"), std::string::npos);
    server->close();
    EXPECT_NE(server->repr().find(" closed at 0x"), std::string::npos) << server->repr();
}

// --- connect failure -----------------------------------------------------------------------------

class failing_client : public medusa::dispatcher {
public:
    failing_client(socket_map& m, const address& a) : dispatcher(m) {
        create_socket(a.family());
        connect(a);
    }
    void handle_connect() override { ++connect_calls; }
    void handle_error(std::exception_ptr e) override {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& x) {
            error = x.what();
        }
        dispatcher::handle_error(e);  // logs and closes
    }
    int connect_calls = 0;
    std::string error;
};

TEST_P(loop_suite, connect_to_closed_port_reports_errno_text) {
    // A port that is bound but not listening refuses connections, and stays ours meanwhile.
    int holder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto a = address::inet("127.0.0.1", 0);
    ASSERT_EQ(::bind(holder, a.sa(), a.len()), 0);
    auto target = address::local_of(holder);
    log_capture logs;
    std::string error;
    std::weak_ptr<failing_client> w;
    try {
        auto c = make<failing_client>(m, target);
        w = c;
    } catch (const std::system_error& e) {
        error = e.what();  // the kernel may refuse a loopback connect before it returns
    }
    if (error.empty()) {
        ASSERT_TRUE(run_bounded(m));  // ends when the failed client leaves the map
        auto c = w.lock();
        EXPECT_FALSE(c);  // closed and destroyed
        EXPECT_EQ(logs.count("error: uncaptured exception in <medusa_test::failing_client"), 1)
            << logs.all();
        EXPECT_EQ(logs.count(fmt::format("connect({}): Connection refused", target.to_string())), 1)
            << logs.all();
    } else {
        EXPECT_EQ(error, fmt::format("connect({}): Connection refused", target.to_string()));
    }
    EXPECT_TRUE(m.empty());
    ::close(holder);
}

// --- closing channels from inside handlers -------------------------------------------------------

// Each closes (or del_channel()s) the other, then itself: whichever runs first, the other must
// get no event afterwards.
class closer : public medusa::dispatcher {
public:
    closer(socket_map& m, int fd, int* reads, bool use_del) : dispatcher(m), reads_(reads), del_(use_del) {
        set_socket(fd);
    }
    bool writable() override { return false; }
    void handle_read() override {
        ++*reads_;
        char b[16];
        recv(b, sizeof b);
        if (auto o = other.lock()) {
            if (del_) o->del_channel();
            else o->close();
        }
        close();
        // Still alive: the map destroys closed channels at the end of the pass, not here.
        finished = true;
    }
    std::weak_ptr<closer> other;
    bool finished = false;

private:
    int* reads_;
    bool del_;
};

void close_other_in_handler(socket_map& m, bool use_del) {
    sock_pair p1, p2;
    int reads = 0;
    std::weak_ptr<closer> w1, w2;
    {
        auto c1 = make<closer>(m, p1.release_a(), &reads, use_del);
        auto c2 = make<closer>(m, p2.release_a(), &reads, use_del);
        c1->other = c2;
        c2->other = c1;
        w1 = c1;
        w2 = c2;
    }
    p1.put("x");
    p2.put("y");
    // Both are ready in this one pass; the second event is stale and not delivered.
    EXPECT_EQ(m.poll_once(1s), 1);
    EXPECT_EQ(reads, 1);
    EXPECT_TRUE(m.empty());
    EXPECT_TRUE(w1.expired());
    EXPECT_TRUE(w2.expired());
}

TEST_P(loop_suite, close_of_another_channel_inside_a_handler) { close_other_in_handler(m, false); }
TEST_P(loop_suite, del_channel_of_another_inside_a_handler) { close_other_in_handler(m, true); }

class self_closer : public reader {
public:
    self_closer(socket_map& m, int fd, bool* destroyed, bool* destroyed_in_handler)
        : reader(m, fd), destroyed_(destroyed), destroyed_in_handler_(destroyed_in_handler) {}
    ~self_closer() override { *destroyed_ = true; }
    void handle_read() override {
        reader::handle_read();
        close();
        *destroyed_in_handler_ = *destroyed_;
        data += " after close";  // touching ourselves is safe: we are buried after the pass
    }

private:
    bool* destroyed_;
    bool* destroyed_in_handler_;
};

TEST_P(loop_suite, channel_closed_by_itself_is_destroyed_after_the_pass) {
    sock_pair p;
    bool destroyed = false, destroyed_in_handler = true;
    std::weak_ptr<self_closer> w =
        make<self_closer>(m, p.release_a(), &destroyed, &destroyed_in_handler);
    p.put("bye");
    m.poll_once(1s);
    EXPECT_FALSE(destroyed_in_handler);
    EXPECT_TRUE(destroyed);
    EXPECT_TRUE(w.expired());
}

// --- a reused descriptor -------------------------------------------------------------------------

// Whichever of the two runs first closes the other, and puts a new channel on the very
// descriptor number the victim had, with data waiting. The victim's event from this pass must
// not reach the newcomer.
class reuser : public medusa::dispatcher {
public:
    reuser(socket_map& m, int fd) : dispatcher(m) { set_socket(fd); }
    bool writable() override { return false; }
    void handle_read() override {
        ++reads;
        char b[16];
        recv(b, sizeof b);
        auto o = other.lock();
        if (!o) return;
        int victim_fd = o->fileno();
        o->close();
        int fds[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        ASSERT_EQ(::write(fds[1], "z", 1), 1);
        if (fds[0] != victim_fd) {  // the kernel may have handed out the same number already
            ASSERT_EQ(::dup2(fds[0], victim_fd), victim_fd);
            ::close(fds[0]);
        }
        newcomer_peer = fds[1];
        newcomer = make<reader>(map(), victim_fd);
        newcomer_fd = victim_fd;
    }
    int reads = 0;
    std::weak_ptr<reuser> other;
    std::weak_ptr<reader> newcomer;
    int newcomer_fd = -1, newcomer_peer = -1;
};

TEST_P(loop_suite, reused_fd_gets_no_event_of_the_dead_channel) {
    sock_pair p1, p2;
    auto r1 = make<reuser>(m, p1.release_a());
    auto r2 = make<reuser>(m, p2.release_a());
    r1->other = r2;
    r2->other = r1;
    p1.put("1");
    p2.put("2");
    EXPECT_EQ(m.poll_once(1s), 1);
    auto& first = r1->reads ? *r1 : *r2;
    EXPECT_EQ(r1->reads + r2->reads, 1);
    auto n = first.newcomer.lock();
    ASSERT_TRUE(n);
    EXPECT_EQ(n->fileno(), first.newcomer_fd);
    EXPECT_EQ(n->reads, 0) << "the newcomer received the closed channel's event";
    m.poll_once(1s);  // its own data is delivered on the next pass
    EXPECT_EQ(n->reads, 1);
    EXPECT_EQ(n->data, "z");
    ::close(first.newcomer_peer);
    medusa::close_all(m);
}

// --- count= --------------------------------------------------------------------------------------

class always_writable : public medusa::dispatcher {
public:
    always_writable(socket_map& m, int fd) : dispatcher(m) { set_socket(fd); }
    bool readable() override { return false; }
    void handle_write() override { ++writes; }
    int writes = 0;
};

TEST_P(loop_suite, count_runs_that_many_passes) {
    sock_pair p;
    auto w = make<always_writable>(m, p.release_a());
    medusa::loop(std::chrono::duration<double>(1.0), std::nullopt, m, 5);
    EXPECT_EQ(w->writes, 5);
    medusa::loop(std::chrono::duration<double>(1.0), std::nullopt, m, 1);
    EXPECT_EQ(w->writes, 6);
}

TEST_P(loop_suite, count_passes_end_even_without_events) {
    sock_pair p;
    auto r = make<reader>(m, p.release_a());
    medusa::loop(std::chrono::duration<double>(0.01), std::nullopt, m, 3);
    EXPECT_EQ(r->reads, 0);
    EXPECT_EQ(m.size(), 1u);
}

TEST_P(loop_suite, loop_backend_argument_switches_the_map) {
    socket_map other(backend::poll);
    sock_pair p;
    auto r = make<reader>(other, p.release_a());
    p.put("x");
    medusa::loop(std::chrono::duration<double>(1.0), GetParam(), other, 1);
    EXPECT_EQ(other.kind(), GetParam());
    EXPECT_EQ(r->data, "x");
}

// --- exceptions from handlers --------------------------------------------------------------------

class thrower : public reader {
public:
    using reader::reader;
    void handle_read() override { throw std::runtime_error("boom"); }
};

TEST_P(loop_suite, handler_exception_is_logged_with_repr_and_closes_only_that_channel) {
    log_capture logs;
    sock_pair p1, p2;
    auto t = make<thrower>(m, p1.release_a());
    auto by = make<reader>(m, p2.release_a());
    std::string who = t->repr();
    p1.put("x");
    p2.put("y");
    m.poll_once(1s);
    EXPECT_TRUE(t->closed());
    EXPECT_FALSE(t->in_map());
    EXPECT_EQ(logs.count("error: uncaptured exception in " + who + ": boom"), 1) << logs.all();
    EXPECT_TRUE(by->in_map());
    EXPECT_EQ(by->data, "y");
    p2.put("z");
    m.poll_once(1s);
    EXPECT_EQ(by->data, "yz");
    EXPECT_EQ(m.size(), 1u);
}

// --- SIGPIPE -------------------------------------------------------------------------------------

// Restores the default SIGPIPE action for the test (a file_dispatcher elsewhere may have set it
// to ignored), so a missing MSG_NOSIGNAL would kill the test binary.
class default_sigpipe {
public:
    default_sigpipe() {
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        ::sigaction(SIGPIPE, &dfl, &saved_);
    }
    ~default_sigpipe() { ::sigaction(SIGPIPE, &saved_, nullptr); }

private:
    struct sigaction saved_ {};
};

TEST_P(loop_suite, send_to_closed_peer_is_handle_close_not_sigpipe) {
    default_sigpipe guard;
    sock_pair p;
    auto r = make<reader>(m, p.release_a());
    p.close_b();
    if (GetParam() == backend::uring) {
        // The send is queued for the next pass, and its failure (or the read's end of file,
        // whichever the channel meets first) arrives with the completions.
        EXPECT_EQ(r->send("x"), 1);
        m.poll_once(1s);
    } else {
        EXPECT_EQ(r->send("x"), 0);
    }
    EXPECT_EQ(r->closes, 1);
    EXPECT_TRUE(r->closed());
}

// A client that writes until the server's side is gone; the server closes each connection.
class slammer : public medusa::dispatcher {
public:
    slammer(socket_map& m) : dispatcher(m) {}
    void handle_accept() override {
        if (auto c = accept()) ::close(c->fd);
    }
};

class flooder : public medusa::dispatcher {
public:
    flooder(socket_map& m, const address& a) : dispatcher(m) {
        create_socket(AF_INET);
        connect(a);
    }
    void handle_connect() override {}
    void handle_read() override {
        char b[64];
        recv(b, sizeof b);
    }
    void handle_write() override { sent += send(std::string(4096, 'x')); }
    void handle_close() override {
        closed_seen = true;
        close();
        map().stop();
    }
    size_t sent = 0;
    bool closed_seen = false;
};

TEST_P(loop_suite, writing_to_a_tcp_peer_that_closed_does_not_kill_the_process) {
    default_sigpipe guard;
    auto s = make<slammer>(m);
    s->create_socket(AF_INET);
    s->bind(address::inet("127.0.0.1", 0));
    s->listen(5);
    auto f = make<flooder>(m, s->addr());
    ASSERT_TRUE(run_bounded(m));
    EXPECT_TRUE(f->closed_seen);
}

// --- FD_SETSIZE ----------------------------------------------------------------------------------

TEST_P(loop_suite, select_refuses_fd_above_fd_setsize_at_add_time) {
    constexpr int high = 1100;
    static_assert(high >= FD_SETSIZE);
    nofile_limit lim;
    if (lim.saved().rlim_cur <= high && !lim.set(high + 1))
        GTEST_SKIP() << "cannot raise RLIMIT_NOFILE above " << high;
    sock_pair p;
    ASSERT_EQ(::dup2(p.a, high), high);
    ::close(p.release_a());
    if (GetParam() == backend::select) {
        try {
            make<reader>(m, high);
            ADD_FAILURE() << "select accepted fd " << high;
        } catch (const std::system_error& e) {
            EXPECT_NE(std::string(e.what()).find("FD_SETSIZE"), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(std::to_string(high)), std::string::npos) << e.what();
        }
        EXPECT_TRUE(m.empty());
        EXPECT_EQ(::fcntl(high, F_GETFD), -1) << "the refused channel's descriptor was not closed";
    } else {
        auto r = make<reader>(m, high);
        p.put("hi");
        m.poll_once(1s);
        EXPECT_EQ(r->data, "hi");
        r->close();
    }
}

// --- hang-ups ------------------------------------------------------------------------------------

class quiet_writer : public medusa::dispatcher {
public:
    quiet_writer(socket_map& m, int fd) : dispatcher(m) { set_socket(fd); }
    bool readable() override { return false; }
    void handle_write() override { ++writes; }  // writes nothing: only the hang-up can end it
    void handle_close() override {
        ++closes;
        close();
    }
    int writes = 0, closes = 0;
};

TEST_P(loop_suite, hangup_without_pollin_reaches_handle_close) {
    // A connected stream socket on io_uring is not polled while it only writes (a poll per
    // reply and its cancel at the close cost more than the reply): as on select, the channel
    // learns of the hang-up from its send (write_only_channel_hears_hangup_from_its_send).
    if (GetParam() == backend::select || GetParam() == backend::uring)
        GTEST_SKIP() << "no hang-up report for a socket that only writes; its send meets it";
    sock_pair p;
    auto w = make<quiet_writer>(m, p.release_a());
    p.close_b();
    m.poll_once(1s);
    EXPECT_EQ(w->closes, 1);
    EXPECT_TRUE(w->closed());
}

// A channel that only writes, to a peer that has gone: on every backend its sends meet the end
// (a reset, then EPIPE or ECONNRESET, or the hang-up epoll and poll report) and it is closed.
class steady_writer : public medusa::dispatcher {
public:
    steady_writer(socket_map& m, int fd) : dispatcher(m) { set_socket(fd); }
    bool readable() override { return false; }
    void handle_write() override {
        if (send("x") > 0) ++sent;
    }
    void handle_close() override {
        ++closes;
        close();
    }
    int sent = 0, closes = 0;
};

TEST_P(loop_suite, write_only_channel_hears_hangup_from_its_send) {
    sock_pair p;
    auto w = make<steady_writer>(m, p.release_a());
    p.close_b();
    ASSERT_TRUE(run_bounded(m));  // ends when the writer leaves the map
    EXPECT_EQ(w->closes, 1);
    EXPECT_TRUE(w->closed());
    // A Unix socket's peer is gone at once: the first send fails (on io_uring, where send()
    // queues the bytes and the completion brings the error, it counts as taken).
    EXPECT_LE(w->sent, 1);
}

// Over TCP the first send to a closed peer is taken (the peer's reset comes back for it), the
// next one fails.
TEST_P(loop_suite, write_only_tcp_channel_hears_the_reset_from_its_sends) {
    auto [fd, peer] = chat_test::tcp_pair();
    ASSERT_GE(fd, 0);
    ::close(peer);
    auto w = make<steady_writer>(m, fd);
    ASSERT_TRUE(run_bounded(m));
    EXPECT_EQ(w->closes, 1);
    EXPECT_TRUE(w->closed());
    EXPECT_GE(w->sent, 1);
    EXPECT_LE(w->sent, 2);
}

TEST_P(loop_suite, peer_close_reaches_handle_close_through_recv) {
    sock_pair p;
    auto r = make<reader>(m, p.release_a());
    p.put("last words");
    p.close_b();
    ASSERT_TRUE(run_bounded(m));  // ends when the reader leaves the map
    EXPECT_EQ(r->data, "last words");
    EXPECT_EQ(r->closes, 1);
}

// --- the update_interest rule --------------------------------------------------------------------

class gated_writer : public medusa::dispatcher {
public:
    gated_writer(socket_map& m, int fd) : dispatcher(m) { set_socket(fd); }
    bool readable() override { return false; }
    bool writable() override {
        ++asked;
        return open;
    }
    void handle_write() override {
        ++writes;
        open = false;  // answered after this event: the map asks again by itself
    }
    bool open = false;
    int asked = 0, writes = 0;
};

TEST_P(loop_suite, writable_is_asked_again_only_after_update_interest) {
    sock_pair p;
    auto g = make<gated_writer>(m, p.release_a());
    m.poll_once(10ms);
    EXPECT_EQ(g->writes, 0);
    int asked = g->asked;
    g->open = true;  // changed behind the map's back: not seen
    m.poll_once(10ms);
    m.poll_once(10ms);
    EXPECT_EQ(g->writes, 0);
    EXPECT_EQ(g->asked, asked) << "an idle channel was asked writable() again";
    g->update_interest();
    m.poll_once(1s);
    EXPECT_EQ(g->writes, 1);
    m.poll_once(10ms);  // it closed its gate during the event, and the map noticed
    EXPECT_EQ(g->writes, 1);
}

// --- the map -------------------------------------------------------------------------------------

TEST_P(loop_suite, close_all_empties_the_map) {
    sock_pair p1, p2;
    auto r1 = make<reader>(m, p1.release_a());
    auto r2 = make<reader>(m, p2.release_a());
    EXPECT_EQ(m.size(), 2u);
    medusa::close_all(m);
    EXPECT_TRUE(m.empty());
    EXPECT_TRUE(r1->closed());
    EXPECT_TRUE(r2->closed());
}

TEST_P(loop_suite, del_channel_keeps_the_descriptor_open) {
    sock_pair p;
    auto r = make<reader>(m, p.release_a());
    int fd = r->fileno();
    r->del_channel();
    EXPECT_TRUE(m.empty());
    EXPECT_FALSE(r->closed());
    EXPECT_NE(::fcntl(fd, F_GETFD), -1);
    r->add_channel();  // and it can come back
    EXPECT_EQ(m.get(fd), r);
    r->close();
    EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
}

TEST_P(loop_suite, descriptors_are_nonblocking_and_cloexec) {
    auto server = make<echo_server>(m, address::inet("127.0.0.1", 0));
    EXPECT_TRUE(::fcntl(server->fileno(), F_GETFL) & O_NONBLOCK);
    EXPECT_TRUE(::fcntl(server->fileno(), F_GETFD) & FD_CLOEXEC);
    auto client = make<echo_client>(m, server->addr(), "x");
    ASSERT_TRUE(run_bounded(m));
    auto h = server->last.lock();
    ASSERT_TRUE(h);
    EXPECT_TRUE(::fcntl(h->fileno(), F_GETFL) & O_NONBLOCK);
    EXPECT_TRUE(::fcntl(h->fileno(), F_GETFD) & FD_CLOEXEC);
}

// --- reading before the poller says so ---------------------------------------------------------------

TEST_P(loop_suite, read_now_reads_at_once_and_nothing_there_is_not_an_end_of_file) {
    sock_pair p;
    auto r = make<reader>(m, p.release_a());
    int fd = r->fileno();
    const bool ring = GetParam() == backend::uring;  // reads only through its submissions
    m.read_now(fd);
    EXPECT_EQ(r->reads, ring ? 0 : 1);
    EXPECT_EQ(r->closes, 0) << "no input yet is not the end of the stream";
    EXPECT_FALSE(r->closed());
    p.put("hello");
    m.read_now(fd);
    if (ring) {
        EXPECT_EQ(r->data, "");
        ASSERT_TRUE(chat_test::pump(m, [&] { return r->data == "hello"; }));
    } else {
        EXPECT_EQ(r->data, "hello") << "read without a pass of the loop";
    }
    p.close_b();
    m.read_now(fd);
    if (ring) {
        ASSERT_TRUE(chat_test::pump(m, [&] { return r->closes > 0; }));
    }
    EXPECT_EQ(r->closes, 1);
    m.read_now(fd);  // gone from the map: nothing happens
    EXPECT_EQ(r->closes, 1);
}

INSTANTIATE_TEST_SUITE_P(backends, loop_suite, all_backends, backend_name);

// --- not per backend -----------------------------------------------------------------------------

TEST(dispatcher, joins_the_default_map_when_given_none) {
    sock_pair p;
    size_t before = medusa::default_map().size();
    class plain : public medusa::dispatcher {
    public:
        explicit plain(int fd) { set_socket(fd); }
    };
    auto d = make<plain>(p.release_a());
    EXPECT_EQ(medusa::default_map().size(), before + 1);
    EXPECT_EQ(&d->map(), &medusa::default_map());
    d->close();
    EXPECT_EQ(medusa::default_map().size(), before);
}

TEST(dispatcher, add_channel_without_shared_ptr_says_how) {
    socket_map m;
    sock_pair p;
    reader r(m, p.release_a());
    try {
        r.add_channel();
        ADD_FAILURE() << "add_channel succeeded without an owner";
    } catch (const std::logic_error& e) {
        EXPECT_NE(std::string(e.what()).find("make<T>"), std::string::npos) << e.what();
    }
}

TEST(dispatcher, bind_error_names_the_call_and_address) {
    socket_map m;
    auto a = make<echo_server>(m, address::inet("127.0.0.1", 0));
    class plain : public medusa::dispatcher {
    public:
        using dispatcher::dispatcher;
    };
    auto b = make<plain>(m);
    b->create_socket(AF_INET);
    try {
        b->bind(a->addr());
        ADD_FAILURE() << "bound the same port twice";
    } catch (const std::system_error& e) {
        EXPECT_EQ(std::string(e.what()),
                  fmt::format("bind({}): Address already in use", a->addr().to_string()));
    }
    medusa::close_all(m);
}

TEST(dispatcher, warnings_are_logged_only_in_debug) {
    log_capture logs;
    socket_map m;
    sock_pair p;
    class plain : public medusa::dispatcher {
    public:
        plain(socket_map& m, int fd) : dispatcher(m) { set_socket(fd); }
    };
    auto d = make<plain>(m, p.release_a());
    d->log_info("hidden", "warning");
    d->log("hidden too");
    d->log_info("shown");
    d->debug = true;
    d->log_info("now shown", "warning");
    d->log("debug line");
    EXPECT_EQ(logs.lines(), (std::vector<std::string>{"info: shown", "warning: now shown",
                                                      "log: debug line"}));
}

}  // namespace medusa_test
