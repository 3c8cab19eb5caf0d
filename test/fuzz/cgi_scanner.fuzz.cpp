// libFuzzer entry point for the cgi_scanner harness (test/fuzz/harness_cgi_scanner.h). Built by `make fuzz`.
#include <cstddef>
#include <cstdint>

#include "test/fuzz/harness_cgi_scanner.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    medusa::fuzz::cgi_scanner(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
