// cgi_handler end to end: a real http_server on loopback, a temporary cgi-bin, real scripts.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "asyncore/dispatcher.h"
#include "asyncore/socket_map.h"
#include "cgi/cgi_handler.h"
#include "helpers.h"
#include "http/http_server.h"
#include "http/logger.h"

namespace {

using namespace std::chrono_literals;
using medusa::cgi::testing::client;
using medusa::cgi::testing::reply;
namespace fs = std::filesystem;

// The scripts of the temporary cgi-bin: the demo's, plus scripts that misbehave.
const std::pair<const char*, const char*> scripts[] = {
    {"hello", "printf 'Content-Type: text/plain\\n\\nHello, world!\\n'\n"},
    {"env", "printf 'Content-Type: text/plain\\n\\n'\nenv\n"},
    {"echo", "printf 'Content-Type: application/octet-stream\\n\\n'\nexec cat\n"},
    {"status404", "printf 'Status: 404 Not Found\\nContent-Type: text/plain\\n\\nnothing here\\n'\n"},
    {"redirect",
     "if [ \"$QUERY_STRING\" = local ]; then\n"
     "  printf 'Location: /cgi-bin/hello\\n\\n'\n"
     "else\n"
     "  printf 'Location: http://example.org/elsewhere\\n\\n'\n"
     "fi\n"},
    {"loop", "printf 'Location: /cgi-bin/loop\\n\\n'\n"},
    {"nph-hello",
     "printf 'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\nConnection: close\\r\\n\\r\\n"
     "raw bytes\\n'\n"},
    {"fail", "exit 3\n"},
    {"warn", "echo 'first problem' >&2\nprintf 'partial' >&2\n"
             "printf 'Content-Type: text/plain\\n\\nok\\n'\n"},
    {"sleepy", "echo $$ > \"$PID_FILE_DIR/sleepy.pid\"\nsleep 30\n"},
    {"headsleep", "echo $$ > \"$PID_FILE_DIR/headsleep.pid\"\n"
                  "printf 'Content-Type: text/plain\\n\\nstarted\\n'\nsleep 30\n"},
    {"forever", "echo $$ > \"$PID_FILE_DIR/forever.pid\"\n"
                "printf 'Content-Type: text/plain\\n\\n'\nexec yes 0123456789012345678901234567890\n"},
    {"slow", "printf 'Content-Type: text/plain\\n\\n'\n"
             "for i in 1 2 3; do echo \"line $i\"; sleep 0.05; done\n"},
    {"fds", "printf 'Content-Type: text/plain\\n\\n'\nexec ls -l /proc/self/fd/\n"},
    {"length", "printf 'Content-Type: text/plain\\nContent-Length: 5\\n\\nhello, and more'\n"},
};

class CgiHandler : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/medusa-cgi-test-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        root_ = tmpl;
        bin_ = root_ / "cgi-bin";
        fs::create_directory(bin_);
        for (const auto& [name, body] : scripts) write_script(name, body);
        fs::create_directory(bin_ / "subdir");
        write_file(bin_ / "noexec", "#!/bin/sh\necho hi\n", 0644);
        write_file(root_ / "outside", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nout\\n'\n", 0755);
        fs::create_symlink(root_ / "outside", bin_ / "escape");
        // The scripts learn where to leave their pid through the server's environment.
        ::setenv("PID_FILE_DIR", root_.c_str(), 1);

        medusa::set_log_sink([this](std::string_view line) {
            std::lock_guard lock(log_mutex_);
            log_.emplace_back(line);
        });
        map_ = std::make_unique<medusa::socket_map>();
        server_ = medusa::make<medusa::http::http_server>(
            "127.0.0.1", 0, std::make_shared<medusa::http::null_logger>(), *map_);
        medusa::cgi::cgi_options o;
        o.directory = bin_.string();
        o.timeout = 1s;
        o.kill_grace = 500ms;
        o.env.pass_through = {"PATH", "PID_FILE_DIR"};
        cgi_ = std::make_shared<medusa::cgi::cgi_handler>(o);
        server_->install_handler(cgi_);
        // The same folder at /long, with a timeout no test waits for: a script stopped there
        // was stopped for another reason.
        o.prefix = "/long";
        o.timeout = 60s;
        long_cgi_ = std::make_shared<medusa::cgi::cgi_handler>(o);
        server_->install_handler(long_cgi_);
        port_ = server_->port();
        loop_ = std::thread([this] {
            while (!stop_) map_->poll_once(20ms);
        });
    }

    void TearDown() override {
        stop_ = true;
        loop_.join();
        medusa::close_all(*map_);
        cgi_.reset();
        long_cgi_.reset();
        server_.reset();
        map_.reset();
        medusa::set_log_sink(nullptr);
        if (HasFailure())
            for (const auto& l : log_) std::fprintf(stderr, "log: %s\n", l.c_str());
        ::unsetenv("PID_FILE_DIR");
        // No zombie and no script left behind by any test.
        auto kids = medusa::cgi::testing::children();
        for (const auto& [pid, state] : kids) ADD_FAILURE() << "child " << pid << " state " << state;
        fs::remove_all(root_);
    }

    void write_file(const fs::path& p, const std::string& text, mode_t mode) {
        std::ofstream(p) << text;
        ::chmod(p.c_str(), mode);
    }
    void write_script(const std::string& name, const std::string& body) {
        write_file(bin_ / name, "#!/bin/sh\n" + body, 0755);
    }

    reply get(const std::string& request, bool head_only = false) {
        client c(port_);
        c.send(request);
        return c.read_reply(head_only);
    }

    pid_t wait_pid_file(const std::string& name) {
        auto end = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < end) {
            std::ifstream f(root_ / name);
            pid_t pid = 0;
            if (f >> pid && pid > 0) return pid;
            std::this_thread::sleep_for(20ms);
        }
        return -1;
    }

    bool log_has(const std::string& text) {
        std::lock_guard lock(log_mutex_);
        for (const auto& l : log_)
            if (l.find(text) != std::string::npos) return true;
        return false;
    }

    // The client reads the reply's head and first line, then goes; the script must be killed.
    void disconnect_during_the_reply(const std::string& request);

    bool wait_log(const std::string& text) {
        auto end = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < end) {
            if (log_has(text)) return true;
            std::this_thread::sleep_for(20ms);
        }
        return false;
    }

    fs::path root_, bin_;
    std::unique_ptr<medusa::socket_map> map_;
    std::shared_ptr<medusa::http::http_server> server_;
    std::shared_ptr<medusa::cgi::cgi_handler> cgi_, long_cgi_;
    uint16_t port_ = 0;
    std::thread loop_;
    std::atomic<bool> stop_{false};
    std::mutex log_mutex_;
    std::vector<std::string> log_;
};

TEST_F(CgiHandler, Hello200OverHttp10) {
    reply r = get("GET /cgi-bin/hello HTTP/1.0\r\n\r\n");
    EXPECT_EQ(r.status_line, "HTTP/1.0 200 OK");
    EXPECT_EQ(r.header("Content-Type"), "text/plain");
    EXPECT_EQ(r.body, "Hello, world!\n");
    EXPECT_TRUE(r.closed);
}

TEST_F(CgiHandler, Http11KeepsTheConnectionWithChunkedReplies) {
    client c(port_);
    c.send("GET /cgi-bin/hello HTTP/1.1\r\nHost: x\r\n\r\nGET /cgi-bin/slow HTTP/1.1\r\nHost: x\r\n\r\n");
    reply a = c.read_reply();
    EXPECT_EQ(a.status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(a.header("Transfer-Encoding"), "chunked");
    EXPECT_EQ(a.body, "Hello, world!\n");
    reply b = c.read_reply();
    EXPECT_EQ(b.code(), 200);
    EXPECT_EQ(b.body, "line 1\nline 2\nline 3\n");
    c.send("GET /cgi-bin/length HTTP/1.1\r\nHost: x\r\n\r\n");
    reply l = c.read_reply();
    EXPECT_EQ(l.header("Content-Length"), "5");
    EXPECT_EQ(l.body, "hello");  // what the script wrote past its length is not sent
    c.send("GET /cgi-bin/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    reply d = c.read_reply();
    EXPECT_EQ(d.body, "Hello, world!\n");
    EXPECT_TRUE(c.server_closed());
}

TEST_F(CgiHandler, Environment) {
    reply r = get(
        "GET /cgi-bin/env/extra/path?a=1&b=2 HTTP/1.1\r\nHost: example.org:8080\r\n"
        "X-Test: one\r\nX-Test: two\r\nProxy: http://evil:3128\r\n"
        "Authorization: Basic dTpw\r\nConnection: close\r\n\r\n");
    ASSERT_EQ(r.code(), 200);
    const std::string& e = r.body;
    for (const char* kv :
         {"GATEWAY_INTERFACE=CGI/1.1\n", "QUERY_STRING=a=1&b=2\n", "PATH_INFO=/extra/path\n",
          "SCRIPT_NAME=/cgi-bin/env\n", "REQUEST_METHOD=GET\n", "SERVER_PROTOCOL=HTTP/1.1\n",
          "SERVER_NAME=example.org\n", "REMOTE_ADDR=127.0.0.1\n", "HTTP_X_TEST=one, two\n",
          "AUTH_TYPE=Basic\n", "REQUEST_URI=/cgi-bin/env/extra/path?a=1&b=2\n",
          "HTTP_HOST=example.org:8080\n"})
        EXPECT_NE(e.find(kv), std::string::npos) << kv << "\n" << e;
    EXPECT_NE(e.find("SERVER_PORT=" + std::to_string(port_) + "\n"), std::string::npos) << e;
    EXPECT_EQ(e.find("HTTP_PROXY"), std::string::npos) << e;
    EXPECT_EQ(e.find("HTTP_AUTHORIZATION"), std::string::npos) << e;
    EXPECT_EQ(e.find("HOME="), std::string::npos) << e;
    EXPECT_EQ(e.find("CONTENT_LENGTH"), std::string::npos) << e;
}

TEST_F(CgiHandler, EmptyQueryIsPresent) {
    reply r = get("GET /cgi-bin/env HTTP/1.0\r\n\r\n");
    EXPECT_NE(r.body.find("\nQUERY_STRING=\n"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("PATH_INFO="), std::string::npos) << r.body;
}

TEST_F(CgiHandler, PostEchoWithContentLength) {
    std::string body;
    for (int i = 0; i < 300000; ++i) body.push_back(char(i * 7 + i / 251));
    client c(port_);
    c.send("POST /cgi-bin/echo HTTP/1.0\r\nContent-Type: application/octet-stream\r\n"
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n");
    c.send(body);
    reply r = c.read_reply();
    EXPECT_EQ(r.code(), 200);
    EXPECT_EQ(r.body.size(), body.size());
    EXPECT_TRUE(r.body == body);
}

TEST_F(CgiHandler, LargeBodyStreamsBothWaysOverHttp11) {
    // More than every buffer on the way (stdin queue, pipes, stream): the body must flow while
    // the reply streams back, so the client sends from a thread and reads meanwhile.
    std::string body(3 << 20, '\0');
    for (size_t i = 0; i < body.size(); ++i) body[i] = char('a' + (i * 31 + i / 4093) % 26);
    client c(port_);
    std::thread sender([&] {
        c.send("POST /cgi-bin/echo HTTP/1.1\r\nHost: x\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n");
        c.send(body);
    });
    reply r = c.read_reply();
    sender.join();
    EXPECT_EQ(r.code(), 200);
    EXPECT_EQ(r.body.size(), body.size());
    EXPECT_TRUE(r.body == body);
}

TEST_F(CgiHandler, LargeBodyStreamsBothWaysOverHttp10) {
    // The reply (which closes the connection) starts long before the body ends: the script
    // must still get all of it, and the reply all of its output.
    std::string body(3 << 20, '\0');
    for (size_t i = 0; i < body.size(); ++i) body[i] = char('a' + (i * 17 + i / 4091) % 26);
    client c(port_);
    std::thread sender([&] {
        c.send("POST /long/echo HTTP/1.0\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\n\r\n");
        c.send(body);
    });
    reply r = c.read_reply();
    sender.join();
    EXPECT_EQ(r.code(), 200);
    EXPECT_TRUE(r.closed);
    EXPECT_EQ(r.body.size(), body.size());
    EXPECT_TRUE(r.body == body);
}

TEST_F(CgiHandler, PostEchoChunked) {
    client c(port_);
    c.send("POST /cgi-bin/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           "5\r\nhello\r\n1;ext=1\r\n,\r\n7\r\n world\n\r\n0\r\n\r\n");
    reply r = c.read_reply();
    EXPECT_EQ(r.code(), 200);
    EXPECT_EQ(r.body, "hello, world\n");
    // The connection is still usable.
    c.send("POST /cgi-bin/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
    EXPECT_EQ(c.read_reply().body, "abc");
}

TEST_F(CgiHandler, StatusField) {
    reply r = get("GET /cgi-bin/status404 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(r.code(), 404);
    EXPECT_EQ(r.body, "nothing here\n");
    EXPECT_FALSE(r.header("Status"));
}

TEST_F(CgiHandler, ClientRedirectIs302) {
    reply r = get("GET /cgi-bin/redirect HTTP/1.0\r\n\r\n");
    EXPECT_EQ(r.code(), 302);
    EXPECT_EQ(r.header("Location"), "http://example.org/elsewhere");
}

TEST_F(CgiHandler, LocalRedirectIsServedInternally) {
    reply r = get("GET /cgi-bin/redirect?local HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(r.code(), 200);
    EXPECT_FALSE(r.header("Location"));
    EXPECT_EQ(r.body, "Hello, world!\n");
}

TEST_F(CgiHandler, LocalRedirectKeepsTheConnectionAndThePipelineOrder) {
    client c(port_);
    // Both requests in one write: the second waits behind the redirected reply.
    c.send("GET /cgi-bin/redirect?local HTTP/1.1\r\nHost: x\r\n\r\n"
           "GET /cgi-bin/status404 HTTP/1.1\r\nHost: x\r\n\r\n");
    reply first = c.read_reply();
    EXPECT_EQ(first.code(), 200);
    EXPECT_EQ(first.body, "Hello, world!\n");
    EXPECT_NE(first.header("Connection"), "close");
    reply second = c.read_reply();
    EXPECT_EQ(second.code(), 404);
    EXPECT_EQ(second.body, "nothing here\n");
    // Still open: a third request on the same connection.
    c.send("GET /cgi-bin/redirect?local HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(c.read_reply().body, "Hello, world!\n");
}

TEST_F(CgiHandler, LocalRedirectOfAnHttp10RequestCloses) {
    client c(port_);
    c.send("GET /cgi-bin/redirect?local HTTP/1.0\r\n\r\n");
    reply r = c.read_reply();
    EXPECT_EQ(r.status_line, "HTTP/1.0 200 OK");
    EXPECT_EQ(r.body, "Hello, world!\n");
    EXPECT_TRUE(r.closed || c.server_closed());
}

TEST_F(CgiHandler, LocalRedirectWhileTheBodyIsStillArriving) {
    // The script redirects without reading its input; the rest of the body comes after the
    // redirected reply and must be dropped as body, not read as the request it looks like.
    std::string fake = "GET /cgi-bin/status404 HTTP/1.1\r\nHost: x\r\n\r\n";
    std::string body = "start" + std::string(20000, '.') + fake;
    client c(port_);
    c.send("POST /cgi-bin/redirect?local HTTP/1.1\r\nHost: x\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, 5));
    reply first = c.read_reply();  // comes before the body has ended
    EXPECT_EQ(first.code(), 200);
    EXPECT_EQ(first.body, "Hello, world!\n");
    c.send(body.substr(5) + "GET /cgi-bin/hello HTTP/1.1\r\nHost: x\r\n\r\n");
    reply second = c.read_reply();
    EXPECT_EQ(second.code(), 200);
    EXPECT_EQ(second.body, "Hello, world!\n");
}

TEST_F(CgiHandler, LocalRedirectLoopEndsIn500) {
    reply r = get("GET /cgi-bin/loop HTTP/1.0\r\n\r\n");
    EXPECT_EQ(r.code(), 500);
    EXPECT_TRUE(wait_log("local redirect to /cgi-bin/loop: more than 10 deep"));
    // Over HTTP/1.1 the 500 keeps the connection, like any other reply.
    client c(port_);
    c.send("GET /cgi-bin/loop HTTP/1.1\r\nHost: x\r\n\r\nGET /cgi-bin/hello HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(c.read_reply().code(), 500);
    EXPECT_EQ(c.read_reply().body, "Hello, world!\n");
}

TEST_F(CgiHandler, NphOutputPassesUntouched) {
    client c(port_);
    c.send("GET /cgi-bin/nph-hello HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(c.read_to_close(),
              "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nraw bytes\n");
}

TEST_F(CgiHandler, HeadRunsTheScriptAndSendsNoBody) {
    client c(port_);
    c.send("HEAD /cgi-bin/hello HTTP/1.1\r\nHost: x\r\n\r\n");
    reply r = c.read_reply(true);
    EXPECT_EQ(r.code(), 200);
    // The next reply on the connection starts right after the head: no body came between.
    c.send("GET /cgi-bin/status404 HTTP/1.1\r\nHost: x\r\n\r\n");
    reply n = c.read_reply();
    EXPECT_EQ(n.code(), 404);
    EXPECT_EQ(n.body, "nothing here\n");
}

TEST_F(CgiHandler, SilentFailureIs502) {
    reply r = get("GET /cgi-bin/fail HTTP/1.0\r\n\r\n");
    EXPECT_EQ(r.status_line, "HTTP/1.0 502 Bad Gateway");
    EXPECT_NE(r.body.find("No Header from CGI Script"), std::string::npos) << r.body;
    EXPECT_TRUE(wait_log("cgi fail["));
    EXPECT_TRUE(wait_log("]: exit 3"));
}

TEST_F(CgiHandler, StderrGoesToTheLogLineByLine) {
    reply r = get("GET /cgi-bin/warn HTTP/1.0\r\n\r\n");
    EXPECT_EQ(r.body, "ok\n");
    EXPECT_TRUE(wait_log("]: first problem"));
    EXPECT_TRUE(wait_log("]: partial"));
}

TEST_F(CgiHandler, TimeoutWithoutHeaderIs504) {
    reply r = get("GET /cgi-bin/sleepy HTTP/1.0\r\n\r\n");
    EXPECT_EQ(r.code(), 504);
    pid_t pid = wait_pid_file("sleepy.pid");
    ASSERT_GT(pid, 0);
    EXPECT_TRUE(medusa::cgi::testing::wait_gone(pid, 10s));
}

TEST_F(CgiHandler, TimeoutAfterHeaderClosesTheConnection) {
    client c(port_);
    c.send("GET /cgi-bin/headsleep HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string got = c.read_to_close();  // ends when the server closes, well before 30 s
    EXPECT_NE(got.find("HTTP/1.1 200"), std::string::npos) << got;
    EXPECT_NE(got.find("started\n"), std::string::npos) << got;
    EXPECT_EQ(got.find("\r\n0\r\n\r\n"), std::string::npos) << "the reply must not look complete";
}

TEST_F(CgiHandler, ClientDisconnectKillsTheScript) {
    // Under /long the timeout is 60 s: a script gone within 10 s was stopped for the disconnect.
    pid_t pid;
    {
        client c(port_);
        c.send("GET /long/sleepy HTTP/1.1\r\nHost: x\r\n\r\n");
        pid = wait_pid_file("sleepy.pid");
        ASSERT_GT(pid, 0);
    }
    EXPECT_TRUE(medusa::cgi::testing::wait_gone(pid, 10s));
    EXPECT_TRUE(wait_log("client closed the connection"));
    EXPECT_EQ(long_cgi_->disconnects.as_long(), 1);
    EXPECT_EQ(long_cgi_->timeouts.as_long(), 0);
}

TEST_F(CgiHandler, ClientDisconnectWithAPipelinedRequestKillsTheScript) {
    // The channel holds the pipelined request unframed while it waits; the end of file behind
    // it is still seen.
    pid_t pid;
    {
        client c(port_);
        c.send("GET /long/sleepy HTTP/1.1\r\nHost: x\r\n\r\n"
               "GET /long/hello HTTP/1.1\r\nHost: x\r\n\r\n");
        pid = wait_pid_file("sleepy.pid");
        ASSERT_GT(pid, 0);
    }
    EXPECT_TRUE(medusa::cgi::testing::wait_gone(pid, 10s));
    EXPECT_EQ(long_cgi_->disconnects.as_long(), 1);
}

// The client goes away after the head and the first line of a reply whose script then sleeps;
// the channel, with nothing it can send, still watches the socket (on_close) and kills it.
void CgiHandler::disconnect_during_the_reply(const std::string& request) {
    pid_t pid;
    {
        client c(port_);
        c.send(request);
        // The head and the first line are out; the script sleeps.
        std::string got;
        char b[4096];
        while (got.find("started\n") == std::string::npos) {
            ssize_t n = ::recv(c.fd(), b, sizeof b, 0);
            ASSERT_GT(n, 0) << got;
            got.append(b, size_t(n));
        }
        pid = wait_pid_file("headsleep.pid");
        ASSERT_GT(pid, 0);
    }
    EXPECT_TRUE(medusa::cgi::testing::wait_gone(pid, 10s));
    EXPECT_EQ(long_cgi_->disconnects.as_long(), 1);
    EXPECT_EQ(long_cgi_->timeouts.as_long(), 0);
}

TEST_F(CgiHandler, ClientDisconnectDuringTheReplyKillsTheScript) {
    disconnect_during_the_reply("GET /long/headsleep HTTP/1.1\r\nHost: x\r\n\r\n");
}

// The same when the reply is the connection's last (the client said it sends nothing after
// its request): the channel has stopped reading for more requests, not for the close.
TEST_F(CgiHandler, ClientDisconnectDuringTheLastReplyKillsTheScript) {
    disconnect_during_the_reply("GET /long/headsleep HTTP/1.0\r\n\r\n");
}

TEST_F(CgiHandler, ClientDisconnectDuringAClosingReplyKillsTheScript) {
    disconnect_during_the_reply(
        "GET /long/headsleep HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
}

TEST_F(CgiHandler, NonReadingClientKeepsMemoryBounded) {
    client c(port_);
    // A small receive buffer, so the kernel holds little on our side either.
    int small = 16 * 1024;
    ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    c.send("GET /cgi-bin/forever HTTP/1.1\r\nHost: x\r\n\r\n");
    pid_t pid = wait_pid_file("forever.pid");
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(700ms);  // `yes` would write gigabytes meanwhile if unchecked
    std::ifstream io("/proc/" + std::to_string(pid) + "/io");
    std::string key;
    uint64_t value = 0, written = 0;
    while (io >> key >> value)
        if (key == "wchar:") written = value;
    EXPECT_GT(written, 0u);
    EXPECT_LT(written, 32u << 20) << "the server kept reading a script whose client reads nothing";
    c.close();
    EXPECT_TRUE(medusa::cgi::testing::wait_gone(pid, 10s));
}

TEST_F(CgiHandler, ScriptHasNoOtherDescriptors) {
    // Hold a few connections open so that their sockets exist in the server process.
    client other1(port_), other2(port_);
    reply r = get("GET /cgi-bin/fds HTTP/1.0\r\n\r\n");
    ASSERT_EQ(r.code(), 200);
    auto fds = medusa::cgi::testing::listed_descriptors(r.body);
    ASSERT_GE(fds.size(), 3u) << r.body;
    for (const auto& [fd, target] : fds) {
        if (fd == 0) {
            EXPECT_EQ(target, "/dev/null") << "a request without a body";
        } else if (fd <= 2) {
            EXPECT_NE(target.find("pipe:"), std::string::npos) << fd << " -> " << target;
        } else {
            EXPECT_NE(target.find("/fd"), std::string::npos) << fd << " -> " << target;
        }
        EXPECT_EQ(target.find("socket:"), std::string::npos) << fd << " -> " << target;
    }
    EXPECT_LE(fds.size(), 4u) << r.body;
}

TEST_F(CgiHandler, OnlyExecutableFilesInsideTheFolderRun) {
    struct probe {
        const char* target;
        int code;
    };
    for (const probe& p : {probe{"/cgi-bin/../outside", 404}, probe{"/cgi-bin/%2e%2e/outside", 404},
                           probe{"/cgi-bin/%2E%2E/cgi-bin/hello", 404},
                           probe{"/cgi-bin/./hello", 404}, probe{"/cgi-bin//hello", 404},
                           probe{"/cgi-bin/nosuch", 404}, probe{"/cgi-bin/subdir", 403},
                           probe{"/cgi-bin/subdir/x", 403}, probe{"/cgi-bin/noexec", 403},
                           probe{"/cgi-bin/escape", 403}, probe{"/cgi-bin/", 403},
                           probe{"/cgi-bin", 403}}) {
        reply r = get(std::string("GET ") + p.target + " HTTP/1.0\r\n\r\n");
        EXPECT_EQ(r.code(), p.code) << p.target;
    }
    // Not under the prefix: not this handler's (no other handler here: 404).
    EXPECT_EQ(get("GET /cgi-binx/hello HTTP/1.0\r\n\r\n").code(), 404);
}

}  // namespace
