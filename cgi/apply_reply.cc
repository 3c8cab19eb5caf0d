#include "cgi/apply_reply.h"

namespace medusa::cgi {

void apply_reply(http::http_request& r, const reply& rep) {
    std::string_view head = rep.head;
    size_t eol = head.find("\r\n");
    std::string_view status_line = head.substr(0, eol);
    // "HTTP/1.1 302 Moved": the code is the three digits after the first space.
    size_t sp = status_line.find(' ');
    int code = 200;
    if (sp != std::string_view::npos && status_line.size() >= sp + 4) {
        code = 0;
        for (char ch : status_line.substr(sp + 1, 3)) code = code * 10 + (ch - '0');
        // The script's own reason phrase ("302 Moved"), not medusa's table's.
        if (status_line.size() > sp + 5) r.reply_reason = std::string(status_line.substr(sp + 5));
    }
    r.reply_code = code;
    r.clear_headers();
    head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 2);
    while (!head.empty()) {
        eol = head.find("\r\n");
        std::string_view line = head.substr(0, eol);
        head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 2);
        if (line.empty()) break;
        size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view value = line.substr(colon + 1);
        if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        r.add_header(line.substr(0, colon), value);
    }
    r.use_chunked = false;
    if (!rep.keep_alive) r.close_after();
}

}  // namespace medusa::cgi
