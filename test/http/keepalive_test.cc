// The keep-alive / chunking decision table: every version x Connection value x Content-Length x
// Transfer-Encoding x HEAD, against the rules in keepalive.h.
#include "http/keepalive.h"

#include <string>

#include <gtest/gtest.h>

using namespace medusa::http;

TEST(classify_version, versions) {
    EXPECT_EQ(classify_version("", false), http_version::none);
    EXPECT_EQ(classify_version("1.0", true), http_version::http10);
    EXPECT_EQ(classify_version("0.9", true), http_version::http10);
    EXPECT_EQ(classify_version("1.1", true), http_version::http11);
    EXPECT_EQ(classify_version("1.2", true), http_version::http11);
    EXPECT_EQ(classify_version("1.10", true), http_version::http11);
    EXPECT_EQ(classify_version("2.0", true), http_version::unsupported);
    EXPECT_EQ(classify_version("1", true), http_version::unsupported);
    EXPECT_EQ(classify_version("1.", true), http_version::unsupported);
    EXPECT_EQ(classify_version("1.1.1", true), http_version::unsupported);
    // Around the inline shortcut for "1.1" and "1.0": near misses go the full way.
    EXPECT_EQ(classify_version("1.1", false), http_version::none);
    EXPECT_EQ(classify_version("1.3", true), http_version::http11);
    EXPECT_EQ(classify_version("1,1", true), http_version::unsupported);
    EXPECT_EQ(classify_version("01.1", true), http_version::http11);
    EXPECT_EQ(classify_version("1.01", true), http_version::http11);
    EXPECT_EQ(classify_version("1.00", true), http_version::http10);
    EXPECT_EQ(status_line_version(http_version::none), "1.0");
    EXPECT_EQ(status_line_version(http_version::http10), "1.0");
    EXPECT_EQ(status_line_version(http_version::http11), "1.1");
}

TEST(parse_connection, token_lists) {
    connection_tokens t;
    parse_connection("Keep-Alive, Upgrade", t);
    EXPECT_TRUE(t.keep_alive);
    EXPECT_FALSE(t.close);
    connection_tokens c;
    parse_connection("  CLOSE ", c);
    EXPECT_TRUE(c.close);
    connection_tokens f;
    parse_connection("foo, keep-alivex", f);
    EXPECT_FALSE(f.close || f.keep_alive);
}

TEST(decide_keepalive, full_table) {
    const std::pair<const char*, bool> versions[] = {{"", false}, {"1.0", true}, {"1.1", true},
                                                     {"1.2", true}};
    const char* connections[] = {nullptr, "close", "keep-alive", "Keep-Alive, Upgrade", "foo"};
    int rows = 0;
    for (auto [ver, has_ver] : versions) {
        for (const char* conn : connections) {
            for (bool cl : {false, true}) {
                for (int te = 0; te < 3; ++te) {
                    for (bool head : {false, true}) {
                        keepalive_input in;
                        in.version = classify_version(ver, has_ver);
                        if (conn) parse_connection(conn, in.connection);
                        in.has_content_length = cl;
                        in.reply_coding = te == 0   ? transfer_coding::none
                                          : te == 1 ? transfer_coding::chunked
                                                    : transfer_coding::other;
                        in.bodyless = head;
                        auto d = decide_keepalive(in);
                        ++rows;
                        std::string where = std::string("version '") + ver + "' connection '" +
                                            (conn ? conn : "-") + "' cl " + std::to_string(cl) +
                                            " te " + std::to_string(te) + " head " +
                                            std::to_string(head);
                        bool says_close = conn && (std::string(conn) == "close");
                        bool says_keep = conn && (std::string(conn) != "close" &&
                                                  std::string(conn) != "foo");
                        bool framed = cl || head;
                        bool expect_close, expect_chunk = false;
                        connection_header expect_header = connection_header::none;
                        if (!has_ver) {
                            expect_close = true;
                        } else if (std::string(ver) == "1.0") {
                            expect_close = !(says_keep && framed);
                            if (!expect_close) expect_header = connection_header::keep_alive;
                        } else {  // 1.1 and 1.2 alike
                            if (says_close) {
                                expect_close = true;
                            } else if (framed) {
                                expect_close = false;
                            } else if (te == 1) {
                                expect_close = false;
                            } else if (te == 2) {
                                expect_close = true;
                            } else {
                                expect_close = false;
                                expect_chunk = true;
                            }
                        }
                        if (expect_close) expect_header = connection_header::close;
                        EXPECT_EQ(d.close, expect_close) << where;
                        EXPECT_EQ(d.chunk, expect_chunk) << where;
                        EXPECT_EQ(d.header, expect_header) << where;
                        // The client's own close: 0.9 or 1.0 without keep-alive, or "close".
                        bool expect_client_closes =
                            expect_close && (says_close || ((!has_ver || std::string(ver) == "1.0") &&
                                                            !says_keep));
                        EXPECT_EQ(d.client_closes, expect_client_closes) << where;
                        // Never chunk a reply without a body; never chunk a reply we close.
                        if (head || d.close) {
                            EXPECT_FALSE(d.chunk) << where;
                        }
                    }
                }
            }
        }
    }
    EXPECT_EQ(rows, 4 * 5 * 2 * 3 * 2);
}

TEST(decide_keepalive, force_close_wins_and_says_close) {
    keepalive_input in;
    in.version = http_version::http11;
    in.has_content_length = true;
    in.force_close = true;
    auto d = decide_keepalive(in);
    EXPECT_TRUE(d.close);
    EXPECT_EQ(d.header, connection_header::close);
    EXPECT_FALSE(d.client_closes);  // the server's reason, not the client's
    in.version = http_version::http10;
    EXPECT_FALSE(decide_keepalive(in).client_closes);
    in.version = http_version::http11;
    in.has_content_length = false;
    EXPECT_FALSE(decide_keepalive(in).chunk);
}

TEST(decide_keepalive, unsupported_version_closes) {
    keepalive_input in;
    in.version = http_version::unsupported;
    in.has_content_length = true;
    EXPECT_TRUE(decide_keepalive(in).close);
}

TEST(reply_is_bodyless, head_1xx_204_304) {
    EXPECT_TRUE(reply_is_bodyless("HEAD", 200));
    EXPECT_TRUE(reply_is_bodyless("HEAD", 404));
    EXPECT_TRUE(reply_is_bodyless("GET", 304));
    EXPECT_TRUE(reply_is_bodyless("GET", 204));
    EXPECT_TRUE(reply_is_bodyless("GET", 100));
    EXPECT_FALSE(reply_is_bodyless("GET", 200));
    EXPECT_FALSE(reply_is_bodyless("head", 200));
}
