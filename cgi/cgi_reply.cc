// cgi_reply: see cgi_reply.h for the rules.
#include "cgi/cgi_reply.h"

#include <fmt/format.h>

#include <iterator>

namespace medusa::cgi {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

// Headers that describe one connection, not the document: the server sets its own.
bool is_hop_by_hop(std::string_view name) {
    return iequals(name, "connection") || iequals(name, "keep-alive") || iequals(name, "transfer-encoding");
}

void add_header(std::string& out, std::string_view name, std::string_view value) {
    fmt::format_to(std::back_inserter(out), "{}: {}\r\n", name, value);
}

}  // namespace

reply build_reply(const scan_result& result, const request_info& request) {
    reply r;
    // "1.0" stays 1.0; any other 1.x is answered as 1.1; no version (or 0.9, 2.0 on this path)
    // gets an HTTP/1.0 head and a close.
    const bool v10 = request.version == "1.0";
    const bool v11 = !v10 && request.version.size() > 2 && request.version.starts_with("1.");
    const bool error = result.kind == reply_kind::bad_gateway;
    const bool local_redirect = result.kind == reply_kind::local_redirect;
    const bool bodyless_status = result.status == 204 || result.status == 304;

    if (error) r.page = bad_gateway_page(result);
    const bool length_known = error || local_redirect || bodyless_status || result.content_length.has_value();
    if (v11)
        r.keep_alive = request.keep_alive;
    else if (v10)
        r.keep_alive = request.keep_alive && length_known;
    const bool chunked_framing = v11 && r.keep_alive && !length_known;
    r.pass_body = result.kind == reply_kind::document && !request.head && !bodyless_status;
    r.chunked = r.pass_body && chunked_framing;

    std::string& h = r.head;
    h.reserve(256);
    fmt::format_to(std::back_inserter(h), "HTTP/{} {} {}\r\n", v11 ? "1.1" : "1.0", result.status, result.reason);

    bool script_server = false, script_date = false, content_type = false;
    if (error) {
        add_header(h, "Content-Type", "text/html");
        add_header(h, "Content-Length", fmt::format("{}", r.page.size()));
        content_type = true;
    } else {
        for (const auto& f : result.headers) {
            if (is_hop_by_hop(f.name)) continue;
            // A local redirect has no body, whatever length the script claimed.
            if (local_redirect && iequals(f.name, "content-length")) continue;
            if (iequals(f.name, "server")) script_server = true;
            if (iequals(f.name, "date")) script_date = true;
            add_header(h, f.name, f.value);
        }
        if (local_redirect) add_header(h, "Content-Length", "0");
        content_type = result.has_content_type;
    }
    if (!script_server && !request.server.empty()) add_header(h, "Server", request.server);
    if (!script_date && !request.date.empty()) add_header(h, "Date", request.date);
    if (!content_type) add_header(h, "Content-Type", "text/html");
    if (chunked_framing) add_header(h, "Transfer-Encoding", "chunked");
    if (!r.keep_alive)
        add_header(h, "Connection", "close");
    else if (!v11)
        add_header(h, "Connection", "Keep-Alive");
    h += "\r\n";

    if (request.head) r.page.clear();
    return r;
}

std::string bad_gateway_page(const scan_result& result) {
    if (result.error == scan_error::no_header || result.error == scan_error::none)
        return fmt::format(
            "<html><h1>Server Error</h1>\r\n"
            "<b>Bad Gateway:</b> No Header from CGI Script\r\n"
            "<pre>Data: {}</pre></html>\r\n",
            html_escape(python_repr(result.data)));
    return fmt::format(
        "<html><h1>Server Error</h1>\r\n"
        "<b>Bad Gateway:</b> {}\r\n"
        "</html>\r\n",
        describe(result.error));
}

std::string python_repr(std::string_view data) {
    // Python picks the quote that needs no escaping: ' unless the text has ' and no ".
    const bool has_single = data.find('\'') != std::string_view::npos;
    const bool has_double = data.find('"') != std::string_view::npos;
    const char quote = has_single && !has_double ? '"' : '\'';
    std::string out;
    out.reserve(data.size() + 2);
    out += quote;
    for (char ch : data) {
        const auto c = static_cast<unsigned char>(ch);
        if (ch == quote || ch == '\\') {
            out += '\\';
            out += ch;
        } else if (ch == '\t') {
            out += "\\t";
        } else if (ch == '\n') {
            out += "\\n";
        } else if (ch == '\r') {
            out += "\\r";
        } else if (c < 0x20 || c >= 0x7f) {
            fmt::format_to(std::back_inserter(out), "\\x{:02x}", c);
        } else {
            out += ch;
        }
    }
    out += quote;
    return out;
}

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char ch : text) {
        switch (ch) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            default: out += ch; break;
        }
    }
    return out;
}

void append_chunk(std::string& out, std::string_view data) {
    if (data.empty()) return;
    // The size line by hand: fmt costs more than the chunk itself when a script writes one byte
    // at a time (bench_cgi_writer: BM_cgi_writer_chunked/1).
    char size_line[20];
    char* p = size_line + sizeof size_line;
    *--p = '\n';
    *--p = '\r';
    for (size_t n = data.size(); n != 0; n >>= 4) *--p = "0123456789abcdef"[n & 0xf];
    out.append(p, static_cast<size_t>(size_line + sizeof size_line - p));
    out.append(data);
    out += "\r\n";
}

}  // namespace medusa::cgi
