// Path traversal through the request target: ';' params, encoded dots, NUL bytes, backslashes.
// "..;" is an ordinary segment name (not ".." with params): split_uri takes params from the last
// segment only, so "/..;/secret.txt" is a file named secret.txt in a directory named "..;",
// which does not exist: 404. (medusa cut the path at the first ';', read "/..", the root, and
// answered 301 to "/../".)
#include <fmt/format.h>

#include <filesystem>

#include "test/http/http_client.h"
#include "test/http/server_fixture.h"
#include "test/backends.h"

using namespace medusa;
using namespace medusa::http;
using namespace medusa::http::testing;

namespace {

std::string parts(std::string_view uri) {
    uri_parts p = split_uri(uri);
    return fmt::format("[{}][{}][{}][{}]", p.path, p.params, p.query, p.fragment);
}

}  // namespace

TEST(split_uri, params_come_from_the_last_segment_only) {
    EXPECT_EQ(parts("/..;/secret.txt"), "[/..;/secret.txt][][][]");
    EXPECT_EQ(parts("/%2e%2e;/secret.txt"), "[/%2e%2e;/secret.txt][][][]");
    EXPECT_EQ(parts("/;/../secret.txt"), "[/;/../secret.txt][][][]");
    EXPECT_EQ(parts("/a;b/c;d?q;r#f;g"), "[/a;b/c][;d][?q;r][#f;g]");
    EXPECT_EQ(parts("/index.html;params"), "[/index.html][;params][][]");  // QUIRKS row 12, kept
    EXPECT_EQ(parts("/a/b;type=a?x=1"), "[/a/b][;type=a][?x=1][]");
    EXPECT_EQ(parts("/x?y/z;w"), "[/x][][?y/z;w][]");  // a '/' in the query is not in the path
    EXPECT_EQ(parts(";a"), "[][;a][][]");
    EXPECT_EQ(parts("/..;"), "[/..][;][][]");  // the last segment's params, as urlparse
}

class traversal_server : public server_test {};

TEST_P(traversal_server, dot_dot_semicolon_and_friends_are_404) {
    const char* const attempts[] = {
        "/..;/secret.txt",        "/..;/index.html",      "/.%2e/secret.txt",
        "/%2e%2e;/secret.txt",    "/%2E%2E;/secret.txt",  "/..%3b/secret.txt",
        "/..%00/secret.txt",      "/..%00/index.html",    "/..\\secret.txt",
        "/..\\..\\secret.txt",    "/;/../secret.txt",     "/sub/..;/..;/secret.txt",
        "/sub;/../../secret.txt", "/..;x=1/secret.txt",   "/index.html%00.txt",
        "/..;/..;/..;/etc/passwd",
    };
    for (const char* path : attempts) {
        SCOPED_TRACE(path);
        client c(port_);
        c.send(get(path));
        auto r = c.read_reply();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->code(), 404);
        EXPECT_EQ(r->body.find("TOP SECRET"), std::string::npos);
        EXPECT_EQ(r->body.find("root:"), std::string::npos);
    }
}

TEST_P(traversal_server, a_directory_named_dot_dot_semicolon_is_just_a_directory) {
    std::filesystem::create_directories(root_ + "/..;");
    write_file(root_ + "/..;/name.txt", "in a directory named ..;\n");
    client c(port_);
    c.send(get("/..;/name.txt") + get("/%2e%2e;/name.txt") + get("/..;/secret.txt"));
    EXPECT_EQ(c.read_reply()->body, "in a directory named ..;\n");
    EXPECT_EQ(c.read_reply()->body, "in a directory named ..;\n");
    EXPECT_EQ(c.read_reply()->code(), 404);
}

TEST_P(traversal_server, params_on_the_last_segment_are_still_ignored) {
    client c(port_);
    c.send(get("/index.html;params") + get("/sub/index.html;x=1?q"));
    EXPECT_EQ(c.read_reply()->body, index_html);
    EXPECT_EQ(c.read_reply()->body, "<html><body><h1>sub/index.html</h1></body></html>\n");
}

INSTANTIATE_TEST_SUITE_P(backends, traversal_server,
                         ::testing::ValuesIn(medusa_test::every_backend()), medusa_test::backend_name);
