// cgi_fixture: the script module of the transcripts' `cgi` fixture (transcripts/CGI_FIXTURE.md),
// mounted by `medusa-demo --fixture cgi` at /cgi on a 4-thread pool.
//
//     auto scripts = std::make_shared<medusa::thread::script_handler>(pool);
//     scripts->add_module("cgi", medusa::demo::cgi_fixture_main);
//
// main() picks a script by the first segment of PATH_INFO (/cgi/ctype/more runs `ctype`). Each
// script makes exactly the write calls the fixture's table lists, one out.write() per "write:",
// because the recorded medusa replies depended on where the writes were split (QUIRKS row 24);
// the port's replies must not, and these scripts are how the transcripts check that.
#pragma once

#include <fmt/format.h>

#include <functional>
#include <istream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

#include "thread/thread_handler.h"

namespace medusa::demo {

namespace cgi_fixture_detail {

using thread::environment;
using thread::script_output;
using fixture_script = void (*)(const environment&, std::istream&, script_output&);

inline void each_byte(script_output& out, std::string_view text) {
    for (char c : text) out.write(std::string_view(&c, 1));
}

// Sorted by name: the 404 text lists them in this (byte) order.
inline const std::map<std::string, fixture_script, std::less<>>& scripts() {
    static const std::map<std::string, fixture_script, std::less<>> table = {
        {"plain",
         [](const environment&, std::istream&, script_output& out) {
             out.write("Hello from the plain script.\nNo headers were written.\n");
         }},
        {"ctype",
         [](const environment&, std::istream&, script_output& out) {
             out.write("Content-Type: text/plain\n\nplain text body\nsecond line\n");
         }},
        {"ctype_crlf",
         [](const environment&, std::istream&, script_output& out) {
             out.write("Content-Type: text/plain\r\n\r\nbody line 1\r\nbody line 2\r\n");
         }},
        {"redirect",
         [](const environment&, std::istream&, script_output& out) {
             out.write("Status: 302 Moved\nLocation: /x\n\n<a href=\"/x\">moved</a>\n");
         }},
        {"redirect_crlf",
         [](const environment&, std::istream&, script_output& out) {
             out.write("Status: 302 Moved\r\nLocation: /x\r\n\r\n<a href=\"/x\">moved</a>\r\n");
         }},
        {"notfound",
         [](const environment&, std::istream&, script_output& out) {
             out.write("Status: 404 Not Found\nContent-Type: text/plain\n\nnothing here\n");
         }},
        {"statusonly",
         [](const environment&, std::istream&, script_output& out) {
             out.write("Status: 404 Not Found\n");
         }},
        {"tiny",
         [](const environment&, std::istream&, script_output& out) {
             each_byte(out, "Content-Type: text/plain\n\nwritten one byte at a time\nend\n");
         }},
        {"tiny_crlf",
         [](const environment&, std::istream&, script_output& out) {
             each_byte(out,
                       "Status: 201 Created\r\nContent-Type: text/plain\r\n\r\nbyte-wise CRLF\r\nend\r\n");
         }},
        {"lines",
         [](const environment&, std::istream&, script_output& out) {
             out.write("Content-Type: text/plain\n");
             out.write("X-Script: lines\n");
             out.write("\n");
             out.write("first body line\n");
             out.write("second body line\n");
         }},
        {"partial",
         [](const environment&, std::istream&, script_output& out) {
             out.write("Content-Type: text/plain\n\nthis body has no trailing newline");
         }},
        {"headerlike",
         [](const environment&, std::istream&, script_output& out) {
             out.write("Note: this looks like a header\nbut this line does not\nlast\n");
         }},
        {"silent", [](const environment&, std::istream&, script_output&) {}},
        {"big",
         [](const environment&, std::istream&, script_output& out) {
             out.write("Content-Type: text/plain\n\n");
             for (int i = 0; i < 200; ++i)
                 out.write(fmt::format("line {:03d} {}\n", i, std::string(40, 'x')));
         }},
        {"boom",
         [](const environment&, std::istream&, script_output& out) {
             out.write("Content-Type: text/plain\n\npartial output before the exception\n");
             throw std::runtime_error("boom: the fixture's failing script");
         }},
        {"query",
         [](const environment& env, std::istream&, script_output& out) {
             out.write("Content-Type: text/plain\n\n");
             for (const char* k : {"REQUEST_METHOD", "REQUEST_URI", "SCRIPT_NAME", "PATH_INFO",
                                   "QUERY_STRING", "CONTENT_LENGTH", "CONTENT_TYPE", "HTTP_HOST",
                                   "HTTP_USER_AGENT", "CONNECTION_TYPE", "HTTP_X_TEST"}) {
                 auto it = env.find(k);
                 out.write(fmt::format("{}={}\n", k, it == env.end() ? "(unset)" : it->second));
             }
         }},
        {"env",
         [](const environment& env, std::istream&, script_output& out) {
             out.write("Content-Type: text/plain\n\n");
             // environment is a std::map<std::string, ...>: already in byte order.
             for (const auto& [k, v] : env) out.write(fmt::format("{}={}\n", k, v));
         }},
        {"echo",
         [](const environment& env, std::istream& in, script_output& out) {
             std::string data{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
             auto value = [&env](const char* k) {
                 auto it = env.find(k);
                 return it == env.end() ? std::string("(unset)") : it->second;
             };
             out.write("Content-Type: text/plain\n\n");
             out.write(fmt::format("REQUEST_METHOD={}\n", value("REQUEST_METHOD")));
             out.write(fmt::format("CONTENT_LENGTH={}\n", value("CONTENT_LENGTH")));
             out.write(fmt::format("stdin: {} bytes\n", data.size()));
             out.write(data);
             out.write("\n-- end of stdin --\n");
         }},
    };
    return table;
}

}  // namespace cgi_fixture_detail

// The module's main(env, stdin, stdout).
inline void cgi_fixture_main(const thread::environment& env, std::istream& in,
                             thread::script_output& out) {
    const auto& table = cgi_fixture_detail::scripts();
    std::string_view path;
    if (auto it = env.find("PATH_INFO"); it != env.end()) path = it->second;
    if (!path.empty() && path.front() == '/') path.remove_prefix(1);
    std::string_view name = path.substr(0, path.find('/'));
    if (auto it = table.find(name); it != table.end()) {
        it->second(env, in, out);
        return;
    }
    std::string names;
    for (const auto& entry : table) names += (names.empty() ? "" : " ") + entry.first;
    out.write("Status: 404 Not Found\nContent-Type: text/plain\n\n");
    out.write(fmt::format("no script named '{}'; scripts: {}\n", name, names));
}

}  // namespace medusa::demo
