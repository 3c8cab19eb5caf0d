// libFuzzer entry point for the http_date harness (test/fuzz/harness_http_date.h). Built by `make fuzz`.
#include <cstddef>
#include <cstdint>

#include "test/fuzz/harness_http_date.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    medusa::fuzz::http_date(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
