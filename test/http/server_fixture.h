// A running http_server for the end-to-end tests: a temporary docroot, the default handler and
// a few test handlers, served by a loop on its own thread over a socket_map of the backend under
// test, on a free loopback port.
#pragma once

#include <sys/stat.h>
#include <utime.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "asyncore/socket_map.h"
#include "http/auth_handler.h"
#include "http/default_handler.h"
#include "http/filesys.h"
#include "http/http_request.h"
#include "http/http_server.h"
#include "http/logger.h"
#include "http/put_handler.h"
#include "http/redirecting_handler.h"
#include "http/status_handler.h"
#include "http/virtual_handler.h"

namespace medusa::http::testing {

// Keeps the access log lines for the tests to read (the loop thread writes them).
class capture_logger : public logger {
public:
    void log(std::string_view message) override {
        std::lock_guard lock(mu_);
        lines_.emplace_back(message);
    }
    std::vector<std::string> lines() const {
        std::lock_guard lock(mu_);
        return lines_;
    }

private:
    mutable std::mutex mu_;
    std::vector<std::string> lines_;
};

// Replies with fixed text to paths starting with a prefix.
class text_handler : public handler {
public:
    text_handler(std::string prefix, std::string text)
        : prefix_(std::move(prefix)), text_(std::move(text)) {}
    bool match(http_request& r) override { return r.split_uri().path.starts_with(prefix_); }
    void handle_request(std::shared_ptr<http_request> r) override {
        r->set("Content-Type", "text/plain");
        r->set("Content-Length", uint64_t(text_.size()));
        r->push(text_);
        r->done();
    }

private:
    std::string prefix_, text_;
};

// /boom throws from handle_request.
class throwing_handler : public handler {
public:
    bool match(http_request& r) override { return r.split_uri().path == "/boom"; }
    void handle_request(std::shared_ptr<http_request>) override {
        throw std::runtime_error("boom");
    }
};

// /half-boom starts a reply (a Content-Length, part of a body) and then throws.
class half_reply_throwing_handler : public handler {
public:
    bool match(http_request& r) override { return r.split_uri().path == "/half-boom"; }
    void handle_request(std::shared_ptr<http_request> r) override {
        r->set("Content-Type", "text/plain");
        r->set("Content-Length", uint64_t(1000));
        r->push("partial");
        throw std::runtime_error("half-boom");
    }
};

// /slow replies 30 ms later, from a timer: a deferred reply, as a threaded handler gives.
class deferred_handler : public handler {
public:
    explicit deferred_handler(socket_map& map) : map_(map) {}
    bool match(http_request& r) override { return r.split_uri().path == "/slow"; }
    void handle_request(std::shared_ptr<http_request> r) override {
        map_.call_later(std::chrono::milliseconds(30), [r] {
            r->set("Content-Type", "text/plain");
            r->set("Content-Length", uint64_t(4));
            r->push("slow");
            r->done();
        });
    }

private:
    socket_map& map_;
};

// /stream: a reply without Content-Length (chunked on HTTP/1.1, close-delimited on HTTP/1.0).
class stream_handler : public handler {
public:
    bool match(http_request& r) override { return r.split_uri().path == "/stream"; }
    void handle_request(std::shared_ptr<http_request> r) override {
        r->set("Content-Type", "text/plain");
        r->push("part one\n");
        r->push(std::make_unique<simple_producer>("part two\n", 4));
        r->done();
    }
};

// /kill-zombies runs the server's maintenance pass now, with the head timeout at zero (the
// test thread may not touch the loop's objects; a request runs on the loop thread).
class zombie_handler : public handler {
public:
    bool match(http_request& r) override { return r.split_uri().path == "/kill-zombies"; }
    void handle_request(std::shared_ptr<http_request> r) override {
        auto* s = r->server();
        auto saved = s->header_timeout;
        s->header_timeout = std::chrono::seconds(0);
        s->kill_zombies();
        s->header_timeout = saved;
        r->set("Content-Length", uint64_t(2));
        r->push("ok");
        r->done();
    }
};

inline void write_file(const std::string& path, const std::string& data) {
    std::ofstream(path, std::ios::binary) << data;
    utimbuf t{1000000000, 1000000000};
    ::utime(path.c_str(), &t);
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline const std::string index_html =
    "<html><head><title>medusa oracle</title></head>\n"
    "<body><h1>Root index</h1><p>This is /index.html.</p></body></html>\n";

class server_test : public ::testing::TestWithParam<backend> {
protected:
    void SetUp() override {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "medusa-http-test-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
        top_ = tmpl;
        root_ = top_ + "/root";
        std::filesystem::create_directories(root_ + "/sub");
        std::filesystem::create_directories(root_ + "/nodefault");
        std::filesystem::create_directories(root_ + "/upload");
        write_file(top_ + "/secret.txt", "TOP SECRET\n");
        write_file(root_ + "/index.html", index_html);
        write_file(root_ + "/style.css", "body { color: black; }\n");
        write_file(root_ + "/a b.txt", "space in the name\n");
        write_file(root_ + "/sub/index.html", "<html><body><h1>sub/index.html</h1></body></html>\n");
        write_file(root_ + "/nodefault/readme.txt", "no index here\n");
        big_.resize(300 * 1024);
        for (size_t i = 0; i < big_.size(); ++i) big_[i] = char('a' + i * 7 % 26);
        write_file(root_ + "/big.bin", big_);

        map_ = std::make_unique<socket_map>(GetParam());
        log_ = std::make_shared<capture_logger>();
        server_ = make<http_server>("127.0.0.1", 0, log_, *map_);
        server_->max_body = 4096;
        server_->max_discard_body = 8192;
        fs_ = std::make_shared<os_filesystem>(root_);
        files_ = std::make_shared<default_handler>(fs_);
        server_->install_handler(files_);
        server_->install_handler(std::make_shared<throwing_handler>());
        server_->install_handler(std::make_shared<half_reply_throwing_handler>());
        server_->install_handler(std::make_shared<deferred_handler>(*map_));
        server_->install_handler(std::make_shared<stream_handler>());
        server_->install_handler(std::make_shared<zombie_handler>());
        server_->install_handler(std::make_shared<put_handler>(fs_, "/upload/.*"));
        server_->install_handler(std::make_shared<redirecting_handler>("/old/(.*)", "/new/%s"));
        server_->install_handler(std::make_shared<auth_handler>(
            auth_handler::users{{"alice", "wonderland"}},
            std::make_shared<text_handler>("/private", "secret stuff\n"), "test realm"));
        server_->install_handler(std::make_shared<virtual_handler>(
            std::make_shared<text_handler>("/", "site b\n"), "b.example"));
        auto status = std::make_shared<status_extension>(
            std::vector<status_extension::status_source>{status_extension::source(server_)});
        server_->install_handler(status);
        install_more_handlers();
        port_ = server_->port();
        map_->call_every(std::chrono::milliseconds(10), [this] {
            if (stop_) map_->stop();
        });
        thread_ = std::thread([this] { loop(std::chrono::duration<double>(1.0), std::nullopt, *map_); });
    }

    void TearDown() override {
        stop_ = true;
        thread_.join();
        close_all(*map_);
        server_.reset();
        map_.reset();
        std::error_code ec;
        std::filesystem::remove_all(top_, ec);
    }

    // A suite's own handlers, installed before the loop starts (after it, only the loop's thread
    // may touch the server). Installed last, so asked first: install_handler() puts a handler at
    // the front, as medusa does.
    virtual void install_more_handlers() {}

    // Wait (bounded) until the log has `n` lines: a reply's log line is written once it is sent.
    std::vector<std::string> log_lines(size_t n) {
        for (int i = 0; i < 500 && log_->lines().size() < n; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return log_->lines();
    }

    std::string top_, root_, big_;
    std::unique_ptr<socket_map> map_;
    std::shared_ptr<capture_logger> log_;
    std::shared_ptr<http_server> server_;
    std::shared_ptr<os_filesystem> fs_;
    std::shared_ptr<default_handler> files_;
    uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace medusa::http::testing
