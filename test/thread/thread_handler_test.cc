// script_handler end to end: an http_server whose loop runs on its own thread, C++ scripts run on
// a worker_pool, a blocking loopback client. Checks the environment, the CGI header scan, the
// body stream, keep-alive ordering, request bodies as stdin, 500/502/503, and a client that
// hangs up mid-reply.
#include "thread/thread_handler.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "asyncore/socket_map.h"
#include "http/http_server.h"
#include "http/logger.h"
#include "test/thread/helpers.h"

namespace medusa::thread {
namespace {

using namespace testing;

// A server with a script handler, its loop on a thread of its own.
struct script_server {
    socket_map map{backend::epoll};
    worker_pool pool;
    std::shared_ptr<script_handler> scripts;
    std::shared_ptr<http::http_server> server;
    std::shared_ptr<select_trigger> trigger;
    std::thread loop;
    std::thread::id loop_id;
    bool done = false;  // loop thread only

    explicit script_server(size_t threads = 2, size_t queue = 16) : pool(threads, queue) {
        server = make<http::http_server>("127.0.0.1", 0, std::make_shared<http::null_logger>(), map);
        scripts = std::make_shared<script_handler>(pool);
        server->install_handler(scripts);
        trigger = trigger_for(map);
    }
    // After every add_module().
    void start() {
        loop = std::thread([this] {
            while (!done) map.poll_once(std::chrono::milliseconds(100));
        });
        loop_id = loop.get_id();
    }
    ~script_server() {
        pool.shutdown();  // while the loop runs: a worker may be waiting for it
        if (loop.joinable()) {
            trigger->pull_trigger([this] { done = true; });
            loop.join();
        }
        close_all(map);
    }
    uint16_t port() const { return server->port(); }
};

using client = tcp_client;

std::string get(uint16_t port, std::string_view request) {
    client c(port);
    c.send(request);
    return c.read_all();
}

std::string body_of(const std::string& reply) {
    size_t end = reply.find("\r\n\r\n");
    return end == std::string::npos ? "" : reply.substr(end + 4);
}

TEST(ScriptHandler, RunsTheScriptOnAWorkerWithItsEnvironment) {
    script_server s;
    std::atomic<bool> on_loop_thread{true};
    s.scripts->add_module("hello", [&](const environment& env, std::istream&, script_output& out) {
        on_loop_thread = std::this_thread::get_id() == s.loop_id;
        out.write("Content-Type: text/plain\r\n\r\n");
        out.write(fmt::format("script={} info={} query={} method={}\n", env.at("SCRIPT_NAME"),
                              env.at("PATH_INFO"), env.at("QUERY_STRING"),
                              env.at("REQUEST_METHOD")));
    });
    s.start();
    std::string r = get(s.port(), "GET /hello/a/b?x=1 HTTP/1.0\r\n\r\n");
    EXPECT_TRUE(r.starts_with("HTTP/1.0 200 ")) << r;
    EXPECT_NE(r.find("\r\nContent-Type: text/plain\r\n"), std::string::npos) << r;
    EXPECT_EQ(body_of(r), "script=/hello info=/a/b query=x=1 method=GET\n");
    EXPECT_FALSE(on_loop_thread);

    // Not a module: the script handler does not match (404 from the server).
    EXPECT_TRUE(get(s.port(), "GET /other HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 404"));
}

TEST(ScriptHandler, StatusHeaderAndMissingHeader) {
    script_server s;
    s.scripts->add_module("missing", [](const environment&, std::istream&, script_output& out) {
        out.write("Status: 404 Not Found\nContent-Type: text/plain\n\nnot here\n");
    });
    s.scripts->add_module("silent", [](const environment&, std::istream&, script_output&) {});
    s.start();
    std::string r = get(s.port(), "GET /missing HTTP/1.0\r\n\r\n");
    EXPECT_TRUE(r.starts_with("HTTP/1.0 404")) << r;
    EXPECT_EQ(body_of(r), "not here\n");
    r = get(s.port(), "GET /silent HTTP/1.0\r\n\r\n");
    EXPECT_TRUE(r.starts_with("HTTP/1.0 502")) << r;
    EXPECT_NE(r.find("No Header from CGI Script"), std::string::npos) << r;
}

TEST(ScriptHandler, StreamedBodyKeepsPipelinedRepliesInOrder) {
    script_server s;
    s.scripts->add_module("slow", [](const environment&, std::istream&, script_output& out) {
        out.write("Content-Type: text/plain\n\n");
        for (int i = 0; i < 5; ++i) {
            out.write(fmt::format("piece {}\n", i));
            out.flush();
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    });
    s.scripts->add_module("fast", [](const environment&, std::istream&, script_output& out) {
        out.write("Content-Type: text/plain\nContent-Length: 5\n\nfast\n");
    });
    s.start();
    std::string r = get(s.port(),
                        "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
                        "GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    size_t second = r.find("HTTP/1.1 200", 1);
    ASSERT_TRUE(r.starts_with("HTTP/1.1 200")) << r;
    ASSERT_NE(second, std::string::npos) << r;
    std::string first = r.substr(0, second);
    EXPECT_NE(first.find("Transfer-Encoding: chunked"), std::string::npos) << first;
    EXPECT_NE(first.find("piece 0\n"), std::string::npos) << first;
    EXPECT_NE(first.find("piece 4\n"), std::string::npos) << first;
    EXPECT_TRUE(first.ends_with("0\r\n\r\n")) << first;
    EXPECT_TRUE(r.ends_with("\r\n\r\nfast\n")) << r;
}

TEST(ScriptHandler, RequestBodyIsTheScriptsStdin) {
    script_server s;
    s.scripts->add_module("echo", [](const environment& env, std::istream& in, script_output& out) {
        std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        out.write("Content-Type: text/plain\n\n");
        out.write(fmt::format("{} {}:{}", env.at("REQUEST_METHOD"), env.at("CONTENT_LENGTH"), body));
    });
    s.start();
    std::string r = get(s.port(), "POST /echo HTTP/1.0\r\nContent-Length: 11\r\n\r\nhello world");
    EXPECT_TRUE(r.starts_with("HTTP/1.0 200")) << r;
    EXPECT_EQ(body_of(r), "POST 11:hello world");
}

TEST(ScriptHandler, PostOrPutWithoutContentLengthIs411AndNeverRunsTheScript) {
    script_server s;
    std::atomic<int> runs{0};
    s.scripts->add_module("echo", [&](const environment&, std::istream&, script_output& out) {
        ++runs;
        out.write("Content-Type: text/plain\n\nran");
    });
    s.start();
    for (const char* method : {"POST", "PUT"}) {
        std::string r = get(s.port(), fmt::format("{} /echo HTTP/1.0\r\n\r\n", method));
        EXPECT_TRUE(r.starts_with("HTTP/1.0 411 Length Required")) << r;
    }
    // Content-Length: 0 is a length: the script runs with empty stdin.
    std::string r = get(s.port(), "POST /echo HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
    EXPECT_TRUE(r.starts_with("HTTP/1.0 200")) << r;
    EXPECT_EQ(runs.load(), 1);
}

TEST(ScriptHandler, AScriptThatThrowsGets500AndTheWorkerGoesOn) {
    log_capture log;
    script_server s(1);
    s.scripts->add_module("boom", [](const environment&, std::istream&, script_output&) {
        throw std::runtime_error("script failed");
    });
    s.scripts->add_module("ok", [](const environment&, std::istream&, script_output& out) {
        out.write("\nfine");
    });
    s.start();
    EXPECT_TRUE(get(s.port(), "GET /boom HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 500"));
    std::string r = get(s.port(), "GET /ok HTTP/1.0\r\n\r\n");
    EXPECT_TRUE(r.starts_with("HTTP/1.0 200")) << r;
    EXPECT_EQ(body_of(r), "fine");
    EXPECT_EQ(s.scripts->failed.as_long(), 1u);
    EXPECT_TRUE(log.contains("script failed"));
}

TEST(ScriptHandler, AScriptThatThrowsAfterItsHeadKeepsItsPartialBodyThenCloses) {
    // The head is out, so no 500 can follow: the client gets every byte written before the
    // failure, and the connection closes to show the reply was cut (medusa's worker died and the
    // client hung; an earlier port closed at once and lost the partial body).
    log_capture log;
    script_server s(1);
    s.scripts->add_module("boom", [](const environment&, std::istream&, script_output& out) {
        out.write("Content-Type: text/plain\n\npartial output before the exception\n");
        throw std::runtime_error("script failed mid-body");
    });
    s.start();
    std::string r = get(s.port(), "GET /boom HTTP/1.0\r\n\r\n");
    EXPECT_TRUE(r.starts_with("HTTP/1.0 200")) << r;
    EXPECT_EQ(body_of(r), "partial output before the exception\n");
    // HTTP/1.1: chunked, and the last chunk never comes; the partial chunk does.
    r = get(s.port(), "GET /boom HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_TRUE(r.starts_with("HTTP/1.1 200")) << r;
    EXPECT_NE(r.find("partial output before the exception\n"), std::string::npos) << r;
    EXPECT_EQ(r.find("\r\n0\r\n\r\n"), std::string::npos) << r;
    EXPECT_TRUE(log.contains("script failed mid-body"));
}

TEST(ScriptHandler, AFullQueueIsAnswered503AtOnce) {
    script_server s(1, 1);
    gate g;
    s.scripts->add_module("block", [&](const environment&, std::istream&, script_output& out) {
        g.wait();
        out.write("\ndone");
    });
    s.start();
    client running(s.port()), queued(s.port()), refused(s.port());
    running.send("GET /block HTTP/1.0\r\n\r\n");
    ASSERT_TRUE(g.wait_for_waiters(1));  // the only worker is busy
    queued.send("GET /block HTTP/1.0\r\n\r\n");
    auto deadline = clock::now() + 20s;
    while (s.pool.queue().size() < 1 && clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    refused.send("GET /block HTTP/1.0\r\n\r\n");
    std::string r = refused.read_all();  // while the others still wait
    EXPECT_TRUE(r.starts_with("HTTP/1.0 503")) << r;
    g.open();
    EXPECT_EQ(body_of(running.read_all()), "done");
    EXPECT_EQ(body_of(queued.read_all()), "done");
    EXPECT_EQ(s.scripts->rejected.as_long(), 1u);
}

TEST(ScriptHandler, ClientThatHangsUpMidReplyStopsTheScript) {
    script_server s;
    std::atomic<bool> saw_connection_error{false}, ran_out_of_time{false};
    s.scripts->add_module("endless", [&](const environment&, std::istream&, script_output& out) {
        out.write("Content-Type: text/plain\n\n");
        auto deadline = clock::now() + 20s;
        try {
            while (clock::now() < deadline) {
                out.write(std::string(4096, 'e'));
                out.flush();
            }
            ran_out_of_time = true;
        } catch (const connection_error&) {
            saw_connection_error = true;
            throw;  // the handler catches it quietly
        }
    });
    s.start();
    {
        client c(s.port());
        c.send("GET /endless HTTP/1.0\r\n\r\n");
        EXPECT_GE(c.read_some(100000).size(), 100000u);
    }  // hang up
    auto deadline = clock::now() + 30s;
    while (!saw_connection_error && !ran_out_of_time && clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_TRUE(saw_connection_error);
    EXPECT_EQ(s.scripts->failed.as_long(), 0u);  // a hang-up is not a script failure
}

}  // namespace
}  // namespace medusa::thread
