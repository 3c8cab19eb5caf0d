// The way a finished reply leaves: http_request::done() pushes a reply that is one buffer
// straight to the socket (async_chat's direct send), writes its log line at once when all of it
// went, queues a hook for the line when only part of it did, and writes none when the client
// has gone; and the Server/Date lines every reply starts with follow the server's settings.
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>


#include "http/posix_regex.h"

#include "test/http/http_client.h"
#include "test/http/server_fixture.h"
#include "test/backends.h"

using namespace medusa;
using namespace medusa::http;
using namespace medusa::http::testing;

namespace {

// /sixty: a 60,000-byte body pushed as one string, so that done() makes the whole reply one
// buffer (under its 64 KiB gathering limit) and pushes it directly.
const std::string sixty_body = [] {
    std::string s(60000, '\0');
    for (size_t i = 0; i < s.size(); ++i) s[i] = char('A' + i * 11 % 26);
    return s;
}();

class sixty_handler : public handler {
public:
    bool match(http_request& r) override { return r.split_uri().path == "/sixty"; }
    void handle_request(std::shared_ptr<http_request> r) override {
        r->set("Content-Type", "text/plain");
        r->set("Content-Length", uint64_t(sixty_body.size()));
        r->push(sixty_body);
        r->done();
    }
};

// /late: replies once `go` is set (by the test, after its client has reset the connection),
// looking every 5 ms, at most 2 s: a deferred reply. Reading stays paused meanwhile, so the
// reset goes unseen until the reply is sent into it.
class late_handler : public handler {
public:
    late_handler(socket_map& map, std::atomic<int>& seen, std::atomic<bool>& go,
                 std::atomic<int>& replied)
        : map_(map), seen_(seen), go_(go), replied_(replied) {}
    bool match(http_request& r) override { return r.split_uri().path == "/late"; }
    void handle_request(std::shared_ptr<http_request> r) override {
        ++seen_;
        wait(std::move(r), 400);
    }

private:
    void wait(std::shared_ptr<http_request> r, int tries) {
        map_.call_later(std::chrono::milliseconds(5), [this, r = std::move(r), tries]() mutable {
            if (!go_ && tries > 0) return wait(std::move(r), tries - 1);
            r->set("Content-Type", "text/plain");
            r->set("Content-Length", uint64_t(4));
            r->push("late");
            r->done();
            ++replied_;
        });
    }

    socket_map& map_;
    std::atomic<int>& seen_;
    std::atomic<bool>& go_;
    std::atomic<int>& replied_;
};

// /rename/NAME: sets the server's Server header to NAME (on the loop's thread, as any setting
// of a running server must be changed).
class rename_handler : public handler {
public:
    bool match(http_request& r) override { return r.split_uri().path.starts_with("/rename/"); }
    void handle_request(std::shared_ptr<http_request> r) override {
        r->server()->server_header = std::string(r->split_uri().path.substr(8));
        r->set("Content-Length", uint64_t(2));
        r->push("ok");
        r->done();
    }
};

// /code/N: replies with status N (any int a handler may set, 0 included) and a 2-byte body.
class code_handler : public handler {
public:
    bool match(http_request& r) override { return r.split_uri().path.starts_with("/code/"); }
    void handle_request(std::shared_ptr<http_request> r) override {
        r->reply_code = std::stoi(std::string(r->split_uri().path.substr(6)));
        r->set("Content-Length", uint64_t(2));
        r->push("ok");
        r->done();
    }
};

class reply_path : public server_test {
protected:
    void install_more_handlers() override {
        server_->install_handler(std::make_shared<code_handler>());
        server_->install_handler(std::make_shared<sixty_handler>());
        server_->install_handler(std::make_shared<late_handler>(*map_, seen_, go_, replied_));
        server_->install_handler(std::make_shared<rename_handler>());
    }

    // The server's end of the client's connection: the descriptor of this process whose peer is
    // the client's own address (the server runs in this process). -1 if it is not there within
    // a second (accepted on the loop's thread, after connect() returned here).
    static int server_end_of(const client& c) {
        sockaddr_in mine{};
        socklen_t len = sizeof mine;
        if (::getsockname(c.fd(), reinterpret_cast<sockaddr*>(&mine), &len) != 0) return -1;
        for (int attempt = 0; attempt < 100; ++attempt) {
            for (int fd = 3; fd < 4096; ++fd) {
                sockaddr_in peer{};
                socklen_t plen = sizeof peer;
                if (fd == c.fd() ||
                    ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen) != 0)
                    continue;
                if (peer.sin_family == AF_INET && peer.sin_port == mine.sin_port &&
                    peer.sin_addr.s_addr == mine.sin_addr.s_addr)
                    return fd;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return -1;
    }

    std::atomic<int> seen_{0}, replied_{0};
    std::atomic<bool> go_{false};
};

}  // namespace

TEST_P(reply_path, replies_the_socket_cannot_take_yet_are_logged_once_they_have_gone) {
    client c(port_);
    // A small send buffer at the server's end, and six 60 KB replies asked for at once and not
    // read: the client's receive buffer and the socket take the first ones, and one reply meets
    // a full socket with nothing queued before it (done()'s direct send takes part of it, or
    // none): the rest waits in the channel's queue, and so must the log lines of the replies
    // not yet gone.
    int small = 4096;
    // A first request: the listener defers accept() until data arrives (TCP_DEFER_ACCEPT).
    c.send(get("/index.html"));
    auto first = c.read_reply();
    ASSERT_TRUE(first);
    ASSERT_EQ(log_lines(1).size(), 1u);
    int server_fd = server_end_of(c);
    ASSERT_GE(server_fd, 0) << "the server's end of the connection";
    ASSERT_EQ(::setsockopt(server_fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    constexpr size_t replies = 6;
    std::string requests;
    for (size_t i = 0; i < replies; ++i) requests += get("/sixty");
    c.send(requests);

    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    // What has left the channel is in the client's receive queue or the server's send queue.
    // (The lines first: both counts only grow, so a reply that leaves in between cannot make
    // the lines look ahead of the bytes.)
    size_t logged = log_->lines().size() - 1;  // the first request's line
    int at_client = 0, at_server = 0;
    ASSERT_EQ(::ioctl(c.fd(), FIONREAD, &at_client), 0);
    ASSERT_EQ(::ioctl(server_fd, SIOCOUTQ, &at_server), 0);
    size_t gone = size_t(at_client) + size_t(at_server);
    ASSERT_LT(gone, replies * sixty_body.size()) << "the socket took every reply";
    // A reply is logged once all of it has left the channel: never more lines than that.
    EXPECT_LE(logged * sixty_body.size(), gone) << logged << " lines for " << gone << " bytes";

    for (size_t i = 0; i < replies; ++i) {
        auto r = c.read_reply();
        ASSERT_TRUE(r) << "reply " << i;
        EXPECT_EQ(r->code(), 200);
        EXPECT_EQ(r->body, sixty_body) << "reply " << i;
    }
    auto lines = log_lines(replies + 1);
    ASSERT_EQ(lines.size(), replies + 1);
    lines.erase(lines.begin());  // the first request's
    for (const auto& line : lines)
        EXPECT_NE(line.find("\"GET /sixty HTTP/1.1\" 200 "), std::string::npos) << line;
    // Each counts its whole reply, header block included.
    posix_regex count(".* 200 ([0-9]+)\n");
    for (const auto& line : lines) {
        auto m = count.full_match(line);
        ASSERT_TRUE(m) << line;
        EXPECT_GT(std::stoul((*m)[0]), sixty_body.size());
        EXPECT_LT(std::stoul((*m)[0]), sixty_body.size() + 200);
    }
}

TEST_P(reply_path, a_reply_sent_into_a_reset_connection_is_not_logged_and_the_server_serves_on) {
    {
        client c(port_);
        c.send(get("/late"));
        for (int i = 0; i < 500 && seen_ == 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        ASSERT_EQ(seen_, 1) << "the request reached its handler";
        // Gone before the reply: closed with a reset (SO_LINGER 0), which the server does not
        // see until it sends (it does not read while a request waits for its reply).
        linger l{1, 0};
        ASSERT_EQ(::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &l, sizeof l), 0);
    }
    go_ = true;  // reset: now the reply may go
    for (int i = 0; i < 500 && replied_ == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ASSERT_EQ(replied_, 1) << "the handler replied";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(log_->lines().size(), 0u) << "a reply that never reached its client was logged";

    client d(port_);
    d.send(get("/index.html"));
    auto r = d.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), 200);
    EXPECT_EQ(r->body, index_html);
    auto lines = log_lines(1);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("\"GET /index.html HTTP/1.1\" 200 "), std::string::npos) << lines[0];
}

TEST_P(reply_path, server_and_date_follow_a_change_of_the_servers_name) {
    client c(port_);
    c.send(get("/index.html"));
    auto before = c.read_reply();
    ASSERT_TRUE(before);
    EXPECT_EQ(before->header("Server"), "Medusa/1.12");

    c.send(get("/rename/Renamed/2.0"));
    ASSERT_TRUE(c.read_reply());
    // The requests right after (within the same second as the last, as a rule: the lines are
    // rebuilt for the new name, not only when the second changes).
    for (int i = 0; i < 3; ++i) {
        c.send(get("/index.html"));
        auto r = c.read_reply();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->header("Server"), "Renamed/2.0");
        EXPECT_EQ(r->count("Server"), 1u);
        EXPECT_EQ(r->count("Date"), 1u);
        EXPECT_EQ(r->body, index_html);
    }

    c.send(get("/rename/Medusa/1.12") + get("/index.html"));
    ASSERT_TRUE(c.read_reply());
    auto back = c.read_reply();
    ASSERT_TRUE(back);
    EXPECT_EQ(back->header("Server"), "Medusa/1.12");
}

TEST_P(reply_path, status_lines_follow_the_version_and_code_of_each_reply) {
    // The status lines come from a thread's table of recent ones: first a code of 0 from a
    // request without a version, while the table is still empty (an empty slot must not pass
    // for it), then more distinct (version, code) pairs than it holds, each asked twice.
    for (int code : {0, 200, 0}) {
        client old(port_);
        old.send("GET /code/" + std::to_string(code) + "\r\n\r\n");  // no version: HTTP/1.0, then close
        std::string all = old.read_all();
        std::string want = "HTTP/1.0 " + std::to_string(code) + " " +
                           std::string(http_request::reason(code)) + "\r\n";
        EXPECT_EQ(all.substr(0, want.size()), want) << code;
    }
    client c(port_);
    for (int round = 0; round < 2; ++round) {
        for (int code : {200, 404, 299, 500, 201, 302, 503, 418, 204, 301, 0, 200}) {
            c.send(get("/code/" + std::to_string(code)));
            auto r = c.read_reply(code == 204);
            ASSERT_TRUE(r) << code;
            EXPECT_EQ(r->status_line, "HTTP/1.1 " + std::to_string(code) + " " +
                                          std::string(http_request::reason(code)))
                << code;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(backends, reply_path, ::testing::ValuesIn(medusa_test::every_backend()),
                         medusa_test::backend_name);
