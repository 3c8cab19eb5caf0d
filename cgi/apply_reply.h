// apply_reply: hand the reply head that cgi::build_reply made to an http_request.
//
// build_reply (cgi_reply.h) decides a CGI reply's status, headers and framing as text; the
// request sends its own status line and header block when done() runs. This copies the status
// code, its reason phrase and every header line into the request, turns off done()'s own chunking (build_reply chose
// the framing), and marks the request to close the connection when the reply does not keep it.
// Shared by the CGI/1.1 handler and the thread handler, which both scan script output.
#pragma once

#include "cgi/cgi_reply.h"
#include "http/http_request.h"

namespace medusa::cgi {

void apply_reply(http::http_request& r, const reply& rep);

}  // namespace medusa::cgi
