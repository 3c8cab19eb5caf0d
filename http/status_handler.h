// status_handler: the server's status pages (medusa's status_handler.status_extension).
//
//   /status                the status of each object given (the server, its handlers, ...)
//   /status/channel_list   every channel in the map, one repr() per line
//   /status/close_zombies  closes the http channels older than their zombie timeout
// Other paths under /status are 404. The pages are dynamic (no Content-Length): chunked on
// HTTP/1.1, close-delimited on HTTP/1.0, as medusa sends them. medusa's medusa.gif logo and its
// emergency-debug page are not ported.
#pragma once

#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http/counter.h"
#include "http/handler.h"

namespace medusa {
class socket_map;
}

namespace medusa::http {

class status_extension : public handler {
public:
    // Something with a status() fragment: the server, a handler, anything.
    using status_source = std::function<std::string()>;

    explicit status_extension(std::vector<status_source> objects, std::string statusdir = "/status");
    // Convenience: status sources from objects that have status() (http_server, handlers).
    template <class T>
    static status_source source(std::shared_ptr<T> object) {
        std::weak_ptr<T> weak = object;
        return [weak] {
            auto o = weak.lock();
            return o ? o->status() : std::string();
        };
    }
    void add(status_source s) { objects_.push_back(std::move(s)); }

    bool match(http_request& request) override;
    void handle_request(std::shared_ptr<http_request> request) override;
    std::string status() override;

    counter hit_counter;

private:
    std::vector<status_source> objects_;
    std::string statusdir_;
    time_t start_time_;
};

using status_handler = status_extension;

}  // namespace medusa::http
