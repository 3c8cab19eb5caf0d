# medusa for C++ — the whole build.
#
#   make run     install what is missing, build, start the demo server
#   make test    install what is missing, build, run every suite; ends with "N passed, M failed"
#   make check   the whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make tsan    the threaded suites under ThreadSanitizer
#   make bench   the Google Benchmark micro benchmarks
#
# Layout: every folder of the framework (asyncore/, http/, thread/, cgi/, transcript/) goes into
# one static library, build/libmedusa.a. Each folder test/NAME/ is one GoogleTest binary
# build/bin/test_NAME; each bench/NAME.cc one benchmark binary; each demo/NAME.cc and tools/NAME.cc
# one program. Objects go out of tree into $(BUILD); header dependencies are tracked with -MMD.

BUILD    ?= build
CXX      ?= g++
OPT      ?= -O2 -g
SAN      ?=
CXXFLAGS ?= $(OPT)
CXXFLAGS += -std=c++20 -Wall -Wextra -Werror -pthread -fPIC $(SAN)
CPPFLAGS += -I. -MMD -MP
LDFLAGS  += -pthread $(SAN)
LDLIBS   += -lfmt -lz -luring

DEB_PACKAGES := g++ make pkg-config libfmt-dev libgtest-dev libbenchmark-dev zlib1g-dev liburing-dev

LIB_DIRS  := asyncore http thread cgi transcript
LIB_SRCS  := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.cc))
LIB_OBJS  := $(LIB_SRCS:%.cc=$(BUILD)/obj/%.o)
LIB       := $(BUILD)/libmedusa.a
SOLIB     := $(BUILD)/libmedusa.so

# test/install/ is not a GoogleTest suite: it is the out-of-tree user project test/install.sh builds.
TEST_DIRS := $(filter-out install,$(patsubst test/%/,%,$(sort $(dir $(wildcard test/*/*.cc)))))
TEST_BINS := $(TEST_DIRS:%=$(BUILD)/bin/test_%)
BENCH_SRCS := $(wildcard bench/*.cc)
BENCH_BINS := $(BENCH_SRCS:bench/%.cc=$(BUILD)/bin/bench_%)
PROG_SRCS := $(wildcard demo/*.cc tools/*.cc)
PROG_BINS := $(addprefix $(BUILD)/bin/,$(notdir $(PROG_SRCS:.cc=)))

# Script suites that also run against the sanitized programs (make check). The attacks are left
# out: their memory bounds are for the plain build, and ASan's shadow memory would break them.
CHECK_SCRIPTS ?= test/run_transcripts.sh test/record_roundtrip.sh

# Threaded suites (make tsan): the loop, the thread module, cgi and the cgi handler.
TSAN_SUITES ?= asyncore thread cgi cgi_handler

.PHONY: all deps test check tsan bench run clean programs tests install uninstall
all: $(LIB) $(SOLIB) $(PROG_BINS) $(TEST_BINS)
programs: $(PROG_BINS)
tests: $(TEST_BINS)

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "deps: missing Debian packages; run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

$(BUILD)/obj/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(SOLIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CXX) -shared $(LDFLAGS) -Wl,-soname,libmedusa.so.$(VERSION_MAJOR) $^ -o $@ $(LDLIBS)

# One GoogleTest binary per test folder.
.SECONDEXPANSION:
# Keep test, bench and program objects (intermediate to the pattern rules) for incremental builds.
# Only those: a bare .SECONDARY: would make the library's objects intermediate too, and a .cc
# added to a module after the archive was built would then never be compiled into it.
.SECONDARY: $(patsubst %.cc,$(BUILD)/obj/%.o,$(wildcard test/*/*.cc bench/*.cc demo/*.cc tools/*.cc))
$(BUILD)/bin/test_%: $$(addprefix $(BUILD)/obj/,$$(subst .cc,.o,$$(wildcard test/$$*/*.cc))) $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) $^ -o $@ -lgtest -lgtest_main $(LDLIBS)

$(BUILD)/bin/bench_%: $(BUILD)/obj/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) $^ -o $@ -lbenchmark $(LDLIBS)

$(BUILD)/bin/%: $(BUILD)/obj/demo/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/bin/%: $(BUILD)/obj/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) $^ -o $@ $(LDLIBS)

test: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) test/run_all.sh $(TEST_BINS)

check: deps
	@$(MAKE) --no-print-directory BUILD=build/asan OPT="-O1 -g" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" all
	@BUILD=build/asan MEDUSA_SCRIPTS="$(CHECK_SCRIPTS)" ASAN_OPTIONS=detect_leaks=1 \
	  UBSAN_OPTIONS=print_stacktrace=1 test/run_all.sh $(TEST_DIRS:%=build/asan/bin/test_%)

tsan: deps
	@$(MAKE) --no-print-directory BUILD=build/tsan OPT="-O1 -g" SAN="-fsanitize=thread" \
	  $(filter $(TSAN_SUITES:%=build/tsan/bin/test_%),$(TEST_DIRS:%=build/tsan/bin/test_%))
	@BUILD=build/tsan TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" MEDUSA_SCRIPTS="" \
	  test/run_all.sh $(filter $(TSAN_SUITES:%=build/tsan/bin/test_%),$(TEST_DIRS:%=build/tsan/bin/test_%))

bench: deps
	@$(MAKE) --no-print-directory $(BENCH_BINS)
	@for b in $(BENCH_BINS); do echo "== $$b"; $$b || exit 1; done

# The demo with every part on: the docroot, /status, the thread modules, /cgi-bin/ and the chat server
# on port 8888 (README "Quick start"). Flags go in RUN_ARGS, e.g. RUN_ARGS="--port 9000 --chat-port 0".
run: deps
	@$(MAKE) --no-print-directory $(BUILD)/bin/medusa-demo
	$(BUILD)/bin/medusa-demo $(RUN_ARGS)

clean:
	rm -rf build

# make install PREFIX=DIR: public headers under include/medusa/, libmedusa.a and .so, medusa.pc.
# A project then builds with: c++ -std=c++20 app.cc $$(pkg-config --cflags --libs medusa)
PREFIX  ?= /usr/local
VERSION := 0.5.4
VERSION_MAJOR := 0
LIB_HDRS := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.h))
install: $(LIB) $(SOLIB)
	@for h in $(LIB_HDRS); do install -D -m 644 $$h $(DESTDIR)$(PREFIX)/include/medusa/$$h; done
	install -D -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libmedusa.a
	install -D -m 755 $(SOLIB) $(DESTDIR)$(PREFIX)/lib/libmedusa.so.$(VERSION)
	ln -sf libmedusa.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libmedusa.so.$(VERSION_MAJOR)
	ln -sf libmedusa.so.$(VERSION_MAJOR) $(DESTDIR)$(PREFIX)/lib/libmedusa.so
	@mkdir -p $(DESTDIR)$(PREFIX)/lib/pkgconfig
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' medusa.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/medusa.pc

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/include/medusa
	rm -f $(DESTDIR)$(PREFIX)/lib/libmedusa.a $(DESTDIR)$(PREFIX)/lib/libmedusa.so \
	  $(DESTDIR)$(PREFIX)/lib/libmedusa.so.$(VERSION_MAJOR) $(DESTDIR)$(PREFIX)/lib/libmedusa.so.$(VERSION) \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig/medusa.pc

# The load comparison (bench/compare.sh): medusa-demo against nginx, lighttpd and bare_epoll, a
# plain epoll loop with no library (bench/bare/), the ceiling the servers are measured against, and
# bare_uring, the same loop through io_uring.
# QUICK=1 for a short smoke run; DURATION and RUNS tune the full one.
.PHONY: bench-compare
$(BUILD)/bin/bare_epoll: bench/bare/bare_epoll.cc bench/bare/bare_http.h
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(LDFLAGS) $< -o $@

# The same through io_uring (liburing-dev, installed by bench-compare's deps).
$(BUILD)/bin/bare_uring: bench/bare/bare_uring.cc bench/bare/bare_http.h
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(LDFLAGS) $< -o $@ -luring

# medusa's loop and async_chat with a fixed reply and no HTTP layer: the framework's own floor
# (servers chat-fixed and chat-fixed-uring, not in the default set).
$(BUILD)/bin/chat_fixed: $(BUILD)/obj/bench/servers/chat_fixed.o $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) $^ -o $@ $(LDLIBS)

bench-compare: DEB_PACKAGES += liburing-dev
bench-compare: deps
	@$(MAKE) --no-print-directory $(BUILD)/bin/medusa-demo $(BUILD)/bin/bare_epoll $(BUILD)/bin/bare_uring \
		$(BUILD)/bin/chat_fixed
	@BUILD=$(BUILD) bench/compare.sh

# Instructions per request under callgrind (bench/instructions.sh): medusa-demo and bare_epoll
# serving a 128-byte file to wrk; a figure that does not move with the machine's load.
.PHONY: bench-instructions
bench-instructions: deps
	@$(MAKE) --no-print-directory $(BUILD)/bin/medusa-demo $(BUILD)/bin/bare_epoll
	@BUILD=$(BUILD) bench/instructions.sh

# What a page costs (bench/page_cost.sh): bare_epoll made to touch N more pages per request.
.PHONY: bench-page-cost
bench-page-cost: deps
	@$(MAKE) --no-print-directory $(BUILD)/bin/bare_epoll
	@BUILD=$(BUILD) bench/page_cost.sh

# The thread load comparison (bench/thread_compare.sh): one reply from an in-loop handler, a
# script on the worker pool and a hand-off, all served by bench/servers/thread_bench_server.cc
# (a program, not a Google Benchmark: it sits outside bench/*.cc), under wrk; prints the ratios.
# DURATION and RUNS tune it (see bench/README.md).
.PHONY: bench-threads
$(BUILD)/bin/thread_bench_server: $(BUILD)/obj/bench/servers/thread_bench_server.o $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) $^ -o $@ $(LDLIBS)

bench-threads: deps
	@$(MAKE) --no-print-directory $(BUILD)/bin/thread_bench_server
	@BUILD=$(BUILD) bench/thread_compare.sh

# The CGI load comparison (bench/cgi_compare.sh): medusa-demo's /cgi-bin/ against lighttpd's
# mod_cgi, both running demo/cgi-bin/hello under wrk; ends with the target's verdict.
# DURATION, RUNS and CONNECTIONS tune it (see bench/README.md).
.PHONY: bench-cgi
bench-cgi: deps
	@$(MAKE) --no-print-directory $(BUILD)/bin/medusa-demo
	@BUILD=$(BUILD) bench/cgi_compare.sh

# --- fuzzing: make fuzz [FUZZ_SECONDS=60] ----------------------------------------------------------
# One libFuzzer target per test/fuzz/TARGET.fuzz.cpp (the harnesses are test/fuzz/harness_*.h),
# built with clang, ASan and UBSan into $(FUZZ_BUILD)/bin/, with the library sources they use
# compiled again by clang into $(FUZZ_BUILD)/obj/. `make fuzz` re-runs every kept crash
# (test/fuzz/regressions/TARGET/), then fuzzes each target for FUZZ_SECONDS from its corpus
# ($(FUZZ_BUILD)/corpus/TARGET/, grown run after run), the seeds cut out of the transcripts
# ($(FUZZ_BUILD)/seeds/, by test/fuzz/make_seeds.cpp) and the hand-written test/fuzz/corpus/TARGET/.
# A crash is saved as $(FUZZ_BUILD)/crashes/TARGET/crash-*: keep it under
# test/fuzz/regressions/TARGET/ before fixing it (test/fuzz_regressions/ then re-runs it in make test).
.PHONY: fuzz
FUZZ_SECONDS  ?= 60
FUZZ_CXX      ?= clang++
FUZZ_BUILD    ?= $(BUILD)/fuzz
FUZZ_SHARED   ?= $(or $(MEDUSA_SHARED),../shared)
FUZZ_TARGETS  := $(patsubst test/fuzz/%.fuzz.cpp,%,$(wildcard test/fuzz/*.fuzz.cpp))
FUZZ_FLAGS    := -std=c++20 -O1 -g -Wall -Wextra -Werror -pthread -I. -MMD -MP \
                 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_LIB_SRCS := $(wildcard asyncore/*.cc transcript/*.cc) http/request_parser.cc http/chunked.cc \
                 http/keepalive.cc \
                 http/http_date.cc cgi/header_scanner.cc
FUZZ_LIB      := $(FUZZ_BUILD)/libmedusa-fuzz.a

$(FUZZ_BUILD)/obj/%.o: %.cc
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_SRCS:%.cc=$(FUZZ_BUILD)/obj/%.o)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/bin/make_seeds: $(FUZZ_BUILD)/obj/test/fuzz/make_seeds.o $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) -fsanitize=address,undefined $^ -o $@ $(LDLIBS)

$(FUZZ_BUILD)/bin/%: $(FUZZ_BUILD)/obj/test/fuzz/%.fuzz.o $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) -fsanitize=fuzzer,address,undefined $^ -o $@ $(LDLIBS)

fuzz: DEB_PACKAGES += clang libclang-rt-14-dev
fuzz: deps
	@$(MAKE) --no-print-directory $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/bin/%) $(FUZZ_BUILD)/bin/make_seeds
	@rm -rf $(FUZZ_BUILD)/seeds
	@$(FUZZ_BUILD)/bin/make_seeds $(FUZZ_BUILD)/seeds \
	  $(wildcard test/transcripts/*/*.transcript $(FUZZ_SHARED)/transcripts/medusa/*.transcript)
	@failed=""; for t in $(FUZZ_TARGETS); do \
	  kept=$$(find test/fuzz/regressions/$$t -type f 2>/dev/null | sort); \
	  if [ -n "$$kept" ]; then \
	    echo "== $$t: kept crashes"; \
	    $(FUZZ_BUILD)/bin/$$t $$kept >$(FUZZ_BUILD)/$$t.regressions.log 2>&1 \
	      || { tail -n 30 $(FUZZ_BUILD)/$$t.regressions.log; failed="$$failed $$t(kept)"; continue; }; \
	  fi; \
	  echo "== $$t: fuzzing for $(FUZZ_SECONDS) s"; \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/seeds/$$t $(FUZZ_BUILD)/crashes/$$t; \
	  $(FUZZ_BUILD)/bin/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/crashes/$$t/ $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/seeds/$$t \
	    $$([ -d test/fuzz/corpus/$$t ] && echo test/fuzz/corpus/$$t) >$(FUZZ_BUILD)/$$t.log 2>&1; \
	  rc=$$?; grep -E '^stat::number_of_executed_units|^Done ' $(FUZZ_BUILD)/$$t.log; \
	  if [ $$rc -ne 0 ]; then tail -n 40 $(FUZZ_BUILD)/$$t.log; failed="$$failed $$t"; fi; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: FAILED:$$failed (inputs in $(FUZZ_BUILD)/crashes/)"; exit 1; fi; \
	echo "fuzz: $(words $(FUZZ_TARGETS)) targets, no crash"

-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
