// cgi_env: the exact environment built for a request, in both styles.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cgi/cgi_env.h"

namespace {

using medusa::cgi::build_environment;
using medusa::cgi::env_options;
using medusa::cgi::env_style;
using medusa::cgi::request_meta;

// A GET of /cgi-bin/env/a b?x=1 over HTTP/1.1 with a Host header.
request_meta base() {
    request_meta m;
    m.method = "GET";
    m.request_uri = "/cgi-bin/env/a%20b?x=1";
    m.path = "/cgi-bin/env/a b";
    m.query = "x=1";
    m.version = "1.1";
    m.headers = {{"Host", "example.org:8080"}};
    m.remote_addr = "127.0.0.1";
    m.remote_port = 54321;
    m.server_name = "example.org";
    m.server_port = 8080;
    m.server_software = "Medusa/1.12";
    m.script_name = "/cgi-bin/env";
    m.path_info = "/a b";
    return m;
}

// Options that pass nothing of this process's environment, for exact comparisons.
env_options sealed(env_style s = env_style::rfc3875) {
    env_options o;
    o.style = s;
    o.pass_through.clear();
    return o;
}

std::vector<std::string> without(std::vector<std::string> v, const std::string& prefix) {
    std::erase_if(v, [&](const std::string& s) { return s.rfind(prefix, 0) == 0; });
    return v;
}

bool has(const std::vector<std::string>& v, const std::string& kv) {
    return std::find(v.begin(), v.end(), kv) != v.end();
}

bool has_name(const std::vector<std::string>& v, const std::string& name) {
    return std::any_of(v.begin(), v.end(),
                       [&](const std::string& s) { return s.rfind(name + "=", 0) == 0; });
}

TEST(CgiEnv, Rfc3875FullEnvironmentExactly) {
    std::vector<std::string> expected = {
        "GATEWAY_INTERFACE=CGI/1.1",
        "HTTP_HOST=example.org:8080",
        "PATH_INFO=/a b",
        "QUERY_STRING=x=1",
        "REMOTE_ADDR=127.0.0.1",
        "REMOTE_HOST=127.0.0.1",
        "REMOTE_PORT=54321",
        "REQUEST_METHOD=GET",
        "REQUEST_URI=/cgi-bin/env/a%20b?x=1",
        "SCRIPT_NAME=/cgi-bin/env",
        "SERVER_NAME=example.org",
        "SERVER_PORT=8080",
        "SERVER_PROTOCOL=HTTP/1.1",
        "SERVER_SOFTWARE=Medusa/1.12",
    };
    EXPECT_EQ(build_environment(base(), sealed()), expected);
}

struct env_case {
    const char* title;
    void (*change)(request_meta&);
    std::vector<std::string> present;  // "K=V" that must be there
    std::vector<std::string> absent;   // names that must not be there
};

const env_case cases[] = {
    {"query absent: QUERY_STRING present and empty",
     [](request_meta& m) { m.query = ""; m.request_uri = "/cgi-bin/env/a%20b"; },
     {"QUERY_STRING="}, {}},
    {"no extra path: no PATH_INFO, no PATH_TRANSLATED",
     [](request_meta& m) { m.path_info = ""; m.path_translated = "/srv/www"; },
     {"SCRIPT_NAME=/cgi-bin/env"}, {"PATH_INFO", "PATH_TRANSLATED"}},
    {"PATH_TRANSLATED beside PATH_INFO",
     [](request_meta& m) { m.path_translated = "/srv/www/a b"; },
     {"PATH_INFO=/a b", "PATH_TRANSLATED=/srv/www/a b"}, {}},
    {"headers become HTTP_ names",
     [](request_meta& m) {
         m.headers = {{"User-Agent", "t/1"}, {"accept-language", "fr"}, {"X-Multi-Part-Name", "v"}};
     },
     {"HTTP_USER_AGENT=t/1", "HTTP_ACCEPT_LANGUAGE=fr", "HTTP_X_MULTI_PART_NAME=v"}, {}},
    {"Proxy header dropped (httpoxy)",
     [](request_meta& m) { m.headers = {{"Proxy", "http://evil:8080"}, {"PROXY", "x"}}; },
     {}, {"HTTP_PROXY"}},
    {"repeated headers merged in order with a comma",
     [](request_meta& m) { m.headers = {{"X-Test", "one"}, {"x-test", "two"}, {"X-TEST", "three"}}; },
     {"HTTP_X_TEST=one, two, three"}, {}},
    {"repeated Cookie headers merged with a semicolon",
     [](request_meta& m) { m.headers = {{"Cookie", "a=1"}, {"Cookie", "b=2"}}; },
     {"HTTP_COOKIE=a=1; b=2"}, {}},
    {"Authorization, Content-Length, Content-Type not among HTTP_*",
     [](request_meta& m) {
         m.headers = {{"Authorization", "Basic dTpw"}, {"Proxy-Authorization", "Basic eDp5"},
                      {"Content-Length", "5"}, {"Content-Type", "text/plain"}};
         m.content_length = 5;
         m.content_type = "text/plain";
     },
     {"AUTH_TYPE=Basic", "CONTENT_LENGTH=5", "CONTENT_TYPE=text/plain"},
     {"HTTP_AUTHORIZATION", "HTTP_PROXY_AUTHORIZATION", "HTTP_CONTENT_LENGTH", "HTTP_CONTENT_TYPE"}},
    {"a header name with an underscore is dropped (it would collide)",
     [](request_meta& m) { m.headers = {{"X_Forwarded_For", "1.2.3.4"}}; },
     {}, {"HTTP_X_FORWARDED_FOR"}},
    {"no body: no CONTENT_LENGTH",
     [](request_meta& m) { m.content_length.reset(); },
     {}, {"CONTENT_LENGTH", "CONTENT_TYPE", "AUTH_TYPE"}},
    {"request line without a version",
     [](request_meta& m) { m.version = ""; },
     {"SERVER_PROTOCOL=HTTP/0.9"}, {}},
    {"method kept as sent (case-sensitive)",
     [](request_meta& m) { m.method = "post"; },
     {"REQUEST_METHOD=post"}, {}},
    {"DOCUMENT_ROOT when given",
     [](request_meta& m) { m.document_root = "/srv/www"; },
     {"DOCUMENT_ROOT=/srv/www"}, {}},
};

TEST(CgiEnv, Rfc3875Table) {
    for (const auto& c : cases) {
        SCOPED_TRACE(c.title);
        request_meta m = base();
        c.change(m);
        auto env = build_environment(m, sealed());
        for (const auto& kv : c.present) EXPECT_TRUE(has(env, kv)) << kv;
        for (const auto& name : c.absent) EXPECT_FALSE(has_name(env, name)) << name;
        EXPECT_TRUE(std::is_sorted(env.begin(), env.end()));
    }
}

TEST(CgiEnv, NothingOfTheServerEnvironmentButPath) {
    ::setenv("MEDUSA_CGI_TEST_SECRET", "hunter2", 1);
    ::setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1);
    auto env = build_environment(base());  // default options: PATH passes
    ::unsetenv("MEDUSA_CGI_TEST_SECRET");
    EXPECT_TRUE(has(env, "PATH=/usr/local/bin:/usr/bin:/bin"));
    EXPECT_FALSE(has_name(env, "MEDUSA_CGI_TEST_SECRET"));
    EXPECT_FALSE(has_name(env, "HOME"));
    // Exactly the request's variables plus PATH.
    EXPECT_EQ(without(env, "PATH="), build_environment(base(), sealed()));
}

TEST(CgiEnv, MedusaStyleMapping) {
    request_meta m = base();
    m.method = "post";
    m.query = "";
    m.script_name = "/cgi";
    m.path_info = "/";
    m.headers = {{"Host", "example.org:8080"},  {"Connection", "keep-alive"},
                 {"Content-Length", "11"},      {"Content-Type", "text/plain"},
                 {"Authorization", "Basic x"},  {"Proxy", "http://evil"},
                 {"X-Empty", ""},               {"X-Test", "a"},
                 {"X-Test", "b"}};
    std::vector<std::string> expected = {
        "CONNECTION_TYPE=keep-alive",
        "CONTENT_LENGTH=11",
        "CONTENT_TYPE=text/plain",
        "GATEWAY_INTERFACE=CGI/1.1",
        "HTTP_AUTHORIZATION=Basic x",
        "HTTP_HOST=example.org",
        "HTTP_X_TEST=a, b",
        "PATH_INFO=/",
        "QUERY_STRING=",
        "REMOTE_ADDR=127.0.0.1",
        "REMOTE_HOST=127.0.0.1",
        "REQUEST_METHOD=post",  // as sent: medusa upper-cased it (QUIRKS row 27)
        "REQUEST_URI=/cgi-bin/env/a b",
        "SCRIPT_NAME=/cgi",
        "SERVER_NAME=example.org",
        "SERVER_PORT=8080",
        "SERVER_SOFTWARE=Medusa/1.12",
    };
    EXPECT_EQ(build_environment(m, sealed(env_style::medusa)), expected);
}

TEST(CgiEnv, MedusaStyleStripsPortFromIpv6Host) {
    request_meta m = base();
    m.headers = {{"Host", "[::1]:8080"}};
    auto env = build_environment(m, sealed(env_style::medusa));
    EXPECT_TRUE(has(env, "HTTP_HOST=[::1]"));
}

TEST(CgiEnv, HttpVariableName) {
    EXPECT_EQ(medusa::cgi::http_variable_name("User-Agent"), "HTTP_USER_AGENT");
    EXPECT_EQ(medusa::cgi::http_variable_name("x-a1"), "HTTP_X_A1");
    EXPECT_FALSE(medusa::cgi::http_variable_name("X_A"));
    EXPECT_FALSE(medusa::cgi::http_variable_name("X.A"));
    EXPECT_FALSE(medusa::cgi::http_variable_name(""));
    EXPECT_EQ(medusa::cgi::auth_scheme("  Digest username=x"), "Digest");
}

}  // namespace
