#include "http/put_handler.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>

#include "http/default_handler.h"
#include "http/http_channel.h"
#include "http/http_request.h"
#include "http/http_server.h"

namespace medusa::http {

namespace {

// Writes the body to the file as it arrives; replies when the body has ended.
class put_collector : public collector {
public:
    put_collector(int fd, std::weak_ptr<http_request> request, bool is_update,
                  std::shared_ptr<const os_filesystem> filesystem)
        : fd_(fd),
          request_(std::move(request)),
          is_update_(is_update),
          filesystem_(std::move(filesystem)) {}
    ~put_collector() override {
        if (fd_ >= 0) ::close(fd_);
    }

    void collect_incoming_data(std::string_view data) override {
        while (!failed_ && !data.empty()) {
            ssize_t n = ::write(fd_, data.data(), data.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                failed_ = true;
                break;
            }
            data.remove_prefix(size_t(n));
        }
        filesystem_->changed();  // a cache of the tree must not keep serving the old bytes
    }

    void found_terminator() override {
        bool ok = !failed_ && ::close(fd_) == 0;
        fd_ = -1;
        filesystem_->changed();
        auto r = request_.lock();
        if (!r) return;
        if (!ok) {
            r->error(500);
        } else if (is_update_) {
            r->reply_code = 204;  // No Content
            r->done();
        } else {
            r->reply_now(201);  // Created
        }
    }

private:
    int fd_;
    std::weak_ptr<http_request> request_;
    bool is_update_;
    std::shared_ptr<const os_filesystem> filesystem_;
    bool failed_ = false;
};

}  // namespace

put_handler::put_handler(std::shared_ptr<os_filesystem> filesystem, std::string uri_regex)
    : filesystem_(std::move(filesystem)), pattern_(std::move(uri_regex)), uri_regex_(pattern_) {}

bool put_handler::match(http_request& request) {
    if (request.command() != "PUT") return false;
    return uri_regex_.full_match(request.uri()).has_value();
}

void put_handler::handle_request(std::shared_ptr<http_request> request) {
    std::string path(request->split_uri().path);
    size_t skip = path.find_first_not_of('/');
    path.erase(0, skip == std::string::npos ? path.size() : skip);

    if (!request->get_header("Content-Length") && !request->body_chunked()) {
        request->error(411);
        return;
    }
    // Refuse an oversized body before the file is opened: O_TRUNC would otherwise empty an
    // existing file for a PUT the channel then answers 413. (A chunked body's size is known only
    // as it arrives; the channel stops it at max_body.)
    if (auto* s = request->server();
        s && !request->body_chunked() && request->body_length() > s->max_body) {
        if (auto ch = request->channel())
            ch->log_info(fmt::format("413 {}: body of {} bytes, more than {}", request->uri(),
                                     request->body_length(), s->max_body),
                         "error");
        request->close_after();  // as the channel's own 413: the body is not read
        request->error(413);
        return;
    }
    // Don't let a PUT overwrite a directory.
    if (path.empty() || filesystem_->isdir(path)) {
        request->error(405);
        return;
    }
    bool is_update = filesystem_->isfile(path);
    int fd = filesystem_->open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        request->error(405);
        return;
    }
    put_counter.increment();
    auto c = std::make_shared<put_collector>(fd, request, is_update, filesystem_);
    if (!request->has_body()) {
        // Content-Length: 0 — an empty file, nothing to wait for.
        c->found_terminator();
        return;
    }
    request->set_collector(std::move(c));
}

std::string put_handler::status() {
    return fmt::format("<li>PUT Handler {} <b>Files written</b>: {}", html_escape(pattern_),
                       put_counter.as_long());
}

}  // namespace medusa::http
