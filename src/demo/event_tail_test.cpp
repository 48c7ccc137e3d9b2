#include "demo/event_tail.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace picket::demo {
namespace {

class EventTailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/picket-tail-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/events.json";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void append(const std::string& s) {
    std::ofstream f(path_, std::ios::app | std::ios::binary);
    f << s;
  }
  std::string dir_, path_;
};

TEST_F(EventTailTest, MissingFileIsEmptyUntilItAppears) {
  EventTail t(path_);
  EXPECT_TRUE(t.poll().empty());
  append("{\"a\":1}\n");
  auto lines = t.poll();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "{\"a\":1}");
}

TEST_F(EventTailTest, PartialLinesWaitForTheirNewline) {
  EventTail t(path_);
  append("one\ntw");
  auto a = t.poll();
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0], "one");
  EXPECT_TRUE(t.poll().empty());
  append("o\n\nthree\n");
  auto b = t.poll();
  ASSERT_EQ(b.size(), 2u);  // the empty line is skipped
  EXPECT_EQ(b[0], "two");
  EXPECT_EQ(b[1], "three");
  append("four");
  EXPECT_TRUE(t.poll().empty());
  auto c = t.drain();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0], "four");
  EXPECT_TRUE(t.drain().empty());
}

TEST_F(EventTailTest, OverlongLineIsCutAndCounted) {
  EventTail t(path_);
  append(std::string(EventTail::kMaxLine + 100, 'x') + "\nnext\n");
  std::vector<std::string> all;
  for (int i = 0; i < 5; ++i) {
    for (auto& l : t.poll()) all.push_back(std::move(l));
  }
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].size(), EventTail::kMaxLine);
  EXPECT_EQ(all[1], "next");
  EXPECT_EQ(t.overlong_lines(), 1u);
}

TEST_F(EventTailTest, ManyLinesArriveInOrder) {
  EventTail t(path_);
  std::string blob;
  for (int i = 0; i < 20000; ++i) blob += std::to_string(i) + "\n";
  append(blob);
  std::vector<std::string> all;
  for (int round = 0; round < 10 && all.size() < 20000; ++round) {
    for (auto& l : t.poll()) all.push_back(std::move(l));
  }
  ASSERT_EQ(all.size(), 20000u);
  for (int i = 0; i < 20000; ++i) ASSERT_EQ(all[static_cast<size_t>(i)], std::to_string(i));
}

}  // namespace
}  // namespace picket::demo
