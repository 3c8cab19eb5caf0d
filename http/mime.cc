// mime: the extension table and Python mimetypes' suffix rules (see mime.h).
#include "http/mime.h"

#include <algorithm>
#include <cstddef>
#include <iterator>

namespace medusa::http {

namespace {

struct mime_entry {
    std::string_view ext;  // lower case, no dot
    std::string_view type;
};

// Sorted by extension, for binary search. Values from Python 3.11 mimetypes.guess_type on Debian.
constexpr mime_entry table[] = {
    {"7z", "application/x-7z-compressed"},
    {"aac", "audio/aac"},
    {"aif", "audio/x-aiff"},
    {"aiff", "audio/x-aiff"},
    {"apk", "application/vnd.android.package-archive"},
    {"asc", "application/pgp-keys"},
    {"atom", "application/atom+xml"},
    {"au", "audio/basic"},
    {"avi", "video/x-msvideo"},
    {"avif", "image/avif"},
    {"bat", "application/x-msdos-program"},
    {"bin", "application/octet-stream"},
    {"bmp", "image/bmp"},
    {"c", "text/x-csrc"},
    {"cc", "text/x-c++src"},
    {"cpp", "text/x-c++src"},
    {"crt", "application/x-x509-ca-cert"},
    {"css", "text/css"},
    {"csv", "text/csv"},
    {"deb", "application/vnd.debian.binary-package"},
    {"diff", "text/x-diff"},
    {"dmg", "application/x-apple-diskimage"},
    {"doc", "application/msword"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"dtd", "application/xml-dtd"},
    {"eot", "application/vnd.ms-fontobject"},
    {"eps", "application/postscript"},
    {"epub", "application/epub+zip"},
    {"exe", "application/x-msdos-program"},
    {"flac", "audio/flac"},
    {"flv", "video/x-flv"},
    {"gif", "image/gif"},
    {"h", "text/x-chdr"},
    {"heic", "image/heic"},
    {"htm", "text/html"},
    {"html", "text/html"},
    {"ico", "image/vnd.microsoft.icon"},
    {"ics", "text/calendar"},
    {"iso", "application/x-iso9660-image"},
    {"jar", "application/java-archive"},
    {"java", "text/x-java"},
    {"jpe", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "text/javascript"},
    {"json", "application/json"},
    {"jsonld", "application/ld+json"},
    {"jxl", "image/jxl"},
    {"m3u8", "application/vnd.apple.mpegurl"},
    {"m4a", "audio/mp4"},
    {"manifest", "text/cache-manifest"},
    {"md", "text/markdown"},
    {"mid", "audio/sp-midi"},
    {"mjs", "text/javascript"},
    {"mkv", "video/x-matroska"},
    {"mov", "video/quicktime"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"mpeg", "video/mpeg"},
    {"mpg", "video/mpeg"},
    {"odp", "application/vnd.oasis.opendocument.presentation"},
    {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
    {"odt", "application/vnd.oasis.opendocument.text"},
    {"oga", "audio/ogg"},
    {"ogg", "audio/ogg"},
    {"ogv", "video/ogg"},
    {"opus", "audio/ogg"},
    {"otf", "font/otf"},
    {"patch", "text/x-diff"},
    {"pbm", "image/x-portable-bitmap"},
    {"pdf", "application/pdf"},
    {"pem", "application/pem-certificate-chain"},
    {"pgm", "image/x-portable-graymap"},
    {"pl", "text/x-perl"},
    {"png", "image/png"},
    {"pnm", "image/x-portable-anymap"},
    {"ppm", "image/x-portable-pixmap"},
    {"ppt", "application/vnd.ms-powerpoint"},
    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"ps", "application/postscript"},
    {"py", "text/x-python"},
    {"qt", "video/quicktime"},
    {"rar", "application/vnd.rar"},
    {"rpm", "application/x-redhat-package-manager"},
    {"rss", "application/x-rss+xml"},
    {"rtf", "application/rtf"},
    {"sh", "text/x-sh"},
    {"shtml", "text/html"},
    {"sig", "application/pgp-signature"},
    {"snd", "audio/basic"},
    {"svg", "image/svg+xml"},
    {"swf", "application/vnd.adobe.flash.movie"},
    {"tar", "application/x-tar"},
    {"tex", "text/x-tex"},
    {"text", "text/plain"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"ttf", "font/ttf"},
    {"txt", "text/plain"},
    {"vcf", "text/vcard"},
    {"wasm", "application/wasm"},
    {"wav", "audio/x-wav"},
    {"webm", "video/webm"},
    {"webmanifest", "application/manifest+json"},
    {"webp", "image/webp"},
    {"wmv", "video/x-ms-wmv"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"wsdl", "application/wsdl+xml"},
    {"xbm", "image/x-xbitmap"},
    {"xhtml", "application/xhtml+xml"},
    {"xls", "application/vnd.ms-excel"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"xml", "application/xml"},
    {"xpm", "image/x-xpixmap"},
    {"xsl", "application/xslt+xml"},
    {"zip", "application/zip"},
};

constexpr std::string_view default_type = "text/plain";

constexpr bool sorted_table() {
    for (std::size_t i = 1; i < std::size(table); ++i)
        if (!(table[i - 1].ext < table[i].ext)) return false;
    return true;
}
static_assert(sorted_table(), "the mime table must stay sorted for binary search");

// posixpath.splitext on one file name: the extension including its dot, or empty. Leading dots
// do not start an extension (".hidden", "..x").
std::string_view extension_of(std::string_view name) {
    const std::size_t dot = name.rfind('.');
    if (dot == std::string_view::npos) return {};
    if (name.find_first_not_of('.') >= dot) return {};
    return name.substr(dot);
}

bool is_encoding(std::string_view ext) {  // case-sensitive, as mimetypes' encodings_map
    return ext == ".gz" || ext == ".Z" || ext == ".bz2" || ext == ".xz" || ext == ".br";
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
        if (c != b[i]) return false;
    }
    return true;
}

}  // namespace

std::string_view content_type_for(std::string_view path) {
    std::string_view name = path.substr(path.rfind('/') + 1);  // npos + 1 == 0
    std::string_view ext = extension_of(name);

    // mimetypes' suffix_map: the short forms stand for a type suffix plus a compression suffix,
    // so only the type part matters here.
    if (iequals(ext, ".tgz") || iequals(ext, ".taz") || iequals(ext, ".tz") ||
        iequals(ext, ".tbz2") || iequals(ext, ".txz"))
        ext = ".tar";
    else if (iequals(ext, ".svgz"))
        ext = ".svg";
    else if (is_encoding(ext))
        ext = extension_of(name.substr(0, name.size() - ext.size()));

    if (ext.size() < 2 || ext.size() > 16) return default_type;
    char lower[16];
    for (std::size_t i = 1; i < ext.size(); ++i) {
        const char c = ext[i];
        lower[i - 1] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    }
    const std::string_view key(lower, ext.size() - 1);
    const auto it = std::lower_bound(std::begin(table), std::end(table), key,
                                     [](const mime_entry& e, std::string_view k) { return e.ext < k; });
    if (it != std::end(table) && it->ext == key) return it->type;
    return default_type;
}

}  // namespace medusa::http
