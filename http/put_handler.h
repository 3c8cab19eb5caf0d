// put_handler: PUT uploads into a filesystem (medusa's put_handler.py).
//
//   server->install_handler(std::make_shared<put_handler>(fs, "/upload/.*"));
//
// Matches PUT requests whose uri() matches the pattern (a POSIX extended regex) whole. The body
// (Content-Length bytes, or a chunked body, which medusa could not read) is written to the file
// the path names inside the filesystem's root; then the reply is 201 Created (medusa's page) for a new file or 204 No
// Content for a replaced one. No Content-Length and no chunked body: 411. A directory, or a path
// that cannot be opened for writing: 405. A write error: 500. The body's size is bounded by the
// server's max_body (413).
#pragma once

#include <memory>
#include <string>

#include "http/counter.h"
#include "http/filesys.h"
#include "http/handler.h"
#include "http/posix_regex.h"

namespace medusa::http {

class put_handler : public handler {
public:
    put_handler(std::shared_ptr<os_filesystem> filesystem, std::string uri_regex);

    bool match(http_request& request) override;
    void handle_request(std::shared_ptr<http_request> request) override;
    std::string status() override;

    counter put_counter;

private:
    std::shared_ptr<os_filesystem> filesystem_;
    std::string pattern_;
    posix_regex uri_regex_;
};

}  // namespace medusa::http
