// The fuzz harnesses (test/fuzz/harness.h), compiled with the ordinary toolchain and run over
// every input worth keeping: each crash a fuzzer found (test/fuzz/regressions/TARGET/, kept
// there before it was fixed), the hand-written seeds (test/fuzz/corpus/TARGET/) and the seeds
// cut out of the transcripts. So `make test` re-checks every kept crash without clang or
// libFuzzer, and `make check` does it again under ASan and UBSan.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "test/fuzz/harness.h"
#include "test/fuzz/seeds.h"

namespace {

namespace fs = std::filesystem;
using medusa::fuzz::targets;

// The tests run from the repository root, as the other suites do.
const fs::path fuzz_dir = "test/fuzz";

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

const medusa::fuzz::target_entry* find_target(std::string_view name) {
    for (const auto& t : targets)
        if (t.name == name) return &t;
    return nullptr;
}

// Runs every file under `root`/TARGET/ through TARGET's harness; returns how many ran.
size_t run_folder(const fs::path& root) {
    size_t ran = 0;
    if (!fs::is_directory(root)) return 0;
    for (const auto& dir : fs::directory_iterator(root)) {
        if (!dir.is_directory()) continue;
        const auto* t = find_target(dir.path().filename().string());
        // A kept input under a misspelt folder would never run again: that is a failure.
        if (!t) {
            ADD_FAILURE() << dir.path() << " is not named after a fuzz target";
            continue;
        }
        for (const auto& f : fs::directory_iterator(dir.path())) {
            if (!f.is_regular_file() || f.path().filename().string().starts_with(".")) continue;
            std::string input = slurp(f.path());
            try {
                t->run(input);
            } catch (const std::exception& e) {
                ADD_FAILURE() << f.path() << ": " << e.what();
            }
            ++ran;
        }
    }
    return ran;
}

class FuzzRegressions : public ::testing::Test {
protected:
    void SetUp() override {
        medusa::fuzz::throw_on_failure() = true;
        ASSERT_TRUE(fs::is_directory(fuzz_dir)) << "run from the repository root (no " << fuzz_dir << ")";
    }
    void TearDown() override { medusa::fuzz::throw_on_failure() = false; }
};

TEST_F(FuzzRegressions, KeptCrashesStayFixed) {
    size_t ran = run_folder(fuzz_dir / "regressions");
    RecordProperty("inputs", std::to_string(ran));
}

TEST_F(FuzzRegressions, HandWrittenSeeds) {
    // Every target has some hand-written seeds: they are the corpus's starting shapes.
    for (const auto& t : targets)
        EXPECT_TRUE(fs::is_directory(fuzz_dir / "corpus" / std::string(t.name))) << "no seeds for " << t.name;
    EXPECT_GT(run_folder(fuzz_dir / "corpus"), 0u);
}

TEST_F(FuzzRegressions, TranscriptSeeds) {
    std::vector<fs::path> files;
    std::string shared = "../shared";
    if (const char* env = std::getenv("MEDUSA_SHARED"); env && *env) shared = env;
    for (const fs::path& dir : {fs::path("test/transcripts"), fs::path(shared) / "transcripts"}) {
        if (!fs::is_directory(dir)) continue;
        for (const auto& f : fs::recursive_directory_iterator(dir))
            if (f.is_regular_file() && f.path().extension() == ".transcript") files.push_back(f.path());
    }
    if (files.empty()) GTEST_SKIP() << "no transcripts found";
    for (const auto& path : files) {
        std::string text = slurp(path);
        std::optional<medusa::transcript::transcript> t;
        try {
            t = medusa::transcript::parse(text, path.string());
        } catch (const medusa::transcript::parse_error&) {
        }
        for (const auto& s : medusa::fuzz::seeds_from_transcript(text, t ? &*t : nullptr)) {
            const auto* target = find_target(s.target);
            ASSERT_NE(target, nullptr) << s.target;
            try {
                target->run(s.bytes);
            } catch (const std::exception& e) {
                ADD_FAILURE() << path << " (" << s.target << " seed): " << e.what();
            }
        }
    }
}

}  // namespace
