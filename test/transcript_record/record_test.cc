// The recording proxy end to end: an http_server, an echo server and the recorder share one
// socket_map on a loop thread; a blocking client on the test thread talks through the recorder;
// the written transcripts are then linted and replayed against the same servers.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <utime.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "asyncore/async_chat.h"
#include "asyncore/socket_map.h"
#include "http/default_handler.h"
#include "http/filesys.h"
#include "http/http_request.h"
#include "http/http_server.h"
#include "http/logger.h"
#include "transcript/record.h"
#include "transcript/replay.h"
#include "transcript/transcript.h"

namespace medusa::transcript {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

void write_file(const std::string& path, const std::string& data) {
    std::ofstream(path, std::ios::binary) << data;
    utimbuf t{1000000000, 1000000000};
    ::utime(path.c_str(), &t);
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Echoes every line back (the raw-protocol server).
class echo_channel : public async_chat {
public:
    echo_channel(int fd, socket_map& map) : async_chat(fd, map) { set_terminator("\n"); }
    void collect_incoming_data(std::string_view d) override { line_ += d; }
    void found_terminator() override {
        push(line_ + "\n");
        line_.clear();
    }

private:
    std::string line_;
};

class echo_server : public dispatcher {
public:
    explicit echo_server(socket_map& map) : dispatcher(map) {
        create_socket(AF_INET);
        set_reuse_addr();
        bind(address::inet("127.0.0.1", 0));
        listen(16);
    }
    uint16_t port() const { return address::local_of(fileno()).port(); }
    void handle_accept() override {
        if (auto c = accept()) make<echo_channel>(c->fd, map());
    }
    bool writable() override { return false; }
};

// /id replies with an X-Request-Id that differs on every request.
class request_id_handler : public http::handler {
public:
    bool match(http::http_request& r) override { return r.split_uri().path == "/id"; }
    void handle_request(std::shared_ptr<http::http_request> r) override {
        r->set("X-Request-Id", fmt::format("req-{}", ++count_));
        r->set("Content-Type", "text/plain");
        r->set("Content-Length", uint64_t(3));
        r->push("id\n");
        r->done();
    }

private:
    int count_ = 0;
};

class quiet_logger : public http::logger {
public:
    void log(std::string_view) override {}
};

// A blocking loopback client; every wait is bounded.
class blocking_client {
public:
    explicit blocking_client(uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa.sin_port = htons(port);
        ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    }
    ~blocking_client() { close(); }
    bool ok() const { return ok_; }
    void send(std::string_view s) {
        while (!s.empty()) {
            ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
            if (n <= 0) return;
            s.remove_prefix(static_cast<size_t>(n));
        }
    }
    void shutdown_write() { ::shutdown(fd_, SHUT_WR); }
    // Reads until `received` contains `what` (or end-of-file when `what` is empty), for at most 5 s.
    bool read_until(std::string_view what) {
        auto deadline = std::chrono::steady_clock::now() + 5s;
        while (what.empty() || received.find(what) == std::string::npos) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left <= 0ms) return false;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) != 1) continue;
            char buf[65536];
            ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) {
                eof = true;
                return what.empty();
            }
            received.append(buf, static_cast<size_t>(n));
        }
        return true;
    }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    std::string received;
    bool eof = false;

private:
    int fd_ = -1;
    bool ok_ = false;
};

const std::string index_html = "<html><body><h1>Root index</h1></body></html>\n";
const std::string style_css = "body { color: black; }\n";
const std::string hello_txt = "hello, world\n";

class record_test : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "medusa-record-test-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        top_ = tmpl;
        root_ = top_ + "/root";
        out_ = top_ + "/out";
        fs::create_directories(root_);
        fs::create_directories(out_);
        write_file(root_ + "/index.html", index_html);
        write_file(root_ + "/style.css", style_css);
        write_file(root_ + "/hello.txt", hello_txt);

        server_ = make<http::http_server>("127.0.0.1", 0, std::make_shared<quiet_logger>(), map_);
        auto files = std::make_shared<http::default_handler>(std::make_shared<http::os_filesystem>(root_));
        // The test rewrites a file behind the server's back and replays at once: revalidate on
        // every request instead of trusting the cache for its usual second.
        files->cache().max_age = std::chrono::milliseconds(0);
        server_->install_handler(files);
        server_->install_handler(std::make_shared<request_id_handler>());
        echo_ = make<echo_server>(map_);
    }

    // Starts the recorder in front of `target_port` and the loop thread.
    void start(record_options o, uint16_t target_port) {
        o.target = address::inet("127.0.0.1", target_port);
        o.out_dir = out_;
        options_ = o;
        recorder_ = make<recorder>(address::inet("127.0.0.1", 0), o, map_);
        recorder_->on_written = [this](const std::string& path) {
            std::lock_guard lock(mu_);
            written_.push_back(path);
        };
        port_ = recorder_->port();
        thread_ = std::thread([this] {
            while (!quit_) {
                if (stop_recorder_) recorder_->stop();
                map_.poll_once(10ms);
                if (recorder_->finished()) finished_ = true;
            }
        });
    }

    // Waits (at most 5 s) until the recorder has written everything; asks it to stop first when
    // `stop` (for sessions without --max-connections).
    std::vector<std::string> wait_written(bool stop = false) {
        if (stop) stop_recorder_ = true;
        for (int i = 0; i < 500 && !finished_; ++i) std::this_thread::sleep_for(10ms);
        EXPECT_TRUE(finished_) << "the recorder did not finish";
        std::lock_guard lock(mu_);
        return written_;
    }

    void TearDown() override {
        quit_ = true;
        if (thread_.joinable()) thread_.join();
        close_all(map_);
        std::error_code ec;
        fs::remove_all(top_, ec);
    }

    case_result replay_file(const std::string& path, uint16_t port) {
        replay_options ro;
        ro.port = std::to_string(port);
        ro.timeout = 3000ms;
        return replay(read_file(path), ro);
    }

    std::string top_, root_, out_;
    socket_map map_;
    std::shared_ptr<http::http_server> server_;
    std::shared_ptr<echo_server> echo_;
    std::shared_ptr<recorder> recorder_;
    record_options options_;
    uint16_t port_ = 0;
    std::thread thread_;
    std::atomic<bool> quit_{false}, stop_recorder_{false}, finished_{false};
    std::mutex mu_;
    std::vector<std::string> written_;
};

// The round trip: record pipelined keep-alive requests, replay them (pass), change one byte
// of a reply, replay again (fail, with a diff at that byte).
TEST_F(record_test, http_session_replays_and_a_changed_byte_fails_with_a_diff) {
    record_options o;
    o.max_connections = 1;
    start(o, server_->port());

    blocking_client c(port_);
    ASSERT_TRUE(c.ok());
    c.send("GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n"
           "GET /style.css HTTP/1.1\r\nHost: localhost\r\n\r\n");
    ASSERT_TRUE(c.read_until(style_css)) << c.received;
    c.send("GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    ASSERT_TRUE(c.read_until("")) << c.received;
    // The client saw the server's replies unchanged: three responses, bodies intact, then EOF.
    EXPECT_NE(c.received.find(index_html), std::string::npos);
    EXPECT_TRUE(c.received.ends_with(hello_txt)) << c.received;
    EXPECT_TRUE(c.eof);
    c.close();

    auto files = wait_written();
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(fs::path(files[0]).filename(), "get_index_html.transcript");
    std::string text = slurp(files[0]);
    EXPECT_TRUE(lint(text, files[0]).empty()) << text;
    EXPECT_NE(text.find("@ title: GET /index.html HTTP/1.1 (and 2 more requests)"), std::string::npos) << text;
    EXPECT_NE(text.find("@ fixture: docroot\n"), std::string::npos) << text;
    EXPECT_NE(text.find("@ protocol: http\n"), std::string::npos) << text;
    EXPECT_NE(text.find(fmt::format("@ source: {}\n", server_->server_header)), std::string::npos) << text;
    EXPECT_NE(text.find("\n< Date: {*}\\r\\n\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\n< Server: {*}\\r\\n\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\n< body { color: black; }\\n\n"), std::string::npos) << text;
    EXPECT_TRUE(text.ends_with("<close>\n")) << text;
    // Two client writes: two `>` runs, the pipelined pair in one.
    transcript t = parse(text, files[0]);
    int sends = 0;
    for (const auto& s : t.steps) sends += s.kind == step_kind::send;
    EXPECT_EQ(sends, 2) << text;

    case_result pass = replay_file(files[0], server_->port());
    EXPECT_EQ(pass.outcome, verdict::pass) << pass.report();

    write_file(root_ + "/style.css", "body { color: blacK; }\n");
    case_result fail = replay_file(files[0], server_->port());
    EXPECT_EQ(fail.outcome, verdict::fail) << fail.report();
    EXPECT_EQ(fail.turn, 1) << fail.report();
    EXPECT_NE(fail.diff.find("\n-< body { color: black; }\\n\n+< body { color: blacK; }\\n\n"), std::string::npos)
        << fail.report();
}

TEST_F(record_test, raw_session_keeps_pauses_merges_quick_writes_and_replays) {
    record_options o;
    o.protocol = protocol_kind::raw;
    o.pause_threshold = 100ms;
    o.name_prefix = "echo";
    o.fixture = "echo";
    o.max_connections = 1;
    start(o, echo_->port());

    blocking_client c(port_);
    ASSERT_TRUE(c.ok());
    c.send("hel");
    std::this_thread::sleep_for(300ms);  // a slow client: one line in two writes
    c.send("lo\n");
    ASSERT_TRUE(c.read_until("hello\n"));
    c.send("a");
    c.send("b\n");  // two writes at once: one `>` run
    ASSERT_TRUE(c.read_until("ab\n"));
    c.close();

    auto files = wait_written();
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(fs::path(files[0]).filename(), "echo-0001.transcript");
    std::string text = slurp(files[0]);
    EXPECT_TRUE(lint(text, files[0]).empty()) << text;
    transcript t = parse(text, files[0]);
    EXPECT_EQ(t.protocol(), protocol_kind::raw);
    EXPECT_EQ(t.fixture(), "echo");
    EXPECT_EQ(t.source(), "recorded");
    // > hel / ~ N / > lo\n / < hello\n / > ab\n / < ab\n, and no <close>: the client closed.
    ASSERT_EQ(t.steps.size(), 6u) << text;
    EXPECT_EQ(t.steps[0].kind, step_kind::send);
    EXPECT_EQ(t.steps[0].bytes.bytes, "hel");
    ASSERT_EQ(t.steps[1].kind, step_kind::pause) << text;
    EXPECT_GE(t.steps[1].pause_ms, 250);
    EXPECT_LT(t.steps[1].pause_ms, 5000);
    EXPECT_EQ(t.steps[2].bytes.bytes, "lo\n");
    EXPECT_EQ(t.steps[3].kind, step_kind::expect);
    EXPECT_EQ(t.steps[3].bytes.bytes, "hello\n");
    EXPECT_EQ(t.steps[4].kind, step_kind::send);
    EXPECT_EQ(t.steps[4].bytes.bytes, "ab\n");
    EXPECT_EQ(t.steps[5].bytes.bytes, "ab\n");

    case_result r = replay_file(files[0], echo_->port());
    EXPECT_EQ(r.outcome, verdict::pass) << r.report();
}

TEST_F(record_test, mask_option_hides_a_header_value_so_replay_passes) {
    record_options o;
    o.mask = {"x-request-id"};
    o.max_connections = 1;
    start(o, server_->port());

    blocking_client c(port_);
    ASSERT_TRUE(c.ok());
    c.send("GET /id HTTP/1.0\r\n\r\n");
    ASSERT_TRUE(c.read_until(""));
    EXPECT_NE(c.received.find("X-Request-Id: req-1\r\n"), std::string::npos) << c.received;
    c.close();

    auto files = wait_written();
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(fs::path(files[0]).filename(), "get_id.transcript");
    std::string text = slurp(files[0]);
    EXPECT_TRUE(lint(text, files[0]).empty()) << text;
    EXPECT_NE(text.find("\n< X-Request-Id: {*}\\r\\n\n"), std::string::npos) << text;
    EXPECT_EQ(text.find("req-1"), std::string::npos) << text;
    EXPECT_TRUE(text.ends_with("<close>\n")) << text;
    // The server now answers req-2: the masked transcript still passes.
    case_result r = replay_file(files[0], server_->port());
    EXPECT_EQ(r.outcome, verdict::pass) << r.report();
}

TEST_F(record_test, client_half_close_reaches_the_server_and_the_reply_still_arrives) {
    record_options o;
    o.protocol = protocol_kind::raw;
    o.max_connections = 1;
    start(o, echo_->port());

    blocking_client c(port_);
    ASSERT_TRUE(c.ok());
    c.send("one\ntwo\n");
    c.shutdown_write();
    // The echo server sees end-of-file only through the proxy's shutdown, answers, and closes.
    ASSERT_TRUE(c.read_until(""));
    EXPECT_EQ(c.received, "one\ntwo\n");
    EXPECT_TRUE(c.eof);
    c.close();

    auto files = wait_written();
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(fs::path(files[0]).filename(), "session-0001.transcript");
    std::string text = slurp(files[0]);
    // The client closed first: no <close>.
    EXPECT_EQ(text.find("<close>"), std::string::npos) << text;
    EXPECT_TRUE(lint(text, files[0]).empty()) << text;
}

TEST_F(record_test, many_concurrent_connections_each_get_a_unique_transcript) {
    constexpr int clients = 16;
    record_options o;
    o.max_connections = clients;
    start(o, server_->port());

    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int i = 0; i < clients; ++i) {
        threads.emplace_back([&] {
            blocking_client c(port_);
            if (!c.ok()) return;
            c.send("GET /index.html HTTP/1.0\r\n\r\n");
            if (c.read_until("") && c.received.ends_with(index_html)) ++ok;
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok, clients);

    auto files = wait_written();
    ASSERT_EQ(files.size(), size_t(clients));
    std::set<std::string> names;
    for (const auto& f : files) {
        names.insert(fs::path(f).filename().string());
        EXPECT_TRUE(lint(slurp(f), f).empty()) << f;
    }
    EXPECT_EQ(names.size(), size_t(clients));
    EXPECT_TRUE(names.contains("get_index_html.transcript"));
    EXPECT_TRUE(names.contains(fmt::format("get_index_html_{}.transcript", clients)));
    case_result r = replay_file(files.back(), server_->port());
    EXPECT_EQ(r.outcome, verdict::pass) << r.report();
}

// A client that reads slowly gets every byte of a large reply (the proxy pauses reading the server
// while the client's queue is full, and resumes).
TEST_F(record_test, a_slow_reader_gets_a_large_reply_intact) {
    std::string big;
    for (int i = 0; big.size() < 3 * 1024 * 1024; ++i) big += fmt::format("line {:07}\n", i);
    write_file(root_ + "/big.txt", big);
    record_options o;
    o.max_connections = 1;
    o.buffer_high = 16 * 1024;  // small, so that the pause and resume run many times
    o.buffer_low = 4 * 1024;
    start(o, server_->port());

    blocking_client c(port_);
    ASSERT_TRUE(c.ok());
    c.send("GET /big.txt HTTP/1.0\r\n\r\n");
    std::this_thread::sleep_for(200ms);  // the queues fill while nobody reads
    ASSERT_TRUE(c.read_until(""));
    EXPECT_TRUE(c.received.ends_with(big));
    c.close();
    auto files = wait_written();
    ASSERT_EQ(files.size(), 1u);
    // The transcript holds the whole reply (replaying 3 MB is the replayer's test, not this one's).
    transcript t = read_file(files[0]);
    std::string expected;
    for (const auto& s : t.steps)
        if (s.kind == step_kind::expect) expected += s.bytes.bytes;
    EXPECT_TRUE(expected.ends_with(big));
    EXPECT_EQ(t.steps.back().kind, step_kind::close);
}

TEST_F(record_test, stop_writes_the_open_connections) {
    record_options o;
    start(o, server_->port());
    blocking_client c(port_);
    ASSERT_TRUE(c.ok());
    c.send("GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(c.read_until(hello_txt));
    auto files = wait_written(true);  // the connection is still open
    ASSERT_EQ(files.size(), 1u);
    EXPECT_TRUE(c.read_until(""));   // the stop closed it
    std::string text = slurp(files[0]);
    EXPECT_EQ(text.find("<close>"), std::string::npos) << text;
    case_result r = replay_file(files[0], server_->port());
    EXPECT_EQ(r.outcome, verdict::pass) << r.report();
}

// --- the log-to-transcript conversion, with made-up times ------------------------------------------

TEST(make_transcript, pauses_over_the_threshold_and_merged_writes) {
    session_log log;
    log.started = clock::time_point{};
    auto at = [&](int ms) { return log.started + std::chrono::milliseconds(ms); };
    log.chunks = {{true, "GET / HTTP/1.0\r\n", at(1)},  {true, "\r\n", at(30)},
                  {false, "HTTP/1.0 200 OK\r\nDate: Sun, 09 Sep 2001 01:46:40 GMT\r\nContent-Length: 2\r\n\r\nok", at(40)},
                  {true, "GET /b HTTP/1.0\r\n", at(500)}, {true, "\r\n", at(700)}};
    record_options o;
    transcript t = make_transcript(log, o);
    std::string text = write(t);
    EXPECT_EQ(text,
              "@ title: GET / HTTP/1.0 (and 1 more requests), recorded through medusa-transcript record\n"
              "@ fixture: docroot\n@ protocol: http\n@ source: recorded\n\n"
              "> GET / HTTP/1.0\\r\\n\n> \\r\\n\n< HTTP/1.0 200 OK\\r\\n\n< Date: {*}\\r\\n\n"
              "< Content-Length: 2\\r\\n\n< \\r\\n\n< ok\n\n"
              "~ 460\n> GET /b HTTP/1.0\\r\\n\n~ 200\n> \\r\\n\n");
    EXPECT_TRUE(lint(text, "x.transcript").empty());
}

TEST(make_transcript, masks_only_header_values_not_bodies) {
    std::string reply =
        "HTTP/1.1 200 OK\r\nServer: Medusa/1.12\r\nETag: \"abc\"\r\nContent-Length: 14\r\n\r\nDate: in body\n";
    pattern p = mask_responses(reply, {"GET"}, {});
    EXPECT_EQ(p.bytes, "HTTP/1.1 200 OK\r\nServer: \r\nETag: \r\nContent-Length: 14\r\n\r\nDate: in body\n");
    EXPECT_EQ(p.globs.size(), 2u);
    EXPECT_TRUE(matches(p, "HTTP/1.1 200 OK\r\nServer: other/2\r\nETag: \"x\"\r\nContent-Length: 14\r\n\r\nDate: in body\n"));
    EXPECT_FALSE(matches(p, "HTTP/1.1 200 OK\r\nServer: other/2\r\nETag: \"x\"\r\nContent-Length: 14\r\n\r\nDate: in bodY\n"));
}

TEST(make_transcript, names_from_the_request_line) {
    EXPECT_EQ(name_from_request("GET / HTTP/1.0\r\n\r\n"), "get_root");
    EXPECT_EQ(name_from_request("GET /index.html HTTP/1.1\r\n"), "get_index_html");
    EXPECT_EQ(name_from_request("POST /cgi-bin/x.py?a=1 HTTP/1.1\r\n"), "post_cgi_bin_x_py_a_1");
    EXPECT_EQ(name_from_request("hello\n"), "");
    EXPECT_EQ(name_from_request(""), "");
}

}  // namespace
}  // namespace medusa::transcript
