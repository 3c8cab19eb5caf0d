#include "http/status_handler.h"

#include <fmt/format.h>

#include <algorithm>

#include "asyncore/socket_map.h"
#include "http/default_handler.h"
#include "http/http_channel.h"
#include "http/http_request.h"
#include "http/http_server.h"

namespace medusa::http {

status_extension::status_extension(std::vector<status_source> objects, std::string statusdir)
    : objects_(std::move(objects)), statusdir_(std::move(statusdir)), start_time_(time(nullptr)) {}

bool status_extension::match(http_request& request) {
    return path_has_prefix(request.split_uri().path, statusdir_);
}

void status_extension::handle_request(std::shared_ptr<http_request> request) {
    std::string path(request->split_uri().path);
    hit_counter.increment();
    if (path == statusdir_) {
        request->set("Content-Type", "text/html");
        std::string page = fmt::format(
            "<html><title>Medusa Status Reports</title><body bgcolor=\"#ffffff\">"
            "<h1>Medusa Status Reports</h1><b>Up:</b> {}",
            english_time(uint64_t(std::max<time_t>(0, time(nullptr) - start_time_))));
        for (const auto& object : objects_) {
            page += object();
            page += "<hr>\r\n";
        }
        page += fmt::format("<p><a href=\"{}/channel_list\">Channel List</a><hr></body></html>",
                            statusdir_);
        request->push(std::move(page));
        request->done();
    } else if (path == statusdir_ + "/channel_list") {
        request->set("Content-Type", "text/html");
        std::vector<std::string> reprs;
        if (auto ch = request->channel()) {
            for (const auto& d : ch->map().channels()) {
                std::string r = d->repr();
                if (r.size() >= 2 && r.front() == '<' && r.back() == '>')
                    r = r.substr(1, r.size() - 2);
                reprs.push_back("&lt;" + html_escape(r) + "&gt;");
            }
        }
        std::sort(reprs.begin(), reprs.end());
        std::string page = "<html><body><h1>Active Channel List</h1>\r\n<pre>\r\n";
        for (const auto& r : reprs) page += r + "\r\n";
        page += fmt::format("</pre>\r\n<p><a href=\"{}\">Status Report</a>\r\n", statusdir_);
        page += "<hr></body></html>";
        request->push(std::move(page));
        request->done();
    } else if (path == statusdir_ + "/close_zombies") {
        std::string message = fmt::format(
            "<h2>Closing all zombie http client connections...</h2>"
            "<p><a href=\"{}\">Back to the status page</a>",
            statusdir_);
        request->set("Content-Type", "text/html");
        request->set("Content-Length", uint64_t(message.size()));
        request->push(std::move(message));
        if (auto me = request->channel()) {
            auto now = clock::now();
            for (const auto& d : me->map().channels()) {
                auto ch = std::dynamic_pointer_cast<http_channel>(d);
                if (ch && ch != me && now - ch->last_used() > ch->server().zombie_timeout)
                    ch->close();
            }
        }
        request->done();
    } else {
        request->error(404);
    }
}

std::string status_extension::status() {
    return fmt::format("<li>Status Extension <b>Hits</b> : {}", hit_counter.as_long());
}

}  // namespace medusa::http
