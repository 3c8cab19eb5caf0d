// mime: the Content-Type the default handler sends for a file, chosen by its name.
//
// medusa's default_handler calls Python's mimetypes.guess_type(path) and sends "text/plain" when
// that knows no type. This is the same lookup over a fixed table of the common types, each with
// the value Python 3.11's mimetypes gives on Debian (which reads /etc/mime.types), so replies
// match medusa's byte for byte:
//   - the extension is what follows the last '.' of the last path component; a name made only of
//     leading dots has none (".hidden", "README" and "dir/" are text/plain);
//   - the type is looked up case-insensitively ("INDEX.HTML" is text/html);
//   - a compression suffix (.gz .Z .bz2 .xz .br, case-sensitive as in Python) is a Content-
//     Encoding in mimetypes, not a type: the type comes from the extension before it, so
//     "notes.tar.gz" is application/x-tar and "x.gz" is text/plain. The default handler does not
//     send the encoding (medusa drops it too); .tgz .taz .tz .tbz2 .txz .svgz are read as
//     .tar.gz, .tar.bz2, .tar.xz, .svg.gz first, as Python does.
// Unlike mimetypes, a path is never read as a "data:" URL.
#pragma once

#include <string_view>

namespace medusa::http {

// The Content-Type for `path` (a URL path or a file name); "text/plain" when the extension is
// unknown or absent. The result points to static storage.
std::string_view content_type_for(std::string_view path);

}  // namespace medusa::http
