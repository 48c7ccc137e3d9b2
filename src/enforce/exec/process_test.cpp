#include "enforce/exec/process.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>

#include "enforce/exec/exec_test_support.hpp"

namespace picket::enforce::exec {
namespace {

using core::Duration;

TEST(RunProcess, PassesArgumentsVerbatimWithoutAShell) {
  test::ScratchDir dir;
  const std::string log = dir.file("log");
  const std::string rec = dir.recorder(log);
  const std::vector<std::string> argv = {rec, "a b", "$(touch " + dir.file("x") + ")", "`id`", "x;y", "line\nbreak",
                                         "*", "", "-rf"};
  auto r = run_process(argv, {}, Duration::seconds(5));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->success()) << describe_failure(*r, Duration::seconds(5));
  auto calls = test::ScratchDir::calls(log);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0], std::vector<std::string>(argv.begin() + 1, argv.end()));
  EXPECT_FALSE(std::filesystem::exists(dir.file("x")));
}

TEST(RunProcess, FeedsStdinAndCapturesBothStreams) {
  auto r = run_process({"sh", "-c", "cat; echo oops >&2; exit 3"}, "hello\nworld\n", Duration::seconds(5));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->success());
  EXPECT_EQ(r->out, "hello\nworld\n");
  EXPECT_EQ(r->err, "oops\n");
  EXPECT_EQ(describe_failure(*r, Duration::seconds(5)), "exit status 3: oops");
}

TEST(RunProcess, LargeStdinToAChildThatDoesNotReadIsNotFatal) {
  // The child exits without reading: writing must not raise SIGPIPE in the test process.
  std::string big(1 << 20, 'x');
  auto r = run_process({"true"}, big, Duration::seconds(5));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_code, 0);
}

TEST(RunProcess, KillsAHangingChildAtTheTimeout) {
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run_process({"sleep", "30"}, {}, Duration::millis(200));
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->signal, SIGKILL);
  EXPECT_FALSE(r->success());
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_EQ(describe_failure(*r, Duration::millis(200)), "timed out after 200ms (killed)");
}

TEST(RunProcess, TruncatesLargeOutput) {
  auto r = run_process({"head", "-c", "100000", "/dev/zero"}, {}, Duration::seconds(5), 1000);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->out.size(), 1000u);
  EXPECT_TRUE(r->truncated);
}

TEST(RunProcess, RefusesWhatCannotRun) {
  EXPECT_FALSE(run_process({}, {}, Duration::seconds(1)));
  EXPECT_FALSE(run_process({""}, {}, Duration::seconds(1)));
  EXPECT_FALSE(run_process({"picket-no-such-program-xyz"}, {}, Duration::seconds(1)));
  EXPECT_FALSE(run_process({"echo", std::string("a\0b", 3)}, {}, Duration::seconds(1)));
}

TEST(QuoteArgv, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(quote_argv({"ipset", "add", "a b", "it's", ""}), "ipset add 'a b' 'it'\\''s' ''");
}

}  // namespace
}  // namespace picket::enforce::exec
