// libFuzzer entry point for the chat_framing harness (test/fuzz/harness_chat_framing.h). Built by `make fuzz`.
#include <cstddef>
#include <cstdint>

#include "test/fuzz/harness_chat_framing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    medusa::fuzz::chat_framing(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
