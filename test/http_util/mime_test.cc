// mime: the Content-Type medusa (Python mimetypes on Debian) gives each kind of file.
#include "http/mime.h"

#include <gtest/gtest.h>

namespace medusa::http {
namespace {

TEST(Mime, TheTranscriptDocrootFiles) {
    // Each file of the transcripts' docroot, with the type medusa 0.5.4 sent for it.
    EXPECT_EQ(content_type_for("index.html"), "text/html");
    EXPECT_EQ(content_type_for("a/b/c/deep.html"), "text/html");
    EXPECT_EQ(content_type_for("alt/default.html"), "text/html");
    EXPECT_EQ(content_type_for("style.css"), "text/css");
    EXPECT_EQ(content_type_for("script.js"), "text/javascript");
    EXPECT_EQ(content_type_for("pixel.gif"), "image/gif");
    EXPECT_EQ(content_type_for("pixel.png"), "image/png");
    EXPECT_EQ(content_type_for("a b.txt"), "text/plain");
    EXPECT_EQ(content_type_for("empty.txt"), "text/plain");
    EXPECT_EQ(content_type_for("data.bin"), "application/octet-stream");
    EXPECT_EQ(content_type_for("notes.tar.gz"), "application/x-tar");
    EXPECT_EQ(content_type_for("README"), "text/plain");
    EXPECT_EQ(content_type_for(".hidden"), "text/plain");
}

TEST(Mime, CommonTypes) {
    EXPECT_EQ(content_type_for("x.htm"), "text/html");
    EXPECT_EQ(content_type_for("x.json"), "application/json");
    EXPECT_EQ(content_type_for("x.svg"), "image/svg+xml");
    EXPECT_EQ(content_type_for("x.xml"), "application/xml");
    EXPECT_EQ(content_type_for("x.pdf"), "application/pdf");
    EXPECT_EQ(content_type_for("x.ico"), "image/vnd.microsoft.icon");
    EXPECT_EQ(content_type_for("x.jpg"), "image/jpeg");
    EXPECT_EQ(content_type_for("x.jpeg"), "image/jpeg");
    EXPECT_EQ(content_type_for("x.wasm"), "application/wasm");
    EXPECT_EQ(content_type_for("x.mp4"), "video/mp4");
    EXPECT_EQ(content_type_for("x.zip"), "application/zip");
    EXPECT_EQ(content_type_for("x.woff2"), "font/woff2");
    EXPECT_EQ(content_type_for("x.7z"), "application/x-7z-compressed");
}

TEST(Mime, SuffixRulesFollowPythonMimetypes) {
    EXPECT_EQ(content_type_for("INDEX.HTML"), "text/html");    // types: case-insensitive
    EXPECT_EQ(content_type_for("x.tgz"), "application/x-tar");  // .tgz is .tar.gz
    EXPECT_EQ(content_type_for("x.TGZ"), "application/x-tar");
    EXPECT_EQ(content_type_for("x.svgz"), "image/svg+xml");
    EXPECT_EQ(content_type_for("x.html.gz"), "text/html");
    EXPECT_EQ(content_type_for("x.css.br"), "text/css");
    EXPECT_EQ(content_type_for("x.tar.Z"), "application/x-tar");
    EXPECT_EQ(content_type_for("x.tar.GZ"), "text/plain");      // encodings: case-sensitive
    EXPECT_EQ(content_type_for("x.gz"), "text/plain");
    EXPECT_EQ(content_type_for("..html"), "text/plain");       // leading dots only: no extension
    EXPECT_EQ(content_type_for("dir.html/readme"), "text/plain");
    EXPECT_EQ(content_type_for("sub/page.txt/"), "text/plain");  // QUIRKS 14: the literal path
    EXPECT_EQ(content_type_for("x."), "text/plain");
    EXPECT_EQ(content_type_for("x.unknownextension"), "text/plain");
    EXPECT_EQ(content_type_for("x.yaml"), "text/plain");  // unknown to mimetypes
    EXPECT_EQ(content_type_for(""), "text/plain");
}

}  // namespace
}  // namespace medusa::http
